"""The restaurant catalog's table: upserts, lookups by id, and forgiving search (the values live in bot.catalog)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from importlib.resources.abc import Traversable

from bot.catalog import CatalogChange, CatalogFile, PlaceTerm, PriceRange, Restaurant, RestaurantsStillBooked
from bot.store.db import Connection, Database
from bot.store.timestamps import now_text
from bot.text import search_key

_COLUMNS = "id, name, city, district, cuisine, price_range, address, timezone, hours, seats_per_slot"


class RestaurantStore:
    """The catalog table: upserts, lookups by id, and forgiving search by place, cuisine and price."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def count(self) -> int:
        """How many restaurants the catalog holds."""
        row = await self._db.fetchone("SELECT COUNT(*) FROM restaurants")
        return int(row[0]) if row else 0

    async def get(self, restaurant_id: str) -> Restaurant | None:
        """The restaurant with this id, or None."""
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM restaurants WHERE id = ?", (restaurant_id,))
        return _restaurant(row) if row else None

    async def get_many(self, restaurant_ids: Collection[str]) -> Mapping[str, Restaurant]:
        """The restaurants with these ids, by id (unknown ids are left out)."""
        ids = sorted(set(restaurant_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self._db.fetch(f"SELECT {_COLUMNS} FROM restaurants WHERE id IN ({marks})", ids)
        return {restaurant.id: restaurant for restaurant in map(_restaurant, rows)}

    async def cities(self) -> list[str]:
        """The cities the catalog covers, as written in it."""
        rows = await self._db.fetch("SELECT city FROM restaurants GROUP BY city, city_key ORDER BY city_key, city")
        return [str(row[0]) for row in rows]

    async def search(
        self,
        *,
        places: Sequence[PlaceTerm] = (),
        cuisines: Collection[str] = (),
        price_range: PriceRange | None = None,
        limit: int = 10,
    ) -> list[Restaurant]:
        """Restaurants matching every place term, any of `cuisines` (contained in the cuisine or the name) and the
        price range; all comparisons ignore case and character width."""
        clauses: list[str] = []
        params: list[str | int] = []
        for place in places:
            alternatives: list[str] = []
            cities = sorted({search_key(city) for city in place.cities} - {""})
            if cities:
                alternatives.append(f"city_key IN ({','.join('?' * len(cities))})")
                params += cities
            for district in sorted({search_key(district) for district in place.districts} - {""}):
                alternatives.append("instr(district_key, ?) > 0")
                params.append(district)
            clauses.append("(" + (" OR ".join(alternatives) or "FALSE") + ")")
        cuisine_keys = sorted({search_key(cuisine) for cuisine in cuisines} - {""})
        if cuisine_keys:
            clauses.append(
                "(" + " OR ".join("instr(cuisine_key, ?) > 0 OR instr(name_key, ?) > 0" for _ in cuisine_keys) + ")"
            )
            params += [key for key in cuisine_keys for _ in range(2)]
        if price_range is not None:
            clauses.append("price_range = ?")
            params.append(price_range)
        where = " AND ".join(clauses) or "1 = 1"
        sql = f"SELECT {_COLUMNS} FROM restaurants WHERE {where} ORDER BY city_key, district_key, name_key, id LIMIT ?"
        return [_restaurant(row) for row in await self._db.fetch(sql, [*params, limit])]

    async def upsert_many(self, restaurants: Iterable[Restaurant]) -> int:
        """Insert or update (by id) all restaurants in one transaction; returns how many were written."""
        async with self._db.write() as conn:
            return await _upsert(conn, list(restaurants))

    async def import_catalog(
        self, restaurants: Sequence[Restaurant], *, samples: Collection[Restaurant] = (), replace: bool = False
    ) -> CatalogChange:
        """Upsert `restaurants` by id and, in the same transaction, remove the `samples` still in the catalog exactly as
        shipped (and the bookings made at them: those restaurants were invented, so no table was ever held) unless the
        import holds their id; with `replace`, also remove every other restaurant the import does not hold, refusing
        (RestaurantsStillBooked, nothing changed) when one of those has bookings."""
        kept = {restaurant.id for restaurant in restaurants}
        shipped = {sample.id: sample for sample in samples}
        async with self._db.write() as conn:
            await conn.lock("restaurants", "sample")  # not while a starting bot loads the samples
            current = [_restaurant(row) for row in await conn.fetch(f"SELECT {_COLUMNS} FROM restaurants")]
            gone = [restaurant for restaurant in current if restaurant.id not in kept]
            stale = [restaurant.id for restaurant in gone if shipped.get(restaurant.id) == restaurant]
            others = [restaurant.id for restaurant in gone if replace and restaurant.id not in stale]
            booked = await _booked(conn, others)
            if booked:
                raise RestaurantsStillBooked(booked)
            removed_bookings = await _delete(conn, stale + others)
            imported = await _upsert(conn, restaurants)
        return CatalogChange(
            imported=imported, removed_samples=len(stale), removed_bookings=removed_bookings, removed_others=len(others)
        )

    async def load_sample_if_empty(self, path: Traversable) -> int:
        """Load the JSON catalog at `path` (a file or package resource) if the catalog is empty; returns how many."""
        catalog = CatalogFile.model_validate_json(await asyncio.to_thread(path.read_bytes))
        async with self._db.write() as conn:
            await conn.lock("restaurants", "sample")  # processes starting together load it once
            row = await conn.fetchone("SELECT EXISTS (SELECT 1 FROM restaurants)")
            if row and row[0]:
                return 0
            return await _upsert(conn, catalog.restaurants)


async def _upsert(conn: Connection, restaurants: Sequence[Restaurant]) -> int:
    """Write restaurants by id inside the caller's transaction (existing bookings keep pointing at them)."""
    now = now_text()
    await conn.executemany(
        f"""INSERT INTO restaurants ({_COLUMNS}, name_key, city_key, district_key, cuisine_key, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET
                name = excluded.name, city = excluded.city, district = excluded.district,
                cuisine = excluded.cuisine, price_range = excluded.price_range, address = excluded.address,
                timezone = excluded.timezone, hours = excluded.hours, seats_per_slot = excluded.seats_per_slot,
                name_key = excluded.name_key, city_key = excluded.city_key, district_key = excluded.district_key,
                cuisine_key = excluded.cuisine_key, updated_at = excluded.updated_at""",
        [
            (
                r.id,
                r.name,
                r.city,
                r.district,
                r.cuisine,
                r.price_range,
                r.address,
                r.timezone,
                r.hours.model_dump_json(),
                r.seats_per_slot,
                search_key(r.name),
                search_key(r.city),
                search_key(r.district),
                search_key(r.cuisine),
                now,
            )
            for r in restaurants
        ],
    )
    return len(restaurants)


async def _booked(conn: Connection, restaurant_ids: Sequence[str]) -> list[str]:
    """Which of these restaurants have bookings (of any status), sorted."""
    if not restaurant_ids:
        return []
    marks = ",".join("?" * len(restaurant_ids))
    sql = f"SELECT DISTINCT restaurant_id FROM bookings WHERE restaurant_id IN ({marks}) ORDER BY restaurant_id"
    return [str(row[0]) for row in await conn.fetch(sql, list(restaurant_ids))]


async def _delete(conn: Connection, restaurant_ids: Sequence[str]) -> int:
    """Delete these restaurants and every booking made at them; returns how many bookings went."""
    if not restaurant_ids:
        return 0
    marks = ",".join("?" * len(restaurant_ids))
    bookings = await conn.execute(f"DELETE FROM bookings WHERE restaurant_id IN ({marks})", list(restaurant_ids))
    await conn.execute(f"DELETE FROM restaurants WHERE id IN ({marks})", list(restaurant_ids))
    return bookings


def _restaurant(row: Sequence[object]) -> Restaurant:
    """A Restaurant from a row selected with _COLUMNS."""
    fields = ("id", "name", "city", "district", "cuisine", "price_range", "address", "timezone")
    values = dict(zip(fields, row[:8], strict=True))
    return Restaurant.model_validate(
        {**values, "hours": json.loads(str(row[8])), "seats_per_slot": row[9]},
    )
