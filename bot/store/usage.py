"""The usage ledger (what each model request cost, by whom and where) and the quotas admins set per server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from bot.engine.api import Usage
from bot.engine.clock import Clock, utc_now
from bot.store.audit import insert_entry
from bot.store.db import Connection, Database
from bot.store.timestamps import format_time

QuotaScope = Literal["member", "server", "role"]
HOLD_LIFETIME = timedelta(minutes=15)
"""How long a hold counts: longer than any model request lasts; a hold older than that was left by a dead process."""


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


@dataclass(frozen=True, slots=True)
class Limits:
    """The daily token quotas a reservation must stay within (0 = unlimited)."""

    member: int = 0
    server: int = 0


@dataclass(frozen=True, slots=True)
class UsedUp:
    """Which daily quota a reservation found used up."""

    which: Literal["member", "server"]


class UsageLedger:
    """Writes one row per model request and sums them per member and per server, by UTC day.

    Before a request, `reserve` holds its estimated tokens if the quotas allow (under a lock per server, or per member
    in DMs, so concurrent reservations are counted one after another); `settle` replaces the hold by the request's
    real usage in one transaction, `release` drops it. What counts against a quota is today's ledger plus live holds.
    """

    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    async def record(self, record: UsageRecord) -> None:
        """Store one request's usage."""
        async with self._db.write(durable=False) as conn:  # counts, not bookings: see Database.write
            await self._insert(conn, record)

    async def spent(self, user_id: str, *, guild_id: str | None, limits: Limits) -> Literal["member", "server"] | None:
        """Which of the quotas `limits` the member (or the server) has used up today, holds included (None: neither)."""
        return await self._used_up(self._db, user_id, guild_id, limits, self._clock())

    async def reserve(self, user_id: str, *, guild_id: str | None, tokens: int, limits: Limits) -> str | UsedUp:
        """Hold `tokens` for a request about to start and return the hold's id, or say which quota is used up."""
        at = self._clock()
        async with self._db.write(durable=False) as conn:  # a hold expires by itself: see Database.write
            await _lock(conn, user_id, guild_id)
            await conn.execute("DELETE FROM usage_holds WHERE at < ?", (format_time(at - HOLD_LIFETIME),))
            used_up = await self._used_up(conn, user_id, guild_id, limits, at)
            if used_up is not None:
                return UsedUp(used_up)
            hold_id = uuid.uuid4().hex
            await conn.execute(
                "INSERT INTO usage_holds (id, at, guild_id, user_id, tokens) VALUES (?, ?, ?, ?, ?)",
                (hold_id, format_time(at), guild_id, user_id, max(0, tokens)),
            )
        return hold_id

    async def settle(self, hold_id: str, record: UsageRecord) -> None:
        """Replace the hold by the request's real usage, in one transaction."""
        async with self._db.write(durable=False) as conn:  # counts, not bookings: see Database.write
            await _lock(conn, record.user_id, record.guild_id)
            await conn.execute("DELETE FROM usage_holds WHERE id = ?", (hold_id,))
            await self._insert(conn, record)

    async def release(self, hold_id: str) -> None:
        """Drop a hold whose request failed (nothing to record)."""
        async with self._db.write(durable=False) as conn:
            await conn.execute("DELETE FROM usage_holds WHERE id = ?", (hold_id,))

    async def _used_up(
        self, reader: Connection | Database, user_id: str, guild_id: str | None, limits: Limits, at: datetime
    ) -> Literal["member", "server"] | None:
        day, fresh = utc_day(at).isoformat(), format_time(at - HOLD_LIFETIME)
        if limits.member:
            member: tuple[str, tuple[str, ...]] = (
                ("user_id = ? AND guild_id IS NULL", (user_id,))
                if guild_id is None
                else ("user_id = ? AND guild_id = ?", (user_id, guild_id))
            )
            if await _spent_today(reader, *member, day, fresh) >= limits.member:
                return "member"
        server_spent = 0
        if limits.server and guild_id is not None:
            server_spent = await _spent_today(reader, "guild_id = ?", (guild_id,), day, fresh)
        return "server" if limits.server and server_spent >= limits.server else None

    async def _insert(self, conn: Connection, record: UsageRecord) -> None:
        at = self._clock()
        usage = record.usage
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


async def _lock(conn: Connection, user_id: str, guild_id: str | None) -> None:
    """One reservation at a time per server (member and server quotas are read together), or per member in DMs."""
    await conn.lock("usage", guild_id if guild_id is not None else f"dm:{user_id}")


async def _spent_today(reader: Connection | Database, where: str, params: tuple[str, ...], day: str, fresh: str) -> int:
    """Tokens of today's ledger rows plus live holds matching `where`, read in one statement (one snapshot)."""
    row = await reader.fetchone(
        f"SELECT (SELECT COALESCE(SUM(input_tokens + output_tokens), 0) FROM usage_ledger WHERE {where} AND day >= ?)"
        f" + (SELECT COALESCE(SUM(tokens), 0) FROM usage_holds WHERE {where} AND at >= ?)",
        (*params, day, *params, fresh),
    )
    return 0 if row is None else int(str(row[0]))


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of a timezone-aware moment (quotas reset at midnight UTC)."""
    return moment.astimezone(UTC).date()


def _totals(row: Sequence[object]) -> UsageTotals:
    values = [int(str(value)) for value in row]
    return UsageTotals(*values)
