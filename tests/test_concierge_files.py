"""Members' files through the facade: real files from a local file server, the real openai client over real HTTP
to the fake model server, both APIs, real SQLite (reopened as after a restart), usage and quotas."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

from bot.attachments import AttachmentLimits, FileReader, SharedFile, SkippedFile, http_download
from bot.concierge import ChannelBusy, Concierge, ConciergeLimits, QuotaReached
from bot.engine.api.chat import ChatAPI
from bot.engine.api.responses import ResponsesAPI
from bot.engine.permissions import Caller, Place
from bot.engine.tokens import IMAGE_TOKENS
from bot.engine.tools import Registry
from bot.prompt import SystemPrompt
from bot.spending import QuotaDefaults, Spending
from bot.store import Store
from tests.engine.scripted import ScriptedAPI
from tests.fake_openai import FakeOpenAI
from tests.file_server import FILES, FileServer, serve_files

APIS = ["responses", "chat"]
ANN = Caller(user_id="1", name="Ann")
BOB = Caller(user_id="2", name="Bob")
THREAD = Place(channel_id="t1", guild_id="g1", guild_name="Food Club", channel_name="lunch")
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def data_url(name: str, media_type: str) -> str:
    return f"data:{media_type};base64," + base64.b64encode((FILES / name).read_bytes()).decode()


@dataclass
class Rig:
    """Everything a turn with files touches, as the app wires it."""

    kind: str
    files: FileServer
    model: FakeOpenAI
    client: openai.AsyncOpenAI
    http: aiohttp.ClientSession
    database: Path
    limits: AttachmentLimits
    quota: int
    stack: AsyncExitStack
    history_max_tokens: int = 6000

    async def concierge(self) -> Concierge:
        """A facade on the database as it is now (a new one after `restart`)."""
        store = await Store.open(self.database)
        self.stack.push_async_callback(store.close)
        api = (
            ChatAPI(self.client, model="test-model")
            if self.kind == "chat"
            else ResponsesAPI(self.client, model="test-model")
        )
        return Concierge(
            api=api,
            registry=Registry([]),
            history=store.history,
            policies=store.policies,
            audit=store.audit,
            conversations=store.conversations,
            prompt=SystemPrompt("Server $server, channel $channel."),
            services={},
            spending=Spending(
                store.usage, store.quotas, defaults=QuotaDefaults(per_member=self.quota), model="test-model"
            ),
            now=lambda: NOW,
            limits=ConciergeLimits(history_max_tokens=self.history_max_tokens),
            files=FileReader(download=http_download(self.http), limits=self.limits),
        )

    def user_contents(self, request: int = -1) -> list[Any]:
        """The content of every user message in one request to the model server."""
        body = self.model.model_requests()[request].json
        messages = body["messages"] if self.kind == "chat" else body["input"]
        return [message["content"] for message in messages if message.get("role") == "user"]


@asynccontextmanager
async def rig(
    tmp_path: Path, kind: str, *, limits: AttachmentLimits | None = None, quota: int = 0, **server: Any
) -> AsyncIterator[Rig]:
    async with AsyncExitStack() as stack:
        files = await stack.enter_async_context(serve_files())
        model = await stack.enter_async_context(FakeOpenAI(**server))
        client = await stack.enter_async_context(model.client())
        http = await stack.enter_async_context(aiohttp.ClientSession())
        yield Rig(
            kind, files, model, client, http, tmp_path / "concierge.db", limits or AttachmentLimits(), quota, stack
        )


def images_in(content: Any) -> list[str]:
    """The image URLs in one user message's content, whichever API's shape."""
    if isinstance(content, str):
        return []
    urls = []
    for part in content:
        if part["type"] == "input_image":
            urls.append(part["image_url"])
        elif part["type"] == "image_url":
            urls.append(part["image_url"]["url"])
    return urls


def text_of(content: Any) -> str:
    """The text of one user message's content, whichever API's shape."""
    if isinstance(content, str):
        return content
    return "\n".join(part["text"] for part in content if part["type"] in ("text", "input_text"))


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", APIS)
async def test_a_png_and_a_gif_reach_the_model_as_images_in_the_members_own_message(tmp_path: Path, kind: str) -> None:
    async with rig(tmp_path, kind) as r:
        r.model.reply_text("A red square and a dot.")
        concierge = await r.concierge()
        files = [r.files.shared("red-square.png"), r.files.shared("dot.gif")]

        reply = await concierge.chat(THREAD, ANN, "what are these?", files=files)

        (content,) = r.user_contents()
    assert (reply.text, reply.failed, reply.skipped_files) == ("A red square and a dot.", False, ())
    assert text_of(content).startswith('[member 1 "Ann"]\nwhat are these?')
    assert images_in(content) == [data_url("red-square.png", "image/png"), data_url("dot.gif", "image/gif")]


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", APIS)
async def test_a_compressed_pdf_and_a_utf8_text_file_reach_the_model_as_text_under_their_names(
    tmp_path: Path, kind: str
) -> None:
    async with rig(tmp_path, kind) as r:
        r.model.reply_text("Tomato soup, and duck.")
        concierge = await r.concierge()
        files = [r.files.shared("lunch-menu.pdf"), r.files.shared("menu-notes.txt")]

        reply = await concierge.chat(THREAD, ANN, "what is for lunch?", files=files)

        (content,) = r.user_contents()
    assert reply.text == "Tomato soup, and duck." and reply.skipped_files == ()
    assert isinstance(content, str)  # no image: plain text content, as before files existed
    assert "[file 'lunch-menu.pdf']\nLunch menu: tomato soup 6 EUR" in content
    assert "[file 'menu-notes.txt']" in content and "北京烤鸭" in content and "Crème brûlée: 9 €" in content


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", APIS)
async def test_a_zip_is_never_downloaded_and_named_while_the_turn_runs_on_the_rest(tmp_path: Path, kind: str) -> None:
    async with rig(tmp_path, kind) as r:
        r.model.reply_text("Here are the notes.")
        concierge = await r.concierge()
        files = [r.files.shared("archive.zip"), r.files.shared("menu-notes.txt")]

        reply = await concierge.chat(THREAD, ANN, "open these", files=files)

        (content,) = r.user_contents()
        assert r.files.requests == ["menu-notes.txt"]
    assert reply.text == "Here are the notes."
    assert reply.skipped_files == (SkippedFile("archive.zip", "unsupported"),)
    assert "archive.zip" not in text_of(content) and "北京烤鸭" in text_of(content)


@pytest.mark.asyncio
async def test_a_video_with_a_source_code_extension_is_named_and_never_reaches_the_model(tmp_path: Path) -> None:
    async with rig(tmp_path, "chat") as r:
        r.files.extra["clip.ts"] = b"G@\x11\x10\x00B\xf0%\x00\x01\xc1\x00\x00\xff" * 1000  # MPEG-TS packets
        r.model.reply_text("I only have your words.")
        concierge = await r.concierge()

        reply = await concierge.chat(
            THREAD, ANN, "what is in this clip?", files=[r.files.shared("clip.ts", content_type="video/mp2t")]
        )

        (content,) = r.user_contents()
        assert r.files.requests == []
    assert reply.skipped_files == (SkippedFile("clip.ts", "unsupported"),)
    assert text_of(content) == '[member 1 "Ann"]\nwhat is in this clip?'


@pytest.mark.asyncio
async def test_a_file_over_the_size_limit_is_judged_from_discords_size_and_never_downloaded(tmp_path: Path) -> None:
    async with rig(tmp_path, "responses", limits=AttachmentLimits(max_bytes=1_000_000)) as r:
        r.model.reply_text("I only have your words.")
        concierge = await r.concierge()
        huge = r.files.shared("red-square.png", size=25_000_000)

        reply = await concierge.chat(THREAD, ANN, "look at this", files=[huge])

        (content,) = r.user_contents()
        assert r.files.requests == []
    assert reply.skipped_files == (SkippedFile("red-square.png", "too_large"),)
    assert images_in(content) == []


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", APIS)
async def test_the_turn_after_files_is_valid_after_a_restart_and_names_the_image_instead_of_resending_it(
    tmp_path: Path, kind: str
) -> None:
    async with rig(tmp_path, kind) as r:
        r.model.reply_text("A red square, and a menu.")
        r.model.reply_text("It was red; the duck is on the menu.")
        first = await r.concierge()
        files = [r.files.shared("red-square.png"), r.files.shared("menu-notes.txt")]
        await first.chat(THREAD, ANN, "what is this?", files=files)
        after_restart = await r.concierge()  # a new facade on the database, reopened from disk

        reply = await after_restart.chat(THREAD, ANN, "what colour was it, and is there duck?")

        earlier, latest = r.user_contents()
    assert reply.text == "It was red; the duck is on the menu." and not reply.failed
    assert isinstance(earlier, str)  # the image is not sent again, and not kept in the database
    assert "[image 'red-square.png', shared earlier; not shown again]" in earlier
    assert "北京烤鸭" in earlier  # the file's text is kept like any text
    assert text_of(latest) == '[member 1 "Ann"]\nwhat colour was it, and is there duck?'
    assert b"iVBOR" not in (tmp_path / "concierge.db").read_bytes()  # no PNG (base64) stored


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", APIS)
async def test_without_vision_a_text_only_server_gets_no_image_and_the_member_is_told(
    tmp_path: Path, kind: str
) -> None:
    async with rig(tmp_path, kind, limits=AttachmentLimits(vision=False), text_only=True) as r:
        r.model.reply_text("The notes mention duck.")
        concierge = await r.concierge()
        files = [r.files.shared("red-square.png"), r.files.shared("menu-notes.txt")]

        reply = await concierge.chat(THREAD, ANN, "what is in these?", files=files)

        (content,) = r.user_contents()
        assert r.files.requests == ["menu-notes.txt"]
    assert (reply.text, reply.failed) == ("The notes mention duck.", False)
    assert reply.skipped_files == (SkippedFile("red-square.png", "no_vision"),)
    assert images_in(content) == [] and "北京烤鸭" in text_of(content)


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", APIS)
async def test_an_image_sent_to_a_text_only_server_with_vision_on_fails_politely_and_keeps_nothing(
    tmp_path: Path, kind: str
) -> None:
    async with rig(tmp_path, kind, text_only=True) as r:
        r.model.reply_text("Hello again.")
        concierge = await r.concierge()

        refused = await concierge.chat(THREAD, ANN, "what is this?", files=[r.files.shared("red-square.png")])
        after = await concierge.chat(THREAD, ANN, "hello?")

        (content,) = r.user_contents()
    assert refused.failed and refused.error is not None and refused.error.key == "error.model_rejected"
    assert (
        after.text == "Hello again." and content == '[member 1 "Ann"]\nhello?'
    )  # the refused turn left no image behind


@pytest.mark.asyncio
async def test_an_image_counts_in_usage_as_an_estimate_when_the_server_reports_none(tmp_path: Path) -> None:
    async with rig(tmp_path, "chat", report_usage=False) as r:
        r.model.reply_text("Red.")
        r.model.reply_text("Red.")
        concierge = await r.concierge()
        await concierge.chat(THREAD, ANN, "colour?")
        without = await concierge.member_usage(THREAD, ANN)
        await concierge.chat(Place(channel_id="t2", guild_id="g1"), ANN, "colour?", files=[r.files.shared("dot.gif")])
        with_image = await concierge.member_usage(THREAD, ANN)

    text_turn = without.today.input_tokens
    image_turn = with_image.today.input_tokens - text_turn  # the same words, with one image
    assert with_image.today.estimated_requests == 2
    assert IMAGE_TOKENS <= image_turn - text_turn < IMAGE_TOKENS + 20


@pytest.mark.asyncio
async def test_an_image_counts_against_the_members_daily_quota(tmp_path: Path) -> None:
    async with rig(tmp_path, "responses", report_usage=False, quota=IMAGE_TOKENS) as r:
        r.model.reply_text("Red.")
        concierge = await r.concierge()
        await concierge.chat(THREAD, ANN, "colour?", files=[r.files.shared("red-square.png")])

        with pytest.raises(QuotaReached):
            await concierge.chat(THREAD, ANN, "and now?")
        assert len(r.model.model_requests()) == 1


class GatedDownload:
    """A download that starts, then waits to be released (a slow link)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, url: str, max_bytes: int) -> bytes:
        self.started.set()
        await self.release.wait()
        return b"soup of the day: tomato"


@pytest.mark.asyncio
async def test_a_message_whose_files_are_downloading_holds_its_place_in_its_channel(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "concierge.db")
    download = GatedDownload()
    api = ScriptedAPI().text("Tomato.")
    concierge = Concierge(
        api=api,
        registry=Registry([]),
        history=store.history,
        policies=store.policies,
        audit=store.audit,
        conversations=store.conversations,
        prompt=SystemPrompt("Channel $channel."),
        services={},
        limits=ConciergeLimits(max_waiting_per_channel=0),
        files=FileReader(download=download),
    )
    try:
        notes = SharedFile("notes.txt", 23, "text/plain", "https://cdn.example/notes.txt")
        first = asyncio.create_task(concierge.chat(THREAD, ANN, "what soup?", files=[notes]))
        await download.started.wait()

        with pytest.raises(ChannelBusy):  # the channel is taken by the message still downloading its file
            await concierge.chat(THREAD, BOB, "hello?")

        download.release.set()
        reply = await first
    finally:
        await store.close()
    assert reply.text == "Tomato."
    (request,) = api.requests
    assert "soup of the day: tomato" in request.items[-1].as_prompt()  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_without_a_file_reader_each_file_is_named_and_the_words_are_answered(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "concierge.db")
    api = ScriptedAPI().text("Hello.")
    concierge = Concierge(
        api=api,
        registry=Registry([]),
        history=store.history,
        policies=store.policies,
        audit=store.audit,
        conversations=store.conversations,
        prompt=SystemPrompt("Channel $channel."),
        services={},
    )
    try:
        notes = SharedFile("notes.txt", 23, "text/plain", "https://cdn.example/notes.txt")
        reply = await concierge.chat(THREAD, ANN, "hi", files=[notes])
    finally:
        await store.close()
    assert reply.text == "Hello."
    assert reply.skipped_files == (SkippedFile("notes.txt", "download_failed"),)


@pytest.mark.asyncio
async def test_an_image_shared_earlier_costs_the_history_budget_only_its_placeholder(tmp_path: Path) -> None:
    async with rig(tmp_path, "chat") as r:
        r.history_max_tokens = IMAGE_TOKENS // 2  # far less than an image, far more than its placeholder
        r.model.reply_text("A red square.")
        r.model.reply_text("Red.")
        concierge = await r.concierge()
        await concierge.chat(THREAD, ANN, "what is this?", files=[r.files.shared("red-square.png")])

        await concierge.chat(THREAD, ANN, "what colour was it?")

        earlier, _ = r.user_contents()
    assert "[image 'red-square.png', shared earlier; not shown again]" in earlier
