"""Bounded storage, in both backends: history, audit and usage rows past their retention go, in small batches."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.engine.api import Usage
from bot.engine.items import AssistantMessage, ToolCall, ToolOutput, UserMessage
from bot.store.audit import AuditLog, ToolCallRecord
from bot.store.db import Database
from bot.store.history import HistoryStore, capped
from bot.store.retention import Pruned, Pruner, Retention
from bot.store.timestamps import format_time
from bot.store.usage import UsageLedger, UsageRecord

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
BIG = 10**9


def call(n: int) -> ToolCallRecord:
    return ToolCallRecord(
        guild_id="g1",
        channel_id="c1",
        user_id="u1",
        user_name="Ann",
        tool="search",
        arguments=f'{{"n": {n}}}',
        outcome="ok",
        duration_ms=1.0,
        summary="ok",
    )


def spent(tokens: int) -> UsageRecord:
    return UsageRecord(guild_id="g1", channel_id="c1", user_id="u1", model="m", usage=Usage(tokens, tokens))


async def add_turn(db: Database, channel_id: str, label: str, *, at: datetime) -> None:
    """A stored turn with a tool call, dated `at`."""
    history = HistoryStore(db)
    turn = await history.append_turn(
        channel_id,
        [
            UserMessage(text=label, author_id="u1", author_name="Ann"),
            ToolCall(call_id=f"{label}-1", name="weather", arguments="{}"),
            ToolOutput(call_id=f"{label}-1", output="{}"),
            AssistantMessage(text=f"answer {label}"),
        ],
    )
    async with db.write() as conn:
        await conn.execute(
            "UPDATE history_turns SET created_at = ? WHERE channel_id = ? AND turn = ?",
            (format_time(at), channel_id, turn),
        )


async def count(db: Database, table: str) -> int:
    row = await db.fetchone(f"SELECT COUNT(*) FROM {table}")
    assert row is not None
    return int(row[0])


@pytest.mark.asyncio
async def test_rows_past_their_retention_are_deleted_in_batches_and_newer_rows_stay(db: Database) -> None:
    old, recent = NOW - timedelta(days=11), NOW - timedelta(days=9)
    for n in range(5):
        await AuditLog(db, clock=lambda: old).record_tool_call(call(n))
        await UsageLedger(db, clock=lambda: old).record(spent(1000))
        await add_turn(db, f"c{n % 2}", f"old{n}", at=old)
    await AuditLog(db, clock=lambda: recent).record_tool_call(call(99))
    await UsageLedger(db, clock=lambda: recent).record(spent(7))
    await add_turn(db, "c0", "recent", at=recent)

    pruner = Pruner(db, Retention(history_days=10, audit_days=10, usage_days=0), clock=lambda: NOW, batch_rows=2)
    assert await pruner.sweep() == Pruned(history_turns=5, audit_rows=5, usage_rows=0)

    [entry] = await AuditLog(db).query(guild_id="g1")
    assert entry.arguments == '{"n": 99}'
    window = await HistoryStore(db).load_window("c0", max_turns=20, max_tokens=BIG)
    assert [item.text for item in window if isinstance(item, UserMessage)] == ["recent"]
    assert await HistoryStore(db).load_window("c1", max_turns=20, max_tokens=BIG) == []
    assert await count(db, "history_items") == 4
    assert await count(db, "usage_ledger") == 6  # 0 keeps it forever
    assert pruner.swept.is_set()


@pytest.mark.asyncio
async def test_usage_of_this_month_survives_the_shortest_usage_retention(db: Database) -> None:
    first_of_month = datetime(2026, 6, 1, 0, 0, 1, tzinfo=UTC)
    await UsageLedger(db, clock=lambda: datetime(2026, 5, 29, 23, 0, tzinfo=UTC)).record(spent(1000))
    await UsageLedger(db, clock=lambda: first_of_month).record(spent(100))
    await UsageLedger(db, clock=lambda: NOW).record(spent(10))

    pruner = Pruner(db, Retention(history_days=0, audit_days=0, usage_days=31), clock=lambda: NOW)
    assert await pruner.sweep() == Pruned(usage_rows=1)

    month = await UsageLedger(db).member_totals("u1", guild_id="g1", since=date(2026, 6, 1))
    today = await UsageLedger(db).member_totals("u1", guild_id="g1", since=NOW.date())
    assert (month.input_tokens, today.input_tokens) == (110, 10)


def test_usage_cannot_be_kept_for_less_than_a_month_but_zero_keeps_it_forever() -> None:
    with pytest.raises(ValueError, match="at least 31 days"):
        Retention(usage_days=30)
    assert Retention(usage_days=0).usage_days == 0


@pytest.mark.parametrize("text", ['"\\' * 20_000, "\x00\x01" * 20_000, "北京" * 20_000])
def test_a_capped_output_is_json_within_the_cap_whatever_it_holds(text: str) -> None:
    stored = capped(ToolOutput(call_id="c", output=text), 1_000)
    assert isinstance(stored, ToolOutput) and len(stored.output) <= 1_000
    body = json.loads(stored.output)
    assert body["truncated"] is True and text.startswith(body["partial"]) and len(body["partial"]) > 100
    assert body["note"] == "result 40,000 characters long, cut when stored"


def test_short_tool_text_is_stored_as_it_is() -> None:
    short = ToolCall(call_id="c", name="weather", arguments='{"city": "Oslo"}')
    assert capped(short, 1_000) is short
