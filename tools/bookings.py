"""Table bookings for the calling member: book_restaurant, list_my_bookings and cancel_booking.

book_restaurant is restricted (an admin allows roles) because it commits a seat at a restaurant. list_my_bookings and
cancel_booking are not: they only ever touch the caller's own bookings (and, for a server admin, the bookings made in
that server), so they are available wherever the member can talk to the bot, including direct messages.
list_my_bookings shows the bookings made in the current server, or, in a direct message, the member's bookings
everywhere.

Both tools with side effects are previewed (tools/_booking_rules.py) before the member confirms them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.catalog import Booked, Booking, Restaurant
from bot.engine.tools import tool
from tools._booking_rules import (
    MAX_PARTY,
    MIN_PARTY,
    BookingContext,
    BookingLimits,
    BookingServices,
    PlannedBooking,
    booking_request,
    cancellable,
    check_booking,
    describe_booking,
    describe_cancellation,
    no_such_booking,
    refusal,
    servers_refusing,
)

__all__ = [
    "BookingLimits",
    "BookingServices",
    "PlannedBooking",
    "book_restaurant",
    "cancel_booking",
    "describe_booking",
    "describe_cancellation",
    "list_my_bookings",
]

MAX_LISTED = 25


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


@tool(side_effects=True, restricted=True, timeout=10, preview=describe_booking, personal=True)
async def book_restaurant(
    context: BookingContext,
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
    for the whole party. Bookings open a limited number of days ahead, and each member may hold a limited number of
    upcoming bookings; a refusal says the limits. Repeating the same booking returns the existing one (existing: true)
    instead of booking twice. Only make a booking the member has clearly asked for, with the date, time and party size
    they gave."""
    plan = await check_booking(context, restaurant_id, date, time, party_size)
    outcome = await context.services.bookings.book(
        booking_request(context, plan), max_active=context.services.booking_limits.max_active_per_member
    )
    if not isinstance(outcome, Booked):
        raise await refusal(context, plan, outcome)
    note = (
        "The member already had exactly this booking; nothing new was booked."
        if outcome.existing
        else "Booked. The member can cancel it with cancel_booking and this booking_id."
    )
    return BookResult(**_view(outcome.booking, plan.restaurant).model_dump(), existing=outcome.existing, note=note)


@tool(timeout=10, personal=True)
async def list_my_bookings(context: BookingContext) -> MyBookings:
    """List the calling member's active upcoming table bookings, soonest first: those made in this server, or, in a
    direct message, those made anywhere. Each has its booking_id (for cancel_booking), restaurant, address, local
    date and time, and party size."""
    bookings = context.services.bookings
    restaurants = context.services.restaurants
    found = await bookings.upcoming_for(
        context.caller.user_id, guild_id=context.place.guild_id, after=context.now(), limit=MAX_LISTED + 1
    )
    refusing = await servers_refusing(context, {booking.guild_id for booking in found})
    shown = [booking for booking in found if booking.guild_id not in refusing]
    known = await restaurants.get_many({booking.restaurant_id for booking in shown})
    views = [_view(booking, known.get(booking.restaurant_id)) for booking in shown[:MAX_LISTED]]
    note = None
    if refusing:
        note = "Bookings made in servers where you may not use list_my_bookings are not shown."
    elif not views:
        note = "No upcoming bookings."
    elif len(shown) > MAX_LISTED:
        note = f"Only the first {MAX_LISTED} are listed."
    return MyBookings(scope="all servers" if context.place.is_dm else "this server", bookings=views, note=note)


@tool(side_effects=True, timeout=10, preview=describe_cancellation, personal=True)
async def cancel_booking(
    context: BookingContext,
    booking_id: Annotated[int, Field(description="The booking_id from book_restaurant or list_my_bookings", ge=1)],
) -> CancelResult:
    """Cancel an upcoming table booking. Members can cancel their own bookings; server admins can cancel any booking
    made in their server. Cancelling a booking that is already cancelled changes nothing and says so."""
    booking = await cancellable(context, booking_id)
    restaurant = await context.services.restaurants.get(booking.restaurant_id)
    outcome = await context.services.bookings.cancel(booking_id, by_user_id=context.caller.user_id, at=context.now())
    if outcome is None:
        raise no_such_booking(booking_id)
    note = "It was already cancelled; nothing changed." if outcome.already_cancelled else "Cancelled."
    return CancelResult(
        **_view(outcome.booking, restaurant).model_dump(), already_cancelled=outcome.already_cancelled, note=note
    )
