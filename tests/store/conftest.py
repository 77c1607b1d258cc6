"""Shared fixtures for the store tests: a real SQLite database in tmp_path."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator

import pytest_asyncio

from bot.store.db import Database


@pytest_asyncio.fixture
async def db(tmp_path: pathlib.Path) -> AsyncIterator[Database]:
    """A freshly migrated database, closed after the test."""
    database = await Database.open(tmp_path / "concierge.db")
    try:
        yield database
    finally:
        await database.close()
