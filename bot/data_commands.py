"""The command-line verbs that work on the data: `copy-data` and `import-restaurants`."""

from __future__ import annotations

import sys
from contextlib import AsyncExitStack
from pathlib import Path

from bot.app import SAMPLE_CATALOG, open_store
from bot.settings import Settings
from bot.store import SchemaTooNew
from bot.store.db import DatabaseUnavailable


async def copy_database(source_url: str, target_url: str) -> int:
    """`python -m bot copy-data SOURCE_URL TARGET_URL`: copy everything into an empty database, ids kept."""
    from bot.store.copy import TargetNotEmpty, copy_data
    from bot.store.db import open_database, schema_version_at

    try:
        # A mistyped source must not become a new empty database that "copies" nothing.
        if await schema_version_at(source_url) == 0:
            print(f"concierge: {missing_source(source_url)} (nothing was copied or created)", file=sys.stderr)
            return 1
        async with AsyncExitStack() as databases:
            source = await open_database(source_url)
            databases.push_async_callback(source.close)
            target = await open_database(target_url)
            databases.push_async_callback(target.close)
            copied = await copy_data(source, target, progress=lambda table, rows: print(f"{table}: {rows} rows"))
    except (TargetNotEmpty, SchemaTooNew, DatabaseUnavailable, ValueError) as error:
        print(f"concierge: {error}", file=sys.stderr)
        return 1
    tables = ", ".join(f"{table} {rows}" for table, rows in copied.items())
    print(f"copied {sum(copied.values())} rows ({tables}); point DATABASE_URL at the target to use it")
    return 0


def missing_source(url: str) -> str:
    """Why a copy-data source holds nothing to copy, naming it (a PostgreSQL URL without its password)."""
    from bot.store.db import redacted_url

    if url.startswith("sqlite:"):
        from bot.store.sqlite import sqlite_path

        path = sqlite_path(url)
        if not path.exists():
            return f"the source database {path} does not exist: check the path"
        return f"the source database {path} holds no Concierge data: check the path"
    return f"the source database {redacted_url(url)} holds no Concierge data: check the URL"


async def import_restaurant_catalog(settings: Settings, path: Path, *, replace: bool = False) -> int:
    """`python -m bot import-restaurants [--replace] FILE`: load a catalog in place of the samples (with `replace`, in
    place of every restaurant not in the file); a bad row names its line and nothing is imported."""
    from bot.catalog import CatalogFile, RestaurantsStillBooked
    from bot.restaurant_import import CatalogImportError, read_catalog, summary

    try:
        restaurants = await read_catalog(path)  # a missing or bad file is told before any database work
    except CatalogImportError as error:
        print(f"concierge: {error}", file=sys.stderr)
        return 1
    samples = CatalogFile.model_validate_json(SAMPLE_CATALOG.read_bytes()).restaurants
    store = await open_store(settings)
    try:
        change = await store.restaurants.import_catalog(restaurants, samples=samples, replace=replace)
    except RestaurantsStillBooked as error:
        print(f"concierge: {path.name}: {error}; nothing was imported", file=sys.stderr)
        return 1
    finally:
        await store.close()
    print(summary(change, path))
    return 0
