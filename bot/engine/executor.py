"""Runs one tool call: checks, validates, times out, and always turns the result into a ToolOutput."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from bot.engine.items import ToolCall, ToolOutput
from bot.engine.permissions import Caller, Denied, Place, ToolPolicy
from bot.engine.tools import Registry, ToolContext, ToolError, utc_now

log = logging.getLogger(__name__)

Outcome = Literal["ok", "invalid", "denied", "error", "timeout", "skipped"]
MAX_OUTPUT_CHARS = 16_000
SUMMARY_CHARS = 160


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """What one tool call did, for the reply footer and the audit log."""

    call_id: str
    tool: str
    arguments: str
    outcome: Outcome
    duration_ms: float
    summary: str


RecordCall = Callable[[TraceEntry], Awaitable[None]]


@dataclass
class ToolExecutor:
    """Executes the calls of one turn for one caller; remembers repeats across the turn's rounds."""

    registry: Registry
    caller: Caller
    place: Place
    policies: Mapping[str, ToolPolicy]
    default_timeout: float
    services: Mapping[type, object] = field(default_factory=dict)
    now: Callable[[], datetime] = utc_now
    record: RecordCall | None = None
    max_repeats: int = 2
    _seen: Counter[tuple[str, str]] = field(default_factory=Counter, init=False, repr=False)

    async def execute(self, call: ToolCall) -> tuple[ToolOutput, TraceEntry]:
        """Run one call; never raises: every failure becomes an output the model can act on."""
        started = time.perf_counter()
        outcome, result = await self._run(call)
        entry = TraceEntry(
            call_id=call.call_id,
            tool=call.name,
            arguments=call.arguments,
            outcome=outcome,
            duration_ms=(time.perf_counter() - started) * 1000,
            summary=_summary(result),
        )
        if self.record is not None:
            try:
                await self.record(entry)
            except Exception:
                log.exception("could not record the call to %s in the audit log", call.name)
        return ToolOutput(call_id=call.call_id, output=_to_json(result)), entry

    async def _run(self, call: ToolCall) -> tuple[Outcome, dict[str, Any]]:
        tool = self.registry.get(call.name)
        if tool is None:
            return "invalid", {
                "error": "unknown tool",
                "tool": call.name,
                "available_tools": [
                    name
                    for name in self.registry.names()
                    if self.registry.decide(name, caller=self.caller, place=self.place, policies=self.policies)
                ],
            }
        decision = self.registry.decide(tool.name, caller=self.caller, place=self.place, policies=self.policies)
        if isinstance(decision, Denied):
            return "denied", {"error": "permission denied", "tool": tool.name, "reason": decision.reason}
        try:
            raw = json.loads(call.arguments) if call.arguments.strip() else {}
        except json.JSONDecodeError as error:
            return "invalid", {
                "error": "arguments are not valid JSON",
                "tool": tool.name,
                "detail": f"{error.msg} at position {error.pos}",
                "hint": "send the arguments as one JSON object matching the tool's schema",
            }
        if not isinstance(raw, dict):
            return "invalid", {"error": "arguments must be a JSON object", "tool": tool.name}
        try:
            arguments = tool.arguments.model_validate(raw)
        except ValidationError as error:
            return "invalid", {
                "error": "invalid arguments",
                "tool": tool.name,
                "problems": [_field_problem(problem) for problem in error.errors(include_url=False)],
            }
        key = (tool.name, json.dumps(raw, sort_keys=True, ensure_ascii=False))
        self._seen[key] += 1
        if self._seen[key] > self.max_repeats:
            return "skipped", {
                "error": "repeated call not run",
                "tool": tool.name,
                "detail": f"you already called {tool.name} with these arguments {self.max_repeats} times in this "
                "turn; use the result you already have",
            }
        context = ToolContext(caller=self.caller, place=self.place, services=self.services, now=self.now)
        timeout = min(tool.timeout, self.default_timeout) if tool.timeout else self.default_timeout
        try:
            async with asyncio.timeout(timeout):
                return "ok", await tool.invoke(context, arguments)
        except ToolError as error:
            return "error", error.as_result()
        except TimeoutError:
            return "timeout", {"error": "the tool timed out", "tool": tool.name, "timeout_seconds": timeout}
        except Exception:
            log.exception("tool %s failed", tool.name)
            return "error", {"error": "the tool failed unexpectedly; try again later or another way", "tool": tool.name}


def _field_problem(problem: Mapping[str, Any]) -> dict[str, Any]:
    """One validation error, named by its field, without echoing huge inputs."""
    field_path = ".".join(str(part) for part in problem.get("loc", ())) or "(arguments)"
    entry: dict[str, Any] = {"field": field_path, "problem": problem.get("msg", "invalid")}
    if problem.get("type") != "missing":
        given = problem.get("input")
        text = json.dumps(given, ensure_ascii=False, default=str)
        entry["given"] = given if len(text) <= 80 else text[:77] + "..."
    return entry


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
