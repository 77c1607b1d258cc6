"""A scriptable local OpenAI-compatible server (aiohttp on 127.0.0.1, port 0) for tests, benchmarks and `check`.

    async with FakeOpenAI() as server:
        server.reply_calls(("add", {"a": 1, "b": 2}))
        server.reply_text("3")
        async with server.client() as client:  # a real openai.AsyncOpenAI at server.base_url

Every request is answered, in order of priority, by: a pending `fail()`, the next enqueued reply, the `responder`
callback. With none of those the server answers 500 "script ran out", so a test that under-scripts fails loudly.
Both wire formats are served from the same script: POST /v1/responses and POST /v1/chat/completions, each as one
JSON body or, for `"stream": true`, as server-sent events (text and arguments in small pieces, parallel calls by
index or item, usage at the end). The Responses API's reasoning rules are enforced as OpenAI does under
store=False: a reasoning item sent back without its encrypted content, or a function_call sent with an item id but
without the reasoning item that produced it, is a 400. The optional request fields (issue 22) can each be accepted
(the default), ignored or rejected, the rejection worded as OpenAI, Azure, LiteLLM or a strict pydantic server word
it. Error answers carry `retry-after-ms` so the SDK's own retries stay fast.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import openai
from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake server received."""

    method: str
    path: str
    json: Any
    headers: Mapping[str, str]


@dataclass(frozen=True)
class FakeCall:
    """One scripted tool call: the name and the raw arguments text."""

    name: str
    arguments: str


@dataclass(frozen=True)
class FakeReply:
    """One scripted model answer: text and/or parallel calls; `reasoning` adds a reasoning item (Responses only)."""

    text: str = ""
    calls: tuple[FakeCall, ...] = ()
    reasoning: bool = False

    @classmethod
    def calling(cls, *calls: tuple[str, Mapping[str, Any] | str], text: str = "") -> FakeReply:
        """A reply with these parallel calls (for responders): FakeReply.calling(("add", {"a": 1, "b": 2}))."""
        return cls(text=text, calls=tuple(_as_call(call) for call in calls))


@dataclass(frozen=True)
class FakeFailure:
    """One scripted error answer."""

    status: int
    body: Mapping[str, Any] | None = None


Responder = Callable[[RecordedRequest], "FakeReply | FakeFailure | Awaitable[FakeReply | FakeFailure]"]


def _as_call(call: tuple[str, Mapping[str, Any] | str]) -> FakeCall:
    name, arguments = call
    return FakeCall(name=name, arguments=arguments if isinstance(arguments, str) else json.dumps(arguments))


@dataclass
class FakeOpenAI:
    """The fake server; an async context manager whose `base_url` ends in /v1."""

    models: Sequence[str] = ("test-model",)
    llama_cpp: bool = False  # every quirk below at once: how llama.cpp's server behaves (issue 7)
    require_assistant_content: bool = False  # 500 when an assistant message with tool_calls lacks content or has null
    reject_required_tool_choice: bool = False  # 500 on tool_choice "required"
    no_responses_api: bool = False  # 404 on /v1/responses
    llama_call_ids: bool = False  # call ids like call__0_<name>_cmpl-<uuid>
    omit_call_ids: bool = False  # chat tool calls without an "id" (not part of llama_cpp)
    delay: float = 0.0
    no_streaming: bool = False  # 400 on "stream": true, like a server that cannot stream
    break_stream_after: int | None = None  # drop the connection after this many streamed events
    stream_piece: int = 4  # characters of text or arguments per streamed event
    stream_delay: float = 0.0  # seconds between streamed events (a model writing at a fixed rate)
    report_usage: bool = True  # False: no usage in answers, like some local servers
    text_only: bool = False  # 400 on any image input, like a text-only model on vLLM or llama.cpp
    cached_tokens: int = 0  # cached input tokens reported in usage
    # Optional request fields (include, stream_options, prompt_cache_key, max_tokens, max_completion_tokens):
    rejects: frozenset[str] = frozenset()  # answered with an error naming the field, worded as `rejection` says
    ignores: frozenset[str] = frozenset()  # accepted without effect (no encrypted reasoning, no usage in streams, …)
    rejection: str = "openai"  # "openai" (400 with param), "azure" (400 unrecognized argument), "litellm", "pydantic"
    prompt_cache: bool = False  # a prompt_cache_key seen before reports 8 of the 10 input tokens as cached
    responder: Responder | None = None
    retry_after_ms: int = 5
    requests: list[RecordedRequest] = field(default_factory=list, init=False)
    _script: deque[FakeReply] = field(default_factory=deque, init=False)
    _failures: deque[FakeFailure] = field(default_factory=deque, init=False)
    _server: TestServer | None = field(default=None, init=False)
    _ids: itertools.count[int] = field(default_factory=itertools.count, init=False)
    _cache_keys: set[str] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        if self.llama_cpp:
            self.require_assistant_content = self.reject_required_tool_choice = True
            self.no_responses_api = self.llama_call_ids = True

    @property
    def base_url(self) -> str:
        """The URL to give openai.AsyncOpenAI(base_url=...)."""
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not running: use `async with FakeOpenAI() as server:`")
        return f"http://127.0.0.1:{self._server.port}/v1"

    def client(self, *, api_key: str = "sk-test", max_retries: int = 2, timeout: float = 5.0) -> openai.AsyncOpenAI:
        """A real openai client pointed here; close it (`async with`). Skips loading CA certificates (plain http)."""
        return openai.AsyncOpenAI(
            api_key=api_key,
            base_url=self.base_url,
            max_retries=max_retries,
            timeout=timeout,
            http_client=openai.DefaultAsyncHttpxClient(verify=False),
        )

    # scripting

    def reply_text(self, text: str, *, reasoning: bool = False) -> None:
        """Enqueue a plain answer."""
        self._script.append(FakeReply(text=text, reasoning=reasoning))

    def reply_calls(self, *calls: tuple[str, Mapping[str, Any] | str], text: str = "", reasoning: bool = False) -> None:
        """Enqueue one reply with parallel tool calls (dict arguments become JSON; a str is sent verbatim)."""
        self._script.append(FakeReply(text=text, calls=tuple(_as_call(call) for call in calls), reasoning=reasoning))

    def fail(self, status: int, *, body: Mapping[str, Any] | None = None, times: int = 1) -> None:
        """Make the next `times` model requests fail with `status` (and `body`, else a generic error body)."""
        self._failures.extend(FakeFailure(status=status, body=body) for _ in range(times))

    @property
    def pending(self) -> int:
        """How many scripted replies and failures are still unused."""
        return len(self._script) + len(self._failures)

    def model_requests(self) -> list[RecordedRequest]:
        """The recorded POSTs to the model endpoints (not /models)."""
        return [request for request in self.requests if request.method == "POST"]

    # lifetime

    async def __aenter__(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/responses", self._responses)
        app.router.add_post("/v1/chat/completions", self._chat)
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            await self._server.close()
        self._server = None

    # handlers

    async def _record(self, request: web.Request) -> RecordedRequest:
        body = await request.json() if request.can_read_body else None
        recorded = RecordedRequest(method=request.method, path=request.path, json=body, headers=dict(request.headers))
        self.requests.append(recorded)
        if self.delay:
            await asyncio.sleep(self.delay)
        return recorded

    async def _models(self, request: web.Request) -> web.Response:
        await self._record(request)
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _responses(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        if self.no_responses_api:
            return self._error(
                FakeFailure(404, {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}})
            )
        rejected = self._rejected_field(recorded.json)
        if rejected is not None:
            return self._error(rejected)
        problem = _reasoning_problem(recorded.json) or self._content_problem(recorded.json.get("input"), "responses")
        if problem is not None:
            return self._error(FakeFailure(400, {"error": {"message": problem, "type": "invalid_request_error"}}))
        if recorded.json.get("stream") and self.no_streaming:
            return self._error(FakeFailure(400, {"error": {"message": "stream is not supported", "type": "bad"}}))
        outcome = await self._next(recorded)
        if isinstance(outcome, FakeFailure):
            return self._error(outcome)
        body = self._responses_body(recorded.json, outcome)
        if recorded.json.get("stream"):
            return await self._sse(request, self._responses_events(body))
        await self._write_whole(outcome)
        return web.json_response(body)

    async def _chat(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        rejected = self._rejected_field(recorded.json)
        if rejected is not None:
            return self._error(rejected)
        quirk = self._chat_quirk(recorded.json)
        if quirk is not None:
            return self._error(FakeFailure(500, {"error": {"code": 500, "message": quirk, "type": "server_error"}}))
        problem = self._content_problem(recorded.json.get("messages"), "chat")
        if problem is not None:
            return self._error(FakeFailure(400, {"error": {"message": problem, "type": "invalid_request_error"}}))
        if recorded.json.get("stream") and self.no_streaming:
            return self._error(FakeFailure(400, {"error": {"message": "stream is not supported", "type": "bad"}}))
        outcome = await self._next(recorded)
        if isinstance(outcome, FakeFailure):
            return self._error(outcome)
        body = self._chat_body(recorded.json, outcome)
        if recorded.json.get("stream"):
            usage = (recorded.json.get("stream_options") or {}).get("include_usage", False)
            usage = usage and "stream_options" not in self.ignores
            return await self._sse(request, self._chat_events(body, with_usage=usage), done_marker=True)
        await self._write_whole(outcome)
        return web.json_response(body)

    def _content_problem(self, messages: Any, api: str) -> str | None:
        """Why user content parts would be refused: a part of the other API's shape, an image that is not a data or
        https URL, or any image on a text-only server."""
        text_type, image_type = ("input_text", "input_image") if api == "responses" else ("text", "image_url")
        for message in messages or []:
            content = message.get("content") if isinstance(message, dict) else None
            if not isinstance(content, list) or message.get("role") != "user":
                continue
            for part in content:
                kind = part.get("type")
                if kind == text_type and isinstance(part.get("text"), str):
                    continue
                if kind != image_type:
                    return f"Invalid content part type {kind!r} for this endpoint"
                if self.text_only:
                    return "This model does not support image input"
                url = part.get("image_url") if api == "responses" else (part.get("image_url") or {}).get("url")
                if not isinstance(url, str) or not url.startswith(("data:image/", "https://")):
                    return "Invalid image URL"
        return None

    def _rejected_field(self, body: Any) -> FakeFailure | None:
        """The error a server that does not know one of the request's optional fields answers with."""
        field_name = next((name for name in sorted(self.rejects) if name in body), None)
        if field_name is None:
            return None
        if self.rejection == "pydantic":
            detail = {"type": "extra_forbidden", "loc": ["body", field_name], "msg": "Extra inputs are not permitted"}
            return FakeFailure(422, {"detail": [detail]})
        message = {
            # OpenAI's words for include=["reasoning.encrypted_content"] to a model that does not reason (gpt-4o)
            "openai": "Encrypted content is not supported with this model."
            if field_name == "include"
            else f"Unsupported parameter: '{field_name}' is not supported with this model.",
            "azure": f"Unrecognized request argument supplied: {field_name}",
            "litellm": f"litellm.UnsupportedParamsError: openai does not support parameters: ['{field_name}'], "
            "for model=test-model. To drop these, set `litellm.drop_params=True` or for proxy: "
            "`litellm_settings: drop_params: true`",
        }[self.rejection]
        param = field_name if self.rejection == "openai" else None
        return FakeFailure(400, {"error": {"message": message, "type": "invalid_request_error", "param": param}})

    def _cached(self, request: Any) -> int:
        """Cached input tokens for this request: `cached_tokens`, or 8 for a prompt cache key seen before."""
        key = request.get("prompt_cache_key")
        if not self.prompt_cache or not key or "prompt_cache_key" in self.ignores:
            return self.cached_tokens
        seen = key in self._cache_keys
        self._cache_keys.add(key)
        return 8 if seen else self.cached_tokens

    def _chat_quirk(self, body: Any) -> str | None:
        """The llama.cpp-style failure this chat request triggers, if any."""
        if self.reject_required_tool_choice and body.get("tool_choice") == "required":
            return 'Unsupported tool_choice "required" for this chat template'
        if self.require_assistant_content:
            for message in body.get("messages", []):
                if message.get("role") == "assistant" and message.get("tool_calls"):
                    if "content" not in message:
                        return "Value is not callable: null (chat template: message.content missing)"
                    if message["content"] is None:
                        return "Expected 'content' to be a string or an array"
        return None

    async def _next(self, recorded: RecordedRequest) -> FakeReply | FakeFailure:
        if self._failures:
            return self._failures.popleft()
        if self._script:
            return self._script.popleft()
        if self.responder is not None:
            outcome = self.responder(recorded)
            return await outcome if isinstance(outcome, Awaitable) else outcome
        message = f"FakeOpenAI script ran out: no reply enqueued for request #{len(self.requests)} to {recorded.path}"
        return FakeFailure(500, {"error": {"message": message, "type": "fake_script_exhausted"}})

    def _error(self, failure: FakeFailure) -> web.Response:
        body = failure.body or {"error": {"message": f"fake error {failure.status}", "type": "fake_error"}}
        headers = {"retry-after-ms": str(self.retry_after_ms)}
        return web.json_response(dict(body), status=failure.status, headers=headers)

    # wire formats

    def _call_id(self, name: str) -> str:
        number = next(self._ids)
        if self.llama_call_ids:
            return f"call__{number}_{name}_cmpl-{uuid.uuid4()}"
        return f"call_{uuid.uuid4().hex[:20]}{number}"

    def _responses_body(self, request: Any, reply: FakeReply) -> dict[str, Any]:
        output: list[dict[str, Any]] = []
        if reply.reasoning:
            reasoning: dict[str, Any] = {"type": "reasoning", "id": f"rs_{uuid.uuid4().hex}", "summary": []}
            if "reasoning.encrypted_content" in (request.get("include") or ()) and "include" not in self.ignores:
                reasoning["encrypted_content"] = f"gAAAA-opaque-{uuid.uuid4().hex}"
            output.append(reasoning)
        if reply.text:
            output.append(
                {
                    "type": "message",
                    "id": f"msg_{uuid.uuid4().hex}",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": reply.text, "annotations": []}],
                }
            )
        for call in reply.calls:
            output.append(
                {
                    "type": "function_call",
                    "id": f"fc_{uuid.uuid4().hex}",
                    "call_id": self._call_id(call.name),
                    "name": call.name,
                    "arguments": call.arguments,
                    "status": "completed",
                }
            )
        return {
            "id": f"resp_{uuid.uuid4().hex}",
            "object": "response",
            "created_at": int(time.time()),
            "status": "completed",
            "model": request.get("model", ""),
            "output": output,
            "parallel_tool_calls": request.get("parallel_tool_calls", True),
            "tool_choice": request.get("tool_choice", "auto"),
            "tools": request.get("tools", []),
            "usage": {
                "input_tokens": 10,
                "input_tokens_details": {"cached_tokens": self._cached(request)},
                "output_tokens": 5,
                "output_tokens_details": {"reasoning_tokens": 2 if reply.reasoning else 0},
                "total_tokens": 15,
            }
            if self.report_usage
            else None,
        }

    def _chat_body(self, request: Any, reply: FakeReply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.calls:
            message["tool_calls"] = [
                {"type": "function", "function": {"name": call.name, "arguments": call.arguments}}
                | ({} if self.omit_call_ids else {"id": self._call_id(call.name)})
                for call in reply.calls
            ]
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if reply.calls else "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": 10,
                "prompt_tokens_details": {"cached_tokens": self._cached(request)},
                "completion_tokens": 5,
                "total_tokens": 15,
            }
            if self.report_usage
            else None,
        }

    # streaming

    async def _sse(
        self, request: web.Request, events: list[dict[str, Any]], *, done_marker: bool = False
    ) -> web.StreamResponse:
        """Send `events` as server-sent events; `break_stream_after` drops the connection midway."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        for number, event in enumerate(events):
            if self.break_stream_after is not None and number >= self.break_stream_after:
                assert request.transport is not None
                request.transport.close()
                return response
            name = f"event: {event['type']}\n" if "type" in event else ""
            await response.write(f"{name}data: {json.dumps(event)}\n\n".encode())
            if self.stream_delay:
                await asyncio.sleep(self.stream_delay)
        if done_marker:
            await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _write_whole(self, reply: FakeReply) -> None:
        """Take as long to answer in one piece as streaming the same reply would (`stream_delay` per piece)."""
        if self.stream_delay:
            pieces = len(self._pieces(reply.text)) + sum(len(self._pieces(call.arguments)) for call in reply.calls)
            await asyncio.sleep(self.stream_delay * pieces)

    def _pieces(self, text: str) -> list[str]:
        size = max(1, self.stream_piece)
        return [text[start : start + size] for start in range(0, len(text), size)]

    def _responses_events(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The Responses stream of `body`: created, deltas per output item, item done events, completed."""
        events: list[dict[str, Any]] = [{"type": "response.created", "response": body | {"output": []}}]
        for index, item in enumerate(body["output"]):
            events.append({"type": "response.output_item.added", "output_index": index, "item": item})
            if item["type"] == "message":
                text = item["content"][0]["text"]
                events += [
                    {
                        "type": "response.output_text.delta",
                        "item_id": item["id"],
                        "output_index": index,
                        "content_index": 0,
                        "delta": piece,
                        "logprobs": [],
                    }
                    for piece in self._pieces(text)
                ]
            elif item["type"] == "function_call":
                events += [
                    {
                        "type": "response.function_call_arguments.delta",
                        "item_id": item["id"],
                        "output_index": index,
                        "delta": piece,
                    }
                    for piece in self._pieces(item["arguments"])
                ]
            events.append({"type": "response.output_item.done", "output_index": index, "item": item})
        events.append({"type": "response.completed", "response": body})
        return [event | {"sequence_number": number} for number, event in enumerate(events)]

    def _chat_events(self, body: dict[str, Any], *, with_usage: bool) -> list[dict[str, Any]]:
        """The Chat stream of `body`: text pieces, each call's id and name then its arguments in pieces, the finish
        reason, and (when asked with stream_options) a last chunk with only the usage."""
        head = {key: body[key] for key in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
        message, finish = body["choices"][0]["message"], body["choices"][0]["finish_reason"]

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            return head | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}

        chunks = [chunk({"role": "assistant", "content": ""})]
        chunks += [chunk({"content": piece}) for piece in self._pieces(message.get("content") or "")]
        for index, call in enumerate(message.get("tool_calls") or ()):
            opening = {
                "index": index,
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""},
            }
            if "id" in call:
                opening["id"] = call["id"]
            chunks.append(chunk({"tool_calls": [opening]}))
            chunks += [
                chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                for piece in self._pieces(call["function"]["arguments"])
            ]
        chunks.append(chunk({}, finish))
        if with_usage and body.get("usage"):
            chunks.append(head | {"choices": [], "usage": body["usage"]})
        return chunks


def _reasoning_problem(request: Any) -> str | None:
    """What OpenAI would refuse about the reasoning items of a stateless (store=False) Responses request."""
    if request.get("store", True):
        return None
    previous: Any = None
    for item in request.get("input") or ():
        kind = item.get("type")
        if kind == "reasoning" and not item.get("encrypted_content"):
            return f"Item '{item.get('id')}' of type 'reasoning' was provided without its required encrypted_content"
        if (
            kind == "function_call"
            and item.get("id")
            and (previous or {}).get("type") not in ("reasoning", "function_call")
        ):
            return f"Item '{item.get('id')}' of type 'function_call' was provided without its required 'reasoning' item"
        previous = item
    return None
