"""The usage ledger (what each model request cost, by whom and where) and the quotas admins set per server."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from bot.engine.api import Usage
from bot.engine.clock import Clock, utc_now
from bot.store.audit import format_time, insert_entry
from bot.store.db import Database

QuotaScope = Literal["member", "server", "role"]


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One model request's cost, with who asked, where, and with which model."""

    guild_id: str | None
    channel_id: str
    user_id: str
    model: str
    usage: Usage


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """Tokens summed over some requests; `estimated_requests` of them were counted here, not by the server."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    requests: int = 0
    estimated_requests: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output: what quotas count."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class MemberTotals:
    """One member's totals (for a server's top members)."""

    user_id: str
    totals: UsageTotals


@dataclass(frozen=True, slots=True)
class QuotaOverrides:
    """A server's own daily token quotas; None means the setting's default, 0 unlimited."""

    member: int | None = None
    server: int | None = None
    roles: dict[str, int] = field(default_factory=dict)


_SUMS = (
    "COALESCE(SUM(input_tokens), 0), COALESCE(SUM(cached_input_tokens), 0), COALESCE(SUM(output_tokens), 0),"
    " COALESCE(SUM(reasoning_tokens), 0), COUNT(*), COALESCE(SUM(estimated), 0)"
)


class UsageLedger:
    """Writes one row per model request and sums them per member and per server, by UTC day."""

    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    async def record(self, record: UsageRecord) -> None:
        """Store one request's usage."""
        at = self._clock()
        usage = record.usage
        async with self._db.write() as conn:
            await conn.execute(
                "INSERT INTO usage_ledger (at, day, guild_id, channel_id, user_id, model, input_tokens,"
                " cached_input_tokens, output_tokens, reasoning_tokens, estimated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    format_time(at),
                    utc_day(at).isoformat(),
                    record.guild_id,
                    record.channel_id,
                    record.user_id,
                    record.model,
                    usage.input_tokens,
                    usage.cached_input_tokens,
                    usage.output_tokens,
                    usage.reasoning_tokens,
                    int(usage.estimated),
                ),
            )

    async def member_totals(self, user_id: str, *, guild_id: str | None, since: date) -> UsageTotals:
        """A member's usage in one server (or in DMs, for None) from `since` (a UTC day) on."""
        if guild_id is None:
            return await self._totals("user_id = ? AND guild_id IS NULL", (user_id,), since)
        return await self._totals("user_id = ? AND guild_id = ?", (user_id, guild_id), since)

    async def server_totals(self, guild_id: str, *, since: date) -> UsageTotals:
        """A server's usage from `since` (a UTC day) on."""
        return await self._totals("guild_id = ?", (guild_id,), since)

    async def top_members(self, guild_id: str, *, since: date, limit: int = 5) -> list[MemberTotals]:
        """The members who used the most tokens in a server from `since` on, most first."""
        rows = await self._db.fetch(
            f"SELECT user_id, {_SUMS} FROM usage_ledger WHERE guild_id = ? AND day >= ?"
            " GROUP BY user_id ORDER BY SUM(input_tokens) + SUM(output_tokens) DESC, user_id LIMIT ?",
            (guild_id, since.isoformat(), limit),
        )
        return [MemberTotals(str(row[0]), _totals(row[1:])) for row in rows]

    async def _totals(self, where: str, params: tuple[str, ...], since: date) -> UsageTotals:
        row = await self._db.fetchone(
            f"SELECT {_SUMS} FROM usage_ledger WHERE {where} AND day >= ?", (*params, since.isoformat())
        )
        return UsageTotals() if row is None else _totals(row)


class QuotaStore:
    """A server's quota overrides; every change is audited in the same transaction."""

    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    async def overrides(self, guild_id: str) -> QuotaOverrides:
        """The server's overrides (none set: all None and no roles)."""
        rows = await self._db.fetch(
            "SELECT scope, role_id, daily_tokens FROM quota_overrides WHERE guild_id = ?", (guild_id,)
        )
        member = server = None
        roles: dict[str, int] = {}
        for scope, role_id, tokens in rows:
            if scope == "member":
                member = int(tokens)
            elif scope == "server":
                server = int(tokens)
            else:
                roles[str(role_id)] = int(tokens)
        return QuotaOverrides(member=member, server=server, roles=roles)

    async def set_quota(
        self,
        guild_id: str,
        scope: QuotaScope,
        daily_tokens: int | None,
        *,
        role_id: str = "",
        actor_id: str,
        actor_name: str,
    ) -> None:
        """Set a daily quota (0 = unlimited) or, with None, go back to the default; audited as kind 'quota'."""
        key = (guild_id, scope, role_id if scope == "role" else "")
        async with self._db.write() as conn:
            if daily_tokens is None:
                changed = await conn.execute(
                    "DELETE FROM quota_overrides WHERE guild_id = ? AND scope = ? AND role_id = ?", key
                )
            else:
                changed = await conn.execute(
                    "INSERT INTO quota_overrides (guild_id, scope, role_id, daily_tokens) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (guild_id, scope, role_id) DO UPDATE SET daily_tokens = excluded.daily_tokens",
                    (*key, daily_tokens),
                )
            target = f"role {role_id}" if scope == "role" else scope
            value = "the default" if daily_tokens is None else "unlimited" if daily_tokens == 0 else f"{daily_tokens:,}"
            await insert_entry(
                conn,
                at=self._clock(),
                kind="quota",
                guild_id=guild_id,
                channel_id=None,
                user_id=actor_id,
                user_name=actor_name,
                tool="quota",
                arguments=json.dumps({"scope": scope, "role_id": role_id or None, "daily_tokens": daily_tokens}),
                outcome="changed" if changed > 0 else "unchanged",
                duration_ms=None,
                summary=f"set the daily {target} quota to {value} tokens",
            )


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of a timezone-aware moment (quotas reset at midnight UTC)."""
    return moment.astimezone(UTC).date()


def _totals(row: Sequence[object]) -> UsageTotals:
    values = [int(str(value)) for value in row]
    return UsageTotals(*values)
