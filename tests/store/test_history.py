"""Per-channel history: whole turns, budgeted windows, concurrency and crash safety."""

from __future__ import annotations

import asyncio

import pytest

from bot.engine.items import INTERRUPTED_OUTPUT, AssistantMessage, Item, ToolCall, ToolOutput, UserMessage
from bot.engine.tokens import ITEM_OVERHEAD_TOKENS, estimate_tokens, item_tokens
from bot.store.db import Database, open_database
from bot.store.history import HistoryStore

BIG = 10**9


def turn(label: str, *, calls: int = 0, output_chars: int = 10) -> list[Item]:
    """A turn: the user's message, `calls` tool calls with their outputs, and the answer."""
    items: list[Item] = [UserMessage(text=f"question {label}", author_id="u1", author_name="Ann")]
    if calls:
        call_ids = [f"{label}-call{n}" for n in range(calls)]
        items += [ToolCall(call_id=c, name="weather", arguments='{"city": "Oslo"}') for c in call_ids]
        items += [ToolOutput(call_id=c, output="x" * output_chars) for c in call_ids]
    items.append(AssistantMessage(text=f"answer {label}"))
    return items


def turn_labels(window: list[Item]) -> list[str]:
    """The labels of the turns in a window, in order (one per user message)."""
    return [item.text.removeprefix("question ") for item in window if isinstance(item, UserMessage)]


def assert_well_formed(window: list[Item]) -> None:
    """The window (if any) starts with a user message and every call is paired with its output, call first."""
    assert not window or isinstance(window[0], UserMessage)
    calls = [item.call_id for item in window if isinstance(item, ToolCall)]
    outputs = [item.call_id for item in window if isinstance(item, ToolOutput)]
    assert sorted(calls) == sorted(outputs)
    for item in window:
        if isinstance(item, ToolOutput):
            call_index = next(
                i for i, it in enumerate(window) if isinstance(it, ToolCall) and it.call_id == item.call_id
            )
            assert call_index < window.index(item)


def turn_tokens(items: list[Item]) -> int:
    return sum(item_tokens(item) for item in items)


@pytest.mark.asyncio
async def test_items_come_back_exactly_as_stored_with_author(db: Database) -> None:
    history = HistoryStore(db)
    stored = turn("a", calls=2)
    await history.append_turn("c1", stored)
    assert await history.load_window("c1", max_turns=20, max_tokens=BIG) == stored


@pytest.mark.asyncio
async def test_unknown_channel_has_an_empty_window(db: Database) -> None:
    assert await HistoryStore(db).load_window("nobody", max_turns=20, max_tokens=BIG) == []


@pytest.mark.asyncio
async def test_window_holds_at_most_max_turns_newest_whole_turns(db: Database) -> None:
    history = HistoryStore(db)
    for n in range(5):
        await history.append_turn("c1", turn(str(n), calls=1))
    window = await history.load_window("c1", max_turns=3, max_tokens=BIG)
    assert turn_labels(window) == ["2", "3", "4"]
    assert window == turn("2", calls=1) + turn("3", calls=1) + turn("4", calls=1)


@pytest.mark.asyncio
async def test_window_stops_before_the_turn_that_would_pass_the_token_budget(db: Database) -> None:
    history = HistoryStore(db)
    await history.append_turn("c1", turn("old-small"))
    await history.append_turn("c1", turn("long-output", calls=1, output_chars=20_000))
    await history.append_turn("c1", turn("recent1"))
    await history.append_turn("c1", turn("recent2"))
    budget = turn_tokens(turn("recent1")) + turn_tokens(turn("recent2")) + 100

    window = await history.load_window("c1", max_turns=20, max_tokens=budget)

    # The long tool output does not fit, and nothing older is reached past it.
    assert turn_labels(window) == ["recent1", "recent2"]


@pytest.mark.asyncio
async def test_window_at_exactly_the_budget_includes_the_turn(db: Database) -> None:
    history = HistoryStore(db)
    for label in ("a", "b", "c"):
        await history.append_turn("c1", turn(label))
    exact = turn_tokens(turn("b")) + turn_tokens(turn("c"))
    assert turn_labels(await history.load_window("c1", max_turns=20, max_tokens=exact)) == ["b", "c"]
    assert turn_labels(await history.load_window("c1", max_turns=20, max_tokens=exact - 1)) == ["c"]


@pytest.mark.asyncio
async def test_a_newest_turn_over_the_whole_budget_is_left_out_so_the_channel_keeps_working(db: Database) -> None:
    history = HistoryStore(db, max_tool_chars=100_000)  # stored whole: this test is about the window budget
    await history.append_turn("c1", turn("older"))
    huge = turn("huge", calls=3, output_chars=50_000)
    await history.append_turn("c1", huge)
    assert await history.load_window("c1", max_turns=20, max_tokens=100) == []
    assert await history.load_window("c1", max_turns=20, max_tokens=BIG) == [*turn("older"), *huge]


@pytest.mark.asyncio
async def test_history_window_never_starts_with_a_tool_output_nor_splits_a_call(db: Database) -> None:
    history = HistoryStore(db)
    for n in range(12):
        await history.append_turn("c1", turn(str(n), calls=n % 4, output_chars=(n * 397) % 3000))
    for max_turns in (1, 2, 5, 12, 50):
        for max_tokens in (0, 50, 300, 900, 2500, BIG):
            window = await history.load_window("c1", max_turns=max_turns, max_tokens=max_tokens)
            assert_well_formed(window)
            assert len(turn_labels(window)) <= max_turns
            assert sum(item_tokens(item) for item in window) <= max_tokens


@pytest.mark.asyncio
async def test_call_stored_without_its_output_is_answered_as_interrupted(db: Database) -> None:
    history = HistoryStore(db)
    await history.append_turn(
        "c1",
        [UserMessage(text="hi"), ToolCall(call_id="k", name="weather", arguments="{}"), AssistantMessage(text="?")],
    )
    window = await history.load_window("c1", max_turns=20, max_tokens=BIG)
    assert window[2] == ToolOutput(call_id="k", output=INTERRUPTED_OUTPUT)
    assert_well_formed(window)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "items",
    [[], [AssistantMessage(text="hello")], [ToolOutput(call_id="k", output="{}")]],
    ids=["empty", "assistant-first", "output-first"],
)
async def test_turn_that_does_not_start_with_a_user_message_is_refused(db: Database, items: list[Item]) -> None:
    history = HistoryStore(db)
    with pytest.raises(ValueError, match="user message"):
        await history.append_turn("c1", items)
    assert await history.load_window("c1", max_turns=20, max_tokens=BIG) == []


@pytest.mark.asyncio
async def test_concurrent_appenders_on_one_channel_keep_turn_order_and_whole_turns(db: Database) -> None:
    history = HistoryStore(db)
    channels = {
        "c1": {str(n): turn(str(n), calls=1 + n % 3) for n in range(30)},
        "c2": {f"other{n}": turn(f"other{n}") for n in range(10)},
    }

    numbers = await asyncio.gather(
        *(history.append_turn(channel, items) for channel, turns in channels.items() for items in turns.values())
    )

    given = iter(numbers)
    for channel, turns in channels.items():
        numbered = {next(given): label for label in turns}
        assert sorted(numbered) == list(range(1, len(turns) + 1))  # one number per append, none skipped
        in_number_order = [numbered[number] for number in sorted(numbered)]
        window = await history.load_window(channel, max_turns=100, max_tokens=BIG)
        assert turn_labels(window) == in_number_order
        assert window == [item for label in in_number_order for item in turns[label]]
        if db.dialect == "sqlite":  # one FIFO writer: the numbers also follow the order the appends were made
            assert in_number_order == list(turns)


CRASH_ON_THIRD_ITEM = {
    "sqlite": [
        "CREATE TRIGGER crash BEFORE INSERT ON history_items WHEN NEW.position = 2 "
        "BEGIN SELECT RAISE(ABORT, 'simulated crash'); END"
    ],
    "postgres": [
        "CREATE FUNCTION crash() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RAISE EXCEPTION ''simulated crash''; END'",
        "CREATE TRIGGER crash BEFORE INSERT ON history_items FOR EACH ROW WHEN (NEW.position = 2) EXECUTE FUNCTION crash()",
    ],
}


@pytest.mark.asyncio
async def test_crash_between_items_of_a_turn_writes_nothing_of_that_turn(db: Database) -> None:
    history = HistoryStore(db)
    await history.append_turn("c1", turn("before", calls=1))
    # Make the database fail while the third item of the next turn (after the first call) is being written.
    async with db.write() as conn:
        for statement in CRASH_ON_THIRD_ITEM[db.dialect]:
            await conn.execute(statement)

    with pytest.raises(Exception, match="simulated crash"):
        await history.append_turn("c1", turn("crashed", calls=2))

    async with db.write() as conn:
        await conn.execute("DROP TRIGGER crash" + (" ON history_items" if db.dialect == "postgres" else ""))
    await history.append_turn("c1", turn("after", calls=1))
    window = await history.load_window("c1", max_turns=20, max_tokens=BIG)
    assert window == turn("before", calls=1) + turn("after", calls=1)


@pytest.mark.asyncio
async def test_history_survives_reopening_the_database(database_url: str) -> None:
    db = await open_database(database_url)
    await HistoryStore(db).append_turn("c1", turn("a", calls=1))
    await db.close()
    db = await open_database(database_url)
    try:
        assert await HistoryStore(db).load_window("c1", max_turns=20, max_tokens=BIG) == turn("a", calls=1)
    finally:
        await db.close()


@pytest.mark.asyncio
async def test_clear_deletes_only_that_channels_items(db: Database) -> None:
    history = HistoryStore(db)
    await history.append_turn("c1", turn("a", calls=2))  # 6 items
    await history.append_turn("c1", turn("b"))  # 2 items
    await history.append_turn("c2", turn("kept", calls=1))

    assert await history.clear("c1") == 8

    assert await history.load_window("c1", max_turns=20, max_tokens=BIG) == []
    assert await history.load_window("c2", max_turns=20, max_tokens=BIG) == turn("kept", calls=1)
    assert await history.clear("c1") == 0
    await history.append_turn("c1", turn("fresh"))
    assert turn_labels(await history.load_window("c1", max_turns=20, max_tokens=BIG)) == ["fresh"]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("abcd" * 10, 10),
        ("abcde", 2),
        ("你好世界", 4),
        ("こんにちは", 5),
        ("한국어", 3),
        ("hi 你好", 3),  # "hi " -> 1, two CJK -> 2
        ("héllo wörld", 4),  # 9 ASCII chars -> 3, two other letters -> 1
    ],
)
def test_token_estimate_counts_ascii_by_four_and_cjk_by_one(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


def test_item_estimate_adds_a_per_item_overhead_and_counts_the_speaker() -> None:
    message = UserMessage(text="abcd" * 10, author_id="1", author_name="Ann")  # '[member 1 "Ann"]\n' + 40 = 57
    assert item_tokens(message) == 15 + ITEM_OVERHEAD_TOKENS


@pytest.mark.asyncio
async def test_an_unreadable_row_in_the_middle_of_a_window_is_skipped_and_logged_once(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    history = HistoryStore(db)
    for label in ("a", "b", "c"):
        await history.append_turn("ch", turn(label))
    async with db.write() as conn:
        await conn.execute(
            "UPDATE history_items SET body = ? WHERE channel_id = 'ch' AND turn = 2 AND position = 1",
            ('{"kind": "assistant", "text": "from a newer version", "voice": "alto"}',),
        )
    with caplog.at_level("WARNING", logger="bot.store.history"):
        first = await history.load_window("ch", max_turns=20, max_tokens=BIG)
        second = await history.load_window("ch", max_turns=20, max_tokens=BIG)
    assert first == second
    assert turn_labels(first) == ["a", "b", "c"]
    assert AssistantMessage(text="answer b") not in first and AssistantMessage(text="answer c") in first
    assert_well_formed(first)
    assert len([r for r in caplog.records if "unreadable" in r.getMessage()]) == 1


@pytest.mark.asyncio
async def test_a_turn_saved_again_as_it_grows_replaces_itself(db: Database) -> None:
    history = HistoryStore(db)
    await history.append_turn("ch", turn("a"))
    partial = turn("b", calls=1)[:2]
    number = await history.save_turn("ch", partial)
    assert await history.save_turn("ch", turn("b", calls=1), turn=number) == number
    window = await history.load_window("ch", max_turns=20, max_tokens=BIG)
    assert window == turn("a") + turn("b", calls=1)
