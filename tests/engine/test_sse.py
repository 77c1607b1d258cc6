"""Server-sent events read as plain JSON: the parts of the format servers really use, and every way a stream fails."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from bot.engine.api.sse import JsonView, StreamFailed, json_events, viewed


class Lines:
    def __init__(self, lines: Sequence[str], *, then: Exception | None = None) -> None:
        self._lines = lines
        self._then = then

    async def iter_lines(self) -> AsyncIterator[str]:
        for line in self._lines:
            yield line
        if self._then is not None:
            raise self._then


async def read(source: Lines) -> list[dict[str, object]]:
    return [event async for event in json_events(source)]


@pytest.mark.asyncio
async def test_events_come_in_order_with_names_comments_and_split_data_lines_understood() -> None:
    lines = [
        ": keep-alive",
        "event: response.output_text.delta",
        'data: {"type": "response.output_text.delta",',
        'data:  "delta": "Hel"}',
        "",
        "",
        'data: {"type": "response.output_text.delta", "delta": "lo"}',
        "",
        "data: [DONE]",
        "",
        'data: {"type": "never read"}',
        "",
    ]
    events = await read(Lines(lines))
    assert [event["delta"] for event in events] == ["Hel", "lo"]


@pytest.mark.asyncio
async def test_a_last_event_without_its_blank_line_is_still_read() -> None:
    assert await read(Lines(['data: {"choices": []}'])) == [{"choices": []}]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "source",
    [
        Lines(['data: {"error": {"message": "overloaded"}}', ""]),
        Lines(['data: {"type": "error", "error": {"code": "server_error"}}', ""]),
        Lines(["data: {not json", ""]),
        Lines(['data: {"delta": "x"}', ""], then=ConnectionResetError("peer closed")),
    ],
    ids=["error object", "error event", "not json", "connection dropped"],
)
async def test_a_failing_stream_raises_stream_failed(source: Lines) -> None:
    with pytest.raises(StreamFailed):
        await read(source)


def test_structural_events_read_like_the_sdks_models_with_missing_fields_as_none() -> None:
    item = viewed({"type": "function_call", "call_id": "c1", "summary": [{"text": "thought"}]})
    assert isinstance(item, JsonView)
    assert (item.type, item.call_id, item.arguments) == ("function_call", "c1", None)
    assert [part.text for part in item.summary] == ["thought"]
