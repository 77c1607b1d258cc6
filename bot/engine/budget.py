"""What a turn may spend: a budget asked before every model request of the turn, not only before the first.

The loop reserves an estimate of each request's tokens before sending it (`Budget.reserve`, which raises OverBudget
when nothing is left) and settles the reservation with the request's real usage once it is answered (or releases it
when the request failed), so concurrent turns of one member count against the same quota one after another.
"""

from __future__ import annotations

from typing import Protocol

from bot.engine.api import Usage


class Hold(Protocol):
    """Tokens reserved for one model request in flight."""

    async def settle(self, usage: Usage | None) -> None:
        """Replace the reservation by what the request really cost (None: it failed and cost nothing known)."""
        ...


class Budget(Protocol):
    """A turn's token budget (the member's and the server's daily quotas, say)."""

    async def reserve(self, tokens: int) -> Hold:
        """Reserve an estimate of the next request's tokens; raise OverBudget when the budget is used up."""
        ...
