"""Bot-started conversations: registered once, starter remembered across restarts."""

from __future__ import annotations

import pytest

from bot.store.conversations import ConversationStore
from bot.store.db import Database, open_database


@pytest.mark.asyncio
async def test_channel_the_bot_did_not_start_has_no_starter(db: Database) -> None:
    assert await ConversationStore(db).starter_of("t1") is None


@pytest.mark.asyncio
async def test_registering_twice_keeps_the_first_starter(db: Database) -> None:
    conversations = ConversationStore(db)
    await conversations.register(channel_id="t1", guild_id="g1", starter_id="u1")
    await conversations.register(channel_id="t1", guild_id="g1", starter_id="u2")
    assert await conversations.starter_of("t1") == "u1"
    assert await conversations.starter_of("t2") is None


@pytest.mark.asyncio
async def test_conversations_survive_reopening_including_dms(database_url: str) -> None:
    db = await open_database(database_url)
    await ConversationStore(db).register(channel_id="dm1", guild_id=None, starter_id="u9")
    await db.close()
    db = await open_database(database_url)
    try:
        assert await ConversationStore(db).starter_of("dm1") == "u9"
    finally:
        await db.close()
