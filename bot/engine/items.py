"""Conversation items: the one canonical history format both OpenAI APIs are rebuilt from.

Reasoning items live only within their turn. The Responses API returns them for reasoning models;
within a turn they are replayed before the calls they led to (with their encrypted content, since
requests are sent with store=False), so the model does not think from scratch after each tool
result. They are never stored: across turns the history is replayed without them and without item
ids (a function_call without an id needs no reasoning partner). That keeps one history valid for
both APIs, lets a channel switch model or server, and stores no opaque encrypted blobs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from bot.engine.speakers import labelled, neutralized_file

log = logging.getLogger(__name__)


class _Item(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ImagePart(_Item):
    """An image a member shared: its exact bytes as base64 while its turn runs; `data` is None once stored."""

    kind: Literal["image"] = "image"
    filename: str
    media_type: str
    data: str | None = None

    def data_url(self) -> str | None:
        """The image as a data URL (None when only its name was kept)."""
        return f"data:{self.media_type};base64,{self.data}" if self.data is not None else None

    def placeholder(self) -> str:
        """What stands in for an image that is no longer sent: its name."""
        return f"[image {self.filename!r}, shared earlier; not shown again]"


class FileText(_Item):
    """The text of a file a member shared (a text file, or what could be extracted from a PDF)."""

    kind: Literal["file_text"] = "file_text"
    filename: str
    text: str
    source: Literal["text", "pdf"] = "text"
    total_chars: int | None = None
    """The file's full length in characters when `text` was cut to fit; None when it is whole."""

    def as_prompt(self) -> str:
        """The file as the model reads it: a header naming it (and any cut), the text (neutralized like a member's
        words: no line of it passes for a label or an end marker), an end marker."""
        if self.source == "pdf" and not self.text.strip():
            return f"[file {self.filename!r}: a PDF with no extractable text (probably a scanned image)]"
        header = f"[file {self.filename!r}"
        if self.total_chars is not None:
            header += f", cut: only the first {len(self.text)} of {self.total_chars} characters are shown"
        return f"{header}]\n{neutralized_file(self.text)}\n[end of file {self.filename!r}]"


Attachment = Annotated[ImagePart | FileText, Field(discriminator="kind")]


class UserMessage(_Item):
    """What a member said, with who said it, and the files they shared with it."""

    kind: Literal["user"] = "user"
    text: str
    author_id: str | None = None
    author_name: str | None = None
    attachments: tuple[Attachment, ...] = ()

    def as_prompt(self) -> str:
        """The text the model sees: the speaker's label, then their words (see bot.engine.speakers), then each
        file's text and the names of images no longer sent."""
        spoken = labelled(self.text, author_id=self.author_id, author_name=self.author_name)
        extra = [part.as_prompt() for part in self.attachments if isinstance(part, FileText)]
        extra += [part.placeholder() for part in self.attachments if isinstance(part, ImagePart) and part.data is None]
        return "\n\n".join([spoken, *extra]) if extra else spoken

    def images(self) -> list[ImagePart]:
        """The images still carried with their bytes, to be sent as images."""
        return [part for part in self.attachments if isinstance(part, ImagePart) and part.data is not None]

    def without_image_data(self) -> UserMessage:
        """The message as it is kept: images reduced to their names (history stays small and cheap)."""
        if not self.images():
            return self
        kept = tuple(
            part.model_copy(update={"data": None}) if isinstance(part, ImagePart) else part for part in self.attachments
        )
        return self.model_copy(update={"attachments": kept})


class AssistantMessage(_Item):
    """Text the model wrote (an answer, or words said alongside tool calls)."""

    kind: Literal["assistant"] = "assistant"
    text: str


class ToolCall(_Item):
    """One function call the model asked for; arguments are kept as the raw JSON text it sent."""

    kind: Literal["tool_call"] = "tool_call"
    call_id: str
    name: str
    arguments: str


class ToolOutput(_Item):
    """The result handed back for one call, matched by call id; `owner_id` is the member whose own data it holds
    (a `personal` tool's result), replayed only in that member's turns (`for_speaker`)."""

    kind: Literal["tool_output"] = "tool_output"
    call_id: str
    output: str
    owner_id: str | None = None


class Reasoning(_Item):
    """A reasoning model's thinking before its calls (Responses API), opaque, replayed only within its turn."""

    kind: Literal["reasoning"] = "reasoning"
    item_id: str
    encrypted_content: str
    summary: tuple[str, ...] = ()


Item = Annotated[UserMessage | AssistantMessage | ToolCall | ToolOutput | Reasoning, Field(discriminator="kind")]
ITEM_ADAPTER: TypeAdapter[Item] = TypeAdapter(Item)

INTERRUPTED_OUTPUT = '{"error": "interrupted: this call was not completed and has no result"}'
WITHHELD_OUTPUT = (
    '{"withheld": "this result holds another member\'s own data (such as their bookings); it is shown only in '
    'their own turns"}'
)


def item_to_json(item: Item) -> str:
    """Serialise one item for storage; images keep only their names (see `UserMessage.without_image_data`)."""
    if isinstance(item, UserMessage):
        item = item.without_image_data()
        if not item.attachments:  # stored exactly as before attachments existed
            return item.model_dump_json(exclude={"attachments"})
    return item.model_dump_json()


def item_from_json(text: str | bytes) -> Item:
    """Rebuild one stored item."""
    return ITEM_ADAPTER.validate_json(text)


def repair_history(items: Sequence[Item]) -> list[Item]:
    """Return a history every API accepts: each call answered right after its turn, no orphan outputs.

    A call with no output gets an "interrupted" error output placed after the run of calls it
    belongs to; an output whose call is unknown (or already answered) is dropped. Both are logged.
    """
    result: list[Item] = []
    pending: list[str] = []  # calls of the latest round that still await an output
    seen_calls: set[str] = set()

    def close_pending() -> None:
        for call_id in pending:
            log.warning("history repair: call %s had no output; marked interrupted", call_id)
            result.append(ToolOutput(call_id=call_id, output=INTERRUPTED_OUTPUT))
        pending.clear()

    for item in items:
        if isinstance(item, ToolCall):
            if result and isinstance(result[-1], ToolOutput):
                close_pending()  # a call after outputs starts a new round
            if item.call_id in seen_calls:
                log.warning("history repair: duplicate call id %s dropped", item.call_id)
                continue
            seen_calls.add(item.call_id)
            pending.append(item.call_id)
            result.append(item)
        elif isinstance(item, ToolOutput):
            if item.call_id not in pending:
                log.warning("history repair: orphan output for %s dropped", item.call_id)
                continue
            pending.remove(item.call_id)
            result.append(item)
        else:
            close_pending()
            result.append(item)
    close_pending()
    return result


def for_speaker(items: Sequence[Item], speaker_id: str | None) -> list[Item]:
    """The history as one member's turn replays it: another member's own tool results (from a tool declared
    `personal`) are replaced by a short placeholder."""
    return [
        item.model_copy(update={"output": WITHHELD_OUTPUT})
        if isinstance(item, ToolOutput) and item.owner_id is not None and item.owner_id != speaker_id
        else item
        for item in items
    ]
