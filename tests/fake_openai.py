"""A scriptable local OpenAI-compatible server (aiohttp on 127.0.0.1, port 0) for tests, benchmarks and `check`.

    async with FakeOpenAI() as server:
        server.reply_calls(("add", {"a": 1, "b": 2}))
        server.reply_text("3")
        async with server.client() as client:  # a real openai.AsyncOpenAI at server.base_url

Every request is answered, in order of priority, by: a pending `fail()`, the next enqueued reply, the `responder`
callback. With none of those the server answers 500 "script ran out", so a test that under-scripts fails loudly.
Both wire formats are served from the same script: POST /v1/responses and POST /v1/chat/completions.
Error answers carry `retry-after-ms` so the SDK's own retries stay fast.
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
    responder: Responder | None = None
    retry_after_ms: int = 5
    requests: list[RecordedRequest] = field(default_factory=list, init=False)
    _script: deque[FakeReply] = field(default_factory=deque, init=False)
    _failures: deque[FakeFailure] = field(default_factory=deque, init=False)
    _server: TestServer | None = field(default=None, init=False)
    _ids: itertools.count[int] = field(default_factory=itertools.count, init=False)

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
        outcome = await self._next(recorded)
        if isinstance(outcome, FakeFailure):
            return self._error(outcome)
        return web.json_response(self._responses_body(recorded.json, outcome))

    async def _chat(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        quirk = self._chat_quirk(recorded.json)
        if quirk is not None:
            return self._error(FakeFailure(500, {"error": {"code": 500, "message": quirk, "type": "server_error"}}))
        outcome = await self._next(recorded)
        if isinstance(outcome, FakeFailure):
            return self._error(outcome)
        return web.json_response(self._chat_body(recorded.json, outcome))

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
            output.append({"type": "reasoning", "id": f"rs_{uuid.uuid4().hex}", "summary": []})
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
            "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
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
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
