"""Benchmark: history window loads from a short vs a very long channel, and turn appends, on SQLite and PostgreSQL.

Run on demand: .venv/bin/python benchmarks/bench_history.py [--items 100000] [--loads 200] [--appends 200]
                                                            [--postgres URL]
The claim: loading a window costs about the same with 100 or 100,000 stored items (indexed read of the newest
turns), and appending a turn stays within a few milliseconds (one durable transaction). PostgreSQL is the server at
--postgres (an empty database), or else a local throwaway cluster with fsync on, started from initdb/pg_ctl.
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # the checkout: bot/ and tests/

from bot.engine.items import AssistantMessage, Item, ToolCall, ToolOutput, UserMessage
from bot.store.db import open_database
from bot.store.history import HistoryStore
from tests.postgres import ThrowawayPostgres

ITEMS_PER_TURN = 10  # user message, 4 calls, 4 outputs, answer


def make_turn(n: int) -> list[Item]:
    """A realistic turn: a question, four tool calls with ~1 KB outputs, and an answer."""
    calls = [ToolCall(call_id=f"t{n}c{k}", name="weather", arguments='{"city": "Oslo", "days": 3}') for k in range(4)]
    outputs = [ToolOutput(call_id=call.call_id, output='{"temp_c": 4.5, "wind": "NW 5"} ' * 30) for call in calls]
    return [
        UserMessage(text=f"What is the weather like this week, question {n}?", author_id="42", author_name="Ann"),
        *calls,
        *outputs,
        AssistantMessage(text="Cold and windy all week; take a coat. " * 4),
    ]


def percentiles(samples_ms: list[float]) -> str:
    """p50 and p95 of timings in milliseconds."""
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):7.3f} ms   p95 {p95:7.3f} ms"


async def seed(history: HistoryStore, channel_id: str, items: int) -> float:
    """Fill a channel with `items` items through the public API, with 8 appenders at once; returns seconds."""
    turns = items // ITEMS_PER_TURN
    started = time.perf_counter()
    queue = iter(range(turns))

    async def appender() -> None:
        for n in queue:
            await history.append_turn(channel_id, make_turn(n))

    await asyncio.gather(*(appender() for _ in range(8)))
    return time.perf_counter() - started


async def time_loads(history: HistoryStore, channel_id: str, loads: int) -> list[float]:
    """Timings of `loads` window loads with the default budgets (20 turns, 6000 tokens)."""
    samples = []
    for _ in range(loads):
        started = time.perf_counter()
        window = await history.load_window(channel_id, max_turns=20, max_tokens=6000)
        samples.append((time.perf_counter() - started) * 1000)
        assert window and isinstance(window[0], UserMessage)
    return samples


async def main(*, items: int, loads: int, appends: int, postgres: str | None) -> None:
    """The same measurements on SQLite, then on PostgreSQL."""
    with tempfile.TemporaryDirectory() as folder:
        print("== SQLite (WAL, synchronous=FULL)")
        await measure(f"sqlite:///{pathlib.Path(folder) / 'bench.db'}", items=items, loads=loads, appends=appends)
    print("== PostgreSQL (fsync on, synchronous_commit on)")
    if postgres is not None:
        await measure(postgres, items=items, loads=loads, appends=appends)
        return
    server = ThrowawayPostgres.start(durable=True)
    try:
        await measure(server.url, items=items, loads=loads, appends=appends)
    finally:
        server.stop()


async def measure(url: str, *, items: int, loads: int, appends: int) -> None:
    """Seed two channels, then time loads from each and appends to a third."""
    db = await open_database(url)
    history = HistoryStore(db)
    try:
        seconds = await seed(history, "short", 100)
        seconds_long = await seed(history, "long", items)
        print(f"seeded 100 items in {seconds:.2f} s and {items:,} items in {seconds_long:.1f} s")
        await time_loads(history, "long", 20)  # warm the page cache
        print(f"load_window, channel with {100:>7,} items: {percentiles(await time_loads(history, 'short', loads))}")
        print(f"load_window, channel with {items:>7,} items: {percentiles(await time_loads(history, 'long', loads))}")
        samples = []
        for n in range(appends):
            turn = make_turn(n)
            started = time.perf_counter()
            await history.append_turn("appends", turn)
            samples.append((time.perf_counter() - started) * 1000)
        print(f"append_turn ({ITEMS_PER_TURN} items, durable commit):     {percentiles(samples)}")
    finally:
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--loads", type=int, default=200)
    parser.add_argument("--appends", type=int, default=200)
    parser.add_argument("--postgres", help="an empty PostgreSQL database to use instead of a throwaway cluster")
    args = parser.parse_args()
    asyncio.run(main(items=args.items, loads=args.loads, appends=args.appends, postgres=args.postgres))
