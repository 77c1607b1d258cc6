"""MCP servers as tool sources: the operator's file, one connection per server, and the tools they offer.

The interface the app wires into the registry (nothing else in the bot needs to know MCP):

    servers = load_mcp_config(settings.MCP_CONFIG_FILE, explicit=..., environ=...)   # McpConfigError → exit 2
    mcp = McpTools(servers, default_timeout=settings.TOOL_TIMEOUT_SECONDS,
                   start_timeout=settings.MCP_START_TIMEOUT_SECONDS, max_result_chars=settings.MCP_MAX_RESULT_CHARS)
    await mcp.start()          # all servers concurrently, at most start_timeout; failures are retried in the background
    mcp.tools()                # [McpToolSpec(name, server, tool, description, input_schema, strict, restricted,
                               #              confirm_by_default, timeout)] of the connected servers
    mcp.validate(name, args)   # [] or [{"field", "problem", "given"}, ...], like the built-in tools' problems
    await mcp.call(name, args) # the JSON object for the model; {"error": ..., "tool": ...} on any failure, never raises
                               # (UnknownMcpTool for a name that is not offered now)
    mcp.statuses()             # [ServerStatus(server, state, tools, error)] in file order, for `check` and /tools list
    mcp.on_change(callback)    # called when a server connects, drops, restarts or changes its tools
    await mcp.aclose()         # stops every server concurrently; no orphan processes

Names are `server__tool`, valid for OpenAI and stable; see convert.py for the names, the cleaning and when a schema
is sent strict. Only the operator's file adds a server; what a server says about itself (annotations, descriptions)
never grants it anything: `restricted` and `require_approval` come from the file.
"""

from bot.mcp.config import HttpServer, McpConfigError, ServerConfig, StdioServer, load_mcp_config, parse_mcp_config
from bot.mcp.connection import ServerStatus
from bot.mcp.manager import McpTools, McpToolSpec, UnknownMcpTool

__all__ = [
    "HttpServer",
    "McpConfigError",
    "McpToolSpec",
    "McpTools",
    "ServerConfig",
    "ServerStatus",
    "StdioServer",
    "UnknownMcpTool",
    "load_mcp_config",
    "parse_mcp_config",
]
