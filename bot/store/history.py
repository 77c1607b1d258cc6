"""Per-channel conversation history: whole turns in, a budgeted window of recent whole turns out."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from bot.engine.items import Item, ToolCall, ToolOutput, UserMessage, item_from_json, item_to_json, repair_history
from bot.engine.tokens import item_tokens
from bot.store.db import Database
from bot.store.timestamps import now_text

log = logging.getLogger(__name__)

MAX_TOOL_CHARS = 20_000


class HistoryStore:
    """Each channel's ordered items (a thread and a DM are channels too), stored and read as whole turns."""

    def __init__(self, db: Database, *, max_tool_chars: int = MAX_TOOL_CHARS) -> None:
        self._db = db
        self._max_tool_chars = max_tool_chars
        self._unreadable: set[tuple[str, int, int]] = set()

    async def append_turn(self, channel_id: str, items: Sequence[Item]) -> int:
        """Store one turn (user message, its calls, outputs and answer) in one transaction, after the channel's last;
        returns its turn number."""
        return await self.save_turn(channel_id, items)

    async def save_turn(self, channel_id: str, items: Sequence[Item], *, turn: int | None = None) -> int:
        """Store a turn as a whole, in one transaction: a new one after the channel's last (`turn` None), or the
        items of turn `turn` replaced by `items` (a turn saved again as it grows); returns the turn number."""
        if not items or not isinstance(items[0], UserMessage):
            raise ValueError("a turn must start with the user message that opened it")
        items = [capped(item, self._max_tool_chars) for item in items]
        rows = [(position, item.kind, item_tokens(item), item_to_json(item)) for position, item in enumerate(items)]
        total = sum(tokens for _, _, tokens, _ in rows)
        now = now_text()
        async with self._db.write(durable=False) as conn:  # a conversation, not a booking: see Database.write
            # One writer per channel at a time, in every process: turn numbers follow the order of the writes.
            await conn.lock("history", channel_id)
            if turn is None:
                row = await conn.fetchone(
                    "SELECT coalesce(max(turn), 0) + 1 FROM history_turns WHERE channel_id = ?", (channel_id,)
                )
                turn = int(row[0]) if row else 1
            else:
                await conn.execute("DELETE FROM history_items WHERE channel_id = ? AND turn = ?", (channel_id, turn))
            await conn.execute(
                "INSERT INTO history_turns (channel_id, turn, item_count, tokens, created_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (channel_id, turn) DO UPDATE SET item_count = excluded.item_count,"
                " tokens = excluded.tokens",
                (channel_id, turn, len(rows), total, now),
            )
            await conn.executemany(
                "INSERT INTO history_items (channel_id, turn, position, kind, tokens, body) VALUES (?, ?, ?, ?, ?, ?)",
                [(channel_id, turn, position, kind, tokens, body) for position, kind, tokens, body in rows],
            )
        return turn

    async def load_window(self, channel_id: str, *, max_turns: int, max_tokens: int) -> list[Item]:
        """The most recent whole turns within both budgets, oldest first, valid for either API.

        At most `max_turns` turns; stops before the turn that would pass `max_tokens`. A newest turn that alone is
        over budget is left out too (the window is then empty): sending it could overflow a small server's context
        on every later message and wedge the channel until its history is cleared.
        Reads only the newest `max_turns` turn rows and their items: the cost does not grow with the history.
        """
        if max_turns < 1:
            return []
        rows = await self._db.fetch(
            "SELECT turn, tokens FROM history_turns WHERE channel_id = ? ORDER BY turn DESC LIMIT ?",
            (channel_id, max_turns),
        )
        recent = [(int(turn), int(tokens)) for turn, tokens in rows]
        if not recent:
            return []
        newest = recent[0][0]
        oldest, spent = None, 0
        for turn, tokens in recent:
            if spent + tokens > max_tokens:
                break
            spent += tokens
            oldest = turn
        if oldest is None:
            return []
        items = await self._db.fetch(
            "SELECT turn, position, body FROM history_items WHERE channel_id = ? AND turn BETWEEN ? AND ?"
            " ORDER BY turn, position",
            (channel_id, oldest, newest),
        )
        return repair_history(
            [
                item
                for turn, position, body in items
                if (item := self._readable((channel_id, int(turn), int(position)), body)) is not None
            ]
        )

    def _readable(self, key: tuple[str, int, int], body: str | bytes) -> Item | None:
        """The item stored in a row, or None for a row this version cannot read (logged once per row)."""
        try:
            return item_from_json(body)
        except (ValueError, RecursionError) as error:  # pydantic's ValidationError is a ValueError
            if key not in self._unreadable:
                self._unreadable.add(key)
                channel_id, turn, position = key
                log.warning(
                    "history item %d of turn %d in channel %s is unreadable and is skipped: %s",
                    position,
                    turn,
                    channel_id,
                    str(error).splitlines()[0],
                )
            return None

    async def clear(self, channel_id: str) -> int:
        """Delete this channel's history (and nothing else); returns how many items were deleted."""
        async with self._db.write() as conn:
            deleted = await conn.execute("DELETE FROM history_items WHERE channel_id = ?", (channel_id,))
            await conn.execute("DELETE FROM history_turns WHERE channel_id = ?", (channel_id,))
        return deleted


class HistoryCheckpoint:
    """Saves one member message's exchange as it grows (the loop's checkpoint): the first save appends it to the
    channel, later saves replace it."""

    def __init__(self, history: HistoryStore, channel_id: str) -> None:
        self._history = history
        self._channel_id = channel_id
        self._turn: int | None = None

    async def save(self, items: Sequence[Item]) -> None:
        """Store the turn's items so far (all of them, in order)."""
        self._turn = await self._history.save_turn(self._channel_id, items, turn=self._turn)


def capped(item: Item, limit: int) -> Item:
    """The item as stored: a tool call's arguments or a tool output longer than `limit` characters is replaced by a
    JSON object that says it was cut and keeps the start, so the replayed history stays valid JSON for both APIs."""
    if isinstance(item, ToolCall) and len(item.arguments) > limit:
        return item.model_copy(update={"arguments": _cut(item.arguments, limit, what="arguments")})
    if isinstance(item, ToolOutput) and len(item.output) > limit:
        return item.model_copy(update={"output": _cut(item.output, limit, what="result")})
    if isinstance(item, UserMessage):  # images keep their names only; their tokens are counted as stored
        return item.without_image_data()
    return item


def _cut(text: str, limit: int, *, what: str) -> str:
    """A JSON object of at most `limit` characters marking `text` as cut, with as much of its start as fits."""
    note = f"{what} {len(text):,} characters long, cut when stored"

    def marked(keep: int) -> str:
        return json.dumps({"truncated": True, "note": note, "partial": text[:keep]}, ensure_ascii=False)

    low, high = 0, limit  # the longest start that fits, found by bisection (escapes make the length uneven)
    while low < high:
        middle = (low + high + 1) // 2
        if len(marked(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    return marked(low)
