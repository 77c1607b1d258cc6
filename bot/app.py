"""Composition root: builds every resource from the settings, hands them out, and closes them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from importlib.resources import files
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import aiohttp
import openai

import tools
from bot.attachments import AttachmentLimits, FileReader, http_download
from bot.concierge import Concierge, ConciergeLimits
from bot.engine.api import ModelAPI
from bot.engine.api.chat import ChatAPI
from bot.engine.api.features import FeatureModes, LimitField
from bot.engine.api.responses import ResponsesAPI
from bot.engine.tools import Registry, missing_services
from bot.mcp import McpConfigError, McpTools, ServerConfig
from bot.mcp.tools import RegistrySync
from bot.mcp_wiring import make_mcp_tools, mcp_health_checks, mcp_servers, source_status, start_mcp
from bot.prompt import SystemPrompt
from bot.settings import Settings
from bot.spending import QuotaDefaults, Spending
from bot.store import SchemaTooNew, Store
from bot.store.db import DatabaseUnavailable
from bot.store.retention import Pruner, Retention
from bot.telemetry import (
    Health,
    HealthCheck,
    InstrumentedModelAPI,
    OpsServer,
    Telemetry,
    captures_content,
    setup_tracing,
)
from tools.bookings import BookingLimits
from tools.services import ToolServices
from tools.weather import WeatherCache, WeatherConfig
from tools.web_search import WebSearchConfig

if TYPE_CHECKING:
    import discord

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
    pruner: Pruner | None = None
    telemetry: Telemetry = field(default_factory=Telemetry)
    health: Health = field(default_factory=Health)
    mcp: McpTools | None = None


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
        return await Store.open(settings.DATABASE_URL, max_tool_chars=settings.MAX_STORED_TOOL_CHARS)
    except SchemaTooNew as error:
        raise StartupError(str(error)) from None
    except DatabaseUnavailable as error:
        raise StartupError(f"DATABASE_URL: {error}") from None


def make_pruner(settings: Settings, store: Store) -> Pruner:
    """The background pruner of history, audit and usage rows past their retention settings."""
    retention = Retention(
        history_days=settings.HISTORY_RETENTION_DAYS,
        audit_days=settings.AUDIT_RETENTION_DAYS,
        usage_days=settings.USAGE_RETENTION_DAYS,
    )
    return Pruner(store.db, retention)


def load_prompt(settings: Settings) -> SystemPrompt:
    """The system prompt template (SYSTEM_PROMPT_FILE or the shipped default)."""
    try:
        return SystemPrompt.from_file(settings.SYSTEM_PROMPT_FILE)
    except OSError as error:
        raise StartupError(f"SYSTEM_PROMPT_FILE: cannot read {settings.SYSTEM_PROMPT_FILE}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise StartupError(
            f"SYSTEM_PROMPT_FILE: {settings.SYSTEM_PROMPT_FILE} is not UTF-8 text (byte {error.start}): save it as UTF-8"
        ) from None


def make_tool_services(settings: Settings, store: Store, http: aiohttp.ClientSession) -> ToolServices:
    """What the tools may use, from the settings and the open resources."""
    return ToolServices(
        http=http,
        restaurants=store.restaurants,
        bookings=store.bookings,
        booking_limits=BookingLimits(
            horizon_days=settings.BOOKING_HORIZON_DAYS, max_active_per_member=settings.MAX_ACTIVE_BOOKINGS_PER_MEMBER
        ),
        weather=WeatherConfig(forecast_url=settings.OPEN_METEO_URL, geocoding_url=settings.OPEN_METEO_GEOCODING_URL),
        weather_cache=WeatherCache(),
        web_search=WebSearchConfig(searxng_url=settings.SEARXNG_URL),
    )


def tool_registry(services: object, package: ModuleType = tools) -> Registry:
    """Every tool of the package; a tool that needs a service `services` lacks stops the start (not a member's turn)."""
    registry = Registry.from_package(package)
    unmet = [
        f"{item.name} needs {', '.join(missing)}" for item in registry if (missing := missing_services(item, services))
    ]
    if unmet:
        raise StartupError("tools need services the app did not build: " + "; ".join(unmet), exit_status=1)
    return registry


@asynccontextmanager
async def open_app(settings: Settings, *, tool_package: ModuleType = tools) -> AsyncIterator[App]:
    """Open everything the bot needs; on exit, finish or cancel running turns, then close in reverse order."""
    prompt = load_prompt(settings)
    configured = load_mcp_servers(settings)
    tracing = setup_tracing(settings.OTEL)
    telemetry = Telemetry(tracer=tracing.tracer, capture_content=captures_content(settings.OTEL))
    async with AsyncExitStack() as resources:
        resources.callback(tracing.shutdown)  # closed last: the last turn's spans are exported before the exit
        store = await open_store(settings)
        resources.push_async_callback(store.close)
        pruner = make_pruner(settings, store)
        pruning = asyncio.create_task(pruner.run(), name="concierge-pruner")
        resources.push_async_callback(_stop, pruning)
        loaded = await store.restaurants.load_sample_if_empty(SAMPLE_CATALOG)
        if loaded:
            log.info("loaded %d sample restaurants into the empty catalog", loaded)
        http = aiohttp.ClientSession()
        resources.push_async_callback(http.close)
        model_client = make_model_client(settings)
        resources.push_async_callback(model_client.close)
        mcp = make_mcp_tools(settings, configured)
        resources.push_async_callback(mcp.aclose)  # after the running turns (concierge.shutdown, below) are over
        concierge = make_concierge(
            settings, store, http, model_client, prompt, telemetry=telemetry, tool_package=tool_package, mcp=mcp
        )
        resources.push_async_callback(concierge.shutdown)
        await start_mcp(mcp)
        yield App(
            settings=settings,
            store=store,
            http=http,
            model_client=model_client,
            concierge=concierge,
            pruner=pruner,
            telemetry=telemetry,
            health=Health([database_check(store), *mcp_health_checks(mcp)]),
            mcp=mcp,
        )


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel a background task and wait until it has stopped."""
    task.cancel()
    await asyncio.wait([task])


def make_concierge(
    settings: Settings,
    store: Store,
    http: aiohttp.ClientSession,
    model_client: openai.AsyncOpenAI,
    prompt: SystemPrompt,
    *,
    telemetry: Telemetry,
    tool_package: ModuleType = tools,
    mcp: McpTools | None = None,
) -> Concierge:
    """The facade, wired to the store, the model and the tools' services (and the MCP servers' tools, kept in step
    with them from now on)."""
    services = make_tool_services(settings, store, http)
    registry = tool_registry(services, tool_package)
    if mcp is not None:
        keep_in_step = RegistrySync(mcp, registry)
        mcp.on_change(keep_in_step)
        keep_in_step()
    return Concierge(
        api=instrument_model_api(settings, make_model_api(settings, model_client), telemetry),
        registry=registry,
        history=store.history,
        policies=store.policies,
        audit=store.audit,
        conversations=store.conversations,
        prompt=prompt,
        services=services,
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
        telemetry=telemetry,
        sources=None if mcp is None else (lambda: [source_status(status) for status in mcp.statuses()]),
        files=file_reader(settings, http),
    )


def file_reader(settings: Settings, http: aiohttp.ClientSession) -> FileReader:
    """How members' files are read (issue 24): through the bot's HTTP session, within the settings' limits."""
    return FileReader(
        download=http_download(http),
        limits=AttachmentLimits(
            max_bytes=settings.MAX_ATTACHMENT_BYTES,
            max_text_chars=settings.MAX_ATTACHMENT_TEXT_CHARS,
            max_images=settings.MAX_IMAGES_PER_MESSAGE,
            vision=settings.VISION,
            download_timeout=settings.ATTACHMENT_DOWNLOAD_TIMEOUT_SECONDS,
            max_pdf_pages=settings.MAX_PDF_PAGES,
            pdf_seconds=settings.PDF_EXTRACT_SECONDS,
        ),
    )


def load_mcp_servers(settings: Settings) -> list[ServerConfig]:
    """The MCP servers of MCP_CONFIG_FILE (none without the default file); a bad file stops start-up in one line."""
    try:
        return mcp_servers(settings)
    except McpConfigError as error:
        raise StartupError(str(error)) from None


def instrument_model_api(settings: Settings, api: ModelAPI, telemetry: Telemetry) -> ModelAPI:
    """The model API inside its `chat {model}` span and GenAI metrics."""
    host = urlsplit(settings.OPENAI_BASE_URL).hostname if settings.OPENAI_BASE_URL else "api.openai.com"
    return InstrumentedModelAPI(
        api,
        model=settings.OPENAI_MODEL,
        metrics=telemetry.metrics,
        tracer=telemetry.tracer,
        capture_content=telemetry.capture_content,
        server_address=host,
    )


def database_check(store: Store) -> HealthCheck:
    """Up when the database answers a trivial query."""

    async def answers() -> bool:
        await store.db.fetchone("SELECT 1")
        return True

    return HealthCheck("database", answers)


@asynccontextmanager
async def serving_operations(app: App) -> AsyncIterator[OpsServer | None]:
    """Serve /healthz and /metrics while the block runs, when METRICS_PORT is set (else nothing)."""
    if app.settings.METRICS_PORT == 0:
        yield None
        return
    server = OpsServer(
        app.health, app.telemetry.metrics, host=app.settings.METRICS_HOST, port=app.settings.METRICS_PORT
    )
    try:
        await server.start()
    except OSError as error:
        raise StartupError(
            f"METRICS_PORT: cannot serve on {app.settings.METRICS_HOST}:{app.settings.METRICS_PORT}: {error.strerror}"
        ) from None
    try:
        yield server
    finally:
        await server.close()


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
            progress_grace=settings.PROGRESS_GRACE_SECONDS,
        )
        app.health.add(HealthCheck("discord", discord_connected(bot)))
        try:
            async with serving_operations(app):
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


def discord_connected(bot: discord.Client) -> Callable[[], Awaitable[bool]]:
    """Up while the client is ready and every gateway socket is open: discord.py clears the ready flag only when the
    client closes, so a shard that dropped and is reconnecting still reads as ready."""

    async def connected() -> bool:
        if not bot.is_ready() or bot.is_closed():
            return False
        shards: dict[int, discord.ShardInfo] | None = getattr(bot, "shards", None)  # AutoShardedClient only
        if shards is not None:
            return bool(shards) and all(not shard.is_closed() for shard in shards.values())
        return bot.ws is not None and bot.ws.open

    return connected
