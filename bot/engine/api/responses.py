"""The Responses API adapter: items to `input`, tool specs to flat function tools, output items back to a reply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, assert_never

import openai
from openai.types.responses import ResponseInputItemParam

from bot.engine.api import ModelReply, ToolChoice, ToolSpec, Usage, is_mode
from bot.engine.api.failures import map_openai_error
from bot.engine.api.features import REASONING_INCLUDE, FeatureModes, RequestFeatures
from bot.engine.api.plain_json import ToolPayloads, sdk_arguments
from bot.engine.api.sse import StreamFailed, json_events, viewed
from bot.engine.api.streaming import StreamBroken, Streaming
from bot.engine.items import AssistantMessage, Item, Reasoning, ToolCall, ToolOutput, UserMessage
from bot.engine.progress import Progress


class ResponsesAPI:
    """Talks to POST /responses statelessly (store=False): the whole history is sent every time.

    The prompt cache key and the reasoning items' encrypted content (so a reasoning model's thinking can be replayed
    within a turn) are sent to every server until one rejects them (`features`).
    """

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        *,
        model: str,
        max_output_tokens: int | None = None,
        stream: bool = False,
        features: FeatureModes | None = None,
    ) -> None:
        self._client = client
        self._model = model
        self._limit: dict[str, int] = {"max_output_tokens": max_output_tokens} if max_output_tokens else {}
        self._streaming = Streaming(enabled=stream, api="Responses")
        self._tools = ToolPayloads(_tool)
        self.features = RequestFeatures(features, api="Responses", secret=client.api_key)

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
        """Send the conversation to the Responses API and read back its text, function calls and usage."""
        options: dict[str, Any] = dict(self._limit)
        if tools:
            options["tools"] = self._tools(tools)
            options["tool_choice"] = _tool_choice(tool_choice)
            options["parallel_tool_calls"] = True
        options["include"] = [REASONING_INCLUDE]
        if cache_key:
            options["prompt_cache_key"] = cache_key
        request: dict[str, Any] = {
            "model": self._model,
            "instructions": instructions,
            "input": [_input_item(item) for item in items],
            "store": False,
            **options,
        }
        try:
            return await self._streaming.respond(
                progress,
                lambda listener: self.features.send(request, lambda shaped: self._streamed(shaped, listener)),
                lambda: self.features.send(request, self._plain),
            )
        except openai.OpenAIError as error:
            raise map_openai_error(error, api="responses", model=self._model, secret=self._client.api_key) from error

    async def _plain(self, request: dict[str, Any]) -> ModelReply:
        response = await self._client.responses.create(**sdk_arguments(request))
        return _finished(_reply(response.output, response.usage, getattr(response, "model", None)), response)

    async def _streamed(self, request: dict[str, Any], progress: Progress) -> ModelReply:
        """Stream the answer's text to `progress`; the finished items come from the stream's item events."""
        done: dict[int, Any] = {}
        completed: Any = None
        streaming = self._client.responses.with_streaming_response.create(**sdk_arguments(request), stream=True)
        async with streaming as response:
            try:
                async for event in json_events(response):
                    kind = event.get("type", "")
                    if kind == "response.output_text.delta":
                        progress.answer_delta(str(event.get("delta") or ""))
                    elif kind == "response.output_item.done":
                        done[int(event.get("output_index") or 0)] = viewed(event.get("item") or {})
                    elif kind == "response.completed":
                        completed = viewed(event.get("response") or {})
                    elif kind in ("response.failed", "response.incomplete", "error"):
                        raise StreamBroken(f"the server reported {kind}")
            except (StreamFailed, openai.APIError, OSError, ValueError) as error:  # it broke
                raise StreamBroken(type(error).__name__) from error
        if completed is None:
            raise StreamBroken("it ended before response.completed")
        output = [done[index] for index in sorted(done)] or list(completed.output or ())
        return _finished(_reply(output, completed.usage, getattr(completed, "model", None)), completed)


def _input_item(item: Item) -> ResponseInputItemParam:
    """One history item as a Responses input item; calls go without item ids (see bot.engine.items)."""
    match item:
        case Reasoning():
            return {
                "type": "reasoning",
                "id": item.item_id,
                "summary": [{"type": "summary_text", "text": text} for text in item.summary],
                "encrypted_content": item.encrypted_content,
            }
        case UserMessage():
            return {"role": "user", "content": _user_content(item)}
        case AssistantMessage():
            return {"role": "assistant", "content": item.text}
        case ToolCall():
            return {"type": "function_call", "call_id": item.call_id, "name": item.name, "arguments": item.arguments}
        case ToolOutput():
            return {"type": "function_call_output", "call_id": item.call_id, "output": item.output}
        case _:
            assert_never(item)


def _user_content(message: UserMessage) -> Any:
    """A member's words as Responses content: plain text, or text then each image as a data URL."""
    images = message.images()
    if not images:
        return message.as_prompt()
    parts: list[dict[str, Any]] = [{"type": "input_text", "text": message.as_prompt()}]
    parts += [{"type": "input_image", "image_url": image.data_url(), "detail": "auto"} for image in images]
    return parts


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
    if is_mode(choice):
        return choice
    return {"type": "function", "name": choice}


def _reply(output: Sequence[Any], usage: Any, model: str | None = None) -> ModelReply:
    """Text of the message items, the function calls in order, the replayable reasoning, and the usage."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    reasoning: list[Reasoning] = []
    for entry in output:
        kind = getattr(entry, "type", None)
        if kind == "message":
            parts = [_part_text(part) for part in getattr(entry, "content", None) or ()]
            texts.append("".join(parts))
        elif kind == "function_call":
            calls.append(ToolCall(call_id=entry.call_id, name=entry.name, arguments=entry.arguments or ""))
        elif kind == "reasoning" and getattr(entry, "encrypted_content", None):  # without it, it cannot be replayed
            summary = tuple(getattr(part, "text", "") for part in getattr(entry, "summary", None) or ())
            reasoning.append(Reasoning(item_id=entry.id, encrypted_content=entry.encrypted_content, summary=summary))
    return ModelReply(
        text="\n\n".join(text for text in texts if text),
        calls=tuple(calls),
        reasoning=tuple(reasoning),
        usage=_usage(usage),
        model=model or "",
    )


def _finished(reply: ModelReply, response: Any) -> ModelReply:
    """The reply with why the response ended, in Chat terms (an incomplete response names its reason)."""
    if getattr(response, "status", None) == "incomplete":
        reason = getattr(getattr(response, "incomplete_details", None), "reason", None)
        finish = "length" if reason == "max_output_tokens" else reason or "incomplete"
    else:
        finish = "tool_calls" if reply.calls else "stop"
    return replace(reply, finish_reason=finish)


def _usage(usage: Any) -> Usage | None:
    """The Responses usage object as Usage (None when the server sent none)."""
    if usage is None or getattr(usage, "input_tokens", None) is None:
        return None
    return Usage(
        input_tokens=int(usage.input_tokens or 0),
        output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
        cached_input_tokens=int(getattr(getattr(usage, "input_tokens_details", None), "cached_tokens", 0) or 0),
        reasoning_tokens=int(getattr(getattr(usage, "output_tokens_details", None), "reasoning_tokens", 0) or 0),
    )


def _part_text(part: Any) -> str:
    """The words of one message content part (output text or a refusal)."""
    kind = getattr(part, "type", None)
    if kind == "output_text":
        return getattr(part, "text", "") or ""
    if kind == "refusal":
        return getattr(part, "refusal", "") or ""
    return ""
