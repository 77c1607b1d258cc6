"""BookingStore over real SQLite: idempotent booking, slot capacity, the member limit, upcoming bookings, cancelling."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from bot.catalog import Booked, BookingRequest, OpeningHours, Restaurant, SlotFull, TooManyBookings
from bot.store.bookings import BookingStore
from bot.store.db import Database, IntegrityError
from bot.store.restaurants import RestaurantStore

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def request(**overrides: Any) -> BookingRequest:
    """A booking of 2 at r-1 on 2026-06-02 19:00 by member u-1 in guild g-1, with any field replaced."""
    base = BookingRequest(
        restaurant_id="r-1",
        guild_id="g-1",
        channel_id="c-1",
        user_id="u-1",
        user_name="Ana",
        date="2026-06-02",
        time="19:00",
        party_size=2,
        starts_at=datetime(2026, 6, 2, 18, 0, tzinfo=UTC),
        created_at=NOW,
    )
    return dataclasses.replace(base, **overrides)


def slot(n: int, **overrides: Any) -> BookingRequest:
    """The same booking moved to the n-th half-hour slot from 12:00 on 2026-06-02 (London, UTC+1)."""
    starts_at = datetime(2026, 6, 2, 11, 0, tzinfo=UTC) + timedelta(minutes=30 * n)
    return request(time=f"{12 + n // 2:02d}:{30 * (n % 2):02d}", starts_at=starts_at, **overrides)


@pytest_asyncio.fixture
async def store(db: Database) -> BookingStore:
    """A BookingStore over a catalog holding r-1 (6 seats per slot)."""
    await RestaurantStore(db).upsert_many(
        [
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
                seats_per_slot=6,
            )
        ]
    )
    return BookingStore(db)


async def active_rows(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) FROM bookings WHERE status = 'active'")
    assert row is not None
    return int(row[0])


@pytest.mark.asyncio
async def test_a_booking_is_stored_with_who_where_and_when(store: BookingStore) -> None:
    outcome = await store.book(request())
    assert isinstance(outcome, Booked) and not outcome.existing
    stored = await store.get(outcome.booking.id)
    assert stored == outcome.booking
    assert (stored.user_id, stored.user_name, stored.guild_id, stored.channel_id) == ("u-1", "Ana", "g-1", "c-1")
    assert (stored.date, stored.time, stored.party_size, stored.status) == ("2026-06-02", "19:00", 2, "active")
    assert stored.starts_at == datetime(2026, 6, 2, 18, 0, tzinfo=UTC)
    assert stored.created_at == NOW


@pytest.mark.asyncio
async def test_repeating_the_same_booking_returns_the_first(store: BookingStore, db: Database) -> None:
    first = await store.book(request())
    again = await store.book(request(created_at=NOW + timedelta(minutes=5)))
    assert isinstance(first, Booked) and isinstance(again, Booked)
    assert again.existing and again.booking == first.booking
    assert await active_rows(db) == 1


@pytest.mark.asyncio
async def test_concurrent_identical_bookings_make_one_row(store: BookingStore, db: Database) -> None:
    outcomes = await asyncio.gather(*(store.book(request()) for _ in range(5)))
    ids = {outcome.booking.id for outcome in outcomes if isinstance(outcome, Booked)}
    assert len(ids) == 1
    assert sum(not outcome.existing for outcome in outcomes if isinstance(outcome, Booked)) == 1
    assert await active_rows(db) == 1


@pytest.mark.asyncio
async def test_a_slot_never_seats_more_than_its_capacity(store: BookingStore) -> None:
    assert isinstance(await store.book(request(user_id="u-1", party_size=4)), Booked)
    full = await store.book(request(user_id="u-2", party_size=3))
    assert full == SlotFull(seats_per_slot=6, seats_taken=4)
    assert full.seats_left == 2
    assert isinstance(await store.book(request(user_id="u-2", party_size=2)), Booked)
    assert await store.seats_taken("r-1", "2026-06-02") == {"19:00": 6}


@pytest.mark.asyncio
async def test_concurrent_bookings_by_different_members_respect_capacity(store: BookingStore) -> None:
    outcomes = await asyncio.gather(*(store.book(request(user_id=f"u-{n}", party_size=2)) for n in range(5)))
    assert sum(isinstance(outcome, Booked) for outcome in outcomes) == 3
    assert await store.seats_taken("r-1", "2026-06-02") == {"19:00": 6}


@pytest.mark.asyncio
async def test_a_cancelled_booking_frees_its_seats_and_can_be_made_again(store: BookingStore) -> None:
    first = await store.book(request(party_size=6))
    assert isinstance(first, Booked)
    await store.cancel(first.booking.id, by_user_id="u-1", at=NOW)
    again = await store.book(request(party_size=6))
    assert isinstance(again, Booked) and not again.existing and again.booking.id != first.booking.id


@pytest.mark.asyncio
async def test_the_unique_index_refuses_a_second_identical_active_row(store: BookingStore, db: Database) -> None:
    booked = await store.book(request())
    assert isinstance(booked, Booked)
    with pytest.raises(IntegrityError):
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO bookings (restaurant_id, guild_id, channel_id, user_id, user_name, date, time, "
                "party_size, starts_at, created_at) SELECT restaurant_id, guild_id, channel_id, user_id, user_name, "
                "date, time, party_size, starts_at, created_at FROM bookings WHERE id = ?",
                (booked.booking.id,),
            )


@pytest.mark.asyncio
async def test_cancelling_twice_reports_the_second_as_already_cancelled(store: BookingStore) -> None:
    booked = await store.book(request())
    assert isinstance(booked, Booked)
    first = await store.cancel(booked.booking.id, by_user_id="admin", at=NOW)
    second = await store.cancel(booked.booking.id, by_user_id="u-1", at=NOW + timedelta(hours=1))
    assert first is not None and second is not None
    assert (first.already_cancelled, second.already_cancelled) == (False, True)
    assert second.booking.status == "cancelled"
    assert (second.booking.cancelled_by, second.booking.cancelled_at) == ("admin", NOW)
    assert await store.cancel(999, by_user_id="u-1", at=NOW) is None


@pytest.mark.asyncio
async def test_upcoming_bookings_are_the_members_future_active_ones_in_scope(store: BookingStore) -> None:
    soon = await store.book(request(time="12:00", starts_at=datetime(2026, 6, 2, 11, 0, tzinfo=UTC)))
    later = await store.book(request())
    elsewhere = await store.book(request(guild_id="g-2"))
    in_dm = await store.book(request(guild_id=None, time="13:00", starts_at=datetime(2026, 6, 2, 12, 0, tzinfo=UTC)))
    past = await store.book(request(date="2026-05-30", starts_at=datetime(2026, 5, 30, 18, 0, tzinfo=UTC)))
    cancelled = await store.book(request(party_size=1))
    await store.book(request(user_id="u-2", party_size=1))
    outcomes = [soon, later, elsewhere, in_dm, past, cancelled]
    assert all(isinstance(outcome, Booked) for outcome in outcomes)
    soon_id, later_id, elsewhere_id, dm_id, _past_id, cancelled_id = (
        outcome.booking.id for outcome in outcomes if isinstance(outcome, Booked)
    )
    await store.cancel(cancelled_id, by_user_id="u-1", at=NOW)

    here = await store.upcoming_for("u-1", guild_id="g-1", after=NOW)
    everywhere = await store.upcoming_for("u-1", guild_id=None, after=NOW)
    assert [booking.id for booking in here] == [soon_id, later_id]
    assert [booking.id for booking in everywhere] == [soon_id, dm_id, later_id, elsewhere_id]


@pytest.mark.asyncio
async def test_a_member_at_the_limit_is_refused_with_their_count(store: BookingStore, db: Database) -> None:
    for n in range(5):
        assert isinstance(await store.book(slot(n), max_active=5), Booked)
    assert await store.book(slot(5), max_active=5) == TooManyBookings(active=5, limit=5)
    assert await active_rows(db) == 5


@pytest.mark.asyncio
async def test_the_limit_counts_the_members_bookings_in_every_server_and_direct_messages(store: BookingStore) -> None:
    assert isinstance(await store.book(slot(0, guild_id="g-1"), max_active=2), Booked)
    assert isinstance(await store.book(slot(1, guild_id=None), max_active=2), Booked)
    assert await store.book(slot(2, guild_id="g-2"), max_active=2) == TooManyBookings(active=2, limit=2)
    assert isinstance(await store.book(slot(2, user_id="u-2"), max_active=2), Booked)


@pytest.mark.asyncio
async def test_past_and_cancelled_bookings_do_not_count_toward_the_limit(store: BookingStore) -> None:
    past = request(date="2026-05-30", starts_at=datetime(2026, 5, 30, 18, 0, tzinfo=UTC))
    cancelled = await store.book(slot(0), max_active=1)
    assert isinstance(await store.book(past), Booked) and isinstance(cancelled, Booked)
    await store.cancel(cancelled.booking.id, by_user_id="u-1", at=NOW)
    assert isinstance(await store.book(slot(1), max_active=1), Booked)


@pytest.mark.asyncio
async def test_an_identical_repeat_at_the_limit_returns_the_existing_booking(store: BookingStore) -> None:
    first = await store.book(slot(0), max_active=1)
    again = await store.book(slot(0, created_at=NOW + timedelta(minutes=5)), max_active=1)
    assert isinstance(first, Booked) and isinstance(again, Booked)
    assert again.existing and again.booking == first.booking


@pytest.mark.asyncio
async def test_concurrent_bookings_by_one_member_never_exceed_the_limit(store: BookingStore, db: Database) -> None:
    outcomes = await asyncio.gather(*(store.book(slot(n), max_active=5) for n in range(20)))
    assert sum(isinstance(outcome, Booked) for outcome in outcomes) == 5
    assert outcomes.count(TooManyBookings(active=5, limit=5)) == 15
    assert await active_rows(db) == 5


@pytest.mark.asyncio
async def test_check_answers_as_book_would_and_writes_nothing(store: BookingStore, db: Database) -> None:
    assert await store.check(slot(0), max_active=2) is None
    booked = await store.book(slot(0, party_size=4), max_active=2)
    assert isinstance(booked, Booked)
    assert await store.check(slot(0, party_size=4), max_active=2) == Booked(booked.booking, existing=True)
    assert await store.check(slot(0, user_id="u-2", party_size=3)) == SlotFull(seats_per_slot=6, seats_taken=4)
    await store.book(slot(1), max_active=2)
    assert await store.check(slot(2), max_active=2) == TooManyBookings(active=2, limit=2)
    assert await active_rows(db) == 2
