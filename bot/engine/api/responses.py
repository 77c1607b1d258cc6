"""The Responses API adapter: items to `input`, tool specs to flat function tools, output items back to a reply."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, assert_never

import openai
from openai.types.responses import ResponseInputItemParam

from bot.engine.api import ModelReply, ToolChoice, ToolSpec
from bot.engine.api.failures import map_openai_error
from bot.engine.items import AssistantMessage, Item, ToolCall, ToolOutput, UserMessage


class ResponsesAPI:
    """Talks to POST /responses statelessly (store=False): the whole history is sent every time."""

    def __init__(self, client: openai.AsyncOpenAI, *, model: str, max_output_tokens: int | None = None) -> None:
        self._client = client
        self._model = model
        self._limit: dict[str, int] = {"max_output_tokens": max_output_tokens} if max_output_tokens else {}

    async def respond(
        self,
        *,
        instructions: str,
        items: Sequence[Item],
        tools: Sequence[ToolSpec],
        tool_choice: ToolChoice,
    ) -> ModelReply:
        """Send the conversation to the Responses API and read back its text and function calls."""
        options: dict[str, Any] = dict(self._limit)
        if tools:
            options["tools"] = [_tool(spec) for spec in tools]
            options["tool_choice"] = _tool_choice(tool_choice)
            options["parallel_tool_calls"] = True
        try:
            response = await self._client.responses.create(
                model=self._model,
                instructions=instructions,
                input=[_input_item(item) for item in items],
                store=False,
                **options,
            )
        except openai.OpenAIError as error:
            raise map_openai_error(error, api="responses", model=self._model, secret=self._client.api_key) from error
        return _reply(response.output)


def _input_item(item: Item) -> ResponseInputItemParam:
    """One history item as a Responses input item; calls go without item ids (see bot.engine.items)."""
    match item:
        case UserMessage():
            return {"role": "user", "content": item.as_prompt()}
        case AssistantMessage():
            return {"role": "assistant", "content": item.text}
        case ToolCall():
            return {"type": "function_call", "call_id": item.call_id, "name": item.name, "arguments": item.arguments}
        case ToolOutput():
            return {"type": "function_call_output", "call_id": item.call_id, "output": item.output}
        case _:
            assert_never(item)


def _tool(spec: ToolSpec) -> dict[str, Any]:
    """A flat Responses function tool."""
    return {
        "type": "function",
        "name": spec.name,
        "description": spec.description,
        "parameters": spec.parameters,
        "strict": spec.strict,
    }


def _tool_choice(choice: ToolChoice) -> str | dict[str, str]:
    """'auto' | 'required' | 'none' as they are; a tool name as the Responses named-function form."""
    if choice in ("auto", "required", "none"):
        return choice
    return {"type": "function", "name": choice}


def _reply(output: Sequence[Any]) -> ModelReply:
    """Text of the message items and the function calls, in order; reasoning and other items are dropped."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    for entry in output:
        kind = getattr(entry, "type", None)
        if kind == "message":
            parts = [_part_text(part) for part in getattr(entry, "content", None) or ()]
            texts.append("".join(parts))
        elif kind == "function_call":
            calls.append(ToolCall(call_id=entry.call_id, name=entry.name, arguments=entry.arguments or ""))
    return ModelReply(text="\n\n".join(text for text in texts if text), calls=tuple(calls))


def _part_text(part: Any) -> str:
    """The words of one message content part (output text or a refusal)."""
    kind = getattr(part, "type", None)
    if kind == "output_text":
        return getattr(part, "text", "") or ""
    if kind == "refusal":
        return getattr(part, "refusal", "") or ""
    return ""
