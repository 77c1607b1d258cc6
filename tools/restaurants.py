"""search_restaurants: find restaurants in the catalog by place, cuisine and price, forgiving of language and case."""

from __future__ import annotations

import re
from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, Field

from bot.catalog import PlaceTerm, PriceRange, Restaurant, RestaurantCatalog
from bot.engine.tools import ToolContext, tool
from bot.text import search_key

MAX_RESULTS = 10

# Each group lists spellings of one city; the catalog may use any of them.
_CITY_NAMES: tuple[frozenset[str], ...] = (
    frozenset({"北京", "北京市", "beijing", "peking", "bj"}),
    frozenset({"上海", "上海市", "shanghai", "sh"}),
    frozenset({"深圳", "深圳市", "shenzhen", "sz"}),
    frozenset({"广州", "广州市", "guangzhou", "canton"}),
    frozenset({"香港", "hong kong", "hongkong", "hk"}),
    frozenset({"伦敦", "london", "ldn"}),
    frozenset({"纽约", "new york", "new york city", "nyc", "ny"}),
    frozenset({"旧金山", "三藩市", "san francisco", "sf", "san fran", "frisco"}),
)

# Words that narrow nothing in a location ("Beijing, China").
_COUNTRIES = frozenset(
    {"中国", "china", "prc", "英国", "uk", "united kingdom", "england", "美国", "usa", "us", "america"}
)

# Each group lists words for one kind of food; a query word in a group matches any word of that group.
_CUISINE_WORDS: tuple[frozenset[str], ...] = (
    frozenset({"川菜", "四川菜", "sichuan", "szechuan", "szechwan"}),
    frozenset({"粤菜", "广东菜", "cantonese", "dim sum", "dimsum", "点心", "早茶", "yum cha", "烧腊", "roast meats"}),
    frozenset({"湘菜", "湖南菜", "hunan"}),
    frozenset({"本帮菜", "上海菜", "沪菜", "shanghainese"}),
    frozenset({"潮汕菜", "潮州菜", "teochew", "chaoshan", "chiu chow"}),
    frozenset({"客家菜", "hakka"}),
    frozenset({"云南菜", "滇菜", "yunnan", "米线", "rice noodles"}),
    frozenset({"京菜", "北京菜", "beijing", "imperial"}),
    frozenset({"烤鸭", "北京烤鸭", "peking duck", "roast duck", "beijing duck", "duck"}),
    frozenset({"饺子", "dumplings", "dumpling", "jiaozi", "小笼包", "xiaolongbao", "soup dumplings"}),
    frozenset({"火锅", "hotpot", "hot pot", "涮肉", "shabu"}),
    frozenset({"烧烤", "烤串", "bbq", "barbecue", "grill", "skewers"}),
    frozenset({"面", "面馆", "面条", "noodles", "noodle", "lamian"}),
    frozenset({"日料", "日本料理", "日本菜", "japanese", "sushi", "寿司", "omakase", "izakaya", "居酒屋", "ramen"}),
    frozenset({"韩餐", "韩国菜", "韩式", "korean", "korean bbq"}),
    frozenset({"泰国菜", "泰餐", "thai"}),
    frozenset({"印度菜", "indian", "curry", "咖喱"}),
    frozenset({"意大利菜", "意餐", "意大利", "italian", "pizza", "披萨", "pizzeria", "pasta", "意面", "trattoria"}),
    frozenset({"法餐", "法国菜", "french", "bistro"}),
    frozenset({"英国菜", "british", "english", "pub"}),
    frozenset({"墨西哥菜", "mexican", "tacos", "taco", "taqueria"}),
    frozenset({"牛排", "steak", "steakhouse", "chophouse"}),
    frozenset({"海鲜", "seafood", "fish", "oysters", "oyster"}),
    frozenset({"素食", "素菜", "vegetarian", "vegan", "veggie"}),
)

_CHINESE_CUISINES = frozenset(
    {
        "chinese",
        "中餐",
        "中国菜",
        "中式",
        "sichuan",
        "cantonese",
        "hunan",
        "shanghainese",
        "teochew",
        "hakka",
        "yunnan",
        "beijing",
        "peking duck",
        "dumplings",
        "hotpot",
        "noodles",
    }
)


class CatalogServices(Protocol):
    """What search_restaurants uses: the catalog."""

    @property
    def restaurants(self) -> RestaurantCatalog: ...


_LOCATION_SEPARATORS = re.compile(r"[,，、/;；]+")


class RestaurantSummary(BaseModel):
    """One restaurant as the model sees it."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    city: str
    district: str
    cuisine: str
    price_range: PriceRange
    address: str
    hours: str
    timezone: str


class SearchResult(BaseModel):
    """What search_restaurants returns."""

    model_config = ConfigDict(frozen=True)

    restaurants: list[RestaurantSummary]
    more_available: bool = False
    hint: str | None = None


def summarize(restaurant: Restaurant) -> RestaurantSummary:
    """The model-facing view of a catalog entry."""
    return RestaurantSummary(
        id=restaurant.id,
        name=restaurant.name,
        city=restaurant.city,
        district=restaurant.district,
        cuisine=restaurant.cuisine,
        price_range=restaurant.price_range,
        address=restaurant.address,
        hours=restaurant.hours.compact(),
        timezone=restaurant.timezone,
    )


def _strip_suffix(word: str) -> str:
    """ "朝阳区" -> "朝阳", "soho district" -> "soho": the administrative suffix is optional in a query."""
    for suffix in ("新区", "市", "区", "县", " city", " district", " borough"):
        if word.endswith(suffix) and len(word) > len(suffix):
            return word[: -len(suffix)].strip()
    return word


def _city_spellings(word: str) -> frozenset[str] | None:
    """All spellings of the city `word` names, or None if it names no city we know."""
    for group in _CITY_NAMES:
        if word in group:
            return group
    return None


def location_terms(location: str) -> list[PlaceTerm]:
    """Split a location into parts that must all match: known cities by any spelling, other words as a city or part
    of a district. "Chaoyang, Beijing" and "北京朝阳区" both give [Beijing's spellings, district "朝阳"/"chaoyang"]."""
    terms: list[PlaceTerm] = []
    for raw in _LOCATION_SEPARATORS.split(search_key(location)):
        word = raw.strip()
        if not word or word in _COUNTRIES:
            continue
        spellings = _city_spellings(word) or _city_spellings(_strip_suffix(word))
        if spellings is not None:
            terms.append(PlaceTerm(cities=spellings))
        elif split := _city_prefix_split(word):
            terms += split
        else:
            words = frozenset({word, _strip_suffix(word)})
            terms.append(PlaceTerm(cities=words, districts=words))
    return terms


def _city_prefix_split(word: str) -> list[PlaceTerm] | None:
    """ "北京朝阳", "shanghai pudong" or "soho london" -> the city and the rest as a district, else None."""
    for group in _CITY_NAMES:
        for name in sorted(group, key=len, reverse=True):
            if name.isascii():
                if len(name) < 4:
                    continue
                if word.startswith(name + " "):
                    rest = word[len(name) + 1 :]
                elif word.endswith(" " + name):
                    rest = word[: -len(name) - 1]
                else:
                    continue
            elif word.startswith(name) and len(word) > len(name):
                rest = word[len(name) :]
            else:
                continue
            rest = rest.strip()
            return [PlaceTerm(cities=group), PlaceTerm(districts=frozenset({rest, _strip_suffix(rest)}))]
    return None


def cuisine_terms(cuisine: str) -> frozenset[str]:
    """The cuisine word with its synonyms in Chinese and English ("chinese" covers the regional kitchens)."""
    word = search_key(cuisine)
    if word in ("chinese", "中餐", "中国菜", "中式", "chinese food"):
        return _CHINESE_CUISINES
    words = {word}
    for part in (word, word.removesuffix(" food"), word.removesuffix(" cuisine"), word.removesuffix("料理")):
        for group in _CUISINE_WORDS:
            if part in group:
                words |= group
    return frozenset(words)


@tool(timeout=10)
async def search_restaurants(
    context: ToolContext[CatalogServices],
    location: Annotated[
        str,
        Field(
            description="City and/or district, in English or Chinese, e.g. 'Beijing', '上海', 'Chaoyang, Beijing', "
            "'Soho London'. Separate city and district with a comma when unsure.",
            min_length=1,
            max_length=100,
        ),
    ],
    cuisine: Annotated[
        str | None,
        Field(
            description="Kind of food, e.g. 'Sichuan', '川菜', 'sushi', 'pizza', 'hotpot'; null for any.", max_length=50
        ),
    ] = None,
    price_range: Annotated[
        PriceRange | None,
        Field(description="Price level; null for any."),
    ] = None,
) -> SearchResult:
    """Search the restaurant catalog by location (city or district, English or Chinese), optional cuisine and optional
    price range. Returns at most 10 restaurants with their id (needed by book_restaurant), name, city, district,
    cuisine, price range, address, opening hours (local time; slots every 30 minutes) and time zone. An empty list
    comes with a hint, such as the cities the catalog covers."""
    store = context.services.restaurants
    places = location_terms(location)
    if not places:
        cities = await store.cities()
        return SearchResult(restaurants=[], hint=f"Name a city or district. The catalog covers: {', '.join(cities)}.")
    cuisines = cuisine_terms(cuisine) if cuisine and cuisine.strip() else frozenset()
    found = await store.search(places=places, cuisines=cuisines, price_range=price_range, limit=MAX_RESULTS + 1)
    if found:
        return SearchResult(
            restaurants=[summarize(restaurant) for restaurant in found[:MAX_RESULTS]],
            more_available=len(found) > MAX_RESULTS,
            hint="More restaurants match: narrow the search by district, cuisine or price."
            if len(found) > MAX_RESULTS
            else None,
        )
    return SearchResult(restaurants=[], hint=await _empty_hint(store, places, cuisine, price_range))


async def _empty_hint(
    store: RestaurantCatalog, places: list[PlaceTerm], cuisine: str | None, price_range: PriceRange | None
) -> str:
    """Why nothing matched: the filters ruled out every restaurant there, or the catalog does not cover the place."""
    if cuisine or price_range:
        nearby = await store.search(places=places, limit=MAX_RESULTS)
        if nearby:
            kinds = sorted({restaurant.cuisine for restaurant in nearby})
            return (
                "No restaurant there matches the cuisine or price filter. Cuisines found there include: "
                f"{', '.join(kinds)}. Try again without a filter."
            )
    cities = await store.cities()
    return f"No restaurant matched that location. The catalog covers these cities: {', '.join(cities)}."
