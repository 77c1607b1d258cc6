"""History items: storage round trip and deterministic repair."""

from __future__ import annotations

from bot.engine.items import (
    INTERRUPTED_OUTPUT,
    AssistantMessage,
    ToolCall,
    ToolOutput,
    UserMessage,
    item_from_json,
    item_to_json,
    repair_history,
)


def test_items_survive_a_storage_round_trip_exactly() -> None:
    items = [
        UserMessage(text="北京天气?", author_id="1", author_name="Ann"),
        AssistantMessage(text="Let me check."),
        ToolCall(call_id="call__0_get_weather_cmpl-x", name="get_weather", arguments='{"city": "北京"}'),
        ToolOutput(call_id="call__0_get_weather_cmpl-x", output='{"temperature": 3}'),
    ]
    assert [item_from_json(item_to_json(item)) for item in items] == items


def test_user_text_carries_the_speakers_label() -> None:
    assert UserMessage(text="hi", author_id="5", author_name="Ann").as_prompt() == '[member 5 "Ann"]\nhi'
    assert UserMessage(text="hi").as_prompt() == "hi"


def test_valid_history_is_left_untouched() -> None:
    items = [
        UserMessage(text="a"),
        ToolCall(call_id="1", name="t", arguments="{}"),
        ToolCall(call_id="2", name="t", arguments="{}"),
        ToolOutput(call_id="2", output="{}"),
        ToolOutput(call_id="1", output="{}"),
        ToolCall(call_id="3", name="t", arguments="{}"),
        ToolOutput(call_id="3", output="{}"),
        AssistantMessage(text="b"),
    ]
    assert repair_history(items) == items


def test_a_call_without_output_gets_an_interrupted_output_in_place() -> None:
    items = [UserMessage(text="a"), ToolCall(call_id="1", name="t", arguments="{}"), UserMessage(text="again")]
    assert repair_history(items) == [
        UserMessage(text="a"),
        ToolCall(call_id="1", name="t", arguments="{}"),
        ToolOutput(call_id="1", output=INTERRUPTED_OUTPUT),
        UserMessage(text="again"),
    ]


def test_orphan_and_duplicate_outputs_are_dropped() -> None:
    items = [
        ToolOutput(call_id="ghost", output="{}"),
        UserMessage(text="a"),
        ToolCall(call_id="1", name="t", arguments="{}"),
        ToolOutput(call_id="1", output="first"),
        ToolOutput(call_id="1", output="second"),
    ]
    assert repair_history(items) == [
        UserMessage(text="a"),
        ToolCall(call_id="1", name="t", arguments="{}"),
        ToolOutput(call_id="1", output="first"),
    ]


def test_a_late_output_after_a_new_round_started_is_not_reordered_into_validity() -> None:
    items = [
        ToolCall(call_id="1", name="t", arguments="{}"),
        ToolCall(call_id="2", name="t", arguments="{}"),
        ToolOutput(call_id="1", output="x"),
        ToolCall(call_id="3", name="t", arguments="{}"),
        ToolOutput(call_id="2", output="late"),
        ToolOutput(call_id="3", output="y"),
    ]
    repaired = repair_history(items)
    assert repaired == [
        ToolCall(call_id="1", name="t", arguments="{}"),
        ToolCall(call_id="2", name="t", arguments="{}"),
        ToolOutput(call_id="1", output="x"),
        ToolOutput(call_id="2", output=INTERRUPTED_OUTPUT),
        ToolCall(call_id="3", name="t", arguments="{}"),
        ToolOutput(call_id="3", output="y"),
    ]
