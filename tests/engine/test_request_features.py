"""The optional request features (reasoning replay, usage in streams, the prompt cache key, the output limit's name)
against servers that accept, ignore and reject them, through the real openai client over HTTP (issue 22)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.engine.api import ModelAPI, Usage
from bot.engine.api.chat import ChatAPI
from bot.engine.api.features import FeatureModes
from bot.engine.api.responses import ResponsesAPI
from bot.engine.errors import ModelRejectedRequest
from bot.engine.items import UserMessage
from tests.engine.test_streaming import Listener, turn
from tests.fake_openai import FakeOpenAI

# The request field of each feature, per API (stream_options only goes with streamed Chat requests).
FIELDS = [
    ("responses", "include"),
    ("responses", "prompt_cache_key"),
    ("chat", "stream_options"),
    ("chat", "prompt_cache_key"),
]
WORDINGS = ["openai", "azure", "litellm", "pydantic"]


def adapter(kind: str, client: Any, **options: Any) -> ModelAPI:
    """A streaming adapter with every feature on `auto` unless `features` says otherwise."""
    if kind == "chat":
        return ChatAPI(client, model="test-model", stream=True, **options)
    return ResponsesAPI(client, model="test-model", stream=True, **options)


async def ask(api: ModelAPI, text: str = "hi", *, cache_key: str | None = "channel-1") -> Any:
    return await api.respond(
        instructions="t",
        items=[UserMessage(text=text)],
        tools=[],
        tool_choice="auto",
        progress=Listener(),
        cache_key=cache_key,
    )


def dropped_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.engine.api.features"]


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["responses", "chat"])
async def test_every_feature_is_sent_by_default(kind: str) -> None:
    async with FakeOpenAI() as server, server.client() as client:
        server.reply_text("ok")
        await ask(adapter(kind, client))
    body = server.model_requests()[0].json
    assert body["prompt_cache_key"] == "channel-1"
    if kind == "responses":
        assert body["include"] == ["reasoning.encrypted_content"]
    else:
        assert body["stream_options"] == {"include_usage": True}


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["responses", "chat"])
async def test_a_repeated_cache_key_shows_the_servers_cache_in_usage(kind: str) -> None:
    async with FakeOpenAI(prompt_cache=True) as server, server.client() as client:
        api = adapter(kind, client)
        server.reply_text("one")
        server.reply_text("two")
        first, second = await ask(api), await ask(api)
    assert first.usage == Usage(input_tokens=10, output_tokens=5)
    assert second.usage == Usage(input_tokens=10, output_tokens=5, cached_input_tokens=8)


@pytest.mark.asyncio
@pytest.mark.parametrize(("kind", "field"), FIELDS)
@pytest.mark.parametrize("wording", WORDINGS)
async def test_a_server_that_rejects_a_feature_answers_after_one_retry_and_never_sees_it_again(
    kind: str, field: str, wording: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeOpenAI(rejects=frozenset({field}), rejection=wording) as server, server.client() as client:
        api = adapter(kind, client)
        server.reply_text("first")
        server.reply_text("second")
        with caplog.at_level(logging.WARNING):
            first, second = await ask(api), await ask(api, "again")
    assert (first.text, second.text) == ("first", "second")
    assert [field in request.json for request in server.model_requests()] == [True, False, False]
    assert all(request.json["stream"] for request in server.model_requests()), "streaming stays on"
    [line] = dropped_lines(caplog)
    assert field in line and "from now on" in line
    assert "HTTP 4" in line  # with the server's own words


@pytest.mark.asyncio
async def test_the_log_line_quotes_the_server_without_the_api_key(caplog: pytest.LogCaptureFixture) -> None:
    said = {"error": {"message": "Unknown parameter: 'stream_options' (key sk-secret-123)", "param": "stream_options"}}
    async with FakeOpenAI() as server, server.client(api_key="sk-secret-123") as client:
        server.fail(400, body=said)
        server.reply_text("ok")
        with caplog.at_level(logging.WARNING):
            await ask(adapter("chat", client))
    [line] = dropped_lines(caplog)
    assert "Unknown parameter: 'stream_options' (key [redacted])" in line
    assert "sk-secret-123" not in caplog.text


@pytest.mark.asyncio
async def test_a_server_that_rejects_two_features_loses_both_in_one_answer(caplog: pytest.LogCaptureFixture) -> None:
    rejects = frozenset({"include", "prompt_cache_key"})
    async with FakeOpenAI(rejects=rejects) as server, server.client() as client:
        server.reply_text("ok")
        with caplog.at_level(logging.WARNING):
            reply = await ask(adapter("responses", client))
    assert reply.text == "ok"
    assert [sorted(rejects & request.json.keys()) for request in server.model_requests()] == [
        ["include", "prompt_cache_key"],
        ["prompt_cache_key"],  # the fake names include first
        [],
    ]
    assert len(dropped_lines(caplog)) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [True, False])
async def test_reasoning_is_not_replayed_by_a_server_that_ignores_include_and_the_turn_still_works(
    stream: bool,
) -> None:
    async with FakeOpenAI(ignores=frozenset({"include"})) as server, server.client() as client:
        api = ResponsesAPI(client, model="test-model", stream=stream)
        server.reply_calls(("add", {"a": 1, "b": 2}), reasoning=True)
        server.reply_text("3")
        result = await turn(api, Listener())
    assert result.answer == "3" and result.error is None
    assert server.model_requests()[1].json["include"] == ["reasoning.encrypted_content"]
    assert not any(item.get("type") == "reasoning" for item in server.model_requests()[1].json["input"])


@pytest.mark.asyncio
async def test_a_server_that_ignores_stream_options_leaves_the_usage_to_the_estimate() -> None:
    recorded: list[Usage] = []

    async def record(usage: Usage) -> None:
        recorded.append(usage)

    async with FakeOpenAI(ignores=frozenset({"stream_options"})) as server, server.client() as client:
        server.reply_text("A fairly short answer.")
        await turn(adapter("chat", client), Listener(), record_usage=record)
    [usage] = recorded
    assert usage.estimated
    assert server.model_requests()[0].json["stream_options"] == {"include_usage": True}


@pytest.mark.asyncio
async def test_a_server_that_ignores_the_cache_key_reports_nothing_cached() -> None:
    ignores = frozenset({"prompt_cache_key"})
    async with FakeOpenAI(prompt_cache=True, ignores=ignores) as server, server.client() as client:
        api = adapter("chat", client)
        server.reply_text("one")
        server.reply_text("two")
        await ask(api)
        second = await ask(api)
    assert second.usage is not None and second.usage.cached_input_tokens == 0
    assert all(request.json["prompt_cache_key"] == "channel-1" for request in server.model_requests())


@pytest.mark.asyncio
@pytest.mark.parametrize(("kind", "field"), FIELDS)
async def test_a_feature_set_off_is_never_sent(kind: str, field: str) -> None:
    off = {"include": "reasoning_replay", "stream_options": "stream_usage", "prompt_cache_key": "prompt_cache_key"}
    async with FakeOpenAI() as server, server.client() as client:
        server.reply_text("ok")
        await ask(adapter(kind, client, features=FeatureModes(**{off[field]: "off"})))
    assert field not in server.model_requests()[0].json


@pytest.mark.asyncio
async def test_a_feature_forced_on_is_kept_and_its_rejection_is_the_requests_error() -> None:
    rejects = frozenset({"prompt_cache_key"})
    async with FakeOpenAI(rejects=rejects) as server, server.client(max_retries=0) as client:
        api = ChatAPI(client, model="test-model", features=FeatureModes(prompt_cache_key="on"))
        for _ in range(2):
            with pytest.raises(ModelRejectedRequest, match="prompt_cache_key"):
                await ask(api)
    assert [request.json.get("prompt_cache_key") for request in server.model_requests()] == ["channel-1"] * 2


@pytest.mark.asyncio
async def test_a_request_that_fails_without_the_feature_too_keeps_the_feature(
    caplog: pytest.LogCaptureFixture,
) -> None:
    said = {"error": {"message": "prompt_cache_key: this key is not allowed for your organisation", "type": "bad"}}
    async with FakeOpenAI() as server, server.client(max_retries=0) as client:
        api = ChatAPI(client, model="test-model")
        server.fail(400, body=said, times=2)
        with caplog.at_level(logging.WARNING), pytest.raises(ModelRejectedRequest):
            await ask(api)
        server.reply_text("fine")
        await ask(api)
    assert [request.json.get("prompt_cache_key") for request in server.model_requests()] == [
        "channel-1",
        None,
        "channel-1",
    ]
    assert dropped_lines(caplog) == []


@pytest.mark.asyncio
async def test_an_unrelated_rejection_is_not_retried() -> None:
    async with FakeOpenAI() as server, server.client(max_retries=0) as client:
        server.fail(400, body={"error": {"message": "context length exceeded", "type": "invalid_request_error"}})
        with pytest.raises(ModelRejectedRequest, match="context length"):
            await ask(ChatAPI(client, model="test-model"))
    assert len(server.model_requests()) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("first", ["max_tokens", "max_completion_tokens"])
async def test_a_server_that_rejects_the_output_limits_name_gets_the_other_from_then_on(
    first: str, caplog: pytest.LogCaptureFixture
) -> None:
    other = "max_completion_tokens" if first == "max_tokens" else "max_tokens"
    async with FakeOpenAI(rejects=frozenset({first})) as server, server.client() as client:
        api = ChatAPI(client, model="test-model", max_output_tokens=300, output_limit_field=first)  # type: ignore[arg-type]
        server.reply_text("one")
        server.reply_text("two")
        with caplog.at_level(logging.WARNING):
            await ask(api)
            await ask(api)
    limits = [(first in r.json, r.json.get(other)) for r in server.model_requests()]
    assert limits == [(True, None), (False, 300), (False, 300)]
    [line] = dropped_lines(caplog)
    assert f"as {other}" in line


@pytest.mark.asyncio
async def test_the_output_limit_is_never_dropped_when_both_names_are_rejected() -> None:
    both = frozenset({"max_tokens", "max_completion_tokens"})
    async with FakeOpenAI(rejects=both) as server, server.client(max_retries=0) as client:
        api = ChatAPI(client, model="test-model", max_output_tokens=300)
        with pytest.raises(ModelRejectedRequest, match="max_completion_tokens"):
            await ask(api)
    assert [("max_tokens" in r.json, "max_completion_tokens" in r.json) for r in server.model_requests()] == [
        (True, False),
        (False, True),
    ]
