"""The SQLite database: connections, pragmas, numbered migrations, and the one serialized writer."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import logging
import pathlib
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Self
from urllib.parse import unquote, urlsplit

import aiosqlite

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
_MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


class SchemaTooNew(Exception):
    """The database was written by a newer Concierge than this one; opening it could damage it."""

    def __init__(self, *, path: pathlib.Path, found: int, known: int) -> None:
        super().__init__(
            f"database {path} has schema version {found}, but this Concierge only knows versions up to {known}; "
            "upgrade Concierge or point DATABASE_URL at another file"
        )
        self.path = path
        self.found = found
        self.known = known


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema step; `version` becomes PRAGMA user_version once it is applied."""

    version: int
    name: str
    sql: str


def bundled_migrations() -> list[Migration]:
    """The migrations shipped in bot/store/migrations, in version order (read as package data)."""
    folder = importlib.resources.files("bot.store") / "migrations"
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match is None:
            continue
        found.append(Migration(version=int(match[1]), name=entry.name, sql=entry.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {[m.name for m in found]}")
    return found


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


class Database:
    """One SQLite file: a shared read connection and one writer whose transactions never interleave."""

    def __init__(self, *, path: pathlib.Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self._write_owner: asyncio.Task[object] | None = None
        self._closed = False

    @classmethod
    async def open(cls, path: pathlib.Path, *, migrations: Sequence[Migration] | None = None) -> Self:
        """Create the folder and file if needed, set the pragmas, apply pending migrations (bundled by default)."""
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        steps = sorted(bundled_migrations() if migrations is None else migrations, key=lambda m: m.version)
        writer = await _connect(path)
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
        """A connection for reads (SELECT) only; it sees committed data, never a write in progress."""
        return self._reader

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """`async with db.write() as conn:` one transaction (BEGIN IMMEDIATE), committed on exit, rolled back on error."""
        task = asyncio.current_task()
        if task is not None and task is self._write_owner:
            raise RuntimeError("db.write() is not re-entrant: this task already holds the write transaction")
        async with self._write_lock:
            if self._closed:
                raise RuntimeError("the database is closed")
            self._write_owner = task
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                try:
                    yield self._writer
                    await self._writer.execute("COMMIT")
                except BaseException:
                    # rollback() is a no-op if SQLite already ended the transaction itself.
                    await asyncio.shield(self._writer.rollback())
                    raise
            finally:
                self._write_owner = None

    async def user_version(self) -> int:
        """The schema version recorded in the file."""
        async with self._reader.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def close(self) -> None:
        """Wait for the running write transaction, then close both connections (safe to call twice)."""
        async with self._write_lock:
            if self._closed:
                return
            self._closed = True
            await self._reader.close()
            await self._writer.close()


async def _connect(path: pathlib.Path) -> aiosqlite.Connection:
    """Open one connection with our pragmas; isolation_level=None so every BEGIN is ours."""
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
            row = await cursor.fetchone()
        if row is None or str(row[0]).lower() != "wal":
            raise RuntimeError(f"could not switch {path} to WAL journal mode (got {row!r})")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # FULL, not NORMAL: in WAL mode NORMAL skips the fsync at each commit, so a power loss can drop the last
        # commits. A booking or audit row must not vanish after the member was told it was done.
        await conn.execute("PRAGMA synchronous = FULL")
    except BaseException:
        await conn.close()
        raise
    return conn


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
        raise SchemaTooNew(path=path, found=found, known=known)
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
