"""Benchmark the tool loop: its own overhead per turn, and the wall time of parallel tool calls.

Run on demand (not part of the test suite):

    python benchmarks/bench_loop.py

1. Overhead: turns of 1, 3 and 8 tool rounds against the real openai client and the local fake server with no
   added latency. Overhead = the turn's wall time minus the time spent inside model client calls and inside tools.
   Target: under 2 ms p95 per model round.
2. Parallel calls: 2, 4 and 8 tool calls of 100 ms each in one round. Target: within 10 ms of the slowest call.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.engine.api import ModelAPI, ModelReply, ToolChoice, ToolSpec
from bot.engine.api.chat import ChatAPI
from bot.engine.api.responses import ResponsesAPI
from bot.engine.executor import ToolExecutor
from bot.engine.items import Item, ToolCall, ToolOutput, UserMessage
from bot.engine.loop import run_loop
from bot.engine.permissions import Caller, Place
from bot.engine.tools import Registry, ToolContext, tool
from tests.fake_openai import FakeOpenAI, FakeReply, RecordedRequest

TURNS = 200
CALLER = Caller(user_id="1", name="bench")
PLACE = Place(channel_id="c", guild_id="g")


class Stopwatch:
    """Accumulates time spent inside model calls and tools during one turn."""

    def __init__(self) -> None:
        self.model = 0.0
        self.tools = 0.0


class TimedAPI:
    """Wraps an adapter and adds the time spent in it to the stopwatch."""

    def __init__(self, inner: ModelAPI, watch: Stopwatch) -> None:
        self.inner = inner
        self.watch = watch

    async def respond(
        self,
        *,
        instructions: str,
        items: Sequence[Item],
        tools: Sequence[ToolSpec],
        tool_choice: ToolChoice,
        **_: object,
    ) -> ModelReply:
        started = time.perf_counter()
        try:
            return await self.inner.respond(
                instructions=instructions, items=items, tools=tools, tool_choice=tool_choice
            )
        finally:
            self.watch.model += time.perf_counter() - started


def build_registry(watch: Stopwatch) -> Registry:
    @tool()
    async def lookup(context: ToolContext, key: str) -> dict[str, str]:
        """Look a key up (instant)."""
        started = time.perf_counter()
        result = {"key": key, "value": key.upper()}
        watch.tools += time.perf_counter() - started
        return result

    @tool()
    async def wait(context: ToolContext, milliseconds: int, label: str) -> dict[str, int]:
        """Wait a while."""
        await asyncio.sleep(milliseconds / 1000)
        return {"waited_ms": milliseconds}

    return Registry([lookup, wait])


def scripted_model(rounds: int, calls_per_round: int, tool_name: str, arguments: str):
    """A responder that asks for tool calls `rounds` times, then answers."""

    def respond(request: RecordedRequest) -> FakeReply:
        body = request.json
        history = body.get("messages") or body.get("input") or []
        done = sum(1 for item in history if item.get("role") == "tool" or item.get("type") == "function_call_output")
        if done >= rounds * calls_per_round:
            return FakeReply(text="done")
        return FakeReply.calling(*[(tool_name, arguments.replace("N", str(done + n))) for n in range(calls_per_round)])

    return respond


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def overhead(api_kind: str, rounds: int) -> tuple[float, float]:
    """p50 and p95 of the loop's own time per model round, in milliseconds."""
    per_round: list[float] = []
    responder = scripted_model(rounds, 2, "lookup", '{"key": "kN"}')
    async with FakeOpenAI(responder=responder) as server, server.client() as client:
        adapter = ChatAPI(client, model="m") if api_kind == "chat" else ResponsesAPI(client, model="m")
        for _ in range(TURNS):
            watch = Stopwatch()
            executor = ToolExecutor(
                registry=build_registry(watch), caller=CALLER, place=PLACE, policies={}, default_timeout=5
            )
            started = time.perf_counter()
            turn = await run_loop(
                api=TimedAPI(adapter, watch),
                executor=executor,
                instructions="bench",
                history=[],
                user_message=UserMessage(text="go"),
                max_rounds=rounds + 1,
            )
            wall = time.perf_counter() - started
            assert turn.answer == "done", turn
            per_round.append((wall - watch.model - watch.tools) * 1000 / (rounds + 1))
    return statistics.median(per_round), percentile(per_round, 0.95)


async def parallel(calls: int) -> float:
    """Median wall time of one round of `calls` tool calls of 100 ms each, minus 100 ms, in milliseconds."""
    spent: list[float] = []
    for _ in range(10):
        registry = build_registry(Stopwatch())
        executor = ToolExecutor(registry=registry, caller=CALLER, place=PLACE, policies={}, default_timeout=5)
        batch = [
            ToolCall(call_id=f"c{n}", name="wait", arguments=f'{{"milliseconds": 100, "label": "w{n}"}}')
            for n in range(calls)
        ]
        started = time.perf_counter()
        results = await asyncio.gather(*(executor.execute(call) for call in batch))
        spent.append((time.perf_counter() - started) * 1000 - 100)
        assert all(isinstance(output, ToolOutput) and entry.outcome == "ok" for output, entry in results)
    return statistics.median(spent)


async def main() -> None:
    print("Loop overhead per model round (wall time minus model client and tool time), ms:")
    for api_kind in ("responses", "chat"):
        for rounds in (1, 3, 8):
            p50, p95 = await overhead(api_kind, rounds)
            print(f"  {api_kind:9} {rounds} tool round(s): p50 {p50:.3f}  p95 {p95:.3f}")
    print("Parallel tool calls of 100 ms each, time beyond the slowest call, ms (median of 10):")
    for calls in (2, 4, 8):
        print(f"  {calls} calls: +{await parallel(calls):.2f}")


if __name__ == "__main__":
    asyncio.run(main())
