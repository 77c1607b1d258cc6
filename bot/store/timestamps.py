"""Times as the database stores them: fixed-width ISO-8601 UTC text, which sorts chronologically."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.engine.clock import utc_now

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(moment: datetime) -> str:
    """A timezone-aware time as stored text."""
    if moment.tzinfo is None:
        raise ValueError("stored times must be timezone-aware")
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """Read a time written by format_time."""
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)


def now_text() -> str:
    """The current time as stored text."""
    return format_time(utc_now())
