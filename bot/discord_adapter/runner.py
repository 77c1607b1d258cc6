"""Run the bot until Discord closes it or the process gets SIGTERM / SIGINT, then close it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.discord_adapter.client import ConciergeBot

log = logging.getLogger(__name__)

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)


async def run_bot(bot: ConciergeBot, token: str) -> None:
    """Start `bot` and return once it is closed; SIGTERM or SIGINT closes it (login errors propagate)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    for sig in STOP_SIGNALS:
        try:
            loop.add_signal_handler(sig, _request_stop, stop, sig)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
            continue
        installed.append(sig)
    try:
        async with bot:
            running = asyncio.create_task(bot.start(token), name="discord-client")
            stopping = asyncio.create_task(stop.wait(), name="discord-stop-signal")
            try:
                await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if stopping.done():
                    await bot.close()
                await running
            finally:
                stopping.cancel()
                if not running.done():
                    running.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await running
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    log.info("Discord client closed")


def _request_stop(stop: asyncio.Event, sig: signal.Signals) -> None:
    log.info("received %s: closing the Discord connection", sig.name)
    stop.set()
