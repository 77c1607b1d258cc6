"""Streaming, shared by both adapters: when to stream, and the one-time fallback for servers that cannot."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import openai

from bot.engine.progress import Progress

log = logging.getLogger(__name__)

T = TypeVar("T")

# Statuses a server answers a streamed request with when it cannot stream (a plain request may still work).
# 401/403/404/429 mean something else (key, endpoint, rate) and are reported as they are.
_STREAM_REFUSED = frozenset({400, 415, 422, 500, 501})


class StreamBroken(Exception):
    """A streamed answer failed after it started, or ended without completing."""


class Streaming:
    """Whether an adapter streams; the first streamed request a server fails turns streaming off for the process."""

    def __init__(self, *, enabled: bool, api: str) -> None:
        self.enabled = enabled
        self._api = api

    async def respond(
        self,
        progress: Progress | None,
        streamed: Callable[[Progress], Awaitable[T]],
        plain: Callable[[], Awaitable[T]],
    ) -> T:
        """Answer through `streamed` when streaming is on and someone listens, else `plain`.

        A streamed request that breaks or is refused is sent again plain; when that one works, streaming was the
        problem and stays off for the rest of the process (one log line). When it fails too, the request itself was
        the problem: its error is raised and streaming stays on.
        """
        if not self.enabled or progress is None:
            return await plain()
        try:
            return await streamed(progress)
        except StreamBroken as error:
            reason = f"the stream broke: {error}"
        except openai.APIStatusError as error:
            if error.status_code not in _STREAM_REFUSED:
                raise
            reason = f"HTTP {error.status_code}"
        progress.answer_discarded()
        reply = await plain()
        if self.enabled:
            log.warning("a streamed %s request failed (%s); answering without streaming from now on", self._api, reason)
            self.enabled = False
        return reply
