"""Members' files: what reaches the model, read from a real local HTTP server within the limits."""

from __future__ import annotations

import base64
import io
import random
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from pypdf import PdfWriter

from bot.attachments import AttachmentLimits, ReadFiles, SharedFile, SkippedFile, http_download, kind_of, read_files
from bot.engine.items import FileText, ImagePart, UserMessage, item_from_json, item_to_json
from tests.file_server import FILES, FileServer, serve_files


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FileServer]:
    async with serve_files() as files:
        yield files


async def read(server: FileServer, *files: SharedFile, limits: AttachmentLimits | None = None) -> ReadFiles:
    async with aiohttp.ClientSession() as session:
        return await read_files(files, limits=limits or AttachmentLimits(), download=http_download(session))


@pytest.mark.asyncio
async def test_an_image_reaches_the_model_as_its_exact_bytes_with_its_own_type(server: FileServer) -> None:
    result = await read(server, server.shared("red-square.png"), server.shared("dot.gif"))

    png, gif = result.parts
    assert isinstance(png, ImagePart) and isinstance(gif, ImagePart)
    assert png.media_type == "image/png" and gif.media_type == "image/gif"
    assert base64.b64decode(png.data or "") == (FILES / "red-square.png").read_bytes()
    assert (
        png.data_url() == "data:image/png;base64," + base64.b64encode((FILES / "red-square.png").read_bytes()).decode()
    )
    assert result.skipped == ()


@pytest.mark.asyncio
async def test_a_utf8_text_file_reaches_the_model_under_its_name_with_its_characters(server: FileServer) -> None:
    result = await read(server, server.shared("menu-notes.txt"))

    (part,) = result.parts
    assert isinstance(part, FileText)
    assert "北京烤鸭" in part.text and "Crème brûlée: 9 €" in part.text
    prompt = UserMessage(text="what is on it?", attachments=result.parts).as_prompt()
    assert prompt.startswith("what is on it?")
    assert "[file 'menu-notes.txt']" in prompt and "[end of file 'menu-notes.txt']" in prompt


@pytest.mark.asyncio
async def test_a_compressed_pdf_reaches_the_model_as_its_text(server: FileServer) -> None:
    result = await read(server, server.shared("lunch-menu.pdf"))

    (part,) = result.parts
    assert isinstance(part, FileText) and part.source == "pdf"
    assert "Lunch menu: tomato soup 6 EUR" in part.text
    assert "Open Monday to Friday" in part.text


@pytest.mark.asyncio
async def test_a_pdf_without_text_is_named_as_a_scan(server: FileServer) -> None:
    result = await read(server, server.shared("scan.pdf"))

    (part,) = result.parts
    assert isinstance(part, FileText) and part.text == ""
    assert "no extractable text" in part.as_prompt() and "scan.pdf" in part.as_prompt()


@pytest.mark.asyncio
async def test_text_past_the_limit_is_cut_from_the_start_and_the_model_is_told(server: FileServer) -> None:
    server.extra["long.csv"] = ("row," * 10_000).encode()

    result = await read(
        server, server.shared("long.csv", content_type="text/csv"), limits=AttachmentLimits(max_text_chars=100)
    )

    (part,) = result.parts
    assert isinstance(part, FileText)
    assert part.text == ("row," * 25) and part.total_chars == 40_000
    assert "only the first 100 of 40000 characters" in part.as_prompt()


@pytest.mark.asyncio
async def test_json_counts_as_text_whatever_discord_calls_it(server: FileServer) -> None:
    server.extra["order.json"] = b'{"table": 4}'

    result = await read(server, server.shared("order.json", content_type="application/octet-stream"))

    (part,) = result.parts
    assert isinstance(part, FileText) and part.text == '{"table": 4}'


@pytest.mark.asyncio
async def test_a_zip_is_named_as_unsupported_and_never_downloaded(server: FileServer) -> None:
    result = await read(server, server.shared("archive.zip"), server.shared("menu-notes.txt"))

    assert result.skipped == (SkippedFile("archive.zip", "unsupported"),)
    assert [part.filename for part in result.parts] == ["menu-notes.txt"]
    assert server.requests == ["menu-notes.txt"]


@pytest.mark.asyncio
async def test_a_file_over_the_size_limit_is_judged_from_the_reported_size_without_downloading(
    server: FileServer,
) -> None:
    result = await read(
        server, server.shared("red-square.png", size=20_000_000), limits=AttachmentLimits(max_bytes=10_000_000)
    )

    assert result == ReadFiles(parts=(), skipped=(SkippedFile("red-square.png", "too_large"),))
    assert server.requests == []


@pytest.mark.asyncio
async def test_a_body_longer_than_discord_said_is_stopped_at_the_byte_limit(server: FileServer) -> None:
    server.extra["liar.txt"] = b"x" * 5_000

    result = await read(
        server, server.shared("liar.txt", size=10, content_type="text/plain"), limits=AttachmentLimits(max_bytes=1_000)
    )

    assert result.skipped == (SkippedFile("liar.txt", "too_large"),)


@pytest.mark.asyncio
async def test_images_past_the_per_message_limit_are_named_as_skipped(server: FileServer) -> None:
    shared = [server.shared("red-square.png"), server.shared("dot.gif"), server.shared("red-square.png")]

    result = await read(server, *shared, limits=AttachmentLimits(max_images=2))

    assert len(result.parts) == 2
    assert result.skipped == (SkippedFile("red-square.png", "too_many_images"),)
    assert result.skipped[0].limit == 2


@pytest.mark.asyncio
async def test_without_vision_images_are_never_downloaded_but_text_still_goes(server: FileServer) -> None:
    result = await read(
        server, server.shared("red-square.png"), server.shared("menu-notes.txt"), limits=AttachmentLimits(vision=False)
    )

    assert result.skipped == (SkippedFile("red-square.png", "no_vision"),)
    assert [part.filename for part in result.parts] == ["menu-notes.txt"]
    assert server.requests == ["menu-notes.txt"]


@pytest.mark.asyncio
async def test_a_file_named_png_that_is_not_an_image_is_not_sent_as_one(server: FileServer) -> None:
    server.extra["fake.png"] = b"MZ\x90\x00 this is an executable"

    result = await read(server, server.shared("fake.png", content_type="image/png"))

    assert result.skipped == (SkippedFile("fake.png", "unreadable"),)


@pytest.mark.asyncio
async def test_a_link_that_fails_loses_only_that_file(server: FileServer) -> None:
    gone = SharedFile(filename="gone.txt", size=10, content_type="text/plain", url=f"{server.base}/missing.txt")

    result = await read(server, gone, server.shared("menu-notes.txt"))

    assert result.skipped == (SkippedFile("gone.txt", "download_failed"),)
    assert [part.filename for part in result.parts] == ["menu-notes.txt"]


@pytest.mark.asyncio
async def test_audio_and_video_with_a_text_extension_are_named_as_unsupported_and_never_downloaded(
    server: FileServer,
) -> None:
    server.extra["clip.ts"] = b"G@\x11\x10\x00B\xf0%\x00\x01\xc1\x00\x00\xff\x01\xff\x00" * 100  # MPEG-TS packets
    server.extra["b.h"] = b"ID3\x04\x00\x00\x00\x00\x00#TSSE\x00\x00\x00\x0f" * 100  # an MP3's tag

    result = await read(
        server,
        server.shared("clip.ts", content_type="video/mp2t"),
        server.shared("b.h", content_type="audio/mpeg"),
        server.shared("menu-notes.txt"),
    )

    assert result.skipped == (SkippedFile("clip.ts", "unsupported"), SkippedFile("b.h", "unsupported"))
    assert [part.filename for part in result.parts] == ["menu-notes.txt"]
    assert server.requests == ["menu-notes.txt"]


def blank_pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    body = io.BytesIO()
    writer.write(body)
    return body.getvalue()


@pytest.mark.asyncio
async def test_a_pdf_longer_than_the_page_limit_is_read_up_to_it_and_the_model_is_told(server: FileServer) -> None:
    server.extra["blank.pdf"] = blank_pdf(40)

    result = await read(server, server.shared("blank.pdf"), limits=AttachmentLimits(max_pdf_pages=3))

    (part,) = result.parts
    assert isinstance(part, FileText) and part.source == "pdf"
    assert "only its first 3 of 40 pages were read (the page limit)" in part.as_prompt()
    assert "no extractable text" not in part.as_prompt()


@pytest.mark.asyncio
async def test_a_pdf_still_being_read_when_its_time_is_up_keeps_what_was_read_and_the_model_is_told(
    server: FileServer,
) -> None:
    server.extra["blank.pdf"] = blank_pdf(40)

    result = await read(server, server.shared("blank.pdf"), limits=AttachmentLimits(pdf_seconds=0))

    (part,) = result.parts  # no time at all: the first page is read, then the time is up
    assert isinstance(part, FileText)
    assert "only its first 1 of 40 pages were read in the time allowed" in part.as_prompt()


@pytest.mark.asyncio
async def test_a_pdf_within_its_limits_is_read_whole_with_no_cut_note(server: FileServer) -> None:
    result = await read(server, server.shared("lunch-menu.pdf"), limits=AttachmentLimits(max_pdf_pages=1))

    (part,) = result.parts
    assert isinstance(part, FileText)
    assert part.text == "Lunch menu: tomato soup 6 EUR\nOpen Monday to Friday"


@pytest.mark.asyncio
async def test_random_bytes_named_txt_are_named_unreadable_not_sent_as_garbage(server: FileServer) -> None:
    noise = random.Random(24).randbytes(50_000).replace(b"\x00", b"\x01")  # no NUL: not caught as binary early
    server.extra["noise.txt"] = noise

    result = await read(server, server.shared("noise.txt"))

    assert result == ReadFiles(parts=(), skipped=(SkippedFile("noise.txt", "unreadable"),))


@pytest.mark.asyncio
async def test_a_windows_1252_csv_export_is_read_with_its_accents_and_euro_sign(server: FileServer) -> None:
    server.extra["desserts.csv"] = "Dessert;Prix\r\nCafé;2 €\r\nCrème brûlée;9 €\r\n".encode("cp1252")

    result = await read(server, server.shared("desserts.csv", content_type="text/csv"))

    (part,) = result.parts
    assert isinstance(part, FileText)
    assert part.text == "Dessert;Prix\r\nCafé;2 €\r\nCrème brûlée;9 €\r\n"


def test_common_kinds_are_recognised_by_type_or_extension() -> None:
    def kind(name: str, content_type: str | None) -> str | None:
        return kind_of(SharedFile(filename=name, size=1, content_type=content_type, url="x"))

    assert kind("photo.webp", "image/webp") == "image"
    assert kind("photo.JPG", None) == "image"
    assert kind("data.tsv", None) == "text"
    assert kind("script.py", "text/x-python") == "text"
    assert kind("notes.yaml", "application/octet-stream") == "text"
    assert kind("report.pdf", "application/pdf") == "pdf"
    assert kind("song.mp3", "audio/mpeg") is None
    assert kind("clip.mp4", "video/mp4") is None
    assert kind("setup.exe", "application/x-msdownload") is None
    assert kind("order.json", "application/json") == "text"
    assert kind("app.ts", "text/vnd.trolltech.linguist") == "text"
    assert kind("app.ts", None) == "text"
    assert kind("clip.ts", "video/mp2t") is None
    assert kind("b.h", "audio/mpeg") is None
    assert kind("logo.png", "image/svg+xml") is None
    assert kind("notes.txt", "application/zip") is None
    assert kind("lib.rs", "application/rls-services+xml") == "text"
    assert kind("photo.png", "application/octet-stream") == "image"
    assert kind("report.pdf", "") == "pdf"


def test_stored_messages_keep_an_images_name_but_not_its_bytes() -> None:
    message = UserMessage(
        text="look",
        attachments=(
            ImagePart(filename="red.png", media_type="image/png", data="AAAA"),
            FileText(filename="a.txt", text="hello"),
        ),
    )

    stored = item_from_json(item_to_json(message))

    assert isinstance(stored, UserMessage)
    assert stored.images() == []
    assert "[image 'red.png', shared earlier; not shown again]" in stored.as_prompt()
    assert "hello" in stored.as_prompt()


def test_a_message_without_files_is_stored_exactly_as_before() -> None:
    assert item_to_json(UserMessage(text="hi", author_id="1", author_name="Ann")) == (
        '{"kind":"user","text":"hi","author_id":"1","author_name":"Ann"}'
    )
