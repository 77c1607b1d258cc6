"""The facade's safety rails: confirmations audited, nothing booked by a turn that died, heavy members slowed down."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.concierge import ChatHooks, Concierge, ConciergeLimits, SlowDown
from bot.engine.confirm import ConfirmationOutcome, ConfirmationRequest
from bot.engine.items import ToolCall, ToolOutput
from bot.engine.permissions import Caller, Place
from bot.engine.tools import Registry, ToolContext, tool
from bot.prompt import SystemPrompt
from bot.store import Store
from tests.engine.scripted import ScriptedAPI

ANN = Caller(user_id="1", name="Ann")
PRESSER = Caller(user_id="1", name="Ann")
ADMIN = Caller(user_id="9", name="Root", is_admin=True)
THREAD = Place(channel_id="t1", guild_id="g1")
OTHER = Place(channel_id="t2", guild_id="g1")
DM = Place(channel_id="dm1")
RESERVED: list[int] = []


@tool(side_effects=True)
async def reserve(context: ToolContext, seats: int) -> dict[str, int]:
    """Reserve seats (a side effect)."""
    RESERVED.append(seats)
    return {"reserved": seats}


@tool()
async def echo(context: ToolContext, text: str) -> dict[str, str]:
    """Echo text back."""
    return {"echo": text}


class AnswerWith:
    """A confirmer that answers every request with one verdict, pressed by Ann."""

    def __init__(self, verdict: str) -> None:
        self.verdict = verdict

    async def confirm(self, request: ConfirmationRequest) -> ConfirmationOutcome:
        return ConfirmationOutcome(self.verdict, by_id=PRESSER.user_id, by_name=PRESSER.name)  # type: ignore[arg-type]


class NeverAnswers:
    """A confirmer whose member never presses anything; `asked` is set once the question is posted."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()

    async def confirm(self, request: ConfirmationRequest) -> ConfirmationOutcome:
        self.asked.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    RESERVED.clear()
    opened = await Store.open(tmp_path / "concierge.db")
    yield opened
    await opened.close()


def concierge_with(api: ScriptedAPI, store: Store, **limits: int) -> Concierge:
    return Concierge(
        api=api,
        registry=Registry([echo, reserve]),
        history=store.history,
        policies=store.policies,
        audit=store.audit,
        conversations=store.conversations,
        prompt=SystemPrompt("test"),
        services={},
        limits=ConciergeLimits(**limits),
    )


@pytest.mark.asyncio
async def test_each_confirmation_request_and_its_outcome_is_audited_with_who_pressed(store: Store) -> None:
    api = ScriptedAPI().calls(("reserve", {"seats": 2})).text("Reserved.")
    concierge = concierge_with(api, store)
    reply = await concierge.chat(THREAD, ANN, "reserve 2", hooks=ChatHooks(AnswerWith("confirmed")))
    assert reply.text == "Reserved." and RESERVED == [2]
    entries = await concierge.audit(THREAD, ADMIN, tool="reserve")
    assert [(entry.kind, entry.outcome, entry.user_name) for entry in reversed(entries)] == [
        ("confirmation", "requested", "Ann"),
        ("confirmation", "confirmed", "Ann"),
        ("tool_call", "ok", "Ann"),
    ]
    assert entries[-1].summary == "Run reserve with seats: 2."


@pytest.mark.asyncio
async def test_without_a_way_to_ask_a_side_effect_is_not_done(store: Store) -> None:
    api = ScriptedAPI().calls(("reserve", {"seats": 2})).text("I could not reserve.")
    await concierge_with(api, store).chat(THREAD, ANN, "reserve 2")
    assert RESERVED == []
    [output] = [item for item in api.requests[1].items if isinstance(item, ToolOutput)]
    assert json.loads(output.output)["error"] == "not confirmed: nothing was done"


@pytest.mark.asyncio
async def test_a_turn_that_dies_while_a_confirmation_is_pending_books_nothing_and_reads_as_interrupted(
    store: Store, tmp_path: Path
) -> None:
    api = ScriptedAPI().calls(("reserve", {"seats": 2}))
    member = NeverAnswers()
    turn = asyncio.create_task(concierge_with(api, store).chat(THREAD, ANN, "reserve 2", hooks=ChatHooks(member)))
    await asyncio.wait_for(member.asked.wait(), timeout=5)
    turn.cancel()  # what the database sees of a kill -9: only what was committed
    with pytest.raises(asyncio.CancelledError):
        await turn

    restarted = await Store.open(tmp_path / "concierge.db")
    try:
        window = await restarted.history.load_window("t1", max_turns=20, max_tokens=6000)
    finally:
        await restarted.close()
    assert RESERVED == []
    assert [type(item).__name__ for item in window] == ["UserMessage", "ToolCall", "ToolOutput"]
    call, output = window[1], window[2]
    assert isinstance(call, ToolCall) and isinstance(output, ToolOutput)
    assert call.name == "reserve" and "interrupted" in output.output


@pytest.mark.asyncio
async def test_a_member_over_the_turn_rate_is_told_once_across_channels_and_no_model_call_is_made(
    store: Store,
) -> None:
    api = ScriptedAPI().text("1").text("2").text("3")
    concierge = concierge_with(api, store, member_turns_per_minute=3)
    for place in (THREAD, OTHER, DM):
        await concierge.chat(place, ANN, "hi")
    with pytest.raises(SlowDown) as first:
        await concierge.chat(OTHER, ANN, "one more")
    with pytest.raises(SlowDown) as second:
        await concierge.chat(DM, ANN, "and another")
    assert first.value.first and not second.value.first
    assert first.value.params["seconds"] == first.value.retry_after and 1 <= first.value.retry_after <= 60
    assert len(api.requests) == 3


@pytest.mark.asyncio
async def test_admins_are_not_exempt_from_the_turn_rate(store: Store) -> None:
    api = ScriptedAPI().text("1").text("2")
    concierge = concierge_with(api, store, member_turns_per_minute=2)
    await concierge.chat(THREAD, ADMIN, "one")
    await concierge.chat(DM, ADMIN, "two")
    with pytest.raises(SlowDown):
        await concierge.chat(OTHER, ADMIN, "three")
    assert len(api.requests) == 2


@pytest.mark.asyncio
async def test_admins_choose_confirmation_per_tool_and_it_is_shown_and_audited(store: Store) -> None:
    concierge = concierge_with(ScriptedAPI(), store)
    statuses = {status.name: status.confirm for status in await concierge.tools_for(THREAD, ANN)}
    assert statuses == {"echo": False, "reserve": True}
    await concierge.set_confirm(THREAD, ADMIN, "reserve", "never")
    await concierge.set_confirm(THREAD, ADMIN, "echo", "always")
    statuses = {status.name: status.confirm for status in await concierge.tools_for(THREAD, ANN)}
    assert statuses == {"echo": True, "reserve": False}
    entries = await concierge.audit(THREAD, ADMIN)
    assert [(entry.kind, entry.tool, entry.outcome) for entry in entries] == [
        ("policy", "echo", "changed"),
        ("policy", "reserve", "changed"),
    ]


@pytest.mark.asyncio
async def test_a_tool_set_to_never_runs_without_asking(store: Store) -> None:
    concierge = concierge_with(ScriptedAPI().calls(("reserve", {"seats": 3})).text("Done."), store)
    await concierge.set_confirm(THREAD, ADMIN, "reserve", "never")
    await concierge.chat(THREAD, ANN, "reserve 3")
    assert RESERVED == [3]


@pytest.mark.asyncio
async def test_an_expired_press_is_audited(store: Store) -> None:
    concierge = concierge_with(ScriptedAPI(), store)
    await concierge.record_expired_press(THREAD, Caller(user_id="5", name="Bo"), tool="reserve")
    [entry] = await concierge.audit(THREAD, ADMIN)
    assert (entry.kind, entry.tool, entry.outcome, entry.user_name) == ("confirmation", "reserve", "expired", "Bo")
