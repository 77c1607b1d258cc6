"""The SQLite backend: one file, pragmas, migrations (PRAGMA user_version), and the one serialized writer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pathlib
import re
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Sequence
from typing import Literal, Self
from urllib.parse import unquote, urlsplit

import aiosqlite

from bot.store.db import (
    DatabaseUnavailable,
    IntegrityError,
    Migration,
    Params,
    Row,
    SchemaTooNew,
    bundled_migrations,
)

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


def split_statements(sql: str) -> list[str]:
    """Split a migration script into single statements (semicolons in strings and triggers are respected)."""
    statements: list[str] = []
    start = 0
    for index, char in enumerate(sql):
        if char == ";" and sqlite3.complete_statement(sql[start : index + 1]):
            statement = sql[start : index + 1].strip()
            if statement.strip(";").strip():
                statements.append(statement)
            start = index + 1
    rest = sql[start:].strip()
    if rest and _has_code(rest):
        statements.append(rest)
    return statements


def _has_code(sql: str) -> bool:
    """True if `sql` holds more than comments and whitespace."""
    without_comments = re.sub(r"--[^\n]*|/\*.*?\*/", "", sql, flags=re.DOTALL)
    return bool(without_comments.strip())


def sqlite_path(url: str) -> pathlib.Path:
    """The file a `sqlite:///relative/path` or `sqlite:////absolute/path` DATABASE_URL names."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or parts.netloc or not parts.path.startswith("/") or len(parts.path) < 2:
        raise ValueError(f"DATABASE_URL must look like sqlite:///data/concierge.db, got {url!r}")
    return pathlib.Path(unquote(parts.path[1:]))


async def _fetch(conn: aiosqlite.Connection, sql: str, params: Params) -> list[Row]:
    async with conn.execute(sql, params) as cursor:
        return list(await cursor.fetchall())


async def _fetchone(conn: aiosqlite.Connection, sql: str, params: Params) -> Row | None:
    async with conn.execute(sql, params) as cursor:
        row = await cursor.fetchone()
    return None if row is None else tuple(row)


class SqliteConnection:
    """The writer inside one BEGIN IMMEDIATE transaction (which already locks the whole file for other writers)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query, as this transaction sees it."""
        return await _fetch(self._conn, sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, as this transaction sees it."""
        return await _fetchone(self._conn, sql, params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns how many rows it changed."""
        try:
            async with self._conn.execute(sql, params) as cursor:
                return max(cursor.rowcount, 0)
        except sqlite3.IntegrityError as error:
            raise IntegrityError(str(error)) from error

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """Run one statement once per parameter row."""
        try:
            await self._conn.executemany(sql, rows)
        except sqlite3.IntegrityError as error:
            raise IntegrityError(str(error)) from error

    async def lock(self, *key: str) -> None:
        """Nothing to do: BEGIN IMMEDIATE holds the file's write lock, against every process, until COMMIT."""


class SqliteDatabase:
    """One SQLite file: a shared read connection and one writer whose transactions never interleave."""

    dialect: Literal["sqlite"] = "sqlite"

    def __init__(self, *, path: pathlib.Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self._write_owner: asyncio.Task[object] | None = None
        self._synchronous_level: str | None = FULL  # as _connect leaves it; None while unknown
        self._closed = False

    @classmethod
    async def open(cls, path: pathlib.Path, *, migrations: Sequence[Migration] | None = None) -> Self:
        """Create the folder and file if needed, set the pragmas, apply pending migrations (bundled by default)."""
        path = pathlib.Path(path)
        steps = sorted(bundled_migrations("sqlite") if migrations is None else migrations, key=lambda m: m.version)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Plain sqlite3 first: aiosqlite does not wait for its worker thread when a connect fails, and the thread
            # then reports to an event loop that may be closed (a second traceback after the real error).
            await asyncio.to_thread(_can_open, path)
            writer = await _connect(path)
        except (OSError, sqlite3.Error) as error:
            raise _unavailable(path, error) from None
        try:
            await _migrate(writer, path=path, migrations=steps)
            reader = await _connect(path)
        except BaseException:
            await writer.close()
            raise
        try:
            await reader.execute("PRAGMA query_only = ON")
        except BaseException:
            await reader.close()
            await writer.close()
            raise
        return cls(path=path, writer=writer, reader=reader)

    @property
    def conn(self) -> aiosqlite.Connection:
        """The raw read connection (SQLite-only tests and pragmas); it sees committed data only."""
        return self._reader

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query over committed data."""
        return await _fetch(self._reader, sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query over committed data, or None."""
        return await _fetchone(self._reader, sql, params)

    @contextlib.asynccontextmanager
    async def write(self, *, durable: bool = True) -> AsyncIterator[SqliteConnection]:
        """`async with db.write() as conn:` one transaction (BEGIN IMMEDIATE), committed on exit, rolled back on error;
        `durable=False` commits without the fsync (synchronous=NORMAL: in WAL mode the commit survives the process,
        not a power loss)."""
        task = asyncio.current_task()
        if task is not None and task is self._write_owner:
            raise RuntimeError("db.write() is not re-entrant: this task already holds the write transaction")
        async with self._write_lock:
            if self._closed:
                raise RuntimeError("the database is closed")
            self._write_owner = task
            try:
                await self._synchronous(FULL if durable else NORMAL)
                await self._writer.execute("BEGIN IMMEDIATE")
                try:
                    yield SqliteConnection(self._writer)
                    await self._writer.execute("COMMIT")
                except BaseException:
                    # rollback() is a no-op if SQLite already ended the transaction itself.
                    await asyncio.shield(self._writer.rollback())
                    raise
            finally:
                self._write_owner = None

    async def _synchronous(self, level: str) -> None:
        """Set the writer's synchronous level before a transaction, when it differs (set every time it is needed,
        so a write cancelled before it could restore FULL cannot leave the next durable write without it)."""
        if self._synchronous_level != level:
            self._synchronous_level = None
            await self._writer.execute(f"PRAGMA synchronous = {level}")
            self._synchronous_level = level

    async def schema_version(self) -> int:
        """The schema version recorded in the file (PRAGMA user_version)."""
        return await _read_version(self._reader)

    async def close(self) -> None:
        """Wait for the running write transaction, then close both connections (safe to call twice)."""
        async with self._write_lock:
            if self._closed:
                return
            self._closed = True
            await self._reader.close()
            await self._writer.close()


def unusable_reason(path: pathlib.Path) -> str | None:
    """Why a SQLite database cannot be created or opened at `path`, found without creating anything; None if it can."""
    if path.is_dir():
        return f"{path} is a folder, not a file"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return f"{path} cannot be read and written by this user"
    folder = path.parent
    nearest = folder
    while not nearest.exists() and nearest != nearest.parent:
        nearest = nearest.parent
    if not nearest.is_dir():
        return f"the folder {folder} cannot be created: {nearest} is a file"
    try:  # SQLite also writes its -wal and -shm files beside the database, so the folder must take new files
        with tempfile.TemporaryFile(dir=nearest):
            pass
    except OSError as error:
        return f"cannot create files in {nearest} ({error.strerror or error})"
    return None


def _can_open(path: pathlib.Path) -> None:
    """Open the file (creating it) and read its header; raises what SQLite raises when it cannot."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA user_version").fetchone()
    finally:
        conn.close()


def _unavailable(path: pathlib.Path, error: OSError | sqlite3.Error) -> DatabaseUnavailable:
    """The one-line reason a SQLite file could not be opened, as precise as the file system lets us say."""
    reason = unusable_reason(path)
    if reason is None:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return DatabaseUnavailable(f"cannot open the SQLite database {path}: {reason}")


FULL = "FULL"
NORMAL = "NORMAL"


async def _connect(path: pathlib.Path) -> aiosqlite.Connection:
    """Open one connection with our pragmas; isolation_level=None so every BEGIN is ours."""
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await _use_wal(conn, path)
        await conn.execute("PRAGMA foreign_keys = ON")
        # FULL, not NORMAL: in WAL mode NORMAL skips the fsync at each commit, so a power loss can drop the last
        # commits. A booking or audit row must not vanish after the member was told it was done.
        await conn.execute("PRAGMA synchronous = FULL")
    except BaseException:
        await conn.close()
        raise
    return conn


async def read_schema_version(path: pathlib.Path) -> int:
    """PRAGMA user_version of the file at `path`, opened read-only; 0 if there is no file yet.

    A place where no database can be created or opened is DatabaseUnavailable, so a check never passes what start-up
    would refuse."""
    return await asyncio.to_thread(_read_version_now, path)


def _read_version_now(path: pathlib.Path) -> int:
    """PRAGMA user_version through a read-only connection (plain sqlite3: see SqliteDatabase.open)."""
    reason = unusable_reason(path)
    if reason is not None:
        raise DatabaseUnavailable(f"cannot open the SQLite database {path}: {reason}")
    if not path.exists():
        return 0
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = conn.execute("PRAGMA user_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise DatabaseUnavailable(f"cannot open the SQLite database {path}: {error}") from None
    return int(row[0]) if row else 0


async def _use_wal(conn: aiosqlite.Connection, path: pathlib.Path) -> None:
    """Switch to WAL; while another process opens or migrates the same new file, SQLite may answer "locked" at once
    instead of waiting, so try again for up to the busy timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
                row = await cursor.fetchone()
            break
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or loop.time() > deadline:
                raise
            await asyncio.sleep(0.01)
    if row is None or str(row[0]).lower() != "wal":
        raise RuntimeError(f"could not switch {path} to WAL journal mode (got {row!r})")


async def _read_version(conn: aiosqlite.Connection) -> int:
    """PRAGMA user_version on `conn`."""
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def _migrate(conn: aiosqlite.Connection, *, path: pathlib.Path, migrations: Sequence[Migration]) -> None:
    """Apply each migration newer than user_version in its own transaction; refuse a newer database."""
    known = migrations[-1].version if migrations else 0
    found = await _read_version(conn)
    if found > known:
        raise SchemaTooNew(where=path, found=found, known=known)
    for migration in migrations:
        if migration.version <= found:
            continue
        await conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the transaction: another process may have migrated while we waited for the lock.
            if await _read_version(conn) >= migration.version:
                await conn.execute("COMMIT")
                continue
            for statement in split_statements(migration.sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {migration.version:d}")
            await conn.execute("COMMIT")
        except BaseException:
            await conn.rollback()
            raise
        log.info("applied migration %s to %s", migration.name, path)
