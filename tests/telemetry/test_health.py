"""/healthz: 200 while Discord is connected and the database answers; 503 naming what is down."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from bot.app import database_check, discord_connected
from bot.store import Store
from bot.telemetry import Health, HealthCheck, Metrics, OpsServer


class Socket:
    """Stands in for one gateway websocket (discord.py's DiscordWebSocket.open)."""

    def __init__(self) -> None:
        self.open = True


class Shard:
    """Stands in for discord.py's ShardInfo: closed when its gateway socket is not open."""

    def __init__(self, ws: Socket) -> None:
        self.ws = ws

    def is_closed(self) -> bool:
        return not self.ws.open


class Gateway:
    """Stands in for the bot's AutoShardedClient: its ready and closed flags, and one socket per shard."""

    def __init__(self, shard_count: int = 2) -> None:
        self.ready, self.closed = True, False
        self.sockets = [Socket() for _ in range(shard_count)]

    @property
    def shards(self) -> dict[int, Shard]:
        return {shard_id: Shard(ws) for shard_id, ws in enumerate(self.sockets)}

    def is_ready(self) -> bool:
        return self.ready

    def is_closed(self) -> bool:
        return self.closed


class PlainGateway:
    """Stands in for an unsharded discord.Client: ready and closed flags and its one socket (None before login)."""

    def __init__(self) -> None:
        self.ready, self.closed = True, False
        self.ws: Socket | None = Socket()

    def is_ready(self) -> bool:
        return self.ready

    def is_closed(self) -> bool:
        return self.closed


async def get_health(health: Health) -> tuple[int, dict[str, object]]:
    server = OpsServer(health, Metrics(), host="127.0.0.1", port=0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{server.port}/healthz") as response:
            return response.status, await response.json()
    finally:
        await server.close()


@pytest.mark.asyncio
async def test_healthz_is_200_when_discord_and_the_database_are_up(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "concierge.db")
    try:
        health = Health([database_check(store), HealthCheck("discord", discord_connected(Gateway()))])  # type: ignore[arg-type]
        status, body = await get_health(health)
    finally:
        await store.close()
    assert status == 200
    assert body == {"status": "ok", "checks": {"database": "up", "discord": "up"}, "down": []}


@pytest.mark.asyncio
async def test_healthz_is_503_naming_the_database_once_it_is_closed(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "concierge.db")
    health = Health([database_check(store), HealthCheck("discord", discord_connected(Gateway()))])  # type: ignore[arg-type]
    await store.close()
    status, body = await get_health(health)
    assert status == 503
    assert body["down"] == ["database"] and body["checks"] == {"database": "down", "discord": "up"}


@pytest.mark.asyncio
@pytest.mark.parametrize("state", ["not ready", "closed", "one shard reconnecting"])
async def test_healthz_is_503_naming_discord_when_the_gateway_is_gone(tmp_path: Path, state: str) -> None:
    gateway = Gateway()
    if state == "closed":
        gateway.closed = True
    elif state == "not ready":
        gateway.ready = False
    else:  # discord.py leaves the client ready while a dropped shard reconnects; only its socket says it is down
        gateway.sockets[1].open = False
    store = await Store.open(tmp_path / "concierge.db")
    try:
        health = Health([database_check(store), HealthCheck("discord", discord_connected(gateway))])  # type: ignore[arg-type]
        status, body = await get_health(health)
    finally:
        await store.close()
    assert status == 503 and body["down"] == ["discord"]


@pytest.mark.asyncio
async def test_an_unsharded_client_is_up_only_while_its_gateway_socket_is_open() -> None:
    gateway = PlainGateway()
    probe = discord_connected(gateway)  # type: ignore[arg-type]
    assert await probe()
    gateway.ws.open = False  # type: ignore[union-attr]
    assert not await probe()
    gateway.ws = None  # not connected yet
    assert not await probe()


@pytest.mark.asyncio
async def test_a_check_added_at_run_time_is_reported_and_one_that_raises_counts_as_down() -> None:
    async def crashes() -> bool:
        raise ConnectionError("refused")

    async def fine() -> bool:
        return True

    health = Health([HealthCheck("database", fine)])
    health.add(HealthCheck("mcp:search", crashes))
    status, body = await get_health(health)
    assert status == 503 and body["checks"] == {"database": "up", "mcp:search": "down"}
    health.remove("mcp:search")
    assert (await get_health(health))[0] == 200


@pytest.mark.asyncio
async def test_the_app_serves_both_endpoints_on_metrics_port_and_a_taken_port_is_a_one_line_startup_error(
    tmp_path: Path,
) -> None:
    import socket

    from bot.app import StartupError, open_app, serving_operations
    from bot.settings import load_settings

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = load_settings(
        {
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'concierge.db'}",
            "METRICS_PORT": str(port),
        },
        env_file=None,
    )
    async with open_app(settings) as app, serving_operations(app) as server:
        assert server is not None
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200 and (await response.json())["checks"] == {"database": "up"}
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert "concierge_active_turns 0.0" in await response.text()
        async with open_app(settings) as second:
            with pytest.raises(StartupError, match=f"METRICS_PORT: cannot serve on 127.0.0.1:{port}"):
                async with serving_operations(second):
                    pass


@pytest.mark.asyncio
async def test_metrics_port_zero_serves_nothing(tmp_path: Path) -> None:
    from bot.app import open_app, serving_operations
    from bot.settings import load_settings

    settings = load_settings(
        {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "DATABASE_URL": f"sqlite:///{tmp_path / 'concierge.db'}"},
        env_file=None,
    )
    async with open_app(settings) as app, serving_operations(app) as server:
        assert server is None
