"""The Store bundle: one database, every store over it, closed together."""

from __future__ import annotations

import pathlib

import pytest

from bot.engine.items import AssistantMessage, UserMessage
from bot.store import Store


@pytest.mark.asyncio
async def test_store_opens_every_store_over_one_database_and_closes_it(tmp_path: pathlib.Path) -> None:
    store = await Store.open(tmp_path / "data" / "concierge.db")
    turn = [UserMessage(text="hi"), AssistantMessage(text="hello")]
    await store.history.append_turn("c1", turn)
    await store.conversations.register(channel_id="t1", guild_id="g1", starter_id="u1")
    assert await store.history.load_window("c1", max_turns=20, max_tokens=6000) == turn
    assert await store.conversations.starter_of("t1") == "u1"
    await store.close()
    await store.close()  # closing twice is harmless

    with pytest.raises(RuntimeError, match="closed"):
        await store.history.append_turn("c1", turn)
