"""search_restaurants over the sample catalog in real SQLite: languages, case, synonyms, filters, limits, hints."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio

from bot.app import SAMPLE_CATALOG
from bot.engine.permissions import Caller, Place
from bot.engine.tools import ToolContext
from bot.store.db import Database
from bot.store.restaurants import RestaurantStore
from tools.restaurants import search_restaurants


@pytest_asyncio.fixture
async def context(db: Database) -> ToolContext:
    """A tool context whose RestaurantStore holds the sample catalog (in each backend)."""
    store = RestaurantStore(db)
    await store.load_sample_if_empty(SAMPLE_CATALOG)
    return ToolContext(
        caller=Caller(user_id="u-1", name="Ana"),
        place=Place(channel_id="c-1", guild_id="g-1"),
        services=SimpleNamespace(restaurants=store),
        now=lambda: datetime(2026, 6, 1, 8, 0, tzinfo=UTC),
    )


async def search(context: ToolContext, location: str, **filters: Any) -> dict[str, Any]:
    arguments = search_restaurants.arguments.model_validate({"location": location, **filters})
    return await search_restaurants.invoke(context, arguments)


async def ids(context: ToolContext, location: str, **filters: Any) -> set[str]:
    return {found["id"] for found in (await search(context, location, **filters))["restaurants"]}


def test_cuisine_and_price_are_optional_in_the_strict_schema() -> None:
    schema = search_restaurants.parameters
    assert schema["required"] == ["location", "cuisine", "price_range"]
    assert {"type": "null"} in schema["properties"]["cuisine"]["anyOf"]
    assert not search_restaurants.side_effects and not search_restaurants.restricted


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("spellings", "prefix"),
    [
        (["北京", "Beijing", "peking", "BEIJING", "北京市", "Beijing, China"], "bj-"),
        (["上海", "Shanghai", "shanghai "], "sh-"),
        (["深圳", "Shenzhen", "SHENZHEN"], "sz-"),
        (["London", "london", "伦敦"], "ldn-"),
        (["New York", "NYC", "new york city"], "nyc-"),
        (["San Francisco", "SF", "旧金山"], "sf-"),
    ],
)
async def test_a_city_is_found_by_its_chinese_or_english_name_in_any_case(
    context: ToolContext, spellings: list[str], prefix: str
) -> None:
    results = [await ids(context, spelling) for spelling in spellings]
    assert results[0] and all(found.startswith(prefix) for found in results[0])
    assert all(found == results[0] for found in results)


@pytest.mark.asyncio
async def test_a_district_narrows_the_city_in_either_language(context: ToolContext) -> None:
    chaoyang = await ids(context, "Chaoyang, Beijing")
    assert chaoyang == {"bj-001", "bj-004", "bj-005", "bj-007", "bj-010"}
    assert await ids(context, "北京朝阳区") == chaoyang
    assert await ids(context, "朝阳") == chaoyang
    assert await ids(context, "Soho London") == {"ldn-001", "ldn-002"}
    assert await ids(context, "Brooklyn") == {"nyc-004", "nyc-005"}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("location", "words", "expected"),
    [
        ("北京", ["川菜", "Sichuan", "szechuan", "SICHUAN food"], {"bj-001", "bj-013"}),
        ("上海", ["日料", "Japanese", "sushi", "寿司"], {"sh-004"}),
        ("深圳", ["italian", "pizza", "pasta", "意大利菜"], {"sz-005"}),
        ("Shanghai", ["hotpot", "火锅", "hot pot"], {"sh-009"}),
        ("Shenzhen", ["粤菜", "Cantonese", "dim sum"], {"sz-002", "sz-008"}),
        ("London", ["Chinese", "中餐"], {"ldn-002", "ldn-003"}),
    ],
)
async def test_cuisine_synonyms_find_the_same_restaurants(
    context: ToolContext, location: str, words: list[str], expected: set[str]
) -> None:
    for word in words:
        assert await ids(context, location, cuisine=word) == expected, word


@pytest.mark.asyncio
async def test_price_range_filters_the_results(context: ToolContext) -> None:
    found = (await search(context, "北京", price_range="expensive"))["restaurants"]
    assert {restaurant["id"] for restaurant in found} == {"bj-002", "bj-005", "bj-011", "bj-014"}
    assert {restaurant["price_range"] for restaurant in found} == {"expensive"}


@pytest.mark.asyncio
async def test_at_most_ten_results_and_the_model_is_told_there_are_more(context: ToolContext) -> None:
    result = await search(context, "Beijing")
    assert len(result["restaurants"]) == 10
    assert result["more_available"] is True
    assert "narrow" in result["hint"]


@pytest.mark.asyncio
async def test_each_result_carries_what_a_booking_needs(context: ToolContext) -> None:
    [found] = (await search(context, "London", cuisine="sichuan"))["restaurants"]
    assert found == {
        "id": "ldn-002",
        "name": "Red Pepper Sichuan House",
        "city": "London",
        "district": "Soho",
        "cuisine": "Sichuan",
        "price_range": "moderate",
        "address": "3 Pepper Court, Soho, London",
        "hours": "mon-sun 11:00-14:00,17:00-22:00",
        "timezone": "Europe/London",
    }


@pytest.mark.asyncio
async def test_an_unknown_city_gives_an_empty_list_and_the_covered_cities(context: ToolContext) -> None:
    result = await search(context, "Tokyo")
    assert result["restaurants"] == []
    assert all(city in result["hint"] for city in ("北京", "上海", "深圳", "London", "New York", "San Francisco"))


@pytest.mark.asyncio
async def test_filters_that_exclude_everything_say_what_the_place_offers(context: ToolContext) -> None:
    result = await search(context, "北京", cuisine="Mexican")
    assert result["restaurants"] == []
    assert "cuisine or price" in result["hint"] and "Sichuan" in result["hint"]
