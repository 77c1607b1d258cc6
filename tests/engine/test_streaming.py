"""Streaming, usage, reasoning replay and the prompt cache key, through the real openai client over HTTP."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio

from bot.engine.api import ModelAPI, Usage
from bot.engine.api.chat import ChatAPI
from bot.engine.api.responses import ResponsesAPI
from bot.engine.executor import ToolExecutor, TraceEntry
from bot.engine.items import Item, Reasoning, ToolCall, ToolOutput, UserMessage
from bot.engine.loop import LoopResult, run_loop
from bot.engine.permissions import Caller, Place
from bot.engine.tools import Registry, ToolContext, tool
from tests.engine.sample_specs import ADD, WEATHER
from tests.fake_openai import FakeOpenAI

LONG_ANSWER = "The weather in Oslo is mild today, 12 °C with light rain in the afternoon. 北京晴。"
APIS = ["responses", "chat"]


@dataclass
class Listener:
    """A Progress that records what a member would see."""

    deltas: list[str] = field(default_factory=list)
    discarded: int = 0
    finished: list[str] = field(default_factory=list)

    def tool_started(self, call: ToolCall) -> None:
        pass

    def tool_waiting(self, call: ToolCall) -> None:
        pass

    def tool_finished(self, entry: TraceEntry) -> None:
        self.finished.append(entry.tool)

    def answer_delta(self, text: str) -> None:
        self.deltas.append(text)

    def answer_discarded(self) -> None:
        self.discarded += 1
        self.deltas.clear()


@tool()
async def add(context: ToolContext, a: int, b: int) -> dict[str, int]:
    """Add two integers."""
    return {"sum": a + b}


@tool()
async def echo(context: ToolContext, text: str) -> dict[str, str]:
    """Echo text back."""
    return {"echo": text}


def adapter(kind: str, server: FakeOpenAI, client: object, **options: object) -> ModelAPI:
    cls = ChatAPI if kind == "chat" else ResponsesAPI
    return cls(client, model="test-model", stream=True, **options)  # type: ignore[arg-type]


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(stream_piece=3) as server:
        yield server


async def turn(
    api: ModelAPI, listener: Listener, *, history: list[Item] | None = None, **options: object
) -> LoopResult:
    executor = ToolExecutor(
        registry=Registry([add, echo]),
        caller=Caller(user_id="1", name="Ann"),
        place=Place(channel_id="c"),
        policies={},
        default_timeout=5,
        progress=listener,
    )
    return await run_loop(
        api=api,
        executor=executor,
        instructions="test",
        history=history or [],
        user_message=UserMessage(text="go"),
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", APIS)
async def test_the_answer_streams_in_pieces_and_ends_identical_to_what_the_model_wrote(
    kind: str, fake: FakeOpenAI
) -> None:
    async with fake.client() as client:
        listener = Listener()
        fake.reply_text(LONG_ANSWER)
        reply = await adapter(kind, fake, client).respond(
            instructions="t", items=[UserMessage(text="hi")], tools=[], tool_choice="auto", progress=listener
        )
    assert len(listener.deltas) > 10
    assert "".join(listener.deltas) == reply.text == LONG_ANSWER
    assert fake.requests[0].json["stream"] is True


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", APIS)
async def test_parallel_calls_are_assembled_from_pieces_in_order(kind: str, fake: FakeOpenAI) -> None:
    arguments = ['{"a": 1234, "b": 5678}', '{"city": "北京", "unit": "celsius"}', "{not json"]
    async with fake.client() as client:
        fake.reply_calls(("add", arguments[0]), ("weather", arguments[1]), ("add", arguments[2]))
        reply = await adapter(kind, fake, client).respond(
            instructions="t",
            items=[UserMessage(text="hi")],
            tools=[ADD, WEATHER],
            tool_choice="auto",
            progress=Listener(),
        )
    assert [(call.name, call.arguments) for call in reply.calls] == list(
        zip(["add", "weather", "add"], arguments, strict=True)
    )
    assert len({call.call_id for call in reply.calls}) == 3


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", APIS)
async def test_usage_is_read_from_the_stream(kind: str) -> None:
    async with FakeOpenAI(cached_tokens=4) as server, server.client() as client:
        server.reply_text("ok")
        reply = await adapter(kind, server, client).respond(
            instructions="t", items=[UserMessage(text="hi")], tools=[], tool_choice="auto", progress=Listener()
        )
    assert reply.usage == Usage(input_tokens=10, output_tokens=5, cached_input_tokens=4)
    if kind == "chat":
        assert server.requests[0].json["stream_options"] == {"include_usage": True}


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", APIS)
async def test_a_turn_over_a_stream_runs_tools_and_records_each_requests_usage(kind: str, fake: FakeOpenAI) -> None:
    recorded: list[Usage] = []

    async def record(usage: Usage) -> None:
        recorded.append(usage)

    async with fake.client() as client:
        fake.reply_calls(("add", {"a": 2, "b": 3}), text="Let me add that.")
        fake.reply_text("2 + 3 = 5")
        listener = Listener()
        result = await turn(adapter(kind, fake, client), listener, record_usage=record)
    assert result.answer == "2 + 3 = 5" and "".join(listener.deltas) == "2 + 3 = 5"
    assert listener.discarded == 1  # "Let me add that." was not the answer
    assert listener.finished == ["add"]
    assert [json.loads(item.output) for item in result.items if isinstance(item, ToolOutput)] == [{"sum": 5}]
    assert len(recorded) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", APIS)
async def test_a_server_that_sends_no_usage_gets_an_estimate_marked_as_such(kind: str) -> None:
    recorded: list[Usage] = []

    async def record(usage: Usage) -> None:
        recorded.append(usage)

    async with FakeOpenAI(report_usage=False) as server, server.client() as client:
        server.reply_text("A fairly short answer.")
        await turn(adapter(kind, server, client), Listener(), record_usage=record)
    [usage] = recorded
    assert usage.estimated and usage.input_tokens > 0 and usage.output_tokens == 6


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", APIS)
@pytest.mark.parametrize("failure", ["refused", "broken midway"])
async def test_a_server_that_fails_streaming_falls_back_to_plain_once_for_the_process(
    kind: str, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    options = {"no_streaming": True} if failure == "refused" else {"break_stream_after": 4}
    async with FakeOpenAI(**options) as server, server.client() as client:  # type: ignore[arg-type]
        api = adapter(kind, server, client)
        listener = Listener()
        server.reply_text(LONG_ANSWER)
        if failure == "broken midway":
            server.reply_text(LONG_ANSWER)  # the broken stream used up the first reply
        server.reply_text("second")
        with caplog.at_level(logging.WARNING, logger="bot.engine.api.streaming"):
            first = await api.respond(
                instructions="t", items=[UserMessage(text="hi")], tools=[], tool_choice="auto", progress=listener
            )
            second = await api.respond(
                instructions="t", items=[UserMessage(text="again")], tools=[], tool_choice="auto", progress=listener
            )
    assert (first.text, second.text) == (LONG_ANSWER, "second")
    assert listener.discarded == 1 and listener.deltas == []
    assert [bool(request.json.get("stream")) for request in server.model_requests()] == [True, False, False]
    assert len([r for r in caplog.records if "without streaming" in r.getMessage()]) == 1


@pytest.mark.asyncio
async def test_a_request_refused_for_its_own_sake_does_not_turn_streaming_off(fake: FakeOpenAI) -> None:
    async with fake.client(max_retries=0) as client:
        api = adapter("responses", fake, client)
        fake.fail(400, times=2)
        with pytest.raises(Exception, match="rejected"):
            await api.respond(
                instructions="t", items=[UserMessage(text="hi")], tools=[], tool_choice="auto", progress=Listener()
            )
        fake.reply_text("fine")
        await api.respond(
            instructions="t", items=[UserMessage(text="hi")], tools=[], tool_choice="auto", progress=Listener()
        )
    assert fake.model_requests()[-1].json["stream"] is True


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [True, False])
async def test_reasoning_is_replayed_with_its_calls_within_the_turn_and_never_kept(stream: bool) -> None:
    async with FakeOpenAI() as server, server.client() as client:
        api = ResponsesAPI(client, model="test-model", stream=stream)
        server.reply_calls(("add", {"a": 1, "b": 2}), reasoning=True)
        server.reply_calls(("add", {"a": 3, "b": 4}), reasoning=True)
        server.reply_text("3 and 7")
        result = await turn(api, Listener())
        second, third = server.model_requests()[1].json, server.model_requests()[2].json
        assert second["include"] == ["reasoning.encrypted_content"]
        kinds = [item.get("type", "message") for item in third["input"]]
        assert kinds == [
            "message",
            "reasoning",
            "function_call",
            "function_call_output",
            "reasoning",
            "function_call",
            "function_call_output",
        ]
        assert all(item["encrypted_content"] for item in third["input"] if item.get("type") == "reasoning")
        assert result.answer == "3 and 7"
        assert not any(isinstance(item, Reasoning) for item in result.items)

        # after a restart the next turn replays the stored history, which holds no reasoning: still valid
        server.reply_text("still fine")
        later = await turn(api, Listener(), history=list(result.items))
    assert later.answer == "still fine"
    assert not any(item.get("type") == "reasoning" for item in server.model_requests()[-1].json["input"])


@pytest.mark.asyncio
async def test_the_fake_refuses_reasoning_without_encrypted_content_as_openai_does(fake: FakeOpenAI) -> None:
    async with fake.client(max_retries=0) as client:
        api = ResponsesAPI(client, model="test-model")
        stale = Reasoning(item_id="rs_1", encrypted_content="")
        with pytest.raises(Exception, match="rejected"):
            await api.respond(instructions="t", items=[UserMessage(text="hi"), stale], tools=[], tool_choice="auto")


@pytest.mark.asyncio
async def test_streamed_a_forced_choice_the_server_rejects_falls_back_to_auto_and_streaming_stays_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with FakeOpenAI(reject_required_tool_choice=True) as server, server.client(max_retries=0) as client:
        api = ChatAPI(client, model="test-model", stream=True)
        server.reply_calls(("add", {"a": 1, "b": 1}))
        server.reply_text("2")
        with caplog.at_level(logging.WARNING):
            result = await turn(api, Listener(), tool_choice="required")
    assert result.answer == "2" and result.error is None
    assert result.notes[0].kind == "forced_fallback"
    assert [request.json.get("tool_choice") for request in server.model_requests()] == [
        "required",
        "required",
        "auto",
        "auto",
    ]
    assert all(request.json.get("stream") for request in server.model_requests()[2:])
    assert not any("without streaming" in record.getMessage() for record in caplog.records)


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", APIS)
async def test_streamed_the_round_limit_still_ends_with_one_answer_without_tools(kind: str, fake: FakeOpenAI) -> None:
    async with fake.client() as client:
        fake.reply_calls(("add", {"a": 1, "b": 1}))
        fake.reply_calls(("add", {"a": 2, "b": 2}))
        fake.reply_text("as far as I got")
        listener = Listener()
        result = await turn(adapter(kind, fake, client), listener, max_rounds=2)
    assert result.cut_short and result.answer == "as far as I got" == "".join(listener.deltas)
    assert [request.json.get("tool_choice") for request in fake.model_requests()][-1] == "none"
