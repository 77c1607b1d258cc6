"""copy-data: every table from SQLite into an empty PostgreSQL, ids kept and sequences moved past them."""

from __future__ import annotations

import dataclasses
import pathlib
from datetime import UTC, datetime

import pytest

from bot.catalog import Booked
from bot.data_commands import copy_database
from bot.engine.api import Usage
from bot.engine.items import AssistantMessage, UserMessage
from bot.store import Store
from bot.store.audit import ToolCallRecord
from bot.store.bookings import BookingStore
from bot.store.copy import TABLES, TargetNotEmpty, copy_data
from bot.store.db import Database, open_database
from bot.store.usage import Limits, UsageRecord
from tests.store.test_processes import CATALOG, REQUEST

ADMIN = {"actor_id": "a1", "actor_name": "Admin"}


async def fill(store: Store) -> None:
    """A row or more in every table."""
    await store.restaurants.upsert_many(CATALOG)
    for user in ("u1", "u2", "u3"):
        booked = await store.bookings.book(dataclasses.replace(REQUEST, user_id=user))
        assert isinstance(booked, Booked)
    await store.bookings.cancel(1, by_user_id="u1", at=datetime(2026, 6, 1, 9, tzinfo=UTC))
    await store.history.append_turn("c1", [UserMessage(text="hi", author_id="u1"), AssistantMessage(text="hello")])
    await store.policies.allow_role("g1", "search_web", "r1", **ADMIN)
    await store.policies.set_confirm("g1", "book_restaurant", "never", default="always", **ADMIN)
    await store.audit.record_tool_call(
        ToolCallRecord("g1", "c1", "u1", "Ana", "calculate", "{}", "ok", duration_ms=1.5, summary="2")
    )
    await store.conversations.register(channel_id="t1", guild_id="g1", starter_id="u1")
    await store.usage.record(UsageRecord("g1", "c1", "u1", "m", Usage(input_tokens=10, output_tokens=5)))
    await store.quotas.set_quota("g1", "role", 500, role_id="r1", **ADMIN)
    await store.usage.reserve("u1", guild_id="g1", tokens=7, limits=Limits(member=1000))  # a request in flight


async def dump(db: Database) -> dict[str, list[tuple[object, ...]]]:
    return {
        table: [tuple(row) for row in await db.fetch(f"SELECT {columns} FROM {table} ORDER BY {key}")]
        for table, (key, columns) in TABLES.items()
    }


@pytest.mark.asyncio
async def test_copy_data_moves_every_row_keeping_ids_and_new_rows_continue_after_them(
    tmp_path: pathlib.Path, postgres_url: str
) -> None:
    source = await Store.open(tmp_path / "c.db")
    target = await open_database(postgres_url)
    try:
        await fill(source)
        copied = await copy_data(source.db, target)
        before = await dump(source.db)
        assert all(before.values()), "fill() must put a row in every table"
        assert await dump(target) == before
        assert copied == {table: len(rows) for table, rows in before.items()}

        new = await BookingStore(target).book(dataclasses.replace(REQUEST, user_id="u9"))
        assert isinstance(new, Booked) and new.booking.id == 4
        await Store(target).audit.record_tool_call(
            ToolCallRecord("g1", "c1", "u1", "Ana", "calculate", "{}", "ok", duration_ms=1.0, summary="3")
        )
        assert max(entry.id for entry in await Store(target).audit.query(guild_id="g1")) == len(before["audit_log"]) + 1
    finally:
        await source.close()
        await target.close()


@pytest.mark.asyncio
async def test_copy_data_pages_through_tables_bigger_than_a_batch_on_their_whole_key(
    tmp_path: pathlib.Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.store.copy.BATCH_ROWS", 2)
    source = await Store.open(tmp_path / "c.db")
    target = await open_database(postgres_url)
    try:
        await fill(source)
        for channel in ("c2", "c3"):  # history_items pages across channels and turns (a three-column key)
            for n in range(3):
                await source.history.append_turn(
                    channel, [UserMessage(text=f"q{n}", author_id="u1"), AssistantMessage(text=f"a{n}")]
                )
        copied = await copy_data(source.db, target)
        before = await dump(source.db)
        assert copied["history_items"] == len(before["history_items"]) == 14
        assert await dump(target) == before
    finally:
        await source.close()
        await target.close()


@pytest.mark.asyncio
async def test_copy_data_refuses_a_target_that_holds_data_and_changes_nothing(
    tmp_path: pathlib.Path, postgres_url: str
) -> None:
    source = await Store.open(tmp_path / "c.db")
    target = Store(await open_database(postgres_url))
    try:
        await fill(source)
        await target.conversations.register(channel_id="elsewhere", guild_id=None, starter_id="u7")
        with pytest.raises(TargetNotEmpty, match="conversations"):
            await copy_data(source.db, target.db)
        assert await target.restaurants.count() == 0
    finally:
        await source.close()
        await target.close()


@pytest.mark.asyncio
async def test_copy_data_command_says_why_it_refused(
    tmp_path: pathlib.Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source_url = f"sqlite:///{tmp_path / 'c.db'}"
    source = await Store.open(source_url)
    await fill(source)
    await source.close()
    assert await copy_database(source_url, postgres_url) == 0
    assert await copy_database(source_url, postgres_url) == 1
    assert "not empty" in capsys.readouterr().err


@pytest.mark.asyncio
async def test_copy_covers_every_table_of_the_schema(tmp_path: pathlib.Path) -> None:
    db = await open_database(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        tables = await db.fetch("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        assert {row[0] for row in tables} == set(TABLES)
        for table, (_, columns) in TABLES.items():
            stored = {row[1] for row in await db.fetch(f"PRAGMA table_info({table})")}
            assert stored == set(columns.split(", ")), table
    finally:
        await db.close()


@pytest.mark.asyncio
async def test_copy_data_refuses_a_source_that_does_not_exist_and_creates_nothing(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "dta" / "concierge.db"
    target = tmp_path / "target.db"
    assert await copy_database(f"sqlite:///{typo}", f"sqlite:///{target}") == 1
    err = capsys.readouterr().err
    assert f"the source database {typo} does not exist" in err and "nothing was copied or created" in err
    assert not typo.parent.exists() and not target.exists()


@pytest.mark.asyncio
async def test_copy_data_refuses_an_empty_source_file_and_leaves_it_empty(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    assert await copy_database(f"sqlite:///{empty}", f"sqlite:///{tmp_path / 'target.db'}") == 1
    assert "holds no Concierge data" in capsys.readouterr().err
    assert empty.stat().st_size == 0 and not (tmp_path / "target.db").exists()


@pytest.mark.asyncio
async def test_copy_data_summary_says_how_many_rows_of_each_table_were_copied(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source_url = f"sqlite:///{tmp_path / 'c.db'}"
    source = await Store.open(source_url)
    try:
        await fill(source)
        counts = {table: len(rows) for table, rows in (await dump(source.db)).items()}
    finally:
        await source.close()
    assert await copy_database(source_url, f"sqlite:///{tmp_path / 'copy.db'}") == 0
    summary = capsys.readouterr().out.splitlines()[-1]
    per_table = ", ".join(f"{table} {rows}" for table, rows in counts.items())
    assert summary == f"copied {sum(counts.values())} rows ({per_table}); point DATABASE_URL at the target to use it"
