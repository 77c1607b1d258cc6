"""Requests handed to the openai SDK as the plain JSON they already are.

The SDK's `create()` runs a request transform that walks every argument against its TypedDict annotations: every
tool schema and the whole history, on every request (about 15 ms for a Responses request with a 20-turn history and
the seven tools, 9 ms for Chat, on the development machine; more than everything else the loop does). Our requests
are plain dicts and lists of strings, numbers and booleans, which the transform returns unchanged, so they go as
`extra_body`, which the SDK merges into the body as it is. The JSON on the wire is the same. Tool payloads are
built once per tool set (ToolPayloads), so a request's own cost is the history it sends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.engine.api import ToolSpec


def sdk_arguments(request: Mapping[str, Any], *, required: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments for `create()`: the model by name, placeholders for what the method's signature requires
    (`messages` for Chat: the real ones in `extra_body` replace them), everything else in `extra_body`."""
    body = {key: value for key, value in request.items() if key != "model"}
    return {"model": request["model"], **(required or {}), "extra_body": body}


class ToolPayloads:
    """Each tool set's request payloads, built once: a turn offers the same tools' specs again and again.

    Keyed by each spec's name, description, strictness and schema object (the tool's own, which lives as long as
    the tool); the cache holds the specs it was built from, so a key's schema object cannot be reused by another.
    """

    def __init__(self, render: Callable[[ToolSpec], dict[str, Any]], *, size: int = 64) -> None:
        self._render = render
        self._size = size
        self._built: dict[tuple[tuple[str, str, bool, int], ...], tuple[Sequence[ToolSpec], list[dict[str, Any]]]] = {}

    def __call__(self, specs: Sequence[ToolSpec]) -> list[dict[str, Any]]:
        """The payloads for these specs, in their order."""
        key = tuple((spec.name, spec.description, spec.strict, id(spec.parameters)) for spec in specs)
        found = self._built.get(key)
        if found is None:
            found = (tuple(specs), [self._render(spec) for spec in specs])
            if len(self._built) >= self._size:
                del self._built[next(iter(self._built))]
            self._built[key] = found
        return found[1]
