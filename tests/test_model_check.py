"""`check` against the fake server: a good server passes, llama.cpp's quirks are reported with the fix."""

from __future__ import annotations

from typing import Any, Literal

import openai
import pytest

from bot.model_check import CheckLine, CheckReport, check_model_server
from tests.fake_openai import FakeFailure, FakeOpenAI, FakeReply, RecordedRequest


def _last_input_is_tool_output(body: dict[str, Any]) -> bool:
    if "messages" in body:
        return body["messages"][-1]["role"] == "tool"
    return body["input"][-1].get("type") == "function_call_output"


def obliging_model(request: RecordedRequest) -> FakeReply | FakeFailure:
    """A model that calls `add` when it may and answers once it has the result."""
    body = request.json
    if _last_input_is_tool_output(body):
        return FakeReply(text="17 + 25 = 42.")
    if body.get("tools") and body.get("tool_choice") != "none":
        return FakeReply.calling(("add", {"a": 17, "b": 25}))
    return FakeReply(text="ok")


async def check(server: FakeOpenAI, *, api: Literal["responses", "chat"]) -> CheckReport:
    async with server.client() as client:
        return await check_model_server(client, model="test-model", api=api)


def line(report: CheckReport, name: str) -> CheckLine:
    return next(entry for entry in report.lines if entry.name == name)


@pytest.mark.parametrize("api", ["responses", "chat"])
@pytest.mark.asyncio
async def test_a_capable_server_passes_every_check(api: Literal["responses", "chat"]) -> None:
    async with FakeOpenAI(responder=obliging_model) as server:
        report = await check(server, api=api)
    assert report.ok, report.render()
    assert all(entry.ok for entry in report.lines), report.render()
    assert "add(17, 25) = 42" in line(report, "tool call round trip").detail
    assert [entry.name for entry in report.lines if entry.name.startswith("tool_choice")] == [
        "tool_choice auto",
        "tool_choice required",
        "tool_choice none",
        "tool_choice named (add)",
    ]
    assert report.render().splitlines()[-1].startswith("ready")


@pytest.mark.asyncio
async def test_llama_cpp_with_responses_api_is_not_ready_and_says_set_openai_api_chat() -> None:
    async with FakeOpenAI(llama_cpp=True, responder=obliging_model) as server:
        report = await check(server, api="responses")
    assert not report.ok
    assert "set OPENAI_API=chat" in report.render()
    assert "✗ Responses API (POST /responses)" in report.render()


@pytest.mark.asyncio
async def test_llama_cpp_with_chat_is_ready_but_required_is_rejected() -> None:
    async with FakeOpenAI(llama_cpp=True, responder=obliging_model) as server:
        report = await check(server, api="chat")
    assert report.ok, report.render()
    assert line(report, "tool call round trip").ok
    assert not line(report, "tool_choice required").ok
    assert "rejected" in line(report, "tool_choice required").detail
    assert line(report, "tool_choice named (add)").ok
    assert "✗ tool_choice required" in report.render()


@pytest.mark.asyncio
async def test_an_unlisted_model_is_only_a_warning() -> None:
    async with FakeOpenAI(models=("other-model",), responder=obliging_model) as server:
        report = await check(server, api="chat")
    assert report.ok
    assert line(report, "model listed").mark == "!"
    assert "other-model" in line(report, "model listed").detail


@pytest.mark.asyncio
async def test_a_model_that_never_calls_tools_is_not_ready() -> None:
    async with FakeOpenAI(responder=lambda request: FakeReply(text="I refuse to use tools.")) as server:
        report = await check(server, api="chat")
    assert not report.ok
    assert "no tool call" in line(report, "tool call round trip").detail
    assert line(report, "tool_choice required").detail == "accepted but ignored (no call came back)"
    assert line(report, "tool_choice required").mark == "!"


@pytest.mark.asyncio
async def test_an_unreachable_server_stops_the_check() -> None:
    async with FakeOpenAI() as server:
        base_url = server.base_url
    async with openai.AsyncOpenAI(
        api_key="sk-test", base_url=base_url, max_retries=0, http_client=openai.DefaultAsyncHttpxClient(verify=False)
    ) as client:
        report = await check_model_server(client, model="test-model", api="chat")
    assert not report.ok
    assert [entry.mark for entry in report.lines] == ["✗", "✗"]
    assert "could not connect" in report.render()


def image_requests(server: FakeOpenAI) -> list[RecordedRequest]:
    """The requests that carried an image (as a data URL) in a user message."""
    return [request for request in server.model_requests() if "data:image/png;base64," in str(request.json)]


@pytest.mark.parametrize("api", ["responses", "chat"])
@pytest.mark.asyncio
async def test_a_server_that_sees_images_passes_the_image_check_with_one_tiny_png(
    api: Literal["responses", "chat"],
) -> None:
    async with FakeOpenAI(responder=obliging_model) as server:
        report = await check(server, api=api)
        assert len(image_requests(server)) == 1
    assert line(report, "image input").ok and line(report, "image input").mark == "✓"


@pytest.mark.parametrize("api", ["responses", "chat"])
@pytest.mark.asyncio
async def test_a_text_only_server_is_ready_with_advice_to_set_vision_false(api: Literal["responses", "chat"]) -> None:
    async with FakeOpenAI(text_only=True, responder=obliging_model) as server:
        report = await check(server, api=api)
    image = line(report, "image input")
    assert (image.ok, image.mark) == (False, "!")
    assert "set VISION=false" in image.detail and "does not support image input" in image.detail
    assert report.ok and report.render().splitlines()[-1].startswith("ready")


@pytest.mark.asyncio
async def test_a_text_only_server_with_vision_false_passes_the_image_check() -> None:
    async with FakeOpenAI(text_only=True, responder=obliging_model) as server, server.client() as client:
        report = await check_model_server(client, model="test-model", api="chat", vision=False)
    image = line(report, "image input")
    assert image.ok and "VISION=false, so images are not sent" in image.detail


@pytest.mark.asyncio
async def test_a_server_that_sees_images_with_vision_false_is_advised_to_turn_it_on() -> None:
    async with FakeOpenAI(responder=obliging_model) as server, server.client() as client:
        report = await check_model_server(client, model="test-model", api="responses", vision=False)
    image = line(report, "image input")
    assert (image.ok, image.mark) == (False, "!") and "set VISION=true" in image.detail
