"""The web tools' shared HTTP: redirects may not carry a request to another host, nor off https."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import BaseModel

from bot.engine.tools import ToolError
from tools._http import fetch_json


class _Answer(BaseModel):
    where: str


@dataclass
class _Server:
    """A local server whose one route answers as the test says; it counts what it received."""

    url: str = ""
    answer: Callable[[web.Request], web.StreamResponse] = lambda request: web.json_response({"where": "default"})
    paths: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.paths.append(request.path)
        return self.answer(request)


async def _start(state: _Server, *, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None) -> TestServer:
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", state.handle)
    server = TestServer(app, host=host, port=0, scheme="https" if ssl_context else "http")
    await server.start_server(ssl=ssl_context)
    state.url = str(server.make_url("")).rstrip("/")
    return server


@pytest_asyncio.fixture
async def upstream() -> AsyncIterator[_Server]:
    state = _Server()
    server = await _start(state)
    yield state
    await server.close()


@pytest_asyncio.fixture
async def internal() -> AsyncIterator[_Server]:
    """Something that must never be asked: an internal service the upstream would like the bot to read."""
    state = _Server(answer=lambda request: web.json_response({"where": "internal secrets"}))
    server = await _start(state)
    yield state
    await server.close()


def _redirect(to: str, status: int = 302) -> Callable[[web.Request], web.StreamResponse]:
    return lambda request: web.Response(status=status, headers={"Location": to})


async def _get(session: aiohttp.ClientSession, url: str) -> _Answer:
    return await fetch_json(session, url, params={"q": "x"}, model=_Answer, service="Upstream", timeout_seconds=5)


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_to_another_host_is_not_followed_and_that_host_is_never_asked(
    upstream: _Server, internal: _Server, status: int
) -> None:
    upstream.answer = _redirect(f"{internal.url}/latest/meta-data", status)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ToolError) as refused:
            await _get(session, f"{upstream.url}/api")
    assert refused.value.message == "Upstream redirected the request elsewhere; it was not followed"
    assert internal.paths == []


@pytest.mark.asyncio
async def test_a_redirect_to_the_same_host_over_plain_http_is_not_followed(upstream: _Server) -> None:
    def answer(request: web.Request) -> web.StreamResponse:
        if request.path == "/api":
            return web.Response(status=301, headers={"Location": "/elsewhere"})
        return web.json_response({"where": "elsewhere"})

    upstream.answer = answer
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ToolError, match="redirected the request elsewhere"):
            await _get(session, f"{upstream.url}/api")
    assert upstream.paths == ["/api"]


@pytest.mark.asyncio
async def test_a_redirect_to_a_name_for_the_same_machine_is_another_host(upstream: _Server) -> None:
    port = upstream.url.rsplit(":", 1)[1]
    upstream.answer = _redirect(f"https://localhost:{port}/api")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ToolError, match="redirected the request elsewhere"):
            await _get(session, f"{upstream.url}/api")


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder: Path = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.asyncio
async def test_a_redirect_within_the_same_https_host_is_followed_a_few_times_only(tls_context: ssl.SSLContext) -> None:
    state = _Server()

    def answer(request: web.Request) -> web.StreamResponse:
        hop = int(request.query.get("hop", "0"))
        if request.path == "/loop":
            return web.Response(status=302, headers={"Location": f"/loop?hop={hop + 1}"})
        if request.path == "/moved":
            return web.Response(status=308, headers={"Location": f"{state.url}/here"})
        return web.json_response({"where": request.path})

    state.answer = answer
    server = await _start(state, ssl_context=tls_context)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
            assert (await _get(session, f"{state.url}/moved")).where == "/here"
            with pytest.raises(ToolError, match="redirected too many times"):
                await _get(session, f"{state.url}/loop")
    finally:
        await server.close()
    assert state.paths[:2] == ["/moved", "/here"]
    assert state.paths.count("/loop") == 4
