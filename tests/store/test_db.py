"""The SQLite backend: pragmas, migrations, and the serialized writer."""

from __future__ import annotations

import asyncio
import pathlib
import sqlite3

import pytest

from bot.engine.items import AssistantMessage, UserMessage
from bot.store.db import Migration, SchemaTooNew, bundled_migrations
from bot.store.history import HistoryStore
from bot.store.sqlite import SqliteDatabase as Database
from bot.store.sqlite import split_statements, sqlite_path

NOTES_V1 = Migration(version=1, name="001_notes.sql", sql="CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);")
NOTES_V2 = Migration(
    version=2,
    name="002_notes_author.sql",
    sql="ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'unknown'; CREATE INDEX notes_author ON notes (author);",
)


async def _scalar(db: Database, sql: str) -> object:
    async with db.conn.execute(sql) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return row[0]


@pytest.mark.asyncio
async def test_open_creates_folder_and_file_with_durable_pragmas(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "nested" / "deeper" / "concierge.db"
    db = await Database.open(path)
    try:
        assert path.is_file()
        assert await _scalar(db, "PRAGMA journal_mode") == "wal"
        assert await _scalar(db, "PRAGMA foreign_keys") == 1
        assert await _scalar(db, "PRAGMA synchronous") == 2  # FULL
        assert await _scalar(db, "PRAGMA busy_timeout") == 5000
        assert await db.schema_version() == max(m.version for m in bundled_migrations())
    finally:
        await db.close()


def test_bundled_migrations_start_at_001_and_are_numbered_uniquely() -> None:
    migrations = bundled_migrations()
    assert migrations[0].name == "001_initial.sql"
    assert [m.version for m in migrations] == sorted({m.version for m in migrations})


@pytest.mark.asyncio
async def test_reopening_keeps_written_data(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.db"
    db = await Database.open(path, migrations=[NOTES_V1])
    async with db.write() as conn:
        await conn.execute("INSERT INTO notes (text) VALUES ('kept')")
    await db.close()

    db = await Database.open(path, migrations=[NOTES_V1])
    try:
        assert await _scalar(db, "SELECT text FROM notes") == "kept"
        assert await db.schema_version() == 1
    finally:
        await db.close()


@pytest.mark.asyncio
async def test_old_database_is_upgraded_without_losing_data(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.db"
    db = await Database.open(path, migrations=[NOTES_V1])
    async with db.write() as conn:
        await conn.execute("INSERT INTO notes (text) VALUES ('from version 1')")
    await db.close()

    db = await Database.open(path, migrations=[NOTES_V1, NOTES_V2])
    try:
        async with db.conn.execute("SELECT text, author FROM notes") as cursor:
            assert list(map(tuple, await cursor.fetchall())) == [("from version 1", "unknown")]
        assert await db.schema_version() == 2
    finally:
        await db.close()


@pytest.mark.asyncio
async def test_unversioned_database_with_foreign_data_gets_our_schema_and_keeps_its_data(
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "c.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE legacy (value TEXT)")
        raw.execute("INSERT INTO legacy VALUES ('still here')")
    raw.close()

    db = await Database.open(path)
    try:
        assert await _scalar(db, "SELECT value FROM legacy") == "still here"
        assert await _scalar(db, "SELECT count(*) FROM history_items") == 0
        assert await db.schema_version() >= 1
    finally:
        await db.close()


@pytest.mark.asyncio
async def test_database_from_a_newer_version_is_refused_with_a_clear_message(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.db"
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 999")
    raw.close()

    with pytest.raises(SchemaTooNew, match=r"schema version 999.*only knows versions up to"):
        await Database.open(path)
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 999
    raw.close()


@pytest.mark.asyncio
async def test_failing_migration_leaves_no_trace_and_keeps_the_old_version(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.db"
    broken = Migration(
        version=2, name="002_broken.sql", sql="CREATE TABLE half (x INTEGER); INSERT INTO nowhere VALUES (1);"
    )
    await (await Database.open(path, migrations=[NOTES_V1])).close()

    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        await Database.open(path, migrations=[NOTES_V1, broken])

    db = await Database.open(path, migrations=[NOTES_V1])
    try:
        assert await db.schema_version() == 1
        assert await _scalar(db, "SELECT count(*) FROM sqlite_master WHERE name = 'half'") == 0
    finally:
        await db.close()


@pytest.mark.asyncio
async def test_exception_inside_write_rolls_back_the_whole_transaction(tmp_path: pathlib.Path) -> None:
    db = await Database.open(tmp_path / "c.db", migrations=[NOTES_V1])
    try:
        with pytest.raises(RuntimeError, match="crash"):
            async with db.write() as conn:
                await conn.execute("INSERT INTO notes (text) VALUES ('first')")
                raise RuntimeError("crash")
        assert await _scalar(db, "SELECT count(*) FROM notes") == 0
        async with db.write() as conn:  # the writer is usable again
            await conn.execute("INSERT INTO notes (text) VALUES ('after')")
        assert await _scalar(db, "SELECT text FROM notes") == "after"
    finally:
        await db.close()


@pytest.mark.asyncio
async def test_concurrent_write_transactions_do_not_interleave(tmp_path: pathlib.Path) -> None:
    db = await Database.open(tmp_path / "c.db", migrations=[NOTES_V1])
    first_inside = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> None:
        async with db.write() as conn:
            await conn.execute("INSERT INTO notes (text) VALUES ('a1')")
            first_inside.set()
            await release_first.wait()
            await conn.execute("INSERT INTO notes (text) VALUES ('a2')")

    async def second() -> None:
        await first_inside.wait()
        async with db.write() as conn:
            await conn.execute("INSERT INTO notes (text) VALUES ('b')")

    try:
        tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
        await first_inside.wait()
        # While the first transaction is open, readers see none of it.
        assert await _scalar(db, "SELECT count(*) FROM notes") == 0
        release_first.set()
        await asyncio.gather(*tasks)
        async with db.conn.execute("SELECT text FROM notes ORDER BY id") as cursor:
            assert [row[0] for row in await cursor.fetchall()] == ["a1", "a2", "b"]
    finally:
        await db.close()


@pytest.mark.asyncio
async def test_nested_write_in_the_same_task_fails_fast_instead_of_deadlocking(tmp_path: pathlib.Path) -> None:
    db = await Database.open(tmp_path / "c.db", migrations=[NOTES_V1])
    try:
        with pytest.raises(RuntimeError, match="re-entrant"):
            async with db.write(), db.write():
                pass
    finally:
        await db.close()


@pytest.mark.asyncio
async def test_read_connection_refuses_writes(tmp_path: pathlib.Path) -> None:
    db = await Database.open(tmp_path / "c.db", migrations=[NOTES_V1])
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await db.conn.execute("INSERT INTO notes (text) VALUES ('x')")
    finally:
        await db.close()


def test_split_statements_respects_strings_and_triggers() -> None:
    sql = """
    -- a comment; with a semicolon
    CREATE TABLE t (x TEXT DEFAULT 'a;b');
    CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN UPDATE t SET x = 'c;d'; END;
    INSERT INTO t VALUES ('e');
    """
    statements = split_statements(sql)
    assert len(statements) == 3
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/concierge.db", pathlib.Path("data/concierge.db")),
        ("sqlite:////var/lib/concierge/c.db", pathlib.Path("/var/lib/concierge/c.db")),
    ],
)
def test_sqlite_url_names_a_relative_or_absolute_file(url: str, expected: pathlib.Path) -> None:
    assert sqlite_path(url) == expected


@pytest.mark.parametrize("url", ["postgresql://host/db", "sqlite://", "data/concierge.db", "sqlite://host/c.db"])
def test_unsupported_database_url_is_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="DATABASE_URL"):
        sqlite_path(url)


@pytest.mark.asyncio
async def test_database_at_the_first_bundled_version_upgrades_to_the_latest_keeping_history(
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "c.db"
    turn = [UserMessage(text="hi", author_id="u1", author_name="Ann"), AssistantMessage(text="hello")]
    db = await Database.open(path, migrations=bundled_migrations()[:1])
    await HistoryStore(db).append_turn("c1", turn)
    await db.close()

    db = await Database.open(path)
    try:
        assert await db.schema_version() == bundled_migrations()[-1].version
        assert await HistoryStore(db).load_window("c1", max_turns=20, max_tokens=6000) == turn
    finally:
        await db.close()


@pytest.mark.asyncio
async def test_cancelled_write_transaction_is_rolled_back_and_frees_the_writer(tmp_path: pathlib.Path) -> None:
    db = await Database.open(tmp_path / "c.db", migrations=[NOTES_V1])
    inside = asyncio.Event()

    async def writer() -> None:
        async with db.write() as conn:
            await conn.execute("INSERT INTO notes (text) VALUES ('never committed')")
            inside.set()
            await asyncio.Event().wait()

    try:
        task = asyncio.create_task(writer())
        await inside.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with db.write() as conn:
            await conn.execute("INSERT INTO notes (text) VALUES ('next')")
        async with db.conn.execute("SELECT text FROM notes") as cursor:
            assert [row[0] for row in await cursor.fetchall()] == ["next"]
    finally:
        await db.close()


@pytest.mark.asyncio
async def test_a_write_that_need_not_be_durable_skips_the_fsync_and_the_next_durable_one_has_it(
    tmp_path: pathlib.Path,
) -> None:
    db = await Database.open(tmp_path / "c.db", migrations=[NOTES_V1])
    try:
        async with db.write(durable=False) as conn:
            assert await conn.fetchone("PRAGMA synchronous") == (1,)  # NORMAL: WAL commit without fsync
            await conn.execute("INSERT INTO notes (text) VALUES ('a chat line')")
        async with db.write() as conn:
            assert await conn.fetchone("PRAGMA synchronous") == (2,)  # FULL again for what must not vanish
    finally:
        await db.close()


class WriteRecorder:
    """A database that notes whether each write asked to be durable."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.durable: list[bool] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.db, name)

    def write(self, *, durable: bool = True) -> object:
        self.durable.append(durable)
        return self.db.write(durable=durable)


@pytest.mark.asyncio
async def test_history_and_usage_commit_without_fsync_while_the_audit_log_keeps_it(tmp_path: pathlib.Path) -> None:
    from bot.engine.api import Usage
    from bot.store.audit import AuditLog, ToolCallRecord
    from bot.store.usage import UsageLedger, UsageRecord

    db = await Database.open(tmp_path / "c.db")
    recorder = WriteRecorder(db)
    try:
        await HistoryStore(recorder).append_turn("c", [UserMessage(text="hi"), AssistantMessage(text="hello")])  # type: ignore[arg-type]
        await UsageLedger(recorder).record(UsageRecord("g", "c", "7", "m", Usage(input_tokens=3, output_tokens=2)))  # type: ignore[arg-type]
        history_and_usage = list(recorder.durable)
        await AuditLog(recorder).record_tool_call(  # type: ignore[arg-type]
            ToolCallRecord(
                guild_id="g",
                channel_id="c",
                user_id="7",
                user_name="Ann",
                tool="calculate",
                arguments="{}",
                outcome="ok",
                duration_ms=1.0,
                summary="2",
            )
        )
    finally:
        await db.close()
    assert history_and_usage == [False, False]
    assert recorder.durable[2:] == [True]
