"""A Concierge wired to telemetry over a scripted model, and a scrape of its /metrics over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from bot.concierge import Concierge, ConciergeLimits
from bot.engine.api import ModelAPI
from bot.engine.confirm import ConfirmationOutcome, ConfirmationRequest
from bot.engine.permissions import Caller, Place
from bot.engine.tools import Registry, ToolContext, ToolError, tool
from bot.prompt import SystemPrompt
from bot.spending import Spending
from bot.store import Store
from bot.telemetry import Health, InstrumentedModelAPI, Metrics, OpsServer, Telemetry

MODEL = "test-model"
ANN = Caller(user_id="1", name="Ann")
THREAD = Place(channel_id="t1", guild_id="g1")


@tool()
async def echo(context: ToolContext, text: str) -> dict[str, str]:
    """Echo text back."""
    return {"echo": text}


@tool()
async def broken(context: ToolContext) -> dict[str, str]:
    """Always fails."""
    raise ToolError("the kitchen is closed")


@tool(side_effects=True)
async def reserve(context: ToolContext, seats: int) -> dict[str, int]:
    """Reserve seats (a side effect)."""
    return {"reserved": seats}


class AnswerWith:
    """A confirmer that answers every request with one verdict."""

    def __init__(self, verdict: str) -> None:
        self.verdict = verdict

    async def confirm(self, request: ConfirmationRequest) -> ConfirmationOutcome:
        return ConfirmationOutcome(self.verdict)  # type: ignore[arg-type]


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "concierge.db")
    yield opened
    await opened.close()


def observed_concierge(
    api: ModelAPI, store: Store, telemetry: Telemetry, *, spending: Spending | None = None, **limits: int
) -> Concierge:
    """A Concierge whose model requests and turns report to `telemetry`, as bot.app wires it."""
    return Concierge(
        api=InstrumentedModelAPI(
            api,
            model=MODEL,
            metrics=telemetry.metrics,
            tracer=telemetry.tracer,
            capture_content=telemetry.capture_content,
        ),
        registry=Registry([echo, broken, reserve]),
        history=store.history,
        policies=store.policies,
        audit=store.audit,
        conversations=store.conversations,
        prompt=SystemPrompt("You are a test."),
        services={},
        limits=ConciergeLimits(**limits),
        spending=spending,
        telemetry=telemetry,
    )


class Scrape:
    """One scrape of /metrics: samples by name and labels."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = [sample for family in text_string_to_metric_families(text) for sample in family.samples]

    def value(self, name: str, **labels: str) -> float:
        """The sample with exactly these labels (missing labels compared as absent), or 0 when none."""
        for sample in self.samples:
            if sample.name == name and all(sample.labels.get(key, "") == value for key, value in labels.items()):
                return sample.value
        return 0.0

    def label_values(self, label: str) -> set[str]:
        """Every value any sample gives this label."""
        return {sample.labels[label] for sample in self.samples if label in sample.labels}


async def scrape(metrics: Metrics, health: Health | None = None) -> Scrape:
    """GET /metrics from a real server on a free port."""
    server = OpsServer(health or Health(), metrics, host="127.0.0.1", port=0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{server.port}/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            return Scrape(await response.text())
    finally:
        await server.close()
