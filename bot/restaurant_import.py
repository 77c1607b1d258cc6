"""Import a restaurant catalog from a JSON or CSV file: every row is validated first, then all are written or none.

JSON (*.json): the shape of bot/resources/restaurants.sample.json, {"note": "...", "restaurants": [{...}, ...]}, or
just the list. Each restaurant has id, name, city, district, cuisine, price_range, address, timezone, hours and
seats_per_slot, with hours as {"mon": [["11:00", "14:00"], ["17:00", "22:00"]], ...} (weekdays left out are closed).
Problems are reported by array index: "restaurants[3]".

CSV (*.csv, UTF-8, comma-separated, a header row, line 1): the columns
    id, name, city, district, cuisine, price_range, address, timezone, hours, seats_per_slot
in any order, all required. `price_range` is cheap, moderate or expensive; `timezone` an IANA name such as
Asia/Shanghai; `seats_per_slot` the guests one 30-minute slot can seat; `hours` the compact form
    "mon-fri 11:00-14:00,17:00-22:00; sat-sun 10:00-23:00"
(groups separated by ";", days as "mon", "mon-fri", "sat,sun" or "daily", shifts separated by ",", "closed" for a
closed group; days not named are closed; a shift may close at 24:00 but not after midnight). Problems are reported
by line number.

Restaurants are upserted by id in one transaction: an existing id is updated, and its bookings stay attached.
The same transaction removes the invented sample restaurants the bot loads into an empty catalog, those still exactly
as shipped (an id the file holds is updated instead), together with the bookings made at them: no real table was ever
held there. So the first import replaces the samples, and later imports find none. With `replace`, every other
restaurant the file does not hold is removed too, unless it has bookings: then nothing is imported (keep it in the
file), so no member's booking ever disappears with its restaurant.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.catalog import CatalogChange, OpeningHours, Restaurant, RestaurantsStillBooked
from bot.engine.json_text import read_json
from bot.store.restaurants import RestaurantStore

CSV_COLUMNS = (
    "id",
    "name",
    "city",
    "district",
    "cuisine",
    "price_range",
    "address",
    "timezone",
    "hours",
    "seats_per_slot",
)
MAX_REPORTED = 10


class CatalogImportError(Exception):
    """A catalog file that cannot be imported; each problem names its CSV line or JSON index. Nothing was written."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        shown = problems[:MAX_REPORTED]
        more = f"\n  (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        if len(problems) == 1:
            message = f"{path.name}: {problems[0]}; nothing was imported"
        else:
            message = f"{path.name}: {len(problems)} problems, nothing was imported:\n  " + "\n  ".join(shown) + more
        super().__init__(message)
        self.path = path
        self.problems = tuple(problems)


async def import_restaurants(
    store: RestaurantStore, path: Path, *, samples: Sequence[Restaurant] = (), replace: bool = False
) -> CatalogChange:
    """Validate every restaurant in the JSON or CSV file, then upsert them all by id, removing the `samples` still in
    the catalog as shipped (and, with `replace`, every restaurant the file does not hold); says what changed."""
    restaurants = await read_catalog(path)
    try:
        return await store.import_catalog(restaurants, samples=samples, replace=replace)
    except RestaurantsStillBooked as error:
        raise CatalogImportError(path, [str(error)]) from None


async def read_catalog(path: Path) -> list[Restaurant]:
    """Every restaurant of the JSON or CSV file, validated; CatalogImportError names each problem (no database work)."""
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise CatalogImportError(path, [f"unknown file type {path.suffix!r}; use a .json or .csv file"])
    try:
        raw = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        raise CatalogImportError(path, [f"cannot read the file: {error.strerror or error}"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CatalogImportError(path, [f"not UTF-8 text (byte {error.start})"]) from None
    restaurants, problems = parse_json(text) if suffix == ".json" else parse_csv(text)
    if not problems and not restaurants:
        problems = ["the file holds no restaurants"]
    if problems:
        raise CatalogImportError(path, problems)
    return restaurants


def summary(change: CatalogChange, path: Path) -> str:
    """What an import did, in one line: "imported 12 restaurants from mine.csv; removed the 60 samples"."""
    parts = [f"imported {change.imported} restaurant{'s' if change.imported != 1 else ''} from {path}"]
    if change.removed_samples:
        samples = "the sample" if change.removed_samples == 1 else f"the {change.removed_samples} samples"
        bookings = change.removed_bookings
        made = f" and the {bookings} booking{'s' if bookings != 1 else ''} made at them" if bookings else ""
        parts.append(f"removed {samples}{made}")
    if change.removed_others:
        others = change.removed_others
        parts.append(f"removed {others} restaurant{'s' if others != 1 else ''} not in the file")
    return "; ".join(parts)


def parse_json(text: str) -> tuple[list[Restaurant], list[str]]:
    """The restaurants of a JSON catalog and the problems found, each named by its array index."""
    try:
        document = read_json(text)  # the same nesting limit on every Python version
    except json.JSONDecodeError as error:
        return [], [f"line {error.lineno} column {error.colno}: invalid JSON: {error.msg}"]
    except ValueError:  # the only other ValueError json raises: Python's limit on digits in an integer
        return [], [f"cannot read the JSON: a number has more than {sys.get_int_max_str_digits()} digits"]
    except RecursionError:
        return [], ["cannot read the JSON: arrays or objects are nested too deeply"]
    if isinstance(document, dict):
        unknown = sorted(set(document) - {"note", "restaurants"})
        if unknown:
            return [], [f"unknown top-level keys {unknown}; expected 'note' and 'restaurants'"]
        items = document.get("restaurants")
    else:
        items = document
    if not isinstance(items, list):
        return [], ['expected {"restaurants": [...]} or a list of restaurants']
    rows = [(f"restaurants[{index}]", item) for index, item in enumerate(items)]
    return _validate(rows)


def parse_csv(text: str) -> tuple[list[Restaurant], list[str]]:
    """The restaurants of a CSV catalog and the problems found, each named by its line number."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        return [], ["line 1: the file is empty; expected a header row"]
    except csv.Error as error:
        return [], [f"line 1: {error}"]
    header_problem = _header_problem(header)
    if header_problem:
        return [], [header_problem]
    rows: list[tuple[str, Any]] = []
    problems: list[str] = []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append(f"line {start}: {error}")
            break
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(header):
            problems.append(f"line {start}: expected {len(header)} values, found {len(values)}")
            continue
        record: dict[str, Any] = {column: value.strip() for column, value in zip(header, values, strict=True)}
        try:
            record["hours"] = OpeningHours.parse_compact(record["hours"])
        except ValidationError as error:
            hours_problem = f"hours: {_describe(error)}"
        except ValueError as error:
            hours_problem = str(error)
        else:
            rows.append((f"line {start}", record))
            continue
        # Still check the other columns, so one pass reports every problem of the row.
        _, others = _validate([(f"line {start}", {**record, "hours": OpeningHours()})])
        problems.append(f"{others[0]}; {hours_problem}" if others else f"line {start}: {hours_problem}")
    restaurants, invalid = _validate(rows)
    return restaurants, sorted(problems + invalid, key=_line_number)


def _header_problem(header: list[str]) -> str | None:
    """What is wrong with a CSV header row (missing, unknown or repeated columns), or None."""
    missing = [column for column in CSV_COLUMNS if column not in header]
    unknown = [column for column in header if column not in CSV_COLUMNS]
    repeated = sorted({column for column in header if header.count(column) > 1})
    parts = [
        f"{label} {', '.join(columns)}"
        for label, columns in (("missing columns", missing), ("unknown columns", unknown), ("repeated", repeated))
        if columns
    ]
    return f"line 1: {'; '.join(parts)} (expected {', '.join(CSV_COLUMNS)})" if parts else None


def _line_number(problem: str) -> int:
    """The N of a problem starting "line N:"."""
    return int(problem.split(":", 1)[0].removeprefix("line "))


def _validate(rows: list[tuple[str, Any]]) -> tuple[list[Restaurant], list[str]]:
    """Validate each (where, data) row as a Restaurant; ids must be unique within the file."""
    restaurants: list[Restaurant] = []
    problems: list[str] = []
    first_seen: dict[str, str] = {}
    for where, data in rows:
        try:
            restaurant = Restaurant.model_validate(data)
        except ValidationError as error:
            problems.append(f"{where}: {_describe(error)}")
            continue
        if restaurant.id in first_seen:
            problems.append(f"{where}: id {restaurant.id!r} was already used at {first_seen[restaurant.id]}")
            continue
        first_seen[restaurant.id] = where
        restaurants.append(restaurant)
    return restaurants, problems


def _describe(error: ValidationError) -> str:
    """A pydantic error as "field: problem; field: problem"."""
    parts = []
    for detail in error.errors(include_url=False):
        where = ".".join(str(part) for part in detail["loc"])
        message = str(detail["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
