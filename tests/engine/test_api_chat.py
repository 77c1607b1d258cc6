"""The Chat Completions adapter against the local fake server, through the real openai client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.engine.api.chat import ChatAPI
from bot.engine.items import AssistantMessage, Item, ToolCall, ToolOutput, UserMessage
from tests.engine.sample_specs import ADD, WEATHER
from tests.fake_openai import FakeOpenAI


@pytest_asyncio.fixture
async def llama() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(llama_cpp=True) as fake:
        yield fake


@pytest_asyncio.fixture
async def api(server: FakeOpenAI) -> AsyncIterator[ChatAPI]:
    async with server.client(max_retries=0) as client:
        yield ChatAPI(client, model="test-model")


@pytest_asyncio.fixture
async def llama_api(llama: FakeOpenAI) -> AsyncIterator[ChatAPI]:
    async with llama.client(max_retries=0) as client:
        yield ChatAPI(client, model="test-model")


@pytest.mark.asyncio
async def test_text_answer_round_trips_with_system_message_first(server: FakeOpenAI, api: ChatAPI) -> None:
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
    assert request.path == "/v1/chat/completions"
    assert request.json["model"] == "test-model"
    assert request.json["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": '[member 7 "Ada"]\nhi'},
    ]


@pytest.mark.asyncio
async def test_only_fields_compatible_servers_know_are_sent(server: FakeOpenAI, api: ChatAPI) -> None:
    server.reply_text("ok")
    await api.respond(instructions="", items=[UserMessage(text="go")], tools=[ADD], tool_choice="auto")
    assert set(server.requests[0].json) == {"model", "messages", "tools", "tool_choice"}


@pytest.mark.asyncio
async def test_tools_are_sent_nested_with_strict_flag(server: FakeOpenAI, api: ChatAPI) -> None:
    server.reply_text("ok")
    await api.respond(instructions="", items=[UserMessage(text="go")], tools=[ADD], tool_choice="auto")
    assert server.requests[0].json["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "add",
                "description": "Add two integers.",
                "parameters": ADD.parameters,
                "strict": True,
            },
        }
    ]


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        ("auto", "auto"),
        ("required", "required"),
        ("none", "none"),
        ("weather", {"type": "function", "function": {"name": "weather"}}),
    ],
)
@pytest.mark.asyncio
async def test_tool_choice_is_sent_in_chat_form(server: FakeOpenAI, api: ChatAPI, choice: str, sent: object) -> None:
    server.reply_text("ok")
    await api.respond(instructions="", items=[UserMessage(text="go")], tools=[ADD, WEATHER], tool_choice=choice)
    assert server.requests[0].json["tool_choice"] == sent


@pytest.mark.asyncio
async def test_without_tools_neither_tools_nor_tool_choice_is_sent(server: FakeOpenAI, api: ChatAPI) -> None:
    server.reply_text("ok")
    await api.respond(instructions="", items=[UserMessage(text="go")], tools=[], tool_choice="required")
    assert set(server.requests[0].json) == {"model", "messages"}


@pytest.mark.asyncio
async def test_parallel_calls_come_back_in_order_with_llama_cpp_ids_kept(llama: FakeOpenAI, llama_api: ChatAPI) -> None:
    llama.reply_calls(("add", {"a": 1, "b": 2}), ("weather", "{not json"))
    reply = await llama_api.respond(
        instructions="", items=[UserMessage(text="go")], tools=[ADD, WEATHER], tool_choice="auto"
    )
    assert [(call.name, call.arguments) for call in reply.calls] == [
        ("add", '{"a": 1, "b": 2}'),
        ("weather", "{not json"),
    ]
    assert reply.calls[0].call_id.startswith("call__0_add_cmpl-")
    assert reply.calls[1].call_id.startswith("call__1_weather_cmpl-")


@pytest.mark.asyncio
async def test_calls_without_ids_get_distinct_generated_ids() -> None:
    async with (
        FakeOpenAI(omit_call_ids=True) as server,
        server.client(max_retries=0) as client,
    ):
        server.reply_calls(("add", {"a": 1, "b": 2}), ("add", {"a": 2, "b": 3}))
        reply = await ChatAPI(client, model="test-model").respond(
            instructions="", items=[UserMessage(text="go")], tools=[ADD], tool_choice="auto"
        )
    ids = [call.call_id for call in reply.calls]
    assert all(call_id.startswith("call_") for call_id in ids)
    assert len(set(ids)) == 2


@pytest.mark.asyncio
async def test_text_then_calls_become_one_assistant_message(server: FakeOpenAI, api: ChatAPI) -> None:
    server.reply_text("ok")
    items: list[Item] = [
        UserMessage(text="add twice"),
        AssistantMessage(text="Adding both."),
        ToolCall(call_id="c1", name="add", arguments='{"a":1,"b":2}'),
        ToolCall(call_id="c2", name="add", arguments='{"a":3,"b":4}'),
        ToolOutput(call_id="c1", output='{"sum": 3}'),
        ToolOutput(call_id="c2", output='{"sum": 7}'),
    ]
    await api.respond(instructions="sys", items=items, tools=[ADD], tool_choice="auto")
    assert server.requests[0].json["messages"][1:] == [
        {"role": "user", "content": "add twice"},
        {
            "role": "assistant",
            "content": "Adding both.",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a":1,"b":2}'}},
                {"id": "c2", "type": "function", "function": {"name": "add", "arguments": '{"a":3,"b":4}'}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"sum": 3}'},
        {"role": "tool", "tool_call_id": "c2", "content": '{"sum": 7}'},
    ]


@pytest.mark.asyncio
async def test_calls_without_text_carry_empty_string_content(server: FakeOpenAI, api: ChatAPI) -> None:
    server.reply_text("ok")
    items: list[Item] = [
        UserMessage(text="add"),
        ToolCall(call_id="c1", name="add", arguments="{}"),
        ToolOutput(call_id="c1", output="{}"),
        ToolCall(call_id="c2", name="add", arguments="{}"),
        ToolOutput(call_id="c2", output="{}"),
    ]
    await api.respond(instructions="", items=items, tools=[ADD], tool_choice="auto")
    assistants = [m for m in server.requests[0].json["messages"] if m["role"] == "assistant"]
    assert [(m["content"], [c["id"] for c in m["tool_calls"]]) for m in assistants] == [("", ["c1"]), ("", ["c2"])]


@pytest.mark.asyncio
async def test_llama_cpp_accepts_a_replayed_tool_round(llama: FakeOpenAI, llama_api: ChatAPI) -> None:
    llama.reply_calls(("add", {"a": 1, "b": 2}))
    llama.reply_text("It is 3.")
    api = llama_api
    history: list[Item] = [UserMessage(text="1+2?")]
    first = await api.respond(instructions="", items=history, tools=[ADD], tool_choice="auto")
    assert first.text == ""
    history += [*first.calls, ToolOutput(call_id=first.calls[0].call_id, output='{"sum": 3}')]
    second = await api.respond(instructions="", items=history, tools=[ADD], tool_choice="auto")
    assert second.text == "It is 3."
    assert llama.requests[1].json["messages"][2]["content"] == ""


@pytest.mark.asyncio
async def test_the_output_limit_is_sent_in_the_field_the_server_knows() -> None:
    async with FakeOpenAI() as server, server.client() as client:
        for field in ("max_tokens", "max_completion_tokens"):
            server.reply_text("ok")
            api = ChatAPI(client, model="test-model", max_output_tokens=300, output_limit_field=field)  # type: ignore[arg-type]
            await api.respond(instructions="x", items=[UserMessage(text="hi")], tools=[], tool_choice="auto")
            body = server.model_requests()[-1].json
            assert body[field] == 300
            other = "max_completion_tokens" if field == "max_tokens" else "max_tokens"
            assert other not in body
