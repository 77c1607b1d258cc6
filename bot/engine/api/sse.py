"""Streamed answers read as plain JSON events, without the openai SDK's per-event models.

The SDK builds a validated model for every server-sent event (one per token or so): about half of what a streamed
answer costs on our side (measured with cProfile). Both adapters read the raw stream instead (the SDK still sends
the request, retries, and raises its errors for refused requests), decode each event's JSON, and read the few
structural events (items, usage) through `JsonView`, which reads like the SDK's models.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Protocol


class LineSource(Protocol):
    """What the SDK's streaming response gives: the body line by line."""

    def iter_lines(self) -> AsyncIterator[str]: ...


class StreamFailed(Exception):
    """The stream broke: the server put an error into it, the connection dropped, or an event was not JSON."""


async def json_events(response: LineSource) -> AsyncIterator[dict[str, Any]]:
    """The stream's events as JSON objects, in order; ends at `[DONE]` or the end of the body. An event that carries
    an error (the SDK raises on those too), a broken connection or undecodable JSON raises StreamFailed."""
    data: list[str] = []
    lines = response.iter_lines()
    while True:
        try:
            line = await anext(lines)
        except StopAsyncIteration:
            break
        except Exception as error:  # whatever the HTTP library raises when the connection breaks
            raise StreamFailed(f"reading the stream failed: {type(error).__name__}") from error
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
            continue
        if line or not data:
            continue  # "event:", "id:", comments, or a blank line with nothing pending
        text, data = "\n".join(data), []
        if text == "[DONE]":
            return
        event = _decoded(text)
        if event is not None:
            yield event
    if data and data != ["[DONE]"]:
        event = _decoded("\n".join(data))
        if event is not None:
            yield event


def _decoded(text: str) -> dict[str, Any] | None:
    """One event's JSON object (None for other JSON values); an error event raises StreamFailed."""
    try:
        event = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise StreamFailed("an event was not JSON") from error
    if not isinstance(event, dict):
        return None
    if event.get("error") is not None and event.get("type") in (None, "error"):
        raise StreamFailed("the server reported an error")
    return event


class JsonView:
    """A JSON object read by attribute, as the SDK's models are read: a missing field reads as None."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        try:
            value = self._data[name]
        except KeyError:
            return None
        return viewed(value)


def viewed(value: Any) -> Any:
    """Objects as JsonView, lists of them as lists of views; other values as they are."""
    if isinstance(value, dict):
        return JsonView(value)
    if isinstance(value, list):
        return [viewed(entry) for entry in value]
    return value
