"""What the facade reports: each turn (root span, outcome, active gauge, log ids), tool calls and confirmations."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Protocol

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from bot.engine.confirm import ConfirmationOutcome, ConfirmationRequest, Confirmer
from bot.engine.errors import ToolChoiceRefused
from bot.engine.executor import TraceEntry
from bot.engine.items import ToolCall
from bot.engine.permissions import Caller, Place
from bot.outcomes import NotAllowed, Reply, ShuttingDown
from bot.pacing import ChannelBusy, SlowDown
from bot.spending import QuotaReached
from bot.telemetry.logs import turn_fields
from bot.telemetry.metrics import Metrics
from bot.telemetry.tracing import start_span

AGENT_NAME = "Concierge"
UNKNOWN_TOOL = "unknown"
CONFIRMATION_RESULTS = {"confirmed": "confirmed", "declined": "declined", "timed_out": "expired"}
"""Verdict → metric label; 'unavailable' (the member could not be asked) keeps its own name."""
_REFUSALS: tuple[tuple[type[BaseException], str], ...] = (
    (QuotaReached, "quota"),
    (SlowDown, "rate_limit"),
    (ToolChoiceRefused, "permission"),
    (NotAllowed, "permission"),
    (ChannelBusy, "busy"),
    (ShuttingDown, "shutting_down"),
)

RecordCall = Callable[[TraceEntry], Awaitable[None]]
_tool_span: ContextVar[Span | None] = ContextVar("concierge_tool_span", default=None)


class KnownTools(Protocol):
    """Whatever can say whether a tool name is real (the registry): only real names become label values."""

    def get(self, name: str, /) -> object | None: ...


class TurnScope:
    """One turn in progress: tell it the reply once there is one."""

    def __init__(self, span: Span) -> None:
        self.span = span
        self.outcome = "failed"
        self.reason = ""

    def finished(self, reply: Reply) -> Reply:
        """Note how the turn ended (answered; refused when a limit stopped it mid-way, such as the quota; failed when
        the model could not be reached); returns `reply`."""
        if reply.error is not None and _classify(reply.error)[0] == "refused":
            self.outcome, self.reason = _classify(reply.error)
        else:
            self.outcome = "failed" if reply.failed else "answered"
        if reply.cut_short and self.span.is_recording():
            self.span.set_attribute("concierge.turn.cut_short", True)
        return reply


class Telemetry:
    """Metrics and spans for turns, tool calls and confirmations; with the default no-op tracer, spans cost nothing."""

    def __init__(
        self, metrics: Metrics | None = None, tracer: trace.Tracer | None = None, *, capture_content: bool = False
    ) -> None:
        self.metrics = metrics or Metrics()
        self.tracer = tracer or trace.NoOpTracer()
        self.capture_content = capture_content

    @asynccontextmanager
    async def turn(self, place: Place, caller: Caller) -> AsyncIterator[TurnScope]:
        """Around one member message: the turn's root span, its log ids, the active gauge, and its outcome."""
        turn_id = uuid.uuid4().hex[:16]
        self.metrics.active_turns.inc()
        with (
            start_span(
                self.tracer, f"invoke_agent {AGENT_NAME}", record_exception=False, set_status_on_exception=False
            ) as span,
            turn_fields(guild=place.guild_id, channel=place.channel_id, member=caller.user_id, turn=turn_id),
        ):
            if span.is_recording():
                span.set_attribute("gen_ai.operation.name", "invoke_agent")
                span.set_attribute("gen_ai.agent.name", AGENT_NAME)
                span.set_attribute("concierge.turn.id", turn_id)
                span.set_attribute("concierge.channel.id", place.channel_id)
                span.set_attribute("concierge.member.id", caller.user_id)
                if place.guild_id is not None:
                    span.set_attribute("concierge.guild.id", place.guild_id)
            scope = TurnScope(span)
            try:
                yield scope
            except BaseException as error:
                scope.outcome, scope.reason = _classify(error)
                raise
            finally:
                self.metrics.active_turns.dec()
                self.metrics.child(self.metrics.turns, scope.outcome, scope.reason).inc()
                if span.is_recording():
                    span.set_attribute("concierge.turn.outcome", scope.outcome)
                    if scope.reason:
                        span.set_attribute("concierge.turn.refusal", scope.reason)
                    if scope.outcome == "failed":
                        span.set_status(Status(StatusCode.ERROR, "the turn failed"))

    def refused(self, reason: str) -> None:
        """Count a turn refused before it started (the /ask check of a forced tool), as `turn` counts one refused on
        its way; the refused turn never runs, so it is counted once."""
        self.metrics.child(self.metrics.turns, "refused", reason).inc()

    @contextmanager
    def tool_call(self, call: ToolCall) -> Iterator[None]:
        """Around one tool call, in the task that runs it: the `execute_tool {tool}` span (its outcome is added when
        the call is recorded)."""
        with start_span(self.tracer, f"execute_tool {call.name}") as span:
            if span.is_recording():
                span.set_attribute("gen_ai.operation.name", "execute_tool")
                span.set_attribute("gen_ai.tool.name", call.name)
                span.set_attribute("gen_ai.tool.call.id", call.call_id)
                if self.capture_content:
                    span.set_attribute("gen_ai.tool.call.arguments", call.arguments)
            token = _tool_span.set(span)
            try:
                yield
            finally:
                _tool_span.reset(token)

    def recording(self, record: RecordCall, tools: KnownTools) -> RecordCall:
        """`record` plus the tool-call metrics and the outcome on the call's span."""

        async def recorded(entry: TraceEntry) -> None:
            tool = entry.tool if tools.get(entry.tool) is not None else UNKNOWN_TOOL
            self.metrics.child(self.metrics.tool_calls, tool, entry.outcome).inc()
            self.metrics.child(self.metrics.tool_duration, tool).observe(entry.duration_ms / 1000)
            span = _tool_span.get()  # None for a call refused before it ran (past the per-reply limit)
            if span is not None and span.is_recording():
                span.set_attribute("concierge.tool.outcome", entry.outcome)
                if entry.outcome != "ok":
                    span.set_status(Status(StatusCode.ERROR, entry.outcome))
            await record(entry)

        return recorded

    def confirmer(self, inner: Confirmer) -> Confirmer:
        """`inner` with a span around the wait for the member's answer and the confirmation metric."""
        return _ObservedConfirmer(inner, self)


class _ObservedConfirmer:
    def __init__(self, inner: Confirmer, telemetry: Telemetry) -> None:
        self._inner = inner
        self._telemetry = telemetry

    async def confirm(self, request: ConfirmationRequest) -> ConfirmationOutcome:
        started = time.perf_counter()
        with start_span(self._telemetry.tracer, f"await_confirmation {request.tool}") as span:
            outcome = await self._inner.confirm(request)
            result = CONFIRMATION_RESULTS.get(outcome.verdict, outcome.verdict)
            metrics = self._telemetry.metrics
            metrics.child(metrics.confirmations, result).inc()
            if span.is_recording():
                span.set_attribute("gen_ai.tool.name", request.tool)
                span.set_attribute("gen_ai.tool.call.id", request.call_id)
                span.set_attribute("concierge.confirmation.result", result)
                span.set_attribute("concierge.confirmation.wait_seconds", time.perf_counter() - started)
        return outcome


def _classify(error: BaseException) -> tuple[str, str]:
    for kind, reason in _REFUSALS:
        if isinstance(error, kind):
            return "refused", reason
    return "failed", ""
