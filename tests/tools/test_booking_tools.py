"""book_restaurant, list_my_bookings, cancel_booking and their previews over both backends, with a fixed clock."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from pydantic import ValidationError

import tools
from bot.catalog import OpeningHours, Restaurant
from bot.engine.permissions import Caller, Place
from bot.engine.tools import Registry, Tool, ToolContext, ToolError
from bot.store.bookings import BookingStore
from bot.store.db import Database
from bot.store.restaurants import RestaurantStore
from tools.bookings import (
    BookingLimits,
    book_restaurant,
    cancel_booking,
    describe_booking,
    describe_cancellation,
    list_my_bookings,
)
from tools.services import ToolServices

# Monday 1 June 2026: 09:00 in London (BST), 16:00 in Shanghai.
NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
ANA = Caller(user_id="u-ana", name="Ana")
BO = Caller(user_id="u-bo", name="Bo")
CY = Caller(user_id="u-cy", name="Cy")
ADMIN = Caller(user_id="u-admin", name="Admin", is_admin=True)
SERVER = Place(channel_id="c-1", guild_id="g-1")
OTHER_SERVER = Place(channel_id="c-9", guild_id="g-2")
DM = Place(channel_id="dm-1")


def _restaurant(restaurant_id: str, *, timezone: str, hours: str, seats: int) -> Restaurant:
    return Restaurant(
        id=restaurant_id,
        name=f"Kitchen {restaurant_id}",
        city="London",
        district="Soho",
        cuisine="British",
        price_range="moderate",
        address=f"{restaurant_id} Test Street",
        timezone=timezone,
        hours=OpeningHours.parse_compact(hours),
        seats_per_slot=seats,
    )


@dataclasses.dataclass(frozen=True)
class World:
    """The stores the tools use (the world is their services), and a way to build their context."""

    db: Database
    restaurants: RestaurantStore
    bookings: BookingStore
    booking_limits: BookingLimits = dataclasses.field(default_factory=BookingLimits)

    def context(self, caller: Caller = ANA, place: Place = SERVER, now: datetime = NOW) -> ToolContext:
        return ToolContext(
            caller=caller,
            place=place,
            services=self,
            now=lambda: now,
        )

    async def active_rows(self) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) FROM bookings WHERE status = 'active'")
        assert row is not None
        return int(row[0])


@pytest_asyncio.fixture
async def world(db: Database) -> AsyncIterator[World]:
    """ldn (London, closed Sundays, split shifts), sha (Shanghai) and nyc (New York), the last two 10:00-22:00 daily;
    6 seats per slot each."""
    restaurants = RestaurantStore(db)
    await restaurants.upsert_many(
        [
            _restaurant("ldn", timezone="Europe/London", hours="mon-sat 11:00-14:00,17:00-22:00", seats=6),
            _restaurant("sha", timezone="Asia/Shanghai", hours="daily 10:00-22:00", seats=6),
            _restaurant("nyc", timezone="America/New_York", hours="daily 10:00-22:00", seats=6),
        ]
    )
    yield World(db=db, restaurants=restaurants, bookings=BookingStore(db))


async def call(used: Tool, context: ToolContext, **arguments: Any) -> dict[str, Any]:
    """Validate the arguments against the tool's schema model, then run it, as the engine does."""
    return await used.invoke(context, used.arguments.model_validate(arguments))


async def book(context: ToolContext, **overrides: Any) -> dict[str, Any]:
    arguments = {"restaurant_id": "ldn", "date": "2026-06-02", "time": "19:00", "party_size": 2, **overrides}
    return await call(book_restaurant, context, **arguments)


async def refusal(context: ToolContext, **overrides: Any) -> ToolError:
    with pytest.raises(ToolError) as caught:
        await book(context, **overrides)
    return caught.value


def test_booking_is_restricted_while_listing_and_cancelling_are_open_to_members() -> None:
    assert book_restaurant.restricted and book_restaurant.side_effects
    assert not list_my_bookings.restricted and not list_my_bookings.side_effects
    assert not cancel_booking.restricted and cancel_booking.side_effects
    assert {"book_restaurant", "list_my_bookings", "cancel_booking", "search_restaurants"} <= set(
        Registry.from_package(tools).names()
    )


@pytest.mark.asyncio
async def test_a_booking_returns_its_id_and_details_and_records_who_and_where(world: World) -> None:
    result = await book(world.context(), party_size=4)
    assert result == {
        "booking_id": result["booking_id"],
        "restaurant_id": "ldn",
        "restaurant_name": "Kitchen ldn",
        "address": "ldn Test Street",
        "date": "2026-06-02",
        "time": "19:00",
        "timezone": "Europe/London",
        "party_size": 4,
        "status": "active",
        "booked_by": "Ana",
        "existing": False,
        "note": result["note"],
    }
    stored = await world.bookings.get(result["booking_id"])
    assert stored is not None
    assert (stored.user_id, stored.guild_id, stored.channel_id, stored.created_at) == ("u-ana", "g-1", "c-1", NOW)
    assert stored.starts_at == datetime(2026, 6, 2, 18, 0, tzinfo=UTC)  # 19:00 BST


@pytest.mark.asyncio
async def test_an_unknown_restaurant_is_refused(world: World) -> None:
    error = await refusal(world.context(), restaurant_id="nowhere-1")
    assert error.message.startswith("no such restaurant")
    assert error.as_result()["restaurant_id"] == "nowhere-1"


@pytest.mark.asyncio
@pytest.mark.parametrize("date", ["2026-02-30", "2026-13-01", "2026-00-10"])
async def test_a_date_that_does_not_exist_is_refused(world: World, date: str) -> None:
    error = await refusal(world.context(), date=date)
    assert error.message == f"{date} is not a real calendar date (use YYYY-MM-DD)"


@pytest.mark.asyncio
@pytest.mark.parametrize("time", ["24:00", "19:60", "99:99"])
async def test_a_time_that_does_not_exist_is_refused(world: World, time: str) -> None:
    error = await refusal(world.context(), time=time)
    assert error.message.startswith(f"{time} is not a real time of day")


@pytest.mark.asyncio
@pytest.mark.parametrize("party_size", [0, 21])
async def test_party_size_outside_one_to_twenty_is_refused_by_schema_and_by_the_tool(
    world: World, party_size: int
) -> None:
    with pytest.raises(ValidationError):
        book_restaurant.arguments.model_validate(
            {"restaurant_id": "ldn", "date": "2026-06-02", "time": "19:00", "party_size": party_size}
        )
    with pytest.raises(ToolError, match="party size must be from 1 to 20"):
        await book_restaurant.function(
            world.context(), restaurant_id="ldn", date="2026-06-02", time="19:00", party_size=party_size
        )
    assert await world.active_rows() == 0


@pytest.mark.asyncio
async def test_the_past_is_judged_in_the_restaurants_time_zone(world: World) -> None:
    # 15:30 on 1 June is 07:30 UTC in Shanghai (past) but 14:30 UTC in London (future).
    error = await refusal(world.context(), restaurant_id="sha", date="2026-06-01", time="15:30")
    assert error.message == "that date and time have already passed at the restaurant"
    assert error.as_result()["restaurant_local_now"] == "2026-06-01 16:00"
    london = await book(world.context(), restaurant_id="ldn", date="2026-06-01", time="12:30")
    assert london["status"] == "active"


@pytest.mark.asyncio
async def test_a_time_between_slots_is_refused_with_the_nearest_slots(world: World) -> None:
    error = await refusal(world.context(), time="19:15")
    assert error.message.startswith("tables are booked in 30-minute slots")
    assert error.as_result()["nearest_slots"] == ["19:00", "19:30"]


@pytest.mark.asyncio
async def test_a_closed_day_is_refused(world: World) -> None:
    error = await refusal(world.context(), date="2026-06-07")  # a Sunday
    assert error.message == "Kitchen ldn is closed on Sundays"


@pytest.mark.asyncio
@pytest.mark.parametrize("time", ["10:30", "14:00", "16:30", "22:00", "23:30"])
async def test_a_slot_outside_the_opening_hours_is_refused(world: World, time: str) -> None:
    error = await refusal(world.context(), time=time)
    assert error.message.startswith(f"{time} is outside the opening hours on Tuesday 2026-06-02")
    assert error.as_result()["hours_that_day"] == "11:00-14:00, 17:00-22:00"


@pytest.mark.asyncio
@pytest.mark.parametrize("time", ["11:00", "13:30", "17:00", "21:30"])
async def test_slots_that_fit_inside_a_shift_are_bookable(world: World, time: str) -> None:
    assert (await book(world.context(), time=time))["time"] == time


@pytest.mark.asyncio
async def test_two_members_fill_a_slot_and_the_third_is_refused_with_other_times(world: World) -> None:
    await book(world.context(ANA), party_size=4)
    await book(world.context(BO), party_size=2)
    with pytest.raises(ToolError) as caught:
        await book(world.context(CY), party_size=1)
    details = caught.value.as_result()
    assert caught.value.message == "the 19:00 slot on 2026-06-02 is full for a party of 1"
    assert details["seats_left"] == 0
    assert details["other_times_with_room"] == ["18:00", "18:30", "19:30", "20:00"]
    assert await world.active_rows() == 2


@pytest.mark.asyncio
async def test_repeating_a_booking_returns_the_existing_one(world: World) -> None:
    first = await book(world.context())
    again = await book(world.context())
    assert (first["existing"], again["existing"]) == (False, True)
    assert again["booking_id"] == first["booking_id"]
    assert "already" in again["note"]


@pytest.mark.asyncio
async def test_five_concurrent_identical_bookings_make_one_booking(world: World) -> None:
    results = await asyncio.gather(*(book(world.context()) for _ in range(5)))
    assert len({result["booking_id"] for result in results}) == 1
    assert sorted(result["existing"] for result in results) == [False, True, True, True, True]
    assert await world.active_rows() == 1


@pytest.mark.asyncio
async def test_my_bookings_are_this_servers_upcoming_active_ones(world: World) -> None:
    here = await book(world.context(ANA, SERVER), time="20:00")
    soon = await book(world.context(ANA, SERVER), date="2026-06-01", time="12:00")
    await book(world.context(ANA, OTHER_SERVER))
    await book(world.context(BO, SERVER))
    cancelled = await book(world.context(ANA, SERVER), time="21:00")
    await call(cancel_booking, world.context(ANA, SERVER), booking_id=cancelled["booking_id"])

    listed = await call(list_my_bookings, world.context(ANA, SERVER))
    assert listed["scope"] == "this server"
    assert [booking["booking_id"] for booking in listed["bookings"]] == [soon["booking_id"], here["booking_id"]]
    assert listed["bookings"][0]["restaurant_name"] == "Kitchen ldn"

    later = world.context(ANA, SERVER, now=datetime(2026, 6, 1, 12, 0, tzinfo=UTC))  # 13:00 in London
    assert [b["booking_id"] for b in (await call(list_my_bookings, later))["bookings"]] == [here["booking_id"]]


@pytest.mark.asyncio
async def test_in_a_direct_message_my_bookings_from_every_server_are_listed(world: World) -> None:
    await book(world.context(ANA, SERVER))
    await book(world.context(ANA, OTHER_SERVER))
    listed = await call(list_my_bookings, world.context(ANA, DM))
    assert listed["scope"] == "all servers"
    assert len(listed["bookings"]) == 2
    assert (await call(list_my_bookings, world.context(CY, DM)))["bookings"] == []


@pytest.mark.asyncio
async def test_a_member_cancels_their_own_booking_and_frees_the_seats(world: World) -> None:
    mine = await book(world.context(ANA), party_size=6)
    result = await call(cancel_booking, world.context(ANA), booking_id=mine["booking_id"])
    assert (result["status"], result["already_cancelled"]) == ("cancelled", False)
    assert (await book(world.context(BO), party_size=6))["status"] == "active"


@pytest.mark.asyncio
async def test_a_member_cannot_cancel_someone_elses_booking(world: World) -> None:
    theirs = await book(world.context(BO))
    with pytest.raises(ToolError, match="no such booking among those you can cancel"):
        await call(cancel_booking, world.context(ANA), booking_id=theirs["booking_id"])
    stored = await world.bookings.get(theirs["booking_id"])
    assert stored is not None and stored.status == "active"


@pytest.mark.asyncio
async def test_someone_elses_booking_and_an_unknown_id_are_refused_alike(world: World) -> None:
    theirs = await book(world.context(BO, SERVER))
    refusals = []
    for caller, place, booking_id in [
        (ANA, SERVER, theirs["booking_id"]),
        (ADMIN, OTHER_SERVER, theirs["booking_id"]),
        (ANA, SERVER, theirs["booking_id"] + 1000),
    ]:
        with pytest.raises(ToolError) as refused:
            await call(cancel_booking, world.context(caller, place), booking_id=booking_id)
        refusals.append({key: value for key, value in refused.value.as_result().items() if key != "booking_id"})
    assert refusals == [{"error": "no such booking among those you can cancel"}] * 3


@pytest.mark.asyncio
async def test_an_admin_cancels_any_booking_made_in_their_server(world: World) -> None:
    theirs = await book(world.context(BO, SERVER))
    result = await call(cancel_booking, world.context(ADMIN, SERVER), booking_id=theirs["booking_id"])
    assert result["status"] == "cancelled"
    stored = await world.bookings.get(theirs["booking_id"])
    assert stored is not None and stored.cancelled_by == "u-admin"


@pytest.mark.asyncio
async def test_an_admin_of_another_server_cannot_cancel(world: World) -> None:
    theirs = await book(world.context(BO, SERVER))
    with pytest.raises(ToolError, match="no such booking among those you can cancel"):
        await call(cancel_booking, world.context(ADMIN, OTHER_SERVER), booking_id=theirs["booking_id"])
    assert await world.active_rows() == 1


@pytest.mark.asyncio
async def test_cancelling_twice_says_it_was_already_cancelled(world: World) -> None:
    mine = await book(world.context())
    await call(cancel_booking, world.context(), booking_id=mine["booking_id"])
    again = await call(cancel_booking, world.context(), booking_id=mine["booking_id"])
    assert (again["status"], again["already_cancelled"]) == ("cancelled", True)
    assert "already cancelled" in again["note"]


@pytest.mark.asyncio
async def test_cancelling_an_unknown_or_past_booking_is_refused(world: World) -> None:
    with pytest.raises(ToolError, match="no such booking"):
        await call(cancel_booking, world.context(), booking_id=404)
    mine = await book(world.context())
    after_dinner = world.context(now=datetime(2026, 6, 2, 23, 0, tzinfo=UTC))
    with pytest.raises(ToolError, match="can no longer be cancelled"):
        await call(cancel_booking, after_dinner, booking_id=mine["booking_id"])


def sha_slot(n: int) -> dict[str, Any]:
    """The n-th half-hour slot from 10:00 at sha on Tuesday 2 June 2026 (24 slots a day)."""
    return {"restaurant_id": "sha", "time": f"{10 + n // 2:02d}:{30 * (n % 2):02d}"}


async def rows(world: World) -> list[tuple[object, ...]]:
    """Every booking row, as stored."""
    return [tuple(row) for row in await world.db.fetch("SELECT * FROM bookings ORDER BY id")]


@pytest.mark.asyncio
async def test_bookings_open_up_to_ninety_days_ahead_and_the_refusal_gives_the_range(world: World) -> None:
    assert (await book(world.context(), restaurant_id="sha", date="2026-06-02"))["status"] == "active"
    assert (await book(world.context(), restaurant_id="sha", date="2026-08-30"))["status"] == "active"
    error = await refusal(world.context(), restaurant_id="sha", date="2026-08-31")
    assert error.message == (
        "bookings can be made from today to 90 days ahead in the restaurant's time zone: 2026-06-01 to 2026-08-30"
    )
    assert error.as_result()["first_bookable_date"] == "2026-06-01"
    assert error.as_result()["last_bookable_date"] == "2026-08-30"
    assert await world.active_rows() == 2


@pytest.mark.asyncio
@pytest.mark.parametrize("restaurant_id", ["ldn", "sha", "nyc"])
@pytest.mark.parametrize("date", ["2999-01-01", "9999-12-31", "0001-01-01"])
async def test_far_future_and_ancient_dates_get_the_booking_window_error(
    world: World, restaurant_id: str, date: str
) -> None:
    # 9999-12-31 21:30 in New York is already year 10000 in UTC: it used to end in an OverflowError.
    error = await refusal(world.context(), restaurant_id=restaurant_id, date=date, time="21:30")
    assert error.message.startswith("bookings can be made from today to 90 days ahead")
    assert await world.active_rows() == 0


@pytest.mark.asyncio
async def test_the_booking_window_follows_the_restaurants_own_today(world: World) -> None:
    # 17:00 UTC on 1 June: already 01:00 on 2 June in Shanghai, still 18:00 on 1 June in London.
    evening = world.context(now=datetime(2026, 6, 1, 17, 0, tzinfo=UTC))
    assert (await book(evening, restaurant_id="sha", date="2026-08-31"))["status"] == "active"
    london = await refusal(evening, restaurant_id="ldn", date="2026-08-31")
    assert london.as_result()["last_bookable_date"] == "2026-08-30"
    shanghai = await refusal(evening, restaurant_id="sha", date="2026-06-01", time="21:00")
    assert shanghai.as_result()["first_bookable_date"] == "2026-06-02"
    assert (await book(evening, restaurant_id="ldn", date="2026-06-01", time="21:00"))["status"] == "active"


@pytest.mark.asyncio
async def test_the_window_and_the_member_limit_come_from_the_registered_booking_limits(world: World) -> None:
    tight = dataclasses.replace(world, booking_limits=BookingLimits(horizon_days=7, max_active_per_member=1))
    error = await refusal(tight.context(), restaurant_id="sha", date="2026-06-09")
    assert error.as_result()["last_bookable_date"] == "2026-06-08"
    await book(tight.context(), restaurant_id="sha", date="2026-06-08")
    assert (await refusal(tight.context(), restaurant_id="sha")).as_result()["limit"] == 1


@pytest.mark.asyncio
async def test_tool_services_built_without_booking_limits_apply_the_defaults(world: World) -> None:
    async with aiohttp.ClientSession() as http:
        services = ToolServices(http=http, restaurants=world.restaurants, bookings=world.bookings)
        bare = ToolContext(caller=ANA, place=SERVER, services=services, now=lambda: NOW)
        with pytest.raises(ToolError, match="from today to 90 days ahead"):
            await book(bare, restaurant_id="sha", date="2026-08-31")


@pytest.mark.asyncio
async def test_a_sixth_upcoming_booking_anywhere_is_refused_with_the_members_count_and_limit(world: World) -> None:
    for n, place in enumerate([SERVER, SERVER, OTHER_SERVER, DM, DM]):
        await book(world.context(ANA, place), **sha_slot(n))
    error = await refusal(world.context(ANA, SERVER), **sha_slot(5))
    assert error.message.startswith("you already hold 5 upcoming bookings")
    assert (error.as_result()["active_bookings"], error.as_result()["limit"]) == (5, 5)
    assert (await book(world.context(BO, SERVER), **sha_slot(5)))["status"] == "active"
    assert await world.active_rows() == 6


@pytest.mark.asyncio
async def test_after_cancelling_one_booking_at_the_limit_a_new_one_books(world: World) -> None:
    made = [await book(world.context(), **sha_slot(n)) for n in range(5)]
    assert (await refusal(world.context(), **sha_slot(5))).as_result()["limit"] == 5
    await call(cancel_booking, world.context(), booking_id=made[0]["booking_id"])
    assert (await book(world.context(), **sha_slot(5)))["status"] == "active"


@pytest.mark.asyncio
async def test_repeating_a_booking_at_the_limit_returns_the_existing_one(world: World) -> None:
    made = [await book(world.context(), **sha_slot(n)) for n in range(5)]
    assert (await refusal(world.context(), **sha_slot(5))).as_result()["limit"] == 5
    again = await book(world.context(), **sha_slot(4))
    assert (again["existing"], again["booking_id"]) == (True, made[4]["booking_id"])


@pytest.mark.asyncio
async def test_twenty_parallel_bookings_by_one_member_leave_exactly_the_limit(world: World) -> None:
    results = await asyncio.gather(*(book(world.context(), **sha_slot(n)) for n in range(20)), return_exceptions=True)
    refused = [result for result in results if isinstance(result, ToolError)]
    assert sum(isinstance(result, dict) for result in results) == 5
    assert len(refused) == 15
    assert all(error.as_result()["active_bookings"] == 5 for error in refused)
    assert await world.active_rows() == 5


@pytest.mark.asyncio
async def test_a_party_larger_than_a_slot_seats_is_refused_before_any_write(world: World) -> None:
    error = await refusal(world.context(), party_size=7)
    assert error.message == "Kitchen ldn seats at most 6 guests per booking"
    assert error.as_result()["max_party_size"] == 6
    assert await world.active_rows() == 0


@pytest.mark.asyncio
async def test_describe_booking_says_what_will_be_booked_and_writes_nothing(world: World) -> None:
    preview = await describe_booking(
        world.context(), restaurant_id="ldn", date="2026-06-05", time="19:30", party_size=4
    )
    assert preview.text == (
        "Book a table for 4 at Kitchen ldn (ldn Test Street) on Friday 5 June 2026 at 19:30 (Europe/London time)."
    )
    assert await rows(world) == []


@pytest.mark.asyncio
async def test_describe_booking_of_a_booking_the_member_already_has_says_nothing_new_will_be_booked(
    world: World,
) -> None:
    await book(world.context(), restaurant_id="sha", date="2026-06-02", time="19:00", party_size=2)
    before = await rows(world)
    preview = await describe_booking(
        world.context(), restaurant_id="sha", date="2026-06-02", time="19:00", party_size=2
    )
    assert preview.text == (
        "You already have this booking: a table for 2 at Kitchen sha (sha Test Street) on Tuesday 2 June 2026 "
        "at 19:00 (Asia/Shanghai time); nothing new will be booked."
    )
    assert await rows(world) == before


async def _nothing(world: World) -> None:
    """No bookings before the call."""


async def _ana_holds_five(world: World) -> None:
    for n in range(5):
        await book(world.context(ANA), **sha_slot(n))


async def _slot_is_full(world: World) -> None:
    await book(world.context(BO), party_size=6)


BOOKING_FAILURES: dict[str, tuple[Callable[[World], Awaitable[None]], dict[str, Any]]] = {
    "unknown restaurant": (_nothing, {"restaurant_id": "nowhere-1"}),
    "date that does not exist": (_nothing, {"date": "2026-02-30"}),
    "time that does not exist": (_nothing, {"time": "24:00"}),
    "past the booking window": (_nothing, {"date": "2026-08-31"}),
    "year 9999": (_nothing, {"restaurant_id": "nyc", "date": "9999-12-31", "time": "21:30"}),
    "time already passed": (_nothing, {"restaurant_id": "sha", "date": "2026-06-01", "time": "15:30"}),
    "between slots": (_nothing, {"time": "19:15"}),
    "closed day": (_nothing, {"date": "2026-06-07"}),
    "outside opening hours": (_nothing, {"time": "15:00"}),
    "party over twenty": (_nothing, {"party_size": 21}),
    "party over the seats of a slot": (_nothing, {"party_size": 7}),
    "member at the limit": (_ana_holds_five, {"restaurant_id": "sha", "time": "19:00"}),
    "slot full": (_slot_is_full, {}),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("case", BOOKING_FAILURES.values(), ids=BOOKING_FAILURES.keys())
async def test_describe_booking_refuses_exactly_as_book_restaurant_would_and_writes_nothing(
    world: World, case: tuple[Callable[[World], Awaitable[None]], dict[str, Any]]
) -> None:
    prepare, overrides = case
    await prepare(world)
    arguments = {"restaurant_id": "ldn", "date": "2026-06-02", "time": "19:00", "party_size": 2, **overrides}
    before = await rows(world)
    with pytest.raises(ToolError) as described:
        await describe_booking(world.context(ANA), **arguments)
    assert await rows(world) == before
    with pytest.raises(ToolError) as booked:
        await book_restaurant.function(world.context(ANA), **arguments)
    assert described.value.as_result() == booked.value.as_result()
    assert await rows(world) == before


@pytest.mark.asyncio
async def test_describe_cancellation_names_the_booking_and_writes_nothing(world: World) -> None:
    mine = await book(world.context(), restaurant_id="sha", date="2026-06-01", time="19:00")
    before = await rows(world)
    preview = await describe_cancellation(world.context(), booking_id=mine["booking_id"])
    assert preview.text == (
        f"Cancel booking #{mine['booking_id']}: a table for 2 at Kitchen sha on Monday 1 June 2026 at 19:00 "
        "(Asia/Shanghai time)."
    )
    assert await rows(world) == before


@pytest.mark.asyncio
async def test_describe_cancellation_of_a_cancelled_booking_says_nothing_will_change(world: World) -> None:
    mine = await book(world.context())
    await call(cancel_booking, world.context(), booking_id=mine["booking_id"])
    preview = await describe_cancellation(world.context(), booking_id=mine["booking_id"])
    assert preview.text.startswith(
        f"Booking #{mine['booking_id']} (a table for 2 at Kitchen ldn on Tuesday 2 June 2026"
    )
    assert preview.text.endswith("is already cancelled; nothing will change.")


CANCEL_FAILURES: dict[str, tuple[Caller, Place, datetime, bool]] = {
    "no such booking": (BO, SERVER, NOW, True),
    "someone else's booking": (ANA, SERVER, NOW, False),
    "admin of another server": (ADMIN, OTHER_SERVER, NOW, False),
    "time passed": (BO, SERVER, datetime(2026, 6, 2, 23, 0, tzinfo=UTC), False),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("case", CANCEL_FAILURES.values(), ids=CANCEL_FAILURES.keys())
async def test_describe_cancellation_refuses_exactly_as_cancel_booking_would_and_writes_nothing(
    world: World, case: tuple[Caller, Place, datetime, bool]
) -> None:
    caller, place, now, missing = case
    theirs = await book(world.context(BO, SERVER))
    booking_id = 404 if missing else theirs["booking_id"]
    before = await rows(world)
    with pytest.raises(ToolError) as described:
        await describe_cancellation(world.context(caller, place, now), booking_id=booking_id)
    assert await rows(world) == before
    with pytest.raises(ToolError) as cancelled:
        await call(cancel_booking, world.context(caller, place, now), booking_id=booking_id)
    assert described.value.as_result() == cancelled.value.as_result()
    assert await rows(world) == before


def test_the_booking_tools_results_are_the_members_own_and_not_replayed_to_others() -> None:
    assert book_restaurant.personal and cancel_booking.personal and list_my_bookings.personal
