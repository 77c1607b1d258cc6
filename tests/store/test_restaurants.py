"""RestaurantStore over real SQLite, the opening-hours rules, and the bundled sample catalog."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from bot.app import SAMPLE_CATALOG
from bot.catalog import CatalogFile, OpeningHours, PlaceTerm, Restaurant
from bot.store.db import Database
from bot.store.restaurants import RestaurantStore


def restaurant(restaurant_id: str, **overrides: object) -> Restaurant:
    """A valid restaurant, with any field replaced."""
    fields: dict[str, object] = {
        "id": restaurant_id,
        "name": f"Test Kitchen {restaurant_id}",
        "city": "London",
        "district": "Soho",
        "cuisine": "British",
        "price_range": "moderate",
        "address": "1 Test Street",
        "timezone": "Europe/London",
        "hours": OpeningHours.parse_compact("mon-sun 12:00-22:00"),
        "seats_per_slot": 10,
    }
    return Restaurant.model_validate({**fields, **overrides})


def test_sample_catalog_is_labelled_invented_and_covers_the_promised_cities() -> None:
    raw = json.loads(SAMPLE_CATALOG.read_text(encoding="utf-8"))
    catalog = CatalogFile.model_validate(raw)
    assert "invented" in raw["note"] and "not real" in raw["note"]
    assert 50 <= len(catalog.restaurants) <= 70
    assert len({r.id for r in catalog.restaurants}) == len(catalog.restaurants)
    assert {r.city for r in catalog.restaurants} >= {"北京", "上海", "深圳", "London", "New York", "San Francisco"}
    assert any(not r.hours.shifts_on(0) for r in catalog.restaurants), "some restaurant should close on Mondays"
    assert any(len(r.hours.shifts_on(2)) == 2 for r in catalog.restaurants), "some restaurant should have split shifts"


@pytest.mark.asyncio
async def test_sample_loads_into_an_empty_catalog_and_only_then(db: Database) -> None:
    store = RestaurantStore(db)
    added = await store.load_sample_if_empty(SAMPLE_CATALOG)
    assert added == await store.count() >= 50
    assert await store.load_sample_if_empty(SAMPLE_CATALOG) == 0
    assert await store.count() == added


@pytest.mark.asyncio
async def test_sample_is_not_loaded_over_a_catalog_someone_imported(db: Database) -> None:
    store = RestaurantStore(db)
    await store.upsert_many([restaurant("own-1")])
    assert await store.load_sample_if_empty(SAMPLE_CATALOG) == 0
    assert await store.count() == 1


@pytest.mark.asyncio
async def test_upsert_replaces_a_restaurant_with_the_same_id(db: Database) -> None:
    store = RestaurantStore(db)
    await store.upsert_many([restaurant("r-1", name="Old Name")])
    await store.upsert_many([restaurant("r-1", name="New Name", seats_per_slot=4)])
    stored = await store.get("r-1")
    assert stored is not None
    assert (stored.name, stored.seats_per_slot, await store.count()) == ("New Name", 4, 1)


@pytest.mark.asyncio
async def test_a_stored_restaurant_reads_back_equal(db: Database) -> None:
    store = RestaurantStore(db)
    original = restaurant("r-2", hours=OpeningHours.parse_compact("tue-sat 11:00-14:00,17:30-22:00"))
    await store.upsert_many([original])
    assert await store.get("r-2") == original
    assert await store.get("missing") is None
    assert dict(await store.get_many(["r-2", "missing"])) == {"r-2": original}


def city(name: str) -> PlaceTerm:
    return PlaceTerm(cities=frozenset({name}))


def district(part: str) -> PlaceTerm:
    return PlaceTerm(districts=frozenset({part}))


@pytest.mark.asyncio
async def test_search_ignores_case_and_width_and_matches_districts_by_part(db: Database) -> None:
    store = RestaurantStore(db)
    await store.upsert_many(
        [
            restaurant("a", city="London", district="Soho"),
            restaurant("b", city="北京", district="朝阳区 Chaoyang"),
        ]
    )

    async def found(*places: PlaceTerm) -> list[str]:
        return [r.id for r in await store.search(places=places)]

    assert await found(city("LONDON")) == ["a"]
    assert await found(city("ｌｏｎｄｏｎ")) == ["a"]  # full-width letters
    assert await found(city("Lond")) == []  # a city is matched by its whole name
    assert await found(district("chaoyang")) == ["b"]
    assert await found(district("朝阳")) == ["b"]
    assert await found(city("北京"), district("soho")) == []
    assert await found(city("北京"), district("朝阳")) == ["b"]


@pytest.mark.asyncio
async def test_search_filters_by_cuisine_words_and_price(db: Database) -> None:
    store = RestaurantStore(db)
    await store.upsert_many(
        [
            restaurant("a", cuisine="Italian", price_range="cheap"),
            restaurant("b", cuisine="Italian", price_range="expensive"),
            restaurant("c", cuisine="Japanese", name="Sushi Corner", price_range="cheap"),
        ]
    )
    assert [r.id for r in await store.search(places=[city("london")], cuisines={"italian"})] == ["a", "b"]
    assert [r.id for r in await store.search(places=[city("london")], cuisines={"sushi"})] == ["c"]
    assert {r.id for r in await store.search(places=[city("london")], price_range="cheap")} == {"a", "c"}


@pytest.mark.asyncio
async def test_search_returns_at_most_the_limit(db: Database) -> None:
    store = RestaurantStore(db)
    await store.upsert_many([restaurant(f"r-{n:02d}") for n in range(15)])
    assert len(await store.search(places=[city("london")], limit=10)) == 10
    assert await store.cities() == ["London"]


def test_compact_hours_read_split_shifts_and_closed_days() -> None:
    hours = OpeningHours.parse_compact("mon closed; tue-fri 11:00-14:00,17:00-22:00; sat-sun 9:30-23:00")
    assert hours.shifts_on(0) == ()
    assert hours.shifts_on(1) == (("11:00", "14:00"), ("17:00", "22:00"))
    assert hours.shifts_on(6) == (("09:30", "23:00"),)
    assert OpeningHours.parse_compact(hours.compact()) == hours


def test_days_not_named_in_compact_hours_are_closed() -> None:
    hours = OpeningHours.parse_compact("fri-sun 18:00-24:00")
    assert [bool(hours.shifts_on(day)) for day in range(7)] == [False, False, False, False, True, True, True]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("mon-fri 22:00-11:00", "does not close after it opens"),
        ("mon 11:00-15:00,14:00-22:00", "overlaps"),
        ("funday 11:00-22:00", "unknown day"),
        ("mon 11-22", "is not a shift"),
        ("mon 11:00-22:00; mon 12:00-13:00", "given twice"),
        ("mon 11:00-25:00", "is not a time like 09:30"),
    ],
)
def test_malformed_compact_hours_are_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        OpeningHours.parse_compact(text)


def test_a_slot_must_fit_inside_a_shift_so_the_last_slot_ends_at_closing() -> None:
    hours = OpeningHours.parse_compact("mon 11:00-14:00,17:00-22:00")
    assert hours.admits_slot(0, 21 * 60 + 30)
    assert not hours.admits_slot(0, 22 * 60)
    assert not hours.admits_slot(0, 14 * 60)
    assert not hours.admits_slot(0, 10 * 60 + 30)
    assert hours.admits_slot(0, 17 * 60)
    assert not hours.admits_slot(1, 12 * 60)


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        restaurant("r-1", timezone="Mars/Olympus_Mons")


@pytest.mark.asyncio
async def test_migration_creates_the_catalog_and_booking_tables(db: Database) -> None:
    for table in ("restaurants", "bookings"):
        assert await db.fetchone(f"SELECT count(*) FROM {table}") == (0,)
    assert await db.schema_version() >= 2
