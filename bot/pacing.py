"""Who may start a turn now: one turn at a time per channel, and a rate limit per member across all channels."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bot.engine.errors import ConciergeError

WINDOW_SECONDS = 60.0


class ChannelBusy(ConciergeError):
    """Too many messages already wait in this channel."""

    def __init__(self, waiting: int) -> None:
        super().__init__(f"{waiting} messages waiting", key="error.channel_busy")


class SlowDown(ConciergeError):
    """A member started more turns in the last minute than MEMBER_TURNS_PER_MINUTE allows.

    `first` is True for the first refusal of a cool-down: later ones may be answered by silence, so a flood of
    messages is not answered by a flood of refusals.
    """

    def __init__(self, retry_after: float, *, first: bool) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(
            f"member over the turn rate; retry in {seconds} s",
            key="error.slow_down" if seconds != 1 else "error.slow_down.one",
            params={"seconds": seconds},
        )
        self.retry_after = seconds
        self.first = first


class ChannelQueues:
    """One turn at a time per channel, first come first served, with a bounded number waiting."""

    def __init__(self, *, max_waiting: int) -> None:
        self._max_waiting = max_waiting
        self._locks: dict[str, asyncio.Lock] = {}
        self._counts: dict[str, int] = {}

    @asynccontextmanager
    async def one_at_a_time(self, channel_id: str) -> AsyncIterator[None]:
        """Wait in line (FIFO: asyncio.Lock wakes waiters in order), hold the channel for the block; or ChannelBusy."""
        count = self._counts.get(channel_id, 0)
        if count > self._max_waiting:  # one running plus max_waiting queued
            raise ChannelBusy(count - 1)
        lock = self._locks.setdefault(channel_id, asyncio.Lock())
        self._counts[channel_id] = count + 1
        try:
            async with lock:
                yield
        finally:
            self._counts[channel_id] -= 1
            if not self._counts[channel_id]:
                del self._counts[channel_id]
                del self._locks[channel_id]


class MemberTurnLimit:
    """At most `per_minute` turns per member in any 60 seconds, across every channel and DM (0 turns it off)."""

    def __init__(self, *, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._starts: dict[str, deque[float]] = {}
        self._told_until: dict[str, float] = {}

    def admit(self, user_id: str) -> None:
        """Count a new turn for this member, or raise SlowDown saying when the next one is allowed."""
        if self._per_minute <= 0:
            return
        now = self._clock()
        self._forget(now)
        starts = self._starts.setdefault(user_id, deque())
        if len(starts) >= self._per_minute:
            free_at = starts[0] + WINDOW_SECONDS
            first = self._told_until.get(user_id, 0.0) <= now
            self._told_until[user_id] = free_at
            raise SlowDown(free_at - now, first=first)
        starts.append(now)

    def _forget(self, now: float) -> None:
        """Drop starts older than the window and cool-downs that are over (memory stays bounded by active members)."""
        cutoff = now - WINDOW_SECONDS
        for user_id in list(self._starts):
            starts = self._starts[user_id]
            while starts and starts[0] <= cutoff:
                starts.popleft()
            if not starts:
                del self._starts[user_id]
        for user_id in [user for user, until in self._told_until.items() if until <= now]:
            del self._told_until[user_id]
