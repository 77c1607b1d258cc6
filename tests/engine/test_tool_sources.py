"""Tools that come from a named source (as MCP servers' will): offered, validated and run like built-in ones."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from bot.engine.executor import ToolExecutor
from bot.engine.items import ToolOutput, UserMessage
from bot.engine.loop import run_loop
from bot.engine.permissions import Caller, Place, ToolPolicy
from bot.engine.tools import InvalidArguments, Registry, Tool, ToolContext, field_problem, tool
from tests.engine.scripted import ScriptedAPI

ADMIN = Caller(user_id="1", name="Ada", is_admin=True)
GUILD = Place(channel_id="c1", guild_id="g1")
HELLO = UserMessage(text="find it", author_id="1", author_name="Ada")
SEARCHES: list[dict[str, Any]] = []


class AnyArguments(BaseModel):
    """Arguments kept as given, for a tool that checks them against its own JSON schema."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True, kw_only=True)
class SchemaTool(Tool):
    """A tool described by a JSON schema rather than a Python signature."""

    def validate(self, raw: Mapping[str, Any]) -> BaseModel | InvalidArguments:
        if not isinstance(raw.get("query"), str):
            given = raw.get("query")
            return InvalidArguments((field_problem(("query",), "must be a string", given=given, missing=False),))
        return AnyArguments.model_validate(raw)


async def search(context: ToolContext, **arguments: Any) -> dict[str, Any]:
    SEARCHES.append(arguments)
    return {"hits": [arguments["query"].upper()]}


WIKI_SEARCH = SchemaTool(
    name="wiki_search",
    description="Search the wiki.",
    function=search,
    arguments=AnyArguments,
    parameters={"type": "object", "properties": {"query": {"type": "string", "minLength": 1}}},
    confirm_by_default=False,
    restricted=True,
    strict=False,
)


@tool()
async def echo(context: ToolContext, text: str) -> dict[str, str]:
    """Say it back."""
    return {"echo": text}


def executor(registry: Registry, policies: dict[str, ToolPolicy] | None = None) -> ToolExecutor:
    return ToolExecutor(registry=registry, caller=ADMIN, place=GUILD, policies=policies or {}, default_timeout=5)


def outputs(items: tuple[object, ...]) -> list[dict[str, Any]]:
    return [json.loads(item.output) for item in items if isinstance(item, ToolOutput)]


@pytest.mark.asyncio
async def test_a_sourced_tool_is_offered_non_strict_and_its_own_validation_reaches_the_model() -> None:
    SEARCHES.clear()
    registry = Registry([echo])
    registry.replace_source("wiki", [WIKI_SEARCH])
    api = ScriptedAPI().calls(("wiki_search", {"query": 7})).calls(("wiki_search", {"query": "tea"})).text("TEA")

    result = await run_loop(api=api, executor=executor(registry), instructions="t", history=[], user_message=HELLO)

    spec = {spec.name: spec for spec in api.requests[0].specs}
    assert spec["wiki_search"].strict is False and spec["echo"].strict is True
    first, second = outputs(result.items)
    assert first == {
        "error": "invalid arguments",
        "tool": "wiki_search",
        "problems": [{"field": "query", "problem": "must be a string", "given": 7}],
    }
    assert second == {"hits": ["TEA"]} and SEARCHES == [{"query": "tea"}]
    assert [entry.outcome for entry in result.trace] == ["invalid", "ok"]


@pytest.mark.asyncio
async def test_a_tool_whose_source_left_is_no_longer_offered_and_a_late_call_to_it_is_refused() -> None:
    registry = Registry([echo])
    registry.replace_source("wiki", [WIKI_SEARCH])
    running = executor(registry)
    assert running.offered().names() == ["echo", "wiki_search"]
    registry.remove_source("wiki")
    api = ScriptedAPI().calls(("wiki_search", {"query": "tea"})).text("gone")

    result = await run_loop(api=api, executor=running, instructions="t", history=[], user_message=HELLO)

    assert api.requests[0].tools == ("echo",)
    [refusal] = outputs(result.items)
    assert refusal["error"] == "unknown tool" and refusal["available_tools"] == ["echo"]


def test_a_disabled_sourced_tool_is_refused_with_the_reason_like_a_built_in_one() -> None:
    registry = Registry([echo])
    registry.replace_source("wiki", [WIKI_SEARCH])
    offer = executor(registry, {"wiki_search": ToolPolicy(tool="wiki_search", enabled=False)}).offered()
    assert offer.names() == ["echo"] and offer.refused["wiki_search"].kind == "disabled"
