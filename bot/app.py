"""Composition root: builds every resource from the settings, hands them out, and closes them."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import aiohttp
import openai

import tools
from bot.concierge import Concierge, ConciergeLimits
from bot.engine.api import ModelAPI
from bot.engine.api.chat import ChatAPI
from bot.engine.api.features import FeatureModes, LimitField
from bot.engine.api.responses import ResponsesAPI
from bot.engine.tools import Registry
from bot.prompt import SystemPrompt
from bot.settings import Settings
from bot.spending import QuotaDefaults, Spending
from bot.store import BookingStore, RestaurantStore, SchemaTooNew, Store
from bot.store.db import DatabaseUnavailable
from tools.bookings import BookingLimits
from tools.weather import WeatherCache, WeatherConfig
from tools.web_search import WebSearchConfig

log = logging.getLogger(__name__)

SAMPLE_CATALOG = files("bot") / "resources" / "restaurants.sample.json"
MODEL_REQUEST_RETRIES = 2


class StartupError(Exception):
    """A problem that stops start-up, told in one line (no traceback); bad configuration exits with status 2."""

    def __init__(self, message: str, *, exit_status: int = 2) -> None:
        super().__init__(message)
        self.exit_status = exit_status


@dataclass(frozen=True)
class App:
    """Every long-lived resource, opened together and closed together."""

    settings: Settings
    store: Store
    http: aiohttp.ClientSession
    model_client: openai.AsyncOpenAI
    concierge: Concierge


def make_model_client(settings: Settings) -> openai.AsyncOpenAI:
    """The OpenAI client: the SDK's own retries for 429/5xx stay on, with a request timeout."""
    return openai.AsyncOpenAI(
        api_key=settings.openai_key(),
        base_url=settings.OPENAI_BASE_URL,
        timeout=settings.OPENAI_TIMEOUT_SECONDS,
        max_retries=MODEL_REQUEST_RETRIES,
    )


def make_model_api(settings: Settings, client: openai.AsyncOpenAI) -> ModelAPI:
    """The adapter for the configured API kind."""
    limit = settings.MAX_OUTPUT_TOKENS
    stream = settings.STREAM_ANSWERS
    if settings.OPENAI_API == "chat":
        return ChatAPI(
            client,
            model=settings.OPENAI_MODEL,
            max_output_tokens=limit,
            output_limit_field=first_output_limit_field(settings),
            stream=stream,
            features=feature_modes(settings),
        )
    return ResponsesAPI(
        client, model=settings.OPENAI_MODEL, max_output_tokens=limit, stream=stream, features=feature_modes(settings)
    )


# Addresses that are OpenAI underneath, whose reasoning models refuse max_tokens (Azure OpenAI included).
_OPENAI_HOSTS = ("api.openai.com", ".openai.azure.com")


def first_output_limit_field(settings: Settings) -> LimitField:
    """The Chat output limit's first name: OpenAI's own, else the one every compatible server knows (issue 22)."""
    url = settings.OPENAI_BASE_URL
    on_openai = url is None or any(host in url for host in _OPENAI_HOSTS)
    return "max_completion_tokens" if on_openai else "max_tokens"


def feature_modes(settings: Settings) -> FeatureModes:
    """How the optional request features are sent (OPENAI_REASONING_REPLAY, …; issue 22)."""
    return FeatureModes(
        reasoning_replay=settings.OPENAI_REASONING_REPLAY,
        stream_usage=settings.OPENAI_STREAM_USAGE,
        prompt_cache_key=settings.OPENAI_PROMPT_CACHE_KEY,
    )


async def open_store(settings: Settings) -> Store:
    """Open (create, migrate) the database; a newer schema is a one-line start-up error."""
    try:
        return await Store.open(settings.DATABASE_URL)
    except (SchemaTooNew, DatabaseUnavailable) as error:
        raise StartupError(str(error)) from None


def load_prompt(settings: Settings) -> SystemPrompt:
    """The system prompt template (SYSTEM_PROMPT_FILE or the shipped default)."""
    try:
        return SystemPrompt.from_file(settings.SYSTEM_PROMPT_FILE)
    except OSError as error:
        raise StartupError(f"SYSTEM_PROMPT_FILE: cannot read {settings.SYSTEM_PROMPT_FILE}: {error.strerror}") from None


@asynccontextmanager
async def open_app(settings: Settings) -> AsyncIterator[App]:
    """Open everything the bot needs; on exit, finish or cancel running turns, then close in reverse order."""
    prompt = load_prompt(settings)
    store = await open_store(settings)
    try:
        loaded = await store.restaurants.load_sample_if_empty(SAMPLE_CATALOG)
        if loaded:
            log.info("loaded %d sample restaurants into the empty catalog", loaded)
        http = aiohttp.ClientSession()
        model_client = make_model_client(settings)
        try:
            concierge = Concierge(
                api=make_model_api(settings, model_client),
                registry=Registry.from_package(tools),
                history=store.history,
                policies=store.policies,
                audit=store.audit,
                conversations=store.conversations,
                prompt=prompt,
                services={
                    aiohttp.ClientSession: http,
                    WeatherConfig: WeatherConfig(
                        forecast_url=settings.OPEN_METEO_URL, geocoding_url=settings.OPEN_METEO_GEOCODING_URL
                    ),
                    WeatherCache: WeatherCache(),
                    WebSearchConfig: WebSearchConfig(searxng_url=settings.SEARXNG_URL),
                    RestaurantStore: store.restaurants,
                    BookingStore: store.bookings,
                    BookingLimits: BookingLimits(
                        horizon_days=settings.BOOKING_HORIZON_DAYS,
                        max_active_per_member=settings.MAX_ACTIVE_BOOKINGS_PER_MEMBER,
                    ),
                },
                spending=Spending(
                    store.usage,
                    store.quotas,
                    defaults=QuotaDefaults(
                        per_member=settings.DAILY_TOKENS_PER_MEMBER, per_server=settings.DAILY_TOKENS_PER_SERVER
                    ),
                    model=settings.OPENAI_MODEL,
                ),
                limits=ConciergeLimits(
                    max_rounds=settings.MAX_TOOL_ROUNDS,
                    tool_timeout=settings.TOOL_TIMEOUT_SECONDS,
                    history_max_turns=settings.HISTORY_MAX_TURNS,
                    history_max_tokens=settings.HISTORY_MAX_TOKENS,
                    max_calls_per_round=settings.MAX_CALLS_PER_ROUND,
                    member_turns_per_minute=settings.MEMBER_TURNS_PER_MINUTE,
                ),
            )
            app = App(settings=settings, store=store, http=http, model_client=model_client, concierge=concierge)
            try:
                yield app
            finally:
                await concierge.shutdown()
        finally:
            await model_client.close()
            await http.close()
    finally:
        await store.close()


async def run_bot(settings: Settings) -> int:
    """Run the Discord bot until SIGTERM / Ctrl-C; returns the exit status."""
    import discord

    from bot.discord_adapter.client import ConciergeBot
    from bot.discord_adapter.runner import run_bot as run_discord

    async with open_app(settings) as app:
        bot = ConciergeBot(
            app.concierge,
            commands_hash_file=settings.data_dir / "commands.sha256",
            confirm_timeout=settings.CONFIRM_TIMEOUT_SECONDS,
            shard_count=settings.SHARD_COUNT or 1,
            shard_ids=settings.SHARD_IDS,
            sync_commands=settings.syncs_commands,
        )
        try:
            await run_discord(bot, settings.discord_token())
        except discord.LoginFailure:
            raise StartupError("DISCORD_TOKEN was refused by Discord: reset the bot token and update .env") from None
        except discord.PrivilegedIntentsRequired:
            raise StartupError(
                "Discord refused the Message Content intent: turn it on under Bot > Privileged Gateway Intents"
            ) from None
        except (aiohttp.ClientError, OSError) as error:
            raise StartupError(f"cannot reach Discord: {error}", exit_status=1) from None
    return 0


async def check_model_server(settings: Settings) -> int:
    """`python -m bot check`: print the self-test report; non-zero when the bot could not work."""
    from bot.model_check import check_model_server as run_check

    client = make_model_client(settings)
    try:
        report = await run_check(
            client,
            model=settings.OPENAI_MODEL,
            api=settings.OPENAI_API,
            features=feature_modes(settings),
            limit_field=first_output_limit_field(settings),
        )
    finally:
        await client.close()
    where = settings.OPENAI_BASE_URL or "OpenAI"
    print(f"Model server: {where} · model {settings.OPENAI_MODEL} · API {settings.OPENAI_API}")
    print(report.render())
    database_ok = await check_database(settings)
    return 0 if report.ok and database_ok else 1


async def check_database(settings: Settings) -> bool:
    """Print whether the database answers and how its schema compares with this Concierge's; False on a problem."""
    from bot.store.db import bundled_migrations, dialect_of, schema_version_at

    known = bundled_migrations(dialect_of(settings.DATABASE_URL))[-1].version
    try:
        found = await schema_version_at(settings.DATABASE_URL)
    except DatabaseUnavailable as error:
        print(f"Database: ✗ {error}")
        return False
    if found > known:
        print(f"Database: ✗ schema version {found} is newer than this Concierge knows ({known}): upgrade Concierge")
        return False
    state = "up to date" if found == known else f"will be migrated from {found} on start"
    print(f"Database: ✓ {dialect_of(settings.DATABASE_URL)} answers · schema version {known} ({state})")
    return True


async def copy_database(source_url: str, target_url: str) -> int:
    """`python -m bot copy-data SOURCE_URL TARGET_URL`: copy everything into an empty database, ids kept."""
    from bot.store.copy import TargetNotEmpty, copy_data
    from bot.store.db import open_database

    try:
        source = await open_database(source_url)
        try:
            target = await open_database(target_url)
            try:
                await copy_data(source, target, progress=lambda table, rows: print(f"{table}: {rows} rows"))
            finally:
                await target.close()
        finally:
            await source.close()
    except (TargetNotEmpty, SchemaTooNew, DatabaseUnavailable, ValueError) as error:
        print(f"concierge: {error}", file=sys.stderr)
        return 1
    print("copied; point DATABASE_URL at the target to use it")
    return 0


async def import_restaurant_catalog(settings: Settings, path: Path) -> int:
    """`python -m bot import-restaurants FILE`: load a catalog; a bad row names its line and nothing is imported."""
    from bot.restaurant_import import CatalogImportError, import_restaurants

    store = await open_store(settings)
    try:
        count = await import_restaurants(store.restaurants, path)
    except CatalogImportError as error:
        print(f"concierge: {error}", file=sys.stderr)
        return 1
    finally:
        await store.close()
    print(f"imported {count} restaurants from {path}")
    return 0
