"""The Store bundle: one database, every store over it, closed together."""

from __future__ import annotations

import pathlib

import pytest

from bot.engine.items import AssistantMessage, UserMessage
from bot.store import Store
from bot.store.db import Database


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


@pytest.mark.asyncio
async def test_a_write_that_need_not_be_durable_does_not_wait_for_the_disk_in_either_backend(db: Database) -> None:
    setting = "PRAGMA synchronous" if db.dialect == "sqlite" else "SHOW synchronous_commit"
    server_default = await db.fetchone(setting)
    async with db.write(durable=False) as conn:
        relaxed = await conn.fetchone(setting)
    async with db.write() as conn:
        durable = await conn.fetchone(setting)
    assert relaxed is not None and durable is not None and server_default is not None
    if db.dialect == "sqlite":
        assert (relaxed[0], durable[0]) == (1, 2)  # NORMAL, then FULL again
    else:  # the test cluster itself runs with synchronous_commit off; a durable write keeps the server's setting
        assert (relaxed[0], durable[0]) == ("off", server_default[0])
