"""Log output: text as before, or one JSON object per line; inside a turn, its ids ride along (contextvars)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal, TextIO

from opentelemetry import trace

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LogFormat = Literal["text", "json"]

_turn_fields: ContextVar[Mapping[str, str] | None] = ContextVar("concierge_turn_fields", default=None)


@contextmanager
def turn_fields(**fields: str | None) -> Iterator[None]:
    """Attach these ids (guild, channel, member, turn) to every record logged in this context."""
    token = _turn_fields.set({name: value for name, value in fields.items() if value is not None})
    try:
        yield
    finally:
        _turn_fields.reset(token)


def current_turn_fields() -> Mapping[str, str]:
    """The ids of the turn this code runs in (empty outside a turn)."""
    return _turn_fields.get() or {}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the turn's ids, the trace id, any exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(current_turn_fields())
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TurnTextFormatter(logging.Formatter):
    """The text format, with ` [turn=… guild=…]` appended inside a turn."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = current_turn_fields()
        if not fields:
            return text
        return text + " [" + " ".join(f"{name}={value}" for name, value in fields.items()) + "]"


def install_log_handler(*, level: str, log_format: LogFormat, stream: TextIO | None = None) -> logging.Handler:
    """Route every record (the bot's and its libraries') through one stderr handler in the chosen format."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TurnTextFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
