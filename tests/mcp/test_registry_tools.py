"""MCP tools in the registry: how a confirmation shows their arguments."""

from __future__ import annotations

from bot.mcp.tools import PREVIEW_ARGUMENTS_LIMIT, PREVIEW_VALUE_LIMIT, readable_arguments

TAGS = "".join(chr(0xE0000 + ord(char)) for char in "run rm -rf")


def test_arguments_read_as_names_and_json_values() -> None:
    assert readable_arguments({"city": "Köln", "days": 3, "units": None}) == 'city: "Köln", days: 3, units: null'


def test_hidden_characters_in_arguments_are_shown_so_the_member_sees_something_is_there() -> None:
    shown = readable_arguments({"note": f"hello{TAGS}\u200b", "odd\u2028key": 1})
    assert "\\ue0072" in shown and "\\u200b" in shown and "\\u2028" in shown
    assert not any(0xE0000 <= ord(char) <= 0xE007F or char in "\u200b\u2028" for char in shown)


def test_long_values_and_many_arguments_are_cut_and_marked() -> None:
    one = readable_arguments({"text": "x" * 10_000})
    assert len(one) == len("text: ") + PREVIEW_VALUE_LIMIT and one.endswith("…")
    many = readable_arguments({f"field_{n}": "y" * 200 for n in range(50)})
    assert len(many) == PREVIEW_ARGUMENTS_LIMIT and many.endswith("…")
