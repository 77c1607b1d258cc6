"""Small stand-ins for the Concierge facade and the discord.py objects the adapter touches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord

from bot.concierge import AuditEntry, NotAllowed, Reply, ToolStatus, TurnSurface, UnknownTool
from bot.engine.permissions import Caller, Place

TOOLS = ["book_table", "calculate", "get_weather"]


@dataclass
class ChatCall:
    place: Place
    caller: Caller
    text: str
    tool_choice: str
    typing_active: bool
    surface: TurnSurface | None = None


class FakeConcierge:
    """Records every call; returns canned replies; refuses admin actions for non-admins like the real facade."""

    def __init__(
        self, *, replies: list[Reply | Exception] | None = None, conversations: set[str] | None = None
    ) -> None:
        self.replies = list(replies or [Reply(text="Sure thing.")])
        self.conversations = set(conversations or ())
        self.chats: list[ChatCall] = []
        self.started: list[tuple[Place, Caller]] = []
        self.changes: list[tuple[str, ...]] = []
        self.refuse_tool: Exception | None = None
        self.usable = ["calculate", "get_weather"]
        self.typing_probe: FakeChannel | None = None

    async def chat(
        self, place: Place, caller: Caller, text: str, *, tool_choice: str = "auto", surface: TurnSurface | None = None
    ) -> Reply:
        typing = self.typing_probe is not None and self.typing_probe.typing_active
        self.chats.append(ChatCall(place, caller, text, tool_choice, typing, surface))
        outcome = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def check_tool_choice(self, place: Place, caller: Caller, tool_choice: str) -> None:
        if self.refuse_tool is not None:
            raise self.refuse_tool

    async def tools_for(self, place: Place, caller: Caller) -> list[ToolStatus]:
        return [
            ToolStatus("get_weather", "Weather for a city.", True, True, None, False, frozenset(), False),
            ToolStatus(
                "book_table",
                "Book a table.\nMore detail.",
                True,
                False,
                "the tool 'book_table' is limited to certain roles",
                True,
                frozenset({"20", "3"}),
                True,
            ),
            ToolStatus("web_search", "Search the web.", False, False, "disabled", False, frozenset(), False),
        ]

    async def usable_tools(self, place: Place, caller: Caller) -> list[str]:
        return list(self.usable)

    def tool_names(self) -> list[str]:
        return list(TOOLS)

    def _admin_action(self, caller: Caller, tool: str, *change: str) -> None:
        if not caller.is_admin:
            raise NotAllowed("Only server admins (Administrator or Manage Server) can change tool settings.")
        if tool not in TOOLS:
            raise UnknownTool(tool, TOOLS)
        self.changes.append((tool, *change))

    async def set_enabled(self, place: Place, caller: Caller, tool: str, enabled: bool) -> str:
        self._admin_action(caller, tool, "enabled" if enabled else "disabled")
        return f"`{tool}` is now {'enabled' if enabled else 'disabled'} in this server."

    async def set_confirm(self, place: Place, caller: Caller, tool: str, mode: str) -> str:
        self._admin_action(caller, tool, "confirm", mode)
        return f"`{tool}` confirmation: {mode}."

    async def record_expired_press(self, place: Place, presser: Caller, *, tool: str) -> None:
        self.changes.append(("expired", tool, presser.user_id))

    async def allow_role(self, place: Place, caller: Caller, tool: str, role_id: str, role_name: str) -> str:
        self._admin_action(caller, tool, "allow", role_id)
        return f"Members with @{role_name} may now use `{tool}`."

    async def revoke_role(self, place: Place, caller: Caller, tool: str, role_id: str, role_name: str) -> str:
        self._admin_action(caller, tool, "revoke", role_id)
        return f"@{role_name} is no longer allowed to use `{tool}`."

    async def audit(
        self, place: Place, caller: Caller, *, tool: str | None = None, user_id: str | None = None, limit: int = 15
    ) -> list[AuditEntry]:
        if not caller.is_admin:
            raise NotAllowed("Only server admins can read the audit log.")
        self.changes.append(("audit", tool or "", user_id or ""))
        at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
        return [
            AuditEntry(2, at, "policy", "5", "6", "7", "Ann", "book_table", "{}", "allow", None, "allowed role @staff"),
            AuditEntry(1, at, "tool_call", "5", "6", "8", "Bob", "get_weather", '{"city": "Oslo"}', "ok", 412.0, ""),
        ]

    async def clear_history(self, place: Place, caller: Caller) -> int:
        if not caller.is_admin:
            raise NotAllowed("Only the member who started this conversation, or an admin, can clear it.")
        self.changes.append(("clear", place.channel_id))
        return 6

    async def start_conversation(self, *, thread: Place, starter: Caller) -> None:
        self.started.append((thread, starter))
        self.conversations.add(thread.channel_id)

    async def is_conversation(self, channel_id: str) -> bool:
        return channel_id in self.conversations

    async def shutdown(self, *, grace_seconds: float = 10.0) -> None:
        self.changes.append(("shutdown",))


@dataclass
class FakeRole:
    id: int
    name: str = "role"


@dataclass
class FakeUser:
    id: int
    display_name: str = "Ann"
    name: str = "ann"
    bot: bool = False
    roles: tuple[FakeRole, ...] = ()
    guild_permissions: discord.Permissions | None = None

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass
class Sent:
    content: str
    options: dict[str, Any]


@dataclass
class FakeChannel:
    id: int
    name: str | None = "general"
    type: discord.ChannelType = discord.ChannelType.text
    sent: list[Sent] = field(default_factory=list)
    typing_active: bool = False
    created_threads: list[FakeChannel] = field(default_factory=list)
    thread_error: Exception | None = None

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    async def send(self, content: str, **options: Any) -> None:
        self.sent.append(Sent(content, options))

    @asynccontextmanager
    async def _typing(self) -> AsyncIterator[None]:
        self.typing_active = True
        try:
            yield
        finally:
            self.typing_active = False

    def typing(self) -> Any:
        return self._typing()

    async def create_thread(self, *, name: str, type: discord.ChannelType, auto_archive_duration: int) -> FakeChannel:
        if self.thread_error is not None:
            raise self.thread_error
        thread = FakeChannel(id=900 + len(self.created_threads), name=name, type=discord.ChannelType.public_thread)
        self.created_threads.append(thread)
        return thread


@dataclass
class FakeGuild:
    id: int = 5
    name: str = "Cafe"
    self_role: FakeRole | None = None
    channels: dict[int, FakeChannel] = field(default_factory=dict)

    async def fetch_channel(self, channel_id: int) -> FakeChannel:
        return self.channels[channel_id]


@dataclass
class FakeMessage:
    id: int
    content: str
    author: FakeUser
    channel: FakeChannel
    guild: FakeGuild | None
    mentions: list[FakeUser] = field(default_factory=list)
    role_mentions: list[FakeRole] = field(default_factory=list)
    type: discord.MessageType = discord.MessageType.default
    thread: FakeChannel | None = None
    thread_error: Exception | None = None
    threads_created: list[tuple[str, int]] = field(default_factory=list)

    async def create_thread(self, *, name: str, auto_archive_duration: int) -> FakeChannel:
        if self.thread_error is not None:
            raise self.thread_error
        self.threads_created.append((name, auto_archive_duration))
        return FakeChannel(id=self.id, name=name, type=discord.ChannelType.public_thread)

    def to_reference(self, *, fail_if_not_exists: bool = True) -> tuple[str, int, bool]:
        return ("reference", self.id, fail_if_not_exists)


class FakeResponse:
    """What discord.HTTPException reads from an aiohttp response."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.reason = "Bad Request" if status == 400 else "Forbidden"


def http_error(code: int, *, status: int = 400) -> discord.HTTPException:
    """The exception discord.py raises for a Discord JSON error with this code."""
    cls = discord.Forbidden if status == 403 else discord.HTTPException
    return cls(FakeResponse(status), {"code": code, "message": "error"})  # type: ignore[arg-type]
