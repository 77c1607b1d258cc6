"""Asking the member before a side effect: the request, the verdict, and the Confirmer the loop is given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from bot.engine.permissions import Caller, Place

Verdict = Literal["confirmed", "declined", "timed_out", "unavailable"]
"""confirmed: the member pressed yes; declined: they pressed no; timed_out: no answer in time;
unavailable: the member could not be asked (no way to post the question, or the bot is stopping)."""


@dataclass(frozen=True, slots=True)
class ConfirmationRequest:
    """One call waiting for the member's yes: what will happen, in plain words, and whose yes it needs."""

    call_id: str
    tool: str
    arguments: str
    summary: str
    asker: Caller
    summary_kind: str = ""  # with summary_params, lets a chat platform word the summary in the member's language
    summary_params: Mapping[str, str] = field(default_factory=dict)
    audit_place: Place | None = None  # where the call is audited, when not where it was asked (a booking's server)


@dataclass(frozen=True, slots=True)
class ConfirmationOutcome:
    """The member's answer; `by_id`/`by_name` is who pressed (None when nobody did)."""

    verdict: Verdict
    by_id: str | None = None
    by_name: str | None = None

    @property
    def confirmed(self) -> bool:
        """True only for an explicit yes."""
        return self.verdict == "confirmed"


class Confirmer(Protocol):
    """Asks the member whose turn it is to confirm one call; the chat platform decides how (e.g. buttons)."""

    async def confirm(self, request: ConfirmationRequest) -> ConfirmationOutcome:
        """Wait for the member's answer (bounded by the confirmer's own timeout); never raises."""
        ...


class NoConfirmer:
    """For places that cannot ask: every side effect that needs a yes is reported as not confirmed."""

    async def confirm(self, request: ConfirmationRequest) -> ConfirmationOutcome:
        """Refuse without asking."""
        return ConfirmationOutcome("unavailable")


NOT_CONFIRMED_REASONS: dict[Verdict, str] = {
    "declined": "the member pressed Cancel",
    "timed_out": "the member did not answer in time",
    "unavailable": "the member could not be asked to confirm here",
    "confirmed": "",
}


def not_confirmed_result(tool: str, outcome: ConfirmationOutcome) -> dict[str, object]:
    """The tool output for a call the member did not confirm: it must never read like success."""
    return {
        "error": "not confirmed: nothing was done",
        "tool": tool,
        "reason": NOT_CONFIRMED_REASONS[outcome.verdict],
        "hint": "tell the member it was not done; do not call it again unless they ask again",
    }
