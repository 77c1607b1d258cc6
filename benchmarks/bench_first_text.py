"""Benchmark: time from the member's message to the first visible text of the answer, streamed vs not.

Run on demand (not part of the test suite):

    python benchmarks/bench_first_text.py

The local fake server plays a model that writes a 400-character answer at a fixed rate (4 characters every 20 ms,
so 2 s for the whole answer, about 50 tokens a second). A full turn runs through the real engine and the real openai
client: streamed, the first text is visible when the first piece arrives; not streamed, only when the whole answer
has been written. Figures are the median of several turns, per API.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.engine.api import ModelAPI
from bot.engine.api.chat import ChatAPI
from bot.engine.api.responses import ResponsesAPI
from bot.engine.executor import ToolExecutor
from bot.engine.items import UserMessage
from bot.engine.loop import run_loop
from bot.engine.permissions import Caller, Place
from bot.engine.progress import NoProgress
from bot.engine.tools import Registry
from tests.fake_openai import FakeOpenAI, FakeReply, RecordedRequest

ANSWER = ("The weather in Oslo is mild today with light rain later on. " * 7)[:400]
TURNS = 5


class FirstText(NoProgress):
    """Notes when the first piece of the answer became visible."""

    def __init__(self) -> None:
        self.at: float | None = None

    def answer_delta(self, text: str) -> None:
        """Remember the first moment text arrived."""
        if self.at is None:
            self.at = time.perf_counter()


def answer(request: RecordedRequest) -> FakeReply:
    return FakeReply(text=ANSWER)


async def first_text_seconds(api: ModelAPI) -> float:
    """One turn; seconds until the first answer text could be shown."""
    listener = FirstText()
    executor = ToolExecutor(
        registry=Registry([]),
        caller=Caller(user_id="1", name="bench"),
        place=Place(channel_id="c"),
        policies={},
        default_timeout=5,
        progress=listener,
    )
    started = time.perf_counter()
    turn = await run_loop(api=api, executor=executor, instructions="t", history=[], user_message=UserMessage(text="hi"))
    assert turn.answer == ANSWER
    return (listener.at or time.perf_counter()) - started


async def main() -> None:
    print(f"answer: {len(ANSWER)} characters written at 4 characters / 20 ms; median of {TURNS} turns")
    print("| API | streamed | not streamed |")
    print("|---|---|---|")
    async with FakeOpenAI(responder=answer, stream_piece=4, stream_delay=0.02) as server, server.client() as client:
        for name, cls in (("Responses", ResponsesAPI), ("Chat", ChatAPI)):
            row = []
            for stream in (True, False):
                api = cls(client, model="bench", stream=stream)
                await first_text_seconds(api)  # warm up the connection
                times = [await first_text_seconds(api) for _ in range(TURNS)]
                row.append(f"{statistics.median(times) * 1000:.0f} ms")
            print(f"| {name} | {row[0]} | {row[1]} |")


if __name__ == "__main__":
    asyncio.run(main())
