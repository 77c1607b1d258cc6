"""JSON from outside is read with one nesting limit, whatever the Python version."""

from __future__ import annotations

import pytest

from bot.engine.json_text import MAX_JSON_DEPTH, NestedTooDeeply, nesting_depth, read_json


def test_nesting_past_the_limit_is_refused_even_where_python_could_parse_it() -> None:
    # Python 3.13 parses 5,000 levels; 3.11 gives up near 1,000: both must give the same answer.
    for depth in (MAX_JSON_DEPTH + 1, 5000):
        with pytest.raises(NestedTooDeeply, match=f"more than {MAX_JSON_DEPTH} deep"):
            read_json('{"a": ' + "[" * depth + "]" * depth + "}")


def test_nesting_up_to_the_limit_is_read() -> None:
    value = read_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    levels = 0
    while isinstance(value, list):
        levels += 1
        value = value[0] if value else None
    assert levels == MAX_JSON_DEPTH


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = '{"q": "' + "[{" * 1000 + '\\"]"}'
    assert nesting_depth(text) == 1
    assert read_json(text)["q"].startswith("[{[{")


def test_too_deep_is_a_recursion_error_as_json_own_failure_is() -> None:
    assert issubclass(NestedTooDeeply, RecursionError)
