"""Storage: all SQL of the project lives in this package; callers see typed stores, never SQL."""

from __future__ import annotations

import pathlib
from typing import Self

from bot.store.audit import AuditEntry, AuditLog, ConfirmationRecord, ToolCallRecord
from bot.store.bookings import BookingStore
from bot.store.conversations import ConversationStore
from bot.store.db import Database, SchemaTooNew, sqlite_path
from bot.store.history import HistoryStore
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
    "sqlite_path",
]


class Store:
    """Every store over one database, opened and closed together (the app's one handle on storage)."""

    def __init__(self, db: Database) -> None:
        # Every store is constructed here, over the same database.
        self.db = db
        self.history = HistoryStore(db)
        self.policies = PolicyStore(db)
        self.audit = AuditLog(db)
        self.conversations = ConversationStore(db)
        self.restaurants = RestaurantStore(db)
        self.bookings = BookingStore(db)
        self.usage = UsageLedger(db)
        self.quotas = QuotaStore(db)

    @classmethod
    async def open(cls, path: pathlib.Path) -> Self:
        """Open (creating and migrating if needed) the database at `path` and build the stores over it."""
        return cls(await Database.open(path))

    async def close(self) -> None:
        """Close the database after any write in progress."""
        await self.db.close()
