"""One turn as it happens in Discord: a progress message listing the tool calls, the answer streaming into
messages, and the final reply put into those same messages (the engine's Progress, done with throttled edits)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.discord_adapter.messages import ENGLISH, Language, say
from bot.discord_adapter.render import MESSAGE_LIMIT, Outgoing, call_line, open_fence, split_message, status_line
from bot.discord_adapter.throttle import Clock, LiveMessage, MonotonicClock, Send

if TYPE_CHECKING:
    from bot.engine.executor import TraceEntry
    from bot.engine.items import ToolCall

PROGRESS_LIMIT = MESSAGE_LIMIT - 100  # room for the title and the "earlier calls" line
_RUNNING_MARK = "⏳"
_WAITING_MARK = "🔔"


class DeliveryFailed(Exception):
    """A message of the final reply could not be shown at all."""


@dataclass(frozen=True, slots=True)
class CallState:
    """One call on the progress message: running, waiting for the member, or ended as the trace shows it."""

    tool: str
    arguments: str
    waiting: bool = False
    ended: TraceEntry | None = None


def progress_text(calls: Sequence[CallState], language: Language = ENGLISH, *, limit: int = PROGRESS_LIMIT) -> str:
    """The progress message: a title and one line per call, oldest first; the oldest are folded away past `limit`."""
    lines = [_call_state_line(call, language) for call in calls]
    shown: list[str] = []
    used = 0
    for line in reversed(lines):
        if used + len(line) + 1 > limit:
            break
        shown.insert(0, line)
        used += len(line) + 1
    if len(shown) < len(lines):
        shown.insert(0, say(language, "progress.earlier", count=len(lines) - len(shown)))
    return "\n".join([f"-# {say(language, 'progress.title')}", *shown])


def _call_state_line(call: CallState, language: Language) -> str:
    if call.ended is not None:
        entry = call.ended
        return call_line(
            tool=entry.tool,
            arguments=entry.arguments,
            outcome=entry.outcome,
            duration_ms=entry.duration_ms,
            language=language,
        )
    if call.waiting:
        word = say(language, "progress.waiting")
        return status_line(mark=_WAITING_MARK, tool=call.tool, arguments=call.arguments, word=word)
    word = say(language, "progress.running")
    return status_line(mark=_RUNNING_MARK, tool=call.tool, arguments=call.arguments, word=word)


def streaming_chunks(text: str, *, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The messages for an answer still being written: split as the final one will be, with a code block still
    open at the end closed for display (the final edit shows the text exactly as written)."""
    if not text.strip():
        return []
    chunks = split_message(text, limit=limit - 4)  # room to close an open code block
    fence = open_fence(chunks[-1])
    if fence is not None:
        chunks[-1] += "\n```"
    return chunks


class LiveReply:
    """The engine's Progress for one turn in one Discord conversation, and the final delivery of its reply.

    Progress methods only record the news and ask the messages to show it (throttled, in the background);
    `deliver` then puts the final reply into the messages already posted and waits until all of it is shown.
    """

    def __init__(
        self,
        *,
        first: Send,
        rest: Send | None = None,
        asker_id: int,
        language: Language = ENGLISH,
        clock: Clock | None = None,
        limit: int = MESSAGE_LIMIT,
    ) -> None:
        self._first = first
        self._rest = rest or first
        self._asker_id = asker_id
        self._language = language
        self._clock = clock or MonotonicClock()
        self._limit = limit
        self._calls: dict[str, CallState] = {}
        self._progress: LiveMessage | None = None
        self._answer_text = ""
        self._answer: list[LiveMessage] = []
        self._retired: list[LiveMessage] = []
        self._last: LiveMessage | None = None

    # -- Progress -------------------------------------------------------------------------------------------

    def tool_started(self, call: ToolCall) -> None:
        """Add the call to the progress message (posting it with the first call)."""
        if call.call_id not in self._calls:
            self._calls[call.call_id] = CallState(tool=call.name, arguments=call.arguments)
            self._show_progress()

    def tool_waiting(self, call: ToolCall) -> None:
        """Mark the call as waiting for the member's confirmation."""
        known = self._calls.get(call.call_id) or CallState(tool=call.name, arguments=call.arguments)
        self._calls[call.call_id] = CallState(tool=known.tool, arguments=known.arguments, waiting=True)
        self._show_progress()

    def tool_finished(self, entry: TraceEntry) -> None:
        """Show how the call ended."""
        self._calls[entry.call_id] = CallState(tool=entry.tool, arguments=entry.arguments, ended=entry)
        self._show_progress()

    def answer_delta(self, text: str) -> None:
        """Show the answer so far, continuing in new messages past the length limit."""
        self._answer_text += text
        for index, chunk in enumerate(streaming_chunks(self._answer_text, limit=self._limit)):
            if index == len(self._answer):
                self._answer.append(self._new_message())
            self._answer[index].show(chunk)

    def answer_discarded(self) -> None:
        """The text streamed so far was not the answer: its first message becomes the progress message (the model
        is about to call tools), any others are deleted; the answer starts again from nothing."""
        self._answer_text = ""
        messages, self._answer = self._answer, []
        if messages and self._progress is None:
            self._progress = messages.pop(0)
            self._show_progress()
        for message in messages:
            message.delete()
            self._retired.append(message)

    # -- the final reply ------------------------------------------------------------------------------------

    async def deliver(self, outgoing: Sequence[Outgoing]) -> None:
        """Show the finished reply: the answer's messages become its chunks (new ones are sent past them, extra
        ones deleted), and the progress message becomes the trace. Raises DeliveryFailed if a chunk was lost."""
        outgoing = list(outgoing)
        if self._progress is not None and outgoing and outgoing[-1].embed is not None:
            self._progress.show(None, embed=outgoing[-1].embed)
            outgoing[-1] = Outgoing(content=outgoing[-1].content)
        messages: list[LiveMessage] = []
        for index, message in enumerate(outgoing):
            live = self._answer[index] if index < len(self._answer) else self._new_message()
            live.show(message.content, embed=message.embed)
            messages.append(live)
        for extra in self._answer[len(outgoing) :]:
            extra.delete()
            self._retired.append(extra)
        self._answer = messages
        for live in [*messages, *([self._progress] if self._progress else []), *self._retired]:
            await live.settle()
        lost = next((live.error for live in messages if live.error is not None), None)
        if lost is not None:
            raise DeliveryFailed("a message of the reply could not be sent") from lost

    # -- helpers --------------------------------------------------------------------------------------------

    def _show_progress(self) -> None:
        if self._progress is None:
            self._progress = self._new_message()
        self._progress.show(progress_text(list(self._calls.values()), self._language))

    def _new_message(self) -> LiveMessage:
        send = self._first if self._last is None else self._rest
        message = LiveMessage(send, asker_id=self._asker_id, clock=self._clock, after=self._last)
        self._last = message
        return message
