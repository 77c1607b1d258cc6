"""What the bot relies on from a real Chat Completions server, asked the way the bot's chat adapter asks.

Tool arguments are not checked: this server's small model writes invalid JSON in about 1 call of 6, which the
bot answers with a tool error. A text answer may be empty (Gemma 3 270M sometimes says nothing), so the tests
check its type, not its words.
Every request has the bot's shape: a system message first, strict nested function tools, an explicit tool_choice,
and a finished tool round sent back as an assistant message with `content: ""` plus a `tool` message.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel, Field

pytestmark = [pytest.mark.real_server, pytest.mark.asyncio]

SYSTEM = "You are Concierge, a helpful assistant in a Discord server. Use a tool when one fits the question."
QUESTION = "What is 1234 * 5678? Use the calculator."


class CalculateArgs(BaseModel):
    """Arguments of the calculator tool."""

    model_config = {"extra": "forbid"}

    expression: str = Field(description="An arithmetic expression such as 12 * (3 + 4)")


class WeatherArgs(BaseModel):
    """Arguments of the weather tool."""

    model_config = {"extra": "forbid"}

    city: str = Field(description="City name, e.g. Paris")


def _tool(name: str, description: str, model: type[BaseModel]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": to_strict_json_schema(model),
            "strict": True,
        },
    }


TOOLS: Any = [
    _tool("calculate", "Evaluate an arithmetic expression and return the number.", CalculateArgs),
    _tool("get_weather", "Current weather for a city.", WeatherArgs),
]


def _messages(*rest: dict[str, Any]) -> Any:
    return [{"role": "system", "content": SYSTEM}, *rest]


def _finished_round(content: Any = "") -> Any:
    """A question, the assistant's call to the calculator and its output, as the bot sends history back."""
    call = {
        "id": "call_abc123",
        "type": "function",
        "function": {"name": "calculate", "arguments": json.dumps({"expression": "1234 * 5678"})},
    }
    return _messages(
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": content, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_abc123", "content": json.dumps({"result": 7006652})},
    )


async def test_server_lists_at_least_one_model(client: openai.AsyncOpenAI) -> None:
    listed = await client.models.list()

    assert [model.id for model in listed.data if model.id]


async def test_plain_question_without_tools_gets_a_text_answer_and_no_calls(
    client: openai.AsyncOpenAI, model: str
) -> None:
    completion = await client.chat.completions.create(
        model=model, messages=_messages({"role": "user", "content": "Say hello in one line."}), max_tokens=32
    )

    assert isinstance(completion.choices[0].message.content, str)  # may be "": small models do answer nothing
    assert not completion.choices[0].message.tool_calls


async def test_named_tool_choice_gets_exactly_one_call_to_that_tool(client: openai.AsyncOpenAI, model: str) -> None:
    completion = await client.chat.completions.create(
        model=model,
        messages=_messages({"role": "user", "content": QUESTION}),
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "calculate"}},
        max_tokens=256,
    )

    calls = completion.choices[0].message.tool_calls or []
    assert [call.function.name for call in calls] == ["calculate"]  # type: ignore[union-attr]
    assert calls[0].id
    assert isinstance(calls[0].function.arguments, str)  # type: ignore[union-attr]  # valid JSON is not promised


async def test_auto_tool_choice_gets_text_or_calls_to_offered_tools_with_distinct_ids(
    client: openai.AsyncOpenAI, model: str
) -> None:
    completion = await client.chat.completions.create(
        model=model,
        messages=_messages({"role": "user", "content": QUESTION}),
        tools=TOOLS,
        tool_choice="auto",
        max_tokens=256,
    )

    message = completion.choices[0].message
    calls = message.tool_calls or []
    assert calls or message.content
    assert {call.function.name for call in calls} <= {"calculate", "get_weather"}  # type: ignore[union-attr]
    assert all(call.id for call in calls)
    assert len({call.id for call in calls}) == len(calls)


async def test_none_tool_choice_gets_a_text_answer_and_no_calls(client: openai.AsyncOpenAI, model: str) -> None:
    completion = await client.chat.completions.create(
        model=model,
        messages=_messages({"role": "user", "content": QUESTION}),
        tools=TOOLS,
        tool_choice="none",
        max_tokens=48,
    )

    assert isinstance(completion.choices[0].message.content, str)  # may be "": small models do answer nothing
    assert not completion.choices[0].message.tool_calls


async def test_history_with_a_finished_tool_round_and_empty_content_is_accepted(
    client: openai.AsyncOpenAI, model: str
) -> None:
    completion = await client.chat.completions.create(
        model=model, messages=_finished_round(""), tools=TOOLS, tool_choice="auto", max_tokens=48
    )

    message = completion.choices[0].message
    assert message.content or message.tool_calls


async def test_last_round_with_tool_choice_none_after_a_tool_round_gets_a_text_answer(
    client: openai.AsyncOpenAI, model: str
) -> None:
    completion = await client.chat.completions.create(
        model=model, messages=_finished_round(""), tools=TOOLS, tool_choice="none", max_tokens=48
    )

    assert isinstance(completion.choices[0].message.content, str)  # may be "": small models do answer nothing
    assert not completion.choices[0].message.tool_calls
