"""The seam between the loop and an OpenAI API: one small adapter per wire format."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot.engine.items import Item, ToolCall

ToolChoice = str
"""'auto', 'required', 'none', or the name of one tool."""
TOOL_CHOICE_MODES: tuple[str, ...] = ("auto", "required", "none")
ApiKind = Literal["responses", "chat"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as offered to the model: the API-neutral form each adapter renders."""

    name: str
    description: str
    parameters: dict[str, Any]
    strict: bool = True


@dataclass(frozen=True, slots=True)
class ModelReply:
    """One model response: text (maybe empty) and the calls it asked for, in order."""

    text: str
    calls: tuple[ToolCall, ...] = field(default_factory=tuple)


class ModelAPI(Protocol):
    """One request/response with a model, in the loop's own terms."""

    async def respond(
        self,
        *,
        instructions: str,
        items: Sequence[Item],
        tools: Sequence[ToolSpec],
        tool_choice: ToolChoice,
    ) -> ModelReply:
        """Send the conversation and return the reply; raise a ModelError subclass on failure."""
        ...
