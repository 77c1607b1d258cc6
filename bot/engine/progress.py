"""What a turn reports while it runs: tool calls starting, waiting and ending, and the answer as it is written.

The methods are plain calls that must return at once: the chat platform records the news and shows it on its own
schedule (e.g. a throttled message edit), so a slow platform never slows the tools or the model down.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.engine.executor import TraceEntry
    from bot.engine.items import ToolCall


class Progress(Protocol):
    """Receives a turn's events as they happen."""

    def tool_started(self, call: ToolCall) -> None:
        """A call has been taken up (it is being checked and run)."""
        ...

    def tool_waiting(self, call: ToolCall) -> None:
        """A call waits for the member to confirm it."""
        ...

    def tool_finished(self, entry: TraceEntry) -> None:
        """A call ended, as the trace will show it."""
        ...

    def answer_delta(self, text: str) -> None:
        """More of the answer, as the model writes it (only when streaming)."""
        ...

    def answer_discarded(self) -> None:
        """The text streamed since the last call was not the answer: the model went on to call tools."""
        ...


class NoProgress:
    """Reports to nobody: for places with nothing to show progress in, and tests."""

    def tool_started(self, call: ToolCall) -> None:
        """Ignore."""

    def tool_waiting(self, call: ToolCall) -> None:
        """Ignore."""

    def tool_finished(self, entry: TraceEntry) -> None:
        """Ignore."""

    def answer_delta(self, text: str) -> None:
        """Ignore."""

    def answer_discarded(self) -> None:
        """Ignore."""
