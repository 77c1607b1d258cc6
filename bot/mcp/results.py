"""An MCP tool result → the JSON object the model reads: text joined, structured content kept, the rest summarised."""

from __future__ import annotations

import json
from typing import Any

from mcp import types

DEFAULT_MAX_RESULT_CHARS = 12_000


def result_for_model(
    tool: str, result: types.CallToolResult, *, max_chars: int = DEFAULT_MAX_RESULT_CHARS
) -> dict[str, Any]:
    """The model's view of `result`: {"content": ..., "structured_content": ...} or, for is_error, the error shape.

    Text is capped at `max_chars` (and structured content shown as text when its JSON is longer), marked truncated.
    """
    text = "\n\n".join(filter(None, (_block_text(block) for block in result.content)))
    body: dict[str, Any] = {}
    structured = result.structured_content
    if structured is not None and not result.is_error:
        dumped = json.dumps(structured, ensure_ascii=False, default=str)
        if text.strip() == dumped or _same_json(text, structured):
            text = ""  # the server repeated its structured content as text: once is enough
        if len(dumped) <= max_chars:
            body["structured_content"] = structured
        else:
            text = dumped if not text else f"{dumped}\n\n{text}"
    if len(text) > max_chars:
        body["truncated"] = True
        body["original_chars"] = len(text)
        text = text[:max_chars]
    if result.is_error:
        return {"error": "the tool reported an error", "tool": tool, "detail": text or "(no details given)", **body}
    if text or not body:
        body = {"content": text, **body}
    return body


def _block_text(block: types.ContentBlock) -> str:
    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, types.ImageContent | types.AudioContent):
        kind = "image" if isinstance(block, types.ImageContent) else "audio"
        return f"[{kind}: {block.mime_type}, about {len(block.data) * 3 // 4:,} bytes, not shown]"
    if isinstance(block, types.ResourceLink):
        return f"[resource link: {block.name} {block.uri}]"
    if isinstance(block, types.EmbeddedResource):
        resource = block.resource
        if isinstance(resource, types.TextResourceContents):
            return resource.text
        return f"[resource: {resource.uri} ({resource.mime_type or 'binary'}), not shown]"
    return f"[{getattr(block, 'type', 'unknown')} content, not shown]"


def _same_json(text: str, structured: object) -> bool:
    if not text.lstrip().startswith(("{", "[")):
        return False
    try:
        return bool(json.loads(text) == structured)
    except ValueError:
        return False
