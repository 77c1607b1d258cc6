"""Bounded storage through the whole app: the pruner runs in the background, and stored tool text is capped."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import open_app
from bot.engine.items import AssistantMessage, UserMessage
from bot.engine.permissions import Caller, Place
from bot.settings import Settings, load_settings
from bot.store import Store
from bot.store.timestamps import format_time
from tests.fake_openai import FakeOpenAI

MEMBER = Caller(user_id="1", name="Ann")
CHANNEL = Place(channel_id="c1", guild_id="g1", guild_name="Club", channel_name="general")


def settings_for(server: FakeOpenAI, tmp_path: Path, api: str = "chat", **extra: str) -> Settings:
    return load_settings(
        {
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_API": api,
            "OPENAI_MODEL": "test-model",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'concierge.db'}",
            **extra,
        },
        env_file=None,
    )


def arguments_sent(body: Any) -> list[str]:
    """Every tool call's arguments string in a request body, whichever API shaped it."""
    found: list[str] = []
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "arguments" and isinstance(value, str):
                found.append(value)
            else:
                found += arguments_sent(value)
    elif isinstance(body, list):
        for value in body:
            found += arguments_sent(value)
    return found


@pytest.mark.asyncio
@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_a_huge_argument_string_is_stored_cut_and_replayed_as_json_marked_truncated(
    tmp_path: Path, api: str
) -> None:
    huge = "1+" * 100_000 + "1"
    length = f"{len(json.dumps({'expression': huge})):,}"
    async with FakeOpenAI() as server:
        server.reply_calls(("calculate", {"expression": huge}))
        server.reply_text("that was too long")
        server.reply_text("hello again")
        async with open_app(
            settings_for(server, tmp_path, api, MAX_STORED_TOOL_CHARS="5000", STREAM_ANSWERS="false")
        ) as app:
            await app.concierge.chat(CHANNEL, MEMBER, "add all of these")
            await app.concierge.chat(CHANNEL, MEMBER, "hi")
            [audited] = [entry for entry in await app.store.audit.query(guild_id="g1") if entry.tool == "calculate"]
    [replayed] = arguments_sent(server.requests[-1].json)
    assert len(replayed) <= 5000
    stored = json.loads(replayed)
    assert stored["truncated"] is True
    assert stored["note"] == f"arguments {length} characters long, cut when stored"
    assert stored["partial"].startswith('{"expression": "1+1+')
    assert audited.arguments.endswith(f"…[cut from {length} characters]")


@pytest.mark.asyncio
async def test_the_app_prunes_history_past_its_retention_in_the_background(tmp_path: Path) -> None:
    async with FakeOpenAI() as server:
        settings = settings_for(server, tmp_path, HISTORY_RETENTION_DAYS="7")
        store = await Store.open(settings.DATABASE_URL)
        for label, age in [("old", 8), ("recent", 6)]:
            turn = await store.history.append_turn(
                "c1", [UserMessage(text=label, author_id="1", author_name="Ann"), AssistantMessage(text="ok")]
            )
            async with store.db.write() as conn:
                await conn.execute(
                    "UPDATE history_turns SET created_at = ? WHERE turn = ?",
                    (format_time(datetime.now(UTC) - timedelta(days=age)), turn),
                )
        await store.close()
        async with open_app(settings) as app:
            assert app.pruner is not None
            await asyncio.wait_for(app.pruner.swept.wait(), timeout=30)
            window = await app.store.history.load_window("c1", max_turns=20, max_tokens=10**9)
    assert [item.text for item in window if isinstance(item, UserMessage)] == ["recent"]
