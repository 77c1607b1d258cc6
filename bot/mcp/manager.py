"""McpTools: every configured server's connection, its tools as Concierge tool values, and calls to them."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TextIO

from jsonschema.protocols import Validator
from mcp import types

from bot.mcp.config import ServerConfig
from bot.mcp.connection import MAX_BACKOFF_SECONDS, ServerConnection, ServerStatus, ServerUnavailable
from bot.mcp.convert import (
    UnusableTool,
    assign_names,
    clean_schema,
    convert_schema,
    description_for,
    drop_nulls_for_left_out,
    field_problems,
    validator_class,
)
from bot.mcp.results import DEFAULT_MAX_RESULT_CHARS, result_for_model

log = logging.getLogger(__name__)

DEFAULT_START_TIMEOUT_SECONDS = 20.0
TIMED_OUT = "the tool timed out"  # the error of a call cancelled at its timeout
Problem = dict[str, Any]


@dataclass(frozen=True, slots=True)
class McpToolSpec:
    """One MCP tool as Concierge offers it: everything the registry, the gate and the confirmation need.

    `restricted` comes from the operator's file; `confirm_by_default` from its `require_approval` (and the server's
    readOnlyHint only when the file says `trust_annotations`); nothing the server says about itself grants anything.
    """

    name: str
    server: str
    tool: str  # the server's own name for it
    description: str
    input_schema: dict[str, Any]
    strict: bool
    restricted: bool
    confirm_by_default: bool
    timeout: float


@dataclass(frozen=True, slots=True)
class _Entry:
    spec: McpToolSpec
    validator: Validator  # of the server's own schema, in the dialect it names
    optional_keys: Any


class UnknownMcpTool(LookupError):
    """No MCP tool has this name (now): the server may have dropped it or gone away."""


class McpTools:
    """The MCP tool source: start/aclose the servers, list their tools, validate and run calls; see bot.mcp."""

    def __init__(
        self,
        servers: Sequence[ServerConfig],
        *,
        default_timeout: float,
        start_timeout: float = DEFAULT_START_TIMEOUT_SECONDS,
        max_result_chars: int = DEFAULT_MAX_RESULT_CHARS,
        max_backoff: float = MAX_BACKOFF_SECONDS,
        errlog: TextIO | None = None,
    ) -> None:
        self._default_timeout = default_timeout
        self._start_timeout = start_timeout
        self._max_result_chars = max_result_chars
        self._listeners: list[Callable[[], None]] = []
        self._entries: dict[str, _Entry] = {}
        self._converted: dict[tuple[str, str], tuple[str, _Entry | None]] = {}
        self._connections = [
            ServerConnection(
                server,
                connect_timeout=start_timeout,
                changed=self._connection_changed,
                max_backoff=max_backoff,
                errlog=errlog if errlog is not None else sys.stderr,
            )
            for server in servers
        ]
        self._by_name = {connection.name: connection for connection in self._connections}

    async def start(self) -> None:
        """Connect to every server concurrently; return once each is connected or has failed, at most start_timeout.

        A server that is not ready in time stays out and keeps being retried in the background.
        """
        for connection in self._connections:
            connection.start()
        waits = [asyncio.ensure_future(connection.first_attempt.wait()) for connection in self._connections]
        if waits:
            _, pending = await asyncio.wait(waits, timeout=self._start_timeout)
            for wait in pending:
                wait.cancel()
        for connection in self._connections:
            connection.not_ready_by(self._start_timeout)

    async def aclose(self) -> None:
        """Stop every server at once (each stdio server's own shutdown takes up to seconds): no orphan processes."""
        await asyncio.gather(*(connection.aclose() for connection in self._connections))

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` whenever the set of tools or a server's status changes."""
        self._listeners.append(callback)

    def statuses(self) -> list[ServerStatus]:
        """Each configured server's status, in file order; a connected server counts the tools it offers (not those
        left out by `allowed_tools` or for an unusable schema)."""
        offered = Counter(entry.spec.server for entry in self._entries.values())
        return [
            replace(status, tools=offered[status.server]) if status.state == "connected" else status
            for status in (connection.status for connection in self._connections)
        ]

    def tools(self) -> list[McpToolSpec]:
        """The tools of the connected servers, by name."""
        return [entry.spec for _, entry in sorted(self._entries.items())]

    def spec(self, name: str) -> McpToolSpec | None:
        """The tool called `name`, if a connected server offers it now."""
        entry = self._entries.get(name)
        return None if entry is None else entry.spec

    def validate(self, name: str, arguments: Any) -> list[Problem]:
        """The problems with `arguments` for tool `name` ([] when valid), shaped like the built-in tools' problems."""
        entry = self._entry(name)
        return field_problems(entry.validator, drop_nulls_for_left_out(arguments, entry.optional_keys))

    def as_sent(self, name: str, arguments: Any) -> Any:
        """`arguments` as the server would receive them (the nulls a strict schema made the model send for left-out
        properties dropped); unchanged for a tool that is not offered now."""
        entry = self._entries.get(name)
        return arguments if entry is None else drop_nulls_for_left_out(arguments, entry.optional_keys)

    async def call(self, name: str, arguments: Any) -> dict[str, Any]:
        """Run tool `name`; the JSON object for the model, in the project's error shape when anything goes wrong."""
        entry = self._entries.get(name)
        if entry is None:
            return {
                "error": "the tool is not available now",
                "tool": name,
                "detail": "its MCP server is not connected or no longer offers it",
            }
        spec = entry.spec
        arguments = drop_nulls_for_left_out(arguments, entry.optional_keys)
        problems = field_problems(entry.validator, arguments)
        if problems:
            return {"error": "invalid arguments", "tool": name, "problems": problems}
        connection = self._by_name[spec.server]
        try:
            async with asyncio.timeout(spec.timeout):
                result = await connection.call(spec.tool, arguments)
        except TimeoutError:
            return {"error": TIMED_OUT, "tool": name, "timeout_seconds": spec.timeout}
        except ServerUnavailable as error:
            return {"error": "the tool's server is unavailable", "tool": name, "detail": str(error)}
        except Exception as error:  # the SDK's MCPError, a lost connection, a result that breaks its output schema
            log.warning("MCP tool %s on %s failed: %s", spec.tool, spec.server, " ".join(str(error).split())[:300])
            return {
                "error": "the tool failed",
                "tool": name,
                "detail": " ".join(str(error).split())[:300] or type(error).__name__,
            }
        return result_for_model(name, result, max_chars=self._max_result_chars)

    def _entry(self, name: str) -> _Entry:
        entry = self._entries.get(name)
        if entry is None:
            raise UnknownMcpTool(name)
        return entry

    def _connection_changed(self, connection: ServerConnection) -> None:
        self._rebuild()
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("an MCP change listener failed")

    def _rebuild(self) -> None:
        """Recompute every tool value from the connected servers' listings (names depend on all of them)."""
        offered: list[tuple[ServerConnection, types.Tool]] = []
        for connection in self._connections:
            if connection.status.state != "connected":
                continue
            allowed = connection.config.allowed_tools
            offered.extend((connection, tool) for tool in connection.tools if allowed is None or tool.name in allowed)
        names = assign_names([(connection.name, tool.name) for connection, tool in offered])
        entries: dict[str, _Entry] = {}
        for connection, tool in offered:
            name = names[(connection.name, tool.name)]
            key = json.dumps([name, connection.name, tool.model_dump(mode="json")], sort_keys=True, default=str)
            cached = self._converted.get((connection.name, tool.name))
            if cached is None or cached[0] != key:
                cached = key, self._convert(connection, tool, name)
                self._converted[(connection.name, tool.name)] = cached
            if cached[1] is not None:
                entries[name] = cached[1]
        self._entries = entries

    def _convert(self, connection: ServerConnection, tool: types.Tool, name: str) -> _Entry | None:
        config = connection.config
        try:
            schema = clean_schema(tool.input_schema)
        except UnusableTool as error:
            log.warning("MCP server %s: tool %r left out: %s", connection.name, tool.name[:80], error)
            return None
        converted = convert_schema(schema)
        read_only = tool.annotations.read_only_hint if tool.annotations is not None else None
        spec = McpToolSpec(
            name=name,
            server=connection.name,
            tool=tool.name,
            description=description_for(connection.name, tool.name, tool.description, tool.title),
            input_schema=converted.offered,
            strict=converted.strict,
            restricted=config.restricted,
            confirm_by_default=config.confirms(tool.name, read_only_hint=read_only),
            timeout=config.timeout_seconds or self._default_timeout,
        )
        original = tool.input_schema  # validation follows what the server wrote, not what the model was shown
        validator = validator_class(original)(original)
        return _Entry(spec=spec, validator=validator, optional_keys=converted.optional_keys)
