"""Permission at execution time: the current policies and the member's current roles, not the turn's snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.engine.permissions import Caller, Decision, Denied, Place, ToolPolicy, decide


class MemberDirectory(Protocol):
    """The member as the chat platform knows them right now (roles, admin rights), or None if not a member."""

    async def member(self, guild_id: str, user_id: str) -> Caller | None:
        """Look the member up now (not from a cache that may be stale)."""
        ...


class PolicySource(Protocol):
    """A server's current tool policies."""

    async def policies_for(self, guild_id: str) -> dict[str, ToolPolicy]:
        """The policies by tool name, read now."""
        ...


class AsGiven:
    """A directory that trusts the caller it was given (for places without a live member lookup, and tests)."""

    def __init__(self, *callers: Caller) -> None:
        self._callers = {caller.user_id: caller for caller in callers}

    async def member(self, guild_id: str, user_id: str) -> Caller | None:
        """The caller given for this user id."""
        return self._callers.get(user_id)


class FixedPolicies:
    """Policies that never change (tests, benchmarks); the same for every server."""

    def __init__(self, policies: Mapping[str, ToolPolicy]) -> None:
        self._policies = dict(policies)

    async def policies_for(self, guild_id: str) -> dict[str, ToolPolicy]:
        """The fixed policies."""
        return dict(self._policies)


@dataclass(frozen=True, slots=True)
class Authorization:
    """A decision taken now, with the member and policy it was taken on."""

    caller: Caller
    decision: Decision
    policy: ToolPolicy | None


NOT_A_MEMBER = "you are not a member of that server (any more)"


@dataclass(frozen=True)
class Gate:
    """Decides whether a member may use a tool, on the state of things at this moment."""

    policies: PolicySource
    members: MemberDirectory

    async def authorize(self, *, tool: str, restricted: bool, caller: Caller, place: Place) -> Authorization:
        """Re-read the server's policies and the member's roles, then decide (a DM needs neither)."""
        if place.guild_id is None:
            decision = decide(tool=tool, restricted=restricted, caller=caller, place=place, policy=None)
            return Authorization(caller, decision, None)
        current = await self.members.member(place.guild_id, caller.user_id)
        if current is None:
            return Authorization(caller, Denied(NOT_A_MEMBER, "not_member"), None)
        policy = (await self.policies.policies_for(place.guild_id)).get(tool)
        decision = decide(tool=tool, restricted=restricted, caller=current, place=place, policy=policy)
        return Authorization(current, decision, policy)
