"""The tool loop, driven by a scripted model."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated

import pytest
from pydantic import Field

from bot.engine.api import ModelReply, Usage
from bot.engine.errors import (
    ModelRejectedRequest,
    ModelUnavailable,
    OverBudget,
    QuotaExhausted,
    ToolChoiceRefused,
)
from bot.engine.executor import ToolExecutor, TraceEntry
from bot.engine.items import AssistantMessage, ToolCall, ToolOutput, UserMessage, repair_history
from bot.engine.loop import Note, run_loop
from bot.engine.permissions import Caller, Place, ToolPolicy
from bot.engine.tools import Registry, ToolContext, ToolError, tool
from tests.engine.scripted import ScriptedAPI

MEMBER = Caller(user_id="10", name="Ann")
ADMIN = Caller(user_id="11", name="Root", is_admin=True)
GUILD = Place(channel_id="c1", guild_id="g1")
HELLO = UserMessage(text="hello", author_id="10", author_name="Ann")


class Spy:
    """Counts real executions of the test tools."""

    def __init__(self) -> None:
        self.runs: list[str] = []


def build_registry(spy: Spy) -> Registry:
    @tool()
    async def add(context: ToolContext, a: int, b: int) -> dict[str, int]:
        """Add two integers."""
        spy.runs.append("add")
        return {"sum": a + b}

    @tool()
    async def nap(context: ToolContext, seconds: Annotated[float, Field(ge=0, le=5)]) -> dict[str, float]:
        """Sleep a little."""
        spy.runs.append("nap")
        await asyncio.sleep(seconds)
        return {"slept": seconds}

    @tool(restricted=True, side_effects=True)
    async def book(context: ToolContext, table: Annotated[int, Field(ge=1, le=20)]) -> dict[str, int]:
        """Book a table (restricted)."""
        spy.runs.append("book")
        return {"booked": table}

    @tool()
    def explode(context: ToolContext) -> dict[str, str]:
        """Always fails with a secret in the message."""
        spy.runs.append("explode")
        raise RuntimeError("password=hunter2 at /srv/secret")

    @tool()
    async def refuse(context: ToolContext) -> dict[str, str]:
        """Always fails with an explained error."""
        raise ToolError("unknown city", city="Atlantis")

    @tool(timeout=0.05)
    async def hang(context: ToolContext) -> dict[str, str]:
        """Never finishes in time."""
        await asyncio.sleep(10)
        return {}

    return Registry([add, nap, book, explode, refuse, hang])


def executor_for(
    spy: Spy,
    caller: Caller = MEMBER,
    *,
    policies: dict[str, ToolPolicy] | None = None,
    record: list[TraceEntry] | None = None,
) -> ToolExecutor:
    async def keep(entry: TraceEntry) -> None:
        if record is not None:
            record.append(entry)

    return ToolExecutor(
        registry=build_registry(spy),
        caller=caller,
        place=GUILD,
        policies=policies or {},
        default_timeout=5,
        record=keep,
    )


async def turn(api: ScriptedAPI, executor: ToolExecutor, *, choice: str = "auto", max_rounds: int = 8):
    return await run_loop(
        api=api,
        executor=executor,
        instructions="You are a test.",
        history=[],
        user_message=HELLO,
        tool_choice=choice,
        max_rounds=max_rounds,
    )


def outputs(result) -> list[dict]:
    return [json.loads(item.output) for item in result.items if isinstance(item, ToolOutput)]


@pytest.mark.asyncio
async def test_answer_without_tools_is_returned_and_persisted() -> None:
    api = ScriptedAPI().text("Hi Ann!")
    result = await turn(api, executor_for(Spy()))
    assert result.answer == "Hi Ann!"
    assert result.items == (HELLO, AssistantMessage(text="Hi Ann!"))
    assert not result.cut_short and result.error is None
    api.assert_consumed()


@pytest.mark.asyncio
async def test_tool_results_go_back_in_call_order_matched_to_ids() -> None:
    spy = Spy()
    api = ScriptedAPI().calls(("nap", {"seconds": 0.05}), ("add", {"a": 2, "b": 3})).text("done")
    result = await turn(api, executor_for(spy))
    second = api.requests[1].items
    assert [type(item).__name__ for item in second] == [
        "UserMessage",
        "ToolCall",
        "ToolCall",
        "ToolOutput",
        "ToolOutput",
    ]
    calls = [item for item in second if isinstance(item, ToolCall)]
    outs = [item for item in second if isinstance(item, ToolOutput)]
    assert [o.call_id for o in outs] == [c.call_id for c in calls]
    assert json.loads(outs[1].output) == {"sum": 5}
    assert [entry.outcome for entry in result.trace] == ["ok", "ok"]


@pytest.mark.asyncio
async def test_parallel_calls_run_concurrently() -> None:
    api = ScriptedAPI().calls(("nap", {"seconds": 0.3}), ("nap", {"seconds": 0.3})).text("ok")
    started = time.perf_counter()
    result = await turn(api, executor_for(Spy()))
    assert time.perf_counter() - started < 0.55
    assert [entry.outcome for entry in result.trace] == ["ok", "ok"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("call", "outcome", "error"),
    [
        (("add", "{not json"), "invalid", "arguments are not valid JSON"),
        (("add", {"a": "many", "b": 1}), "invalid", "invalid arguments"),
        (("add", {"a": 1}), "invalid", "invalid arguments"),
        (("add", {"a": 1, "b": 2, "c": 3}), "invalid", "invalid arguments"),
        (("teleport", {}), "invalid", "unknown tool"),
        (("book", {"table": 2}), "denied", "permission denied"),
        (("refuse", {}), "error", "unknown city"),
        (("explode", {}), "error", "the tool failed unexpectedly; try again later or another way"),
        (("hang", {}), "timeout", "the tool timed out"),
    ],
)
async def test_each_failure_reaches_the_model_as_a_tool_result(call, outcome, error) -> None:
    spy = Spy()
    api = ScriptedAPI().calls(call).text("sorry")
    result = await turn(api, executor_for(spy))
    assert result.answer == "sorry"
    [entry] = result.trace
    assert entry.outcome == outcome
    [output] = outputs(result)
    assert output["error"] == error
    assert "hunter2" not in json.dumps(output) and "Traceback" not in json.dumps(output)


@pytest.mark.asyncio
async def test_validation_errors_name_each_field() -> None:
    api = ScriptedAPI().calls(("add", {"a": "x", "b": 1.5})).text("ok")
    result = await turn(api, executor_for(Spy()))
    problems = outputs(result)[0]["problems"]
    assert {problem["field"] for problem in problems} == {"a", "b"}


@pytest.mark.asyncio
async def test_denied_tool_is_never_executed_even_when_the_model_calls_it() -> None:
    spy = Spy()
    api = ScriptedAPI().calls(("book", {"table": 4})).text("cannot")
    result = await turn(api, executor_for(spy))
    assert spy.runs == []
    assert "book" not in api.requests[0].tools  # not even offered
    assert result.trace[0].outcome == "denied"


@pytest.mark.asyncio
async def test_invalid_arguments_never_execute_the_tool() -> None:
    spy = Spy()
    api = ScriptedAPI().calls(("book", {"table": 99})).text("no")
    await turn(api, executor_for(spy, ADMIN))
    assert spy.runs == []


@pytest.mark.asyncio
async def test_permission_is_checked_again_at_execution_with_current_policies() -> None:
    spy = Spy()
    policies = {"add": ToolPolicy(tool="add", enabled=False)}
    api = ScriptedAPI().calls(("add", {"a": 1, "b": 1})).text("no")
    result = await turn(api, executor_for(spy, policies=policies))
    assert spy.runs == [] and result.trace[0].outcome == "denied"
    assert "add" not in api.requests[0].tools


@pytest.mark.asyncio
async def test_round_limit_ends_with_one_answer_without_tools_and_is_marked_cut_short() -> None:
    api = ScriptedAPI()
    for n in range(3):
        api.calls(("add", {"a": n, "b": n}))
    api.text("partial answer")
    result = await turn(api, executor_for(Spy()), max_rounds=3)
    assert result.cut_short and result.answer == "partial answer"
    assert [request.tool_choice for request in api.requests] == ["auto", "auto", "auto", "none"]
    api.assert_consumed()


@pytest.mark.asyncio
async def test_forced_tool_choice_applies_to_the_first_round_only() -> None:
    api = ScriptedAPI().calls(("add", {"a": 1, "b": 2})).text("3")
    result = await turn(api, executor_for(Spy()), choice="add")
    assert [request.tool_choice for request in api.requests] == ["add", "auto"]
    assert result.notes == ()


@pytest.mark.asyncio
async def test_forcing_a_tool_the_caller_may_not_use_is_refused_before_any_model_call() -> None:
    api = ScriptedAPI()
    with pytest.raises(ToolChoiceRefused, match="book"):
        await turn(api, executor_for(Spy()), choice="book")
    with pytest.raises(ToolChoiceRefused):
        await turn(api, executor_for(Spy()), choice="no_such_tool")
    assert api.requests == []


@pytest.mark.asyncio
async def test_a_forced_tool_the_server_ignored_is_said_plainly() -> None:
    api = ScriptedAPI().text("It is sunny, I think.")
    result = await turn(api, executor_for(Spy()), choice="add")
    assert result.notes == (Note("forced_ignored", "add"),)


@pytest.mark.asyncio
async def test_a_server_rejecting_a_forced_choice_gets_the_request_again_with_auto() -> None:
    api = ScriptedAPI().error(ModelUnavailable("500", status=500)).text("answered freely")
    result = await turn(api, executor_for(Spy()), choice="required")
    assert [request.tool_choice for request in api.requests] == ["required", "auto"]
    assert result.answer == "answered freely" and result.error is None
    assert result.notes[0].kind == "forced_fallback"


@pytest.mark.asyncio
async def test_a_real_outage_on_a_forced_turn_still_reads_as_an_outage() -> None:
    api = ScriptedAPI().error(ModelUnavailable("timeout")).error(ModelUnavailable("timeout"))
    result = await turn(api, executor_for(Spy()), choice="required")
    assert isinstance(result.error, ModelUnavailable)
    assert len(api.requests) == 1
    rejected = ScriptedAPI().error(ModelRejectedRequest("bad", status=400)).error(ModelUnavailable("down", status=503))
    result = await turn(rejected, executor_for(Spy()), choice="add")
    assert isinstance(result.error, ModelUnavailable) and result.answer == ""


@pytest.mark.asyncio
async def test_a_third_identical_call_is_not_run_again() -> None:
    spy = Spy()
    api = ScriptedAPI()
    for _ in range(3):
        api.calls(("add", {"a": 1, "b": 1}))
    api.text("2")
    result = await turn(api, executor_for(spy))
    assert spy.runs == ["add", "add"]
    assert [entry.outcome for entry in result.trace] == ["ok", "ok", "skipped"]
    assert "already" in outputs(result)[2]["detail"]


@pytest.mark.asyncio
async def test_model_failure_mid_turn_keeps_a_valid_history_and_reports_the_error() -> None:
    api = ScriptedAPI().calls(("add", {"a": 1, "b": 1})).error(QuotaExhausted("insufficient_quota", status=429))
    result = await turn(api, executor_for(Spy()))
    assert isinstance(result.error, QuotaExhausted)
    kinds = [type(item).__name__ for item in result.items]
    assert kinds == ["UserMessage", "ToolCall", "ToolOutput"]


@pytest.mark.asyncio
async def test_every_call_is_recorded_for_the_audit_log() -> None:
    recorded: list[TraceEntry] = []
    api = ScriptedAPI().calls(("add", {"a": 1, "b": 1}), ("book", {"table": 1})).text("ok")
    await turn(api, executor_for(Spy(), record=recorded))
    assert sorted((entry.tool, entry.outcome) for entry in recorded) == [("add", "ok"), ("book", "denied")]


@pytest.mark.asyncio
async def test_broken_history_is_repaired_before_the_request() -> None:
    history = [
        UserMessage(text="earlier"),
        ToolCall(call_id="a", name="add", arguments="{}"),
        ToolOutput(call_id="zombie", output="{}"),
        AssistantMessage(text="before"),
    ]
    api = ScriptedAPI().text("fine")
    await run_loop(api=api, executor=executor_for(Spy()), instructions="x", history=history, user_message=HELLO)
    sent = api.requests[0].items
    assert ToolOutput(call_id="zombie", output="{}") not in sent
    repaired = [item for item in sent if isinstance(item, ToolOutput)]
    assert [item.call_id for item in repaired] == ["a"] and "interrupted" in repaired[0].output


@pytest.mark.asyncio
async def test_tools_are_offered_sorted_by_name_for_a_stable_prefix() -> None:
    api = ScriptedAPI().text("ok")
    await turn(api, executor_for(Spy(), ADMIN))
    assert list(api.requests[0].tools) == sorted(api.requests[0].tools)
    assert api.requests[0].instructions == "You are a test."


@pytest.mark.asyncio
async def test_required_with_a_single_offered_tool_is_sent_as_that_tool() -> None:
    spy = Spy()
    only_add = {name: ToolPolicy(tool=name, enabled=False) for name in ("nap", "explode", "refuse", "hang")}
    api = ScriptedAPI().calls(("add", {"a": 1, "b": 1})).text("2")
    result = await turn(api, executor_for(spy, policies=only_add), choice="required")
    assert api.requests[0].tools == ("add",)
    assert [request.tool_choice for request in api.requests] == ["add", "auto"]
    assert result.notes == ()


@pytest.mark.asyncio
async def test_the_tool_timeout_setting_caps_a_tools_own_timeout() -> None:
    @tool(timeout=10)
    async def dawdle(context: ToolContext) -> dict[str, str]:
        """Take a long time."""
        await asyncio.sleep(1)
        return {}

    executor = ToolExecutor(registry=Registry([dawdle]), caller=MEMBER, place=GUILD, policies={}, default_timeout=0.05)
    done = await executor.execute(ToolCall(call_id="c", name="dawdle", arguments="{}"))
    assert done.entry.outcome == "timeout"
    assert json.loads(done.output.output)["timeout_seconds"] == 0.05


@pytest.mark.asyncio
async def test_call_ids_a_server_reuses_are_made_unique_so_outputs_pair_with_their_calls() -> None:
    earlier = [
        UserMessage(text="before"),
        ToolCall(call_id="0", name="add", arguments='{"a": 0, "b": 0}'),
        ToolOutput(call_id="0", output='{"sum": 0}'),
    ]
    api = ScriptedAPI()
    api.script.append(
        ModelReply(
            text="",
            calls=(
                ToolCall(call_id="0", name="add", arguments='{"a": 1, "b": 1}'),
                ToolCall(call_id="0", name="add", arguments='{"a": 2, "b": 2}'),
            ),
        )
    )
    api.text("done")
    result = await run_loop(
        api=api, executor=executor_for(Spy()), instructions="x", history=earlier, user_message=HELLO
    )
    ids = [item.call_id for item in result.items if isinstance(item, ToolCall)]
    assert len(set(ids)) == 2 and "0" not in ids
    outputs_by_id = {item.call_id: json.loads(item.output) for item in result.items if isinstance(item, ToolOutput)}
    assert [outputs_by_id[call_id] for call_id in ids] == [{"sum": 2}, {"sum": 4}]
    replay = api.requests[1].items
    assert list(replay) == repair_history(replay)  # nothing had to be repaired or dropped


class CountedBudget:
    """Lets `requests` model requests through, then refuses; records how each reservation was settled."""

    def __init__(self, requests: int) -> None:
        self.left = requests
        self.reserved: list[int] = []
        self.settled: list[Usage | None] = []

    async def reserve(self, tokens: int) -> CountedBudget:
        if self.left == 0:
            raise OverBudget("used up", key="error.quota_reached.member")
        self.left -= 1
        self.reserved.append(tokens)
        return self

    async def settle(self, usage: Usage | None) -> None:
        self.settled.append(usage)


@pytest.mark.asyncio
async def test_the_budget_is_asked_before_every_request_and_a_refusal_ends_the_turn_keeping_its_calls() -> None:
    spy = Spy()
    api = ScriptedAPI().calls(("add", {"a": 1, "b": 2})).text("never asked")
    budget = CountedBudget(requests=1)
    result = await run_loop(
        api=api, executor=executor_for(spy), instructions="", history=[], user_message=HELLO, budget=budget
    )
    assert len(api.requests) == 1 and spy.runs == ["add"]
    assert isinstance(result.error, OverBudget) and result.answer == ""
    assert [type(item) for item in result.items] == [UserMessage, ToolCall, ToolOutput]
    assert len(budget.reserved) == 1 and budget.reserved[0] > 0
    assert len(budget.settled) == 1 and budget.settled[0] is not None and budget.settled[0].estimated


@pytest.mark.asyncio
async def test_a_failed_request_releases_its_reservation() -> None:
    budget = CountedBudget(requests=5)
    api = ScriptedAPI().error(ModelUnavailable("down"))
    result = await run_loop(
        api=api, executor=executor_for(Spy()), instructions="", history=[], user_message=HELLO, budget=budget
    )
    assert isinstance(result.error, ModelUnavailable)
    assert budget.settled == [None]
