"""Table bookings for the calling member: book_restaurant, list_my_bookings and cancel_booking.

book_restaurant is restricted (an admin allows roles) because it commits a seat at a restaurant. list_my_bookings and
cancel_booking are not: they only ever touch the caller's own bookings (and, for a server admin, the bookings made in
that server), so they are available wherever the member can talk to the bot, including direct messages.
list_my_bookings shows the bookings made in the current server, or, in a direct message, the member's bookings
everywhere.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.engine.tools import ToolContext, ToolError, tool
from bot.store.bookings import Booked, Booking, BookingRequest, BookingStore
from bot.store.restaurants import SLOT_MINUTES, Restaurant, RestaurantStore, clock_text

MIN_PARTY = 1
MAX_PARTY = 20
MAX_LISTED = 25
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class BookingView(BaseModel):
    """One booking as the model sees it."""

    model_config = ConfigDict(frozen=True)

    booking_id: int
    restaurant_id: str
    restaurant_name: str
    address: str
    date: str
    time: str
    timezone: str
    party_size: int
    status: Literal["active", "cancelled"]
    booked_by: str


class BookResult(BookingView):
    """What book_restaurant returns; `existing` is true when the member had already made this very booking."""

    existing: bool
    note: str


class MyBookings(BaseModel):
    """What list_my_bookings returns."""

    model_config = ConfigDict(frozen=True)

    scope: Literal["this server", "all servers"]
    bookings: list[BookingView]
    note: str | None = None


class CancelResult(BookingView):
    """What cancel_booking returns."""

    already_cancelled: bool
    note: str


def _view(booking: Booking, restaurant: Restaurant | None) -> BookingView:
    """The model-facing view of a booking (the restaurant may be missing from an edited catalog)."""
    return BookingView(
        booking_id=booking.id,
        restaurant_id=booking.restaurant_id,
        restaurant_name=restaurant.name if restaurant else booking.restaurant_id,
        address=restaurant.address if restaurant else "",
        date=booking.date,
        time=booking.time,
        timezone=restaurant.timezone if restaurant else "",
        party_size=booking.party_size,
        status=booking.status,
        booked_by=booking.user_name,
    )


def _real_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ToolError(f"{text} is not a real calendar date (use YYYY-MM-DD)", date=text) from None


def _real_time(text: str) -> int:
    """Minutes after midnight of an "HH:MM" time of day."""
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60 and len(minutes) == 2):
        raise ToolError(f"{text} is not a real time of day (use HH:MM from 00:00 to 23:59)", time=text)
    return int(hours) * 60 + int(minutes)


def _shifts_text(restaurant: Restaurant, weekday: int) -> str:
    return ", ".join(f"{opens}-{closes}" for opens, closes in restaurant.hours.shifts_on(weekday)) or "closed"


async def _free_times_near(
    bookings: BookingStore, restaurant: Restaurant, day: dt.date, start: int, party_size: int, now: dt.datetime
) -> list[str]:
    """Up to four other future slots that day, nearest first, with room for the party."""
    taken = await bookings.seats_taken(restaurant.id, day.isoformat())
    free = [
        slot
        for slot in restaurant.hours.slots_on(day.weekday())
        if slot != start
        and taken.get(clock_text(slot), 0) + party_size <= restaurant.seats_per_slot
        and dt.datetime.combine(day, dt.time(slot // 60, slot % 60), tzinfo=restaurant.zone) > now
    ]
    free.sort(key=lambda slot: (abs(slot - start), slot))
    return [clock_text(slot) for slot in sorted(free[:4])]


@tool(side_effects=True, restricted=True, timeout=10)
async def book_restaurant(
    context: ToolContext,
    restaurant_id: Annotated[
        str,
        Field(
            description="The restaurant's id from search_restaurants, e.g. 'bj-001'", pattern=r"^[a-z0-9][a-z0-9-]*$"
        ),
    ],
    date: Annotated[
        str, Field(description="Date as YYYY-MM-DD in the restaurant's local time", pattern=r"^\d{4}-\d{2}-\d{2}$")
    ],
    time: Annotated[
        str,
        Field(
            description="Start of the 30-minute slot as HH:MM (24-hour clock, on the hour or half hour) in the "
            "restaurant's local time",
            pattern=r"^\d{2}:\d{2}$",
        ),
    ],
    party_size: Annotated[int, Field(description="Number of guests, 1 to 20", ge=MIN_PARTY, le=MAX_PARTY)],
) -> BookResult:
    """Book a table for the calling member at a restaurant found with search_restaurants. Tables are booked in
    30-minute slots starting on the hour or half hour, in the restaurant's local time; the slot must start in the
    future and fit inside the opening hours (with a 22:00 close the last slot is 21:30), and the slot must have room
    for the whole party. Repeating the same booking returns the existing one (existing: true) instead of booking twice.
    Only make a booking the member has clearly asked for, with the date, time and party size they gave."""
    restaurants = context.service(RestaurantStore)
    bookings = context.service(BookingStore)
    restaurant = await restaurants.get(restaurant_id)
    if restaurant is None:
        raise ToolError("no such restaurant; use an id from search_restaurants", restaurant_id=restaurant_id)
    day = _real_date(date)
    start = _real_time(time)
    if not MIN_PARTY <= party_size <= MAX_PARTY:
        raise ToolError(f"party size must be from {MIN_PARTY} to {MAX_PARTY} guests", party_size=party_size)
    now = context.now()
    starts_at = dt.datetime.combine(day, dt.time(start // 60, start % 60), tzinfo=restaurant.zone)
    if starts_at <= now:
        raise ToolError(
            "that date and time have already passed at the restaurant",
            restaurant_local_now=now.astimezone(restaurant.zone).strftime("%Y-%m-%d %H:%M"),
            timezone=restaurant.timezone,
        )
    if start % SLOT_MINUTES:
        earlier = start - start % SLOT_MINUTES
        raise ToolError(
            "tables are booked in 30-minute slots starting on the hour or half hour",
            time=time,
            nearest_slots=[clock_text(earlier), clock_text(earlier + SLOT_MINUTES)],
        )
    weekday = day.weekday()
    if not restaurant.hours.shifts_on(weekday):
        raise ToolError(
            f"{restaurant.name} is closed on {_DAY_NAMES[weekday]}s",
            date=date,
            opening_hours=restaurant.hours.compact(),
        )
    if not restaurant.hours.admits_slot(weekday, start):
        raise ToolError(
            f"{time} is outside the opening hours on {_DAY_NAMES[weekday]} {date}: the 30-minute slot must start at "
            "or after opening and end by closing",
            hours_that_day=_shifts_text(restaurant, weekday),
            bookable_slots=[clock_text(slot) for slot in restaurant.hours.slots_on(weekday)],
        )
    outcome = await bookings.book(
        BookingRequest(
            restaurant_id=restaurant.id,
            guild_id=context.place.guild_id,
            channel_id=context.place.channel_id,
            user_id=context.caller.user_id,
            user_name=context.caller.name,
            date=day.isoformat(),
            time=clock_text(start),
            party_size=party_size,
            starts_at=starts_at,
            created_at=now,
        )
    )
    if not isinstance(outcome, Booked):
        raise ToolError(
            f"the {time} slot on {date} is full for a party of {party_size}",
            seats_left=outcome.seats_left,
            other_times_with_room=await _free_times_near(bookings, restaurant, day, start, party_size, now),
        )
    view = _view(outcome.booking, restaurant)
    note = (
        "The member already had exactly this booking; nothing new was booked."
        if outcome.existing
        else "Booked. The member can cancel it with cancel_booking and this booking_id."
    )
    return BookResult(**view.model_dump(), existing=outcome.existing, note=note)


@tool(timeout=10)
async def list_my_bookings(context: ToolContext) -> MyBookings:
    """List the calling member's active upcoming table bookings, soonest first: those made in this server, or, in a
    direct message, those made anywhere. Each has its booking_id (for cancel_booking), restaurant, address, local
    date and time, and party size."""
    bookings = context.service(BookingStore)
    restaurants = context.service(RestaurantStore)
    found = await bookings.upcoming_for(
        context.caller.user_id, guild_id=context.place.guild_id, after=context.now(), limit=MAX_LISTED + 1
    )
    known = await restaurants.get_many({booking.restaurant_id for booking in found})
    views = [_view(booking, known.get(booking.restaurant_id)) for booking in found[:MAX_LISTED]]
    note = None
    if not views:
        note = "No upcoming bookings."
    elif len(found) > MAX_LISTED:
        note = f"Only the first {MAX_LISTED} are listed."
    return MyBookings(scope="all servers" if context.place.is_dm else "this server", bookings=views, note=note)


@tool(side_effects=True, timeout=10)
async def cancel_booking(
    context: ToolContext,
    booking_id: Annotated[int, Field(description="The booking_id from book_restaurant or list_my_bookings", ge=1)],
) -> CancelResult:
    """Cancel an upcoming table booking. Members can cancel their own bookings; server admins can cancel any booking
    made in their server. Cancelling a booking that is already cancelled changes nothing and says so."""
    bookings = context.service(BookingStore)
    booking = await bookings.get(booking_id)
    if booking is None:
        raise ToolError("no such booking", booking_id=booking_id)
    caller, place = context.caller, context.place
    own = booking.user_id == caller.user_id
    admin_here = caller.is_admin and place.guild_id is not None and booking.guild_id == place.guild_id
    if not (own or admin_here):
        raise ToolError("you can only cancel your own bookings", booking_id=booking_id)
    restaurant = await context.service(RestaurantStore).get(booking.restaurant_id)
    now = context.now()
    if booking.status == "active" and booking.starts_at <= now:
        raise ToolError("that booking's time has passed; it can no longer be cancelled", booking_id=booking_id)
    outcome = await bookings.cancel(booking_id, by_user_id=caller.user_id, at=now)
    if outcome is None:
        raise ToolError("no such booking", booking_id=booking_id)
    note = "It was already cancelled; nothing changed." if outcome.already_cancelled else "Cancelled."
    return CancelResult(
        **_view(outcome.booking, restaurant).model_dump(), already_cancelled=outcome.already_cancelled, note=note
    )
