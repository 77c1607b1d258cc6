"""The edit throttle on a fake clock: one request a second at most, the latest text always, failures survived."""

from __future__ import annotations

import asyncio
import itertools

import discord
import pytest

from bot.discord_adapter.throttle import LiveMessage
from tests.discord_adapter.fakes import FakeClock, LiveChannel, http_error, settle_tasks

ASKER = 7


async def finish(live: LiveMessage, clock: FakeClock, *, limit: float = 120.0) -> None:
    """Advance the clock until `live` has shown its last look."""
    waiting = asyncio.create_task(live.settle())
    while not waiting.done() and limit > 0:
        await clock.advance(0.5)
        limit -= 0.5
    assert waiting.done(), "the message never settled"


@pytest.mark.asyncio
async def test_text_changing_ten_times_a_second_is_edited_at_most_once_a_second_and_ends_on_the_last_text() -> None:
    clock = FakeClock()
    channel = LiveChannel(clock)
    live = LiveMessage(channel.send, asker_id=ASKER, clock=clock)

    text = ""
    for word in range(50):  # five seconds of a fast writer
        text += f"word{word} "
        live.show(text)
        await clock.advance(0.1)
    await finish(live, clock)

    times = [request.at for request in channel.requests]
    assert all(later - earlier >= 1.0 - 1e-9 for earlier, later in itertools.pairwise(times))
    assert len(channel.requests) <= 7
    assert channel.requests[0].action == "send" and channel.requests[0].at == 0.0
    assert channel.shown() == [(text, None)]


@pytest.mark.asyncio
async def test_texts_superseded_while_waiting_are_never_sent() -> None:
    clock = FakeClock()
    channel = LiveChannel(clock)
    live = LiveMessage(channel.send, asker_id=ASKER, clock=clock)

    live.show("one")
    await settle_tasks()
    live.show("two")
    live.show("three")
    await finish(live, clock)

    assert [request.content for request in channel.requests] == ["one", "three"]


@pytest.mark.asyncio
async def test_messages_ping_only_the_asker() -> None:
    clock = FakeClock()
    channel = LiveChannel(clock)
    live = LiveMessage(channel.send, asker_id=ASKER, clock=clock)
    live.show("@everyone hi")
    await finish(live, clock)
    assert channel.messages[0].options["allowed_mentions"].to_dict() == {
        "users": [ASKER],
        "replied_user": True,
        "parse": [],
    }


@pytest.mark.asyncio
async def test_a_429_waits_and_then_sends_the_latest_text() -> None:
    clock = FakeClock()
    channel = LiveChannel(clock)
    live = LiveMessage(channel.send, asker_id=ASKER, clock=clock)
    live.show("first")
    await settle_tasks()
    channel.messages[0].edit_errors.append(http_error(0, status=429))  # Retry-After: 2

    live.show("second")
    await clock.advance(1.5)
    live.show("third")
    await finish(live, clock)

    edits = [(request.at, request.content) for request in channel.requests if request.action == "edit"]
    assert edits[0] == (pytest.approx(1.0), "second")
    assert edits[1][0] >= 3.0 and edits[1][1] == "third"
    assert channel.shown() == [("third", None)]


@pytest.mark.asyncio
async def test_discord_py_rate_limited_is_waited_out_too() -> None:
    clock = FakeClock()
    channel = LiveChannel(clock)
    live = LiveMessage(channel.send, asker_id=ASKER, clock=clock)
    live.show("first")
    await settle_tasks()
    channel.messages[0].edit_errors.append(discord.RateLimited(5.0))

    live.show("second")
    await finish(live, clock)

    edits = [request.at for request in channel.requests if request.action == "edit"]
    assert edits[1] - edits[0] >= 5.0
    assert channel.shown() == [("second", None)]


@pytest.mark.asyncio
async def test_a_deleted_message_is_sent_again_so_the_text_is_not_lost() -> None:
    clock = FakeClock()
    channel = LiveChannel(clock)
    live = LiveMessage(channel.send, asker_id=ASKER, clock=clock)
    live.show("the answer so far")
    await settle_tasks()
    channel.messages[0].deleted = True  # a moderator removed it

    live.show("the whole answer")
    await finish(live, clock)

    assert channel.shown() == [("the whole answer", None)]
    assert live.error is None


@pytest.mark.asyncio
async def test_a_message_that_can_never_be_sent_is_given_up_with_the_error() -> None:
    clock = FakeClock()
    channel = LiveChannel(clock)
    channel.send_errors.append(http_error(50013, status=403))
    live = LiveMessage(channel.send, asker_id=ASKER, clock=clock)

    live.show("hello")
    await finish(live, clock)

    assert isinstance(live.error, discord.Forbidden)
    assert [request.action for request in channel.requests] == ["send"]


@pytest.mark.asyncio
async def test_a_message_waits_for_the_one_before_it_so_they_appear_in_order() -> None:
    clock = FakeClock()
    channel = LiveChannel(clock)
    channel.send_errors.append(http_error(0, status=500))
    first = LiveMessage(channel.send, asker_id=ASKER, clock=clock)
    second = LiveMessage(channel.send, asker_id=ASKER, clock=clock, after=first)

    first.show("one")
    second.show("two")
    await finish(second, clock)

    assert [content for content, _ in channel.shown()] == ["one", "two"]
