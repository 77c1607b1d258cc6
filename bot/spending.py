"""What turns cost: the ledger written after every model request, daily quotas checked before every request, /usage.

A member's daily quota counts per place: each server separately, and all of the member's direct messages together
(the DM quota is the DAILY_TOKENS_PER_MEMBER setting; servers may override theirs). A server's quota counts everyone's
requests in that server; DMs count toward no server. Every model request of a turn first reserves its estimated
tokens (`TurnBudget`), under a lock, against today's usage plus the requests still in flight, and the reservation is
replaced by the real usage when the request ends: one member's concurrent turns cannot all slip past the quota.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from bot.engine.api import Usage
from bot.engine.errors import OverBudget
from bot.engine.permissions import Caller, Place
from bot.store.usage import (
    Limits,
    MemberTotals,
    QuotaOverrides,
    QuotaScope,
    QuotaStore,
    UsageLedger,
    UsageRecord,
    UsedUp,
    utc_day,
)
from bot.store.usage import UsageTotals as UsageTotals

TOP_MEMBERS = 5


@dataclass(frozen=True, slots=True)
class QuotaDefaults:
    """The settings' daily token quotas (0 = unlimited): DAILY_TOKENS_PER_MEMBER and DAILY_TOKENS_PER_SERVER."""

    per_member: int = 0
    per_server: int = 0


@dataclass(frozen=True, slots=True)
class Quotas:
    """The daily token quotas that apply to one member in one place (0 = unlimited; no server quota in a DM)."""

    member: int
    server: int


def effective_quotas(defaults: QuotaDefaults, overrides: QuotaOverrides, caller: Caller) -> Quotas:
    """The member's quotas: a role override wins (the most generous of the member's roles, 0 being unlimited), then
    the server's member override, then the setting; the server's own override, then the setting."""
    member = defaults.per_member if overrides.member is None else overrides.member
    by_role = [tokens for role_id, tokens in overrides.roles.items() if role_id in caller.role_ids]
    if by_role:
        member = 0 if 0 in by_role else max(by_role)
    server = defaults.per_server if overrides.server is None else overrides.server
    return Quotas(member=member, server=server)


class QuotaReached(OverBudget):
    """A daily token quota is used up: no model call is made until it resets at midnight UTC (a turn that reaches it
    ends there, keeping what its tools did)."""

    def __init__(self, which: Literal["member", "server"], *, limit: int, now: datetime) -> None:
        super().__init__(
            f"{which} quota of {limit} tokens reached",
            key=f"error.quota_reached.{which}",
            params={"limit": f"{limit:,}", "resets_in_minutes": _minutes_until_midnight_utc(now)},
        )
        self.which = which
        self.limit = limit


@dataclass(frozen=True, slots=True)
class MemberUsage:
    """One member's usage in one place, today and this month (UTC)."""

    user_id: str
    today: UsageTotals
    month: UsageTotals


@dataclass(frozen=True, slots=True)
class ServerUsage:
    """A server's usage today and this month, its top members this month, and its quotas."""

    today: UsageTotals
    month: UsageTotals
    top_members: tuple[MemberTotals, ...]
    defaults: QuotaDefaults
    overrides: QuotaOverrides


class Spending:
    """Records what each model request cost and keeps members and servers within their daily quotas."""

    def __init__(self, ledger: UsageLedger, quotas: QuotaStore, *, defaults: QuotaDefaults, model: str) -> None:
        self._ledger = ledger
        self._quotas = quotas
        self._defaults = defaults
        self._model = model

    async def check(self, place: Place, caller: Caller, *, now: datetime) -> None:
        """Raise QuotaReached when the member or the server has used up today's tokens (requests in flight count)."""
        quotas = await self._quotas_for(place, caller)
        used_up = await self._ledger.spent(caller.user_id, guild_id=place.guild_id, limits=quotas)
        if used_up is not None:
            raise QuotaReached(used_up, limit=_limit(quotas, used_up), now=now)

    def budget(self, place: Place, caller: Caller, *, now: Callable[[], datetime]) -> TurnBudget:
        """The budget of one turn of this member here: every model request reserves against the quotas first."""
        return TurnBudget(self, place, caller, now)

    async def reserve(self, place: Place, caller: Caller, tokens: int, *, now: datetime) -> UsageHold:
        """Hold `tokens` for a request about to start, or raise QuotaReached (the quotas are read afresh)."""
        quotas = await self._quotas_for(place, caller)
        held = await self._ledger.reserve(caller.user_id, guild_id=place.guild_id, tokens=tokens, limits=quotas)
        if isinstance(held, UsedUp):
            raise QuotaReached(held.which, limit=_limit(quotas, held.which), now=now)
        return UsageHold(self, place, caller, held)

    async def settle(self, hold_id: str, place: Place, caller: Caller, usage: Usage | None) -> None:
        """Replace a hold by the request's real usage (None: the request failed; drop the hold)."""
        if usage is None:
            await self._ledger.release(hold_id)
        else:
            await self._ledger.settle(hold_id, self._record_of(place, caller, usage))

    async def _quotas_for(self, place: Place, caller: Caller) -> Limits:
        overrides = QuotaOverrides() if place.guild_id is None else await self._quotas.overrides(place.guild_id)
        quotas = effective_quotas(self._defaults, overrides, caller)
        return Limits(member=quotas.member, server=quotas.server if place.guild_id is not None else 0)

    def _record_of(self, place: Place, caller: Caller, usage: Usage) -> UsageRecord:
        return UsageRecord(
            guild_id=place.guild_id, channel_id=place.channel_id, user_id=caller.user_id, model=self._model, usage=usage
        )

    async def record(self, place: Place, caller: Caller, usage: Usage) -> None:
        """Add one model request to the ledger."""
        await self._ledger.record(self._record_of(place, caller, usage))

    async def member_usage(self, place: Place, user_id: str, *, now: datetime) -> MemberUsage:
        """A member's tokens in this server (or their DMs) today and this month."""
        today = utc_day(now)
        totals = self._ledger.member_totals
        return MemberUsage(
            user_id=user_id,
            today=await totals(user_id, guild_id=place.guild_id, since=today),
            month=await totals(user_id, guild_id=place.guild_id, since=_month_start(today)),
        )

    async def server_usage(self, guild_id: str, *, now: datetime) -> ServerUsage:
        """The server's totals, top members this month, and its quotas."""
        today = utc_day(now)
        month = _month_start(today)
        return ServerUsage(
            today=await self._ledger.server_totals(guild_id, since=today),
            month=await self._ledger.server_totals(guild_id, since=month),
            top_members=tuple(await self._ledger.top_members(guild_id, since=month, limit=TOP_MEMBERS)),
            defaults=self._defaults,
            overrides=await self._quotas.overrides(guild_id),
        )

    async def set_quota(
        self, guild_id: str, scope: QuotaScope, tokens: int | None, *, role_id: str, actor: Caller
    ) -> None:
        """Override a daily quota in a server (None: back to the setting); audited."""
        await self._quotas.set_quota(
            guild_id, scope, tokens, role_id=role_id, actor_id=actor.user_id, actor_name=actor.name
        )


@dataclass(frozen=True, slots=True)
class TurnBudget:
    """One turn's budget (bot.engine.budget.Budget): the member's and the server's daily quotas."""

    spending: Spending
    place: Place
    caller: Caller
    now: Callable[[], datetime]

    async def reserve(self, tokens: int) -> UsageHold:
        """Hold the next request's estimated tokens, or raise QuotaReached."""
        return await self.spending.reserve(self.place, self.caller, tokens, now=self.now())


@dataclass(frozen=True, slots=True)
class UsageHold:
    """The tokens held for one request in flight (bot.engine.budget.Hold)."""

    spending: Spending
    place: Place
    caller: Caller
    hold_id: str

    async def settle(self, usage: Usage | None) -> None:
        """Record what the request cost in place of the hold (None: drop the hold)."""
        await self.spending.settle(self.hold_id, self.place, self.caller, usage)


def _limit(limits: Limits, which: Literal["member", "server"]) -> int:
    return limits.member if which == "member" else limits.server


def prompt_cache_key(place: Place) -> str:
    """A stable, opaque prompt-cache key per channel (requests of one channel share their prefix)."""
    return "concierge-" + hashlib.sha256(place.channel_id.encode()).hexdigest()[:32]


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _minutes_until_midnight_utc(now: datetime) -> int:
    """Whole minutes until the next midnight UTC (at least one)."""
    midnight = datetime.combine(utc_day(now) + timedelta(days=1), time(), tzinfo=UTC)
    return max(1, int((midnight - now).total_seconds() // 60))
