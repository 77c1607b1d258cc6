"""A local stand-in for Discord's CDN: serves the attachment fixtures (and extra bodies) and counts requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from bot.attachments import SharedFile

FILES = Path(__file__).parent / "fixtures" / "attachments"
TYPES = {
    ".png": "image/png",
    ".gif": "image/gif",
    ".pdf": "application/pdf",
    ".txt": "text/plain; charset=utf-8",
    ".zip": "application/zip",
}


class FileServer:
    """Serves the fixture files (and any extra bodies) and counts the requests each path gets."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.extra: dict[str, bytes] = {}
        self.base = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.requests.append(name)
        if name in self.extra:
            return web.Response(body=self.extra[name])
        path = FILES / name
        if not path.is_file():
            return web.Response(status=404)
        return web.Response(body=path.read_bytes())

    def shared(self, name: str, *, size: int | None = None, content_type: str | None = "") -> SharedFile:
        """The file as Discord would announce it (size and type as reported)."""
        path = FILES / name
        real_size = len(self.extra[name]) if name in self.extra else path.stat().st_size
        announced = TYPES.get(path.suffix) if content_type == "" else content_type
        return SharedFile(filename=name, size=size or real_size, content_type=announced, url=f"{self.base}/{name}")


@asynccontextmanager
async def serve_files() -> AsyncIterator[FileServer]:
    """A FileServer listening on a free local port until the block ends."""
    files = FileServer()
    app = web.Application()
    app.router.add_get("/{name}", files.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    files.base = f"http://127.0.0.1:{port}"
    try:
        yield files
    finally:
        await runner.cleanup()
