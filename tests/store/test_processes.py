"""Several processes on one database: each opens its own Database (its own connections or pool), as a shard would."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

import pytest

from bot.catalog import Booked, OpeningHours, Restaurant, SlotFull, TooManyBookings
from bot.store.bookings import BookingStore
from bot.store.db import bundled_migrations, open_database
from bot.store.restaurants import RestaurantStore
from tests.store.test_bookings import request

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
SEATS = 6
REQUEST = request(party_size=1)
CATALOG = [
    Restaurant(
        id="r-1",
        name="Test Kitchen",
        city="London",
        district="Soho",
        cuisine="British",
        price_range="moderate",
        address="1 Test Street",
        timezone="Europe/London",
        hours=OpeningHours.parse_compact("daily 12:00-22:00"),
        seats_per_slot=SEATS,
    )
]


@pytest.mark.asyncio
async def test_two_processes_booking_the_last_seats_of_a_slot_book_exactly_the_capacity(database_url: str) -> None:
    first, second = await open_database(database_url), await open_database(database_url)
    try:
        await RestaurantStore(first).upsert_many(CATALOG)
        members = [dataclasses.replace(REQUEST, user_id=f"u-{n}") for n in range(4 * SEATS)]
        outcomes = await asyncio.gather(
            *(BookingStore(first if n % 2 else second).book(request) for n, request in enumerate(members))
        )
        assert sum(isinstance(outcome, Booked) for outcome in outcomes) == SEATS
        assert all(isinstance(outcome, Booked | SlotFull) for outcome in outcomes)
        assert await BookingStore(first).seats_taken("r-1", "2026-06-02") == {"19:00": SEATS}
    finally:
        await first.close()
        await second.close()


@pytest.mark.asyncio
async def test_two_processes_booking_for_one_member_at_once_never_pass_the_members_limit(database_url: str) -> None:
    first, second = await open_database(database_url), await open_database(database_url)
    try:
        await RestaurantStore(first).upsert_many(CATALOG)
        times = [f"{hour}:{minute}" for hour in range(12, 22) for minute in ("00", "30")]
        requests = [dataclasses.replace(REQUEST, time=time) for time in times]
        outcomes = await asyncio.gather(
            *(BookingStore(first if n % 2 else second).book(r, max_active=3) for n, r in enumerate(requests))
        )
        assert sum(isinstance(outcome, Booked) for outcome in outcomes) == 3
        assert all(isinstance(outcome, Booked | TooManyBookings) for outcome in outcomes)
    finally:
        await first.close()
        await second.close()


@pytest.mark.asyncio
async def test_two_processes_repeating_one_booking_at_once_make_one_row(database_url: str) -> None:
    first, second = await open_database(database_url), await open_database(database_url)
    try:
        await RestaurantStore(first).upsert_many(CATALOG)
        outcomes = await asyncio.gather(*(BookingStore(db).book(REQUEST) for db in [first, second] * 5))
        ids = {outcome.booking.id for outcome in outcomes if isinstance(outcome, Booked)}
        assert len(ids) == 1 and len(outcomes) == 10
        assert sum(not outcome.existing for outcome in outcomes if isinstance(outcome, Booked)) == 1
    finally:
        await first.close()
        await second.close()


@pytest.mark.asyncio
async def test_processes_migrating_an_empty_database_at_once_all_succeed_and_apply_it_once(database_url: str) -> None:
    opened = await asyncio.gather(*(open_database(database_url) for _ in range(4)))
    try:
        latest = bundled_migrations()[-1].version
        assert [await db.schema_version() for db in opened] == [latest] * 4
        if opened[0].dialect == "postgres":
            assert await opened[0].fetchone("SELECT count(*), count(DISTINCT version) FROM schema_migrations") == (
                latest,
                latest,
            )
        # Each table exactly once, and usable from every process.
        await RestaurantStore(opened[0]).upsert_many(CATALOG)
        assert [await RestaurantStore(db).count() for db in opened] == [1] * 4
    finally:
        for db in opened:
            await db.close()
