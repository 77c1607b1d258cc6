"""Tool schemas OpenAI's strict mode accepts: the keywords it refuses move into the description."""

from __future__ import annotations

import json
from typing import Any

# Keywords OpenAI's strict mode refuses. `default` is dropped (every property is required anyway); the others are
# said in the description instead, and the argument model still enforces them when a call is validated.
STRICT_UNSUPPORTED_KEYWORDS = frozenset(
    {
        "default",
        "minLength",
        "maxLength",
        "minProperties",
        "maxProperties",
        "uniqueItems",
        "contains",
        "minContains",
        "maxContains",
        "patternProperties",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)
_NAME_MAPS = frozenset({"properties", "$defs", "definitions"})  # their keys are names, not keywords


def strict_compatible(schema: Any) -> Any:
    """The schema without keywords strict mode refuses; their constraints move into the description."""
    if isinstance(schema, list):
        return [strict_compatible(value) for value in schema]
    if not isinstance(schema, dict):
        return schema
    result: dict[str, Any] = {}
    moved: list[str] = []
    for key, value in schema.items():
        if key in _NAME_MAPS and isinstance(value, dict):
            result[key] = {name: strict_compatible(entry) for name, entry in value.items()}
        elif key in STRICT_UNSUPPORTED_KEYWORDS:
            if key != "default":
                moved.append(f"{key} {json.dumps(value)}")
        else:
            result[key] = strict_compatible(value)
    if moved:
        result["description"] = f"{result.get('description', '')} ({', '.join(moved)})".strip()
    return result
