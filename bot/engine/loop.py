"""The function-calling loop: one implementation for both OpenAI APIs."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.engine.api import ModelAPI, ModelReply, ToolChoice, ToolSpec, Usage, is_forced, is_mode
from bot.engine.budget import Budget, Hold
from bot.engine.errors import (
    ModelError,
    ModelRejectedRequest,
    ModelUnavailable,
    OverBudget,
    RateLimited,
    ToolChoiceRefused,
)
from bot.engine.executor import Offer, ToolExecutor, TraceEntry
from bot.engine.items import AssistantMessage, Item, Reasoning, ToolCall, UserMessage, for_speaker, repair_history
from bot.engine.progress import Progress
from bot.engine.tokens import estimate_tokens, item_tokens

log = logging.getLogger(__name__)

_Ask = Callable[[ToolChoice], Awaitable[ModelReply]]
Checkpoint = Callable[[Sequence[Item]], Awaitable[None]]
"""Saves the turn so far (user message first): a process that dies mid-turn keeps what already happened."""
RecordUsage = Callable[[Usage], Awaitable[None]]
"""Records what one model request cost (estimated when the server said nothing)."""


@dataclass(frozen=True, slots=True)
class Note:
    """Something to tell the member about how the turn went, for a chat platform to word in the member's language:
    forced_fallback (the server could not force `tool`), required_ignored (a tool was required, none was called),
    forced_ignored (the forced `tool` was not called)."""

    kind: Literal["forced_fallback", "required_ignored", "forced_ignored"]
    tool: str


@dataclass(frozen=True, slots=True)
class LoopResult:
    """How one member message was answered: the answer, what to persist, what the tools did, and anything to tell
    the member. `answer` is "" when the model wrote none: after a failure (`error` says what to tell the member: the
    model failed, or the budget refused a request), or cut short with nothing written."""

    answer: str
    items: tuple[Item, ...]
    trace: tuple[TraceEntry, ...]
    cut_short: bool = False
    notes: tuple[Note, ...] = ()
    error: ModelError | OverBudget | None = None


def check_tool_choice(offer: Offer, tool_choice: ToolChoice) -> None:
    """Refuse a forced tool the caller may not use, before any model call."""
    if is_mode(tool_choice):
        if tool_choice == "required" and not offer.tools:
            raise ToolChoiceRefused("required", "no tools are available to you here", reason_kind="no_tools")
        return
    denied = offer.refused.get(tool_choice)
    if denied is not None:
        raise ToolChoiceRefused(tool_choice, denied.reason, reason_kind=denied.kind)
    if tool_choice not in offer.names():
        raise ToolChoiceRefused(tool_choice, "there is no tool by that name", reason_kind="no_such_tool")


async def run_loop(
    *,
    api: ModelAPI,
    executor: ToolExecutor,
    instructions: str,
    history: Sequence[Item],
    user_message: UserMessage,
    tool_choice: ToolChoice = "auto",
    max_rounds: int = 8,
    checkpoint: Checkpoint | None = None,
    record_usage: RecordUsage | None = None,
    cache_key: str | None = None,
    budget: Budget | None = None,
) -> LoopResult:
    """Run one member message to an answer: model, tools, model, ... within `max_rounds` tool rounds.

    With `checkpoint`, the turn is saved before a round with side effects runs and again once it has: a call left
    pending by a crash is closed as interrupted on the next load, and a committed side effect is never missing from
    history. Rounds of read-only calls are not checkpointed (the caller saves the finished turn).
    Reasoning items are replayed within the turn and never leave it (not in `LoopResult.items`, not checkpointed).
    With `budget`, every request is reserved before it is sent: a turn whose budget runs out ends there, with the
    refusal as its error and what its tools did kept.
    """
    offer = executor.offered()
    check_tool_choice(offer, tool_choice)
    specs = [ToolSpec(t.name, t.description, t.parameters, strict=t.strict) for t in offer.tools]
    if tool_choice == "required" and len(specs) == 1:
        tool_choice = specs[0].name  # the same demand, in the form more servers accept (llama.cpp 500s on required)
    past = repair_history(history)
    new: list[Item] = [user_message]
    ask = _Requests(
        api, instructions, past, new, specs, executor.progress, record_usage, cache_key, user_message.author_id, budget
    )
    taken_ids = {item.call_id for item in past if isinstance(item, ToolCall)}
    trace: list[TraceEntry] = []
    notes: list[Note] = []
    try:
        for round_number in range(max_rounds):
            if round_number == 0:
                reply = await _first_request(ask, tool_choice, notes)
                _note_ignored_force(reply, tool_choice, notes)
            else:
                reply = await ask("auto")
            if not reply.calls:
                if reply.text:
                    new.append(AssistantMessage(text=reply.text))
                return LoopResult(answer=reply.text, items=_kept(new), trace=tuple(trace), notes=tuple(notes))
            trace.extend(await _run_calls(executor, reply, new, taken_ids, checkpoint))
        final = await ask("none")
    except (ModelError, OverBudget) as error:
        log.warning("turn failed: %s: %s", type(error).__name__, error.detail or error)
        return LoopResult(answer="", items=_kept(new), trace=tuple(trace), notes=tuple(notes), error=error)
    if final.calls:
        log.warning("the model asked for %d tool calls after tool_choice none; ignored", len(final.calls))
    if final.text:
        new.append(AssistantMessage(text=final.text))
    return LoopResult(answer=final.text, items=_kept(new), trace=tuple(trace), cut_short=True, notes=tuple(notes))


@dataclass(frozen=True, slots=True)
class _Requests:
    """Asks the model about the conversation so far (`past` and the growing `new`), and records what it cost."""

    api: ModelAPI
    instructions: str
    past: Sequence[Item]
    new: list[Item]
    specs: Sequence[ToolSpec]
    progress: Progress
    record_usage: RecordUsage | None
    cache_key: str | None
    speaker_id: str | None
    budget: Budget | None

    async def __call__(self, choice: ToolChoice) -> ModelReply:
        items = for_speaker([*self.past, *self.new], self.speaker_id)
        hold = None
        if self.budget is not None:  # raises OverBudget: no request is sent
            hold = await self.budget.reserve(request_tokens(self.instructions, items, self.specs))
        try:
            reply = await self.api.respond(
                instructions=self.instructions,
                items=items,
                tools=self.specs,
                tool_choice=choice,
                progress=self.progress,
                cache_key=self.cache_key,
            )
        except BaseException:
            await _settle(hold, None)
            raise
        usage = reply.usage or estimate_usage(self.instructions, items, self.specs, reply)
        await _settle(hold, usage)
        if self.record_usage is not None:
            try:
                await self.record_usage(usage)
            except Exception:
                log.exception("could not record the usage of a model request")
        return reply


async def _settle(hold: Hold | None, usage: Usage | None) -> None:
    """Settle a request's reservation; a storage failure is logged, never the end of the turn."""
    if hold is None:
        return
    try:
        await hold.settle(usage)
    except Exception:
        log.exception("could not settle the usage of a model request")


async def _run_calls(
    executor: ToolExecutor, reply: ModelReply, new: list[Item], taken_ids: set[str], checkpoint: Checkpoint | None
) -> list[TraceEntry]:
    """Add the reply and its calls to the turn, run the calls, add their outputs; a round with side effects is
    checkpointed before it runs and again after."""
    if reply.text:
        executor.progress.answer_discarded()  # streamed words before calls are not the answer
    new.extend(reply.reasoning)
    if reply.text:
        new.append(AssistantMessage(text=reply.text))
    calls = _with_unique_ids(reply.calls, taken_ids)
    new.extend(calls)
    durable = _has_side_effects(executor, calls)
    if durable:
        await _save(checkpoint, new)
    done = await executor.execute_round(calls)
    new.extend(call.output for call in done)
    if durable:
        await _save(checkpoint, new)
    return [call.entry for call in done]


def _kept(items: Sequence[Item]) -> tuple[Item, ...]:
    """The turn's items as they are kept: without reasoning, which is opaque and only valid within its turn."""
    return tuple(item for item in items if not isinstance(item, Reasoning))


def request_tokens(instructions: str, items: Sequence[Item], specs: Sequence[ToolSpec]) -> int:
    """The estimated input tokens of a request: instructions, items and tool specs."""
    sent = estimate_tokens(instructions) + sum(item_tokens(item) for item in items)
    return sent + sum(estimate_tokens(spec.name + spec.description + json.dumps(spec.parameters)) for spec in specs)


def estimate_usage(instructions: str, items: Sequence[Item], specs: Sequence[ToolSpec], reply: ModelReply) -> Usage:
    """What a request probably cost, for servers that report no usage (marked as an estimate)."""
    sent = request_tokens(instructions, items, specs)
    written = estimate_tokens(reply.text) + sum(estimate_tokens(call.name + call.arguments) for call in reply.calls)
    return Usage(input_tokens=sent, output_tokens=written, estimated=True)


def _has_side_effects(executor: ToolExecutor, calls: Sequence[ToolCall]) -> bool:
    """Whether a call of this round may change something outside the conversation: only then is the turn saved
    around the round (a read-only call lost in a crash changes nothing; the turn is saved when it ends)."""
    return any((tool := executor.registry.get(call.name)) is not None and tool.side_effects for call in calls)


async def _save(checkpoint: Checkpoint | None, items: Sequence[Item]) -> None:
    """Checkpoint the turn; a storage failure is logged, never the end of the turn."""
    if checkpoint is None:
        return
    try:
        await checkpoint(_kept(items))
    except Exception:
        log.exception("could not checkpoint the turn")


async def _first_request(ask: _Ask, tool_choice: ToolChoice, notes: list[Note]) -> ModelReply:
    """Send the first request; a server that rejects a forced tool_choice gets it once more with 'auto'."""
    if not is_forced(tool_choice):  # nothing to fall back from
        return await ask(tool_choice)
    try:
        return await ask(tool_choice)
    except (ModelRejectedRequest, ModelUnavailable) as error:
        if isinstance(error, RateLimited) or error.status is None:
            raise  # a timeout, a lost connection or a rate limit is an outage, not a refusal of tool_choice
        log.warning(
            "the model server rejected tool_choice=%r (HTTP %s); retrying with 'auto'", tool_choice, error.status
        )
    reply = await ask("auto")
    notes.append(Note("forced_fallback", tool_choice))
    return reply


def _with_unique_ids(calls: Sequence[ToolCall], taken: set[str]) -> list[ToolCall]:
    """The calls with ids unique in the conversation: some servers reuse ids like "0" every round, and a reused id
    would pair an output with the wrong call on replay."""
    unique = []
    for call in calls:
        call_id, n = call.call_id, 1
        while call_id in taken:
            n += 1
            call_id = f"{call.call_id}_{n}"
        taken.add(call_id)
        unique.append(call if call_id == call.call_id else call.model_copy(update={"call_id": call_id}))
    return unique


def _note_ignored_force(reply: ModelReply, tool_choice: ToolChoice, notes: list[Note]) -> None:
    """Say plainly when a forced tool was not called (some servers ignore tool_choice)."""
    if not is_forced(tool_choice) or notes:
        return
    if tool_choice == "required":
        if not reply.calls:
            notes.append(Note("required_ignored", tool_choice))
    elif not any(call.name == tool_choice for call in reply.calls):
        notes.append(Note("forced_ignored", tool_choice))
