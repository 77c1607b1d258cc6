"""The PostgreSQL backend (asyncpg): a connection pool, `?` placeholders as `$n`, migrations, cross-process locks.

Several processes may share one database. Transactions run at READ COMMITTED; a store that must decide on what it
read (a booking's capacity, a channel's next turn number) first takes `conn.lock(...)`, a transaction-scoped
advisory lock every process honours, and reads after it. Migrations run under one advisory lock too.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Literal, Self

import asyncpg

from bot.store.db import (
    DatabaseUnavailable,
    IntegrityError,
    Migration,
    Params,
    Row,
    SchemaTooNew,
    bundled_migrations,
    redacted_url,
)

log = logging.getLogger(__name__)

POOL_MIN_SIZE = 1
POOL_MAX_SIZE = 10
_MIGRATION_LOCK = 0x636F6E63  # "conc": the advisory lock every process takes to migrate
_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""


@functools.lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """`sql` with each `?` placeholder outside string literals written as PostgreSQL's `$1`, `$2`, …"""
    parts: list[str] = []
    count = 0
    quoted = False
    for char in sql:
        if char == "'":
            quoted = not quoted
        elif char == "?" and not quoted:
            count += 1
            parts.append(f"${count}")
            continue
        parts.append(char)
    return "".join(parts)


def _changed(status: str) -> int:
    """Rows changed, from a command status such as 'UPDATE 3' or 'INSERT 0 1'."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


@contextlib.contextmanager
def _constraints() -> Iterator[None]:
    """Turn asyncpg's constraint violations into the store's IntegrityError."""
    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as error:
        raise IntegrityError(str(error)) from error


class PostgresConnection:
    """One pooled connection inside its transaction."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query, as this transaction sees it."""
        with _constraints():
            return list(await self._conn.fetch(numbered(sql), *params))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, as this transaction sees it."""
        with _constraints():
            row: Row | None = await self._conn.fetchrow(numbered(sql), *params)
        return row

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns how many rows it changed."""
        with _constraints():
            return _changed(await self._conn.execute(numbered(sql), *params))

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """Run one statement once per parameter row."""
        with _constraints():
            await self._conn.executemany(numbered(sql), rows)

    async def lock(self, *key: str) -> None:
        """Take the advisory lock named by `key` until the transaction ends (every process waits for it)."""
        await self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "\x1f".join(key))


class PostgresDatabase:
    """One PostgreSQL database through a pool of connections."""

    dialect: Literal["postgres"] = "postgres"

    def __init__(self, pool: Any, *, where: str) -> None:
        self._pool = pool
        self.where = where
        self._closed = False

    @classmethod
    async def open(cls, url: str, *, migrations: Sequence[Migration] | None = None) -> Self:
        """Connect, apply pending migrations (bundled by default) and return the database."""
        steps = sorted(bundled_migrations("postgres") if migrations is None else migrations, key=lambda m: m.version)
        where = _redacted(url)
        pool = await _reach(asyncpg.create_pool(url, min_size=POOL_MIN_SIZE, max_size=POOL_MAX_SIZE), where)
        try:
            async with pool.acquire() as conn:
                await _migrate(conn, where=where, migrations=steps)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, where=where)

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query over committed data."""
        return list(await self._pool.fetch(numbered(sql), *params))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query over committed data, or None."""
        row: Row | None = await self._pool.fetchrow(numbered(sql), *params)
        return row

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[PostgresConnection]:
        """`async with db.write() as conn:` one transaction on one pooled connection, committed on exit."""
        if self._closed:
            raise RuntimeError("the database is closed")
        async with self._pool.acquire() as conn, conn.transaction():
            yield PostgresConnection(conn)

    async def schema_version(self) -> int:
        """The newest migration applied."""
        async with self._pool.acquire() as conn:
            return await _read_version(conn)

    async def close(self) -> None:
        """Wait for connections in use to be released, then close the pool (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        await self._pool.close()


async def read_schema_version(url: str) -> int:
    """The schema version of the database at `url`, read on one short connection (nothing is created)."""
    conn = await _reach(asyncpg.connect(url), _redacted(url))
    try:
        return await _read_version(conn)
    finally:
        await conn.close()


async def _reach(connecting: Any, where: str) -> Any:
    """Await a connection or pool; failing to reach or log in is DatabaseUnavailable, in one line."""
    try:
        return await connecting
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise DatabaseUnavailable(f"cannot connect to {where}: {error}") from error


def _redacted(url: str) -> str:
    """The URL without its password (user info or `?password=`), for messages."""
    return redacted_url(url)


async def _read_version(conn: Any) -> int:
    """The newest applied migration (0 on a database Concierge never touched)."""
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return 0
    return int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))


async def _migrate(conn: Any, *, where: str, migrations: Sequence[Migration]) -> None:
    """Apply each pending migration in its own transaction under the migration lock; refuse a newer database."""
    known = migrations[-1].version if migrations else 0
    found = await _read_version(conn)
    if found > known:
        raise SchemaTooNew(where=where, found=found, known=known)
    for migration in migrations:
        if migration.version <= found:
            continue
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(_VERSION_TABLE)
            # Re-read under the lock: another process may have migrated while we waited for it.
            if await _read_version(conn) >= migration.version:
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", migration.version, migration.name
            )
        log.info("applied migration %s to %s", migration.name, where)
