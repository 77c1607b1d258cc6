"""The MCP servers wired into the app: read from MCP_CONFIG_FILE, started, reported (/tools list, /healthz, check)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.mcp import McpConfigError, McpTools, ServerConfig, ServerStatus, load_mcp_config
from bot.mcp.tools import source_of
from bot.model_check import CheckLine, CheckSection
from bot.outcomes import SourceStatus
from bot.settings import Settings, environment_for_expansion
from bot.telemetry import HealthCheck

log = logging.getLogger(__name__)


def mcp_servers(settings: Settings) -> list[ServerConfig]:
    """The enabled servers of MCP_CONFIG_FILE (none without the default file); McpConfigError names the problem."""
    return load_mcp_config(
        settings.MCP_CONFIG_FILE, explicit=settings.mcp_config_explicit, environ=environment_for_expansion()
    )


def make_mcp_tools(settings: Settings, servers: list[ServerConfig]) -> McpTools:
    """The MCP tool source for `servers`, with the settings' limits (not started yet)."""
    return McpTools(
        servers,
        default_timeout=settings.TOOL_TIMEOUT_SECONDS,
        start_timeout=settings.MCP_START_TIMEOUT_SECONDS,
        max_result_chars=settings.MCP_MAX_RESULT_CHARS,
    )


async def start_mcp(mcp: McpTools) -> None:
    """Connect the MCP servers before the bot goes online (at most MCP_START_TIMEOUT_SECONDS); say how it went."""
    await mcp.start()
    statuses = mcp.statuses()
    if statuses:
        connected = [status for status in statuses if status.state == "connected"]
        tools = sum(status.tools for status in connected)
        log.info("MCP servers: %d of %d connected, %d tools", len(connected), len(statuses), tools)


def source_status(status: ServerStatus) -> SourceStatus:
    """An MCP server's status as the facade hands it out."""
    return SourceStatus(
        source=source_of(status.server), name=status.server, state=status.state, tools=status.tools, error=status.error
    )


def mcp_health_checks(mcp: McpTools) -> list[HealthCheck]:
    """One /healthz check per configured MCP server (`mcp:<server>`): up while it is connected."""

    def connected(server: str) -> Callable[[], Awaitable[bool]]:
        async def probe() -> bool:
            return any(status.server == server and status.state == "connected" for status in mcp.statuses())

        return probe

    return [HealthCheck(source_of(status.server), connected(status.server)) for status in mcp.statuses()]


async def check_mcp_servers(settings: Settings) -> CheckSection:
    """`concierge check`'s MCP section: each configured server started as the bot would, with its tools or its error;
    any one that fails fails the check."""
    title = "MCP servers"
    path = settings.MCP_CONFIG_FILE
    try:
        servers = mcp_servers(settings)
    except McpConfigError as error:
        return CheckSection.failed(title, "MCP_CONFIG_FILE", str(error).removeprefix("MCP_CONFIG_FILE "))
    if not servers:
        detail = f"{path} lists no enabled server" if path.is_file() else f"no file at {path}: no MCP servers"
        return CheckSection(title, (CheckLine("MCP_CONFIG_FILE", True, detail),))
    mcp = make_mcp_tools(settings, servers)
    try:
        await mcp.start()
        statuses = mcp.statuses()
    finally:
        await mcp.aclose()
    lines = tuple(
        CheckLine(status.server, True, f"connected, {status.tools} tool{'' if status.tools == 1 else 's'}")
        if status.state == "connected"
        else CheckLine(status.server, False, status.error or status.state)
        for status in statuses
    )
    return CheckSection(f"{title}: {path}", lines)
