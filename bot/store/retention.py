"""Bounded storage: history turns, audit rows and usage rows older than their retention are deleted in small batches.

Each batch is its own short transaction, so turns and tool calls keep writing while a large backlog is pruned.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.engine.clock import Clock, utc_now
from bot.store.db import Database
from bot.store.timestamps import format_time

log = logging.getLogger(__name__)

BATCH_ROWS = 500
PRUNE_EVERY_SECONDS = 3600.0
MIN_USAGE_DAYS = 31  # quotas read today's usage, and /usage shows this calendar month


@dataclass(frozen=True, slots=True)
class Retention:
    """How many days each kind of row is kept; 0 keeps it forever."""

    history_days: int = 90
    audit_days: int = 365
    usage_days: int = 400

    def __post_init__(self) -> None:
        if min(self.history_days, self.audit_days, self.usage_days) < 0:
            raise ValueError("retention days cannot be negative")
        if 0 < self.usage_days < MIN_USAGE_DAYS:
            raise ValueError(f"usage must be kept at least {MIN_USAGE_DAYS} days (or 0, forever)")


@dataclass(frozen=True, slots=True)
class Pruned:
    """How many rows one sweep deleted."""

    history_turns: int = 0
    audit_rows: int = 0
    usage_rows: int = 0


class Pruner:
    """Deletes what is past its retention; `run()` sweeps now and then every `every_seconds` until cancelled."""

    def __init__(
        self, db: Database, retention: Retention, *, clock: Clock = utc_now, batch_rows: int = BATCH_ROWS
    ) -> None:
        if batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        self._db = db
        self._retention = retention
        self._clock = clock
        self._batch = batch_rows
        self.swept = asyncio.Event()  # set after each sweep (the tests and the app wait for it)

    async def sweep(self) -> Pruned:
        """Delete every row past its retention, a batch per transaction; returns what was deleted."""
        now = self._clock()
        retention = self._retention
        history = audit = usage = 0
        if retention.history_days:
            history = await self._history(format_time(now - timedelta(days=retention.history_days)))
        if retention.audit_days:
            cutoff = format_time(now - timedelta(days=retention.audit_days))
            audit = await self._rows("audit_log", "at", cutoff)
        if retention.usage_days:
            cutoff = (now - timedelta(days=retention.usage_days)).date().isoformat()
            usage = await self._rows("usage_ledger", "day", cutoff)
        pruned = Pruned(history_turns=history, audit_rows=audit, usage_rows=usage)
        if pruned != Pruned():
            log.info(
                "pruned %d history turns, %d audit rows and %d usage rows past their retention",
                history,
                audit,
                usage,
            )
        self.swept.set()
        return pruned

    async def run(self, *, every_seconds: float = PRUNE_EVERY_SECONDS) -> None:
        """Sweep at once, then every `every_seconds`, until cancelled; a failed sweep is logged and retried later."""
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("pruning old rows failed; trying again in %g seconds", every_seconds)
            await asyncio.sleep(every_seconds)

    async def _rows(self, table: str, column: str, cutoff: str) -> int:
        """Delete rows of `table` whose `column` sorts before `cutoff`, in batches; returns how many."""
        deleted = 0
        while True:
            async with self._db.write() as conn:
                count = await conn.execute(
                    f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {column} < ? LIMIT ?)",
                    (cutoff, self._batch),
                )
            deleted += count
            if count < self._batch:
                return deleted
            await asyncio.sleep(0)  # let waiting writers in between batches

    async def _history(self, cutoff: str) -> int:
        """Delete whole turns created before `cutoff` (their items with them), in batches; returns how many turns."""
        deleted = 0
        while True:
            async with self._db.write() as conn:
                turns = await conn.fetch(
                    "SELECT channel_id, turn FROM history_turns WHERE created_at < ? LIMIT ?", (cutoff, self._batch)
                )
                keys = [(str(channel_id), int(turn)) for channel_id, turn in turns]
                if keys:
                    await conn.executemany("DELETE FROM history_items WHERE channel_id = ? AND turn = ?", keys)
                    await conn.executemany("DELETE FROM history_turns WHERE channel_id = ? AND turn = ?", keys)
            deleted += len(keys)
            if len(keys) < self._batch:
                return deleted
            await asyncio.sleep(0)
