"""A live turn: the progress message for tool calls, the answer streaming in, and the final reply in place."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.concierge import Reply, TraceEntry
from bot.discord_adapter.live import LiveReply
from bot.discord_adapter.render import render_reply, split_message
from bot.engine.items import ToolCall
from tests.discord_adapter.fakes import FakeClock, LiveChannel, settle_tasks

ASKER = 7


def call(call_id: str, name: str, arguments: str) -> ToolCall:
    return ToolCall(call_id=call_id, name=name, arguments=arguments)


def ended(tool_call: ToolCall, outcome: str, ms: float) -> TraceEntry:
    return TraceEntry(tool_call.call_id, tool_call.name, tool_call.arguments, outcome, ms, "")  # type: ignore[arg-type]


def live_turn(*, language: str = "en") -> tuple[LiveReply, LiveChannel, FakeClock]:
    clock = FakeClock()
    channel = LiveChannel(clock)
    turn = LiveReply(first=channel.send, asker_id=ASKER, language=language, clock=clock)  # type: ignore[arg-type]
    return turn, channel, clock


async def deliver(turn: LiveReply, clock: FakeClock, reply: Reply, *, language: str = "en") -> None:
    delivering = asyncio.create_task(turn.deliver(render_reply(reply, language=language)))  # type: ignore[arg-type]
    while not delivering.done():
        await clock.advance(0.5)
    await delivering


WEATHER = call("a", "get_weather", '{"city": "北京"}')
SEARCH = call("b", "search_web", '{"query": "museums"}')
BOOK = call("c", "book_restaurant", '{"restaurant": "Lotus", "party_size": 4}')


@pytest.mark.asyncio
async def test_the_progress_message_appears_at_once_and_follows_parallel_calls_to_their_ends() -> None:
    turn, channel, clock = live_turn()

    for tool_call in (WEATHER, SEARCH, BOOK):
        turn.tool_started(tool_call)
    await settle_tasks()
    assert [(request.at, request.action) for request in channel.requests] == [(0.0, "send")]

    turn.tool_finished(ended(WEATHER, "ok", 420))
    turn.tool_waiting(BOOK)
    await clock.advance(1.0)
    assert channel.shown()[0][0] == (
        "-# Working on it…\n"
        "✓ get_weather city=北京 · 0.4 s\n"
        "⏳ search_web query=museums · running\n"
        "🔔 book_restaurant restaurant=Lotus party_size=4 · waiting for your confirmation"
    )

    turn.tool_finished(ended(SEARCH, "timeout", 15000))
    turn.tool_finished(ended(BOOK, "error", 900))
    await clock.advance(1.0)
    assert channel.shown()[0][0] == (
        "-# Working on it…\n"
        "✓ get_weather city=北京 · 0.4 s\n"
        "⏱ search_web query=museums · timed out · 15.0 s\n"
        "✗ book_restaurant restaurant=Lotus party_size=4 · failed · 0.9 s"
    )
    assert len(channel.messages) == 1


@pytest.mark.asyncio
async def test_the_progress_message_becomes_the_trace_and_the_answer_follows_it() -> None:
    turn, channel, clock = live_turn()
    turn.tool_started(WEATHER)
    turn.tool_finished(ended(WEATHER, "ok", 420))

    await deliver(turn, clock, Reply(text="Sunny in Beijing.", trace=(ended(WEATHER, "ok", 420),)))

    [(progress, trace), (answer, answer_embed)] = channel.shown()
    assert progress is None and trace is not None
    assert (trace.title, trace.description) == ("Tools used", "✓ get_weather city=北京 · 0.4 s")
    assert (answer, answer_embed) == ("Sunny in Beijing.", None)


@pytest.mark.asyncio
async def test_a_turn_without_tools_shows_no_progress_message() -> None:
    turn, channel, clock = live_turn()
    await deliver(turn, clock, Reply(text="Hello!"))
    assert channel.shown() == [("Hello!", None)]


@pytest.mark.asyncio
async def test_a_streamed_answer_continues_past_2000_characters_and_ends_exactly_as_written() -> None:
    turn, channel, clock = live_turn()
    code = "```python\n" + "".join(f"value_{n} = {n} * 2\n" for n in range(120)) + "```\n"
    answer = "Here is the script you asked for.\n\n" + code + "\nIt doubles every number. " * 40

    for start in range(0, len(answer), 40):  # a fast writer: 40 characters every 0.1 s
        turn.answer_delta(answer[start : start + 40])
        await clock.advance(0.1)
    intermediate = [request.content or "" for request in channel.requests]
    await deliver(turn, clock, Reply(text=answer))

    assert [content for content, _ in channel.shown()] == split_message(answer)
    assert len(channel.messages) == len(split_message(answer)) >= 2  # nothing was sent twice
    assert all(len(text) <= 2000 and text.count("```") % 2 == 0 for text in intermediate)
    sends = [request for request in channel.requests if request.action == "send"]
    assert sends[0].at == 0.0


@pytest.mark.asyncio
async def test_per_message_edits_stay_at_one_a_second_while_streaming() -> None:
    turn, channel, clock = live_turn()
    for _ in range(60):
        turn.answer_delta("word ")
        await clock.advance(0.1)
    await deliver(turn, clock, Reply(text="word " * 60))

    times = [request.at for request in channel.requests]
    assert all(later - earlier >= 1.0 - 1e-9 for earlier, later in itertools.pairwise(times))
    assert channel.shown() == [(("word " * 60).strip(), None)]


@pytest.mark.asyncio
async def test_text_written_before_tool_calls_gives_way_to_the_progress_and_the_answer_comes_after() -> None:
    turn, channel, clock = live_turn()
    turn.answer_delta("Let me check the weather.")
    await clock.advance(0.2)
    turn.answer_discarded()
    turn.tool_started(WEATHER)
    turn.tool_finished(ended(WEATHER, "ok", 420))
    await clock.advance(1.0)
    turn.answer_delta("Sunny in Beijing.")

    await deliver(turn, clock, Reply(text="Sunny in Beijing.", trace=(ended(WEATHER, "ok", 420),)))

    [(progress, trace), (answer, _)] = channel.shown()
    assert progress is None and trace is not None and trace.description == "✓ get_weather city=北京 · 0.4 s"
    assert answer == "Sunny in Beijing."
    assert all("Let me check" not in (content or "") for content, _ in channel.shown())


@pytest.mark.asyncio
async def test_a_shorter_final_answer_deletes_the_extra_streamed_message() -> None:
    turn, channel, clock = live_turn()
    turn.answer_delta("x " * 1500)
    await clock.advance(0.5)
    await deliver(turn, clock, Reply(text="Short after all."))
    assert channel.shown() == [("Short after all.", None)]


@pytest.mark.asyncio
async def test_progress_and_trace_read_in_simplified_chinese_for_a_zh_cn_member() -> None:
    turn, channel, clock = live_turn(language="zh-CN")
    turn.tool_started(WEATHER)
    turn.tool_started(SEARCH)
    turn.tool_finished(ended(SEARCH, "timeout", 15000))
    await clock.advance(1.0)
    assert channel.shown()[0][0] == (
        "-# 正在处理……\n⏳ get_weather city=北京 · 进行中\n⏱ search_web query=museums · 超时 · 15.0 秒"
    )

    trace = (ended(WEATHER, "ok", 420), ended(SEARCH, "timeout", 15000))
    await deliver(turn, clock, Reply(text="北京晴。", trace=trace), language="zh-CN")

    [(_, embed), (answer, _)] = channel.shown()
    assert embed is not None
    assert (embed.title, embed.description) == (
        "使用的工具",
        "✓ get_weather city=北京 · 0.4 秒\n⏱ search_web query=museums · 超时 · 15.0 秒",
    )
    assert answer == "北京晴。"
