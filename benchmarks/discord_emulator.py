"""An emulated Discord for benchmarks: the REST API and the gateway a bot uses, on 127.0.0.1, in one aiohttp server.

    async with DiscordEmulator(channels=10) as discord_:
        # in the bot's process: discord.http.Route.BASE = discord_.api_base
        await discord_.wait_connected()
        sent_at = await discord_.say(channel_id, "hello")   # a member's message, as MESSAGE_CREATE

It plays one guild with text channels, an @everyone role and a few members; a bot that logs in gets READY and
GUILD_CREATE, its heartbeats are acknowledged, and what it does over REST (messages, edits, deletes, threads, typing,
member fetches, command sync) is answered the way Discord answers and recorded with the time it arrived, so a
benchmark can tell when a bot message first showed the whole answer and how many calls a turn took. Message routes
are rate limited per channel as Discord does (5 requests per 5 s for each route, with the same headers), so a bot
that edits too often waits as it would on Discord. Gateway frames are plain JSON text (discord.py only decompresses
bytes). Run on demand only: this is a benchmark fixture, not a test double with assertions.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from discord_payloads import (
    APPLICATION_ID,
    BOT_ID,
    GUILD_ID,
    MEMBER_ID,
    TIMESTAMP,
    application,
    command,
    guild,
    member,
    user,
)

ROUTE_LIMIT = 5  # requests per window, per route and channel (Discord's limit for sending and editing messages)
ROUTE_WINDOW = 5.0


@dataclass(frozen=True, slots=True)
class RestCall:
    """One REST request the bot made: when it arrived (perf_counter), the route and what it carried."""

    at: float
    method: str
    path: str
    channel_id: int | None
    body: Any
    status: int

    @property
    def content(self) -> str | None:
        """The message text a create or edit carried (None for other calls)."""
        if isinstance(self.body, dict) and self.method in ("POST", "PATCH") and "/messages" in self.path:
            value = self.body.get("content")
            return value if isinstance(value, str) else None
        return None


@dataclass
class _Bucket:
    times: deque[float] = field(default_factory=deque)


def _json(data: Any, *, status: int = 200) -> web.Response:
    """A JSON answer whose Content-Type is exactly `application/json`, as discord.py checks."""
    response = web.Response(text=json.dumps(data), status=status)
    response.headers["Content-Type"] = "application/json"
    return response


class DiscordEmulator:
    """The emulated Discord; an async context manager. `api_base` is what discord.http.Route.BASE must be."""

    def __init__(self, *, channels: int = 10, members: int = 5) -> None:
        self._ids = itertools.count(GUILD_ID + 1_000)
        self.channel_ids = [next(self._ids) for _ in range(channels)]
        self.member_ids = [MEMBER_ID + n for n in range(members)]
        self.calls: list[RestCall] = []
        self.threads: dict[int, int] = {}  # thread id -> parent channel id
        self.thread_opened = asyncio.Event()
        self._messages: dict[int, dict[str, Any]] = {}
        self._buckets: dict[tuple[str, str, int], _Bucket] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._sequence = itertools.count(1)
        self._connected = asyncio.Event()
        self._server: TestServer | None = None
        self._expected: dict[str, asyncio.Future[RestCall]] = {}
        self._called = asyncio.Event()

    # -- lifetime -----------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on."""
        assert self._server is not None and self._server.port is not None
        return self._server.port

    @property
    def api_base(self) -> str:
        """The REST base URL, for discord.http.Route.BASE."""
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        """The gateway's address (what GET /gateway/bot answers)."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def __aenter__(self) -> DiscordEmulator:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self._server is not None:
            await self._server.close()

    async def wait_connected(self) -> None:
        """Wait (up to a minute) until a bot has identified and received its guild."""
        async with asyncio.timeout(60):
            await self._connected.wait()

    # -- what members do ----------------------------------------------------------------------------------------

    async def say(self, channel_id: int, text: str, *, author_id: int = MEMBER_ID, mention_bot: bool = False) -> float:
        """Dispatch a member's message to the bot; returns the perf_counter time it was sent."""
        message_id = next(self._ids)
        content = f"<@{BOT_ID}> {text}" if mention_bot else text
        data: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "guild_id": str(GUILD_ID),
            "author": user(author_id, f"member{author_id % 1000}"),
            "member": member(author_id, with_user=False),
            "content": content,
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [user(BOT_ID, "concierge", bot=True)] if mention_bot else [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
        }
        self._messages[message_id] = data
        sent = time.perf_counter()
        await self._dispatch("MESSAGE_CREATE", data)
        return sent

    def expect(self, text: str) -> asyncio.Future[RestCall]:
        """A future for the first message create or edit whose content holds `text` (a whole answer)."""
        future: asyncio.Future[RestCall] = asyncio.get_running_loop().create_future()
        self._expected[text] = future
        return future

    async def settled(self, seconds: float) -> None:
        """Wait until the bot has made no REST call for `seconds` (its trailing edits are done)."""
        while True:
            self._called.clear()
            try:
                async with asyncio.timeout(seconds):
                    await self._called.wait()
            except TimeoutError:
                return

    # -- gateway ------------------------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=0)
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41_250}, "s": None, "t": None}))
        async for frame in socket:
            if frame.type is not WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            op = payload.get("op")
            if op == 1:
                await socket.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
            elif op == 2:
                await self._identify(socket)
        self._sockets.remove(socket)
        return socket

    async def _identify(self, socket: web.WebSocketResponse) -> None:
        ready = {
            "v": 10,
            "user": user(BOT_ID, "concierge", bot=True),
            "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
            "session_id": "emulated",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(APPLICATION_ID), "flags": 0},
            "shard": [0, 1],
        }
        await self._send(socket, "READY", ready)
        await self._send(socket, "GUILD_CREATE", guild(self.channel_ids, self.member_ids))
        self._connected.set()

    async def _send(self, socket: web.WebSocketResponse, event: str, data: Any) -> None:
        await socket.send_str(json.dumps({"op": 0, "t": event, "s": next(self._sequence), "d": data}))

    async def _dispatch(self, event: str, data: Any) -> None:
        for socket in list(self._sockets):
            await self._send(socket, event, data)

    # -- REST ---------------------------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        arrived = time.perf_counter()
        path = "/" + request.match_info["tail"]
        body = await self._body(request)
        channel = re.match(r"/channels/(\d+)", path)
        channel_id = int(channel.group(1)) if channel else None
        limited, headers = self._limited(request.method, path, channel_id, arrived)
        response = limited or await self._answer(request.method, path, channel_id, body)
        response.headers.update(headers)
        call = RestCall(arrived, request.method, path, channel_id, body, response.status)
        self.calls.append(call)
        self._called.set()
        content = call.content if response.status < 300 else None
        if content is not None:
            for text in [text for text in self._expected if text in content]:
                future = self._expected.pop(text)
                if not future.done():
                    future.set_result(call)
        return response

    @staticmethod
    async def _body(request: web.Request) -> Any:
        if not request.can_read_body:
            return None
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if getattr(part, "name", None) == "payload_json":
                    return json.loads(await part.text())  # type: ignore[union-attr]
            return None
        try:
            return await request.json()
        except ValueError:
            return None

    def _limited(
        self, method: str, path: str, channel_id: int | None, now: float
    ) -> tuple[web.Response | None, dict[str, str]]:
        """A 429 when this route of this channel is over its limit, else None (and the request is counted); with
        the rate limit headers to send either way."""
        if channel_id is None or "/messages" not in path or "/threads" in path:
            return None, {}
        template = re.sub(r"\d{6,}", "{id}", path)
        bucket = self._buckets.setdefault((method, template, channel_id), _Bucket())
        while bucket.times and bucket.times[0] <= now - ROUTE_WINDOW:
            bucket.times.popleft()
        if len(bucket.times) >= ROUTE_LIMIT:
            retry = bucket.times[0] + ROUTE_WINDOW - now
            refusal = _json(
                {"message": "You are being rate limited.", "retry_after": retry, "global": False}, status=429
            )
            # discord.py reads a 429 without Via as a Cloudflare ban; Discord's own 429s come through its proxy
            return refusal, self._limit_headers(bucket, now) | {"Retry-After": f"{retry:.3f}", "Via": "1.1 google"}
        bucket.times.append(now)
        return None, self._limit_headers(bucket, now)

    @staticmethod
    def _limit_headers(bucket: _Bucket, now: float) -> dict[str, str]:
        reset_after = (bucket.times[0] + ROUTE_WINDOW - now) if bucket.times else ROUTE_WINDOW
        return {
            "X-RateLimit-Limit": str(ROUTE_LIMIT),
            "X-RateLimit-Remaining": str(max(0, ROUTE_LIMIT - len(bucket.times))),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": f"bucket-{id(bucket)}",
        }

    async def _answer(self, method: str, path: str, channel_id: int | None, body: Any) -> web.StreamResponse:
        if method == "GET" and path == "/users/@me":
            return _json(user(BOT_ID, "concierge", bot=True))
        if method == "GET" and path == "/oauth2/applications/@me":
            return _json(application())
        if method == "GET" and path in ("/gateway/bot", "/gateway"):
            return _json(
                {
                    "url": self.gateway_url,
                    "shards": 1,
                    "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1},
                }
            )
        if method == "PUT" and re.fullmatch(r"/applications/\d+/commands", path):
            commands = body if isinstance(body, list) else []
            return _json([command(sent, next(self._ids)) for sent in commands])
        if method == "POST" and channel_id is not None and path.endswith("/typing"):
            return web.Response(status=204)
        fetched = re.fullmatch(r"/guilds/\d+/members/(\d+)", path)
        if method == "GET" and fetched:
            return _json(member(int(fetched.group(1)), with_user=True))
        thread = re.fullmatch(r"/channels/(\d+)/messages/(\d+)/threads", path)
        if method == "POST" and thread:
            return _json(await self._open_thread(int(thread.group(1)), int(thread.group(2)), body))
        if method == "POST" and channel_id is not None and path.endswith("/messages"):
            return _json(self._store_message(channel_id, body))
        edited = re.fullmatch(r"/channels/(\d+)/messages/(\d+)", path)
        if edited and method == "PATCH":
            message = self._messages.get(int(edited.group(2)))
            if message is None:
                return _json({"message": "Unknown Message", "code": 10008}, status=404)
            message.update({key: value for key, value in (body or {}).items() if key in ("content", "embeds")})
            message["edited_timestamp"] = TIMESTAMP
            return _json(message)
        if edited and method == "DELETE":
            self._messages.pop(int(edited.group(2)), None)
            return web.Response(status=204)
        return _json({"message": f"not emulated: {method} {path}", "code": 0}, status=404)

    def _store_message(self, channel_id: int, body: Any) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        message_id = next(self._ids)
        message = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "guild_id": str(GUILD_ID),
            "author": user(BOT_ID, "concierge", bot=True),
            "content": body.get("content") or "",
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": [],
            "pinned": False,
            "type": 19 if body.get("message_reference") else 0,
        }
        self._messages[message_id] = message
        return message

    async def _open_thread(self, parent_id: int, message_id: int, body: Any) -> dict[str, Any]:
        thread = {
            "id": str(message_id),
            "type": 11,
            "guild_id": str(GUILD_ID),
            "parent_id": str(parent_id),
            "owner_id": str(BOT_ID),
            "name": (body or {}).get("name", "thread"),
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": TIMESTAMP,
                "locked": False,
            },
            "newly_created": True,
        }
        self.threads[message_id] = parent_id
        await self._dispatch("THREAD_CREATE", thread)
        self.thread_opened.set()
        return thread
