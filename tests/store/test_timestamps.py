"""Stored times: one text format, written and read in one module that every store uses."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.store.timestamps import format_time, parse_time

STORE = Path(__file__).resolve().parents[2] / "bot" / "store"


def test_a_stored_time_is_fixed_width_utc_text_that_reads_back_as_the_same_moment() -> None:
    moment = datetime(2026, 3, 1, 9, 5, 7, 1234, tzinfo=timezone(timedelta(hours=8)))
    text = format_time(moment)
    assert text == "2026-03-01T01:05:07.001234Z"
    assert parse_time(text) == moment
    assert parse_time(text).tzinfo == UTC


def test_stored_times_sort_as_text_in_the_order_of_the_moments() -> None:
    earlier = datetime(2026, 1, 9, 23, 59, 59, tzinfo=UTC)
    later = earlier + timedelta(microseconds=1)
    assert format_time(earlier) < format_time(later)


def test_a_time_without_a_timezone_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_time(datetime(2026, 1, 1, 12, 0))


def test_no_store_module_but_timestamps_spells_out_the_time_format_or_reads_the_wall_clock() -> None:
    offenders = []
    for path in sorted(STORE.rglob("*.py")):
        if path.name == "timestamps.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "%Y-%m-%d" in node.value:
                offenders.append(f"{path.name}: the time format")
            called = node.attr if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) else ""
            if called in {"now", "utcnow", "strptime"} and ast.unparse(node).startswith("datetime."):
                offenders.append(f"{path.name}: datetime.{called}")
    assert offenders == []
