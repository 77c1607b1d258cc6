"""Who said what: the label each member's message reaches the model with, and text that cannot forge one.

Several members can talk in one thread, and the Responses API has no `name` field, so the speaker is written into
the message itself: a first line `[member 123456789 "Ann"]`. The Discord id names the member (display names are not
unique); the display name is quoted so it cannot close the label. No line of the member's own text can look like a
label: every line break (\\n, \\r, \\r\\n, \\v, \\f, U+0085, U+2028, U+2029, ...) becomes \\n, and a line is quoted with
"> " unless it plainly starts as ordinary text. The rule is an allowlist, not a list of known tricks: after NFKC
(full-width forms become ASCII) and after skipping every character that shows nothing (whitespace, format, control
and combining characters, Unicode's default-ignorable code points such as the Hangul fillers U+3164, U+FFA0, U+115F,
U+1160, and the blank Braille pattern U+2800) and the ASCII punctuation that ordinary lines open with and that cannot
open a label (`"'.,:;!?-*_~#>=+&%$@)]}`), the first character must be a letter or a digit (or the line must end).
Anything else there (an opening bracket of any script, `<`, a math or box-drawing bracket such as U+23A1, an emoji,
an unassigned code point) gets the line quoted: the model still reads it, as the member's quoted text. A letter that
merely resembles a bracket in some font is read as a letter: a label is `[member <id> ...]` on the first line only.
This runs when a request is built, so history stored before it is covered too.
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


def neutralized_file(text: str) -> str:
    """A shared file's text with every line break made \n and only the lines that imitate a label or a file marker
    quoted (a line whose first visible character is not a letter or digit and whose first word is `member`, `file`,
    `end of file` or `image`): code, JSON and markup keep their shape, and a file still cannot forge a speaker or
    close itself early."""
    return "\n".join(QUOTE + line if _imitates_a_marker(line) else line for line in text.splitlines())


def labelled(text: str, *, author_id: str | None, author_name: str | None) -> str:
    """The text the model sees for a member's message: their label on the first line, then their text."""
    if author_id is None and author_name is None:
        return neutralized(text)
    return f"{member_label(author_id, author_name)}\n{neutralized(text)}"


def _looks_like_label(line: str) -> bool:
    """Whether the line could pass for a label: its first visible character, past the ASCII punctuation ordinary
    lines open with, is not a letter or a digit."""
    for char in unicodedata.normalize("NFKC", line):
        if _shows_nothing(char) or char in _ORDINARY_OPENERS:
            continue
        return not unicodedata.category(char).startswith(("L", "N"))
    return False


def _imitates_a_marker(line: str) -> bool:
    """Whether a line of a file could pass for a member's label or a file's own header or end marker."""
    if not _looks_like_label(line):
        return False
    visible = "".join(char for char in unicodedata.normalize("NFKC", line) if char == " " or not _shows_nothing(char))
    start = next((index for index, char in enumerate(visible) if char.isalnum()), len(visible))
    return visible[start:].casefold().startswith(_MARKER_WORDS)


_MARKER_WORDS = ("member", "file", "end of file", "image")


def _shows_nothing(char: str) -> bool:
    """Whitespace, format, control or combining characters, default-ignorable code points, and blank Braille."""
    if char.isspace() or unicodedata.category(char) in _INVISIBLE_CATEGORIES:
        return True
    code = ord(char)
    return code == _BLANK_BRAILLE or any(low <= code <= high for low, high in _DEFAULT_IGNORABLE)


_ORDINARY_OPENERS = frozenset("\"'.,:;!?-*_~#>=+&%$@)]}")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Mn", "Me", "Zs", "Zl", "Zp"})
_BLANK_BRAILLE = 0x2800
_DEFAULT_IGNORABLE = (  # Unicode DerivedCoreProperties.txt, Default_Ignorable_Code_Point
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


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
