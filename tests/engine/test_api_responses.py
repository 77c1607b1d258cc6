"""The Responses adapter against the local fake server, through the real openai client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.engine.api.responses import ResponsesAPI
from bot.engine.items import AssistantMessage, ToolCall, ToolOutput, UserMessage
from tests.engine.sample_specs import ADD, WEATHER
from tests.fake_openai import FakeOpenAI


@pytest_asyncio.fixture
async def api(server: FakeOpenAI) -> AsyncIterator[ResponsesAPI]:
    async with server.client() as client:
        yield ResponsesAPI(client, model="test-model")


@pytest.mark.asyncio
async def test_text_answer_round_trips_with_stateless_request(server: FakeOpenAI, api: ResponsesAPI) -> None:
    server.reply_text("Hello, Ada.")
    reply = await api.respond(
        instructions="Be brief.",
        items=[UserMessage(text="hi", author_id="7", author_name="Ada")],
        tools=[ADD],
        tool_choice="auto",
    )
    assert reply.text == "Hello, Ada."
    assert reply.calls == ()
    (request,) = server.requests
    assert request.path == "/v1/responses"
    assert request.json["model"] == "test-model"
    assert request.json["instructions"] == "Be brief."
    assert request.json["input"] == [{"role": "user", "content": '[member 7 "Ada"]\nhi'}]
    assert request.json["store"] is False
    assert request.json["parallel_tool_calls"] is True


@pytest.mark.asyncio
async def test_parallel_calls_come_back_in_order_with_ids_and_raw_arguments(
    server: FakeOpenAI, api: ResponsesAPI
) -> None:
    server.reply_calls(("add", {"a": 1, "b": 2}), ("weather", '{"city": "Oslo"'), ("add", {"a": 3, "b": 4}))
    reply = await api.respond(instructions="", items=[UserMessage(text="go")], tools=[ADD, WEATHER], tool_choice="auto")
    assert [call.name for call in reply.calls] == ["add", "weather", "add"]
    assert [call.arguments for call in reply.calls] == ['{"a": 1, "b": 2}', '{"city": "Oslo"', '{"a": 3, "b": 4}']
    assert all(call.call_id.startswith("call_") for call in reply.calls)
    assert len({call.call_id for call in reply.calls}) == 3


@pytest.mark.asyncio
async def test_tools_are_sent_flat_with_strict_flag(server: FakeOpenAI, api: ResponsesAPI) -> None:
    server.reply_text("ok")
    await api.respond(instructions="", items=[UserMessage(text="go")], tools=[ADD], tool_choice="auto")
    assert server.requests[0].json["tools"] == [
        {
            "type": "function",
            "name": "add",
            "description": "Add two integers.",
            "parameters": ADD.parameters,
            "strict": True,
        }
    ]


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        ("auto", "auto"),
        ("required", "required"),
        ("none", "none"),
        ("weather", {"type": "function", "name": "weather"}),
    ],
)
@pytest.mark.asyncio
async def test_tool_choice_is_sent_in_responses_form(
    server: FakeOpenAI, api: ResponsesAPI, choice: str, sent: object
) -> None:
    server.reply_text("ok")
    await api.respond(instructions="", items=[UserMessage(text="go")], tools=[ADD, WEATHER], tool_choice=choice)
    assert server.requests[0].json["tool_choice"] == sent


@pytest.mark.asyncio
async def test_without_tools_neither_tools_nor_tool_choice_is_sent(server: FakeOpenAI, api: ResponsesAPI) -> None:
    server.reply_text("ok")
    await api.respond(instructions="", items=[UserMessage(text="go")], tools=[], tool_choice="required")
    sent = server.requests[0].json
    assert "tools" not in sent
    assert "tool_choice" not in sent
    assert "parallel_tool_calls" not in sent


@pytest.mark.asyncio
async def test_history_is_sent_as_input_items(server: FakeOpenAI, api: ResponsesAPI) -> None:
    server.reply_text("done")
    items = [
        UserMessage(text="add 1 and 2"),
        AssistantMessage(text="Adding."),
        ToolCall(call_id="call_1", name="add", arguments='{"a":1,"b":2}'),
        ToolOutput(call_id="call_1", output='{"sum": 3}'),
        AssistantMessage(text="It is 3."),
    ]
    await api.respond(instructions="", items=items, tools=[ADD], tool_choice="auto")
    assert server.requests[0].json["input"] == [
        {"role": "user", "content": "add 1 and 2"},
        {"role": "assistant", "content": "Adding."},
        {"type": "function_call", "call_id": "call_1", "name": "add", "arguments": '{"a":1,"b":2}'},
        {"type": "function_call_output", "call_id": "call_1", "output": '{"sum": 3}'},
        {"role": "assistant", "content": "It is 3."},
    ]


@pytest.mark.asyncio
async def test_reasoning_items_and_item_ids_are_dropped_on_replay(server: FakeOpenAI, api: ResponsesAPI) -> None:
    server.reply_calls(("add", {"a": 1, "b": 2}), text="Let me add.", reasoning=True)
    server.reply_text("3")
    history: list = [UserMessage(text="1+2?")]
    first = await api.respond(instructions="", items=history, tools=[ADD], tool_choice="auto")
    assert first.text == "Let me add."
    history += [AssistantMessage(text=first.text), *first.calls]
    history += [ToolOutput(call_id=call.call_id, output='{"sum": 3}') for call in first.calls]
    second = await api.respond(instructions="", items=history, tools=[ADD], tool_choice="auto")
    assert second.text == "3"
    replayed = server.requests[1].json["input"]
    assert all(entry.get("type") != "reasoning" for entry in replayed)
    assert all("id" not in entry for entry in replayed)
    assert replayed[2] == {
        "type": "function_call",
        "call_id": first.calls[0].call_id,
        "name": "add",
        "arguments": '{"a": 1, "b": 2}',
    }
