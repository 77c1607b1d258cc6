"""The operator's HTTP endpoint: GET /healthz and GET /metrics (aiohttp.web), on METRICS_HOST:METRICS_PORT."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.telemetry.health import Health
from bot.telemetry.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)


def make_web_app(health: Health, metrics: Metrics) -> web.Application:
    """The two routes, as an aiohttp application (tests serve it on an ephemeral port)."""

    async def healthz(request: web.Request) -> web.Response:
        report = await health.report()
        return web.json_response(report.as_json(), status=200 if report.healthy else 503)

    async def scrape(request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", scrape)
    return app


class OpsServer:
    """Serves /healthz and /metrics until closed."""

    def __init__(self, health: Health, metrics: Metrics, *, host: str, port: int) -> None:
        self._runner = web.AppRunner(make_web_app(health, metrics), access_log=None)
        self._host = host
        self._port = port
        self.port: int | None = None

    async def start(self) -> None:
        """Bind and serve (port 0 picks a free port, then `self.port` tells which)."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or ()
        self.port = sockets[0].getsockname()[1] if sockets else self._port
        log.info("serving /healthz and /metrics on http://%s:%s", self._host, self.port)

    async def close(self) -> None:
        """Stop serving."""
        await self._runner.cleanup()
