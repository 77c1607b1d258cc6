"""Fixtures shared across the suite: the database in both backends (SQLite in tmp_path, a throwaway PostgreSQL).

PostgreSQL comes from CONCIERGE_TEST_POSTGRES_URL (a superuser URL; each test gets its own database there), or else
from a cluster started for the session with the machine's own initdb and pg_ctl. Without either, the PostgreSQL
cases are skipped, unless CONCIERGE_REQUIRE_POSTGRES=1 (as in .ci/run): then they fail, loudly.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from bot.store.db import Database, open_database
from tests.postgres import PostgresUnavailable, ThrowawayPostgres, create_database, drop_database

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str | None]:
    """The admin URL of a PostgreSQL server for the tests, or None (PostgreSQL cases skip) when there is none."""
    given = os.environ.get("CONCIERGE_TEST_POSTGRES_URL", "").strip()
    if given:
        yield given
        return
    folder = os.environ.get("CONCIERGE_TEST_POSTGRES_DIR", "").strip()
    try:
        server = ThrowawayPostgres.start(pathlib.Path(folder) if folder else None)
    except (PostgresUnavailable, OSError) as error:
        if os.environ.get("CONCIERGE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"CONCIERGE_REQUIRE_POSTGRES=1 but PostgreSQL could not start: {error}", pytrace=False)
        yield None
        return
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def _scratch_postgres(server: str | None) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL namespace on `server` for one test (skips the test without a server)."""
    if server is None:
        pytest.skip("no PostgreSQL: install it (initdb, pg_ctl) or set CONCIERGE_TEST_POSTGRES_URL")
    url = await create_database(server)
    try:
        yield url
    finally:
        await drop_database(server, url)


@pytest_asyncio.fixture(params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path, postgres_server: str | None
) -> AsyncIterator[str]:
    """A DATABASE_URL naming a new, empty database in each backend: a SQLite file, or a fresh PostgreSQL one."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'concierge.db'}"
        return
    async with _scratch_postgres(postgres_server) as url:
        yield url


@pytest_asyncio.fixture
async def postgres_url(postgres_server: str | None) -> AsyncIterator[str]:
    """A DATABASE_URL naming a new, empty PostgreSQL database, for the tests of that backend alone."""
    async with _scratch_postgres(postgres_server) as url:
        yield url


@pytest_asyncio.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A freshly migrated database in each backend, closed after the test."""
    database = await open_database(database_url)
    try:
        yield database
    finally:
        await database.close()
