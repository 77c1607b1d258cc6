"""JSON text from outside (a model's arguments, a catalog file) read with one nesting limit on every Python version.

`json.loads` gives up on deep nesting where the interpreter's C stack runs out: near 1,000 levels on Python 3.11,
past 5,000 on 3.13. Checking the depth first makes the answer the same everywhere, and cheap.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_JSON_DEPTH = 500
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class NestedTooDeeply(RecursionError):
    """JSON nested deeper than MAX_JSON_DEPTH (a RecursionError, as json's own deep-nesting failure is)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"arrays or objects are nested more than {limit} deep")
        self.limit = limit


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets inside strings do not count)."""
    deepest = depth = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match[0] in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def read_json(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads`, but nesting past `max_depth` raises NestedTooDeeply on every Python version."""
    if nesting_depth(text) > max_depth:
        raise NestedTooDeeply(max_depth)
    return json.loads(text)
