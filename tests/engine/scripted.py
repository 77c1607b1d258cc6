"""A scripted ModelAPI for loop tests: enqueue replies, record requests, assert the script was consumed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.engine.api import ModelReply, ToolChoice, ToolSpec
from bot.engine.items import Item, ToolCall


@dataclass(frozen=True)
class SentRequest:
    """What the loop sent in one request."""

    instructions: str
    items: tuple[Item, ...]
    tools: tuple[str, ...]
    tool_choice: ToolChoice
    specs: tuple[ToolSpec, ...] = ()


@dataclass
class ScriptedAPI:
    """Answers each request with the next scripted reply (or raises the next scripted error)."""

    script: list[ModelReply | Exception] = field(default_factory=list)
    requests: list[SentRequest] = field(default_factory=list)
    _ids: int = 0

    def text(self, text: str) -> ScriptedAPI:
        """Enqueue a plain answer."""
        self.script.append(ModelReply(text=text))
        return self

    def calls(self, *calls: tuple[str, dict[str, Any] | str], text: str = "") -> ScriptedAPI:
        """Enqueue one reply carrying these (parallel) tool calls."""
        made = []
        for name, arguments in calls:
            self._ids += 1
            raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
            made.append(ToolCall(call_id=f"call_{self._ids}", name=name, arguments=raw))
        self.script.append(ModelReply(text=text, calls=tuple(made)))
        return self

    def error(self, error: Exception) -> ScriptedAPI:
        """Enqueue a failure."""
        self.script.append(error)
        return self

    async def respond(
        self,
        *,
        instructions: str,
        items: Sequence[Item],
        tools: Sequence[ToolSpec],
        tool_choice: ToolChoice,
        **_: object,
    ) -> ModelReply:
        self.requests.append(
            SentRequest(instructions, tuple(items), tuple(t.name for t in tools), tool_choice, tuple(tools))
        )
        if not self.script:
            raise AssertionError("the model was called more often than the test scripted")
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    def assert_consumed(self) -> None:
        """Fail when scripted replies were left unused."""
        assert not self.script, f"{len(self.script)} scripted replies were never requested"
