"""Table bookings: one idempotent, capacity-checked write per booking, and the reads and cancellations around it.

A booking occupies one 30-minute slot of its restaurant (see bot.catalog); the active bookings of a slot
seat at most the restaurant's `seats_per_slot` guests, and a member may hold a limited number of upcoming bookings.
The same member asking twice for the same restaurant, date, time and party size (in the same server) gets the first
booking back: the check, the member's count, the capacity count and the insert share one write transaction, taken
after the member's and the slot's locks (so two processes booking at once wait for each other), and a partial
unique index over active rows is the final guard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.catalog import Booked, Booking, BookingOutcome, BookingRequest, Cancellation, SlotFull, TooManyBookings
from bot.store.db import Connection, Database, IntegrityError, Reader
from bot.store.timestamps import format_time, parse_time

_COLUMNS = (
    "id, restaurant_id, guild_id, channel_id, user_id, user_name, date, time, party_size, starts_at, status, "
    "created_at, cancelled_at, cancelled_by"
)


class BookingStore:
    """The bookings table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def book(self, request: BookingRequest, *, max_active: int | None = None) -> BookingOutcome:
        """Book the slot if it has room and the member holds fewer than `max_active` upcoming bookings (None: no
        limit), or return the member's identical active booking; one transaction."""
        try:
            async with self._db.write() as conn:
                # Always the member first, then the slot: two bookings never wait for each other in a circle.
                await conn.lock("booking-member", request.user_id)
                await conn.lock("booking-slot", request.restaurant_id, request.date, request.time)
                settled = await _settled_without_insert(conn, request, max_active)
                if settled is not None:
                    return settled
                return Booked(await _insert(conn, request), existing=False)
        except IntegrityError:
            # The unique index met a duplicate the check above did not see; the duplicate is the answer.
            existing = await _find_same(self._db, request)
            if existing is None:
                raise
            return Booked(existing, existing=True)

    async def check(self, request: BookingRequest, *, max_active: int | None = None) -> BookingOutcome | None:
        """What `book` would answer now, without writing: None means it would make a new booking."""
        return await _settled_without_insert(self._db, request, max_active)

    async def get(self, booking_id: int) -> Booking | None:
        """The booking with this id, or None."""
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM bookings WHERE id = ?", (booking_id,))
        return _booking(row) if row else None

    async def upcoming_for(
        self, user_id: str, *, guild_id: str | None, after: datetime, limit: int = 25
    ) -> list[Booking]:
        """A member's active bookings starting after `after`, soonest first; in one server, or everywhere if None."""
        sql = f"SELECT {_COLUMNS} FROM bookings WHERE user_id = ? AND status = 'active' AND starts_at > ?"
        params: list[str | int] = [user_id, format_time(after)]
        if guild_id is not None:
            sql += " AND guild_id = ?"
            params.append(guild_id)
        sql += " ORDER BY starts_at, id LIMIT ?"
        return [_booking(row) for row in await self._db.fetch(sql, [*params, limit])]

    async def seats_taken(self, restaurant_id: str, date: str) -> Mapping[str, int]:
        """Seats taken by active bookings on a local date, by slot start "HH:MM" (slots with none are left out)."""
        rows = await self._db.fetch(
            """SELECT time, SUM(party_size) FROM bookings
               WHERE restaurant_id = ? AND date = ? AND status = 'active' GROUP BY time""",
            (restaurant_id, date),
        )
        return {str(row[0]): int(row[1]) for row in rows}

    async def cancel(self, booking_id: int, *, by_user_id: str, at: datetime) -> Cancellation | None:
        """Cancel a booking (a second cancel changes nothing); None if there is no such booking."""
        async with self._db.write() as conn:
            changed = await conn.execute(
                "UPDATE bookings SET status = 'cancelled', cancelled_at = ?, cancelled_by = ? "
                "WHERE id = ? AND status = 'active'",
                (format_time(at), by_user_id, booking_id),
            )
            row = await conn.fetchone(f"SELECT {_COLUMNS} FROM bookings WHERE id = ?", (booking_id,))
        if row is None:
            return None
        return Cancellation(_booking(row), already_cancelled=changed == 0)


async def _settled_without_insert(
    conn: Reader, request: BookingRequest, max_active: int | None
) -> BookingOutcome | None:
    """The answer to `request` that needs no insert (the identical booking, the member's limit, a full slot), or None."""
    existing = await _find_same(conn, request)
    if existing is not None:
        return Booked(existing, existing=True)
    if max_active is not None:
        active = await _upcoming_count(conn, request.user_id, after=request.created_at)
        if active >= max_active:
            return TooManyBookings(active=active, limit=max_active)
    row = await conn.fetchone("SELECT seats_per_slot FROM restaurants WHERE id = ?", (request.restaurant_id,))
    if row is None:
        raise LookupError(f"no restaurant {request.restaurant_id!r} in the catalog")
    seats = int(row[0])
    taken = await _seats_taken(conn, request.restaurant_id, request.date, request.time)
    if taken + request.party_size > seats:
        return SlotFull(seats_per_slot=seats, seats_taken=taken)
    return None


async def _insert(conn: Connection, request: BookingRequest) -> Booking:
    """Insert `request` as an active booking inside the caller's transaction."""
    inserted = await conn.fetchone(
        f"""INSERT INTO bookings (restaurant_id, guild_id, channel_id, user_id, user_name, date, time, party_size,
                                  starts_at, status, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?) RETURNING {_COLUMNS}""",
        (
            request.restaurant_id,
            request.guild_id,
            request.channel_id,
            request.user_id,
            request.user_name,
            request.date,
            request.time,
            request.party_size,
            format_time(request.starts_at),
            format_time(request.created_at),
        ),
    )
    if inserted is None:
        raise RuntimeError("INSERT ... RETURNING gave no row")
    return _booking(inserted)


async def _upcoming_count(conn: Reader, user_id: str, *, after: datetime) -> int:
    """How many active bookings the member holds that start after `after`, in every server and direct message."""
    row = await conn.fetchone(
        "SELECT COUNT(*) FROM bookings WHERE user_id = ? AND status = 'active' AND starts_at > ?",
        (user_id, format_time(after)),
    )
    return int(row[0]) if row else 0


async def _find_same(conn: Reader, request: BookingRequest) -> Booking | None:
    """The member's active booking identical to `request`, if any."""
    row = await conn.fetchone(
        f"""SELECT {_COLUMNS} FROM bookings
            WHERE COALESCE(guild_id, '') = ? AND user_id = ? AND restaurant_id = ? AND date = ? AND time = ?
              AND party_size = ? AND status = 'active'""",
        (
            request.guild_id or "",
            request.user_id,
            request.restaurant_id,
            request.date,
            request.time,
            request.party_size,
        ),
    )
    return _booking(row) if row else None


async def _seats_taken(conn: Reader, restaurant_id: str, date: str, time: str) -> int:
    """Seats taken by the active bookings of one slot."""
    row = await conn.fetchone(
        "SELECT COALESCE(SUM(party_size), 0) FROM bookings "
        "WHERE restaurant_id = ? AND date = ? AND time = ? AND status = 'active'",
        (restaurant_id, date, time),
    )
    return int(row[0]) if row else 0


def _booking(row: Sequence[object]) -> Booking:
    """A Booking from a row selected with _COLUMNS."""
    status = str(row[10])
    if status not in ("active", "cancelled"):
        raise ValueError(f"booking {row[0]} has unknown status {status!r}")
    return Booking(
        id=int(str(row[0])),
        restaurant_id=str(row[1]),
        guild_id=None if row[2] is None else str(row[2]),
        channel_id=str(row[3]),
        user_id=str(row[4]),
        user_name=str(row[5]),
        date=str(row[6]),
        time=str(row[7]),
        party_size=int(str(row[8])),
        starts_at=parse_time(str(row[9])),
        status="active" if status == "active" else "cancelled",
        created_at=parse_time(str(row[11])),
        cancelled_at=None if row[12] is None else parse_time(str(row[12])),
        cancelled_by=None if row[13] is None else str(row[13]),
    )
