"""Files members share: which ones reach the model, read within limits into engine values (images, file text)."""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal

import aiohttp
from pypdf import PageObject, PdfReader
from pypdf.generic import DictionaryObject, IndirectObject, NameObject, PdfObject

from bot.engine.items import Attachment, FileText, ImagePart

log = logging.getLogger(__name__)

IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}
IMAGE_EXTENSIONS = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}
IMAGE_EXTENSIONS[".webp"] = "image/webp"
TEXT_EXTENSIONS = frozenset(
    {
        ".txt", ".md", ".markdown", ".rst", ".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".yaml", ".yml", ".toml",
        ".ini", ".cfg", ".conf", ".env", ".xml", ".html", ".htm", ".css", ".log", ".sql", ".py", ".js", ".mjs", ".ts",
        ".tsx", ".jsx", ".java", ".kt", ".c", ".h", ".cpp", ".hpp", ".cs", ".go", ".rs", ".rb", ".php", ".sh", ".bash",
        ".ps1", ".bat", ".swift", ".lua", ".r", ".tex", ".srt", ".vtt", ".diff", ".patch",
    }
)  # fmt: skip
TEXT_APPLICATION_TYPES = frozenset(
    {"application/json", "application/x-ndjson", "application/xml", "application/yaml", "application/x-yaml",
     "application/toml", "application/javascript", "application/x-sh", "application/sql", "application/csv",
     "application/x-javascript", "application/ecmascript", "application/x-sql", "application/x-ruby",
     "application/x-php", "application/x-httpd-php", "application/x-perl", "application/x-python",
     "application/x-subrip", "application/x-tex", "application/x-latex", "application/graphql"}
)  # fmt: skip
TEXT_APPLICATION_SUFFIXES = ("+json", "+xml", "+yaml")  # structured syntaxes (RFC 6839): application/ld+json, …
UNDECIDED_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
"""Types that say nothing about a file: its extension decides."""
PDF_TYPE = "application/pdf"

FileKind = Literal["image", "text", "pdf"]
SkipReason = Literal["too_large", "unsupported", "too_many_images", "no_vision", "unreadable", "download_failed"]


@dataclass(frozen=True, slots=True)
class AttachmentLimits:
    """What the bot accepts from members' files (from the settings)."""

    max_bytes: int = 10_000_000
    max_text_chars: int = 100_000
    max_images: int = 5
    vision: bool = True
    download_timeout: float = 30.0
    max_pdf_pages: int = 500
    """PDF pages read at most: the rest of a longer PDF is left out and the model is told."""
    pdf_seconds: float = 10.0
    """Time allowed to extract a PDF's text (checked between pages): what was read by then is used."""


@dataclass(frozen=True, slots=True)
class SharedFile:
    """A file as the chat platform announces it, before anything is downloaded."""

    filename: str
    size: int
    content_type: str | None
    url: str


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file the model does not get, and why (for the reply to name)."""

    filename: str
    reason: SkipReason
    limit: int | None = field(default=None, compare=False)
    """The limit the file passed, for the reply to state: bytes for too_large, images for too_many_images."""


@dataclass(frozen=True, slots=True)
class ReadFiles:
    """What a message's files became: the parts for the model, and the files left out."""

    parts: tuple[Attachment, ...] = ()
    skipped: tuple[SkippedFile, ...] = ()


Download = Callable[[str, int], Awaitable[bytes]]
"""Fetch a URL's body, refusing (with TooLarge) one longer than the given number of bytes."""


@dataclass(frozen=True, slots=True)
class FileReader:
    """How the bot reads members' files: its limits, and how a file's own URL is downloaded."""

    download: Download
    limits: AttachmentLimits = AttachmentLimits()

    async def read(self, files: Sequence[SharedFile]) -> ReadFiles:
        """The files' parts for the model and the files left out (nothing is downloaded for no files)."""
        if not files:
            return ReadFiles()
        return await read_files(files, limits=self.limits, download=self.download)


class DownloadFailed(Exception):
    """The file's URL did not answer with the file."""


class TooLarge(Exception):
    """A download went past its byte limit while it was read."""


def kind_of(file: SharedFile) -> FileKind | None:
    """What the bot can read a file as; None for anything else. A specific announced type decides (`clip.ts` sent
    as video/mp2t is a video, not TypeScript); the extension decides only when the type says nothing."""
    media = (file.content_type or "").split(";")[0].strip().lower()
    suffix = PurePosixPath(file.filename.lower()).suffix
    if media in IMAGE_TYPES:
        return "image"
    if media == PDF_TYPE:
        return "pdf"
    if media.startswith("text/") or media in TEXT_APPLICATION_TYPES:
        return "text"
    if media.startswith("application/") and media.endswith(TEXT_APPLICATION_SUFFIXES):
        return "text"
    if media not in UNDECIDED_TYPES:  # audio, video, other images, archives, programs: not read
        return None
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    if suffix == ".pdf":
        return "pdf"
    if suffix in TEXT_EXTENSIONS:
        return "text"
    return None


def not_downloaded(files: Sequence[SharedFile]) -> ReadFiles:
    """Each file named as not downloaded: what a bot without an HTTP session can say of them."""
    return ReadFiles(skipped=tuple(SkippedFile(file.filename, "download_failed") for file in files))


async def read_files(files: Sequence[SharedFile], *, limits: AttachmentLimits, download: Download) -> ReadFiles:
    """Decide for each file before any download, then download and read the accepted ones concurrently."""
    accepted: list[tuple[SharedFile, FileKind]] = []
    skipped: list[SkippedFile] = []
    images = 0
    for file in files:
        kind = kind_of(file)
        if kind is None:
            skipped.append(SkippedFile(file.filename, "unsupported"))
        elif file.size > limits.max_bytes:
            skipped.append(SkippedFile(file.filename, "too_large", limits.max_bytes))
        elif kind == "image" and not limits.vision:
            skipped.append(SkippedFile(file.filename, "no_vision"))
        elif kind == "image" and images >= limits.max_images:
            skipped.append(SkippedFile(file.filename, "too_many_images", limits.max_images))
        else:
            images += kind == "image"
            accepted.append((file, kind))
    read = await asyncio.gather(*(_read_one(file, kind, limits=limits, download=download) for file, kind in accepted))
    parts = [part for part in read if not isinstance(part, SkippedFile)]
    skipped += [part for part in read if isinstance(part, SkippedFile)]
    return ReadFiles(parts=tuple(parts), skipped=tuple(skipped))


async def _read_one(
    file: SharedFile, kind: FileKind, *, limits: AttachmentLimits, download: Download
) -> Attachment | SkippedFile:
    """Download one accepted file and turn it into a part; any failure names the file instead."""
    try:
        async with asyncio.timeout(limits.download_timeout):
            body = await download(file.url, limits.max_bytes)
    except TooLarge:
        return SkippedFile(file.filename, "too_large", limits.max_bytes)
    except Exception as error:  # a network failure, a timeout, an expired link: the turn goes on without the file
        log.warning("could not download attachment %r: %s", file.filename, type(error).__name__)
        return SkippedFile(file.filename, "download_failed")
    if kind == "image":
        media = _image_type(body)
        if media is None:
            return SkippedFile(file.filename, "unreadable")
        return ImagePart(filename=file.filename, media_type=media, data=base64.b64encode(body).decode("ascii"))
    if kind == "pdf":
        text = await asyncio.to_thread(
            _pdf_text, body, limits.max_text_chars, max_pages=limits.max_pdf_pages, seconds=limits.pdf_seconds
        )
        if text is None:
            return SkippedFile(file.filename, "unreadable")
        return _file_text(file.filename, text, "pdf", limits.max_text_chars)
    text = _decode(body)
    if text is None:
        return SkippedFile(file.filename, "unreadable")
    return _file_text(file.filename, text, "text", limits.max_text_chars)


def _file_text(filename: str, text: str, source: Literal["text", "pdf"], limit: int) -> FileText:
    """The file's text, cut to `limit` characters from the start (the model is told how much was cut)."""
    if len(text) <= limit:
        return FileText(filename=filename, text=text, source=source)
    return FileText(filename=filename, text=text[:limit], source=source, total_chars=len(text))


_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def _image_type(body: bytes) -> str | None:
    """The image's real type from its first bytes (a file's name or announced type may lie)."""
    for signature, media in _SIGNATURES:
        if body.startswith(signature):
            return media
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "image/webp"
    return None


def _decode(body: bytes) -> str | None:
    """A text file's characters: UTF-8 (with or without BOM), UTF-16 with a BOM, or a legacy 8-bit text
    (Windows-1252, Latin-1); None for binary data."""
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return body.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\x00" in body[:8192]:
        return None
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:  # legacy exports (Excel's CSV) are usually Windows-1252
        text = body.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes Windows-1252 leaves undefined: Latin-1 reads every byte
        text = body.decode("latin-1")
    return text if _mostly_printable(text) else None  # any byte decodes: only real text passes


_CONTROLS = tuple(chr(code) for code in [*range(0x20), *range(0x7F, 0xA0)] if chr(code) not in "\t\n\r\f")
MAX_CONTROL_SHARE = 0.01
"""Control characters a legacy 8-bit text may hold (1 in 100): random bytes read as Latin-1 hold about 1 in 4."""


def _mostly_printable(text: str) -> bool:
    """Whether at most 1% of the characters are control characters other than tab, line breaks and form feed."""
    controls = sum(text.count(char) for char in _CONTROLS)
    return controls <= len(text) * MAX_CONTROL_SHARE


def _pdf_text(body: bytes, enough: int, *, max_pages: int = 500, seconds: float = 10.0) -> str | None:
    """The text of a PDF's pages, extracted locally until there is more than `enough` characters (the rest would be
    cut anyway), `max_pages` pages were read, or `seconds` passed (checked between pages: a thread cannot be
    stopped); a PDF left unread for the page cap or the time says so at the end of its text. "" for a PDF without
    text (a scan), None for one that cannot be read."""
    deadline = time.monotonic() + seconds
    texts: list[str] = []
    length = 0
    read = 0
    try:
        reader = PdfReader(io.BytesIO(body))
        for page in _pages(reader):
            if read >= max_pages or (read and time.monotonic() >= deadline):
                texts.append(_pdf_cut_note(read, _declared_pages(reader), timed_out=read < max_pages))
                break
            text = (page.extract_text() or "").strip()
            read += 1
            if text:
                texts.append(text)
                length += len(text) + 2
            if length > enough:
                break
    except Exception as error:  # pypdf raises many kinds of errors on damaged files
        log.warning("could not read a PDF: %s", type(error).__name__)
        return None
    return "\n\n".join(texts)


def _pdf_cut_note(read: int, total: int | None, *, timed_out: bool) -> str:
    """The line that ends a PDF's text when its later pages were not read (no bracket: the text is quoted)."""
    why = "in the time allowed" if timed_out else "(the page limit)"
    pages = f"{read} of {total}" if total is not None and total > read else f"{read}"
    return f"— PDF cut here: only its first {pages} pages were read {why}; the rest is not shown —"


_INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
_MAX_PAGE_TREE_DEPTH = 64


def _pages(reader: PdfReader) -> Iterator[PageObject]:
    """The PDF's pages in order, each found when it is wanted. (pypdf's `reader.pages` walks the whole page tree
    first: for a 10 MB file of blank pages, seconds before the first page, out of reach of any page limit.)"""
    root = reader.root_object["/Pages"]
    stack: list[tuple[PdfObject, dict[str, PdfObject], int]] = [(root, {}, 0)]
    seen: set[int] = set()
    while stack:
        entry, inherited, depth = stack.pop()
        node = entry.get_object()
        if not isinstance(node, DictionaryObject):
            continue  # a damaged entry: the other pages are still read
        if node.get("/Type") == "/Pages" or ("/Kids" in node and node.get("/Type") != "/Page"):
            if id(node) in seen or depth >= _MAX_PAGE_TREE_DEPTH:
                raise ValueError("a page tree that loops or is too deep")
            seen.add(id(node))
            inherit = inherited | {key: node[key] for key in _INHERITED if key in node}
            stack += [(kid, inherit, depth + 1) for kid in reversed(node.get("/Kids", []))]
            continue
        page = PageObject(reader, entry if isinstance(entry, IndirectObject) else None)
        page.update(node)
        for key, value in inherited.items():
            page.setdefault(NameObject(key), value)
        yield page


def _declared_pages(reader: PdfReader) -> int | None:
    """How many pages the PDF says it has (without walking them), if it says so plainly."""
    pages = reader.root_object["/Pages"].get_object()
    count = pages.get("/Count") if isinstance(pages, DictionaryObject) else None
    return int(count) if isinstance(count, int) else None


def http_download(session: aiohttp.ClientSession) -> Download:
    """Downloads through the bot's HTTP session, stopping as soon as a body passes its byte limit."""

    async def download(url: str, max_bytes: int) -> bytes:
        async with session.get(url, allow_redirects=False) as response:
            if response.status != 200:  # redirects included: only the attachment's own URL is fetched
                raise DownloadFailed(f"HTTP {response.status}")
            if response.content_length is not None and response.content_length > max_bytes:
                raise TooLarge(url)
            body = bytearray()
            async for chunk in response.content.iter_chunked(65_536):
                body += chunk
                if len(body) > max_bytes:
                    raise TooLarge(url)
            return bytes(body)

    return download
