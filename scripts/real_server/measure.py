"""Measures how a real OpenAI-compatible server answers the requests Concierge sends; prints JSON results.

    .venv/bin/python scripts/real_server/measure.py http://127.0.0.1:8008/v1 > /tmp/measure.json

Every probe is plain HTTP (the exact JSON on the wire), plus two through the `openai` client to see what the SDK
makes of the answers. The tool schemas are derived exactly as `bot.engine.tools` derives them (strict JSON schema).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import openai
from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel, Field

SYSTEM = "You are Concierge, a helpful assistant in a Discord server. Use a tool when one fits the question."


class CalculateArgs(BaseModel):
    """Arguments of the calculator tool."""

    expression: str = Field(description="An arithmetic expression such as 12 * (3 + 4)")


class WeatherArgs(BaseModel):
    """Arguments of the weather tool."""

    city: str = Field(description="City name, e.g. Paris")


def function_tool(name: str, description: str, model: type[BaseModel]) -> dict[str, Any]:
    """A nested Chat Completions tool, as the bot's chat adapter renders it."""
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": to_strict_json_schema(model),
            "strict": True,
        },
    }


CALCULATE = function_tool("calculate", "Evaluate an arithmetic expression and return the number.", CalculateArgs)
WEATHER = function_tool("get_weather", "Current weather for a city.", WeatherArgs)
TOOLS = [CALCULATE, WEATHER]
MATH_QUESTION = "What is 1234 * 5678? Use the calculator."
BOTH_QUESTION = "What is 2 + 2, and what is the weather in Paris? Use the tools for both."


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and what came back."""

    probe: str
    method: str
    path: str
    status: int
    seconds: float
    request: Any
    response: Any


@dataclass
class Report:
    """Everything measured, ready to dump as JSON."""

    base_url: str
    exchanges: list[Exchange] = field(default_factory=list)
    timings: dict[str, dict[str, float]] = field(default_factory=dict)
    tool_call_ids: list[str] = field(default_factory=list)
    calls_per_reply: dict[str, dict[str, int]] = field(default_factory=dict)
    sdk: dict[str, str] = field(default_factory=dict)
    concurrency: dict[str, float] = field(default_factory=dict)
    finish_reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    stalled_at: str = ""


class Stalled(Exception):
    """A request got no answer in time: the server is still busy with it, so later probes would only time out."""


def send(base_url: str, method: str, path: str, body: Any | None = None, *, timeout: float = 120) -> tuple[int, Any]:
    """One request; the status and the decoded body (text when it is not JSON); status 0 when it timed out."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except TimeoutError:
        return 0, f"no answer within {timeout:.0f} s"
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def chat(messages: list[dict[str, Any]], *, max_tokens: int | None = 256, **options: Any) -> dict[str, Any]:
    """A chat request body with the bot's system message first and, unless None, a cap on generated tokens."""
    body = {"model": "gemma-3-270m", "messages": [{"role": "system", "content": SYSTEM}, *messages], **options}
    return body if max_tokens is None else {**body, "max_tokens": max_tokens}


def probe(report: Report, name: str, method: str, path: str, body: Any | None = None) -> Exchange:
    """Send one request and record it."""
    started = time.perf_counter()
    status, answer = send(report.base_url, method, path, body)
    exchange = Exchange(name, method, path, status, round(time.perf_counter() - started, 3), body, answer)
    report.exchanges.append(exchange)
    print(f"{name}: {status} in {exchange.seconds:.2f} s", file=sys.stderr)
    if status == 0:
        raise Stalled(name)
    for call in tool_calls(answer):
        report.tool_call_ids.append(call.get("id", "<missing>"))
    return exchange


def tool_calls(answer: Any) -> list[dict[str, Any]]:
    """The tool calls of the first choice of a chat completion, or []."""
    try:
        return list(answer["choices"][0]["message"].get("tool_calls") or [])
    except (KeyError, IndexError, TypeError, AttributeError):
        return []


def finish_reason(answer: Any) -> str:
    """The first choice's finish_reason, or what went wrong instead."""
    try:
        return str(answer["choices"][0]["finish_reason"])
    except (KeyError, IndexError, TypeError):
        return "no choice" if not isinstance(answer, str) else answer[:40]


def assistant_with_calls(content_form: str) -> list[dict[str, Any]]:
    """A finished tool round as history: the assistant's call (content missing, null or "") and the tool output."""
    assistant: dict[str, Any] = {
        "role": "assistant",
        "tool_calls": [
            {
                "id": "call_abc123",
                "type": "function",
                "function": {"name": "calculate", "arguments": json.dumps({"expression": "1234 * 5678"})},
            }
        ],
    }
    if content_form == "null":
        assistant["content"] = None
    elif content_form == "empty":
        assistant["content"] = ""
    return [
        {"role": "user", "content": MATH_QUESTION},
        assistant,
        {"role": "tool", "tool_call_id": "call_abc123", "content": json.dumps({"result": 7006652})},
    ]


def timed(report: Report, name: str, body: dict[str, Any], repeats: int) -> None:
    """Repeat one request and keep the median, min and max seconds."""
    seconds = [probe(report, f"{name} #{i + 1}", "POST", "/chat/completions", body).seconds for i in range(repeats)]
    finished = Counter(finish_reason(exchange.response) for exchange in report.exchanges[-repeats:])
    report.finish_reasons[name] = dict(finished)
    report.timings[name] = {
        "median": round(statistics.median(seconds), 3),
        "min": min(seconds),
        "max": max(seconds),
        "n": repeats,
    }


def count_calls(report: Report, name: str, body: dict[str, Any], repeats: int) -> None:
    """How many tool calls each of several replies holds (parallel calls show up as counts above 1)."""
    counts: Counter[int] = Counter()
    for i in range(repeats):
        counts[len(tool_calls(probe(report, f"{name} #{i + 1}", "POST", "/chat/completions", body).response))] += 1
    report.calls_per_reply[name] = {str(calls): times for calls, times in sorted(counts.items())}


async def two_at_once(report: Report) -> None:
    """Whether two simultaneous requests are served side by side or one after the other."""
    body = chat([{"role": "user", "content": "Say hello in one line."}], max_tokens=24)
    started = time.perf_counter()
    send(report.base_url, "POST", "/chat/completions", body)
    one = time.perf_counter() - started
    started = time.perf_counter()
    await asyncio.gather(
        *(asyncio.to_thread(send, report.base_url, "POST", "/chat/completions", body) for _ in range(2))
    )
    report.concurrency = {"one_request_s": round(one, 3), "two_at_once_s": round(time.perf_counter() - started, 3)}


async def through_sdk(report: Report) -> None:
    """What the openai client makes of the server: a parsed tool call, and the error for /responses."""
    client = openai.AsyncOpenAI(api_key="no-key-needed", base_url=report.base_url, max_retries=0, timeout=300)
    try:
        completion = await client.chat.completions.create(
            model="gemma-3-270m",
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": MATH_QUESTION}],
            tools=TOOLS,
            tool_choice={"type": "function", "function": {"name": "calculate"}},
            max_tokens=256,
        )
        message = completion.choices[0].message
        report.sdk["chat_named"] = (
            f"finish_reason={completion.choices[0].finish_reason!r} content={message.content!r} "
            f"tool_calls={[(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []]}"
        )
        try:
            response = await client.responses.create(model="gemma-3-270m", input="Say hello.")
            report.sdk["responses"] = f"ok: {response.output_text!r}"
        except openai.OpenAIError as error:
            report.sdk["responses"] = f"{type(error).__name__}: {error}"
        models = await client.models.list()
        report.sdk["models"] = repr([model.id for model in models.data])
    finally:
        await client.close()


def measure(base_url: str, *, repeats: int) -> Report:
    """Run every probe against one server; stop at the first request that gets no answer."""
    report = Report(base_url=base_url.rstrip("/"))
    try:
        probe_all(report, repeats=repeats)
    except Stalled as stalled:
        report.stalled_at = str(stalled)
    return report


def probe_all(report: Report, *, repeats: int) -> None:
    """Every probe, in order."""
    probe(report, "models", "GET", "/models")
    probe(report, "plain", "POST", "/chat/completions", chat([{"role": "user", "content": "Say hello in one line."}]))
    ask = [{"role": "user", "content": MATH_QUESTION}]
    probe(report, "tools, no tool_choice", "POST", "/chat/completions", chat(ask, tools=TOOLS))
    for choice in ("auto", "required", "none"):
        probe(report, f"tool_choice {choice}", "POST", "/chat/completions", chat(ask, tools=TOOLS, tool_choice=choice))
    named = {"type": "function", "function": {"name": "calculate"}}
    probe(report, "tool_choice named", "POST", "/chat/completions", chat(ask, tools=TOOLS, tool_choice=named))
    unknown = {"type": "function", "function": {"name": "no_such_tool"}}
    probe(
        report,
        "tool_choice named, unknown tool",
        "POST",
        "/chat/completions",
        chat(ask, tools=TOOLS, tool_choice=unknown),
    )
    probe(report, "tool_choice auto, no tools", "POST", "/chat/completions", chat(ask, tool_choice="auto"))
    probe(
        report,
        "parallel_tool_calls false",
        "POST",
        "/chat/completions",
        chat(ask, tools=TOOLS, tool_choice="auto", parallel_tool_calls=False),
    )
    probe(report, "store false", "POST", "/chat/completions", chat(ask, store=False))
    for form in ("missing", "null", "empty"):
        probe(
            report,
            f"assistant tool_calls, content {form}",
            "POST",
            "/chat/completions",
            chat(assistant_with_calls(form), tools=TOOLS, tool_choice="auto"),
        )
    probe(report, "responses", "POST", "/responses", {"model": "gemma-3-270m", "input": "Say hello."})
    timed(report, "plain", chat([{"role": "user", "content": "Say hello in one line."}]), repeats)
    timed(report, "tool_choice auto", chat(ask, tools=TOOLS, tool_choice="auto"), repeats)
    timed(report, "tool_choice named", chat(ask, tools=TOOLS, tool_choice=named), repeats)
    timed(report, "after a tool round", chat(assistant_with_calls("empty"), tools=TOOLS, tool_choice="auto"), repeats)
    both = [{"role": "user", "content": BOTH_QUESTION}]
    count_calls(report, "two-part question, auto", chat(both, tools=TOOLS, tool_choice="auto"), repeats)
    count_calls(report, "two-part question, required", chat(both, tools=TOOLS, tool_choice="required"), repeats)
    timed(
        report,
        "tool_choice named, max_tokens 512",
        chat(ask, tools=TOOLS, tool_choice=named, max_tokens=512),
        2 * repeats,
    )
    asyncio.run(two_at_once(report))
    asyncio.run(through_sdk(report))


def main() -> None:
    """Parse arguments, measure, print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="e.g. http://127.0.0.1:8008/v1")
    parser.add_argument("--repeats", type=int, default=5, help="requests per timing and per parallel-call count")
    arguments = parser.parse_args()
    report = measure(arguments.base_url, repeats=arguments.repeats)
    json.dump(asdict(report), sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
