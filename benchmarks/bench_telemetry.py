"""Benchmark what telemetry costs a turn: none, on with tracing off (the default), and with tracing on.

Run on demand (not part of the test suite):

    python benchmarks/bench_telemetry.py

Each turn is the real loop with one tool call and two model requests against an instant in-process model, so the
time measured is the bot's own work. "tracing off" is what every bot runs (metrics recorded, spans through the
OpenTelemetry no-op tracer); "tracing on" records spans into the SDK with a processor that drops them (exporting
happens in a background thread). Target: tracing off adds under 100 µs per turn, i.e. under 0.1% of even a fast real
turn (two model requests of 50 ms each); the metrics updates are most of it.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opentelemetry.sdk.trace import SpanProcessor

from bot.engine.api import ModelAPI, ModelReply, ToolChoice, ToolSpec, Usage
from bot.engine.executor import ToolExecutor, TraceEntry
from bot.engine.items import Item, ToolCall, UserMessage
from bot.engine.loop import run_loop
from bot.engine.permissions import Caller, Place
from bot.engine.tools import Registry, ToolContext, tool
from bot.telemetry import InstrumentedModelAPI, Telemetry, setup_tracing

TURNS = 2000
ROUNDS = 7
USAGE = Usage(input_tokens=100, output_tokens=10)
CALLER = Caller(user_id="1", name="bench")
PLACE = Place(channel_id="c", guild_id="g")


@tool()
async def echo(context: ToolContext, text: str) -> dict[str, str]:
    """Echo text back."""
    return {"echo": text}


class InstantAPI:
    """Asks for one tool call, then answers; reports usage, as OpenAI does (a server that reports none makes the
    bot estimate it, for /usage as for the metrics)."""

    async def respond(
        self,
        *,
        instructions: str,
        items: Sequence[Item],
        tools: Sequence[ToolSpec],
        tool_choice: ToolChoice,
        **_: object,
    ) -> ModelReply:
        if isinstance(items[-1], UserMessage):
            call = ToolCall(call_id="c1", name="echo", arguments='{"text": "hi"}')
            return ModelReply(text="", calls=(call,), usage=USAGE)
        return ModelReply(text="done", usage=USAGE)


class Drop(SpanProcessor):
    """Receives finished spans and keeps none."""


async def nothing(entry: TraceEntry) -> None:
    return None


async def turns(telemetry: Telemetry | None) -> float:
    """Mean seconds per turn over TURNS turns."""
    registry = Registry([echo])
    api: ModelAPI = InstantAPI()
    if telemetry is not None:
        api = InstrumentedModelAPI(api, model="m", metrics=telemetry.metrics, tracer=telemetry.tracer)
    started = time.perf_counter()
    for _ in range(TURNS):
        executor = ToolExecutor(
            registry=registry,
            caller=CALLER,
            place=PLACE,
            policies={},
            default_timeout=5,
            record=nothing if telemetry is None else telemetry.recording(nothing, registry),
            call_scope=None if telemetry is None else telemetry.tool_call,
        )
        user = UserMessage(text="hello", author_id="1", author_name="bench")
        if telemetry is None:
            await run_loop(api=api, executor=executor, instructions="i", history=(), user_message=user)
        else:
            async with telemetry.turn(PLACE, CALLER):
                await run_loop(api=api, executor=executor, instructions="i", history=(), user_message=user)
    return (time.perf_counter() - started) / TURNS


async def main() -> None:
    variants = {
        "no telemetry": lambda: None,
        "tracing off": lambda: Telemetry(),
        "tracing on": lambda: Telemetry(tracer=setup_tracing({}, processor=Drop()).tracer),
    }
    results: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(ROUNDS):  # interleaved, so drift in the machine's load hits every variant alike
        for name, make in variants.items():
            results[name].append(await turns(make()))
    base = statistics.median(results["no telemetry"])
    for name, samples in results.items():
        median = statistics.median(samples)
        print(f"{name:>13}: {median * 1e6:8.1f} µs per turn (+{(median - base) * 1e6:6.1f} µs)")
    added = statistics.median(results["tracing off"]) - base
    print(f"tracing off adds {added * 1e6:.1f} µs per turn: {'OK' if added < 100e-6 else 'OVER'} (target < 100 µs)")


if __name__ == "__main__":
    asyncio.run(main())
