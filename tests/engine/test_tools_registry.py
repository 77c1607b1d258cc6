"""The @tool decorator's derived schemas and the registry."""

from __future__ import annotations

import dataclasses
import types
from dataclasses import dataclass
from typing import Annotated, Literal, Protocol

import pytest
from pydantic import Field

from bot.engine.permissions import Caller, Place, ToolPolicy
from bot.engine.tools import InvalidArguments, Registry, Tool, ToolContext, ToolNameTaken, missing_services, tool


@tool(restricted=True, side_effects=True, timeout=3)
async def reserve(
    context: ToolContext,
    place_id: Annotated[str, Field(description="Which place")],
    size: Annotated[int, Field(ge=1, le=20, description="How many")],
    mood: Annotated[Literal["calm", "loud"] | None, Field(description="Atmosphere")] = None,
) -> dict[str, str]:
    """Reserve something."""
    return {"ok": place_id}


def test_schema_is_strict_every_property_required_and_optional_ones_nullable() -> None:
    schema = reserve.parameters
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["place_id", "size", "mood"]
    assert schema["properties"]["size"]["minimum"] == 1 and schema["properties"]["size"]["maximum"] == 20
    assert {"type": "null"} in schema["properties"]["mood"]["anyOf"]
    assert {"enum": ["calm", "loud"], "type": "string"} in schema["properties"]["mood"]["anyOf"]
    assert "context" not in schema["properties"]


def test_metadata_comes_from_the_decorator_and_docstring() -> None:
    assert (reserve.name, reserve.description) == ("reserve", "Reserve something.")
    assert reserve.restricted and reserve.side_effects and reserve.timeout == 3


def test_a_tool_without_docstring_or_context_is_refused_at_declaration() -> None:
    async def no_doc(context: ToolContext) -> dict[str, str]:
        return {}

    async def no_context(city: str) -> dict[str, str]:
        """Doc."""
        return {}

    with pytest.raises(TypeError, match="docstring"):
        tool()(no_doc)
    with pytest.raises(TypeError, match="first parameter"):
        tool()(no_context)


def test_registry_discovers_tools_from_a_package_module() -> None:
    import tools

    registry = Registry.from_package(tools)
    assert all(isinstance(item, Tool) for item in registry)
    assert registry.names() == sorted(registry.names())


def test_visible_tools_follow_the_permission_decision() -> None:
    registry = Registry([reserve])
    member = Caller(user_id="1", name="m", role_ids=frozenset({"r"}))
    guild = Place(channel_id="c", guild_id="g")
    assert registry.visible_to(caller=member, place=guild, policies={}) == []
    allowed = {"reserve": ToolPolicy(tool="reserve", allowed_role_ids=frozenset({"r"}))}
    assert registry.visible_to(caller=member, place=guild, policies=allowed) == [reserve]


def test_two_tools_with_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="reserve"):
        Registry([reserve, reserve])


def test_module_level_discovery_ignores_private_modules() -> None:
    package = types.ModuleType("fake")
    package.__path__ = []  # type: ignore[attr-defined]
    assert len(Registry.from_package(package)) == 0


def test_schemas_carry_no_default_keyword_which_strict_mode_rejects() -> None:
    @tool()
    async def convert(context: ToolContext, unit: Literal["c", "f"] = "c", digits: int = 1) -> dict[str, str]:
        """Convert."""
        return {}

    assert "default" not in str(convert.parameters)
    assert convert.parameters["required"] == ["unit", "digits"]


def test_keywords_strict_mode_refuses_move_into_the_description_and_are_still_enforced() -> None:
    @tool()
    async def greet(
        context: ToolContext,
        name: Annotated[str, Field(description="Who to greet", min_length=1, max_length=5)],
        default: Annotated[int, Field(description="A property that happens to be called default", ge=0)] = 0,
    ) -> dict[str, str]:
        """Greet someone."""
        return {}

    name_schema = greet.parameters["properties"]["name"]
    assert "minLength" not in name_schema and "maxLength" not in name_schema
    assert name_schema["description"] == "Who to greet (maxLength 5, minLength 1)"
    assert list(greet.parameters["properties"]) == ["name", "default"]  # a property name is not a keyword
    assert greet.parameters["properties"]["default"]["minimum"] == 0
    with pytest.raises(ValueError):
        greet.arguments.model_validate({"name": "much too long", "default": 1})


def test_shipped_tools_use_only_keywords_strict_mode_accepts() -> None:
    import tools
    from bot.engine.schemas import STRICT_UNSUPPORTED_KEYWORDS

    def keywords(schema: object, *, names: bool = False) -> set[str]:
        if isinstance(schema, list):
            return set().union(*(keywords(value) for value in schema))
        if not isinstance(schema, dict):
            return set()
        found = set() if names else set(schema)
        for key, value in schema.items():
            found |= keywords(value, names=key in ("properties", "$defs"))
        return found

    for shipped in Registry.from_package(tools):
        assert not keywords(shipped.parameters) & STRICT_UNSUPPORTED_KEYWORDS, shipped.name


class _Mailer:
    async def send(self, to: str) -> None:
        return None


class _MailServices(Protocol):
    @property
    def mailer(self) -> _Mailer: ...

    @property
    def sender(self) -> str: ...


@tool()
async def _send_mail(context: ToolContext[_MailServices], to: str) -> dict[str, str]:
    """Send a note."""
    await context.services.mailer.send(to)
    return {"sent_to": to}


@dataclass(frozen=True)
class _Services:
    mailer: _Mailer | None = None
    sender: str | None = None


def test_a_tool_reads_the_services_its_context_declares_and_lists_those_that_are_missing() -> None:
    assert missing_services(_send_mail, _Services(mailer=_Mailer(), sender="bot@example.org")) == []
    assert missing_services(_send_mail, _Services(sender="bot@example.org")) == ["mailer"]
    assert missing_services(_send_mail, object()) == ["mailer", "sender"]


def test_a_tool_that_declares_no_services_needs_none() -> None:
    @tool()
    def plain(context: ToolContext[object]) -> dict[str, int]:
        """Nothing needed."""
        return {}

    @tool()
    def bare(context: ToolContext) -> dict[str, int]:
        """Nothing declared."""
        return {}

    assert missing_services(plain, None) == [] and missing_services(bare, None) == []


@pytest.mark.asyncio
async def test_a_running_tool_reads_its_services_by_attribute() -> None:
    sent: list[str] = []

    class Recording(_Mailer):
        async def send(self, to: str) -> None:
            sent.append(to)

    context = ToolContext(
        caller=Caller(user_id="1", name="ann"),
        place=Place(channel_id="c"),
        services=_Services(mailer=Recording(), sender="x"),
    )
    result = await _send_mail.invoke(context, _send_mail.arguments.model_validate({"to": "ann@example.org"}))
    assert result == {"sent_to": "ann@example.org"} and sent == ["ann@example.org"]


@tool()
async def lookup(context: ToolContext, term: str) -> dict[str, str]:
    """Look something up."""
    return {"found": term}


def from_source(base: Tool, name: str) -> Tool:
    return dataclasses.replace(base, name=name)


def test_a_source_brings_its_tools_and_takes_them_away_again() -> None:
    registry = Registry([reserve])
    registry.replace_source("wiki", [from_source(lookup, "wiki_search"), from_source(lookup, "wiki_page")])
    assert registry.names() == ["reserve", "wiki_page", "wiki_search"]
    assert registry.sources() == ["wiki"]
    assert registry.get("wiki_page") is not None and registry.get("wiki_page").source == "wiki"  # type: ignore[union-attr]
    registry.replace_source("wiki", [from_source(lookup, "wiki_search")])
    assert registry.names() == ["reserve", "wiki_search"]
    registry.remove_source("wiki")
    assert registry.names() == ["reserve"] and registry.sources() == []


def test_a_source_cannot_take_a_name_another_tool_holds_and_nothing_of_it_is_added() -> None:
    registry = Registry([reserve])
    registry.replace_source("clock", [from_source(lookup, "clock_now")])
    with pytest.raises(ToolNameTaken, match=r"'reserve'.*built in.*'wiki'"):
        registry.replace_source("wiki", [from_source(lookup, "wiki_search"), from_source(lookup, "reserve")])
    with pytest.raises(ToolNameTaken, match="clock_now"):
        registry.replace_source("wiki", [from_source(lookup, "clock_now")])
    assert registry.names() == ["clock_now", "reserve"] and registry.sources() == ["clock"]


def test_tools_confirm_by_default_exactly_when_they_have_side_effects_unless_declared() -> None:
    @tool(side_effects=True, confirm_by_default=False)
    async def note(context: ToolContext, text: str) -> dict[str, str]:
        """Write a note nobody needs to approve."""
        return {}

    assert reserve.confirm_by_default and not lookup.confirm_by_default and not note.confirm_by_default
    assert reserve.strict and reserve.source is None


def test_invalid_arguments_name_each_field_and_what_was_given() -> None:
    problems = reserve.validate({"place_id": "p", "size": 99, "mood": "grim"})
    assert isinstance(problems, InvalidArguments)
    result = problems.as_result("reserve")
    assert result["error"] == "invalid arguments" and result["tool"] == "reserve"
    assert {(entry["field"], entry["given"]) for entry in result["problems"]} == {("size", 99), ("mood", "grim")}
    missing = reserve.validate({})
    assert isinstance(missing, InvalidArguments)
    assert all("given" not in entry for entry in missing.problems)
