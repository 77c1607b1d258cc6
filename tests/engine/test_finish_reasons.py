"""Replies say which model answered and why it stopped, as the server said, for both APIs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest
import pytest_asyncio
from aiohttp import web

from bot.engine.api.chat import ChatAPI
from bot.engine.api.responses import ResponsesAPI
from bot.engine.items import UserMessage

HI = [UserMessage(text="hi", author_name="Ada")]

CUT_CHAT = {
    "id": "c1",
    "object": "chat.completion",
    "created": 0,
    "model": "served-model-2",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Once upon a"}, "finish_reason": "length"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
}
CUT_RESPONSE = {
    "id": "r1",
    "object": "response",
    "created_at": 0,
    "model": "served-model-2",
    "status": "incomplete",
    "incomplete_details": {"reason": "max_output_tokens"},
    "output": [
        {
            "type": "message",
            "id": "m1",
            "role": "assistant",
            "status": "incomplete",
            "content": [{"type": "output_text", "text": "Once upon a", "annotations": []}],
        }
    ],
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
    "usage": {
        "input_tokens": 5,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 3,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 8,
    },
}


@pytest_asyncio.fixture
async def cut_short_server() -> AsyncIterator[str]:
    """A server whose every answer ran out of output tokens."""

    async def chat(request: web.Request) -> web.Response:
        return web.json_response(CUT_CHAT)

    async def responses(request: web.Request) -> web.Response:
        return web.json_response(CUT_RESPONSE)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/responses", responses)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/v1"
    await runner.cleanup()


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["chat", "responses"])
async def test_an_answer_cut_at_the_output_limit_says_length_and_names_the_serving_model(
    cut_short_server: str, kind: str
) -> None:
    async with openai.AsyncOpenAI(api_key="k", base_url=cut_short_server, max_retries=0) as client:
        api = (
            ChatAPI(client, model="asked-model", stream=False)
            if kind == "chat"
            else ResponsesAPI(client, model="asked-model", stream=False)
        )
        reply = await api.respond(instructions="i", items=HI, tools=[], tool_choice="auto")
    assert reply.text == "Once upon a"
    assert (reply.finish_reason, reply.model) == ("length", "served-model-2")
