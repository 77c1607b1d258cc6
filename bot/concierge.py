"""The facade the Discord adapter calls: conversations, tool settings, audit and history, without Discord."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime

from bot.attachments import FileReader, ReadFiles, SharedFile, not_downloaded
from bot.audited import AuditedConfirmer, tool_call_recorder
from bot.engine.api import ModelAPI, is_mode
from bot.engine.confirm import NoConfirmer
from bot.engine.errors import ToolChoiceRefused
from bot.engine.executor import Offer, ToolExecutor, TraceEntry
from bot.engine.gate import AsGiven, Gate
from bot.engine.items import ToolCall, UserMessage
from bot.engine.loop import check_tool_choice, run_loop
from bot.engine.permissions import Allowed, Caller, ConfirmMode, Place, ToolPolicy, needs_confirmation
from bot.engine.progress import NoProgress
from bot.engine.tools import Registry, Tool, utc_now
from bot.outcomes import (
    ChatHooks,
    ConciergeLimits,
    NotAllowed,
    PolicyChange,
    Reply,
    ShuttingDown,
    SourceStatus,
    ToolStatus,
    UnknownTool,
)
from bot.pacing import ChannelBusy, ChannelQueues, MemberTurnLimit, SlowDown
from bot.prompt import SystemPrompt
from bot.spending import MemberUsage, QuotaReached, ServerUsage, Spending, prompt_cache_key
from bot.store.audit import AuditEntry, AuditLog, ConfirmationRecord
from bot.store.conversations import ConversationStore
from bot.store.history import HistoryCheckpoint, HistoryStore
from bot.store.policies import PolicyStore
from bot.store.usage import QuotaScope
from bot.telemetry import Telemetry

__all__ = [
    "AuditEntry",
    "ChannelBusy",
    "ChatHooks",
    "Concierge",
    "ConciergeLimits",
    "NotAllowed",
    "PolicyChange",
    "QuotaReached",
    "Reply",
    "ShuttingDown",
    "SlowDown",
    "SourceStatus",
    "ToolChoiceRefused",
    "ToolStatus",
    "TraceEntry",
    "UnknownTool",
]

log = logging.getLogger(__name__)


class Concierge:
    """Everything the chat platform adapter needs, as plain values in and out."""

    def __init__(
        self,
        *,
        api: ModelAPI,
        registry: Registry,
        history: HistoryStore,
        policies: PolicyStore,
        audit: AuditLog,
        conversations: ConversationStore,
        prompt: SystemPrompt,
        services: object,
        limits: ConciergeLimits = ConciergeLimits(),
        spending: Spending | None = None,
        now: Callable[[], datetime] = utc_now,
        telemetry: Telemetry | None = None,
        sources: Callable[[], Sequence[SourceStatus]] | None = None,
        files: FileReader | None = None,
    ) -> None:
        self._api = api
        self._registry = registry
        self._history = history
        self._policies = policies
        self._audit = audit
        self._conversations = conversations
        self._prompt = prompt
        self._services = services
        self._limits = limits
        self._spending = spending
        self._now = now
        self._telemetry = telemetry or Telemetry()
        self._sources = sources
        self._files = files
        self._queues = ChannelQueues(max_waiting=limits.max_waiting_per_channel)
        self._member_turns = MemberTurnLimit(per_minute=limits.member_turns_per_minute)
        self._busy: set[asyncio.Task[object]] = set()  # handlers using the store: turns, commands
        self._closing = False

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
        """Run one member message through the model and tools, in order within its channel.

        The message takes its place in the channel's queue before the first await (the order of calls is the order
        of answers; one still waiting at shutdown is refused). `hooks`: how to ask this member for a yes and read
        their current roles (without it, nothing that needs a yes is done, and `caller`'s roles are trusted).
        `files` are read in the message's place in the queue; the reply names each one left out.
        """
        async with self._telemetry.turn(place, caller) as observed, self._in_use():
            self._member_turns.admit(caller.user_id)
            async with self._queues.one_at_a_time(place.channel_id):
                if self._closing:
                    raise ShuttingDown()
                if self._spending is not None:
                    await self._spending.check(place, caller, now=self._now())
                read = await self._files.read(files) if self._files is not None else not_downloaded(files)
                executor = await self._executor(place, caller, hooks or ChatHooks(NoConfirmer()))
                return observed.finished(await self._answer(executor, place, caller, text, tool_choice, read))

    async def _answer(
        self, executor: ToolExecutor, place: Place, caller: Caller, text: str, tool_choice: str, read: ReadFiles
    ) -> Reply:
        """Answer one message on the channel's history (the loop refuses a forbidden forced tool before any model
        call), then keep the exchange."""
        history = await self._history.load_window(
            place.channel_id,
            max_turns=self._limits.history_max_turns,
            max_tokens=self._limits.history_max_tokens,
        )
        saved = HistoryCheckpoint(self._history, place.channel_id)
        result = await run_loop(
            api=self._api,
            executor=executor,
            instructions=self._prompt.render(place=place, now=self._now(), speaker=caller),
            history=history,
            user_message=UserMessage(
                text=text, author_id=caller.user_id, author_name=caller.name, attachments=read.parts
            ),
            tool_choice=tool_choice,
            max_rounds=self._limits.max_rounds,
            checkpoint=saved.save,
            budget=None if self._spending is None else self._spending.budget(place, caller, now=self._now),
            cache_key=prompt_cache_key(place),
        )
        # A failed turn is kept only when tools ran (their side effects must stay in the conversation).
        if result.error is None or any(isinstance(item, ToolCall) for item in result.items):
            try:
                await saved.save(result.items)
            except Exception:
                log.exception("could not save the turn in channel %s", place.channel_id)
        return Reply(
            text=result.answer,
            trace=result.trace,
            notes=result.notes,
            cut_short=result.cut_short,
            failed=result.error is not None,
            error=result.error,
            skipped_files=read.skipped,
        )

    async def check_tool_choice(self, place: Place, caller: Caller, tool_choice: str) -> None:
        """Raise ToolChoiceRefused or UnknownTool when this member may not force this tool here (a check before the
        turn queues, so the refusal can be private; the turn itself decides again on its own snapshot). A refusal is
        counted as a turn refused for permission: the turn is never asked for, so the turn does not count it again."""
        try:
            if not is_mode(tool_choice):
                self._require_tool(tool_choice)
            async with self._in_use():
                check_tool_choice(await self._offer(place, caller), tool_choice)
        except (ToolChoiceRefused, UnknownTool):
            self._telemetry.refused("permission")
            raise

    async def tools_for(self, place: Place, caller: Caller) -> list[ToolStatus]:
        """Every tool with whether it is enabled here, whether this member may use it, and whether it asks first."""
        async with self._in_use():
            policies = await self._policies_for(place)
        statuses = []
        for tool in self._registry:
            policy = policies.get(tool.name) or ToolPolicy(tool=tool.name)
            decision = self._registry.decide(tool.name, caller=caller, place=place, policies=policies)
            statuses.append(
                ToolStatus(
                    name=tool.name,
                    description=next(iter(tool.description.splitlines()), ""),
                    enabled=policy.enabled,
                    usable=isinstance(decision, Allowed),
                    reason=None if isinstance(decision, Allowed) else decision.reason,
                    reason_kind=None if isinstance(decision, Allowed) else decision.kind,
                    restricted=tool.restricted,
                    allowed_role_ids=policy.allowed_role_ids,
                    confirm=needs_confirmation(by_default=tool.confirm_by_default, policy=policy),
                    source=tool.source,
                )
            )
        return statuses

    def tool_sources(self, caller: Caller) -> list[SourceStatus]:
        """Each MCP server's status, in the operator's file order; its error is shown to admins only."""
        statuses = list(self._sources()) if self._sources is not None else []
        if caller.is_admin:
            return statuses
        return [replace(status, error="") for status in statuses]

    async def usable_tools(self, place: Place, caller: Caller) -> list[str]:
        """Names of the tools this member may use here."""
        return [status.name for status in await self.tools_for(place, caller) if status.usable]

    def tool_names(self) -> list[str]:
        """Every tool's name."""
        return self._registry.names()

    async def set_enabled(self, place: Place, caller: Caller, tool: str, enabled: bool) -> PolicyChange:
        """Enable or disable a tool in this server (admins only)."""
        guild_id = self._require_admin(place, caller)
        self._require_tool(tool)
        async with self._in_use():
            await self._policies.set_enabled(guild_id, tool, enabled, actor_id=caller.user_id, actor_name=caller.name)
        return PolicyChange(tool, "enabled" if enabled else "disabled")

    async def set_confirm(self, place: Place, caller: Caller, tool: str, mode: ConfirmMode) -> PolicyChange:
        """Choose whether this tool's calls wait for the member's yes in this server (admins only)."""
        guild_id = self._require_admin(place, caller)
        known = self._require_tool(tool)
        default: ConfirmMode = "always" if known.confirm_by_default else "never"
        async with self._in_use():
            await self._policies.set_confirm(
                guild_id, tool, mode, default=default, actor_id=caller.user_id, actor_name=caller.name
            )
        return PolicyChange(tool, "confirm_always" if mode == "always" else "confirm_never")

    async def allow_role(self, place: Place, caller: Caller, tool: str, role_id: str, role_name: str) -> PolicyChange:
        """Let a role use a tool in this server (admins only)."""
        guild_id = self._require_admin(place, caller)
        self._require_tool(tool)
        async with self._in_use():
            await self._policies.allow_role(guild_id, tool, role_id, actor_id=caller.user_id, actor_name=caller.name)
        return PolicyChange(tool, "role_allowed", role_name)

    async def revoke_role(self, place: Place, caller: Caller, tool: str, role_id: str, role_name: str) -> PolicyChange:
        """Take a role off a tool's allow-list in this server (admins only)."""
        guild_id = self._require_admin(place, caller)
        self._require_tool(tool)
        async with self._in_use():
            await self._policies.revoke_role(guild_id, tool, role_id, actor_id=caller.user_id, actor_name=caller.name)
        return PolicyChange(tool, "role_revoked", role_name)

    async def audit(
        self, place: Place, caller: Caller, *, tool: str | None = None, user_id: str | None = None, limit: int = 15
    ) -> list[AuditEntry]:
        """Recent tool calls, confirmations and policy changes in this server, newest first (admins only)."""
        guild_id = self._require_admin(place, caller)
        if tool is not None:
            self._require_tool(tool)
        async with self._in_use():
            return await self._audit.query(guild_id=guild_id, tool=tool, user_id=user_id, limit=limit)

    async def record_expired_press(self, place: Place, presser: Caller, *, tool: str) -> None:
        """Audit a press on a confirmation this process no longer waits for (it restarted, or the wait is over)."""
        async with self._in_use():
            await self._audit.record_confirmation(
                ConfirmationRecord(
                    guild_id=place.guild_id,
                    channel_id=place.channel_id,
                    user_id=presser.user_id,
                    user_name=presser.name,
                    tool=tool,
                    arguments="",
                    outcome="expired",
                    summary="a button was pressed on a confirmation that is no longer waiting",
                )
            )

    async def member_usage(self, place: Place, caller: Caller, *, member_id: str | None = None) -> MemberUsage:
        """A member's tokens here today and this month: their own, or (admins only) another member's."""
        if member_id is not None and member_id != caller.user_id:
            self._require_admin(place, caller)
        async with self._in_use():
            return await self._require_spending().member_usage(place, member_id or caller.user_id, now=self._now())

    async def server_usage(self, place: Place, caller: Caller) -> ServerUsage:
        """This server's tokens today and this month, its top members and its quotas (admins only)."""
        guild_id = self._require_admin(place, caller)
        async with self._in_use():
            return await self._require_spending().server_usage(guild_id, now=self._now())

    async def set_quota(
        self, place: Place, caller: Caller, scope: QuotaScope, tokens: int | None, *, role_id: str = ""
    ) -> None:
        """Override a daily token quota in this server (0 = unlimited, None = back to the setting; admins only)."""
        guild_id = self._require_admin(place, caller)
        async with self._in_use():
            await self._require_spending().set_quota(guild_id, scope, tokens, role_id=role_id, actor=caller)

    async def clear_history(self, place: Place, caller: Caller) -> int:
        """Forget this channel's conversation (its starter, an admin, or the member in their DM)."""
        async with self._in_use():
            if not (place.is_dm or caller.is_admin):
                starter = await self._conversations.starter_of(place.channel_id)
                if starter != caller.user_id:
                    raise NotAllowed("not_starter")
            return await self._history.clear(place.channel_id)

    async def start_conversation(self, *, thread: Place, starter: Caller) -> None:
        """Remember a thread the bot opened, and who opened the conversation."""
        async with self._in_use():
            await self._conversations.register(
                channel_id=thread.channel_id, guild_id=thread.guild_id, starter_id=starter.user_id
            )

    async def is_conversation(self, channel_id: str) -> bool:
        """Whether the bot started this thread (later messages there need no mention)."""
        async with self._in_use():
            return await self._conversations.starter_of(channel_id) is not None

    async def shutdown(self, *, grace_seconds: float = 10.0) -> None:
        """Take no new work; let running turns and commands finish for a while, then cancel them (nothing
        half-written). Once this returns, nothing of the facade touches the store again."""
        self._closing = True
        running = set(self._busy)
        if not running:
            return
        log.info("waiting up to %.0f s for %d turns and commands", grace_seconds, len(running))
        _, pending = await asyncio.wait(running, timeout=grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)

    @asynccontextmanager
    async def _in_use(self) -> AsyncIterator[None]:
        """Count the current task as using the store until the block ends; refuse new work once closing."""
        if self._closing:
            raise ShuttingDown()
        task = asyncio.current_task()
        if task is None or task in self._busy:  # nested use within one task is already counted
            yield
            return
        self._busy.add(task)
        try:
            yield
        finally:
            self._busy.discard(task)

    async def _executor(self, place: Place, caller: Caller, hooks: ChatHooks) -> ToolExecutor:
        return ToolExecutor(
            registry=self._registry,
            caller=caller,
            place=place,
            policies=await self._policies_for(place),
            default_timeout=self._limits.tool_timeout,
            services=self._services,
            now=self._now,
            record=self._telemetry.recording(tool_call_recorder(self._audit, place, caller), self._registry),
            gate=Gate(policies=self._policies, members=hooks.members or AsGiven(caller)),
            confirmer=self._telemetry.confirmer(AuditedConfirmer(hooks.confirmer, self._audit, place)),
            call_scope=self._telemetry.tool_call,
            progress=hooks.progress or NoProgress(),
            max_calls_per_round=self._limits.max_calls_per_round,
        )

    async def _offer(self, place: Place, caller: Caller) -> Offer:
        """The tools this member may use here now, as a turn starting now would offer them."""
        return Offer.decided(self._registry, caller=caller, place=place, policies=await self._policies_for(place))

    async def _policies_for(self, place: Place) -> dict[str, ToolPolicy]:
        return {} if place.guild_id is None else await self._policies.policies_for(place.guild_id)

    def _require_admin(self, place: Place, caller: Caller) -> str:
        if place.guild_id is None:
            raise NotAllowed("server_only")
        if not caller.is_admin:
            raise NotAllowed("not_admin")
        return place.guild_id

    def _require_spending(self) -> Spending:
        if self._spending is None:
            raise NotAllowed("no_usage")
        return self._spending

    def _require_tool(self, name: str) -> Tool:
        known = self._registry.get(name)
        if known is None:
            raise UnknownTool(name, self._registry.names())
        return known
