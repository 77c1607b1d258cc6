"""The operator's MCP server file: the common `mcpServers` format plus Concierge's own keys, validated in one pass."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class McpConfigError(Exception):
    """The MCP server file cannot be used; the message is one line naming the file and the problem."""


class NeverFor(BaseModel):
    """`{"tool_names": [...]}`: the tools that run without the member's yes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool_names: tuple[str, ...]


class NeverApproval(BaseModel):
    """`{"never": {"tool_names": [...]}}`, the shape of OpenAI's own MCP tool."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    never: NeverFor


RequireApproval = Literal["always", "never"] | NeverApproval


class _Common(BaseModel):
    """The keys every entry may have: the other clients' `type`/`disabled` and Concierge's own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""  # filled from the entry's key, never from the file's values
    disabled: bool = False
    restricted: bool = True
    require_approval: RequireApproval = "always"
    trust_annotations: bool = False
    allowed_tools: tuple[str, ...] | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=3600)] | None = None

    def confirms(self, tool: str, *, read_only_hint: bool | None) -> bool:
        """Whether a call of `tool` asks the member by default: the file decides, annotations only if trusted."""
        if self.require_approval == "never":
            return False
        if isinstance(self.require_approval, NeverApproval) and tool in self.require_approval.never.tool_names:
            return False
        return not (self.trust_annotations and read_only_hint is True)


class StdioServer(_Common):
    """A server Concierge starts as a child process and talks to over stdin/stdout."""

    type: Literal["stdio"] = "stdio"
    command: str = Field(min_length=1)
    args: tuple[str, ...] = ()
    env: dict[str, str] = Field(default_factory=dict, repr=False)  # may hold secrets
    cwd: Path | None = None


class HttpServer(_Common):
    """A remote server reached over Streamable HTTP."""

    type: Literal["http", "streamable-http"] = "http"
    url: str
    headers: dict[str, str] = Field(default_factory=dict, repr=False)  # may hold secrets

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return value


ServerConfig = StdioServer | HttpServer

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


def load_mcp_config(path: Path, *, explicit: bool, environ: Mapping[str, str]) -> list[ServerConfig]:
    """The enabled servers in `path`, in file order; a missing file is no servers unless it was named explicitly.

    `${VAR}` in `env` and `headers` values is replaced from `environ` (the environment and `.env`).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            raise McpConfigError(f"MCP_CONFIG_FILE {path}: the file does not exist") from None
        return []
    except (OSError, UnicodeDecodeError) as error:
        raise McpConfigError(f"MCP_CONFIG_FILE {path}: cannot be read ({error})") from None
    try:
        return parse_mcp_config(text, environ=environ)
    except McpConfigError as error:
        raise McpConfigError(f"MCP_CONFIG_FILE {path}: {error}") from None


def parse_mcp_config(text: str, *, environ: Mapping[str, str]) -> list[ServerConfig]:
    """The enabled servers described by the JSON `text`; McpConfigError (one line) on the first problem."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise McpConfigError(f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    if not isinstance(document, dict) or not isinstance(document.get("mcpServers"), dict):
        raise McpConfigError('expected an object with "mcpServers": {"name": {...}, ...}')
    unknown = sorted(set(document) - {"mcpServers"})
    if unknown:
        raise McpConfigError(f"unknown key {unknown[0]!r} at the top level (only mcpServers is read)")
    servers: list[ServerConfig] = []
    prefixes: dict[str, str] = {}
    for name, entry in document["mcpServers"].items():
        server = _server(name, entry, environ)
        prefix = name.replace(".", "_")  # the server's part of its tool names ("." is not valid there)
        if prefix in prefixes:
            raise McpConfigError(
                f"server {name!r}: its tools would be named like those of server {prefixes[prefix]!r} "
                "('.' becomes '_' in tool names); rename one"
            )
        prefixes[prefix] = name
        if not server.disabled:
            servers.append(server)
    return servers


def _server(name: str, entry: object, environ: Mapping[str, str]) -> ServerConfig:
    where = f"server {name!r}"
    if not _NAME.match(name):
        raise McpConfigError(
            f"{where}: a server name is 1 to 40 letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    plain = name.replace(".", "_")
    if "__" in plain or plain.endswith("_"):
        # Tools are named server__tool: server "a" with a tool "b__t" would take the names (and the admins' stored
        # policies) of server "a__b"'s tools, "a" with "_t" those of server "a_".
        raise McpConfigError(
            f"{where}: a server name may not contain '__' nor end with '_' ('.' counts as '_'), "
            "since tools are named server__tool and one server could take another's tool names"
        )
    if not isinstance(entry, dict):
        raise McpConfigError(f"{where}: expected an object with command or url")
    if "name" in entry:
        raise McpConfigError(f"{where}: unknown key 'name' (the entry's key is its name)")
    kind = entry.get("type")
    if kind in ("sse",):
        raise McpConfigError(
            f"{where}: the SSE transport is deprecated and not supported; use the server's Streamable HTTP url "
            '(often ending in /mcp) with "type": "http"'
        )
    has_command, has_url = "command" in entry, "url" in entry
    if has_command == has_url:
        raise McpConfigError(f"{where}: give either command (a local server) or url (a remote one), not both or none")
    if kind is not None and kind not in ("stdio", "http", "streamable-http"):
        raise McpConfigError(f"{where}: type must be stdio, http or streamable-http, not {kind!r}")
    if has_command and kind not in (None, "stdio"):
        raise McpConfigError(f"{where}: type {kind!r} needs url, not command")
    if has_url and kind == "stdio":
        raise McpConfigError(f"{where}: type 'stdio' needs command, not url")
    model: type[StdioServer] | type[HttpServer] = StdioServer if has_command else HttpServer
    try:
        server = model.model_validate({**entry, "name": name})
    except ValidationError as error:
        raise McpConfigError(f"{where}: {_first_problem(error)}") from None
    if server.disabled:
        return server
    if isinstance(server, StdioServer):
        return server.model_copy(update={"env": _expanded(server.env, environ, f"{where} env")})
    return server.model_copy(update={"headers": _expanded(server.headers, environ, f"{where} headers")})


def _expanded(values: Mapping[str, str], environ: Mapping[str, str], where: str) -> dict[str, str]:
    def replace(match: re.Match[str]) -> str:
        variable = match.group(1)
        value = environ.get(variable)
        if value is None:
            raise McpConfigError(f"{where}: ${{{variable}}} is not set in the environment or .env")
        return value

    return {key: _VARIABLE.sub(replace, value) for key, value in values.items()}


def _first_problem(error: ValidationError) -> str:
    problem: Mapping[str, Any] = error.errors(include_url=False)[0]
    location = ".".join(str(part) for part in problem["loc"])
    if problem["loc"] and problem["loc"][0] == "require_approval":
        return 'require_approval must be "always", "never" or {"never": {"tool_names": ["..."]}}'
    if problem["type"] == "extra_forbidden":
        return f"unknown key {location!r}"
    message = str(problem["msg"]).removeprefix("Value error, ")
    return f"{location}: {message}" if location else message
