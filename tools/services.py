"""ToolServices: the one object of services the app lends every tool call, read as `context.services.<name>`.

Each tool declares what it reads as a Protocol in its context (`ToolContext[WeatherServices]`); ToolServices
provides them all, which mypy checks below and the app checks again at start-up (bot.engine.tools.missing_services),
so a tool that needs something the app did not build stops the start, never a member's turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp

from bot.catalog import BookingLedger, RestaurantCatalog
from tools._booking_rules import BookingLimits
from tools.weather import WeatherCache, WeatherConfig
from tools.web_search import WebSearchConfig

if TYPE_CHECKING:
    from tools._booking_rules import BookingServices
    from tools.restaurants import CatalogServices
    from tools.weather import WeatherServices
    from tools.web_search import SearchServices


@dataclass(frozen=True)
class ToolServices:
    """The HTTP session, the catalog and bookings, and each tool's configuration: built once in bot/app.py."""

    http: aiohttp.ClientSession
    restaurants: RestaurantCatalog
    bookings: BookingLedger
    booking_limits: BookingLimits = field(default_factory=BookingLimits)
    weather: WeatherConfig = field(default_factory=WeatherConfig)
    weather_cache: WeatherCache = field(default_factory=WeatherCache)
    web_search: WebSearchConfig = field(default_factory=WebSearchConfig)


if TYPE_CHECKING:

    def _serves_every_tool(
        services: ToolServices,
    ) -> tuple[BookingServices, CatalogServices, WeatherServices, SearchServices]:
        """Never called: mypy proves here that ToolServices gives every tool what its context declares."""
        return services, services, services, services
