"""One Discord message kept up to date by throttled edits: the latest text always wins, and it is never lost.

Updates while an answer is being written go at most once per EDIT_INTERVAL per message; the final look goes as soon
as Discord's own limit allows (CHANNEL_LIMIT requests per CHANNEL_WINDOW per channel, counted by a ChannelBudget the
messages of one reply share), so the end of an answer never waits for the streaming throttle.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import discord

from bot.discord_adapter.render import allowed_mentions

log = logging.getLogger(__name__)

EDIT_INTERVAL = 1.0  # seconds between two streaming updates of one message
CHANNEL_LIMIT = 5  # Discord allows 5 message requests per 5 s per channel
CHANNEL_WINDOW = 5.0
MAX_ATTEMPTS = 5  # tries for one text before giving it up (429s, failed sends)
MAX_BACKOFF = 30.0

Send = Callable[..., Awaitable[Any]]


class Clock(Protocol):
    """Time as the throttle sees it: real in the bot, fake in tests."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """The real clock."""

    def now(self) -> float:
        """Seconds on the monotonic clock."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Wait this long."""
        await asyncio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class Look:
    """What the message should show; both None means the message should be deleted."""

    content: str | None
    embed: discord.Embed | None = None


GONE = Look(None, None)


class ChannelBudget:
    """The message requests one channel still allows: at most `limit` in any `window` seconds (Discord's limit)."""

    def __init__(self, *, limit: int = CHANNEL_LIMIT, window: float = CHANNEL_WINDOW) -> None:
        self._limit = limit
        self._window = window
        self._spent: deque[float] = deque()

    def delay(self, now: float) -> float:
        """Seconds until one more request fits (0 if it fits now)."""
        while self._spent and self._spent[0] <= now - self._window:
            self._spent.popleft()
        if len(self._spent) < self._limit:
            return 0.0
        return self._spent[0] + self._window - now

    def spend(self, now: float) -> None:
        """Count a request made now."""
        self._spent.append(now)


class LiveMessage:
    """A message whose look changes often: `show` returns at once and a background task sends or edits at most once
    per `interval`, always with the latest look (superseded looks are never sent); a `final` look goes as soon as
    the channel's budget allows; `settle` waits until Discord shows the last look. A deleted message is sent again;
    a 429 waits and retries; mentions ping only the asker."""

    def __init__(
        self,
        send: Send,
        *,
        asker_id: int,
        clock: Clock | None = None,
        interval: float = EDIT_INTERVAL,
        after: LiveMessage | None = None,
        budget: ChannelBudget | None = None,
    ) -> None:
        self._send = send
        self._mentions = allowed_mentions(asker_id)
        self._clock = clock or MonotonicClock()
        self._interval = interval
        self._after = after  # posted only once this one is, so messages appear in order
        self._budget = budget or ChannelBudget()
        self._wanted: Look | None = None
        self._final = False  # the wanted look is the last one: it waits for the budget only
        self._shown: Look | None = None
        self._message: Any = None
        self._next_request = -math.inf  # the streaming throttle
        self._retry_at = -math.inf  # the back-off after a failure
        self._failures = 0
        self._posted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sleeping: asyncio.Future[None] | None = None
        self.error: Exception | None = None  # the last failure when a look had to be given up

    @property
    def posted(self) -> bool:
        """Whether the message exists in Discord (as far as we know)."""
        return self._message is not None

    def show(self, content: str | None, *, embed: discord.Embed | None = None, final: bool = False) -> None:
        """Make the message look like this as soon as the throttle allows (replacing any look not yet sent); a
        `final` look waits only for the channel's budget."""
        self._want(Look(content, embed), final=final)

    def delete(self) -> None:
        """Remove the message as soon as the channel's budget allows (nothing is sent if it was never posted)."""
        self._want(GONE, final=True)

    async def settle(self) -> None:
        """Wait until the latest look is shown, or given up on (see `error`)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})

    def _want(self, look: Look, *, final: bool) -> None:
        self._wanted = look
        self._final = final
        self._failures = 0
        if final and self._sleeping is not None:
            self._sleeping.cancel()  # it may have been waiting out the streaming interval
        self.error = None
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        try:
            if self._after is not None:
                await self._after._posted.wait()
            while self._wanted is not None and self._wanted != self._shown:
                now = self._clock.now()
                wait = max(self._budget.delay(now), self._retry_at - now)
                if not self._final:
                    wait = max(wait, self._next_request - now)
                if wait > 0:
                    self._sleeping = asyncio.ensure_future(self._clock.sleep(wait))
                    await asyncio.wait({self._sleeping})  # cut short when the final look arrives
                    continue
                look = self._wanted
                self._next_request = now + self._interval
                self._budget.spend(now)
                await self._apply(look)
        except Exception:
            log.exception("updating a live message failed")
        finally:
            self._posted.set()

    async def _apply(self, look: Look) -> None:
        """One request towards `look`; on failure, plan a retry or give the look up."""
        try:
            await self._request(look)
        except discord.RateLimited as error:
            self._retry(look, error, error.retry_after)
        except discord.HTTPException as error:
            if error.status == 429 or error.status >= 500:
                self._retry(look, error, _retry_after(error) if error.status == 429 else 0.0)
            elif look == GONE:
                if not isinstance(error, discord.NotFound):
                    log.warning("could not delete a live message: %s", error)
                self._done(look)
            elif self._message is not None:  # deleted under us, or refusing the edit: post the text anew
                log.info("a live message could not be edited (%s); sending it again", error)
                self._message = None
                self._retry(look, error, 0.0)
            else:
                self._give_up(look, error)
        else:
            self._done(look)

    async def _request(self, look: Look) -> None:
        if look == GONE:
            if self._message is not None and self._message is not _UNEDITABLE:
                await self._message.delete()
            return
        extra = {} if look.embed is None else {"embed": look.embed}
        if self._message is None or self._message is _UNEDITABLE:
            sent = await self._send(look.content, allowed_mentions=self._mentions, **extra)
            self._message = _UNEDITABLE if sent is None else sent  # a sender may return nothing (then: send anew)
            self._posted.set()
            return
        await self._message.edit(content=look.content, embed=look.embed, allowed_mentions=self._mentions)

    def _done(self, look: Look) -> None:
        self._shown = look
        self._failures = 0
        if look == GONE:
            self._message = None

    def _retry(self, look: Look, error: Exception, delay: float) -> None:
        self._failures += 1
        if self._failures >= MAX_ATTEMPTS:
            self._give_up(look, error)
            return
        backoff = min(MAX_BACKOFF, max(delay, self._interval * 2 ** (self._failures - 1)))
        self._retry_at = self._clock.now() + backoff

    def _give_up(self, look: Look, error: Exception) -> None:
        log.warning("giving up a live message update after %d attempts: %s", self._failures + 1, error)
        self.error = error
        self._done(look)


_UNEDITABLE = object()


def _retry_after(error: discord.HTTPException) -> float:
    """The Retry-After of a 429 response, if it says one."""
    headers = getattr(error.response, "headers", None) or {}
    try:
        return float(headers.get("Retry-After", 1.0))
    except (TypeError, ValueError):
        return 1.0
