"""The usage ledger and quota overrides, in both backends: sums per member, per server, per UTC day; audited changes."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.engine.api import Usage
from bot.store.audit import AuditLog
from bot.store.db import Database
from bot.store.usage import Limits, QuotaOverrides, QuotaStore, UsageLedger, UsageRecord, UsageTotals, UsedUp

TODAY = date(2026, 6, 1)


def ledger_at(db: Database, moment: datetime) -> UsageLedger:
    return UsageLedger(db, clock=lambda: moment)


def spent(user_id: str, *, guild_id: str | None = "g1", tokens: int = 100, estimated: bool = False) -> UsageRecord:
    usage = Usage(input_tokens=tokens, output_tokens=tokens // 2, estimated=estimated)
    return UsageRecord(guild_id=guild_id, channel_id="c1", user_id=user_id, model="m", usage=usage)


@pytest.mark.asyncio
async def test_a_members_totals_count_one_server_or_their_dms_from_the_given_day(db: Database) -> None:
    yesterday = ledger_at(db, datetime(2026, 5, 31, 23, 59, tzinfo=UTC))
    today = ledger_at(db, datetime(2026, 6, 1, 0, 1, tzinfo=UTC))
    await yesterday.record(spent("u1", tokens=1000))
    await today.record(spent("u1", tokens=100))
    await today.record(spent("u1", tokens=10, estimated=True))
    await today.record(spent("u1", guild_id=None, tokens=40))
    await today.record(spent("u1", guild_id="g2", tokens=20))

    assert await today.member_totals("u1", guild_id="g1", since=TODAY) == UsageTotals(
        input_tokens=110, output_tokens=55, requests=2, estimated_requests=1
    )
    assert (await today.member_totals("u1", guild_id=None, since=TODAY)).input_tokens == 40
    assert (await today.server_totals("g1", since=date(2026, 5, 31))).input_tokens == 1110


@pytest.mark.asyncio
async def test_top_members_are_the_biggest_spenders_first(db: Database) -> None:
    ledger = ledger_at(db, datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    for user_id, tokens in [("u1", 10), ("u2", 300), ("u3", 200), ("u2", 1)]:
        await ledger.record(spent(user_id, tokens=tokens))
    top = await ledger.top_members("g1", since=TODAY, limit=2)
    assert [(member.user_id, member.totals.total_tokens) for member in top] == [("u2", 301 + 150), ("u3", 300)]


@pytest.mark.asyncio
async def test_quota_overrides_are_set_replaced_and_reset_and_each_change_is_audited(db: Database) -> None:
    quotas = QuotaStore(db)
    admin = {"actor_id": "a1", "actor_name": "Admin"}
    await quotas.set_quota("g1", "member", 5000, **admin)
    await quotas.set_quota("g1", "role", 0, role_id="r-vip", **admin)
    await quotas.set_quota("g1", "server", 100_000, **admin)
    await quotas.set_quota("g1", "server", None, **admin)
    await quotas.set_quota("g1", "server", None, **admin)
    assert await quotas.overrides("g1") == QuotaOverrides(member=5000, roles={"r-vip": 0})
    entries = await AuditLog(db).query(guild_id="g1")
    assert [(entry.kind, entry.outcome) for entry in entries] == [("quota", "unchanged")] + [("quota", "changed")] * 4


@pytest.mark.asyncio
async def test_concurrent_reservations_of_one_member_never_pass_the_quota_together(db: Database) -> None:
    ledger = ledger_at(db, datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    limits = Limits(member=1000)
    held = await asyncio.gather(*(ledger.reserve("u1", guild_id="g1", tokens=300, limits=limits) for _ in range(12)))
    assert sum(isinstance(outcome, str) for outcome in held) == 4  # 0, 300, 600 and 900 are under 1,000
    assert held.count(UsedUp("member")) == 8
    assert await ledger.spent("u1", guild_id="g1", limits=limits) == "member"
    assert await ledger.spent("u2", guild_id="g1", limits=limits) is None


@pytest.mark.asyncio
async def test_a_hold_is_replaced_by_the_real_usage_and_a_released_or_stale_hold_counts_nothing(db: Database) -> None:
    noon = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    ledger = ledger_at(db, noon)
    limits = Limits(member=1000, server=5000)
    first = await ledger.reserve("u1", guild_id="g1", tokens=900, limits=limits)
    second = await ledger.reserve("u1", guild_id="g1", tokens=200, limits=limits)
    assert isinstance(first, str) and isinstance(second, str)
    assert await ledger.spent("u1", guild_id="g1", limits=limits) == "member"  # 1,100 held
    await ledger.settle(first, spent("u1", tokens=100))  # it really cost 150
    assert await ledger.spent("u1", guild_id="g1", limits=limits) is None  # 150 + 200
    await ledger.release(second)
    assert (await ledger.member_totals("u1", guild_id="g1", since=TODAY)).total_tokens == 150

    stale = await ledger.reserve("u1", guild_id="g1", tokens=5000, limits=limits)
    assert isinstance(stale, str) and await ledger.spent("u2", guild_id="g1", limits=limits) == "server"
    later = ledger_at(db, noon + timedelta(minutes=16))  # its process died: the hold no longer counts
    assert await later.spent("u1", guild_id="g1", limits=limits) is None


@pytest.mark.asyncio
async def test_holds_count_per_place_dms_toward_no_server(db: Database) -> None:
    ledger = ledger_at(db, datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    assert isinstance(await ledger.reserve("u1", guild_id=None, tokens=800, limits=Limits(member=500)), str)
    assert await ledger.spent("u1", guild_id=None, limits=Limits(member=500)) == "member"
    assert await ledger.spent("u1", guild_id="g1", limits=Limits(member=500, server=500)) is None
    assert await ledger.spent("u1", guild_id="g2", limits=Limits(member=500)) is None
