"""One MCP server's connection, owned by one task: connect, list tools, follow changes, reconnect with backoff, stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Literal, TextIO

import anyio
import httpx2
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp import ClientSession, StdioServerParameters, stdio_client, types
from mcp.client.streamable_http import MCP_SESSION_ID, streamable_http_client
from mcp.shared._httpx_utils import MCP_DEFAULT_SSE_READ_TIMEOUT, MCP_DEFAULT_TIMEOUT
from mcp.shared.message import SessionMessage

from bot.mcp.config import ServerConfig, StdioServer

log = logging.getLogger(__name__)

State = Literal["connecting", "connected", "failed", "stopped"]
MAX_BACKOFF_SECONDS = 30.0
FIRST_BACKOFF_SECONDS = 0.5
RETRY_CONNECT_SECONDS = 60.0  # later attempts may take longer than start-up waits (a first `npx` download)
_CLIENT_INFO = types.Implementation(name="concierge", version="0.1.0")


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """Where one server stands: connecting, connected (with how many tools), failed (with the error), stopped."""

    server: str
    state: State
    tools: int = 0
    error: str = ""


class ServerUnavailable(Exception):
    """The server is not connected right now; the message says why (safe for the model)."""


class ServerConnection:
    """The live connection to one configured server; `tools` and `status` follow it, `changed` is told of each change.

    All of the connection's work (the SDK's transports and cancel scopes) happens in the one task `start` creates.
    """

    def __init__(
        self,
        config: ServerConfig,
        *,
        connect_timeout: float,
        changed: Callable[[ServerConnection], None],
        max_backoff: float = MAX_BACKOFF_SECONDS,
        errlog: TextIO | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self.tools: list[types.Tool] = []
        self.status = ServerStatus(server=config.name, state="connecting")
        self.first_attempt = asyncio.Event()
        self._connect_timeout = connect_timeout
        self._changed = changed
        self._max_backoff = max_backoff
        self._errlog = errlog if errlog is not None else sys.stderr
        self._session: ClientSession | None = None
        self._scope: anyio.CancelScope | None = None
        self._wake = asyncio.Event()
        self._refresh = False
        self._gone = False
        self._lost_reason = "the connection closed"
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin connecting (and reconnecting, until `aclose`) in the connection's own task."""
        self._task = asyncio.create_task(self._own(), name=f"mcp server {self.name}")

    async def aclose(self, grace: float = 15.0) -> None:
        """Stop the connection and its server process; waits for the SDK's own orderly shutdown."""
        self._stopping = True
        self._wake.set()
        if self._scope is not None:
            self._scope.cancel()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def not_ready_by(self, seconds: float) -> None:
        """Start-up is over: a server still connecting is reported failed (its attempt goes on in the background)."""
        if self.status.state == "connecting" and not self.first_attempt.is_set():
            log.warning("MCP server %s: not ready within %g s; left out for now, still trying", self.name, seconds)
            self._set(
                ServerStatus(server=self.name, state="failed", error=f"not ready within {seconds:g} s"), tools=None
            )
        self.first_attempt.set()

    async def call(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        """Call `tool` on the server now; ServerUnavailable when it is not connected."""
        session = self._session
        if session is None:
            raise ServerUnavailable(self._unavailable_reason())
        return await session.call_tool(tool, arguments)

    def _unavailable_reason(self) -> str:
        if self.status.state == "failed":
            return f"the MCP server {self.name!r} is unavailable ({self.status.error}); it is being restarted"
        return f"the MCP server {self.name!r} is not connected yet; try again shortly"

    async def _own(self) -> None:
        attempt = 0
        while not self._stopping:
            self._set(ServerStatus(server=self.name, state="connecting"), tools=None)
            try:
                attempt = 0 if await self._connect_and_serve() else attempt
                error = self._lost_reason
            except Exception as exc:
                error = _one_line(exc)
            if self._stopping:
                break
            log.warning("MCP server %s: %s; retrying", self.name, error)
            self._set(ServerStatus(server=self.name, state="failed", error=error), tools=[])
            self.first_attempt.set()
            delay = backoff_seconds(attempt, self._max_backoff)
            attempt += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait_stop(), delay)
        self._set(ServerStatus(server=self.name, state="stopped"), tools=[])
        self.first_attempt.set()

    async def _wait_stop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            await self._wake.wait()

    async def _connect_and_serve(self) -> bool:
        """Connect, list, then follow the server until it goes away; True if it was connected at some point."""
        self._gone = self._refresh = False
        self._lost_reason = "the connection closed"
        connected = False
        bound = (
            self._connect_timeout
            if not self.first_attempt.is_set()
            else max(self._connect_timeout, RETRY_CONNECT_SECONDS)
        )
        with anyio.CancelScope(deadline=anyio.current_time() + bound) as scope:
            self._scope = scope
            if self._stopping:
                scope.cancel()
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport())
                group = await stack.enter_async_context(anyio.create_task_group())
                stack.callback(group.cancel_scope.cancel)
                watched_send, watched = anyio.create_memory_object_stream[SessionMessage | Exception](0)
                group.start_soon(self._forward, read, watched_send)
                session = await stack.enter_async_context(
                    ClientSession(watched, write, message_handler=self._on_message, client_info=_CLIENT_INFO)
                )
                await session.initialize()
                tools = await _list_tools(session)
                scope.deadline = math.inf
                self._session = session
                connected = True
                self._set(ServerStatus(server=self.name, state="connected", tools=len(tools)), tools=tools)
                log.info("MCP server %s: connected, %d tools", self.name, len(tools))
                self.first_attempt.set()
                await self._follow(session)
        self._scope = None
        self._session = None
        if scope.cancelled_caught and not connected and not self._stopping:
            raise TimeoutError(f"not ready within {bound:g} s")
        return connected

    async def _follow(self, session: ClientSession) -> None:
        """Refresh the tools on each list_changed until the connection is gone or the manager stops."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._gone or self._stopping:
                self._session = None
                return
            if self._refresh:
                self._refresh = False
                with anyio.fail_after(self._connect_timeout):
                    tools = await _list_tools(session)
                self._set(ServerStatus(server=self.name, state="connected", tools=len(tools)), tools=tools)

    def _transport(self) -> contextlib.AbstractAsyncContextManager[Any]:
        config = self.config
        if isinstance(config, StdioServer):
            parameters = StdioServerParameters(
                command=config.command,
                args=list(config.args),
                env=config.env or None,
                cwd=config.cwd,
            )
            return stdio_client(parameters, errlog=self._errlog)
        return _http_transport(config.url, config.headers, lost=self._lose)

    def _lose(self, reason: str = "the connection closed") -> None:
        """The connection is gone (the process ended, or the remote server forgot our session)."""
        if not self._gone:
            self._lost_reason = reason
            if not self._stopping and self.status.state == "connected":  # its tools leave now, not after teardown
                self._set(ServerStatus(server=self.name, state="failed", error=reason), tools=[])
        self._session = None
        self._gone = True
        self._wake.set()

    async def _forward(
        self,
        source: MemoryObjectReceiveStream[SessionMessage | Exception] | Any,
        sink: MemoryObjectSendStream[SessionMessage | Exception],
    ) -> None:
        """Pass the server's messages to the session, noticing when the connection ends or the session is lost."""
        try:
            async with sink:
                async for item in source:
                    await sink.send(item)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream):
            pass
        finally:
            self._lose()

    async def _on_message(self, message: types.ServerNotification | Exception) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self._refresh = True
            self._wake.set()

    def _set(self, status: ServerStatus, *, tools: list[types.Tool] | None) -> None:
        self.status = status
        if tools is not None:
            self.tools = tools
        self._changed(self)


class _WatchedTransport(httpx2.AsyncHTTPTransport):
    """HTTP that notices when the server of an established session is gone: unreachable, or restarted (404)."""

    def __init__(self, lost: Callable[[str], None]) -> None:
        super().__init__()
        self._lost = lost

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        in_session = MCP_SESSION_ID in request.headers
        try:
            response = await super().handle_async_request(request)
        except httpx2.TransportError as error:
            if in_session:
                self._lost(f"cannot reach the server ({type(error).__name__})")
            raise
        if in_session and response.status_code == 404:
            self._lost("the server no longer knows our session (it restarted)")
        return response


@contextlib.asynccontextmanager
async def _http_transport(url: str, headers: dict[str, str], *, lost: Callable[[str], None]) -> AsyncIterator[Any]:
    client = httpx2.AsyncClient(
        headers=headers,
        timeout=httpx2.Timeout(MCP_DEFAULT_TIMEOUT, read=MCP_DEFAULT_SSE_READ_TIMEOUT),
        transport=_WatchedTransport(lost),
    )
    async with client, streamable_http_client(url, http_client=client) as streams:
        yield streams


async def _list_tools(session: ClientSession) -> list[types.Tool]:
    tools: list[types.Tool] = []
    cursor: str | None = None
    for _ in range(100):  # a server paging forever must not hold the connection
        result = await session.list_tools(params=types.PaginatedRequestParams(cursor=cursor) if cursor else None)
        tools.extend(result.tools)
        cursor = result.next_cursor
        if not cursor:
            break
    return tools


def backoff_seconds(attempt: int, cap: float = MAX_BACKOFF_SECONDS) -> float:
    """The wait before retry number `attempt` (0 after a connection was lost): doubling from 0.5 s up to `cap`, and
    still `cap` after days of failed attempts."""
    return min(cap, FIRST_BACKOFF_SECONDS * 2.0 ** min(attempt, 64))


def _one_line(error: BaseException) -> str:
    """The innermost cause of `error` as one short line, without a traceback."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, httpx2.TransportError):
        return f"cannot reach the server ({type(error).__name__}: {text})"[:300]
    if isinstance(error, OSError | TimeoutError) and type(error).__name__ not in text:
        text = f"{type(error).__name__}: {text}"
    return text[:300]
