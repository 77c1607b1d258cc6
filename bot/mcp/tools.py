"""MCP tools as the registry's tool values: checked, previewed, timed and run through McpTools, and kept in step.

Each tool is an `McpTool` of the source `mcp:<server>`; the loop, the gate, the confirmation and the audit treat it as
any other tool. Its arguments are checked against the server's own schema (field problems like the built-in tools'),
an error result becomes a tool error (the model gets the project's error shape, the audit says `error`), and a call
past its timeout is cancelled and reported as a timeout.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.engine.tools import InvalidArguments, Preview, Registry, Tool, ToolContext, ToolError
from bot.mcp.manager import TIMED_OUT, McpTools, McpToolSpec, UnknownMcpTool

log = logging.getLogger(__name__)

SOURCE_PREFIX = "mcp:"
# A confirmation shows the tool's name and its arguments; the whole question (the member's name, the tool's name of
# at most 64 characters, the catalog's sentence around them) must fit in one Discord message of 2,000 characters.
PREVIEW_ARGUMENTS_LIMIT = 1_500
PREVIEW_VALUE_LIMIT = 300
_PLAIN_KEY = re.compile(r"^[\w.-]{1,64}$")


def source_of(server: str) -> str:
    """The registry source of an MCP server's tools."""
    return f"{SOURCE_PREFIX}{server}"


class McpArguments(BaseModel):
    """A call's arguments: the JSON object the model sent, already checked against the server's schema."""

    model_config = ConfigDict(frozen=True)

    values: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class McpTool(Tool):
    """One tool of an MCP server, as the registry holds it.

    Its timeout is the operator's `timeout_seconds` for the server (default TOOL_TIMEOUT_SECONDS) and holds as it is,
    above TOOL_TIMEOUT_SECONDS too: the operator chose it for that server, knowing what it does.
    """

    server: str
    mcp: McpTools

    def validate(self, raw: Mapping[str, Any]) -> BaseModel | InvalidArguments:
        """The arguments, or each way they break the server's input schema (never sent to the server then)."""
        try:
            problems = self.mcp.validate(self.name, dict(raw))
        except UnknownMcpTool:
            problems = []  # gone since it was offered: running it says so, as a tool error
        if problems:
            return InvalidArguments(tuple(problems))
        return McpArguments(values=dict(raw))

    def time_limit(self, default: float) -> float:
        """The server's own timeout, above or below `default`."""
        return self.timeout or default

    async def describe(self, context: ToolContext[Any], arguments: BaseModel) -> Preview:
        """ "Run <tool> with <arguments>." as the server would receive them, readable and cut to fit a confirmation;
        a tool whose server is gone raises ToolError (nobody is asked to confirm what cannot run)."""
        if self.mcp.spec(self.name) is None:
            raise ToolError("the tool is not available now", tool=self.name, detail=_UNAVAILABLE)
        values = self.mcp.as_sent(self.name, _values(arguments))
        shown = readable_arguments(values)
        if not shown:
            return Preview(f"Run {self.name}.", "run", {"tool": self.name})
        return Preview(f"Run {self.name} with {shown}.", "run_with", {"tool": self.name, "arguments": shown})


_UNAVAILABLE = "its MCP server is not connected or no longer offers it"


def _values(arguments: BaseModel) -> dict[str, Any]:
    if not isinstance(arguments, McpArguments):
        raise TypeError(f"an MCP tool takes McpArguments, not {type(arguments).__name__}")
    return arguments.values


def mcp_tool(spec: McpToolSpec, mcp: McpTools) -> McpTool:
    """The registry's tool for one MCP tool: name, description, schema, strictness, `restricted`, the confirmation
    default and the timeout all from the spec (that is, from the operator's file, never from the server's say-so)."""

    async def call(context: ToolContext[object], values: dict[str, Any]) -> dict[str, Any]:
        result = await mcp.call(spec.name, values)
        error = result.get("error")
        if error is None:
            return result
        if error == TIMED_OUT:
            raise TimeoutError  # the executor reports it as a timeout, with the same limit
        raise ToolError(str(error), **{key: value for key, value in result.items() if key != "error"})

    return McpTool(
        name=spec.name,
        description=spec.description,
        function=call,
        arguments=McpArguments,
        parameters=spec.input_schema,
        strict=spec.strict,
        restricted=spec.restricted,
        confirm_by_default=spec.confirm_by_default,
        timeout=spec.timeout,
        source=source_of(spec.server),
        server=spec.server,
        mcp=mcp,
    )


def readable_arguments(values: object) -> str:
    """`name: value, …` with values as JSON, invisible characters shown as escapes, long values and the whole cut."""
    if not isinstance(values, Mapping):
        return _cut(_visible(json.dumps(values, ensure_ascii=False, default=str)), PREVIEW_ARGUMENTS_LIMIT)
    parts = []
    for key, value in values.items():
        name = key if _PLAIN_KEY.match(str(key)) else json.dumps(str(key), ensure_ascii=False)
        shown = _visible(json.dumps(value, ensure_ascii=False, default=str))
        parts.append(f"{_cut(_visible(name), PREVIEW_VALUE_LIMIT)}: {_cut(shown, PREVIEW_VALUE_LIMIT)}")
    return _cut(", ".join(parts), PREVIEW_ARGUMENTS_LIMIT)


def _visible(text: str) -> str:
    """Invisible or layout-breaking characters (Unicode tags, zero-width, bidi controls, line separators) as
    `\\uXXXX`, so the member sees that something is there."""
    return "".join(
        f"\\u{ord(char):04x}" if unicodedata.category(char) in ("Cf", "Cc", "Co", "Cs", "Zl", "Zp") else char
        for char in text
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RegistrySync:
    """Keeps a registry's MCP tools in step with McpTools: each server's tools as the source `mcp:<server>`.

    Called on every change (a server connects, drops, restarts or changes its tools). A name another tool already
    holds is logged in one line and that one tool left out; it never stops the others or the bot.
    """

    def __init__(self, mcp: McpTools, registry: Registry) -> None:
        self._mcp = mcp
        self._registry = registry
        self._left_out: set[str] = set()

    def __call__(self) -> None:
        by_server: dict[str, list[Tool]] = {status.server: [] for status in self._mcp.statuses()}
        for spec in self._mcp.tools():
            by_server.setdefault(spec.server, []).append(mcp_tool(spec, self._mcp))
        for server, tools in by_server.items():
            source = source_of(server)
            holders = {tool.name: tool.source for tool in self._registry if tool.source != source}
            kept: list[Tool] = []
            for tool in tools:
                if tool.name not in holders:
                    self._left_out.discard(tool.name)
                    kept.append(tool)
                    continue
                if tool.name not in self._left_out:
                    holder = "a built-in tool" if holders[tool.name] is None else f"a tool of {holders[tool.name]}"
                    log.warning("MCP server %s: tool %s left out: %s has that name", server, tool.name, holder)
                    self._left_out.add(tool.name)
            self._registry.replace_source(source, kept)
