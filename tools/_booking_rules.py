"""The rules of a table booking, shared by the booking tools and the previews a member confirms.

Bookings are limited (BookingLimits): dates from the restaurant's today up to `horizon_days` ahead, and at most
`max_active_per_member` upcoming active bookings per member, counted over every server and direct message together
(a per-server count would let one member multiply the limit by joining servers). describe_booking and
describe_cancellation run every check of the tool they preview, read-only, and say in one sentence what it would do.
A booking belongs to its server: acting on it from elsewhere (a DM) follows that server's policies, and is audited
there (so that server's admins see it, and the admins of the server where the member typed never see its details).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from bot.catalog import (
    SLOT_MINUTES,
    Booking,
    BookingLedger,
    BookingRequest,
    Restaurant,
    RestaurantCatalog,
    SlotFull,
    TooManyBookings,
    clock_text,
)
from bot.engine.permissions import Denied
from bot.engine.tools import Preview, ToolContext, ToolError

MIN_PARTY = 1
MAX_PARTY = 20
NO_SUCH_BOOKING = "no such booking among those you can cancel"
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True, slots=True)
class BookingLimits:
    """How far ahead members may book, and how many upcoming bookings one member may hold across all servers."""

    horizon_days: int = 90
    max_active_per_member: int = 5


@dataclass(frozen=True, slots=True)
class PlannedBooking:
    """A booking that passed every check that needs no count of bookings: what book_restaurant would write."""

    restaurant: Restaurant
    day: dt.date
    start: int  # minutes after local midnight
    starts_at: dt.datetime
    party_size: int

    @property
    def date(self) -> str:
        """The local date as YYYY-MM-DD."""
        return self.day.isoformat()

    @property
    def time(self) -> str:
        """The local slot start as HH:MM."""
        return clock_text(self.start)


class BookingServices(Protocol):
    """What the booking tools and their previews use: the catalog, the bookings, and the limits."""

    @property
    def restaurants(self) -> RestaurantCatalog: ...

    @property
    def bookings(self) -> BookingLedger: ...

    @property
    def booking_limits(self) -> BookingLimits: ...


BookingContext = ToolContext[BookingServices]


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


def _long_date(day: dt.date) -> str:
    """A date as "Friday 5 June 2026", whatever the process locale."""
    return f"{_DAY_NAMES[day.weekday()]} {day.day} {_MONTH_NAMES[day.month - 1]} {day.year}"


async def _known_restaurant(context: BookingContext, restaurant_id: str) -> Restaurant:
    restaurant = await context.services.restaurants.get(restaurant_id)
    if restaurant is None:
        raise ToolError("no such restaurant; use an id from search_restaurants", restaurant_id=restaurant_id)
    return restaurant


def _check_window(restaurant: Restaurant, day: dt.date, now: dt.datetime, horizon_days: int) -> None:
    """Refuse a date before the restaurant's today or more than `horizon_days` after it (dates only: no overflow)."""
    first = now.astimezone(restaurant.zone).date()
    last = first + dt.timedelta(days=horizon_days)
    if not first <= day <= last:
        raise ToolError(
            f"bookings can be made from today to {horizon_days} days ahead in the restaurant's time zone: "
            f"{first.isoformat()} to {last.isoformat()}",
            date=day.isoformat(),
            first_bookable_date=first.isoformat(),
            last_bookable_date=last.isoformat(),
            timezone=restaurant.timezone,
        )


def _check_future(restaurant: Restaurant, starts_at: dt.datetime, now: dt.datetime) -> None:
    if starts_at <= now:
        raise ToolError(
            "that date and time have already passed at the restaurant",
            restaurant_local_now=now.astimezone(restaurant.zone).strftime("%Y-%m-%d %H:%M"),
            timezone=restaurant.timezone,
        )


def _check_slot(restaurant: Restaurant, day: dt.date, start: int) -> None:
    """Refuse a time between slots, a closed day, or a slot outside that day's opening hours."""
    date, time = day.isoformat(), clock_text(start)
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


def _check_party(restaurant: Restaurant, party_size: int) -> None:
    """Refuse a party outside 1 to 20 guests, or larger than one slot of the restaurant seats."""
    largest = min(MAX_PARTY, restaurant.seats_per_slot)
    if not MIN_PARTY <= party_size <= MAX_PARTY:
        raise ToolError(
            f"party size must be from {MIN_PARTY} to {MAX_PARTY} guests", party_size=party_size, max_party_size=largest
        )
    if party_size > largest:
        raise ToolError(
            f"{restaurant.name} seats at most {largest} guests per booking",
            party_size=party_size,
            max_party_size=largest,
        )


async def check_booking(
    context: BookingContext, restaurant_id: str, date: str, time: str, party_size: int
) -> PlannedBooking:
    """Every check of a booking that needs no count of bookings, in the order the member hears about them."""
    restaurant = await _known_restaurant(context, restaurant_id)
    day = _real_date(date)
    start = _real_time(time)
    now = context.now()
    _check_window(restaurant, day, now, context.services.booking_limits.horizon_days)
    starts_at = dt.datetime.combine(day, dt.time(start // 60, start % 60), tzinfo=restaurant.zone)
    _check_future(restaurant, starts_at, now)
    _check_slot(restaurant, day, start)
    _check_party(restaurant, party_size)
    return PlannedBooking(restaurant=restaurant, day=day, start=start, starts_at=starts_at, party_size=party_size)


def booking_request(context: BookingContext, plan: PlannedBooking) -> BookingRequest:
    """The store's request for a planned booking by the calling member, here and now."""
    return BookingRequest(
        restaurant_id=plan.restaurant.id,
        guild_id=context.place.guild_id,
        channel_id=context.place.channel_id,
        user_id=context.caller.user_id,
        user_name=context.caller.name,
        date=plan.date,
        time=plan.time,
        party_size=plan.party_size,
        starts_at=plan.starts_at,
        created_at=context.now(),
    )


async def _free_times_near(
    bookings: BookingLedger, restaurant: Restaurant, day: dt.date, start: int, party_size: int, now: dt.datetime
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


async def refusal(context: BookingContext, plan: PlannedBooking, outcome: SlotFull | TooManyBookings) -> ToolError:
    """The error for a booking the store refused: the member's limit, or a full slot with other times that have room."""
    if isinstance(outcome, TooManyBookings):
        return ToolError(
            f"you already hold {outcome.active} upcoming bookings (in every server and direct message together) and "
            f"a member may hold at most {outcome.limit}; cancel one with cancel_booking before booking another",
            active_bookings=outcome.active,
            limit=outcome.limit,
        )
    bookings = context.services.bookings
    return ToolError(
        f"the {plan.time} slot on {plan.date} is full for a party of {plan.party_size}",
        seats_left=outcome.seats_left,
        other_times_with_room=await _free_times_near(
            bookings, plan.restaurant, plan.day, plan.start, plan.party_size, context.now()
        ),
    )


def _occasion(party_size: int, name: str, day: dt.date, time: str, timezone: str) -> str:
    """E.g. "a table for 2 at Kitchen sha on Monday 1 June 2026 at 19:00 (Asia/Shanghai time)"."""
    zone = f" ({timezone} time)" if timezone else ""
    return f"a table for {party_size} at {name} on {_long_date(day)} at {time}{zone}"


async def describe_booking(
    context: BookingContext, restaurant_id: str, date: str, time: str, party_size: int
) -> Preview:
    """Run every check of book_restaurant without writing, and say in one sentence what the booking would do."""
    plan = await check_booking(context, restaurant_id, date, time, party_size)
    outcome = await context.services.bookings.check(
        booking_request(context, plan), max_active=context.services.booking_limits.max_active_per_member
    )
    if isinstance(outcome, SlotFull | TooManyBookings):
        raise await refusal(context, plan, outcome)
    restaurant = plan.restaurant
    occasion = _occasion(
        plan.party_size, f"{restaurant.name} ({restaurant.address})", plan.day, plan.time, restaurant.timezone
    )
    params = _preview_params(
        plan.party_size, restaurant.name, plan.day, plan.time, restaurant.timezone, address=restaurant.address
    )
    if outcome is not None:
        return Preview(
            f"You already have this booking: {occasion}; nothing new will be booked.", "book_existing", params
        )
    return Preview(f"Book {occasion}.", "book", params)


async def require_permission_in(context: BookingContext, guild_id: str | None, **details: object) -> None:
    """Refuse to act on a booking of another server unless that server's policies allow this tool to the caller."""
    if guild_id is None or guild_id == context.place.guild_id:
        return  # the executor already decided for this place
    decision = await context.permission_in(guild_id)
    if isinstance(decision, Denied):
        raise ToolError(
            "permission denied in the server where this booking was made", reason=decision.reason, **details
        )


async def servers_refusing(context: BookingContext, guild_ids: set[str | None]) -> set[str | None]:
    """The other servers among `guild_ids` whose policies do not allow the running tool to the caller."""
    others = {guild_id for guild_id in guild_ids if guild_id is not None and guild_id != context.place.guild_id}
    return {guild_id for guild_id in others if isinstance(await context.permission_in(guild_id), Denied)}


def no_such_booking(booking_id: int) -> ToolError:
    """The one refusal for an id that does not exist and for a booking the caller may not touch: a member probing ids
    cannot tell them apart (nor learn that someone else booked)."""
    return ToolError(NO_SUCH_BOOKING, booking_id=booking_id)


async def cancellable(context: BookingContext, booking_id: int) -> Booking:
    """The booking, if it exists, the caller may cancel it, and its time has not passed (or it is already cancelled)."""
    booking = await context.services.bookings.get(booking_id)
    if booking is None:
        raise no_such_booking(booking_id)
    caller, place = context.caller, context.place
    own = booking.user_id == caller.user_id
    admin_here = caller.is_admin and place.guild_id is not None and booking.guild_id == place.guild_id
    if not (own or admin_here):
        raise no_such_booking(booking_id)
    context.audit_under(booking.guild_id)  # acting on it is audited where it belongs, wherever the member typed
    await require_permission_in(context, booking.guild_id, booking_id=booking_id)
    if booking.status == "active" and booking.starts_at <= context.now():
        raise ToolError("that booking's time has passed; it can no longer be cancelled", booking_id=booking_id)
    return booking


async def describe_cancellation(context: BookingContext, booking_id: int) -> Preview:
    """Run every check of cancel_booking without writing, and say in one sentence what the cancellation would do."""
    booking = await cancellable(context, booking_id)
    restaurant = await context.services.restaurants.get(booking.restaurant_id)
    facts = (
        booking.party_size,
        restaurant.name if restaurant else booking.restaurant_id,
        dt.date.fromisoformat(booking.date),
        booking.time,
        restaurant.timezone if restaurant else "",
    )
    occasion = _occasion(*facts)
    params = {**_preview_params(*facts), "booking_id": str(booking.id)}
    if booking.status == "cancelled":
        text = f"Booking #{booking.id} ({occasion}) is already cancelled; nothing will change."
        return Preview(text, "cancel_already", params)
    return Preview(f"Cancel booking #{booking.id}: {occasion}.", "cancel", params)


def _preview_params(
    party_size: int, name: str, day: dt.date, time: str, timezone: str, *, address: str = ""
) -> dict[str, str]:
    """The facts of a booking a chat platform words in the member's language (date as YYYY-MM-DD)."""
    return {
        "party": str(party_size),
        "restaurant": name,
        "address": address,
        "date": day.isoformat(),
        "time": time,
        "timezone": timezone,
    }
