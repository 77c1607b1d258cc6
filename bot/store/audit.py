"""The audit log: one row per tool call and per policy change, queryable for /audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.engine.clock import Clock, utc_now
from bot.store.db import Connection, Database
from bot.store.timestamps import format_time, parse_time

MAX_TEXT_CHARS = 500
MAX_QUERY_LIMIT = 1000

AuditKind = Literal["tool_call", "policy", "confirmation", "quota"]


def truncate(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Cut `text` to at most `limit` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def truncate_marked(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Cut `text` to at most `limit` characters, saying how long it was: "…[cut from 200,000 characters]"."""
    if len(text) <= limit:
        return text
    mark = f"…[cut from {len(text):,} characters]"
    return text[: limit - len(mark)] + mark


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    """What the executor reports about one tool call."""

    guild_id: str | None
    channel_id: str
    user_id: str
    user_name: str
    tool: str
    arguments: str
    outcome: str
    duration_ms: float
    summary: str


@dataclass(frozen=True, slots=True)
class ConfirmationRecord:
    """A confirmation asked of a member ("requested"), or its outcome and who pressed (confirmed, declined, ...)."""

    guild_id: str | None
    channel_id: str
    user_id: str
    user_name: str
    tool: str
    arguments: str
    outcome: str
    summary: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One stored audit row, as /audit shows it."""

    id: int
    at: datetime
    kind: AuditKind
    guild_id: str | None
    channel_id: str | None
    user_id: str
    user_name: str
    tool: str
    arguments: str
    outcome: str
    duration_ms: float | None
    summary: str


async def insert_entry(
    conn: Connection,
    *,
    at: datetime,
    kind: AuditKind,
    guild_id: str | None,
    channel_id: str | None,
    user_id: str,
    user_name: str,
    tool: str,
    arguments: str,
    outcome: str,
    duration_ms: float | None,
    summary: str,
) -> None:
    """Write one audit row inside the caller's write transaction (so it commits with the change it records)."""
    await conn.execute(
        "INSERT INTO audit_log (at, kind, guild_id, channel_id, user_id, user_name, tool, arguments, outcome,"
        " duration_ms, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            format_time(at),
            kind,
            guild_id,
            channel_id,
            user_id,
            truncate(user_name, 100),
            tool,
            truncate_marked(arguments),
            truncate(outcome, 100),
            duration_ms,
            truncate(summary),
        ),
    )


class AuditLog:
    """Records tool calls and answers /audit queries, newest first."""

    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    async def record_tool_call(self, record: ToolCallRecord) -> None:
        """Store one tool call; long arguments and summaries are truncated."""
        await self._record("tool_call", record, duration_ms=record.duration_ms)

    async def record_confirmation(self, record: ConfirmationRecord) -> None:
        """Store a confirmation request or outcome."""
        await self._record("confirmation", record, duration_ms=None)

    async def _record(
        self, kind: AuditKind, record: ToolCallRecord | ConfirmationRecord, *, duration_ms: float | None
    ) -> None:
        async with self._db.write() as conn:
            await insert_entry(
                conn,
                at=self._clock(),
                kind=kind,
                guild_id=record.guild_id,
                channel_id=record.channel_id,
                user_id=record.user_id,
                user_name=record.user_name,
                tool=record.tool,
                arguments=record.arguments,
                outcome=record.outcome,
                duration_ms=duration_ms,
                summary=record.summary,
            )

    async def query(
        self,
        *,
        guild_id: str,
        tool: str | None = None,
        user_id: str | None = None,
        since: datetime | None = None,
        limit: int = 20,
    ) -> list[AuditEntry]:
        """A server's audit rows, newest first, optionally only one tool, one user, or from `since` on."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        conditions = ["guild_id = ?"]
        params: list[str | int] = [guild_id]
        if tool is not None:
            conditions.append("tool = ?")
            params.append(tool)
        if user_id is not None:
            conditions.append("user_id = ?")
            params.append(user_id)
        if since is not None:
            conditions.append("at >= ?")
            params.append(format_time(since))
        params.append(min(limit, MAX_QUERY_LIMIT))
        sql = (
            "SELECT id, at, kind, guild_id, channel_id, user_id, user_name, tool, arguments, outcome, duration_ms,"
            f" summary FROM audit_log WHERE {' AND '.join(conditions)} ORDER BY at DESC, id DESC LIMIT ?"
        )
        rows = await self._db.fetch(sql, params)
        return [
            AuditEntry(
                id=int(row[0]),
                at=parse_time(row[1]),
                kind=row[2],
                guild_id=row[3],
                channel_id=row[4],
                user_id=row[5],
                user_name=row[6],
                tool=row[7],
                arguments=row[8],
                outcome=row[9],
                duration_ms=None if row[10] is None else float(row[10]),
                summary=row[11],
            )
            for row in rows
        ]
