"""The seam between the loop and an OpenAI API: one small adapter per wire format."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeGuard, get_args

from bot.engine.items import Item, Reasoning, ToolCall
from bot.engine.progress import Progress

ToolChoiceMode = Literal["auto", "required", "none"]
"""How freely the model may use its tools: as it likes, at least one, none."""
TOOL_CHOICE_MODES: tuple[ToolChoiceMode, ...] = get_args(ToolChoiceMode)
ToolChoice = str
"""A ToolChoiceMode, or the name of the one tool the model must call."""


def is_mode(choice: ToolChoice) -> TypeGuard[ToolChoiceMode]:
    """True for 'auto', 'required' and 'none'; False for a tool's name."""
    return choice in TOOL_CHOICE_MODES


def is_forced(choice: ToolChoice) -> bool:
    """True when the model must call a tool: 'required' or a tool's name."""
    return choice not in ("auto", "none")


ApiKind = Literal["responses", "chat"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as offered to the model: the API-neutral form each adapter renders."""

    name: str
    description: str
    parameters: dict[str, Any]
    strict: bool = True


@dataclass(frozen=True, slots=True)
class Usage:
    """The tokens one model request cost; `estimated` when the server reported none and they were counted here."""

    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        """Input plus output (cached input and reasoning are parts of those)."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class ModelReply:
    """One model response: text (maybe empty), the calls it asked for in order, the reasoning that led to them
    (Responses API only), and what it cost if the server said."""

    text: str
    calls: tuple[ToolCall, ...] = field(default_factory=tuple)
    reasoning: tuple[Reasoning, ...] = field(default_factory=tuple)
    usage: Usage | None = None
    model: str = ""  # the model that answered, as the server names it ("" when it did not say)
    finish_reason: str = ""  # why it stopped, in Chat terms (stop, length, tool_calls, content_filter; "" unknown)


class ModelAPI(Protocol):
    """One request/response with a model, in the loop's own terms."""

    async def respond(
        self,
        *,
        instructions: str,
        items: Sequence[Item],
        tools: Sequence[ToolSpec],
        tool_choice: ToolChoice,
        progress: Progress | None = None,
        cache_key: str | None = None,
    ) -> ModelReply:
        """Send the conversation and return the reply; raise a ModelError subclass on failure.

        With `progress`, an adapter that streams reports the text as it arrives (answer_delta) and, if it has to
        start over, says so (answer_discarded). `cache_key` is a stable key for the server's prompt cache.
        """
        ...
