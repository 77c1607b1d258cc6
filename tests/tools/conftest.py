"""Fixtures for the web tools' tests: a local HTTP server answering from recorded files, and a client session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Received:
    """One request the fixture server saw."""

    path: str
    query: Mapping[str, str]
    user_agent: str | None


@dataclass(frozen=True)
class _Rule:
    path: str
    when: Mapping[str, str]
    status: int
    body: bytes | None  # None: hang until the test ends


@dataclass
class FixtureServer:
    """A local server: tests tell it what to answer per path (and query), then read what it received."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    _rules: list[_Rule] = field(default_factory=list)
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    def reply(
        self,
        path: str,
        fixture: str | None = None,
        *,
        status: int = 200,
        raw: bytes | None = None,
        when: Mapping[str, str] | None = None,
    ) -> None:
        """Answer GET `path` (when its query has the `when` items) with a fixture file or raw bytes."""
        if fixture is not None:
            body = (FIXTURES / fixture).read_text(encoding="utf-8").replace("{{base_url}}", self.url).encode()
        else:
            body = raw if raw is not None else b'{"error": "fixture server says no"}'
        self._rules.append(_Rule(path, dict(when or {}), status, body))

    def hang(self, path: str, *, when: Mapping[str, str] | None = None) -> None:
        """Never answer GET `path` while the test runs (a service that times out)."""
        self._rules.append(_Rule(path, dict(when or {}), 504, None))

    def hits(self, path: str) -> int:
        """How many requests reached `path`."""
        return sum(1 for request in self.requests if request.path == path)

    async def handle(self, request: web.Request) -> web.Response:
        """Record the request and answer with the most recent matching rule."""
        self.requests.append(Received(request.path, dict(request.query), request.headers.get("User-Agent")))
        for rule in reversed(self._rules):
            if rule.path == request.path and all(request.query.get(k) == v for k, v in rule.when.items()):
                if rule.body is None:
                    await self._release.wait()
                    return web.Response(status=rule.status)
                return web.Response(status=rule.status, body=rule.body, content_type="application/json")
        return web.json_response({"error": f"no fixture for {request.path}"}, status=404)

    def release(self) -> None:
        """Let hanging handlers finish, so the server can close at once."""
        self._release.set()


@pytest_asyncio.fixture
async def fixture_server() -> AsyncIterator[FixtureServer]:
    """A FixtureServer on 127.0.0.1 with a free port, closed after the test."""
    state = FixtureServer()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", state.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    state.url = str(server.make_url("")).rstrip("/")
    try:
        yield state
    finally:
        state.release()
        await server.close()


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """The HTTP client the tools borrow, as the app would lend it."""
    async with aiohttp.ClientSession() as client:
        yield client
