"""Named health checks: each says whether one dependency (Discord, the database, an MCP server) is up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """One named dependency; `probe` returns True when it is up (raising or timing out counts as down)."""

    name: str
    probe: Callable[[], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Each check's state; healthy only when every check is up."""

    states: dict[str, bool]

    @property
    def healthy(self) -> bool:
        """True when nothing is down."""
        return all(self.states.values())

    def as_json(self) -> dict[str, object]:
        """The /healthz body: overall status, each check's state, and what is down."""
        return {
            "status": "ok" if self.healthy else "down",
            "checks": {name: "up" if up else "down" for name, up in self.states.items()},
            "down": [name for name, up in self.states.items() if not up],
        }


class Health:
    """The list of checks /healthz runs; more can be added at run time (e.g. each MCP server as it connects)."""

    def __init__(self, checks: Sequence[HealthCheck] = ()) -> None:
        self._checks: dict[str, HealthCheck] = {check.name: check for check in checks}

    def add(self, check: HealthCheck) -> None:
        """Add (or replace) a named check."""
        self._checks[check.name] = check

    def remove(self, name: str) -> None:
        """Forget a check (an MCP server that was removed)."""
        self._checks.pop(name, None)

    async def report(self) -> HealthReport:
        """Run every check concurrently, each bounded by a short timeout."""
        checks = list(self._checks.values())
        states = await asyncio.gather(*(_run(check) for check in checks))
        return HealthReport(dict(zip((check.name for check in checks), states, strict=True)))


async def _run(check: HealthCheck) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            return bool(await check.probe())
    except Exception as error:
        log.warning("health check %s failed: %s", check.name, type(error).__name__)
        return False
