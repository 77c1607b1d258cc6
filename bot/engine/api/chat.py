"""The Chat Completions adapter: items to messages, tool specs to nested function tools, the choice back to a reply.

What a compatible server accepts (checked so we send nothing one chokes on):
- llama-cpp-python's server (llama_cpp/server/types.py, CreateChatCompletionRequest) knows model, messages, tools,
  tool_choice and sampling options; it has no `parallel_tool_calls` or `store`, so we send neither.
- Ollama's /v1/chat/completions documents model, messages, tools, tool_choice among its supported request fields
  (docs/openai.md, "Supported request fields"); again no `parallel_tool_calls` or `store`.
- llama.cpp's server (issue 7): its chat templates fail (HTTP 500) on an assistant message with tool_calls but no
  `content` key, and its validation fails on `content: null`; `""` works on every server, so we always send a string.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Literal, assert_never

import openai

from bot.engine.api import ModelReply, ToolChoice, ToolSpec
from bot.engine.api.failures import map_openai_error
from bot.engine.errors import ModelUnavailable
from bot.engine.items import AssistantMessage, Item, ToolCall, ToolOutput, UserMessage


class ChatAPI:
    """Talks to POST /chat/completions, the API every OpenAI-compatible server speaks."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        *,
        model: str,
        max_output_tokens: int | None = None,
        output_limit_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens",
    ) -> None:
        self._client = client
        self._model = model
        # OpenAI's reasoning models refuse max_tokens and want max_completion_tokens; compatible servers
        # (llama.cpp, Ollama, vLLM) know max_tokens. The composition root picks the field by server.
        self._limit: dict[str, int] = {output_limit_field: max_output_tokens} if max_output_tokens else {}

    async def respond(
        self,
        *,
        instructions: str,
        items: Sequence[Item],
        tools: Sequence[ToolSpec],
        tool_choice: ToolChoice,
    ) -> ModelReply:
        """Send the conversation as chat messages and read back the first choice's text and tool calls."""
        options: dict[str, Any] = dict(self._limit)
        if tools:
            options["tools"] = [_tool(spec) for spec in tools]
            options["tool_choice"] = _tool_choice(tool_choice)
        try:
            completion = await self._client.chat.completions.create(
                model=self._model,
                messages=[{"role": "system", "content": instructions}, *_messages(items)],  # type: ignore[list-item]
                **options,
            )
        except openai.OpenAIError as error:
            raise map_openai_error(error, api="chat", model=self._model, secret=self._client.api_key) from error
        if not completion.choices:
            raise ModelUnavailable("the model server answered with no choices")
        return _reply(completion.choices[0].message)


def _messages(items: Sequence[Item]) -> list[dict[str, Any]]:
    """History items as chat messages; calls join the assistant message right before them (or a new one)."""
    messages: list[dict[str, Any]] = []
    open_assistant: dict[str, Any] | None = None  # the assistant message calls may still be added to
    for item in items:
        match item:
            case UserMessage():
                messages.append({"role": "user", "content": item.as_prompt()})
                open_assistant = None
            case AssistantMessage():
                open_assistant = {"role": "assistant", "content": item.text}
                messages.append(open_assistant)
            case ToolCall():
                if open_assistant is None:
                    open_assistant = {"role": "assistant", "content": ""}  # "" not null or missing: issue 7
                    messages.append(open_assistant)
                open_assistant.setdefault("tool_calls", []).append(
                    {
                        "id": item.call_id,
                        "type": "function",
                        "function": {"name": item.name, "arguments": item.arguments},
                    }
                )
            case ToolOutput():
                messages.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output})
                open_assistant = None
            case _:
                assert_never(item)
    return messages


def _tool(spec: ToolSpec) -> dict[str, Any]:
    """A nested Chat Completions function tool."""
    return {
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": spec.parameters,
            "strict": spec.strict,
        },
    }


def _tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    """'auto' | 'required' | 'none' as they are; a tool name as the Chat named-function form."""
    if choice in ("auto", "required", "none"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def _reply(message: Any) -> ModelReply:
    """The message text (or refusal) and its function tool calls; a call without an id gets a fresh one."""
    text = getattr(message, "content", None) or getattr(message, "refusal", None) or ""
    calls: list[ToolCall] = []
    for call in getattr(message, "tool_calls", None) or ():
        function = getattr(call, "function", None)
        if function is None:  # a custom (non-function) tool call: we never offer those
            continue
        call_id = getattr(call, "id", None) or f"call_{uuid.uuid4().hex[:24]}"
        calls.append(ToolCall(call_id=call_id, name=function.name, arguments=function.arguments or ""))
    return ModelReply(text=text, calls=tuple(calls))
