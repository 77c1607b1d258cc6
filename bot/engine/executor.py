"""Runs one tool call: checks, validates, times out, and always turns the result into a ToolOutput."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from bot.engine.confirm import ConfirmationRequest, Confirmer, NoConfirmer, not_confirmed_result
from bot.engine.gate import AsGiven, Authorization, FixedPolicies, Gate
from bot.engine.items import ToolCall, ToolOutput
from bot.engine.json_text import read_json
from bot.engine.permissions import Caller, Decision, Denied, Place, ToolPolicy, needs_confirmation
from bot.engine.progress import NoProgress, Progress
from bot.engine.tools import InvalidArguments, Registry, Tool, ToolContext, ToolError, utc_now

log = logging.getLogger(__name__)

FailureKind = Literal["invalid", "denied", "error", "timeout", "skipped", "declined"]
Outcome = Literal["ok", "invalid", "denied", "error", "timeout", "skipped", "declined"]
MAX_OUTPUT_CHARS = 16_000
SUMMARY_CHARS = 160
DEFAULT_MAX_CALLS_PER_ROUND = 8


@dataclass(frozen=True, slots=True)
class Succeeded:
    """The tool ran and returned `body`."""

    body: dict[str, Any]

    @property
    def outcome(self) -> Outcome:
        """How the audit log names it."""
        return "ok"


@dataclass(frozen=True, slots=True)
class Failed:
    """The call did not succeed: `kind` says how, `body` tells the model what to do about it."""

    kind: FailureKind
    body: dict[str, Any]

    @property
    def outcome(self) -> Outcome:
        """How the audit log names it."""
        return self.kind


CallResult = Succeeded | Failed


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """What one tool call did, for the reply footer and the audit log."""

    call_id: str
    tool: str
    arguments: str
    outcome: Outcome
    duration_ms: float
    summary: str
    audit_place: Place | None = None  # where the call is audited, when not the turn's place (a booking's server)


@dataclass(slots=True)
class _AuditPlace:
    """Where one call is audited: the turn's place unless the tool says its data belongs to another server."""

    turn: Place
    place: Place | None = None

    def under(self, guild_id: str | None) -> None:
        """Audit the call under `guild_id`'s server (None: direct messages)."""
        same = guild_id == self.turn.guild_id
        self.place = None if same else Place(channel_id=self.turn.channel_id, guild_id=guild_id)


@dataclass(frozen=True, slots=True)
class ExecutedCall:
    """One call, done: how it went, what the model reads, and the trace of it."""

    result: CallResult
    output: ToolOutput
    entry: TraceEntry


@dataclass(frozen=True, slots=True)
class Offer:
    """The tools a turn's caller may use in its place (on the turn's snapshot of policies), and why not the others."""

    tools: tuple[Tool, ...]
    refused: Mapping[str, Denied]

    @classmethod
    def decided(cls, registry: Registry, *, caller: Caller, place: Place, policies: Mapping[str, ToolPolicy]) -> Offer:
        """Decide every tool of the registry for this caller in this place."""
        tools: list[Tool] = []
        refused: dict[str, Denied] = {}
        for tool in registry:
            decision = registry.decide(tool.name, caller=caller, place=place, policies=policies)
            if isinstance(decision, Denied):
                refused[tool.name] = decision
            else:
                tools.append(tool)
        return cls(tools=tuple(tools), refused=refused)

    def names(self) -> list[str]:
        """The offered tools' names, sorted."""
        return [tool.name for tool in self.tools]


RecordCall = Callable[[TraceEntry], Awaitable[None]]
CallScope = Callable[[ToolCall], AbstractContextManager[object]]
"""Wraps one call in the task that runs it (telemetry: its span); `record` runs inside it."""
T = TypeVar("T")


@dataclass
class ToolExecutor:
    """Executes the calls of one turn for one caller; remembers repeats across the turn's rounds.

    `policies` is the snapshot taken when the turn started (what the model is offered); right before a call runs,
    `gate` decides again on the current policies and the member's current roles (by default on the snapshot).
    A call that needs the member's yes is previewed, then put to `confirmer`, then authorized once more.
    """

    registry: Registry
    caller: Caller
    place: Place
    policies: Mapping[str, ToolPolicy]
    default_timeout: float
    services: object = None
    now: Callable[[], datetime] = utc_now
    record: RecordCall | None = None
    gate: Gate | None = None
    confirmer: Confirmer = field(default_factory=NoConfirmer)
    progress: Progress = field(default_factory=NoProgress)
    max_calls_per_round: int = DEFAULT_MAX_CALLS_PER_ROUND
    max_repeats: int = 2
    call_scope: CallScope | None = None
    _seen: Counter[tuple[str, str]] = field(default_factory=Counter, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.gate is None:
            self.gate = Gate(policies=FixedPolicies(self.policies), members=AsGiven(self.caller))

    def offered(self) -> Offer:
        """What this turn offers the model: the tools the caller may use here, decided on the turn's policies (the
        loop offers these; a call to any other is refused with their names)."""
        return Offer.decided(self.registry, caller=self.caller, place=self.place, policies=self.policies)

    async def execute_round(self, calls: Sequence[ToolCall]) -> list[ExecutedCall]:
        """Run one reply's calls concurrently, in call order; calls past `max_calls_per_round` are not run."""
        allowed, extra = calls[: self.max_calls_per_round], calls[self.max_calls_per_round :]
        results = list(await asyncio.gather(*(self.execute(call) for call in allowed)))
        for call in extra:
            self._tell(self.progress.tool_started, call)
            refusal = Failed(
                "skipped",
                {
                    "error": "too many calls in one reply; this one was not run",
                    "tool": call.name,
                    "detail": f"at most {self.max_calls_per_round} calls are run per reply; "
                    "ask for the rest in your next reply if they are still needed",
                },
            )
            results.append(await self._finish(call, time.perf_counter(), refusal))
        return results

    async def execute(self, call: ToolCall) -> ExecutedCall:
        """Run one call; never raises: every failure becomes an output the model can act on."""
        with nullcontext() if self.call_scope is None else self.call_scope(call):
            return await self._execute(call)

    async def _execute(self, call: ToolCall) -> ExecutedCall:
        started = time.perf_counter()
        self._tell(self.progress.tool_started, call)
        audit = _AuditPlace(self.place)
        try:
            result = await self._run(call, audit)
        except Exception:  # a failure in the checks themselves must not take the other calls down
            log.exception("preparing the call to %s failed", call.name)
            body = {"error": "the call could not be run; try again later or another way", "tool": call.name}
            result = Failed("error", body)
        return await self._finish(call, started, result, audit.place)

    async def _finish(
        self, call: ToolCall, started: float, result: CallResult, audit_place: Place | None = None
    ) -> ExecutedCall:
        entry = TraceEntry(
            call_id=call.call_id,
            tool=call.name,
            arguments=call.arguments,
            outcome=result.outcome,
            duration_ms=(time.perf_counter() - started) * 1000,
            summary=_summary(result.body),
            audit_place=audit_place,
        )
        self._tell(self.progress.tool_finished, entry)
        if self.record is not None:
            try:
                await self.record(entry)
            except Exception:
                log.exception("could not record the call to %s in the audit log", call.name)
        tool = self.registry.get(call.name)
        owner = self.caller.user_id if tool is not None and tool.personal else None
        return ExecutedCall(
            result, ToolOutput(call_id=call.call_id, output=_to_json(result.body), owner_id=owner), entry
        )

    async def _run(self, call: ToolCall, audit: _AuditPlace) -> CallResult:
        """Check, validate, authorize, confirm if needed, then run the call within its timeout."""
        tool = self.registry.get(call.name)
        if tool is None:
            return Failed(
                "invalid", {"error": "unknown tool", "tool": call.name, "available_tools": self.offered().names()}
            )
        arguments = _parse_arguments(tool, call.arguments)
        if isinstance(arguments, Failed):
            return arguments
        authorization = await self._authorize(tool)
        if isinstance(authorization.decision, Denied):
            return Failed("denied", _denial(tool, authorization.decision))
        repeated = self._repeated(tool, arguments)
        if repeated is not None:
            return repeated
        timeout = tool.time_limit(self.default_timeout)
        if needs_confirmation(by_default=tool.confirm_by_default, policy=authorization.policy):
            confirmed = await self._confirmed(call, tool, arguments, authorization, timeout, audit)
            if isinstance(confirmed, Failed):
                return confirmed
            authorization = confirmed
        context = self._context(tool, authorization.caller, audit)
        result = await _bounded(tool, timeout, tool.invoke(context, arguments))
        return result if isinstance(result, Failed) else Succeeded(result)

    def _repeated(self, tool: Tool, arguments: BaseModel) -> Failed | None:
        """Refuse a call this turn has already made `max_repeats` times with the same arguments."""
        key = (tool.name, arguments.model_dump_json())
        self._seen[key] += 1
        if self._seen[key] <= self.max_repeats:
            return None
        return Failed(
            "skipped",
            {
                "error": "repeated call not run",
                "tool": tool.name,
                "detail": f"you already called {tool.name} with these arguments {self.max_repeats} times in this "
                "turn; use the result you already have",
            },
        )

    async def _confirmed(
        self,
        call: ToolCall,
        tool: Tool,
        arguments: BaseModel,
        authorization: Authorization,
        seconds: float,
        audit: _AuditPlace,
    ) -> Authorization | Failed:
        """Preview the call, ask the member, and authorize again: the authorization to run on, or why not."""
        context = self._context(tool, authorization.caller, audit)
        preview = await _bounded(tool, seconds, tool.describe(context, arguments))
        if isinstance(preview, Failed):
            return preview  # it would fail anyway: nobody is asked to confirm the impossible
        self._tell(self.progress.tool_waiting, call)
        outcome = await self.confirmer.confirm(
            ConfirmationRequest(
                call_id=call.call_id,
                tool=tool.name,
                arguments=call.arguments,
                summary=preview.text,
                asker=self.caller,
                summary_kind=preview.kind,
                summary_params=preview.params,
                audit_place=audit.place,
            )
        )
        if not outcome.confirmed:
            return Failed("declined", not_confirmed_result(tool.name, outcome))
        authorization = await self._authorize(tool)  # roles or policies may have changed while the member decided
        if isinstance(authorization.decision, Denied):
            return Failed("denied", _denial(tool, authorization.decision))
        return authorization

    @staticmethod
    def _tell(report: Callable[[T], None], news: T) -> None:
        """Report progress; a failing reporter is logged, never the end of a call."""
        try:
            report(news)
        except Exception:
            log.exception("reporting progress failed")

    async def _authorize(self, tool: Tool, place: Place | None = None) -> Authorization:
        assert self.gate is not None
        return await self.gate.authorize(
            tool=tool.name, restricted=tool.restricted, caller=self.caller, place=place or self.place
        )

    def _context(self, tool: Tool, caller: Caller, audit: _AuditPlace) -> ToolContext[object]:
        async def permission_in(guild_id: str) -> Decision:
            elsewhere = Place(channel_id=self.place.channel_id, guild_id=guild_id)
            return (await self._authorize(tool, elsewhere)).decision

        return ToolContext(
            caller=caller,
            place=self.place,
            services=self.services,
            now=self.now,
            permission_in=permission_in,
            audit_under=audit.under,
        )


async def _bounded(tool: Tool, seconds: float, work: Awaitable[T]) -> T | Failed:
    """Await a tool's preview or run within its timeout; a ToolError, timeout or crash becomes a failure."""
    try:
        async with asyncio.timeout(seconds):
            return await work
    except ToolError as error:
        return Failed("error", error.as_result())
    except TimeoutError:
        return Failed("timeout", {"error": "the tool timed out", "tool": tool.name, "timeout_seconds": seconds})
    except Exception:
        log.exception("tool %s failed", tool.name)
        body = {"error": "the tool failed unexpectedly; try again later or another way", "tool": tool.name}
        return Failed("error", body)


def _parse_arguments(tool: Tool, text: str) -> BaseModel | Failed:
    """The validated arguments, or the problem with them as a failure the model can correct itself from."""
    try:
        raw = read_json(text) if text.strip() else {}
    except json.JSONDecodeError as error:
        return _not_json(tool, f"{error.msg} at position {error.pos}", "one JSON object")
    except (ValueError, RecursionError):  # an integer of thousands of digits, nesting thousands deep
        return _not_json(tool, "a number is too long or the nesting is too deep to read", "one small JSON object")
    if not isinstance(raw, dict):
        return Failed("invalid", {"error": "arguments must be a JSON object", "tool": tool.name})
    validated = tool.validate(raw)
    if isinstance(validated, InvalidArguments):
        return Failed("invalid", validated.as_result(tool.name))
    return validated


def _not_json(tool: Tool, detail: str, wanted: str) -> Failed:
    return Failed(
        "invalid",
        {
            "error": "arguments are not valid JSON",
            "tool": tool.name,
            "detail": detail,
            "hint": f"send the arguments as {wanted} matching the tool's schema",
        },
    )


def _denial(tool: Tool, denied: Denied) -> dict[str, Any]:
    return {"error": "permission denied", "tool": tool.name, "reason": denied.reason}


def _to_json(result: Mapping[str, Any]) -> str:
    """Serialise a result for the model, capped so one tool cannot flood the context."""
    text = json.dumps(result, ensure_ascii=False, default=str)
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    return json.dumps(
        {"truncated": True, "note": "the result was too long and was cut", "partial": text[:MAX_OUTPUT_CHARS]},
        ensure_ascii=False,
    )


def _summary(result: Mapping[str, Any]) -> str:
    """A short human-readable gist of a result for traces and the audit log."""
    if "error" in result:
        text = str(result["error"])
        reason = result.get("reason") or result.get("detail")
        if reason:
            text = f"{text}: {reason}"
    else:
        text = json.dumps(result, ensure_ascii=False, default=str)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"
