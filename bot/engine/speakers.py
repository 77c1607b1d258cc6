"""Who said what: the label each member's message reaches the model with, and text that cannot forge one.

Several members can talk in one thread, and the Responses API has no `name` field, so the speaker is written into
the message itself: a first line `[member 123456789 "Ann"]`. The Discord id names the member (display names are not
unique); the display name is quoted so it cannot close the label. No line of the member's own text can look like a
label: every line break (\\n, \\r, \\r\\n, \\v, \\f, U+0085, U+2028, U+2029, ...) becomes \\n, and a line that starts
with an opening bracket or `<` (after invisible characters and full-width forms are seen through) is quoted with
"> ". This runs when a request is built, so history stored before it is covered too.
"""

from __future__ import annotations

import re
import unicodedata

NAME_LIMIT = 80
QUOTE = "> "
_SAFE_ID = re.compile(r"[^0-9A-Za-z_-]")


def member_label(author_id: str | None, author_name: str | None) -> str:
    """`[member 123 "Ann"]`: the id names the member; the name is quoted and can neither close the quote nor the
    label nor break the line."""
    member = _SAFE_ID.sub("", author_id or "")[:40] or "unknown"
    name = _quoted_name(author_name)
    return f'[member {member} "{name}"]' if name else f"[member {member}]"


def neutralized(text: str) -> str:
    """The member's text with every line break made \\n and every line that could pass for a label quoted."""
    return "\n".join(QUOTE + line if _looks_like_label(line) else line for line in text.splitlines())


def labelled(text: str, *, author_id: str | None, author_name: str | None) -> str:
    """The text the model sees for a member's message: their label on the first line, then their text."""
    if author_id is None and author_name is None:
        return neutralized(text)
    return f"{member_label(author_id, author_name)}\n{neutralized(text)}"


def _looks_like_label(line: str) -> bool:
    """Whether the line starts, once invisible characters and spaces are skipped, with an opening bracket or `<`."""
    for char in unicodedata.normalize("NFKC", line):
        if char.isspace() or unicodedata.category(char) in ("Cf", "Cc", "Mn", "Me"):
            continue
        return char == "<" or unicodedata.category(char) == "Ps"
    return False


def _quoted_name(name: str | None) -> str:
    """A display name safe inside the label's quotes: no quotes, brackets, line breaks or invisible characters."""
    if not name:
        return ""
    name = unicodedata.normalize("NFKC", name)
    kept = "".join(
        " " if unicodedata.category(char) == "Cc" else char for char in name if unicodedata.category(char) != "Cf"
    )
    flat = " ".join(kept.translate(_NAME_TRANSLATION).split())
    return flat if len(flat) <= NAME_LIMIT else flat[: NAME_LIMIT - 1] + "…"


_NAME_TRANSLATION = str.maketrans({'"': "'", "`": "'", "[": "(", "]": ")", "<": "(", ">": ")", "\\": "/"})
