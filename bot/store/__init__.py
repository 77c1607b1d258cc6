"""Storage: all SQL of the project lives in this package; callers see typed stores, never SQL."""

from __future__ import annotations

import pathlib
from typing import Self

from bot.store.audit import AuditEntry, AuditLog, ConfirmationRecord, ToolCallRecord
from bot.store.bookings import BookingStore
from bot.store.conversations import ConversationStore
from bot.store.db import Database, SchemaTooNew, open_database
from bot.store.history import MAX_TOOL_CHARS, HistoryStore
from bot.store.policies import PolicyStore
from bot.store.restaurants import RestaurantStore
from bot.store.usage import QuotaStore, UsageLedger

__all__ = [
    "AuditEntry",
    "AuditLog",
    "BookingStore",
    "ConfirmationRecord",
    "ConversationStore",
    "Database",
    "HistoryStore",
    "PolicyStore",
    "QuotaStore",
    "RestaurantStore",
    "SchemaTooNew",
    "Store",
    "ToolCallRecord",
    "UsageLedger",
    "open_database",
]


class Store:
    """Every store over one database, opened and closed together (the app's one handle on storage)."""

    def __init__(self, db: Database, *, max_tool_chars: int = MAX_TOOL_CHARS) -> None:
        # Every store is constructed here, over the same database.
        self.db = db
        self.history = HistoryStore(db, max_tool_chars=max_tool_chars)
        self.policies = PolicyStore(db)
        self.audit = AuditLog(db)
        self.conversations = ConversationStore(db)
        self.restaurants = RestaurantStore(db)
        self.bookings = BookingStore(db)
        self.usage = UsageLedger(db)
        self.quotas = QuotaStore(db)

    @classmethod
    async def open(cls, target: str | pathlib.Path, *, max_tool_chars: int = MAX_TOOL_CHARS) -> Self:
        """Open (creating and migrating if needed) the database a DATABASE_URL (or a SQLite file path) names and build
        the stores over it; `max_tool_chars` caps a stored tool call's arguments and output."""
        url = target if isinstance(target, str) else f"sqlite:///{target}"
        return cls(await open_database(url), max_tool_chars=max_tool_chars)

    async def close(self) -> None:
        """Close the database after any write in progress."""
        await self.db.close()
