"""The facade: turns per channel in order, history across turns, admin settings, audit and clearing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import pytest_asyncio

from bot.concierge import ChannelBusy, Concierge, ConciergeLimits, NotAllowed, Reply, ShuttingDown, UnknownTool
from bot.engine.api import ModelReply, ToolChoice, ToolSpec
from bot.engine.errors import ModelUnavailable, ToolChoiceRefused
from bot.engine.items import AssistantMessage, Item, UserMessage
from bot.engine.permissions import Caller, Place
from bot.engine.tools import Registry, ToolContext, tool
from bot.prompt import SystemPrompt
from bot.store import Store
from tests.engine.scripted import ScriptedAPI

ANN = Caller(user_id="1", name="Ann", role_ids=frozenset({"diners"}))
BOB = Caller(user_id="2", name="Bob")
ADMIN = Caller(user_id="9", name="Root", is_admin=True)
THREAD = Place(channel_id="t1", guild_id="g1", guild_name="Food Club", channel_name="dinner")
OTHER = Place(channel_id="t2", guild_id="g1")
DM = Place(channel_id="dm1")


@tool()
async def echo(context: ToolContext, text: str) -> dict[str, str]:
    """Echo text back."""
    return {"echo": text, "for": context.caller.name}


@tool(restricted=True, side_effects=True)
async def reserve(context: ToolContext, seats: int) -> dict[str, int]:
    """Reserve seats (restricted)."""
    return {"reserved": seats}


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "concierge.db")
    yield opened
    await opened.close()


def concierge_with(api: object, store: Store, **limits: int) -> Concierge:
    return Concierge(
        api=api,  # type: ignore[arg-type]
        registry=Registry([echo, reserve]),
        history=store.history,
        policies=store.policies,
        audit=store.audit,
        conversations=store.conversations,
        prompt=SystemPrompt("Server $server, channel $channel, date $today."),
        services={},
        limits=ConciergeLimits(**limits),
    )


@pytest.mark.asyncio
async def test_a_conversation_continues_with_its_channel_history(store: Store) -> None:
    api = ScriptedAPI().calls(("echo", {"text": "hi"})).text("First answer").text("Second answer")
    concierge = concierge_with(api, store)
    first = await concierge.chat(THREAD, ANN, "hello")
    second = await concierge.chat(THREAD, BOB, "and me?")
    assert (first.text, second.text) == ("First answer", "Second answer")
    assert [entry.tool for entry in first.trace] == ["echo"]
    sent = api.requests[-1].items
    assert sent[0] == UserMessage(text="hello", author_id="1", author_name="Ann")
    assert sent[-1] == UserMessage(text="and me?", author_id="2", author_name="Bob")
    assert AssistantMessage(text="First answer") in sent
    assert "Food Club" in api.requests[0].instructions and "dinner" in api.requests[0].instructions


@pytest.mark.asyncio
async def test_history_is_per_channel(store: Store) -> None:
    api = ScriptedAPI().text("one").text("two")
    concierge = concierge_with(api, store)
    await concierge.chat(THREAD, ANN, "in thread")
    await concierge.chat(OTHER, ANN, "elsewhere")
    assert [type(item) for item in api.requests[1].items] == [UserMessage]


class GatedAPI:
    """Answers only when released, recording the order requests arrived in."""

    def __init__(self) -> None:
        self.arrived: list[str] = []
        self.release = asyncio.Event()
        self._changed = asyncio.Condition()

    async def arrivals(self, count: int) -> None:
        """Wait until `count` requests have arrived."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.arrived) >= count)

    async def respond(
        self,
        *,
        instructions: str,
        items: Sequence[Item],
        tools: Sequence[ToolSpec],
        tool_choice: ToolChoice,
        **_: object,
    ) -> ModelReply:
        last = items[-1]
        assert isinstance(last, UserMessage)
        async with self._changed:
            self.arrived.append(last.text)
            self._changed.notify_all()
        await self.release.wait()
        return ModelReply(text=f"re: {last.text}")


@pytest.mark.asyncio
async def test_messages_in_one_channel_are_answered_one_at_a_time_in_order(store: Store) -> None:
    api = GatedAPI()
    concierge = concierge_with(api, store)
    tasks = [asyncio.create_task(concierge.chat(THREAD, ANN, f"m{n}")) for n in range(4)]
    await api.arrivals(1)
    for _ in range(20):
        await asyncio.sleep(0)
    assert api.arrived == ["m0"]  # the others wait for their turn
    api.release.set()
    replies = await asyncio.gather(*tasks)
    assert api.arrived == ["m0", "m1", "m2", "m3"]
    assert [reply.text for reply in replies] == ["re: m0", "re: m1", "re: m2", "re: m3"]


@pytest.mark.asyncio
async def test_different_channels_run_concurrently(store: Store) -> None:
    api = GatedAPI()
    concierge = concierge_with(api, store)
    tasks = [asyncio.create_task(concierge.chat(place, ANN, place.channel_id)) for place in (THREAD, OTHER)]
    await asyncio.wait_for(api.arrivals(2), timeout=5)
    api.release.set()
    await asyncio.gather(*tasks)
    assert sorted(api.arrived) == ["t1", "t2"]


@pytest.mark.asyncio
async def test_a_full_channel_queue_tells_the_member_to_wait(store: Store) -> None:
    api = GatedAPI()
    concierge = concierge_with(api, store, max_waiting_per_channel=2)
    tasks = [asyncio.create_task(concierge.chat(THREAD, ANN, f"m{n}")) for n in range(3)]
    await api.arrivals(1)
    with pytest.raises(ChannelBusy) as busy:
        await concierge.chat(THREAD, ANN, "one too many")
    assert busy.value.key == "error.channel_busy"
    api.release.set()
    assert len(await asyncio.gather(*tasks)) == 3


@pytest.mark.asyncio
async def test_a_model_outage_reads_as_one_polite_failure_and_saves_nothing(store: Store) -> None:
    api = ScriptedAPI().error(ModelUnavailable("connect timeout")).text("back")
    concierge = concierge_with(api, store)
    reply = await concierge.chat(THREAD, ANN, "hello?")
    assert reply.failed and isinstance(reply.error, ModelUnavailable) and reply.text == ""
    await concierge.chat(THREAD, ANN, "hello again")
    assert [getattr(item, "text", None) for item in api.requests[-1].items] == ["hello again"]


@pytest.mark.asyncio
async def test_policy_changes_take_effect_on_the_next_message_and_are_audited(store: Store) -> None:
    api = ScriptedAPI().text("a").text("b").text("c")
    concierge = concierge_with(api, store)
    await concierge.chat(THREAD, ANN, "1")
    assert api.requests[-1].tools == ("echo",)
    await concierge.allow_role(THREAD, ADMIN, "reserve", "diners", "Diners")
    await concierge.chat(THREAD, ANN, "2")
    assert api.requests[-1].tools == ("echo", "reserve")
    await concierge.set_enabled(THREAD, ADMIN, "echo", False)
    await concierge.chat(THREAD, ANN, "3")
    assert api.requests[-1].tools == ("reserve",)
    entries = await concierge.audit(THREAD, ADMIN)
    assert [entry.kind for entry in entries] == ["policy", "policy"]
    assert entries[0].user_name == "Root"


@pytest.mark.asyncio
async def test_tool_calls_are_written_to_the_audit_log(store: Store) -> None:
    api = ScriptedAPI().calls(("echo", {"text": "x"}), ("reserve", {"seats": 2})).text("done")
    concierge = concierge_with(api, store)
    await concierge.chat(THREAD, ANN, "go")
    entries = await concierge.audit(THREAD, ADMIN, tool="reserve")
    assert [(entry.tool, entry.outcome, entry.user_id) for entry in entries] == [("reserve", "denied", "1")]


@pytest.mark.asyncio
async def test_admin_commands_refuse_members_and_unknown_tools(store: Store) -> None:
    concierge = concierge_with(ScriptedAPI(), store)
    with pytest.raises(NotAllowed):
        await concierge.set_enabled(THREAD, ANN, "echo", False)
    with pytest.raises(NotAllowed):
        await concierge.audit(THREAD, ANN)
    with pytest.raises(NotAllowed):
        await concierge.allow_role(DM, ADMIN, "echo", "r", "R")
    with pytest.raises(UnknownTool) as unknown:
        await concierge.set_enabled(THREAD, ADMIN, "teleport", True)
    assert {"echo", "reserve"} <= set(unknown.value.params["tools"])  # type: ignore[call-overload]
    assert (await store.policies.policies_for("g1")) == {}


@pytest.mark.asyncio
async def test_forcing_a_restricted_tool_is_refused_without_a_model_call(store: Store) -> None:
    api = ScriptedAPI()
    concierge = concierge_with(api, store)
    with pytest.raises(ToolChoiceRefused):
        await concierge.check_tool_choice(THREAD, ANN, "reserve")
    with pytest.raises(ToolChoiceRefused):
        await concierge.chat(THREAD, ANN, "book it", tool_choice="reserve")
    with pytest.raises(UnknownTool):
        await concierge.check_tool_choice(THREAD, ANN, "nope")
    await concierge.check_tool_choice(THREAD, ADMIN, "reserve")
    assert api.requests == []


@pytest.mark.asyncio
async def test_tools_list_shows_what_each_member_may_use(store: Store) -> None:
    concierge = concierge_with(ScriptedAPI(), store)
    statuses = {status.name: status for status in await concierge.tools_for(THREAD, ANN)}
    assert statuses["echo"].usable and not statuses["reserve"].usable
    assert statuses["reserve"].restricted and "admins" in (statuses["reserve"].reason or "")
    assert await concierge.usable_tools(THREAD, ADMIN) == ["echo", "reserve"]
    assert await concierge.usable_tools(DM, ADMIN) == ["echo"]


@pytest.mark.asyncio
async def test_history_is_cleared_by_the_conversation_starter_or_an_admin_only(store: Store) -> None:
    api = ScriptedAPI().text("a").text("b")
    concierge = concierge_with(api, store)
    await concierge.start_conversation(thread=THREAD, starter=ANN)
    assert await concierge.is_conversation("t1") and not await concierge.is_conversation("t2")
    await concierge.chat(THREAD, ANN, "remember this")
    with pytest.raises(NotAllowed):
        await concierge.clear_history(THREAD, BOB)
    assert await concierge.clear_history(THREAD, ANN) == 2
    await concierge.chat(THREAD, ANN, "fresh")
    assert len(api.requests[-1].items) == 1


@pytest.mark.asyncio
async def test_shutdown_lets_a_running_turn_finish_and_refuses_new_ones(store: Store) -> None:
    api = GatedAPI()
    concierge = concierge_with(api, store)
    running = asyncio.create_task(concierge.chat(THREAD, ANN, "last one"))
    await api.arrivals(1)
    stopping = asyncio.create_task(concierge.shutdown(grace_seconds=5))
    await asyncio.sleep(0)
    api.release.set()
    await stopping
    assert (await running).text == "re: last one"
    with pytest.raises(ShuttingDown):
        await concierge.chat(THREAD, ANN, "too late")


@pytest.mark.asyncio
async def test_messages_still_waiting_when_shutdown_starts_are_refused_not_run(store: Store) -> None:
    api = GatedAPI()
    concierge = concierge_with(api, store)
    tasks = [asyncio.create_task(concierge.chat(THREAD, ANN, f"m{n}")) for n in range(3)]
    await api.arrivals(1)
    stopping = asyncio.create_task(concierge.shutdown(grace_seconds=5))
    await asyncio.sleep(0)
    api.release.set()
    await stopping
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[0], Reply) and results[0].text == "re: m0"
    assert all(isinstance(result, ShuttingDown) for result in results[1:])
    assert api.arrived == ["m0"]
