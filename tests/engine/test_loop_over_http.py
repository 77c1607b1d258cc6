"""The loop with the real openai client over HTTP, for both APIs: parallel calls run concurrently."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from bot.engine.api.chat import ChatAPI
from bot.engine.api.responses import ResponsesAPI
from bot.engine.executor import ToolExecutor
from bot.engine.items import ToolOutput, UserMessage
from bot.engine.loop import run_loop
from bot.engine.permissions import Caller, Place
from bot.engine.tools import Registry, ToolContext, tool
from tests.fake_openai import FakeOpenAI


@tool()
async def slow_lookup(context: ToolContext, key: str) -> dict[str, str]:
    """Look something up slowly."""
    await asyncio.sleep(0.3)
    return {"key": key}


@pytest.mark.asyncio
@pytest.mark.parametrize("api_kind", ["responses", "chat"])
async def test_two_slow_parallel_calls_take_as_long_as_the_slowest(api_kind: str) -> None:
    async with FakeOpenAI() as server, server.client() as client:
        api = ChatAPI(client, model="test-model") if api_kind == "chat" else ResponsesAPI(client, model="test-model")
        server.reply_text("warm")  # the first request pays one-time costs (connection, lazy imports)
        await api.respond(instructions="test", items=[UserMessage(text="hi")], tools=[], tool_choice="auto")
        server.reply_calls(("slow_lookup", {"key": "a"}), ("slow_lookup", {"key": "b"}))
        server.reply_text("both found")
        executor = ToolExecutor(
            registry=Registry([slow_lookup]),
            caller=Caller(user_id="1", name="Ann"),
            place=Place(channel_id="c"),
            policies={},
            default_timeout=5,
        )
        started = time.perf_counter()
        turn = await run_loop(
            api=api, executor=executor, instructions="test", history=[], user_message=UserMessage(text="find a and b")
        )
        elapsed = time.perf_counter() - started
    assert turn.answer == "both found"
    assert elapsed < 0.55, f"parallel calls took {elapsed:.2f} s"
    outputs = [json.loads(item.output) for item in turn.items if isinstance(item, ToolOutput)]
    assert outputs == [{"key": "a"}, {"key": "b"}]
