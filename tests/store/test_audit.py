"""The audit log: tool calls recorded, queried by server, tool, user and time, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.store.audit import MAX_TEXT_CHARS, AuditLog, ToolCallRecord
from bot.store.db import Database

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class StepClock:
    """A clock that moves one minute forward each time it is read."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def record(*, guild: str | None = "g1", tool: str = "weather", user: str = "u1", summary: str = "ok") -> ToolCallRecord:
    return ToolCallRecord(
        guild_id=guild,
        channel_id="c1",
        user_id=user,
        user_name=f"name-{user}",
        tool=tool,
        arguments='{"city": "Oslo"}',
        outcome="ok",
        duration_ms=12.5,
        summary=summary,
    )


@pytest.mark.asyncio
async def test_tool_call_is_stored_with_every_field(db: Database) -> None:
    audit = AuditLog(db, clock=StepClock())
    await audit.record_tool_call(record())
    [entry] = await audit.query(guild_id="g1")
    assert entry.kind == "tool_call"
    assert entry.at == START + timedelta(minutes=1)
    assert (entry.guild_id, entry.channel_id, entry.user_id, entry.user_name) == ("g1", "c1", "u1", "name-u1")
    assert (entry.tool, entry.arguments, entry.outcome, entry.duration_ms, entry.summary) == (
        "weather",
        '{"city": "Oslo"}',
        "ok",
        12.5,
        "ok",
    )


@pytest.mark.asyncio
async def test_query_is_newest_first_and_limited(db: Database) -> None:
    audit = AuditLog(db, clock=StepClock())
    for n in range(5):
        await audit.record_tool_call(record(summary=f"call {n}"))
    entries = await audit.query(guild_id="g1", limit=3)
    assert [e.summary for e in entries] == ["call 4", "call 3", "call 2"]


@pytest.mark.asyncio
async def test_rows_written_in_the_same_instant_are_still_newest_first(db: Database) -> None:
    audit = AuditLog(db, clock=lambda: START)
    for n in range(3):
        await audit.record_tool_call(record(summary=f"call {n}"))
    assert [e.summary for e in await audit.query(guild_id="g1")] == ["call 2", "call 1", "call 0"]


@pytest.mark.asyncio
async def test_query_filters_by_server_tool_user_and_time(db: Database) -> None:
    audit = AuditLog(db, clock=StepClock())
    await audit.record_tool_call(record(summary="1 g1 weather u1"))  # 12:01
    await audit.record_tool_call(record(tool="search", summary="2 g1 search u1"))  # 12:02
    await audit.record_tool_call(record(user="u2", summary="3 g1 weather u2"))  # 12:03
    await audit.record_tool_call(record(guild="g2", summary="4 g2 weather u1"))  # 12:04
    await audit.record_tool_call(record(guild=None, summary="5 dm weather u1"))  # 12:05
    await audit.record_tool_call(record(tool="search", user="u2", summary="6 g1 search u2"))  # 12:06

    async def summaries(**filters: object) -> list[str]:
        return [e.summary for e in await audit.query(**filters)]  # type: ignore[arg-type]

    assert await summaries(guild_id="g1") == ["6 g1 search u2", "3 g1 weather u2", "2 g1 search u1", "1 g1 weather u1"]
    assert await summaries(guild_id="g2") == ["4 g2 weather u1"]
    assert await summaries(guild_id="g1", tool="search") == ["6 g1 search u2", "2 g1 search u1"]
    assert await summaries(guild_id="g1", user_id="u2") == ["6 g1 search u2", "3 g1 weather u2"]
    assert await summaries(guild_id="g1", tool="weather", user_id="u1") == ["1 g1 weather u1"]
    since = START + timedelta(minutes=3)
    assert await summaries(guild_id="g1", since=since) == ["6 g1 search u2", "3 g1 weather u2"]
    # `since` in another timezone means the same instant.
    assert await summaries(guild_id="g1", since=since.astimezone(timezone_plus_two())) == [
        "6 g1 search u2",
        "3 g1 weather u2",
    ]


def timezone_plus_two() -> timezone:
    """A fixed UTC+2 offset."""
    return timezone(timedelta(hours=2))


@pytest.mark.asyncio
async def test_long_arguments_and_summaries_are_truncated_and_cut_arguments_say_how_long_they_were(
    db: Database,
) -> None:
    audit = AuditLog(db)
    long = ToolCallRecord(
        guild_id="g1",
        channel_id="c1",
        user_id="u1",
        user_name="Ann",
        tool="search",
        arguments="a" * 5000,
        outcome="ok",
        duration_ms=1.0,
        summary="s" * 5000,
    )
    await audit.record_tool_call(long)
    [entry] = await audit.query(guild_id="g1")
    assert len(entry.arguments) == MAX_TEXT_CHARS and entry.arguments.endswith("…[cut from 5,000 characters]")
    assert entry.arguments.startswith("aaa")
    assert len(entry.summary) == MAX_TEXT_CHARS and entry.summary.startswith("sss")


@pytest.mark.asyncio
async def test_naive_since_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="timezone"):
        await AuditLog(db).query(guild_id="g1", since=datetime(2025, 1, 1))
