"""The get_weather tool: current conditions for a city from Open-Meteo (geocoding, then forecast), cached briefly."""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Annotated, Literal, Protocol

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

from bot.engine.tools import ToolContext, ToolError, tool
from bot.text import search_key
from tools._http import fetch_json

Unit = Literal["celsius", "fahrenheit"]

# WMO weather interpretation codes (WW), as documented by Open-Meteo.
WMO_CONDITIONS: Mapping[int, str] = MappingProxyType(
    {
        0: "clear sky",
        1: "mainly clear",
        2: "partly cloudy",
        3: "overcast",
        45: "fog",
        48: "depositing rime fog",
        51: "light drizzle",
        53: "moderate drizzle",
        55: "dense drizzle",
        56: "light freezing drizzle",
        57: "dense freezing drizzle",
        61: "slight rain",
        63: "moderate rain",
        65: "heavy rain",
        66: "light freezing rain",
        67: "heavy freezing rain",
        71: "slight snowfall",
        73: "moderate snowfall",
        75: "heavy snowfall",
        77: "snow grains",
        80: "slight rain showers",
        81: "moderate rain showers",
        82: "violent rain showers",
        85: "slight snow showers",
        86: "heavy snow showers",
        95: "thunderstorm",
        96: "thunderstorm with slight hail",
        99: "thunderstorm with heavy hail",
    }
)
COMPASS = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")


@dataclass(frozen=True)
class WeatherConfig:
    """Where get_weather finds Open-Meteo, how long one call may wait, and how long answers stay fresh."""

    forecast_url: str = "https://api.open-meteo.com"
    geocoding_url: str = "https://geocoding-api.open-meteo.com"
    cache_seconds: float = 300
    timeout_seconds: float = 8


class Wind(BaseModel):
    """Wind at 10 m: speed with its unit, and where it blows from."""

    model_config = ConfigDict(frozen=True)

    speed: float | None
    unit: str
    direction_degrees: float | None
    direction: str | None


class WeatherReport(BaseModel):
    """What get_weather tells the model about one city right now."""

    model_config = ConfigDict(frozen=True)

    city: str
    region: str | None
    country: str | None
    latitude: float
    longitude: float
    temperature: float
    unit: str
    apparent_temperature: float | None
    humidity_percent: float | None
    wind: Wind
    condition: str
    weather_code: int | None
    observed_at: str
    timezone: str


class WeatherCache:
    """Recent reports by (normalised city, unit), read by age on the given clock; bounded in size."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_entries: int = 256) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], tuple[float, WeatherReport]] = OrderedDict()

    def get(self, key: tuple[str, str], *, max_age: float) -> WeatherReport | None:
        """The stored report if it is younger than `max_age` seconds."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, report = entry
        if self._clock() - stored_at >= max_age:
            del self._entries[key]
            return None
        return report

    def put(self, key: tuple[str, str], report: WeatherReport) -> None:
        """Store a fresh report, dropping the oldest when full."""
        self._entries[key] = (self._clock(), report)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)


class WeatherServices(Protocol):
    """What get_weather uses: the HTTP session, where Open-Meteo is, and the cache of recent answers."""

    @property
    def http(self) -> aiohttp.ClientSession: ...

    @property
    def weather(self) -> WeatherConfig: ...

    @property
    def weather_cache(self) -> WeatherCache: ...


class _Place(BaseModel):
    name: str
    latitude: float
    longitude: float
    country: str | None = None
    admin1: str | None = None
    timezone: str | None = None


class _GeocodingAnswer(BaseModel):
    results: list[_Place] = []


class _Current(BaseModel):
    time: str
    temperature_2m: float
    apparent_temperature: float | None = None
    relative_humidity_2m: float | None = None
    wind_speed_10m: float | None = None
    wind_direction_10m: float | None = None
    weather_code: int | None = None


class _CurrentUnits(BaseModel):
    temperature_2m: str | None = None
    wind_speed_10m: str | None = None


class _ForecastAnswer(BaseModel):
    timezone: str
    utc_offset_seconds: int = 0
    current: _Current
    current_units: _CurrentUnits = _CurrentUnits()


@tool(timeout=10)
async def get_weather(
    context: ToolContext[WeatherServices],
    city: Annotated[
        str, Field(description="City name in any language, e.g. Beijing or 北京", min_length=1, max_length=100)
    ],
    unit: Annotated[Unit, Field(description="Temperature unit")] = "celsius",
) -> WeatherReport:
    """Get the current weather for a city: temperature, feels-like temperature, humidity, wind and conditions.

    Use it for current conditions only (not forecasts). Returns the matched city, region and country, so check that
    the place found is the one meant; the observation time is local to the city.
    """
    config = context.services.weather
    cache = context.services.weather_cache
    session = context.services.http
    key = (search_key(city), unit)
    cached = cache.get(key, max_age=config.cache_seconds)
    if cached is not None:
        return cached
    try:
        async with asyncio.timeout(config.timeout_seconds):
            place = await _find_city(session, config, city)
            report = await _current_weather(session, config, place, unit)
    except TimeoutError:
        raise ToolError(
            f"the weather service did not answer within {config.timeout_seconds:g} seconds", city=city
        ) from None
    cache.put(key, report)
    return report


def condition_for(code: int | None) -> str:
    """A readable condition for a WMO weather code."""
    if code is None:
        return "unknown"
    return WMO_CONDITIONS.get(code, f"unknown (WMO code {code})")


def compass_point(degrees: float | None) -> str | None:
    """The 16-point compass direction for a bearing in degrees."""
    if degrees is None:
        return None
    return COMPASS[round((degrees % 360) / 22.5) % 16]


async def _find_city(session: aiohttp.ClientSession, config: WeatherConfig, city: str) -> _Place:
    """The best Open-Meteo geocoding match for `city`; Chinese input is searched in Chinese."""
    name = " ".join(city.split())
    if not name:
        raise ToolError("unknown city", city=city)
    answer = await fetch_json(
        session,
        f"{config.geocoding_url.rstrip('/')}/v1/search",
        params={"name": name, "count": "1", "language": "zh" if _HAN.search(name) else "en", "format": "json"},
        model=_GeocodingAnswer,
        service="the weather service (geocoding)",
        timeout_seconds=config.timeout_seconds,
    )
    if not answer.results:
        raise ToolError("unknown city", city=city)
    return answer.results[0]


async def _current_weather(
    session: aiohttp.ClientSession, config: WeatherConfig, place: _Place, unit: Unit
) -> WeatherReport:
    """Current conditions at the place's coordinates, in the asked unit."""
    answer = await fetch_json(
        session,
        f"{config.forecast_url.rstrip('/')}/v1/forecast",
        params={
            "latitude": f"{place.latitude}",
            "longitude": f"{place.longitude}",
            "current": "temperature_2m,apparent_temperature,relative_humidity_2m,wind_speed_10m,"
            "wind_direction_10m,weather_code",
            "temperature_unit": unit,
            "wind_speed_unit": "kmh",
            "timezone": "auto",
        },
        model=_ForecastAnswer,
        service="the weather service (forecast)",
        timeout_seconds=config.timeout_seconds,
    )
    current = answer.current
    try:
        local = datetime.fromisoformat(current.time)
    except ValueError:
        raise ToolError("the weather service sent an unreadable observation time", city=place.name) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=timezone(timedelta(seconds=answer.utc_offset_seconds)))
    return WeatherReport(
        city=place.name,
        region=place.admin1,
        country=place.country,
        latitude=place.latitude,
        longitude=place.longitude,
        temperature=current.temperature_2m,
        unit=answer.current_units.temperature_2m or ("°C" if unit == "celsius" else "°F"),
        apparent_temperature=current.apparent_temperature,
        humidity_percent=current.relative_humidity_2m,
        wind=Wind(
            speed=current.wind_speed_10m,
            unit=answer.current_units.wind_speed_10m or "km/h",
            direction_degrees=current.wind_direction_10m,
            direction=compass_point(current.wind_direction_10m),
        ),
        condition=condition_for(current.weather_code),
        weather_code=current.weather_code,
        observed_at=local.isoformat(),
        timezone=answer.timezone,
    )
