"""The seam between the stores and a database: the Database and Connection protocols, migrations, opening by URL.

Stores write SQL once with `?` placeholders; each backend runs it (bot.store.sqlite, bot.store.postgres). Reads go
through the Database; every write goes through `async with db.write() as conn:`, one transaction committed on exit.
"""

from __future__ import annotations

import importlib.resources
import re
import urllib.parse
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Dialect = Literal["sqlite", "postgres"]
Row = Sequence[Any]
Params = Sequence[object]

_MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_SECRET_PARAMETERS = frozenset({"password", "sslpassword"})


class SchemaTooNew(Exception):
    """The database was written by a newer Concierge than this one; opening it could damage it."""

    def __init__(self, *, where: object, found: int, known: int) -> None:
        super().__init__(
            f"database {where} has schema version {found}, but this Concierge only knows versions up to {known}; "
            "upgrade Concierge or point DATABASE_URL at another database"
        )
        self.where = where
        self.found = found
        self.known = known


class DatabaseUnavailable(Exception):
    """The database server could not be reached or refused us (wrong host, password or database name)."""


class IntegrityError(Exception):
    """A write broke a constraint (a unique key, a CHECK, a foreign key), in either backend."""


class Reader(Protocol):
    """Runs queries; both a Database (committed data) and a Connection (inside its transaction) can."""

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query."""
        ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, or None."""
        ...


class Connection(Reader, Protocol):
    """The connection of one write transaction."""

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns how many rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """Run one statement once per parameter row."""
        ...

    async def lock(self, *key: str) -> None:
        """Hold a lock named by `key` until the transaction ends, across every process sharing the database."""
        ...


class Database(Reader, Protocol):
    """One database: reads see committed data; `write()` is one transaction."""

    @property
    def dialect(self) -> Dialect:
        """Which SQL dialect the database speaks."""
        ...

    def write(self, *, durable: bool = True) -> AbstractAsyncContextManager[Connection]:
        """`async with db.write() as conn:` one transaction, committed on exit, rolled back on error.

        `durable=False` commits without waiting for the disk: such a commit survives the process being killed, but
        not the machine losing power or the OS crashing. For rows that may be lost then (conversation history,
        usage), never for bookings, policies or the audit log.
        """
        ...

    async def schema_version(self) -> int:
        """The newest migration applied."""
        ...

    async def close(self) -> None:
        """Close after any write in progress (safe to call twice)."""
        ...


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema step."""

    version: int
    name: str
    sql: str


def bundled_migrations(dialect: Dialect = "sqlite") -> list[Migration]:
    """The migrations shipped in bot/store/migrations/<dialect>, in version order (read as package data)."""
    folder = importlib.resources.files("bot.store") / "migrations" / dialect
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


def dialect_of(url: str) -> Dialect:
    """Which backend a DATABASE_URL names: sqlite:///… or postgresql://…"""
    if url.startswith("sqlite:"):
        return "sqlite"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgres"
    raise ValueError(
        "DATABASE_URL must look like sqlite:///data/concierge.db or postgresql://user@host/db, "
        f"got {redacted_url(url)!r}"
    )


def redacted_url(url: str) -> str:
    """A DATABASE_URL fit for messages and logs: no password, whether in the user info or a `?password=` parameter.

    The URL is split as scheme://netloc/path?query. The user info lives only in the netloc: it ends at the last `@`
    before the query's first `=` (a password may hold a raw `@`, `/`, `?` or `#`; a query value may hold an `@`),
    and only its user name is kept. In the query, `password` and `sslpassword` parameters are dropped, each value
    ending at the next `&` or `#`; a `#fragment` is never shown (a password's tail could sit there). A password
    holding a raw `?` followed by `=`, in a URL without a database name, reads as a query (as drivers read it too).
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    query_start = rest.find("?")
    first_value = rest.find("=", query_start) if query_start >= 0 else -1
    at = rest.rfind("@", 0, first_value if first_value >= 0 else len(rest))
    user = ""
    if at >= 0:
        user, rest = f"{rest[:at].split(':', 1)[0]}@", rest[at + 1 :]
    place, question, query = rest.partition("?")
    place = place.partition("#")[0]
    query = query.partition("#")[0]
    if question:
        kept = [part for part in query.split("&") if _parameter_name(part) not in _SECRET_PARAMETERS]
        query = "&".join(part for part in kept if part)
    return f"{scheme}{sep}{user}{place}" + (f"?{query}" if query else "")


def _parameter_name(part: str) -> str:
    """A query parameter's name as drivers read it: percent-decoded, compared without regard to case."""
    return urllib.parse.unquote_plus(part.partition("=")[0]).strip().lower()


async def schema_version_at(url: str) -> int:
    """The schema version of the database a DATABASE_URL names, read without creating or migrating anything."""
    if dialect_of(url) == "postgres":
        from bot.store.postgres import read_schema_version

        return await read_schema_version(url)
    from bot.store.sqlite import read_schema_version as read_sqlite_version
    from bot.store.sqlite import sqlite_path

    return await read_sqlite_version(sqlite_path(url))


async def open_database(url: str, *, migrations: Sequence[Migration] | None = None) -> Database:
    """Open (creating and migrating if needed) the database a DATABASE_URL names."""
    if dialect_of(url) == "postgres":
        from bot.store.postgres import PostgresDatabase

        return await PostgresDatabase.open(url, migrations=migrations)
    from bot.store.sqlite import SqliteDatabase, sqlite_path

    return await SqliteDatabase.open(sqlite_path(url), migrations=migrations)
