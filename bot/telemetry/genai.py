"""A ModelAPI wrapper: one `chat {model}` span and the GenAI client metrics per model request."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from bot.engine.api import ModelAPI, ModelReply, ToolChoice, ToolSpec, Usage
from bot.engine.items import Item, UserMessage
from bot.engine.loop import estimate_usage
from bot.engine.progress import Progress
from bot.telemetry.metrics import Metrics
from bot.telemetry.tracing import start_span

OPERATION = "chat"
PROVIDER = "openai"


class InstrumentedModelAPI:
    """Wraps a ModelAPI; the usage recorded is the server's, or the same estimate /usage keeps (marked as such)."""

    def __init__(
        self,
        inner: ModelAPI,
        *,
        model: str,
        metrics: Metrics,
        tracer: trace.Tracer,
        capture_content: bool = False,
        server_address: str | None = None,
    ) -> None:
        self._inner = inner
        self._model = model
        self._metrics = metrics
        self._tracer = tracer
        self._capture = capture_content
        self._server_address = server_address

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
        """Forward the request, timing it and recording its tokens; failures are re-raised unchanged."""
        started = time.perf_counter()
        with start_span(
            self._tracer,
            f"{OPERATION} {self._model}",
            kind=SpanKind.CLIENT,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            if span.is_recording():
                span.set_attribute("gen_ai.operation.name", OPERATION)
                span.set_attribute("gen_ai.provider.name", PROVIDER)
                span.set_attribute("gen_ai.request.model", self._model)
                if self._server_address:
                    span.set_attribute("server.address", self._server_address)
                if self._capture:
                    span.set_attribute("gen_ai.system_instructions", instructions)
                    span.set_attribute("gen_ai.input.messages", json.dumps([_shown(item) for item in items]))
            try:
                reply = await self._inner.respond(
                    instructions=instructions,
                    items=items,
                    tools=tools,
                    tool_choice=tool_choice,
                    progress=progress,
                    cache_key=cache_key,
                )
            except Exception as error:
                error_type = type(error).__name__
                self._observe_duration(started, error_type)
                span.set_attribute("error.type", error_type)
                span.set_status(Status(StatusCode.ERROR, error_type))
                raise
            self._observe_duration(started, "")
            usage = reply.usage or estimate_usage(instructions, items, tools, reply)
            self._observe_tokens(usage)
            if span.is_recording():
                span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
                span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
                span.set_attribute("concierge.usage.estimated", usage.estimated)
                if reply.model:
                    span.set_attribute("gen_ai.response.model", reply.model)
                finish = reply.finish_reason or ("tool_calls" if reply.calls else "stop")
                span.set_attribute("gen_ai.response.finish_reasons", [finish])
                if self._capture:
                    span.set_attribute("gen_ai.output.messages", _output_json(reply))
            return reply

    def _observe_duration(self, started: float, error_type: str) -> None:
        metrics = self._metrics
        duration = metrics.child(metrics.operation_duration, OPERATION, self._model, PROVIDER, error_type)
        duration.observe(time.perf_counter() - started)

    def _observe_tokens(self, usage: Usage) -> None:
        estimated = "true" if usage.estimated else "false"
        for kind, count in (("input", usage.input_tokens), ("output", usage.output_tokens)):
            tokens = self._metrics.child(self._metrics.token_usage, OPERATION, self._model, PROVIDER, kind, estimated)
            tokens.observe(count)


def _output_json(reply: ModelReply) -> str:
    calls = [{"id": call.call_id, "name": call.name, "arguments": call.arguments} for call in reply.calls]
    return json.dumps([{"role": "assistant", "text": reply.text, "tool_calls": calls}], ensure_ascii=False)


def _shown(item: Item) -> object:
    """An item as a span shows it: a member's images by name, not their bytes (megabytes of base64 per image)."""
    kept = item.without_image_data() if isinstance(item, UserMessage) else item
    return kept.model_dump(mode="json")
