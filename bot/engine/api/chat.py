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
from dataclasses import replace
from typing import Any, assert_never

import openai

from bot.engine.api import ModelReply, ToolChoice, ToolSpec, Usage, is_mode
from bot.engine.api.failures import map_openai_error
from bot.engine.api.features import FeatureModes, LimitField, RequestFeatures
from bot.engine.api.plain_json import ToolPayloads, sdk_arguments
from bot.engine.api.sse import StreamFailed, json_events, viewed
from bot.engine.api.streaming import StreamBroken, Streaming
from bot.engine.errors import ModelUnavailable
from bot.engine.items import AssistantMessage, Item, Reasoning, ToolCall, ToolOutput, UserMessage
from bot.engine.progress import Progress

_MESSAGES: dict[str, Any] = {"messages": []}  # the signature requires them; the real ones go in extra_body


class ChatAPI:
    """Talks to POST /chat/completions, the API every OpenAI-compatible server speaks.

    The prompt cache key and usage in streams are sent to every server until one rejects them (`features`).
    """

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        *,
        model: str,
        max_output_tokens: int | None = None,
        output_limit_field: LimitField = "max_tokens",
        stream: bool = False,
        features: FeatureModes | None = None,
    ) -> None:
        self._client = client
        self._model = model
        # OpenAI's reasoning models refuse max_tokens and want max_completion_tokens; compatible servers
        # (llama.cpp, Ollama, vLLM) know max_tokens, and llama-cpp-python ignores max_completion_tokens. The
        # composition root picks the first field by address; a server that rejects it gets the other from then on.
        self._limit: dict[str, int] = {"max_completion_tokens": max_output_tokens} if max_output_tokens else {}
        self._streaming = Streaming(enabled=stream, api="Chat Completions")
        self._tools = ToolPayloads(_tool)
        self.features = RequestFeatures(
            features, api="Chat Completions", limit_field=output_limit_field, secret=client.api_key
        )

    async def respond(
        self,
        *,
        instructions: str,
        items: Sequence[Item],
        tools: Sequence[ToolSpec],
        tool_choice: ToolChoice,
        progress: Progress | None = None,
        cache_key: str | None = None,
    ) -> ModelReply:
        """Send the conversation as chat messages and read back the first choice's text, tool calls and usage."""
        options: dict[str, Any] = dict(self._limit)
        if tools:
            options["tools"] = self._tools(tools)
            options["tool_choice"] = _tool_choice(tool_choice)
        if cache_key:
            options["prompt_cache_key"] = cache_key
        request: dict[str, Any] = {
            "model": self._model,
            "messages": [{"role": "system", "content": instructions}, *_messages(items)],
            **options,
        }
        try:
            return await self._streaming.respond(
                progress,
                lambda listener: self.features.send(
                    request | {"stream_options": {"include_usage": True}},
                    lambda shaped: self._streamed(shaped, listener),
                ),
                lambda: self.features.send(request, self._plain),
            )
        except openai.OpenAIError as error:
            raise map_openai_error(error, api="chat", model=self._model, secret=self._client.api_key) from error

    async def _plain(self, request: dict[str, Any]) -> ModelReply:
        completion = await self._client.chat.completions.create(**sdk_arguments(request, required=_MESSAGES))
        if not completion.choices:
            raise ModelUnavailable("the model server answered with no choices")
        choice = completion.choices[0]
        reply = _reply(choice.message, completion.usage, getattr(completion, "model", None))
        return replace(reply, finish_reason=getattr(choice, "finish_reason", None) or "")

    async def _streamed(self, request: dict[str, Any], progress: Progress) -> ModelReply:
        """Stream the answer's text to `progress`; tool calls are assembled from their pieces by index."""
        text: list[str] = []
        calls: dict[int, _PartialCall] = {}
        usage: Any = None
        model: str | None = None
        finished: str | None = None
        arguments = sdk_arguments(request, required=_MESSAGES)
        async with self._client.chat.completions.with_streaming_response.create(**arguments, stream=True) as response:
            try:
                async for event in json_events(response):
                    usage = event.get("usage") or usage
                    model = model or event.get("model")
                    for choice in event.get("choices") or ():
                        if choice.get("index", 0) != 0:
                            continue
                        delta = choice.get("delta") or {}
                        content = delta.get("content")
                        if content:
                            text.append(content)
                            progress.answer_delta(content)
                        for piece in delta.get("tool_calls") or ():
                            calls.setdefault(int(piece.get("index") or 0), _PartialCall()).add(viewed(piece))
                        if finished is None:
                            finished = choice.get("finish_reason")
            except (StreamFailed, openai.APIError, OSError, ValueError) as error:  # it broke
                raise StreamBroken(type(error).__name__) from error
        if finished is None:
            raise StreamBroken("it ended without a finish reason")
        return ModelReply(
            text="".join(text),
            calls=tuple(calls[index].call() for index in sorted(calls) if calls[index].name),
            usage=_usage(viewed(usage)),
            model=model or "",
            finish_reason=finished,
        )


class _PartialCall:
    """One streamed tool call as its pieces arrive: the id and name once, the arguments in parts."""

    def __init__(self) -> None:
        self.call_id: str | None = None
        self.name = ""
        self.arguments: list[str] = []

    def add(self, piece: Any) -> None:
        """Take one streamed piece of this call."""
        self.call_id = self.call_id or getattr(piece, "id", None)
        function = getattr(piece, "function", None)
        if function is not None:
            self.name = self.name or (function.name or "")
            self.arguments.append(function.arguments or "")

    def call(self) -> ToolCall:
        """The finished call (a server that sent no id gets a fresh one)."""
        call_id = self.call_id or f"call_{uuid.uuid4().hex[:24]}"
        return ToolCall(call_id=call_id, name=self.name, arguments="".join(self.arguments))


def _messages(items: Sequence[Item]) -> list[dict[str, Any]]:
    """History items as chat messages; calls join the assistant message right before them (or a new one)."""
    messages: list[dict[str, Any]] = []
    open_assistant: dict[str, Any] | None = None  # the assistant message calls may still be added to
    for item in items:
        match item:
            case UserMessage():
                messages.append({"role": "user", "content": _user_content(item)})
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
            case Reasoning():
                continue  # Chat Completions has no reasoning items
            case _:
                assert_never(item)
    return messages


def _user_content(message: UserMessage) -> str | list[dict[str, Any]]:
    """A member's words as Chat content: plain text, or a text part then each image as a data URL."""
    images = message.images()
    if not images:
        return message.as_prompt()
    parts: list[dict[str, Any]] = [{"type": "text", "text": message.as_prompt()}]
    parts += [{"type": "image_url", "image_url": {"url": image.data_url()}} for image in images]
    return parts


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
    if is_mode(choice):
        return choice
    return {"type": "function", "function": {"name": choice}}


def _reply(message: Any, usage: Any, model: str | None = None) -> ModelReply:
    """The message text (or refusal) and its function tool calls; a call without an id gets a fresh one."""
    text = getattr(message, "content", None) or getattr(message, "refusal", None) or ""
    calls: list[ToolCall] = []
    for call in getattr(message, "tool_calls", None) or ():
        function = getattr(call, "function", None)
        if function is None:  # a custom (non-function) tool call: we never offer those
            continue
        call_id = getattr(call, "id", None) or f"call_{uuid.uuid4().hex[:24]}"
        calls.append(ToolCall(call_id=call_id, name=function.name, arguments=function.arguments or ""))
    return ModelReply(text=text, calls=tuple(calls), usage=_usage(usage), model=model or "")


def _usage(usage: Any) -> Usage | None:
    """The Chat usage object as Usage (None when the server sent none)."""
    if usage is None or getattr(usage, "prompt_tokens", None) is None:
        return None
    return Usage(
        input_tokens=int(usage.prompt_tokens or 0),
        output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cached_input_tokens=int(getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", 0) or 0),
        reasoning_tokens=int(getattr(getattr(usage, "completion_tokens_details", None), "reasoning_tokens", 0) or 0),
    )
