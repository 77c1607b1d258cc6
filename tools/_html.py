"""Text and the first link's text out of small HTML fragments (search snippets), in one linear pass over bounded input.

Upstream answers are not trusted: a regular expression over them can backtrack quadratically, and html.parser
re-scans an unclosed tag on Python 3.11 (a few thousand `<a ` take seconds). Each fragment is cut to
MAX_FRAGMENT_CHARS and read once, left to right, so its cost is bounded whatever it holds. One answer may hold
thousands of fragments, so an AnswerReader reads an answer's fragments within a total budget too (MAX_ANSWER_CHARS
characters, MAX_ANSWER_FRAGMENTS fragments): past it, the rest of the answer is left unread.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

MAX_FRAGMENT_CHARS = 4_000
MAX_ANSWER_CHARS = 20_000
MAX_ANSWER_FRAGMENTS = 40


@dataclass(frozen=True, slots=True)
class Fragment:
    """What a fragment says: all its text, and the text of its first link ("" when it has none)."""

    text: str
    first_link: str


class AnswerReader:
    """Reads one upstream answer's fragments within a budget of characters and fragments, then reads no more."""

    def __init__(self, *, chars: int = MAX_ANSWER_CHARS, fragments: int = MAX_ANSWER_FRAGMENTS) -> None:
        self._chars_left = chars
        self._fragments_left = fragments
        self.chars_read = 0
        self.fragments_read = 0

    @property
    def exhausted(self) -> bool:
        """Whether the budget is spent: callers stop looking at the answer's remaining items."""
        return self._chars_left <= 0 or self._fragments_left <= 0

    def read(self, markup: str) -> Fragment:
        """The fragment, read from at most what is left of the budget (nothing once it is spent)."""
        if self.exhausted:
            return _EMPTY
        limit = min(MAX_FRAGMENT_CHARS, self._chars_left)
        spent = min(len(markup), limit)
        self._chars_left -= max(spent, 1)  # an empty fragment still costs a step
        self._fragments_left -= 1
        self.chars_read += spent
        self.fragments_read += 1
        return read_fragment(markup, limit=limit)


def read_fragment(markup: str, *, limit: int = MAX_FRAGMENT_CHARS) -> Fragment:
    """The fragment's text (tags dropped, entities decoded, whitespace collapsed), read from its first `limit` chars."""
    source = markup[:limit]
    text: list[str] = []
    link: list[str] = []
    link_state = "before"  # then "inside", then "after"
    position = 0
    while position < len(source):
        start = _next_tag(source, position)
        if start < 0:
            start = len(source)
        chunk = source[position:start]
        text.append(chunk)
        if link_state == "inside":
            link.append(chunk)
        if start == len(source):
            break
        end = _tag_end(source, start)
        if end < 0:  # a tag left open at the end: the rest is markup, not text
            break
        name = _tag_name(source[start + 1 : end])
        if name == "a" and link_state == "before":
            link_state = "inside"
        elif name == "/a" and link_state == "inside":
            link_state = "after"
        position = end + 1
    return Fragment(text=_clean("".join(text)), first_link=_clean("".join(link)))


_EMPTY = Fragment(text="", first_link="")


def _next_tag(source: str, position: int) -> int:
    """Where the next tag starts (a `<` followed by a letter, `/`, `!` or `?`), or -1; a lone `<` is text."""
    while (found := source.find("<", position)) >= 0:
        following = source[found + 1 : found + 2]
        if following.isalpha() or following in ("/", "!", "?"):
            return found
        position = found + 1
    return -1


def _tag_end(source: str, start: int) -> int:
    """The `>` that closes the tag opened at `start` (quoted attribute values may hold `>`), or -1 if none."""
    quote = ""
    for index in range(start + 1, len(source)):
        char = source[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in ('"', "'"):
            quote = char
        elif char == ">":
            return index
    return -1


def _tag_name(inside: str) -> str:
    """The lower-cased name of a tag from the text between its brackets: "a", "/a", "span", "!--"."""
    words = inside.split(None, 1)
    return words[0].lower().rstrip("/") if words else ""


def _clean(text: str) -> str:
    return " ".join(html.unescape(text).split())
