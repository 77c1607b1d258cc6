"""Requests go to the openai SDK as plain JSON (no per-request transform): the wire carries exactly what the SDK's
own transform would have sent, for both APIs, streamed or not, with every kind of history item and real tools."""

from __future__ import annotations

from typing import Any

import pytest
from openai._utils import async_maybe_transform
from openai.types.chat import completion_create_params
from openai.types.responses import response_create_params

import tools
from bot.engine.api import ModelAPI, ToolSpec
from bot.engine.api.chat import ChatAPI
from bot.engine.api.plain_json import ToolPayloads
from bot.engine.api.responses import ResponsesAPI
from bot.engine.items import AssistantMessage, Item, Reasoning, ToolCall, ToolOutput, UserMessage
from bot.engine.tools import Registry
from tests.fake_openai import FakeOpenAI

HISTORY: list[Item] = [
    UserMessage(text="What is 6 × 7, and the weather in 北京?", author_id="7", author_name="Ann"),
    Reasoning(item_id="rs_1", encrypted_content="opaque", summary=("thinking",)),
    AssistantMessage(text="Let me check."),
    ToolCall(call_id="call_1", name="calculate", arguments='{"expression": "6 * 7"}'),
    ToolOutput(call_id="call_1", output='{"expression": "6 * 7", "result": 42}'),
    AssistantMessage(text="42, and it is sunny."),
    UserMessage(text="thanks", author_id="7", author_name="Ann"),
]


def real_tool_specs() -> list[ToolSpec]:
    return [
        ToolSpec(name=tool.name, description=tool.description, parameters=tool.parameters)
        for tool in Registry.from_package(tools)
    ]


async def what_the_sdk_would_send(path: str, body: dict[str, Any]) -> Any:
    if path == "/v1/responses":
        shape: Any = (
            response_create_params.ResponseCreateParamsStreaming
            if body.get("stream")
            else response_create_params.ResponseCreateParamsNonStreaming
        )
    else:
        shape = (
            completion_create_params.CompletionCreateParamsStreaming
            if body.get("stream")
            else completion_create_params.CompletionCreateParamsNonStreaming
        )
    return await async_maybe_transform(body, shape)


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["responses", "chat"])
@pytest.mark.parametrize("stream", [False, True])
async def test_requests_on_the_wire_are_what_the_sdks_transform_would_have_sent(kind: str, stream: bool) -> None:
    async with FakeOpenAI() as server, server.client() as client:
        api: ModelAPI = (
            ResponsesAPI(client, model="test-model", stream=stream, max_output_tokens=512)
            if kind == "responses"
            else ChatAPI(client, model="test-model", stream=stream, max_output_tokens=512)
        )
        server.reply_text("You're welcome.")
        reply = await api.respond(
            instructions="Be brief.", items=HISTORY, tools=real_tool_specs(), tool_choice="auto", cache_key="c-1"
        )
    assert reply.text == "You're welcome."
    [request] = server.model_requests()
    sent = request.json
    assert sent["model"] == "test-model"
    assert len(sent["tools"]) == len(real_tool_specs())
    assert ("input" if kind == "responses" else "messages") in sent
    assert await what_the_sdk_would_send(request.path, sent) == sent


def test_a_tool_sets_payloads_are_built_once_and_again_only_when_a_tool_changes() -> None:
    built: list[str] = []

    def render(spec: ToolSpec) -> dict[str, Any]:
        built.append(spec.name)
        return {"name": spec.name, "parameters": spec.parameters}

    payloads = ToolPayloads(render)
    schema: dict[str, Any] = {"type": "object", "properties": {}}
    first = payloads([ToolSpec(name="add", description="Add.", parameters=schema)])
    again = payloads([ToolSpec(name="add", description="Add.", parameters=schema)])  # a new turn, same tool
    changed = payloads([ToolSpec(name="add", description="Add two numbers.", parameters=schema)])

    assert again is first
    assert changed == [{"name": "add", "parameters": schema}] and changed is not first
    assert built == ["add", "add"]
