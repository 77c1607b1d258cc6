"""Starting the test MCP servers (tests/mcp_servers/toolbox.py): stdio entries, and Streamable HTTP processes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from bot.mcp import HttpServer, McpTools, ServerConfig, StdioServer

TOOLBOX = str(Path(__file__).resolve().parent.parent / "mcp_servers" / "toolbox.py")


def stdio(name: str = "tb", *flags: str, **keys: Any) -> StdioServer:
    """A config entry that runs the toolbox over stdio."""
    return StdioServer(name=name, command=sys.executable, args=(TOOLBOX, "stdio", *flags), **keys)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class HttpToolbox:
    """The toolbox served over Streamable HTTP on a local port, in its own process; restartable on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    def config(self, name: str = "web", **keys: Any) -> HttpServer:
        return HttpServer(name=name, url=f"http://127.0.0.1:{self.port}/mcp", **keys)

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, TOOLBOX, "http", str(self.port), stderr=asyncio.subprocess.PIPE
        )
        assert self.process.stderr is not None
        async with asyncio.timeout(20):
            while b"Uvicorn running" not in (line := await self.process.stderr.readline()):
                if not line:
                    raise RuntimeError("the HTTP toolbox exited before it was ready")
        asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        process = self.process
        if process is not None and process.stderr is not None:
            while await process.stderr.readline():
                pass

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@contextlib.asynccontextmanager
async def running(*servers: ServerConfig, **options: Any) -> AsyncIterator[McpTools]:
    """McpTools started on `servers` (default timeout 10 s), closed afterwards."""
    options.setdefault("default_timeout", 10.0)
    options.setdefault("start_timeout", 10.0)
    tools = McpTools(list(servers), **options)
    try:
        await tools.start()
        yield tools
    finally:
        await tools.aclose()


async def until(tools: McpTools, condition: Callable[[], bool], seconds: float = 20.0) -> None:
    """Wait for the MCP side to report a change after which `condition` holds."""
    changed = asyncio.Event()
    tools.on_change(changed.set)
    async with asyncio.timeout(seconds):
        while not condition():
            await changed.wait()
            changed.clear()


def names(tools: McpTools) -> set[str]:
    return {spec.name for spec in tools.tools()}


def state(tools: McpTools, server: str) -> str:
    return next(status.state for status in tools.statuses() if status.server == server)
