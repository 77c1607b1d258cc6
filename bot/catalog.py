"""The restaurant catalog as values: restaurants, their weekly opening hours, and the bookings of their tables.

Opening hours are per weekday lists of shifts `(open, close)` in the restaurant's local time, "HH:MM" with "24:00"
allowed as a close; a weekday with no shift is a closed day, two shifts make a split day. Shifts do not cross
midnight (write "18:00-24:00" and continue the next day). Bookings use 30-minute slots on the hour and half hour:
a booking at 19:30 occupies the slot 19:30-20:00, which must lie wholly inside one shift, so with a 22:00 close the
last bookable slot is 21:30. Each slot seats at most `seats_per_slot` guests.

These are the values the store (bot.store.restaurants, bot.store.bookings) reads and writes and the tools use.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

PriceRange = Literal["cheap", "moderate", "expensive"]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
SLOT_MINUTES = 30

_CLOCK_TIME = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")
_RESTAURANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def _clock_time(value: str) -> str:
    if not _CLOCK_TIME.match(value):
        raise ValueError(f"{value!r} is not a time like 09:30 (00:00 to 23:59, or 24:00 as a closing time)")
    return value


def _restaurant_id(value: str) -> str:
    if not _RESTAURANT_ID.match(value):
        raise ValueError(f"{value!r} is not an id: use lowercase letters, digits and dashes, e.g. bj-001")
    return value


ClockTime = Annotated[str, AfterValidator(_clock_time)]
Shift = tuple[ClockTime, ClockTime]
RestaurantId = Annotated[str, AfterValidator(_restaurant_id)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

_COMPACT_SHIFT = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def clock_minutes(value: str) -> int:
    """Minutes after midnight of an "HH:MM" clock time."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def clock_text(minutes: int) -> str:
    """The "HH:MM" clock time `minutes` after midnight."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class OpeningHours(BaseModel):
    """A week of opening hours: per weekday the shifts (open, close) in local time; no shift means closed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mon: tuple[Shift, ...] = ()
    tue: tuple[Shift, ...] = ()
    wed: tuple[Shift, ...] = ()
    thu: tuple[Shift, ...] = ()
    fri: tuple[Shift, ...] = ()
    sat: tuple[Shift, ...] = ()
    sun: tuple[Shift, ...] = ()

    @model_validator(mode="after")
    def _shifts_are_ordered(self) -> OpeningHours:
        for day in WEEKDAYS:
            previous_close = -1
            for opens, closes in getattr(self, day):
                start, end = clock_minutes(opens), clock_minutes(closes)
                if end <= start:
                    raise ValueError(
                        f"{day}: shift {opens}-{closes} does not close after it opens "
                        "(shifts cannot cross midnight: end at 24:00 and continue the next day)"
                    )
                if start < previous_close:
                    raise ValueError(f"{day}: shift {opens}-{closes} overlaps or precedes the shift before it")
                previous_close = end
        return self

    def shifts_on(self, weekday: int) -> tuple[Shift, ...]:
        """The shifts of a weekday (0 = Monday, as date.weekday())."""
        shifts: tuple[Shift, ...] = getattr(self, WEEKDAYS[weekday])
        return shifts

    def admits_slot(self, weekday: int, start: int) -> bool:
        """True if the slot starting `start` minutes after midnight lies wholly inside one shift that weekday."""
        return any(
            clock_minutes(opens) <= start and start + SLOT_MINUTES <= clock_minutes(closes)
            for opens, closes in self.shifts_on(weekday)
        )

    def slots_on(self, weekday: int) -> list[int]:
        """Every bookable slot start (minutes after midnight) on a weekday, in order."""
        return [start for start in range(0, 24 * 60, SLOT_MINUTES) if self.admits_slot(weekday, start)]

    def compact(self) -> str:
        """The hours as one line, e.g. "mon closed; tue-fri 11:00-14:00,17:00-22:00; sat-sun 10:00-23:00"."""
        groups: list[tuple[list[str], tuple[Shift, ...]]] = []
        for day in WEEKDAYS:
            shifts: tuple[Shift, ...] = getattr(self, day)
            if groups and groups[-1][1] == shifts:
                groups[-1][0].append(day)
            else:
                groups.append(([day], shifts))
        parts = []
        for days, shifts in groups:
            span = days[0] if len(days) == 1 else f"{days[0]}-{days[-1]}"
            times = ",".join(f"{opens}-{closes}" for opens, closes in shifts) or "closed"
            parts.append(f"{span} {times}")
        return "; ".join(parts)

    @classmethod
    def parse_compact(cls, text: str) -> OpeningHours:
        """Read the one-line form ("mon-fri 11:00-14:00,17:00-22:00; sat-sun 10:00-23:00"); unnamed days are closed."""
        week: dict[str, tuple[Shift, ...]] = {}
        for segment in text.split(";"):
            segment = segment.strip()
            if not segment:
                continue
            parts = segment.split(None, 1)
            if len(parts) != 2:
                raise ValueError(f"hours {segment!r}: expected days then times, e.g. 'mon-fri 11:00-22:00'")
            shifts = _parse_shifts(parts[1])
            for day in _parse_days(parts[0]):
                if day in week:
                    raise ValueError(f"hours: {day} is given twice")
                week[day] = shifts
        if not week:
            raise ValueError("hours are empty; write e.g. 'mon-sun 11:00-22:00' (days not named are closed)")
        return cls.model_validate(week)


def _parse_days(spec: str) -> list[str]:
    """Days named by "mon", "mon-fri", "fri-sun,tue" or "daily"."""
    spec = spec.strip().lower()
    if spec in ("daily", "everyday"):
        return list(WEEKDAYS)
    days: list[str] = []
    for item in spec.split(","):
        first, _, last = item.strip().partition("-")
        for name in (first, last or first):
            if name not in WEEKDAYS:
                raise ValueError(f"hours: unknown day {name!r}; use mon, tue, wed, thu, fri, sat, sun or daily")
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        days.extend(WEEKDAYS[(start + step) % 7] for step in range((end - start) % 7 + 1))
    return days


def _parse_shifts(spec: str) -> tuple[Shift, ...]:
    """Shifts written "11:00-14:00,17:00-22:00", or "closed"."""
    if spec.strip().lower() == "closed":
        return ()
    shifts: list[Shift] = []
    for item in spec.split(","):
        match = _COMPACT_SHIFT.match(item.strip())
        if match is None:
            raise ValueError(f"hours: {item.strip()!r} is not a shift like 11:00-14:00")
        opens = f"{int(match[1]):02d}:{match[2]}"
        closes = f"{int(match[3]):02d}:{match[4]}"
        shifts.append((opens, closes))
    return tuple(shifts)


class Restaurant(BaseModel):
    """One catalog entry; `hours` are local to `timezone`, and each 30-minute slot seats `seats_per_slot` guests."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: RestaurantId
    name: Text
    city: Text
    district: Text
    cuisine: Text
    price_range: PriceRange
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    timezone: str
    hours: OpeningHours
    seats_per_slot: int = Field(ge=1, le=1000)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The restaurant's time zone."""
        return ZoneInfo(self.timezone)


class CatalogFile(BaseModel):
    """The JSON catalog file: an optional note and the restaurants."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    note: str | None = None
    restaurants: tuple[Restaurant, ...]


@dataclass(frozen=True, slots=True)
class PlaceTerm:
    """One part of a location: the city is one of `cities` (whole name), or the district contains one of `districts`."""

    cities: frozenset[str] = frozenset()
    districts: frozenset[str] = frozenset()


BookingStatus = Literal["active", "cancelled"]


@dataclass(frozen=True, slots=True)
class BookingRequest:
    """A member's request for one slot, already checked against the restaurant's hours and the clock."""

    restaurant_id: str
    guild_id: str | None
    channel_id: str
    user_id: str
    user_name: str
    date: str  # the restaurant's local date, YYYY-MM-DD
    time: str  # the slot's local start, HH:MM
    party_size: int
    starts_at: datetime  # the same moment, timezone-aware
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Booking:
    """A stored booking."""

    id: int
    restaurant_id: str
    guild_id: str | None
    channel_id: str
    user_id: str
    user_name: str
    date: str
    time: str
    party_size: int
    starts_at: datetime
    status: BookingStatus
    created_at: datetime
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None


@dataclass(frozen=True, slots=True)
class Booked:
    """The booking now exists; `existing` is True if the same member had already made this very booking."""

    booking: Booking
    existing: bool


@dataclass(frozen=True, slots=True)
class SlotFull:
    """The slot has too few seats left for the party."""

    seats_per_slot: int
    seats_taken: int

    @property
    def seats_left(self) -> int:
        """Seats still free in the slot."""
        return max(self.seats_per_slot - self.seats_taken, 0)


@dataclass(frozen=True, slots=True)
class TooManyBookings:
    """The member already holds `active` upcoming active bookings, and `limit` is the most they may hold."""

    active: int
    limit: int


BookingOutcome = Booked | SlotFull | TooManyBookings


@dataclass(frozen=True, slots=True)
class Cancellation:
    """The booking after a cancel; `already_cancelled` is True if it had been cancelled before."""

    booking: Booking
    already_cancelled: bool


@dataclass(frozen=True, slots=True)
class CatalogChange:
    """What an import did: restaurants written, shipped samples removed (with the bookings made at them), and, with
    `--replace`, other restaurants removed because the file no longer holds them."""

    imported: int
    removed_samples: int = 0
    removed_bookings: int = 0
    removed_others: int = 0


class RestaurantsStillBooked(Exception):
    """Replacing the catalog would remove restaurants that have bookings; nothing was changed."""

    def __init__(self, restaurant_ids: Sequence[str]) -> None:
        shown = ", ".join(restaurant_ids[:10]) + (", ..." if len(restaurant_ids) > 10 else "")
        super().__init__(f"--replace would remove restaurants that have bookings: {shown}; keep them in the file")
        self.restaurant_ids = tuple(restaurant_ids)


class RestaurantCatalog(Protocol):
    """The catalog as the tools read it (bot.store.restaurants.RestaurantStore is the app's)."""

    async def get(self, restaurant_id: str) -> Restaurant | None:
        """The restaurant with this id, or None."""
        ...

    async def get_many(self, restaurant_ids: Collection[str]) -> Mapping[str, Restaurant]:
        """The restaurants with these ids, by id (unknown ids are left out)."""
        ...

    async def cities(self) -> list[str]:
        """The cities the catalog covers, as written in it."""
        ...

    async def search(
        self,
        *,
        places: Sequence[PlaceTerm] = (),
        cuisines: Collection[str] = (),
        price_range: PriceRange | None = None,
        limit: int = 10,
    ) -> list[Restaurant]:
        """Restaurants matching every place term, any of the cuisines and the price range."""
        ...


class BookingLedger(Protocol):
    """The bookings as the tools read and write them (bot.store.bookings.BookingStore is the app's)."""

    async def book(self, request: BookingRequest, *, max_active: int | None = None) -> BookingOutcome:
        """Book the slot unless it is full or the member holds `max_active` upcoming bookings."""
        ...

    async def check(self, request: BookingRequest, *, max_active: int | None = None) -> BookingOutcome | None:
        """What `book` would answer, without writing (None: it would book)."""
        ...

    async def get(self, booking_id: int) -> Booking | None:
        """The booking with this id, or None."""
        ...

    async def upcoming_for(
        self, user_id: str, *, guild_id: str | None, after: datetime, limit: int = 25
    ) -> list[Booking]:
        """A member's active bookings starting after `after`, soonest first; in one server, or everywhere if None."""
        ...

    async def seats_taken(self, restaurant_id: str, date: str) -> Mapping[str, int]:
        """Seats taken by active bookings on a local date, by slot start "HH:MM"."""
        ...

    async def cancel(self, booking_id: int, *, by_user_id: str, at: datetime) -> Cancellation | None:
        """Cancel the booking (None if there is none)."""
        ...
