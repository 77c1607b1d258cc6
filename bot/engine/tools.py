"""Tools: typed functions declared with @tool, their derived strict schemas, and the registry."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import pkgutil
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import ModuleType
from typing import Any, Generic, Protocol, TypeVar, get_args, get_origin, get_type_hints

from openai import pydantic_function_tool
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from bot.engine.clock import utc_now as utc_now  # re-exported: the default clock of tools
from bot.engine.permissions import Allowed, Caller, Decision, Place, ToolPolicy, decide
from bot.engine.schemas import strict_compatible

ServicesT = TypeVar("ServicesT", covariant=True)


PermissionIn = Callable[[str], Awaitable[Decision]]
"""Whether the caller may use the running tool in another server (by guild id), decided now."""


async def _allowed_anywhere(guild_id: str) -> Decision:
    return Allowed()


def _audited_here(guild_id: str | None) -> None:
    return None


@dataclass(frozen=True)
class ToolContext(Generic[ServicesT]):
    """What a running tool may know and use: who asked, where, the services the app lends it, and the clock.

    `services` is the app's one object of services (a store, an HTTP session, a tool's config), read by attribute:
    a tool declares what it reads in its first parameter, `context: ToolContext[Needs]`, where `Needs` is a Protocol
    of the attributes it uses, and the app checks at start-up that it built them all (`missing_services`), as
    pydantic-ai's `RunContext[Deps]`. A tool that needs none takes `ToolContext[object]`.

    `permission_in` lets a tool that acts on another server's data (a booking made there, looked at from a DM)
    follow that server's policies; the executor provides a live decision, the default allows.
    `audit_under(guild_id)` says the call acts on data of that server (None: of direct messages): the call and its
    confirmation are then audited there, where that server's admins look, not where the member happened to type.
    """

    caller: Caller
    place: Place
    services: ServicesT
    now: Callable[[], datetime] = utc_now
    permission_in: PermissionIn = _allowed_anywhere
    audit_under: Callable[[str | None], None] = _audited_here


class ToolError(Exception):
    """A failure the model should read and act on: becomes {"error": message, **details}."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_result(self) -> dict[str, Any]:
        """The JSON object handed to the model."""
        return {"error": self.message, **self.details}


ToolResult = Mapping[str, Any] | BaseModel


@dataclass(frozen=True, slots=True)
class Preview:
    """What a call would do, for the member to confirm: the English sentence, and a `kind` with `params` from
    which a chat platform can word it in the member's language ("" when there is none)."""

    text: str
    kind: str = ""
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InvalidArguments:
    """Why a call's arguments were refused, in the shape the model corrects itself from: `problems` names each
    field (`field_problem`), `detail` says what was wrong with the whole."""

    problems: tuple[dict[str, Any], ...] = ()
    detail: str = ""

    def as_result(self, tool: str) -> dict[str, Any]:
        """The JSON object handed to the model."""
        result: dict[str, Any] = {"error": "invalid arguments", "tool": tool}
        if self.problems:
            result["problems"] = list(self.problems)
        if self.detail:
            result["detail"] = self.detail
        return result


def field_problem(
    location: Iterable[object], message: str, *, given: object = None, missing: bool = False
) -> dict[str, Any]:
    """One argument problem, named by its field path, without echoing huge inputs."""
    entry: dict[str, Any] = {"field": ".".join(str(part) for part in location) or "(arguments)", "problem": message}
    if not missing:
        text = json.dumps(given, ensure_ascii=False, default=str)
        entry["given"] = given if len(text) <= 80 else text[:77] + "..."
    return entry


@dataclass(frozen=True, kw_only=True)
class Tool:
    """One tool: its function, argument model, JSON schema and metadata.

    `source` names where the tool came from (None: built in; e.g. an MCP server's name), so tools that arrive and
    leave at run time are replaced together. `strict` is whether the API adapters send the schema in strict mode.
    `confirm_by_default` is whether a call waits for the member's yes when the server has not chosen (the
    @tool decorator makes it `side_effects`). `personal` says a result holds the calling member's own data (their
    bookings): it is replayed to the model only in that member's turns.
    """

    name: str
    description: str
    function: Callable[..., Awaitable[ToolResult] | ToolResult]
    arguments: type[BaseModel]
    parameters: dict[str, Any]
    confirm_by_default: bool
    side_effects: bool = False
    restricted: bool = False
    timeout: float | None = None
    preview: Callable[..., Awaitable[str | Preview]] | None = None
    source: str | None = None
    strict: bool = True
    personal: bool = False

    def validate(self, raw: Mapping[str, Any]) -> BaseModel | InvalidArguments:
        """The arguments as the tool takes them, or what is wrong with them (a tool described only by a JSON schema
        overrides this and reports its problems with `field_problem`)."""
        try:
            return self.arguments.model_validate(raw)
        except ValidationError as error:
            return InvalidArguments(
                tuple(
                    field_problem(
                        problem.get("loc", ()),
                        problem.get("msg", "invalid"),
                        given=problem.get("input"),
                        missing=problem.get("type") == "missing",
                    )
                    for problem in error.errors(include_url=False)
                )
            )
        except (ValueError, RecursionError):
            return InvalidArguments(detail="the arguments are too deeply nested")

    async def invoke(self, context: ToolContext[Any], arguments: BaseModel) -> dict[str, Any]:
        """Run the function with validated arguments and return its result as a JSON-ready object."""
        kwargs = _keywords(arguments)
        if inspect.iscoroutinefunction(self.function):
            result = await self.function(context, **kwargs)
        else:  # a plain function must not block the event loop
            result = await asyncio.to_thread(self.function, context, **kwargs)
        if isinstance(result, BaseModel):
            return result.model_dump(mode="json")
        return dict(result)

    def time_limit(self, default: float) -> float:
        """Seconds a call (and its preview) may take: the tool's own limit when it sets a shorter one than `default`
        (TOOL_TIMEOUT_SECONDS), else `default` (a tool whose limit is the operator's choice overrides this)."""
        return min(self.timeout, default) if self.timeout else default

    async def describe(self, context: ToolContext[Any], arguments: BaseModel) -> Preview:
        """What a call would do, in plain words, for the member to confirm; raises ToolError if it would fail."""
        if self.preview is not None:
            described = await self.preview(context, **_keywords(arguments))
            return described if isinstance(described, Preview) else Preview(described)
        values = arguments.model_dump(mode="json").items()
        shown = ", ".join(f"{name}: {json.dumps(value, ensure_ascii=False)}" for name, value in values)
        if not shown:
            return Preview(f"Run {self.name}.", "run", {"tool": self.name})
        return Preview(f"Run {self.name} with {shown}.", "run_with", {"tool": self.name, "arguments": shown})


def _keywords(arguments: BaseModel) -> dict[str, Any]:
    """A validated argument model as the keyword arguments of the tool's function (extra fields included, for a
    model that accepts any)."""
    return {
        **{name: getattr(arguments, name) for name in type(arguments).model_fields},
        **(arguments.model_extra or {}),
    }


def tool(
    *,
    name: str | None = None,
    side_effects: bool = False,
    restricted: bool = False,
    timeout: float | None = None,
    preview: Callable[..., Awaitable[str | Preview]] | None = None,
    confirm_by_default: bool | None = None,
    personal: bool = False,
) -> Callable[[Callable[..., Any]], Tool]:
    """Declare a tool: `fn(context: ToolContext, **typed_args)`; its docstring is the model's prompt.

    `preview(context, **typed_args) -> str | Preview` says in plain words what a call would do, for the member to
    confirm, and raises ToolError when the call would fail anyway (so nobody is asked to confirm the impossible).
    `confirm_by_default` (default: `side_effects`) is whether calls wait for the member's yes unless a server chose.
    `personal` marks results that hold the caller's own data: other members' turns see a placeholder instead.
    """

    def wrap(function: Callable[..., Any]) -> Tool:
        description = inspect.getdoc(function)
        if not description:
            raise TypeError(f"tool {function.__name__} needs a docstring: it is the model's description")
        return Tool(
            name=name or function.__name__,
            description=description,
            function=function,
            arguments=(model := _arguments_model(function)),
            parameters=strict_compatible(pydantic_function_tool(model)["function"]["parameters"]),
            side_effects=side_effects,
            confirm_by_default=side_effects if confirm_by_default is None else confirm_by_default,
            restricted=restricted,
            timeout=timeout,
            preview=preview,
            personal=personal,
        )

    return wrap


def _arguments_model(function: Callable[..., Any]) -> type[BaseModel]:
    """Build the pydantic model of a tool's arguments from its signature (the context is left out)."""
    signature = inspect.signature(function)
    hints = get_type_hints(function, include_extras=True)
    parameters = list(signature.parameters.values())
    if not parameters or not _is_context(hints.get(parameters[0].name)):
        raise TypeError(f"tool {function.__name__}: the first parameter must be `context: ToolContext[Needs]`")
    fields: dict[str, Any] = {}
    for parameter in parameters[1:]:
        if parameter.name not in hints:
            raise TypeError(f"tool {function.__name__}: parameter {parameter.name} needs a type hint")
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (hints[parameter.name], default)
    model_name = "".join(part.title() for part in function.__name__.split("_")) + "Arguments"
    return create_model(model_name, __config__=ConfigDict(extra="forbid"), **fields)


def _is_context(hint: object) -> bool:
    return hint is ToolContext or get_origin(hint) is ToolContext


def services_needed(function: Callable[..., object]) -> type | None:
    """The `Needs` of a function whose first parameter is `context: ToolContext[Needs]` (None when it says none)."""
    parameters = list(inspect.signature(function).parameters.values())
    if not parameters:
        return None
    hint = get_type_hints(function, include_extras=True).get(parameters[0].name)
    arguments = get_args(hint) if get_origin(hint) is ToolContext else ()
    needed = arguments[0] if arguments else None
    return needed if isinstance(needed, type) and needed is not object else None


def missing_services(tool: Tool, services: object) -> list[str]:
    """The services the tool (or its preview) reads that `services` lacks: the attributes of a `Needs` Protocol that
    are absent or None, or the class name when `Needs` is a class `services` is not an instance of."""
    missing: list[str] = []
    for function in (tool.function, tool.preview):
        needed = services_needed(function) if function is not None else None
        if needed is None:
            continue
        if not getattr(needed, "_is_protocol", False):
            names = [] if isinstance(services, needed) else [needed.__name__]
        else:
            names = [name for name in _protocol_members(needed) if getattr(services, name, None) is None]
        missing += [name for name in names if name not in missing]
    return missing


def _protocol_members(protocol: type) -> list[str]:
    """The public attributes, properties and methods a Protocol class (and the Protocols it extends) declares."""
    names: list[str] = []
    for base in protocol.__mro__:
        if base in (object, Generic, Protocol) or not getattr(base, "_is_protocol", False):
            continue
        declared = [*vars(base).get("__annotations__", {}), *vars(base)]
        names += [name for name in declared if not name.startswith("_") and name not in names]
    return names


class ToolNameTaken(ValueError):
    """A tool would share its name with another: names are how the model, admins and the audit log name tools."""

    def __init__(self, name: str, holder: str | None, newcomer: str | None) -> None:
        super().__init__(f"two tools are named {name!r} ({_source_label(holder)} and {_source_label(newcomer)})")
        self.name = name


def _source_label(source: str | None) -> str:
    return "built in" if source is None else f"from {source!r}"


class Registry:
    """The tools Concierge knows, by name: the built-in ones, and those of named sources that come and go."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        self._tools: dict[str, Tool] = {}
        for item in tools:
            if item.name in self._tools:
                raise ToolNameTaken(item.name, self._tools[item.name].source, item.source)
            self._tools[item.name] = item

    @classmethod
    def from_package(cls, package: ModuleType) -> Registry:
        """Collect every Tool defined at module level in the package's modules."""
        found: list[Tool] = []
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda module: module.name):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            found.extend(value for value in vars(module).values() if isinstance(value, Tool))
        return cls(found)

    def replace_source(self, source: str, tools: Iterable[Tool]) -> None:
        """Make `tools` the tools of `source` (each is marked as from it), dropping the ones it had before.

        All or nothing: a name another source (or a built-in tool) already holds refuses the lot with ToolNameTaken.
        """
        incoming = [replace(item, source=source) for item in tools]
        kept = {name: item for name, item in self._tools.items() if item.source != source}
        for item in incoming:
            holder = kept.get(item.name)
            if holder is not None:
                raise ToolNameTaken(item.name, holder.source, source)
            kept[item.name] = item
        self._tools = kept  # a new dict: a caller iterating the old one is not disturbed

    def remove_source(self, source: str) -> None:
        """Forget every tool of `source` (no error when it has none)."""
        self._tools = {name: item for name, item in self._tools.items() if item.source != source}

    def sources(self) -> list[str]:
        """The names of the sources that have tools here now, sorted (built-in tools have none)."""
        return sorted({item.source for item in self._tools.values() if item.source is not None})

    def get(self, name: str) -> Tool | None:
        """The tool with this name, or None."""
        return self._tools.get(name)

    def names(self) -> list[str]:
        """All tool names, sorted."""
        return sorted(self._tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter([self._tools[name] for name in self.names()])

    def __len__(self) -> int:
        return len(self._tools)

    def decide(self, name: str, *, caller: Caller, place: Place, policies: Mapping[str, ToolPolicy]) -> Decision:
        """Whether `caller` may use the named (known) tool in `place`."""
        known = self._tools[name]
        return decide(tool=name, restricted=known.restricted, caller=caller, place=place, policy=policies.get(name))

    def visible_to(self, *, caller: Caller, place: Place, policies: Mapping[str, ToolPolicy]) -> list[Tool]:
        """The tools this caller may use here, sorted by name (a stable prompt prefix)."""
        return [item for item in self if self.decide(item.name, caller=caller, place=place, policies=policies)]
