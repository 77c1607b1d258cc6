"""get_weather against a local Open-Meteo stand-in serving recorded answers."""

from __future__ import annotations

import time
from types import SimpleNamespace

import aiohttp
import pytest

from bot.engine.permissions import Caller, Place
from bot.engine.tools import ToolContext, ToolError
from tests.tools.conftest import FixtureServer
from tools._http import USER_AGENT
from tools.weather import WMO_CONDITIONS, WeatherCache, WeatherConfig, compass_point, condition_for, get_weather

GEOCODE = "/v1/search"
FORECAST = "/v1/forecast"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_context(
    session: aiohttp.ClientSession,
    server: FixtureServer,
    *,
    cache: WeatherCache | None = None,
    timeout_seconds: float = 2,
) -> ToolContext:
    """A tool context whose weather services point at the fixture server."""
    config = WeatherConfig(
        forecast_url=server.url, geocoding_url=server.url, cache_seconds=300, timeout_seconds=timeout_seconds
    )
    return ToolContext(
        caller=Caller(user_id="1", name="ann"),
        place=Place(channel_id="c", guild_id="g"),
        services=SimpleNamespace(http=session, weather=config, weather_cache=cache or WeatherCache()),
    )


def serve_beijing(server: FixtureServer) -> None:
    """Recorded Open-Meteo answers for Beijing, in English and Chinese, in both units."""
    server.reply(GEOCODE, "geocoding_beijing_en.json", when={"language": "en"})
    server.reply(GEOCODE, "geocoding_beijing_zh.json", when={"language": "zh"})
    server.reply(FORECAST, "forecast_beijing_celsius.json", when={"temperature_unit": "celsius"})
    server.reply(FORECAST, "forecast_beijing_fahrenheit.json", when={"temperature_unit": "fahrenheit"})


async def weather(context: ToolContext, city: str, unit: str = "celsius") -> dict[str, object]:
    """Call the tool as the executor does."""
    return await get_weather.invoke(context, get_weather.arguments(city=city, unit=unit))


@pytest.mark.asyncio
async def test_english_city_gives_current_conditions(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    serve_beijing(fixture_server)
    result = await weather(make_context(session, fixture_server), "Beijing")
    assert result == {
        "city": "Beijing",
        "region": "Beijing",
        "country": "China",
        "latitude": 39.9075,
        "longitude": 116.39723,
        "temperature": 7.4,
        "unit": "°C",
        "apparent_temperature": 3.1,
        "humidity_percent": 28.0,
        "wind": {"speed": 13.3, "unit": "km/h", "direction_degrees": 315.0, "direction": "NW"},
        "condition": "mainly clear",
        "weather_code": 1,
        "observed_at": "2025-11-26T14:15:00+08:00",
        "timezone": "Asia/Shanghai",
    }


@pytest.mark.asyncio
async def test_forecast_is_asked_for_the_geocoded_coordinates_in_the_chosen_unit(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    serve_beijing(fixture_server)
    result = await weather(make_context(session, fixture_server), "Beijing", "fahrenheit")
    assert (result["temperature"], result["unit"]) == (45.3, "°F")
    forecast = next(request for request in fixture_server.requests if request.path == FORECAST)
    assert forecast.query["latitude"] == "39.9075"
    assert forecast.query["longitude"] == "116.39723"
    assert forecast.query["temperature_unit"] == "fahrenheit"
    assert forecast.query["timezone"] == "auto"
    assert set(forecast.query["current"].split(",")) == {
        "temperature_2m",
        "apparent_temperature",
        "relative_humidity_2m",
        "wind_speed_10m",
        "wind_direction_10m",
        "weather_code",
    }


@pytest.mark.asyncio
async def test_chinese_city_is_searched_in_chinese(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    serve_beijing(fixture_server)
    result = await weather(make_context(session, fixture_server), "北京")
    assert (result["city"], result["country"]) == ("北京市", "中国")
    geocode = next(request for request in fixture_server.requests if request.path == GEOCODE)
    assert geocode.query == {"name": "北京", "count": "1", "language": "zh", "format": "json"}


@pytest.mark.asyncio
async def test_every_request_carries_the_descriptive_user_agent(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    serve_beijing(fixture_server)
    await weather(make_context(session, fixture_server), "Beijing")
    assert [request.user_agent for request in fixture_server.requests] == [USER_AGENT, USER_AGENT]


@pytest.mark.asyncio
async def test_unknown_city_is_reported_to_the_model_without_asking_for_a_forecast(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    fixture_server.reply(GEOCODE, "geocoding_empty.json")
    with pytest.raises(ToolError) as caught:
        await weather(make_context(session, fixture_server), "Atlantis")
    assert caught.value.as_result() == {"error": "unknown city", "city": "Atlantis"}
    assert fixture_server.hits(FORECAST) == 0


@pytest.mark.asyncio
async def test_second_call_within_the_cache_time_does_not_reach_the_service(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    serve_beijing(fixture_server)
    clock = FakeClock()
    context = make_context(session, fixture_server, cache=WeatherCache(clock=clock))
    first = await weather(context, "Beijing")
    clock.now += 299
    second = await weather(context, "  beijing ")
    assert second == first
    assert len(fixture_server.requests) == 2


@pytest.mark.asyncio
async def test_cache_expires_and_keeps_units_apart(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    serve_beijing(fixture_server)
    clock = FakeClock()
    context = make_context(session, fixture_server, cache=WeatherCache(clock=clock))
    await weather(context, "Beijing")
    fahrenheit = await weather(context, "Beijing", "fahrenheit")
    assert fahrenheit["unit"] == "°F"
    assert fixture_server.hits(FORECAST) == 2
    clock.now += 301
    await weather(context, "Beijing")
    assert fixture_server.hits(FORECAST) == 3


@pytest.mark.asyncio
async def test_unknown_city_is_not_cached(session: aiohttp.ClientSession, fixture_server: FixtureServer) -> None:
    fixture_server.reply(GEOCODE, "geocoding_empty.json")
    context = make_context(session, fixture_server)
    with pytest.raises(ToolError):
        await weather(context, "Beijing")
    serve_beijing(fixture_server)
    assert (await weather(context, "Beijing"))["city"] == "Beijing"


@pytest.mark.asyncio
async def test_slow_service_gives_a_clear_timeout_error_quickly(
    session: aiohttp.ClientSession, fixture_server: FixtureServer
) -> None:
    fixture_server.reply(GEOCODE, "geocoding_beijing_en.json")
    fixture_server.hang(FORECAST)
    started = time.perf_counter()
    with pytest.raises(ToolError) as caught:
        await weather(make_context(session, fixture_server, timeout_seconds=0.1), "Beijing")
    assert "did not answer within 0.1 seconds" in caught.value.message
    assert time.perf_counter() - started < 1.5


@pytest.mark.asyncio
async def test_server_error_is_explained(session: aiohttp.ClientSession, fixture_server: FixtureServer) -> None:
    fixture_server.reply(GEOCODE, "geocoding_beijing_en.json")
    fixture_server.reply(FORECAST, status=503)
    with pytest.raises(ToolError) as caught:
        await weather(make_context(session, fixture_server), "Beijing")
    assert caught.value.message == "the weather service (forecast) is having problems (HTTP 503); try again later"
    assert caught.value.details["status"] == 503


@pytest.mark.asyncio
async def test_unreadable_answer_is_explained(session: aiohttp.ClientSession, fixture_server: FixtureServer) -> None:
    fixture_server.reply(GEOCODE, raw=b"<html>upstream proxy error</html>")
    with pytest.raises(ToolError) as caught:
        await weather(make_context(session, fixture_server), "Beijing")
    assert caught.value.message == "the weather service (geocoding) sent an answer that could not be read"


@pytest.mark.asyncio
async def test_unreachable_service_is_explained(session: aiohttp.ClientSession) -> None:
    config = WeatherConfig(forecast_url="http://127.0.0.1:9", geocoding_url="http://127.0.0.1:9", timeout_seconds=2)
    context = ToolContext(
        caller=Caller(user_id="1", name="ann"),
        place=Place(channel_id="c", guild_id="g"),
        services=SimpleNamespace(http=session, weather=config, weather_cache=WeatherCache()),
    )
    with pytest.raises(ToolError) as caught:
        await weather(context, "Beijing")
    assert caught.value.message == "the weather service (geocoding) could not be reached"


def test_every_open_meteo_weather_code_has_a_readable_condition() -> None:
    documented = {0, 1, 2, 3, 45, 48, 51, 53, 55, 56, 57, 61, 63, 65, 66, 67, 71, 73, 75, 77, 80, 81, 82, 85, 86}
    documented |= {95, 96, 99}
    assert set(WMO_CONDITIONS) == documented
    assert condition_for(65) == "heavy rain"
    assert condition_for(42) == "unknown (WMO code 42)"


@pytest.mark.parametrize(("degrees", "point"), [(0, "N"), (359, "N"), (45, "NE"), (180, "S"), (247.5, "WSW")])
def test_wind_bearing_becomes_a_compass_point(degrees: float, point: str) -> None:
    assert compass_point(degrees) == point


def test_tool_schema_offers_city_and_unit_in_strict_mode() -> None:
    schema = get_weather.parameters
    assert schema["required"] == ["city", "unit"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]
