"""Small stand-ins for the Concierge facade and the discord.py objects the adapter touches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord

from bot.attachments import SharedFile
from bot.concierge import AuditEntry, ChatHooks, NotAllowed, PolicyChange, Reply, SourceStatus, ToolStatus, UnknownTool
from bot.engine.permissions import Caller, Place
from bot.spending import MemberUsage
from bot.store.usage import UsageTotals

TOOLS = ["book_table", "calculate", "get_weather"]


@dataclass
class ChatCall:
    place: Place
    caller: Caller
    text: str
    tool_choice: str
    typing_active: bool
    hooks: ChatHooks | None = None
    files: tuple[SharedFile, ...] = ()


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
        self.sources: list[SourceStatus] = []

    async def chat(
        self,
        place: Place,
        caller: Caller,
        text: str,
        *,
        files: Sequence[SharedFile] = (),
        tool_choice: str = "auto",
        hooks: ChatHooks | None = None,
    ) -> Reply:
        typing = self.typing_probe is not None and self.typing_probe.typing_active
        self.chats.append(ChatCall(place, caller, text, tool_choice, typing, hooks, tuple(files)))
        outcome = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def check_tool_choice(self, place: Place, caller: Caller, tool_choice: str) -> None:
        if self.refuse_tool is not None:
            raise self.refuse_tool

    async def tools_for(self, place: Place, caller: Caller) -> list[ToolStatus]:
        return [
            ToolStatus("get_weather", "Weather for a city.", True, True, None, None, False, frozenset(), False),
            ToolStatus(
                "book_table",
                "Book a table.\nMore detail.",
                True,
                False,
                "the tool 'book_table' is limited to certain roles",
                "roles",
                True,
                frozenset({"20", "3"}),
                True,
            ),
            ToolStatus(
                "web_search", "Search the web.", False, False, "disabled", "disabled", False, frozenset(), False
            ),
        ]

    def tool_sources(self, caller: Caller) -> list[SourceStatus]:
        return list(self.sources)

    async def usable_tools(self, place: Place, caller: Caller) -> list[str]:
        return list(self.usable)

    def tool_names(self) -> list[str]:
        return list(TOOLS)

    def _admin_action(self, caller: Caller, tool: str, *change: str) -> None:
        if not caller.is_admin:
            raise NotAllowed("not_admin")
        if tool not in TOOLS:
            raise UnknownTool(tool, TOOLS)
        self.changes.append((tool, *change))

    async def set_enabled(self, place: Place, caller: Caller, tool: str, enabled: bool) -> PolicyChange:
        self._admin_action(caller, tool, "enabled" if enabled else "disabled")
        return PolicyChange(tool, "enabled" if enabled else "disabled")

    async def set_confirm(self, place: Place, caller: Caller, tool: str, mode: str) -> PolicyChange:
        self._admin_action(caller, tool, "confirm", mode)
        return PolicyChange(tool, "confirm_always" if mode == "always" else "confirm_never")

    async def member_usage(self, place: Place, caller: Caller, *, member_id: str | None = None) -> MemberUsage:
        if member_id not in (None, caller.user_id) and not caller.is_admin:
            raise NotAllowed("not_admin")
        self.changes.append(("usage", member_id or caller.user_id))
        today = UsageTotals(input_tokens=12_000, cached_input_tokens=3_000, output_tokens=345, requests=4)
        return MemberUsage(member_id or caller.user_id, today=today, month=today)

    async def set_quota(
        self, place: Place, caller: Caller, scope: str, tokens: int | None, *, role_id: str = ""
    ) -> None:
        if not caller.is_admin:
            raise NotAllowed("not_admin")
        self.changes.append(("quota", scope, role_id, "default" if tokens is None else str(tokens)))

    async def record_expired_press(self, place: Place, presser: Caller, *, tool: str) -> None:
        self.changes.append(("expired", tool, presser.user_id))

    async def allow_role(self, place: Place, caller: Caller, tool: str, role_id: str, role_name: str) -> PolicyChange:
        self._admin_action(caller, tool, "allow", role_id)
        return PolicyChange(tool, "role_allowed", role_name)

    async def revoke_role(self, place: Place, caller: Caller, tool: str, role_id: str, role_name: str) -> PolicyChange:
        self._admin_action(caller, tool, "revoke", role_id)
        return PolicyChange(tool, "role_revoked", role_name)

    async def audit(
        self, place: Place, caller: Caller, *, tool: str | None = None, user_id: str | None = None, limit: int = 15
    ) -> list[AuditEntry]:
        if not caller.is_admin:
            raise NotAllowed("not_admin")
        self.changes.append(("audit", tool or "", user_id or ""))
        at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
        return [
            AuditEntry(2, at, "policy", "5", "6", "7", "Ann", "book_table", "{}", "allow", None, "allowed role @staff"),
            AuditEntry(1, at, "tool_call", "5", "6", "8", "Bob", "get_weather", '{"city": "Oslo"}', "ok", 412.0, ""),
        ]

    async def clear_history(self, place: Place, caller: Caller) -> int:
        if not caller.is_admin:
            raise NotAllowed("not_starter")
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
    preferred_locale: discord.Locale = discord.Locale.american_english

    async def fetch_channel(self, channel_id: int) -> FakeChannel:
        return self.channels[channel_id]


@dataclass(frozen=True)
class FakeAttachment:
    """What discord.Attachment carries that the bot reads."""

    filename: str
    size: int
    content_type: str | None
    url: str


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
    attachments: list[FakeAttachment] = field(default_factory=list)
    stickers: list[object] = field(default_factory=list)

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
        self.reason = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests"}.get(status, "")
        self.headers = {"Retry-After": "2"} if status == 429 else {}


def http_error(code: int, *, status: int = 400) -> discord.HTTPException:
    """The exception discord.py raises for a Discord JSON error with this code."""
    cls = {403: discord.Forbidden, 404: discord.NotFound}.get(status, discord.HTTPException)
    return cls(FakeResponse(status), {"code": code, "message": "error"})  # type: ignore[arg-type]


class FakeClock:
    """Time that moves only when the test says so; sleepers wake when their time has come."""

    def __init__(self) -> None:
        self.time = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.time + seconds, future))
        await future

    async def advance(self, seconds: float, *, step: float = 0.05) -> None:
        """Move time forward in small steps, letting every task run in between."""
        end = self.time + seconds
        while True:
            await settle_tasks()
            if self.time >= end - 1e-9:
                break
            self.time = min(end, self.time + step)
            for deadline, future in list(self._sleepers):
                if deadline <= self.time + 1e-9:
                    self._sleepers.remove((deadline, future))
                    if not future.done():
                        future.set_result(None)


async def settle_tasks() -> None:
    """Let every ready task run until it waits again."""
    for _ in range(20):
        await asyncio.sleep(0)


@dataclass
class Request:
    """One request to Discord about a message: when, what, and with which content and embed."""

    at: float
    action: str
    content: str | None
    embed: discord.Embed | None = None


class LiveChannel:
    """A place that posts editable messages and records every request with the fake clock's time."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.messages: list[EditableMessage] = []
        self.requests: list[Request] = []
        self.send_errors: list[Exception] = []

    async def send(self, content: str | None, **options: Any) -> EditableMessage:
        self.requests.append(Request(self.clock.now(), "send", content, options.get("embed")))
        if self.send_errors:
            raise self.send_errors.pop(0)
        message = EditableMessage(self, content, options.get("embed"), options)
        self.messages.append(message)
        return message

    def shown(self) -> list[tuple[str | None, discord.Embed | None]]:
        """What the conversation shows now: every message not deleted, in order."""
        return [(message.content, message.embed) for message in self.messages if not message.deleted]


class EditableMessage:
    """A posted message: edits and deletion are recorded; errors can be queued for the next edit."""

    def __init__(
        self, channel: LiveChannel, content: str | None, embed: discord.Embed | None, options: dict[str, Any]
    ) -> None:
        self.channel = channel
        self.content = content
        self.embed = embed
        self.options = options
        self.deleted = False
        self.edit_errors: list[Exception] = []

    async def edit(self, *, content: str | None, embed: discord.Embed | None = None, **options: Any) -> None:
        self.channel.requests.append(Request(self.channel.clock.now(), "edit", content, embed))
        if self.edit_errors:
            raise self.edit_errors.pop(0)
        if self.deleted:
            raise http_error(10008, status=404)
        self.content, self.embed, self.options = content, embed, options

    async def delete(self) -> None:
        self.channel.requests.append(Request(self.channel.clock.now(), "delete", self.content))
        self.deleted = True
