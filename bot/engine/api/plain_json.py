"""Requests handed to the openai SDK as the plain JSON they already are.

The SDK's `create()` runs a request transform that walks every argument against its TypedDict annotations: every
tool schema and the whole history, on every request (about 15 ms for a Responses request with a 20-turn history and
the seven tools, 9 ms for Chat, on the development machine; more than everything else the loop does). Our requests
are plain dicts and lists of strings, numbers and booleans, which the transform returns unchanged, so they go as
`extra_body`, which the SDK merges into the body as it is. The JSON on the wire is the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def sdk_arguments(request: Mapping[str, Any], *, required: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments for `create()`: the model by name, placeholders for what the method's signature requires
    (`messages` for Chat: the real ones in `extra_body` replace them), everything else in `extra_body`."""
    body = {key: value for key, value in request.items() if key != "model"}
    return {"model": request["model"], **(required or {}), "extra_body": body}
