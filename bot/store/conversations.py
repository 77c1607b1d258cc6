"""Threads the bot started, so messages there need no mention and the starter may clear the thread's history."""

from __future__ import annotations

from bot.engine.clock import Clock, utc_now
from bot.store.db import Database
from bot.store.timestamps import format_time


class ConversationStore:
    """Remembers which channels are conversations the bot started, and who started each."""

    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    async def register(self, *, channel_id: str, guild_id: str | None, starter_id: str) -> None:
        """Record a bot-started conversation; registering it again changes nothing (the first starter stays)."""
        async with self._db.write() as conn:
            await conn.execute(
                "INSERT INTO conversations (channel_id, guild_id, starter_id, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (channel_id) DO NOTHING",
                (channel_id, guild_id, starter_id, format_time(self._clock())),
            )

    async def starter_of(self, channel_id: str) -> str | None:
        """Who started this conversation; None if the bot did not start it."""
        row = await self._db.fetchone("SELECT starter_id FROM conversations WHERE channel_id = ?", (channel_id,))
        return None if row is None else str(row[0])
