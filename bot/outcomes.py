"""What the facade hands the chat adapter: replies, statuses and changes as values, refusals as errors it words
(by key: the sentences live in the adapter's message catalog)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.attachments import SkippedFile
from bot.engine.confirm import Confirmer
from bot.engine.errors import ConciergeError
from bot.engine.executor import DEFAULT_MAX_CALLS_PER_ROUND, TraceEntry
from bot.engine.gate import MemberDirectory
from bot.engine.loop import Note
from bot.engine.permissions import DenialKind
from bot.engine.progress import Progress

NotAllowedKind = Literal["not_starter", "server_only", "not_admin", "no_usage"]


class NotAllowed(ConciergeError):
    """The member may not do this (an admin command, or clearing someone else's conversation); `kind` says why."""

    def __init__(self, kind: NotAllowedKind) -> None:
        super().__init__(f"not allowed: {kind}", key=f"error.not_allowed.{kind}")
        self.kind = kind


class UnknownTool(ConciergeError):
    """A tool name that does not exist; `params["tools"]` lists the valid ones."""

    key = "error.unknown_tool"

    def __init__(self, name: str, valid: list[str]) -> None:
        super().__init__(f"unknown tool {name!r}", params={"tool": name, "tools": tuple(valid)})
        self.name = name
        self.valid = valid


class ShuttingDown(ConciergeError):
    """The bot is stopping and takes no new turns."""

    key = "error.shutting_down"

    def __init__(self) -> None:
        super().__init__("shutting down: no new turns")


PolicyChangeKind = Literal["enabled", "disabled", "confirm_always", "confirm_never", "role_allowed", "role_revoked"]


@dataclass(frozen=True, slots=True)
class PolicyChange:
    """A tool setting an admin just changed, for the chat platform to word."""

    tool: str
    kind: PolicyChangeKind
    role_name: str | None = None


@dataclass(frozen=True, slots=True)
class ChatHooks:
    """What the chat platform lends one chat() call: a way to ask the member, a live view of members' roles, and where
    to show the turn's progress."""

    confirmer: Confirmer
    members: MemberDirectory | None = None
    progress: Progress | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """What the member sees after a turn: the answer (or one polite failure sentence), the trace and notes, and the
    files the model did not get (each with why)."""

    text: str
    trace: tuple[TraceEntry, ...] = ()
    notes: tuple[Note, ...] = ()
    cut_short: bool = False
    failed: bool = False
    error: ConciergeError | None = None
    skipped_files: tuple[SkippedFile, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolStatus:
    """One tool as a member sees it in this server."""

    name: str
    description: str
    enabled: bool
    usable: bool
    reason: str | None
    reason_kind: DenialKind | None
    restricted: bool
    allowed_role_ids: frozenset[str]
    confirm: bool
    source: str | None = None  # None: built in; "mcp:<server>": a tool of that MCP server


SourceState = Literal["connecting", "connected", "failed", "stopped"]


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """Where one tool source (an MCP server) stands, for /tools list: its state, how many tools, or its error
    (the error only for admins: it may name the operator's paths or hosts)."""

    source: str  # as ToolStatus.source: "mcp:<server>"
    name: str  # the server's name in the operator's file
    state: SourceState
    tools: int = 0
    error: str = ""


@dataclass(frozen=True, slots=True)
class ConciergeLimits:
    """The knobs of a turn, from the settings."""

    max_rounds: int = 8
    tool_timeout: float = 15.0
    history_max_turns: int = 20
    history_max_tokens: int = 6000
    max_waiting_per_channel: int = 10
    max_calls_per_round: int = DEFAULT_MAX_CALLS_PER_ROUND
    member_turns_per_minute: int = 6
