"""The whole engine and `check` against a real server (opt-in: set CONCIERGE_REAL_SERVER_URL, run -m real_server).

These assert what the bot promises whatever the model's quality: a turn always ends with a reply (never an
exception), the history it saved replays on the next turn, forced tool choices degrade politely, and `check`
describes the server. Each turn's wall time is printed (run with -s to see it).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import openai
import pytest
import pytest_asyncio

from bot.app import App, open_app
from bot.engine.permissions import Caller, Place
from bot.model_check import check_model_server
from bot.settings import load_settings

pytestmark = pytest.mark.real_server

MEMBER = Caller(user_id="1", name="Ann")
CHANNEL = Place(channel_id="c1", guild_id="g1", guild_name="Test", channel_name="general")


@pytest_asyncio.fixture
async def app(real_server_url: str, model: str, tmp_path: Path) -> AsyncIterator[App]:
    settings = load_settings(
        {
            "OPENAI_BASE_URL": real_server_url,
            "OPENAI_API": "chat",
            "OPENAI_MODEL": model,
            "OPENAI_TIMEOUT_SECONDS": "180",
            "MAX_TOOL_ROUNDS": "2",
            "MAX_OUTPUT_TOKENS": "256",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'real.db'}",
        },
        env_file=None,
    )
    async with open_app(settings) as opened:
        yield opened


async def timed_chat(app: App, text: str, *, tool_choice: str = "auto"):
    started = time.perf_counter()
    reply = await app.concierge.chat(CHANNEL, MEMBER, text, tool_choice=tool_choice)
    print(f"\n[{tool_choice}] {time.perf_counter() - started:.1f} s, trace={[e.outcome for e in reply.trace]}")
    return reply


@pytest.mark.asyncio
async def test_check_finds_the_chat_api_and_a_tool_round_trip(client: openai.AsyncOpenAI, model: str) -> None:
    report = await check_model_server(client, model=model, api="chat")
    print("\n" + report.render())
    names = [line.name for line in report.lines]
    assert names[0] == "server reachable" and report.lines[0].ok
    assert any(name.startswith("tool_choice") for name in names)


@pytest.mark.asyncio
async def test_check_tells_to_use_chat_when_the_server_has_no_responses_api(
    client: openai.AsyncOpenAI, model: str
) -> None:
    report = await check_model_server(client, model=model, api="responses")
    if report.ok:
        pytest.skip("this server has a Responses API")
    assert "OPENAI_API=chat" in report.render()


@pytest.mark.asyncio
async def test_a_turn_with_tools_ends_in_a_reply_and_its_history_replays(app: App) -> None:
    first = await timed_chat(app, "What is 123 * 456? Use the calculate tool.")
    assert not first.failed, first.text
    second = await timed_chat(app, "Thanks! And what is 2 + 2?")
    assert not second.failed, second.text  # the saved calls and outputs were accepted on replay


@pytest.mark.asyncio
@pytest.mark.parametrize("choice", ["required", "calculate", "none"])
async def test_forced_tool_choices_never_fail_the_turn(app: App, choice: str) -> None:
    reply = await timed_chat(app, "Compute 17 + 25.", tool_choice=choice)
    assert not reply.failed, reply.text
    if choice == "none":
        assert reply.trace == ()
