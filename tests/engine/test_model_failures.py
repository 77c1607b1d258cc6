"""Failed model requests become the bot's errors, with details that say what to fix and no secrets."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import openai
import pytest
import pytest_asyncio

from bot.engine.api import ModelAPI, ToolSpec
from bot.engine.api.chat import ChatAPI
from bot.engine.api.responses import ResponsesAPI
from bot.engine.errors import (
    ModelError,
    ModelMisconfigured,
    ModelRejectedRequest,
    ModelUnavailable,
    QuotaExhausted,
    RateLimited,
)
from bot.engine.items import UserMessage
from tests.fake_openai import FakeOpenAI

KEY = "sk-live-SECRET-4f9a8b7c6d5e"
ADD = ToolSpec(name="add", description="Add.", parameters={"type": "object", "properties": {}})


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake


async def ask(kind: str, base_url: str, *, client_timeout: float = 5.0, max_retries: int = 2) -> str:
    """One request through the chosen adapter with a fresh client, closed afterwards."""
    async with openai.AsyncOpenAI(
        api_key=KEY,
        base_url=base_url,
        timeout=client_timeout,
        max_retries=max_retries,
        http_client=openai.DefaultAsyncHttpxClient(verify=False),  # plain http: skip loading CA certificates
    ) as client:
        api: ModelAPI = (
            ResponsesAPI(client, model="test-model") if kind == "responses" else ChatAPI(client, model="test-model")
        )
        reply = await api.respond(instructions="", items=[UserMessage(text="hi")], tools=[ADD], tool_choice="auto")
    return reply.text


def assert_no_secret(error: ModelError) -> None:
    for text in (str(error), error.detail, *map(str, error.params.values())):
        assert KEY not in text


both_apis = pytest.mark.parametrize("kind", ["responses", "chat"])


@both_apis
@pytest.mark.asyncio
async def test_a_rate_limit_then_success_is_retried_by_the_sdk(server: FakeOpenAI, kind: str) -> None:
    server.fail(
        429, body={"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
    )
    server.reply_text("made it")
    assert await ask(kind, server.base_url) == "made it"
    assert len(server.requests) == 2


@both_apis
@pytest.mark.asyncio
async def test_a_persistent_rate_limit_raises_rate_limited(server: FakeOpenAI, kind: str) -> None:
    server.fail(429, times=3)
    with pytest.raises(RateLimited) as caught:
        await ask(kind, server.base_url)
    assert caught.value.status == 429
    assert len(server.requests) == 3


@both_apis
@pytest.mark.asyncio
async def test_a_persistent_server_error_raises_model_unavailable(server: FakeOpenAI, kind: str) -> None:
    server.fail(500, times=3)
    with pytest.raises(ModelUnavailable) as caught:
        await ask(kind, server.base_url)
    assert caught.value.status == 500
    assert not isinstance(caught.value, RateLimited)


@both_apis
@pytest.mark.asyncio
async def test_insufficient_quota_raises_quota_exhausted(server: FakeOpenAI, kind: str) -> None:
    quota = {"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": None}}
    server.fail(429, body=quota, times=3)
    with pytest.raises(QuotaExhausted) as caught:
        await ask(kind, server.base_url)
    assert caught.value.key == "error.quota_exhausted" and "out of credit" in caught.value.detail


@pytest.mark.asyncio
async def test_a_server_without_responses_api_says_to_set_openai_api_chat() -> None:
    async with FakeOpenAI(llama_cpp=True) as server:
        with pytest.raises(ModelMisconfigured) as caught:
            await ask("responses", server.base_url)
    assert "set OPENAI_API=chat" in caught.value.detail
    assert caught.value.status == 404


@pytest.mark.asyncio
async def test_a_missing_chat_endpoint_points_at_the_base_url(server: FakeOpenAI) -> None:
    server.fail(404, body={"error": {"message": "Not Found"}})
    with pytest.raises(ModelMisconfigured) as caught:
        await ask("chat", server.base_url)
    assert "OPENAI_BASE_URL" in caught.value.detail


@both_apis
@pytest.mark.asyncio
async def test_an_unknown_model_says_to_check_openai_model(server: FakeOpenAI, kind: str) -> None:
    missing = {
        "error": {
            "message": "The model `test-model` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "code": "model_not_found",
        }
    }
    server.fail(404, body=missing)
    with pytest.raises(ModelMisconfigured) as caught:
        await ask(kind, server.base_url)
    assert caught.value.detail.startswith("model test-model not found: check OPENAI_MODEL")


@pytest.mark.asyncio
async def test_ollama_style_model_not_found_is_recognised(server: FakeOpenAI) -> None:
    server.fail(
        404, body={"error": {"message": 'model "test-model" not found, try pulling it first', "type": "api_error"}}
    )
    with pytest.raises(ModelMisconfigured) as caught:
        await ask("chat", server.base_url)
    assert "check OPENAI_MODEL" in caught.value.detail


@both_apis
@pytest.mark.asyncio
async def test_method_not_allowed_is_a_misconfiguration(server: FakeOpenAI, kind: str) -> None:
    server.fail(405)
    with pytest.raises(ModelMisconfigured):
        await ask(kind, server.base_url)


@pytest.mark.parametrize("status", [401, 403])
@both_apis
@pytest.mark.asyncio
async def test_a_refused_key_says_check_the_key_without_echoing_it(server: FakeOpenAI, kind: str, status: int) -> None:
    echo = {"error": {"message": f"Incorrect API key provided: {KEY}.", "type": "invalid_request_error"}}
    server.fail(status, body=echo)
    with pytest.raises(ModelMisconfigured) as caught:
        await ask(kind, server.base_url)
    assert "check OPENAI_API_KEY" in caught.value.detail
    assert_no_secret(caught.value)


@pytest.mark.parametrize("status", [400, 422])
@both_apis
@pytest.mark.asyncio
async def test_a_refused_request_raises_model_rejected_request(server: FakeOpenAI, kind: str, status: int) -> None:
    server.fail(status, body={"error": {"message": f"bad field; key was {KEY}", "type": "invalid_request_error"}})
    with pytest.raises(ModelRejectedRequest) as caught:
        await ask(kind, server.base_url)
    assert caught.value.status == status
    assert "bad field" in caught.value.detail
    assert_no_secret(caught.value)


@both_apis
@pytest.mark.asyncio
async def test_a_timeout_raises_model_unavailable(kind: str) -> None:
    async with FakeOpenAI(delay=2.0) as server:
        with pytest.raises(ModelUnavailable) as caught:
            await ask(kind, server.base_url, client_timeout=0.1, max_retries=0)
    assert "timed out" in caught.value.detail


@both_apis
@pytest.mark.asyncio
async def test_a_refused_connection_raises_model_unavailable(kind: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ModelUnavailable) as caught:
        await ask(kind, f"http://127.0.0.1:{port}/v1", max_retries=0)
    assert "OPENAI_BASE_URL" in caught.value.detail
    assert_no_secret(caught.value)


@pytest.mark.asyncio
async def test_an_empty_script_fails_loudly(server: FakeOpenAI) -> None:
    with pytest.raises(ModelUnavailable) as caught:
        await ask("chat", server.base_url, max_retries=0)
    assert "script ran out" in caught.value.detail
