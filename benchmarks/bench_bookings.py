"""Benchmark: bookings per second with 1 and with 4 concurrent writers, on SQLite and PostgreSQL.

Run on demand: .venv/bin/python benchmarks/bench_bookings.py [--bookings 400] [--postgres URL]
Each writer is its own Database (its own connections, as a separate process would have) booking one party of 2 per
request, each for another member and slot, through BookingStore.book with the member limit on: the full path a
booking takes (member and slot locks, identical-booking check, member count, capacity count, insert, commit).
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # the checkout: bot/ and tests/

from bot.catalog import Booked, BookingRequest, OpeningHours, Restaurant
from bot.store.bookings import BookingStore
from bot.store.db import open_database
from bot.store.restaurants import RestaurantStore
from tests.postgres import ThrowawayPostgres, create_database

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
RESTAURANTS = [
    Restaurant(
        id=f"r-{n}",
        name=f"Kitchen {n}",
        city="London",
        district="Soho",
        cuisine="British",
        price_range="moderate",
        address=f"{n} Test Street",
        timezone="UTC",
        hours=OpeningHours.parse_compact("daily 00:00-24:00"),
        seats_per_slot=1000,
    )
    for n in range(20)
]


def request(writer: int, n: int) -> BookingRequest:
    """The n-th booking of a writer: its own member, a slot spread over restaurants and days."""
    starts_at = NOW + timedelta(days=1 + n % 60, minutes=30 * (n % 48))
    return BookingRequest(
        restaurant_id=f"r-{(writer * 7 + n) % len(RESTAURANTS)}",
        guild_id="g-1",
        channel_id="c-1",
        user_id=f"w{writer}-u{n}",
        user_name="Bench",
        date=starts_at.date().isoformat(),
        time=starts_at.strftime("%H:%M"),
        party_size=2,
        starts_at=starts_at,
        created_at=NOW,
    )


async def rate(url: str, *, writers: int, bookings: int) -> float:
    """Bookings per second with `writers` processes-alike writing at once, `bookings` in total."""
    setup = await open_database(url)
    await RestaurantStore(setup).upsert_many(RESTAURANTS)
    stores = [BookingStore(await open_database(url)) for _ in range(writers)]
    per_writer = bookings // writers

    async def write(number: int, store: BookingStore) -> None:
        for n in range(per_writer):
            assert isinstance(await store.book(request(number, n), max_active=5), Booked)

    started = time.perf_counter()
    await asyncio.gather(*(write(number, store) for number, store in enumerate(stores)))
    seconds = time.perf_counter() - started
    for store in stores:
        await store._db.close()
    await setup.close()
    return per_writer * writers / seconds


async def main(*, bookings: int, postgres: str | None) -> None:
    """1 and 4 writers on a fresh SQLite file each, then on a fresh PostgreSQL database each."""
    with tempfile.TemporaryDirectory() as folder:
        for writers in (1, 4):
            url = f"sqlite:///{pathlib.Path(folder) / f'bench{writers}.db'}"
            print(
                f"SQLite (synchronous=FULL), {writers} writer(s): {await rate(url, writers=writers, bookings=bookings):7.0f}/s"
            )
    server = None if postgres is not None else ThrowawayPostgres.start(durable=True)
    try:
        admin = postgres or server.url  # type: ignore[union-attr]
        for writers in (1, 4):
            url = await create_database(admin)
            print(
                f"PostgreSQL (fsync on),     {writers} writer(s): {await rate(url, writers=writers, bookings=bookings):7.0f}/s"
            )
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=400)
    parser.add_argument("--postgres", help="a PostgreSQL server URL whose user may create schemas")
    args = parser.parse_args()
    asyncio.run(main(bookings=args.bookings, postgres=args.postgres))
