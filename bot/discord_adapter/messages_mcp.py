"""The fixed texts about MCP servers (/tools list), in English and Simplified Chinese; part of messages.CATALOG."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.discord_adapter.messages import Language

MCP_CATALOG: dict[str, dict[Language, str]] = {
    "mcp.server": {"en": "**MCP server `{server}`**", "zh-CN": "**MCP 服务器 `{server}`**"},
    "mcp.connected": {"en": "connected, {count} tools", "zh-CN": "已连接，{count} 个工具"},
    "mcp.connected.one": {"en": "connected, 1 tool", "zh-CN": "已连接，1 个工具"},
    "mcp.connecting": {"en": "connecting…", "zh-CN": "正在连接……"},
    "mcp.failed": {"en": "unavailable, retrying", "zh-CN": "不可用，正在重试"},
    "mcp.failed_because": {"en": "unavailable, retrying: {error}", "zh-CN": "不可用，正在重试：{error}"},
    "mcp.stopped": {"en": "stopped", "zh-CN": "已停止"},
}
