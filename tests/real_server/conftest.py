"""Opt-in tests against a real OpenAI-compatible server: set CONCIERGE_REAL_SERVER_URL and run `pytest -m real_server`.

scripts/real_server/start.sh --background      # prints http://127.0.0.1:8008/v1
CONCIERGE_REAL_SERVER_URL=http://127.0.0.1:8008/v1 .venv/bin/pytest -m real_server tests/real_server -q
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import openai
import pytest
import pytest_asyncio


@pytest.fixture
def real_server_url() -> str:
    """The server's base URL (ending in /v1); the test is skipped when none is configured."""
    url = os.environ.get("CONCIERGE_REAL_SERVER_URL", "").strip()
    if not url:
        pytest.skip("set CONCIERGE_REAL_SERVER_URL to run the real-server tests")
    return url


@pytest_asyncio.fixture
async def client(real_server_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    """The openai client the bot would build for this server: no key, no SDK retries, a CPU-friendly timeout."""
    client = openai.AsyncOpenAI(api_key="no-key-needed", base_url=real_server_url, max_retries=0, timeout=180)
    yield client
    await client.close()


@pytest_asyncio.fixture
async def model(client: openai.AsyncOpenAI) -> str:
    """The first model the server lists."""
    listed = await client.models.list()
    return listed.data[0].id
