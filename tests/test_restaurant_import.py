"""import_restaurants: good JSON and CSV are upserted; any bad row is named by line or index and nothing is written."""

from __future__ import annotations

import importlib.resources
import json
import pathlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.app import SAMPLE_CATALOG
from bot.catalog import Booked, CatalogChange, CatalogFile
from bot.restaurant_import import CatalogImportError, import_restaurants, summary
from bot.store.bookings import BookingStore
from bot.store.db import Database
from bot.store.restaurants import RestaurantStore
from bot.store.sqlite import SqliteDatabase
from tests.store.test_bookings import request

HEADER = "id,name,city,district,cuisine,price_range,address,timezone,hours,seats_per_slot\n"
GOOD_ROWS = (
    'cd-001,Red Lantern,成都,锦江区 Jinjiang,Sichuan,cheap,"8 Lantern St, Jinjiang",Asia/Shanghai,'
    '"mon closed; tue-fri 11:00-14:00,17:00-22:00; sat-sun 10:00-23:00",20\n'
    "cd-002,Tea Garden,成都,武侯区 Wuhou,Teahouse,moderate,2 Garden Rd,Asia/Shanghai,daily 09:00-18:00,12\n"
)


@pytest_asyncio.fixture
async def store(tmp_path: pathlib.Path) -> AsyncIterator[RestaurantStore]:
    """A RestaurantStore over a fresh database."""
    db = await SqliteDatabase.open(tmp_path / "concierge.db")
    try:
        yield RestaurantStore(db)
    finally:
        await db.close()


def write(tmp_path: pathlib.Path, name: str, text: str) -> pathlib.Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def json_restaurant(restaurant_id: str, **overrides: object) -> dict[str, object]:
    return {
        "id": restaurant_id,
        "name": "Harbour Table",
        "city": "London",
        "district": "Docklands",
        "cuisine": "Seafood",
        "price_range": "expensive",
        "address": "1 Quay Walk",
        "timezone": "Europe/London",
        "hours": {"wed": [["18:00", "23:00"]], "sat": [["12:00", "15:00"], ["18:00", "24:00"]]},
        "seats_per_slot": 16,
        **overrides,
    }


@pytest.mark.asyncio
async def test_the_sample_catalog_imports_as_json(store: RestaurantStore) -> None:
    with importlib.resources.as_file(SAMPLE_CATALOG) as sample:
        count = (await import_restaurants(store, sample)).imported
    assert count == await store.count() == len(json.loads(SAMPLE_CATALOG.read_text(encoding="utf-8"))["restaurants"])


@pytest.mark.asyncio
async def test_good_json_is_imported_with_its_hours(store: RestaurantStore, tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "catalog.json", json.dumps({"restaurants": [json_restaurant("l-1")]}))
    assert (await import_restaurants(store, path)).imported == 1
    stored = await store.get("l-1")
    assert stored is not None
    assert (
        stored.hours.compact()
        == "mon-tue closed; wed 18:00-23:00; thu-fri closed; sat 12:00-15:00,18:00-24:00; sun closed"
    )


@pytest.mark.asyncio
async def test_a_bare_json_list_is_accepted(store: RestaurantStore, tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "catalog.json", json.dumps([json_restaurant("l-1"), json_restaurant("l-2")]))
    assert (await import_restaurants(store, path)).imported == 2


@pytest.mark.asyncio
async def test_good_csv_is_imported_with_compact_hours(store: RestaurantStore, tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "catalog.csv", HEADER + GOOD_ROWS)
    assert (await import_restaurants(store, path)).imported == 2
    first = await store.get("cd-001")
    assert first is not None
    assert (first.address, first.seats_per_slot, first.city) == ("8 Lantern St, Jinjiang", 20, "成都")
    assert first.hours.shifts_on(0) == ()
    assert first.hours.shifts_on(1) == (("11:00", "14:00"), ("17:00", "22:00"))
    assert first.hours.shifts_on(6) == (("10:00", "23:00"),)


@pytest.mark.asyncio
async def test_csv_columns_may_come_in_any_order_with_a_bom(store: RestaurantStore, tmp_path: pathlib.Path) -> None:
    text = (
        "\ufeffseats_per_slot,id,name,city,district,cuisine,price_range,address,timezone,hours\n"
        "8,ny-1,Corner Deli,New York,Queens,Deli,cheap,5 Main St,America/New_York,mon-sat 08:00-16:00\n"
    )
    assert (await import_restaurants(store, write(tmp_path, "catalog.csv", text))).imported == 1
    assert (await store.get("ny-1")) is not None


@pytest.mark.asyncio
async def test_a_bad_csv_row_is_named_by_line_and_nothing_is_imported(
    store: RestaurantStore, tmp_path: pathlib.Path
) -> None:
    bad = "cd-003,Night Owl,成都,高新区,BBQ,pricey,9 Owl Rd,Asia/Shanghai,daily 18:00-24:00,10\n"
    path = write(tmp_path, "catalog.csv", HEADER + GOOD_ROWS + bad)
    with pytest.raises(CatalogImportError) as caught:
        await import_restaurants(store, path)
    assert str(caught.value).startswith("catalog.csv: line 4: price_range: Input should be 'cheap'")
    assert await store.count() == 0


@pytest.mark.asyncio
async def test_bad_csv_hours_are_named_by_line(store: RestaurantStore, tmp_path: pathlib.Path) -> None:
    bad = "cd-003,Night Owl,成都,高新区,BBQ,cheap,9 Owl Rd,Asia/Shanghai,daily 18:00-02:00,10\n"
    path = write(tmp_path, "catalog.csv", HEADER + bad + GOOD_ROWS)
    with pytest.raises(
        CatalogImportError, match=r"line 2: hours: mon: shift 18:00-02:00 does not close after it opens"
    ):
        await import_restaurants(store, path)
    assert await store.count() == 0


@pytest.mark.asyncio
async def test_line_numbers_count_quoted_line_breaks_and_blank_lines(
    store: RestaurantStore, tmp_path: pathlib.Path
) -> None:
    multiline = 'cd-004,"Two\nLines",成都,锦江区,Sichuan,cheap,1 Rd,Asia/Shanghai,daily 10:00-20:00,5\n'
    bad = "cd-005,Late,成都,锦江区,Sichuan,cheap,1 Rd,Asia/Nowhere,daily 10:00-20:00,5\n"
    path = write(tmp_path, "catalog.csv", HEADER + multiline + "\n" + bad)
    with pytest.raises(CatalogImportError, match=r"line 5: timezone: unknown time zone 'Asia/Nowhere'"):
        await import_restaurants(store, path)


@pytest.mark.asyncio
async def test_a_bad_json_restaurant_is_named_by_index_and_nothing_is_imported(
    store: RestaurantStore, tmp_path: pathlib.Path
) -> None:
    items = [json_restaurant("l-1"), json_restaurant("l-2", seats_per_slot=0)]
    path = write(tmp_path, "catalog.json", json.dumps({"note": "mine", "restaurants": items}))
    with pytest.raises(CatalogImportError) as caught:
        await import_restaurants(store, path)
    assert "restaurants[1]: seats_per_slot: Input should be greater than or equal to 1" in str(caught.value)
    assert caught.value.problems == ("restaurants[1]: seats_per_slot: Input should be greater than or equal to 1",)
    assert await store.count() == 0


@pytest.mark.asyncio
async def test_every_problem_is_reported_at_once(store: RestaurantStore, tmp_path: pathlib.Path) -> None:
    items = [json_restaurant("l-1", timezone="Nowhere/Land"), json_restaurant("l-2"), json_restaurant("l-2")]
    path = write(tmp_path, "catalog.json", json.dumps(items))
    with pytest.raises(CatalogImportError) as caught:
        await import_restaurants(store, path)
    assert [problem.split(":")[0] for problem in caught.value.problems] == ["restaurants[0]", "restaurants[2]"]
    assert "id 'l-2' was already used at restaurants[1]" in caught.value.problems[1]


@pytest.mark.asyncio
async def test_malformed_files_are_refused_with_the_reason(store: RestaurantStore, tmp_path: pathlib.Path) -> None:
    cases = {
        "broken.json": ('{"restaurants": [\n  {"id": }\n]}', "line 2 column 10: invalid JSON"),
        "header.csv": ("id,name\nx,y\n", "line 1: missing columns city"),
        "short.csv": (HEADER + "cd-9,Only Name\n", "line 2: expected 10 values, found 2"),
        "empty.json": ('{"restaurants": []}', "the file holds no restaurants"),
        "catalog.xlsx": ("", "unknown file type '.xlsx'"),
    }
    for name, (text, problem) in cases.items():
        with pytest.raises(CatalogImportError, match=problem):
            await import_restaurants(store, write(tmp_path, name, text))
    assert await store.count() == 0


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[{"id": "l-1", "seats_per_slot": ' + "9" * 5000 + "}]", r"a number has more than \d+ digits"),
        ('{"restaurants": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
    ],
    ids=["5000-digit integer", "5000-deep nesting"],
)
async def test_json_python_cannot_parse_is_one_line_naming_the_reason(
    store: RestaurantStore, tmp_path: pathlib.Path, text: str, problem: str
) -> None:
    with pytest.raises(CatalogImportError, match=problem) as caught:
        await import_restaurants(store, write(tmp_path, "huge.json", text))
    assert "\n" not in str(caught.value)
    assert await store.count() == 0


@pytest.mark.asyncio
async def test_importing_again_updates_restaurants_by_id(store: RestaurantStore, tmp_path: pathlib.Path) -> None:
    await import_restaurants(store, write(tmp_path, "a.json", json.dumps([json_restaurant("l-1")])))
    renamed = json_restaurant("l-1", name="Harbour Table & Bar", seats_per_slot=20)
    await import_restaurants(store, write(tmp_path, "b.json", json.dumps([renamed, json_restaurant("l-2")])))
    stored = await store.get("l-1")
    assert stored is not None
    assert (stored.name, stored.seats_per_slot, await store.count()) == ("Harbour Table & Bar", 20, 2)


@pytest.mark.asyncio
async def test_a_csv_row_reports_its_bad_hours_and_other_columns_together(
    store: RestaurantStore, tmp_path: pathlib.Path
) -> None:
    bad = "Bad Id,Owl,成都,高新区,BBQ,cheap,9 Owl Rd,Asia/Shanghai,funday 18:00-23:00,10\n"
    with pytest.raises(CatalogImportError) as caught:
        await import_restaurants(store, write(tmp_path, "catalog.csv", HEADER + GOOD_ROWS + bad))
    assert caught.value.problems == (
        "line 4: id: 'Bad Id' is not an id: use lowercase letters, digits and dashes, e.g. bj-001; "
        "hours: unknown day 'funday'; use mon, tue, wed, thu, fri, sat, sun or daily",
    )


SAMPLES = CatalogFile.model_validate_json(SAMPLE_CATALOG.read_bytes()).restaurants


async def with_samples(db: Database) -> RestaurantStore:
    """The catalog as a new bot leaves it: the shipped samples, loaded into the empty catalog."""
    restaurants = RestaurantStore(db)
    assert await restaurants.load_sample_if_empty(SAMPLE_CATALOG) == len(SAMPLES) == 60
    return restaurants


@pytest.mark.asyncio
async def test_the_first_import_replaces_the_samples_and_says_so(db: Database, tmp_path: pathlib.Path) -> None:
    restaurants = await with_samples(db)
    path = write(tmp_path, "mine.csv", HEADER + GOOD_ROWS)
    change = await import_restaurants(restaurants, path, samples=SAMPLES)
    assert change == CatalogChange(imported=2, removed_samples=60)
    assert summary(change, path) == f"imported 2 restaurants from {path}; removed the 60 samples"
    assert await restaurants.count() == 2 and await restaurants.get(SAMPLES[0].id) is None


@pytest.mark.asyncio
async def test_bookings_made_at_the_samples_go_with_them_and_are_counted(db: Database, tmp_path: pathlib.Path) -> None:
    restaurants, bookings = await with_samples(db), BookingStore(db)
    booked = await bookings.book(request(restaurant_id=SAMPLES[0].id))
    assert isinstance(booked, Booked)
    path = write(tmp_path, "mine.csv", HEADER + GOOD_ROWS)
    change = await import_restaurants(restaurants, path, samples=SAMPLES)
    assert change.removed_bookings == 1 and await bookings.get(booked.booking.id) is None
    assert summary(change, path).endswith("removed the 60 samples and the 1 booking made at them")


@pytest.mark.asyncio
async def test_samples_the_operator_changed_or_imports_again_stay(db: Database, tmp_path: pathlib.Path) -> None:
    restaurants = await with_samples(db)
    edited = SAMPLES[0].model_copy(update={"name": "Our own kitchen"})
    await restaurants.upsert_many([edited])
    kept = SAMPLES[1].model_dump(mode="json")
    path = write(tmp_path, "mine.json", json.dumps([kept, json_restaurant("l-1")]))
    change = await import_restaurants(restaurants, path, samples=SAMPLES)
    assert change == CatalogChange(imported=2, removed_samples=58)
    assert await restaurants.get(edited.id) == edited and await restaurants.get(SAMPLES[1].id) == SAMPLES[1]


@pytest.mark.asyncio
async def test_later_imports_keep_what_earlier_ones_brought(db: Database, tmp_path: pathlib.Path) -> None:
    restaurants = await with_samples(db)
    await import_restaurants(
        restaurants, write(tmp_path, "a.json", json.dumps([json_restaurant("l-1")])), samples=SAMPLES
    )
    path = write(tmp_path, "b.json", json.dumps([json_restaurant("l-2")]))
    change = await import_restaurants(restaurants, path, samples=SAMPLES)
    assert change == CatalogChange(imported=1)
    assert summary(change, path) == f"imported 1 restaurant from {path}"
    assert await restaurants.count() == 2


@pytest.mark.asyncio
async def test_replace_removes_what_the_file_lacks_but_never_a_booked_restaurant(
    db: Database, tmp_path: pathlib.Path
) -> None:
    restaurants, bookings = RestaurantStore(db), BookingStore(db)
    three = write(tmp_path, "three.json", json.dumps([json_restaurant(f"l-{n}") for n in (1, 2, 3)]))
    await import_restaurants(restaurants, three)
    await bookings.book(request(restaurant_id="l-3"))
    with pytest.raises(
        CatalogImportError, match=r"would remove restaurants that have bookings: l-3; keep them in the file"
    ):
        await import_restaurants(
            restaurants, write(tmp_path, "one.json", json.dumps([json_restaurant("l-1")])), replace=True
        )
    assert await restaurants.count() == 3
    path = write(tmp_path, "two.json", json.dumps([json_restaurant("l-1"), json_restaurant("l-3")]))
    change = await import_restaurants(restaurants, path, replace=True)
    assert change == CatalogChange(imported=2, removed_others=1)
    assert summary(change, path).endswith("; removed 1 restaurant not in the file")
    assert await restaurants.get("l-2") is None
