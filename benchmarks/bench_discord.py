"""Benchmark: Concierge answering through an emulated Discord, next to a minimal bot, measured from outside.

Run on demand (not part of the test suite):

    python benchmarks/bench_discord.py                      # all three contenders, the README's table
    python benchmarks/bench_discord.py --profile tool.txt   # Concierge only, tool turns under py-spy (pip install py-spy)

Each contender runs in its own process against the same emulated Discord (benchmarks/discord_emulator.py: REST and
gateway on 127.0.0.1, with Discord's 5-per-5-s message limits) and the same zero-latency fake model
(tests/fake_openai.py). A member's message goes out as MESSAGE_CREATE; the turn's time is until a bot message
first carries the whole answer (a create or an edit; streaming edits count, progress messages do not). Contenders:
- minimal: benchmarks/minimal_bot.py (discord.py + openai, a few dozen lines, one reply per message);
- Concierge with its defaults, started by its real entry point (benchmarks/run_concierge.py -> bot/__main__.py ->
  bot/app.py) on a temporary SQLite database;
- Concierge with STREAM_ANSWERS=false.
Figures: plain turns and one-tool turns (p50 / p95), ten channels at once (the time until all ten are answered,
median and worst of several bursts), REST calls per turn, and the bot's RSS once 1,000 channels have had a turn.
Concierge answers in threads it opens on the first mention in each channel (that first turn is not timed).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from discord_emulator import DiscordEmulator  # noqa: E402
from profile_summary import summarize_profile  # noqa: E402

from tests.fake_openai import FakeOpenAI, FakeReply, RecordedRequest  # noqa: E402

FILLER = (
    "Here is a longer answer, as a model writes one: a few sentences of plain text that take the stream some "
    "pieces to write, so an edit throttle has something to do before the answer is whole."
)
CHANNELS = 10
ROUNDS = 10  # turns per channel and kind: 100 timed plain turns and 100 tool turns
BURSTS = 5
ACTIVE_CHANNELS = 1000
QUIET_SECONDS = 1.5
ROUND_SECONDS = 2.5  # a channel gets at most one question this often (members type; Discord allows 5 posts per 5 s)


def plain_answer(token: str) -> str:
    """The whole answer to a plain question."""
    return f"Answer {token}. {FILLER}"


def tool_answer(token: str) -> str:
    """The whole answer to a question that needed the calculator."""
    return f"Result {token} is 42. {FILLER}"


def _text_of(entry: dict[str, Any]) -> str:
    content = entry.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def respond(request: RecordedRequest) -> FakeReply:
    """The scripted model: "tool qN" calls the calculator once and then answers; "qN" answers at once."""
    body = request.json or {}
    entries: list[dict[str, Any]] = list(body.get("input") or body.get("messages") or [])
    question = next((_text_of(e) for e in reversed(entries) if e.get("role") == "user"), "")
    token = (re.findall(r"q[\w-]+", question) or ["q?"])[-1]
    last = entries[-1] if entries else {}
    if last.get("type") == "function_call_output" or last.get("role") == "tool":
        return FakeReply(text=tool_answer(token))
    if "tool" in question:
        return FakeReply.calling(("calculate", {"expression": "6 * 7"}))
    return FakeReply(text=plain_answer(token))


@dataclass
class Contender:
    """One bot to measure: how to start it, and whether it answers in threads it opens."""

    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    threads: bool = False


@dataclass
class Figures:
    """What one contender measured."""

    plain: list[float] = field(default_factory=list)
    tool: list[float] = field(default_factory=list)
    bursts: list[float] = field(default_factory=list)
    calls_plain: float = 0.0
    calls_tool: float = 0.0
    calls_by_kind: dict[str, collections.Counter[str]] = field(default_factory=dict)
    rss_mb: float | None = None


class Run:
    """One contender's process against a fresh emulated Discord."""

    def __init__(self, contender: Contender, model: FakeOpenAI, workdir: Path) -> None:
        self.contender = contender
        self.model = model
        self.workdir = workdir
        self.discord = DiscordEmulator(channels=ACTIVE_CHANNELS)
        self.process: asyncio.subprocess.Process | None = None
        self.turn_channels: list[int] = []
        self.counter = 0
        self.wrapped = False

    async def start(self, *, wrap: list[str] | None = None) -> None:
        """Start the bot process and wait until it is connected."""
        await self.discord.__aenter__()
        env = {
            **{key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "DISCORD_"))},
            "BENCH_DISCORD_API": self.discord.api_base,
            "BENCH_DISCORD_GATEWAY": self.discord.gateway_url,
            "OPENAI_BASE_URL": self.model.base_url,
            "PYTHONPATH": str(ROOT),
            **self.contender.env,
        }
        self.wrapped = bool(wrap)
        log = (self.workdir / f"{self.contender.name}.log").open("w")
        self.process = await asyncio.create_subprocess_exec(
            *(wrap or []), *self.contender.command, cwd=self.workdir, env=env, stdout=log, stderr=log
        )
        await self.discord.wait_connected()

    async def stop(self) -> None:
        """Stop the bot (SIGTERM, as an operator would; under py-spy, its child) and the emulator."""
        if self.process is not None and self.process.returncode is None:
            bot_pid = _child_of(self.process.pid) if self.wrapped else self.process.pid
            os.kill(bot_pid, signal.SIGINT if self.contender.name == "minimal" else signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        await self.discord.__aexit__(None, None, None)

    def token(self) -> str:
        """A fresh question id."""
        self.counter += 1
        return f"q{self.counter}"

    async def turn(self, channel_id: int, *, tool: bool = False, mention: bool = False) -> tuple[float, float]:
        """One question and its whole answer: (sent, answered) on perf_counter."""
        token = self.token()
        expected = self.discord.expect((tool_answer if tool else plain_answer)(token))
        sent = await self.discord.say(channel_id, f"tool {token}" if tool else token, mention_bot=mention)
        try:
            async with asyncio.timeout(60):
                call = await expected
        except TimeoutError:
            raise TimeoutError(f"no answer to {token} in channel {channel_id} within 60 s") from None
        return sent, call.at

    async def open_channels(self) -> None:
        """The first turn in each channel (untimed): Concierge opens its thread there; later turns go in it."""
        for channel in self.discord.channel_ids[:CHANNELS]:
            await self.turn(channel, mention=self.contender.threads)
            if self.contender.threads:
                thread = next(t for t, parent in self.discord.threads.items() if parent == channel)
                self.turn_channels.append(thread)
            else:
                self.turn_channels.append(channel)
        await self.quiet()

    async def quiet(self) -> None:
        """Wait until the bot has finished its trailing calls (edits after the answer, trace embeds)."""
        await self.discord.settled(QUIET_SECONDS)

    async def timed(self, *, tool: bool, figures: Figures) -> None:
        """ROUNDS turns per channel, one after another."""
        first = len(self.discord.calls)
        times = figures.tool if tool else figures.plain
        for _ in range(ROUNDS):
            started = time.perf_counter()
            for channel in self.turn_channels:
                sent, answered = await self.turn(channel, tool=tool)
                times.append(answered - sent)
            await asyncio.sleep(max(0.0, started + ROUND_SECONDS - time.perf_counter()))
        await self.quiet()
        calls = self.discord.calls[first:]
        per_turn = len(calls) / (ROUNDS * len(self.turn_channels))
        kinds = collections.Counter(_kind(call.method, call.path) for call in calls)
        figures.calls_by_kind["tool" if tool else "plain"] = kinds
        if tool:
            figures.calls_tool = per_turn
        else:
            figures.calls_plain = per_turn

    async def bursts(self, figures: Figures) -> None:
        """Ten channels at once: the time from the first question until the last of the ten answers."""
        for _ in range(BURSTS):
            started = time.perf_counter()
            results = await asyncio.gather(*(self.turn(channel) for channel in self.turn_channels))
            figures.bursts.append(max(done for _, done in results) - min(sent for sent, _ in results))
            await self.quiet()
            await asyncio.sleep(max(0.0, started + ROUND_SECONDS - time.perf_counter()))

    async def active_channels(self, figures: Figures) -> None:
        """A turn in each of ACTIVE_CHANNELS channels (20 at a time), then the process's resident memory."""
        gate = asyncio.Semaphore(20)
        rest = self.discord.channel_ids[CHANNELS:]

        async def one(channel: int) -> None:
            async with gate:
                await self.turn(channel, mention=self.contender.threads)

        await asyncio.gather(*(one(channel) for channel in rest))
        await self.quiet()
        assert self.process is not None
        figures.rss_mb = _rss_mb(self.process.pid)


def _kind(method: str, path: str) -> str:
    """A REST call's route with ids left out (e.g. PATCH /channels/{id}/messages/{id})."""
    return f"{method} {re.sub(r'[0-9]{6,}', '{id}', path)}"


def _child_of(pid: int) -> int:
    """The one child of a process (the bot py-spy started), or the process itself if it has none."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return pid
    return int(children[0]) if children else pid


def _rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else None


def percentile(values: Iterable[float], share: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def contenders(workdir: Path) -> list[Contender]:
    """The minimal bot, Concierge with defaults, Concierge without streaming."""
    concierge_env = {
        "DISCORD_TOKEN": "bench-token",
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_MODEL": "test-model",
        "DATABASE_URL": f"sqlite:///{workdir}/concierge.db",
        "MEMBER_TURNS_PER_MINUTE": "0",
        "LOG_LEVEL": "WARNING",
    }
    python = sys.executable
    return [
        Contender("minimal", [python, str(ROOT / "benchmarks" / "minimal_bot.py")]),
        Contender("concierge", [python, str(ROOT / "benchmarks" / "run_concierge.py")], concierge_env, threads=True),
        Contender(
            "concierge-nostream",
            [python, str(ROOT / "benchmarks" / "run_concierge.py")],
            concierge_env | {"STREAM_ANSWERS": "false", "DATABASE_URL": f"sqlite:///{workdir}/nostream.db"},
            threads=True,
        ),
    ]


async def measure(contender: Contender, model: FakeOpenAI, workdir: Path, *, rss: bool = True) -> Figures:
    """Every figure for one contender."""
    figures = Figures()
    run = Run(contender, model, workdir)
    try:
        await run.start()
        await run.open_channels()
        await run.timed(tool=False, figures=figures)
        await run.timed(tool=True, figures=figures)
        await run.bursts(figures)
        if rss:
            await run.active_channels(figures)
    finally:
        await run.stop()
    return figures


async def profile(out: Path, model: FakeOpenAI, workdir: Path) -> None:
    """Concierge (defaults) answering tool turns under py-spy; prints where its CPU went."""
    contender = contenders(workdir)[1]
    raw = out.with_suffix(".raw")  # py-spy's collapsed stacks, kept next to the summary
    run = Run(contender, model, workdir)
    figures = Figures()
    try:
        spy = ["py-spy", "record", "--nonblocking", "--format", "raw", "--rate", "250", "-o", str(raw), "--"]
        await run.start(wrap=spy)
        await run.open_channels()
        for _ in range(3):
            await run.timed(tool=True, figures=figures)
    finally:
        await run.stop()
        await asyncio.sleep(2)  # py-spy writes its file after the process ends
    summary = summarize_profile(raw.read_text() if raw.exists() else "")
    await asyncio.to_thread(out.write_text, summary)
    print(summary)
    print(f"tool turn p50 under the profiler: {statistics.median(figures.tool) * 1000:.1f} ms")


def ms(seconds: float) -> str:
    """Milliseconds, short."""
    return f"{seconds * 1000:.1f}"


def report(results: dict[str, Figures]) -> str:
    """The README's table."""
    names = list(results)
    header = "| | " + " | ".join(names) + " |"
    rule = "|---" * (len(names) + 1) + "|"

    def row(label: str, cell: Callable[[Figures], str]) -> str:
        return f"| {label} | " + " | ".join(cell(results[name]) for name in names) + " |"

    lines = [
        header,
        rule,
        row(
            "plain turn p50 / p95 (ms)", lambda f: f"{ms(statistics.median(f.plain))} / {ms(percentile(f.plain, 0.95))}"
        ),
        row(
            "one-tool turn p50 / p95 (ms)",
            lambda f: f"{ms(statistics.median(f.tool))} / {ms(percentile(f.tool, 0.95))}",
        ),
        row(
            "10 channels at once, median / worst (ms)",
            lambda f: f"{ms(statistics.median(f.bursts))} / {ms(max(f.bursts))}",
        ),
        row("Discord REST calls per turn (plain / tool)", lambda f: f"{f.calls_plain:.2f} / {f.calls_tool:.2f}"),
        row(
            f"RSS after {ACTIVE_CHANNELS:,} active channels",
            lambda f: "—" if f.rss_mb is None else f"{f.rss_mb:.0f} MB",
        ),
    ]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--profile", type=Path, help="profile Concierge's tool turns with py-spy; write the summary here"
    )
    parser.add_argument("--only", help="measure only this contender (minimal, concierge, concierge-nostream)")
    parser.add_argument("--no-rss", action="store_true", help="skip the 1,000-channel memory figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="concierge-bench-") as tmp:
        workdir = Path(tmp)
        async with FakeOpenAI(responder=respond) as model:
            if args.profile:
                await profile(args.profile, model, workdir)
                return
            results: dict[str, Figures] = {}
            for contender in contenders(workdir):
                if args.only and contender.name != args.only:
                    continue
                print(f"measuring {contender.name} ...", file=sys.stderr)
                started = time.perf_counter()
                try:
                    results[contender.name] = await measure(contender, model, workdir, rss=not args.no_rss)
                except Exception:
                    log_file = workdir / f"{contender.name}.log"
                    print(log_file.read_text()[-4000:] if log_file.exists() else "(no log)", file=sys.stderr)
                    raise
                print(f"  done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
                for kind, counts in results[contender.name].calls_by_kind.items():
                    print(f"  {kind} turn calls: {dict(counts)}", file=sys.stderr)
            print(report(results))


if __name__ == "__main__":
    asyncio.run(main())
