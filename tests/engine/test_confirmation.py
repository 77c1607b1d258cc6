"""Side effects wait for the member's yes; permission is decided again, on the state of things, right before a call."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

import pytest
from pydantic import Field

from bot.engine.confirm import ConfirmationOutcome, ConfirmationRequest, Verdict
from bot.engine.executor import ToolExecutor
from bot.engine.gate import Gate
from bot.engine.items import ToolOutput, UserMessage
from bot.engine.loop import LoopResult, run_loop
from bot.engine.permissions import Caller, Place, ToolPolicy
from bot.engine.tools import Registry, ToolContext, ToolError, tool
from tests.engine.scripted import ScriptedAPI

ANN = Caller(user_id="10", name="Ann", role_ids=frozenset({"diners"}))
GUILD = Place(channel_id="c1", guild_id="g1")
HELLO = UserMessage(text="book it", author_id="10", author_name="Ann")
DINERS_MAY_BOOK = {"book": ToolPolicy(tool="book", allowed_role_ids=frozenset({"diners"}))}


@dataclass
class World:
    """What the tools did, and the server's state, which a test may change while a confirmation waits."""

    runs: list[str] = field(default_factory=list)
    policies: dict[str, ToolPolicy] = field(default_factory=lambda: dict(DINERS_MAY_BOOK))
    members: dict[str, Caller] = field(default_factory=lambda: {ANN.user_id: ANN})

    async def policies_for(self, guild_id: str) -> dict[str, ToolPolicy]:
        return dict(self.policies)

    async def member(self, guild_id: str, user_id: str) -> Caller | None:
        return self.members.get(user_id)


@dataclass
class FakeConfirmer:
    """Answers each request with `verdict`, after running `meanwhile` (e.g. an admin revoking a role)."""

    verdict: Verdict = "confirmed"
    meanwhile: Callable[[], Awaitable[None]] | None = None
    requests: list[ConfirmationRequest] = field(default_factory=list)

    async def confirm(self, request: ConfirmationRequest) -> ConfirmationOutcome:
        self.requests.append(request)
        if self.meanwhile is not None:
            await self.meanwhile()
        return ConfirmationOutcome(self.verdict, by_id=ANN.user_id, by_name=ANN.name)


def registry_for(world: World) -> Registry:
    async def describe(context: ToolContext, table: int) -> str:
        if table == 13:
            raise ToolError("table 13 does not exist", table=table)
        return f"Book table {table} for {context.caller.name}."

    @tool(restricted=True, side_effects=True, preview=describe)
    async def book(context: ToolContext, table: Annotated[int, Field(ge=1, le=20)]) -> dict[str, int]:
        """Book a table."""
        world.runs.append("book")
        return {"booked": table}

    @tool()
    async def add(context: ToolContext, a: int, b: int) -> dict[str, int]:
        """Add two integers."""
        world.runs.append("add")
        return {"sum": a + b}

    return Registry([add, book])


async def run(world: World, api: ScriptedAPI, confirmer: FakeConfirmer, **options: int) -> LoopResult:
    executor = ToolExecutor(
        registry=registry_for(world),
        caller=ANN,
        place=GUILD,
        policies=dict(world.policies),
        default_timeout=5,
        gate=Gate(policies=world, members=world),
        confirmer=confirmer,
        **options,
    )
    return await run_loop(api=api, executor=executor, instructions="test", history=[], user_message=HELLO)


def outputs(turn: LoopResult) -> list[dict[str, object]]:
    return [json.loads(item.output) for item in turn.items if isinstance(item, ToolOutput)]


@pytest.mark.asyncio
async def test_a_side_effect_runs_only_after_the_member_confirms_what_it_will_do() -> None:
    world, confirmer = World(), FakeConfirmer("confirmed")
    turn = await run(world, ScriptedAPI().calls(("book", {"table": 4})).text("Booked."), confirmer)
    [request] = confirmer.requests
    assert (request.tool, request.summary, request.asker) == ("book", "Book table 4 for Ann.", ANN)
    assert world.runs == ["book"]
    assert outputs(turn) == [{"booked": 4}]
    assert [entry.outcome for entry in turn.trace] == ["ok"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("verdict", "reason"),
    [("declined", "the member pressed Cancel"), ("timed_out", "the member did not answer in time")],
)
async def test_a_declined_or_unanswered_confirmation_runs_nothing_and_never_reads_like_success(
    verdict: Verdict, reason: str
) -> None:
    world = World()
    turn = await run(world, ScriptedAPI().calls(("book", {"table": 4})).text("Not booked."), FakeConfirmer(verdict))
    assert world.runs == []
    [output] = outputs(turn)
    assert output["error"] == "not confirmed: nothing was done" and output["reason"] == reason
    assert "booked" not in output
    assert [entry.outcome for entry in turn.trace] == ["declined"]


@pytest.mark.asyncio
async def test_calls_without_side_effects_in_the_same_round_do_not_wait_for_the_confirmation() -> None:
    world = World()
    answered = asyncio.Event()
    ran_before_answer: list[list[str]] = []

    async def member_thinks() -> None:
        await asyncio.sleep(0.05)
        ran_before_answer.append(list(world.runs))
        answered.set()

    api = ScriptedAPI().calls(("book", {"table": 4}), ("add", {"a": 1, "b": 2})).text("ok")
    await run(world, api, FakeConfirmer("confirmed", meanwhile=member_thinks))
    assert ran_before_answer == [["add"]]
    assert world.runs == ["add", "book"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"table": 99}, "invalid arguments"),
        ("{not json", "arguments are not valid JSON"),
        ({"table": 13}, "table 13 does not exist"),
    ],
    ids=["out of range", "not json", "preview refuses"],
)
async def test_a_call_that_would_fail_anyway_gets_its_error_without_asking_the_member(
    arguments: dict[str, int] | str, error: str
) -> None:
    world, confirmer = World(), FakeConfirmer("confirmed")
    turn = await run(world, ScriptedAPI().calls(("book", arguments)).text("no"), confirmer)
    assert confirmer.requests == [] and world.runs == []
    assert outputs(turn)[0]["error"] == error


@pytest.mark.asyncio
async def test_a_member_not_permitted_is_denied_without_being_asked() -> None:
    world, confirmer = World(policies={}), FakeConfirmer("confirmed")
    turn = await run(world, ScriptedAPI().calls(("book", {"table": 4})).text("no"), confirmer)
    assert confirmer.requests == [] and world.runs == []
    assert [entry.outcome for entry in turn.trace] == ["denied"]


@pytest.mark.asyncio
@pytest.mark.parametrize("change", ["revoke the role", "disable the tool", "remove the member's role"])
async def test_a_change_made_while_the_member_decides_denies_the_confirmed_call(change: str) -> None:
    world = World()

    async def admin_acts() -> None:
        if change == "revoke the role":
            world.policies["book"] = ToolPolicy(tool="book", allowed_role_ids=frozenset({"staff"}))
        elif change == "disable the tool":
            world.policies["book"] = ToolPolicy(tool="book", enabled=False, allowed_role_ids=frozenset({"diners"}))
        else:
            world.members[ANN.user_id] = Caller(user_id=ANN.user_id, name=ANN.name)

    turn = await run(world, ScriptedAPI().calls(("book", {"table": 4})).text("no"), FakeConfirmer(meanwhile=admin_acts))
    assert world.runs == []
    [output] = outputs(turn)
    assert output["error"] == "permission denied"
    assert [entry.outcome for entry in turn.trace] == ["denied"]


@pytest.mark.asyncio
async def test_every_call_is_authorized_on_the_members_current_roles_not_the_turns_snapshot() -> None:
    world = World()
    world.members[ANN.user_id] = Caller(user_id=ANN.user_id, name=ANN.name)  # lost "diners" after the message
    turn = await run(world, ScriptedAPI().calls(("book", {"table": 4})).text("no"), FakeConfirmer())
    assert world.runs == [] and [entry.outcome for entry in turn.trace] == ["denied"]


@pytest.mark.asyncio
async def test_admins_choose_per_tool_whether_calls_are_confirmed() -> None:
    world = World()
    world.policies["book"] = ToolPolicy(tool="book", allowed_role_ids=frozenset({"diners"}), confirm="never")
    world.policies["add"] = ToolPolicy(tool="add", confirm="always")
    confirmer = FakeConfirmer("declined")
    api = ScriptedAPI().calls(("book", {"table": 4}), ("add", {"a": 1, "b": 2})).text("ok")
    turn = await run(world, api, confirmer)
    assert [request.tool for request in confirmer.requests] == ["add"]
    assert confirmer.requests[0].summary == "Run add with a: 1, b: 2."
    assert world.runs == ["book"]
    assert [entry.outcome for entry in turn.trace] == ["ok", "declined"]


@pytest.mark.asyncio
async def test_calls_past_the_per_reply_limit_are_not_run_and_say_so() -> None:
    world = World()
    api = ScriptedAPI().calls(*[("add", {"a": n, "b": 0}) for n in range(5)]).text("ok")
    turn = await run(world, api, FakeConfirmer(), max_calls_per_round=3)
    assert world.runs == ["add"] * 3
    assert [entry.outcome for entry in turn.trace] == ["ok", "ok", "ok", "skipped", "skipped"]
    assert "at most 3 calls" in str(outputs(turn)[4]["detail"])


@pytest.mark.asyncio
async def test_unreadable_arguments_next_to_a_booking_fail_alone_and_the_turn_goes_on() -> None:
    world = World()
    huge_number = '{"a": ' + "9" * 5000 + ', "b": 1}'
    deep_nesting = '{"a": ' + "[" * 5000 + "]" * 5000 + ', "b": 1}'
    api = ScriptedAPI().calls(("add", huge_number), ("add", deep_nesting), ("book", {"table": 4})).text("Booked.")
    turn = await run(world, api, FakeConfirmer())
    assert turn.answer == "Booked." and turn.error is None
    assert world.runs == ["book"]
    assert [entry.outcome for entry in turn.trace] == ["invalid", "invalid", "ok"]
    first, second, booked = outputs(turn)
    assert first["error"] == second["error"] == "arguments are not valid JSON"
    assert booked == {"booked": 4}


@pytest.mark.asyncio
async def test_the_turn_is_checkpointed_before_its_calls_run_and_after() -> None:
    world = World()
    saved: list[list[str]] = []

    async def checkpoint(items: object) -> None:
        saved.append([type(item).__name__ for item in items])  # type: ignore[attr-defined]

    executor = ToolExecutor(
        registry=registry_for(world),
        caller=ANN,
        place=GUILD,
        policies=dict(world.policies),
        default_timeout=5,
        gate=Gate(policies=world, members=world),
        confirmer=FakeConfirmer(),
    )
    api = ScriptedAPI().calls(("book", {"table": 4})).text("Booked.")
    await run_loop(api=api, executor=executor, instructions="t", history=[], user_message=HELLO, checkpoint=checkpoint)
    assert saved == [["UserMessage", "ToolCall"], ["UserMessage", "ToolCall", "ToolOutput"]]


@pytest.mark.asyncio
async def test_a_round_of_read_only_calls_is_not_checkpointed() -> None:
    world = World()
    saved: list[object] = []

    async def checkpoint(items: object) -> None:
        saved.append(items)

    executor = ToolExecutor(
        registry=registry_for(world),
        caller=ANN,
        place=GUILD,
        policies=dict(world.policies),
        default_timeout=5,
        gate=Gate(policies=world, members=world),
        confirmer=FakeConfirmer(),
    )
    api = ScriptedAPI().calls(("add", {"a": 1, "b": 2})).text("3.")
    turn = await run_loop(
        api=api, executor=executor, instructions="t", history=[], user_message=HELLO, checkpoint=checkpoint
    )
    assert turn.answer == "3." and [entry.outcome for entry in turn.trace] == ["ok"]
    assert saved == []
