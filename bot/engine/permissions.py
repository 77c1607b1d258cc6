"""Who is asking, where, and the one pure decision of whether they may use a tool."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ConfirmMode = Literal["always", "never"]
CONFIRM_MODES: tuple[ConfirmMode, ...] = ("always", "never")


@dataclass(frozen=True, slots=True)
class Caller:
    """The member behind a turn, as the chat platform reports them right now."""

    user_id: str
    name: str
    role_ids: frozenset[str] = frozenset()
    is_admin: bool = False


@dataclass(frozen=True, slots=True)
class Place:
    """Where a turn happens; a DM has no guild."""

    channel_id: str
    guild_id: str | None = None
    guild_name: str | None = None
    channel_name: str | None = None

    @property
    def is_dm(self) -> bool:
        """True for direct messages, where only unrestricted tools are available."""
        return self.guild_id is None


@dataclass(frozen=True, slots=True)
class ToolPolicy:
    """A server's settings for one tool: enabled or not, which roles may use it, and whether calls need a yes.

    `confirm` None means the tool's default (`Tool.confirm_by_default`: for built-in tools, exactly those with side
    effects).
    """

    tool: str
    enabled: bool = True
    allowed_role_ids: frozenset[str] = field(default_factory=frozenset)
    confirm: ConfirmMode | None = None


@dataclass(frozen=True, slots=True)
class Allowed:
    """The caller may use the tool."""

    def __bool__(self) -> bool:
        return True


DenialKind = Literal["disabled", "dm", "roles", "admins", "not_member"]


@dataclass(frozen=True, slots=True)
class Denied:
    """The caller may not use the tool, and why: an English sentence for the model and logs, and its `kind`, from
    which a chat platform words it in the member's language."""

    reason: str
    kind: DenialKind

    def __bool__(self) -> bool:
        return False


Decision = Allowed | Denied


def decide(*, tool: str, restricted: bool, caller: Caller, place: Place, policy: ToolPolicy | None) -> Decision:
    """Decide whether `caller` may use `tool` in `place`; precedence reads top-down."""
    if policy is not None and not policy.enabled:
        return Denied(f"the tool '{tool}' is disabled in this server", "disabled")
    if place.is_dm:
        if restricted:
            return Denied(f"the tool '{tool}' is only available in a server, not in direct messages", "dm")
        return Allowed()
    if caller.is_admin:
        return Allowed()
    allowed_roles = policy.allowed_role_ids if policy is not None else frozenset()
    if allowed_roles & caller.role_ids:
        return Allowed()
    if not allowed_roles and not restricted:
        return Allowed()
    if allowed_roles:
        return Denied(
            f"the tool '{tool}' is limited to certain roles in this server, and you have none of them", "roles"
        )
    return Denied(f"the tool '{tool}' is restricted to server admins until an admin allows a role", "admins")


def needs_confirmation(*, by_default: bool, policy: ToolPolicy | None) -> bool:
    """Whether a call must wait for the member's yes: the server's choice, else the tool's own default."""
    if policy is not None and policy.confirm is not None:
        return policy.confirm == "always"
    return by_default
