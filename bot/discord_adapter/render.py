"""Pure translation between discord.py objects and plain values: who and where, split answers, trace, mentions."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import discord

from bot.attachments import SharedFile, SkippedFile
from bot.discord_adapter.messages import CATALOG, ENGLISH, Language, say
from bot.engine.errors import ConciergeError
from bot.engine.json_text import read_json
from bot.engine.permissions import Caller, Place

if TYPE_CHECKING:
    from bot.concierge import Reply, TraceEntry
    from bot.engine.loop import Note

MESSAGE_LIMIT = 2000
THREAD_NAME_LIMIT = 100
EMBED_DESCRIPTION_LIMIT = 4096
EMPTY_ANSWER = say(ENGLISH, "answer.empty")
GENERIC_FAILURE = say(ENGLISH, "failure.generic")
CUT_SHORT_NOTE = say(ENGLISH, "note.cut_short")
TRACE_TITLE = say(ENGLISH, "trace.title")

_FENCE = "```"
_CLOSE = "\n```"
_OUTCOME_MARKS: dict[str, str] = {
    "ok": "✓",
    "invalid": "✗",
    "denied": "⛔",
    "error": "✗",
    "timeout": "⏱",
    "skipped": "↷",
    "declined": "✋",
}
_MARKUP = re.compile(r"<(?:@[!&]?|#)\d+>")
_CUSTOM_EMOJI = re.compile(r"<a?:(\w+):\d+>")


class _Role(Protocol):
    id: int


class _Attachment(Protocol):
    filename: str
    size: int
    content_type: str | None
    url: str


class _Permissions(Protocol):
    @property
    def administrator(self) -> bool: ...

    @property
    def manage_guild(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One Discord message to send: text, and an optional embed (the trace)."""

    content: str
    embed: discord.Embed | None = None


def place_of(channel: discord.abc.Snowflake, guild: discord.abc.Snowflake | None) -> Place:
    """The Place for a channel (text channel, thread or DM); `guild` is None in DMs."""
    return Place(
        channel_id=str(channel.id),
        guild_id=None if guild is None else str(guild.id),
        guild_name=None if guild is None else getattr(guild, "name", None),
        channel_name=getattr(channel, "name", None),
    )


def caller_of(user: discord.abc.Snowflake, *, permissions: _Permissions | None = None) -> Caller:
    """The Caller for a message author or interaction user: roles and admin rights only for server members.

    `permissions` (an interaction's resolved permissions) wins over the member's cached guild permissions.
    """
    roles: Iterable[_Role] = getattr(user, "roles", ())
    if permissions is None:
        permissions = getattr(user, "guild_permissions", None)
    is_admin = permissions is not None and bool(permissions.administrator or permissions.manage_guild)
    return Caller(
        user_id=str(user.id),
        name=str(getattr(user, "display_name", None) or getattr(user, "name", "someone")),
        role_ids=frozenset(str(role.id) for role in roles),
        is_admin=is_admin,
    )


def shared_files(attachments: Iterable[_Attachment]) -> tuple[SharedFile, ...]:
    """A message's attachments as the files the bot may read: name, the size Discord reports, type, own URL."""
    return tuple(
        SharedFile(filename=item.filename, size=item.size, content_type=item.content_type, url=item.url)
        for item in attachments
    )


def strip_bot_mention(text: str, *, bot_id: int, bot_name: str, role_id: int | None = None) -> str:
    """The message text without the leading mention of the bot; later mentions of it read as its name."""
    ids = [f"@!?{bot_id}"] + ([f"@&{role_id}"] if role_id is not None else [])
    mention = re.compile(r"<(?:" + "|".join(ids) + r")>")
    text = text.strip()
    while (match := mention.match(text)) is not None:
        text = text[match.end() :].lstrip()
    return mention.sub(f"@{bot_name}", text).strip()


def thread_name(text: str, *, fallback: str, limit: int = THREAD_NAME_LIMIT) -> str:
    """A thread name from the first words of `text`, mention markup removed, at most `limit` characters."""
    plain = _CUSTOM_EMOJI.sub(r":\1:", _MARKUP.sub(" ", text))
    words = plain.split()
    if not words:
        return fallback[:limit]
    name = ""
    for word in words:
        candidate = f"{name} {word}" if name else word
        if len(candidate) > limit:
            break
        name = candidate
    if not name:
        name = words[0][: limit - 1] + "…"
    elif len(name) < len(" ".join(words)) and len(name) < limit:
        name = name.rstrip(",.;:") + "…"
    return name[:limit]


def split_message(text: str, *, limit: int = MESSAGE_LIMIT, empty: str = EMPTY_ANSWER) -> list[str]:
    """Split an answer into messages of at most `limit` characters, at paragraph, line or word boundaries.

    A code block cut by a split is closed at the end of one chunk and reopened, with its language tag, in the next.
    """
    text = text.strip()
    if not text:
        return [empty]
    chunks: list[str] = []
    prefix = ""
    rest = text
    while rest:
        if len(prefix) + len(rest) <= limit:
            chunks.append(prefix + rest)
            break
        chunk, rest, prefix = _take_chunk(prefix, rest, limit)
        if chunk.strip():
            chunks.append(chunk)
    return chunks


def _take_chunk(prefix: str, rest: str, limit: int) -> tuple[str, str, str]:
    """Cut one chunk off `rest`: (chunk, remaining text, fence to reopen in the next chunk)."""
    for budget in (limit - len(prefix), limit - len(prefix) - len(_CLOSE)):
        if budget < 1:
            raise ValueError(f"limit {limit} is too small to split inside a code block")
        cut, skip = _cut_point(rest, budget, in_code=bool(prefix) or _FENCE in rest[:budget])
        head, remaining = rest[:cut].rstrip(), rest[cut + skip :]
        open_lang = open_fence(prefix + head)
        if open_lang is None:
            return prefix + head, remaining.lstrip("\n"), ""
        if len(prefix) + len(head) + len(_CLOSE) <= limit:
            first_line, _, after = remaining.partition("\n")
            if first_line.strip() == _FENCE:  # the block's own closing fence comes next: ours replaces it
                return prefix + head + _CLOSE, after.lstrip("\n"), ""
            return prefix + head + _CLOSE, remaining, f"{_FENCE}{open_lang}\n"
    raise AssertionError("unreachable: the second budget always leaves room to close the fence")


def _cut_point(text: str, budget: int, *, in_code: bool) -> tuple[int, int]:
    """Where to cut `text` so the head has at most `budget` characters: (cut index, separator length to drop).

    Prefer a paragraph break, then a line break, then a space, each in the second half of the window; inside code
    any line break beats a space, so code lines stay whole.
    """
    window = text[: budget + 1]
    half = budget // 2
    for separator, earliest in (("\n\n", half), ("\n", 0 if in_code else half), (" ", half), ("\n", 0), (" ", 0)):
        at = window.rfind(separator, 0, budget + 1)
        if at > earliest:
            return at, len(separator)
    return budget, 0


def open_fence(text: str) -> str | None:
    """The language tag of a code block left open at the end of `text` ("" for none), or None if all are closed."""
    open_lang: str | None = None
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped.startswith(_FENCE):
            continue
        if open_lang is None:
            open_lang = stripped[len(_FENCE) :].split("`")[0].strip()[:20]
            if stripped.count(_FENCE) >= 2 and len(stripped) > len(_FENCE):
                open_lang = None  # ```inline``` on one line opens and closes
        else:
            open_lang = None
    return open_lang


def trace_line(entry: TraceEntry, language: Language = ENGLISH) -> str:
    """One compact line for a tool call in a turn's trace."""
    return call_line(
        tool=entry.tool,
        arguments=entry.arguments,
        outcome=entry.outcome,
        duration_ms=entry.duration_ms,
        language=language,
    )


def call_line(
    *, tool: str, arguments: str, outcome: str, duration_ms: float | None, language: Language = ENGLISH
) -> str:
    """One compact line for a tool call: mark, tool, key arguments, outcome, time (e.g. "✓ get_weather city=Oslo · 0.4 s")."""
    key = f"outcome.{outcome}"
    return status_line(
        mark=_OUTCOME_MARKS.get(outcome, "•"),
        tool=tool,
        arguments=arguments,
        word=say(language, key) if key in CATALOG else outcome,
        seconds=None if duration_ms is None else duration_ms / 1000,
        language=language,
    )


def status_line(
    *, mark: str, tool: str, arguments: str, word: str, seconds: float | None = None, language: Language = ENGLISH
) -> str:
    """mark, tool and key arguments, then the state in words and the time, joined by middle dots."""
    parts = [f"{mark} {tool}"]
    shown = key_arguments(arguments)
    if shown:
        parts[0] += f" {shown}"
    if word:
        parts.append(word)
    if seconds is not None:
        parts.append(say(language, "trace.seconds", seconds=seconds))
    return " · ".join(parts)


def key_arguments(arguments: str, *, max_pairs: int = 3, max_value: int = 24) -> str:
    """The first few arguments as short `key=value` pairs, from the JSON text the model sent (never raises)."""
    try:
        parsed = read_json(arguments) if arguments.strip() else {}
    except (ValueError, RecursionError):  # not JSON, a number of over 4,300 digits, or nesting too deep for Python
        return _shorten(" ".join(arguments.split()), max_value)
    if not isinstance(parsed, dict):
        return _shorten(json.dumps(parsed, ensure_ascii=False), max_value)
    pairs: list[str] = []
    for key, value in parsed.items():
        if value is None or value == "" or isinstance(value, dict | list):
            continue
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        pairs.append(f"{key}={_shorten(' '.join(str(shown).split()), max_value)}")
        if len(pairs) == max_pairs:
            break
    return " ".join(pairs)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def trace_embed(
    trace: Sequence[TraceEntry], notes: Sequence[str], language: Language = ENGLISH
) -> discord.Embed | None:
    """A small embed listing the tools used and any notes, or None when there is nothing to show."""
    lines = [trace_line(entry, language) for entry in trace] + [f"ℹ {note}" for note in notes]
    if not lines:
        return None
    description = ""
    for index, line in enumerate(lines):
        addition = line if not description else "\n" + line
        if len(description) + len(addition) > EMBED_DESCRIPTION_LIMIT - 40:
            description += "\n" + say(language, "trace.more", count=len(lines) - index)
            break
        description += addition
    embed = discord.Embed(description=description, colour=discord.Colour.light_grey())
    if trace:
        embed.title = say(language, "trace.title")
    return embed


def render_reply(
    reply: Reply, *, extra_notes: Sequence[str] = (), limit: int = MESSAGE_LIMIT, language: Language = ENGLISH
) -> list[Outgoing]:
    """The messages for a finished turn: the split answer, with the trace and notes embedded under the last one."""
    files = [skipped_file_text(skipped, language) for skipped in reply.skipped_files]
    notes = [*extra_notes, *(note_text(note, language) for note in reply.notes), *files]
    if reply.cut_short:
        notes.append(say(language, "note.cut_short"))
    if reply.failed:  # one sentence, with the trace of any tools that ran before the failure
        sentence = error_sentence(reply.error, language) if reply.error is not None else reply.text.strip()
        sentence = sentence or say(language, "failure.generic")
        content = _shorten(" ".join([sentence, *extra_notes]), limit)
        turn_notes = [*(note_text(note, language) for note in reply.notes), *files]
        return [Outgoing(content=content, embed=trace_embed(reply.trace, turn_notes, language))]
    empty = say(language, "answer.cut_short" if reply.cut_short else "answer.empty")
    chunks = split_message(reply.text, limit=limit, empty=empty)
    embed = trace_embed(reply.trace, notes, language)
    return [Outgoing(content=chunk) for chunk in chunks[:-1]] + [Outgoing(content=chunks[-1], embed=embed)]


def error_sentence(error: BaseException, language: Language = ENGLISH) -> str:
    """One sentence for the member: a ConciergeError's own message, or a generic apology for anything else."""
    if not isinstance(error, ConciergeError):
        return say(language, "failure.generic")
    if error.key in CATALOG:
        params = dict(error.params)
        if "reason_kind" in params:
            params["reason"] = reason_text(str(params["reason_kind"]), str(params.get("reason", "")), language)
        if "resets_in_minutes" in params:
            params["resets_in"] = duration_text(int(str(params["resets_in_minutes"])), language)
        return say(language, error.key, **params)
    return say(language, "failure.generic")


def duration_text(minutes: int, language: Language = ENGLISH) -> str:
    """A wait in whole minutes as hours and minutes in the member's language ("3 h 5 min", "12 min")."""
    hours, minutes = divmod(minutes, 60)
    if hours:
        return say(language, "duration.hours_minutes", hours=hours, minutes=minutes)
    return say(language, "duration.minutes", minutes=minutes)


def reason_text(kind: str | None, english: str, language: Language = ENGLISH) -> str:
    """Why a tool is not available, in the member's language (the engine's English sentence if unknown)."""
    key = f"reason.{kind}"
    return say(language, key) if key in CATALOG else english


def note_text(note: Note, language: Language = ENGLISH) -> str:
    """A turn's note in the member's language."""
    return say(language, f"note.{note.kind}", tool=note.tool)


def skipped_file_text(skipped: SkippedFile, language: Language = ENGLISH) -> str:
    """Which file the model did not get, and why, in the member's language."""
    key, name = f"note.file_{skipped.reason}", file_label(skipped.filename)
    if skipped.limit is None or f"{key}.limit" not in CATALOG:
        return say(language, key, file=name)
    shown = f"{skipped.limit / 1_000_000:g} MB" if skipped.reason == "too_large" else str(skipped.limit)
    return say(language, f"{key}.limit", file=name, limit=shown)


def file_label(filename: str) -> str:
    """A file's name as shown in code spans: one line, no backticks, at most 100 characters."""
    return " ".join(filename.replace("`", "'").split())[:100] or "?"


def allowed_mentions(asker_id: int) -> discord.AllowedMentions:
    """Mentions the bot's messages may ping: only the member who asked; never everyone, here or roles."""
    return discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(id=asker_id)], replied_user=True)
