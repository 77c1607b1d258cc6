"""The reconnect backoff of an MCP server that keeps failing, as a sequence (nothing waits here)."""

from __future__ import annotations

import inspect

from bot.mcp import McpTools
from bot.mcp.connection import backoff_seconds


def test_retries_wait_twice_as_long_each_time_from_half_a_second_and_never_more_than_30_seconds() -> None:
    assert [backoff_seconds(attempt) for attempt in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert backoff_seconds(2_000) == 30  # a server down for days: still 30 s (2**2000 would not fit a float)
    assert inspect.signature(McpTools).parameters["max_backoff"].default == 30


def test_a_smaller_cap_holds_from_the_first_retry() -> None:
    assert [backoff_seconds(attempt, 0.2) for attempt in range(3)] == [0.2, 0.2, 0.2]
