"""The PostgreSQL backend: its migrations match SQLite's, a newer schema is refused, a failed step leaves no trace."""

from __future__ import annotations

import pytest

from bot.store.db import Database, Migration, SchemaTooNew, bundled_migrations, open_database
from bot.store.postgres import numbered

NOTES_V1 = Migration(version=1, name="001_notes.sql", sql="CREATE TABLE notes (id BIGINT PRIMARY KEY, text TEXT);")


def test_both_dialects_have_the_same_migrations() -> None:
    def names(dialect: str) -> list[tuple[int, str]]:
        return [(m.version, m.name) for m in bundled_migrations(dialect)]  # type: ignore[arg-type]

    assert names("sqlite") == names("postgres")


def test_placeholders_become_numbered_outside_string_literals() -> None:
    assert numbered("SELECT '?' , x FROM t WHERE a = ? AND b IN (?, ?)") == (
        "SELECT '?' , x FROM t WHERE a = $1 AND b IN ($2, $3)"
    )


@pytest.mark.asyncio
async def test_a_postgres_database_from_a_newer_version_is_refused(postgres_url: str) -> None:
    url = postgres_url
    db = await open_database(url)
    try:
        async with db.write() as conn:
            await conn.execute("INSERT INTO schema_migrations (version, name) VALUES (999, '999_future.sql')")
    finally:
        await db.close()
    with pytest.raises(SchemaTooNew, match=r"schema version 999.*only knows versions up to"):
        await open_database(url)


@pytest.mark.asyncio
async def test_a_failing_postgres_migration_leaves_no_trace_and_keeps_the_old_version(postgres_url: str) -> None:
    url = postgres_url
    broken = Migration(
        version=2, name="002_broken.sql", sql="CREATE TABLE half (x INTEGER); INSERT INTO nowhere VALUES (1);"
    )
    await (await open_database(url, migrations=[NOTES_V1])).close()
    with pytest.raises(Exception, match="nowhere"):
        await open_database(url, migrations=[NOTES_V1, broken])
    db: Database = await open_database(url, migrations=[NOTES_V1])
    try:
        assert await db.schema_version() == 1
        assert await db.fetchone("SELECT to_regclass('half')") == (None,)
    finally:
        await db.close()


@pytest.mark.asyncio
async def test_a_postgres_write_that_fails_is_rolled_back_whole(postgres_url: str) -> None:
    url = postgres_url
    db = await open_database(url, migrations=[NOTES_V1])
    try:
        with pytest.raises(RuntimeError, match="crash"):
            async with db.write() as conn:
                await conn.execute("INSERT INTO notes (id, text) VALUES (?, ?)", (1, "first"))
                raise RuntimeError("crash")
        assert await db.fetchone("SELECT count(*) FROM notes") == (0,)
    finally:
        await db.close()
