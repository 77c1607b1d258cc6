"""Message routing: when the bot answers, where (new thread, existing thread, in place), and how failures read."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import discord
import pytest

from bot.attachments import SharedFile, SkippedFile
from bot.concierge import ChannelBusy, Reply, SlowDown, TraceEntry
from bot.discord_adapter.client import MessageFacts, MessageRouter, Route, route
from bot.discord_adapter.render import GENERIC_FAILURE, error_sentence, shared_files
from bot.discord_adapter.turns import NOTE_THREAD_FORBIDDEN, NOTE_THREAD_LIMIT
from bot.engine.items import ToolCall
from bot.engine.permissions import Caller, Place
from tests.discord_adapter.fakes import (
    FakeAttachment,
    FakeChannel,
    FakeConcierge,
    FakeGuild,
    FakeMessage,
    FakeRole,
    FakeUser,
    http_error,
)

ME = FakeUser(id=1, display_name="Concierge", name="concierge", bot=True)
ANN = FakeUser(id=7, display_name="Ann", roles=(FakeRole(30),), guild_permissions=discord.Permissions.none())


def facts(**changes: bool) -> MessageFacts:
    base = {
        "from_bot": False,
        "is_system": False,
        "is_dm": False,
        "in_text_channel": True,
        "mentions_bot": False,
        "in_bot_thread": False,
    }
    return MessageFacts(**(base | changes))


@pytest.mark.parametrize(
    ("situation", "expected"),
    [
        (facts(mentions_bot=True), Route.OPEN_THREAD),
        (facts(), Route.IGNORE),
        (facts(in_text_channel=False, in_bot_thread=True), Route.ANSWER_IN_PLACE),
        (facts(in_text_channel=False), Route.IGNORE),
        (facts(in_text_channel=False, mentions_bot=True), Route.ANSWER_IN_PLACE),
        (facts(in_text_channel=False, is_dm=True), Route.ANSWER_IN_PLACE),
        (facts(from_bot=True, mentions_bot=True), Route.IGNORE),
        (facts(from_bot=True, is_dm=True), Route.IGNORE),
        (facts(from_bot=True, in_text_channel=False, in_bot_thread=True), Route.IGNORE),
        (facts(is_system=True, mentions_bot=True), Route.IGNORE),
    ],
    ids=[
        "mention in text channel opens a thread",
        "no mention in text channel is ignored",
        "bot-started thread needs no mention",
        "other thread without mention is ignored",
        "other thread with mention answers in place",
        "dm answers in place",
        "bots are ignored even when they mention",
        "bots are ignored in dms",
        "bots are ignored in bot threads",
        "system messages are ignored",
    ],
)
def test_route_table(situation: MessageFacts, expected: Route) -> None:
    assert route(situation) is expected


def channel_message(content: str, *, author: FakeUser = ANN, mention: bool = True, **options: object) -> FakeMessage:
    channel = FakeChannel(id=6)
    return FakeMessage(
        id=100,
        content=content,
        author=author,
        channel=channel,
        guild=FakeGuild(),
        mentions=[ME] if mention else [],
        **options,  # type: ignore[arg-type]
    )


def thread_message(content: str, *, thread_id: int = 50, mention: bool = False) -> FakeMessage:
    thread = FakeChannel(id=thread_id, name="a thread", type=discord.ChannelType.public_thread)
    return FakeMessage(
        id=101, content=content, author=ANN, channel=thread, guild=FakeGuild(), mentions=[ME] if mention else []
    )


@pytest.mark.asyncio
async def test_mention_in_a_text_channel_opens_a_named_thread_and_answers_inside_it() -> None:
    concierge = FakeConcierge(replies=[Reply(text="It is sunny in Beijing.")])
    message = channel_message("<@1> what's the weather in Beijing tomorrow?")

    thread = await _handle_and_find_thread(concierge, message)

    assert message.threads_created == [("what's the weather in Beijing tomorrow?", 1440)]
    assert [sent.content for sent in thread.sent] == ["It is sunny in Beijing."]
    assert message.channel.sent == []
    expected_place = Place(
        channel_id="100", guild_id="5", guild_name="Cafe", channel_name=message.threads_created[0][0]
    )
    ann = Caller(user_id="7", name="Ann", role_ids=frozenset({"30"}), is_admin=False)
    assert concierge.started == [(expected_place, ann)]
    [chat] = concierge.chats
    assert (chat.place, chat.caller, chat.text, chat.tool_choice) == (
        expected_place,
        ann,
        "what's the weather in Beijing tomorrow?",
        "auto",
    )


async def _handle_and_find_thread(concierge: FakeConcierge, message: FakeMessage) -> FakeChannel:
    created: list[FakeChannel] = []
    original = message.create_thread

    async def create_thread(*, name: str, auto_archive_duration: int) -> FakeChannel:
        thread = await original(name=name, auto_archive_duration=auto_archive_duration)
        concierge.typing_probe = thread
        created.append(thread)
        return thread

    message.create_thread = create_thread  # type: ignore[method-assign]
    await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]
    [thread] = created
    return thread


@pytest.mark.asyncio
async def test_typing_shows_in_the_thread_while_the_turn_runs() -> None:
    concierge = FakeConcierge()
    thread = await _handle_and_find_thread(concierge, channel_message("<@1> hello"))
    assert concierge.chats[0].typing_active is True
    assert thread.typing_active is False


class CountingTypingChannel(FakeChannel):
    """A channel that counts the typing indicators started in it."""

    typing_started: int = 0
    typing_began: asyncio.Event | None = None

    def typing(self) -> Any:
        self.typing_started += 1
        if self.typing_began is not None:
            self.typing_began.set()
        return super().typing()


@pytest.mark.asyncio
async def test_a_turn_answered_within_the_grace_sends_no_typing_indicator() -> None:
    concierge = FakeConcierge(conversations={"50"})
    message = thread_message("hello")
    message.channel = channel = CountingTypingChannel(id=50, name="a thread", type=discord.ChannelType.public_thread)

    await MessageRouter(concierge, progress_grace=30.0).handle(message, me=ME)  # type: ignore[arg-type]

    assert channel.typing_started == 0
    assert [sent.content for sent in channel.sent] == ["Sure thing."]


@pytest.mark.asyncio
async def test_a_turn_that_outlasts_the_grace_shows_typing_until_it_is_answered() -> None:
    class SlowConcierge(FakeConcierge):
        async def chat(self, place: Place, caller: Caller, text: str, **options: Any) -> Reply:
            assert channel.typing_began is not None
            await channel.typing_began.wait()  # the model is still thinking when the grace ends
            return Reply(text="Done.")

    message = thread_message("a hard one")
    message.channel = channel = CountingTypingChannel(id=50, name="a thread", type=discord.ChannelType.public_thread)
    channel.typing_began = asyncio.Event()

    await MessageRouter(SlowConcierge(conversations={"50"}), progress_grace=0.01).handle(message, me=ME)  # type: ignore[arg-type]

    assert channel.typing_started == 1
    assert not channel.typing_active
    assert [sent.content for sent in channel.sent] == ["Done."]


@pytest.mark.asyncio
async def test_bot_started_thread_continues_without_a_mention_as_a_reply() -> None:
    concierge = FakeConcierge(conversations={"50"})
    message = thread_message("and the day after?")
    concierge.typing_probe = message.channel

    await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]

    assert [chat.text for chat in concierge.chats] == ["and the day after?"]
    assert concierge.chats[0].typing_active
    [sent] = message.channel.sent
    assert sent.content == "Sure thing."
    assert sent.options["reference"] == ("reference", 101, False)
    assert concierge.started == []


@pytest.mark.asyncio
async def test_another_thread_needs_a_mention_and_then_answers_in_place() -> None:
    concierge = FakeConcierge()
    quiet = thread_message("just chatting")
    await MessageRouter(concierge).handle(quiet, me=ME)  # type: ignore[arg-type]
    assert concierge.chats == []
    assert quiet.channel.sent == []

    asked = thread_message("<@1> help?", mention=True)
    await MessageRouter(concierge).handle(asked, me=ME)  # type: ignore[arg-type]
    assert [chat.text for chat in concierge.chats] == ["help?"]
    assert [sent.content for sent in asked.channel.sent] == ["Sure thing."]


@pytest.mark.asyncio
async def test_text_channel_message_without_mention_is_ignored() -> None:
    concierge = FakeConcierge()
    message = channel_message("hello all", mention=False)
    await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]
    assert concierge.chats == []
    assert message.threads_created == []


@pytest.mark.asyncio
async def test_dm_is_answered_in_place_with_no_server_roles() -> None:
    concierge = FakeConcierge()
    dm = FakeChannel(id=77, name=None, type=discord.ChannelType.private)
    bob = FakeUser(id=8, display_name="Bob")
    message = FakeMessage(id=102, content="hi there", author=bob, channel=dm, guild=None)

    await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]

    [chat] = concierge.chats
    assert chat.place == Place(channel_id="77")
    assert chat.caller == Caller(user_id="8", name="Bob")
    assert [sent.content for sent in dm.sent] == ["Sure thing."]


@pytest.mark.asyncio
async def test_messages_from_bots_and_from_itself_are_ignored() -> None:
    concierge = FakeConcierge(conversations={"50"})
    other_bot = FakeUser(id=99, bot=True)
    for author in (other_bot, ME):
        dm = FakeChannel(id=77, type=discord.ChannelType.private)
        await MessageRouter(concierge).handle(
            FakeMessage(id=1, content="<@1> hi", author=author, channel=dm, guild=None, mentions=[ME]),  # type: ignore[arg-type]
            me=ME,  # type: ignore[arg-type]
        )
        thread_msg = thread_message("hi")
        thread_msg.author = author
        await MessageRouter(concierge).handle(thread_msg, me=ME)  # type: ignore[arg-type]
    assert concierge.chats == []


@pytest.mark.asyncio
async def test_mentioning_the_bots_managed_role_counts_as_a_mention() -> None:
    concierge = FakeConcierge()
    guild = FakeGuild(self_role=FakeRole(40))
    message = FakeMessage(
        id=103,
        content="<@&40> what time is it?",
        author=ANN,
        channel=FakeChannel(id=6),
        guild=guild,
        role_mentions=[FakeRole(40)],
    )
    await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]
    assert [chat.text for chat in concierge.chats] == ["what time is it?"]


@pytest.mark.asyncio
async def test_existing_thread_for_the_message_is_used_and_registered() -> None:
    concierge = FakeConcierge()
    existing = FakeChannel(id=100, name="older thread", type=discord.ChannelType.public_thread)
    message = channel_message("<@1> hello again", thread_error=http_error(160004), thread=existing)

    await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]

    assert [sent.content for sent in existing.sent] == ["Sure thing."]
    assert message.channel.sent == []
    assert [place.channel_id for place, _ in concierge.started] == ["100"]


@pytest.mark.asyncio
async def test_existing_thread_not_in_the_cache_is_fetched() -> None:
    concierge = FakeConcierge(conversations={"100"})
    existing = FakeChannel(id=100, name="older thread", type=discord.ChannelType.public_thread)
    message = channel_message("<@1> hello again", thread_error=http_error(160004))
    message.guild.channels[100] = existing  # type: ignore[union-attr]

    await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]

    assert [sent.content for sent in existing.sent] == ["Sure thing."]
    assert concierge.started == []


@pytest.mark.parametrize(
    ("error", "note"),
    [(http_error(160006), NOTE_THREAD_LIMIT), (http_error(50013, status=403), NOTE_THREAD_FORBIDDEN)],
    ids=["active thread limit", "missing permission"],
)
@pytest.mark.asyncio
async def test_when_no_thread_can_be_opened_the_answer_goes_to_the_channel_with_a_note(
    error: discord.HTTPException, note: str
) -> None:
    concierge = FakeConcierge()
    message = channel_message("<@1> hello", thread_error=error)

    await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]

    [sent] = message.channel.sent
    assert sent.content == "Sure thing."
    assert sent.options["embed"].description == f"ℹ {note}"
    assert concierge.chats[0].place == Place(channel_id="6", guild_id="5", guild_name="Cafe", channel_name="general")
    assert concierge.started == []


@pytest.mark.asyncio
async def test_answers_ping_only_the_asker_and_carry_the_trace() -> None:
    trace = (TraceEntry("c1", "get_weather", '{"city": "Oslo"}', "ok", 250.0, "sunny"),)
    concierge = FakeConcierge(replies=[Reply(text="@everyone it is sunny", trace=trace)], conversations={"50"})
    message = thread_message("weather?")

    await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]

    [sent] = message.channel.sent
    assert sent.options["allowed_mentions"].to_dict() == {"users": [7], "replied_user": True, "parse": []}
    assert sent.options["embed"].description == "✓ get_weather city=Oslo · 0.2 s"


@pytest.mark.asyncio
async def test_a_long_answer_arrives_as_several_messages_in_order() -> None:
    concierge = FakeConcierge(replies=[Reply(text="a" * 4500)], conversations={"50"})
    message = thread_message("essay please")
    await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]
    assert [len(sent.content) for sent in message.channel.sent] == [2000, 2000, 500]
    assert "reference" in message.channel.sent[0].options
    assert "reference" not in message.channel.sent[1].options


@pytest.mark.asyncio
async def test_a_busy_channel_tells_the_member_to_wait() -> None:
    concierge = FakeConcierge(replies=[ChannelBusy(10)], conversations={"50"})
    message = thread_message("one more")
    await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]
    assert [sent.content for sent in message.channel.sent] == [error_sentence(ChannelBusy(10))]


@pytest.mark.asyncio
async def test_a_member_over_the_turn_rate_is_told_once_then_not_answered_until_the_cool_down_ends() -> None:
    refusals = [SlowDown(30, first=True), SlowDown(29, first=False), SlowDown(28, first=False)]
    concierge = FakeConcierge(replies=[*refusals, Reply(text="Back.")], conversations={"50"})
    message = thread_message("spam")
    for _ in range(4):
        await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]
    assert [sent.content for sent in message.channel.sent] == [error_sentence(refusals[0]), "Back."]
    assert "try again in 30 seconds" in error_sentence(refusals[0])


@pytest.mark.asyncio
async def test_a_bug_in_the_turn_is_logged_and_answered_with_one_sentence(caplog: pytest.LogCaptureFixture) -> None:
    concierge = FakeConcierge(replies=[RuntimeError("database on fire")], conversations={"50"})
    message = thread_message("hello")
    with caplog.at_level(logging.ERROR):
        await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]
    assert [sent.content for sent in message.channel.sent] == [GENERIC_FAILURE]
    assert "database on fire" in caplog.text


@pytest.mark.asyncio
async def test_a_failure_while_sending_is_logged_and_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    concierge = FakeConcierge(conversations={"50"})
    message = thread_message("hello")
    sent: list[str] = []

    async def flaky_send(content: str, **options: object) -> None:
        if "reference" in options:
            raise http_error(50035)
        sent.append(content)

    message.channel.send = flaky_send  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR):
        await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]
    assert sent == [GENERIC_FAILURE]
    assert "answering message 101" in caplog.text


@pytest.mark.asyncio
async def test_a_bare_mention_gets_a_hint_and_no_model_call() -> None:
    concierge = FakeConcierge()
    message = channel_message("<@1>")
    await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]
    assert concierge.chats == []
    assert message.threads_created == []
    assert [sent.content for sent in message.channel.sent] == ["Hi! Mention me with a question, or use `/ask`."]


@pytest.mark.asyncio
async def test_a_server_whose_preferred_locale_is_zh_cn_gets_its_hints_in_chinese() -> None:
    message = channel_message("<@1>")
    assert message.guild is not None
    message.guild.preferred_locale = discord.Locale.chinese
    await MessageRouter(FakeConcierge()).handle(message, me=ME)  # type: ignore[arg-type]
    assert [sent.content for sent in message.channel.sent] == ["你好！提及我并附上问题，或使用 `/ask`。"]


@pytest.mark.asyncio
async def test_a_slow_typing_indicator_never_lets_a_later_message_overtake() -> None:
    concierge = FakeConcierge(conversations={"50"})
    first, second = thread_message("the question"), thread_message("a follow-up")
    indicator_shown = asyncio.Event()
    typing_requests: list[int] = []

    class SlowTypingChannel(FakeChannel):
        def typing(self) -> Any:
            @asynccontextmanager
            async def slow() -> AsyncIterator[None]:
                typing_requests.append(1)
                if len(typing_requests) == 1:
                    await indicator_shown.wait()  # Discord is slow to answer the first POST /typing only
                yield

            return slow()

    slow_channel = SlowTypingChannel(id=50, name="a thread", type=discord.ChannelType.public_thread)
    first.channel = second.channel = slow_channel
    router = MessageRouter(concierge)  # type: ignore[arg-type]
    handling = [asyncio.create_task(router.handle(message, me=ME)) for message in (first, second)]  # type: ignore[arg-type]
    for _ in range(5):
        await asyncio.sleep(0)
    indicator_shown.set()
    await asyncio.gather(*handling)
    assert [chat.text for chat in concierge.chats] == ["the question", "a follow-up"]


MENU = FakeAttachment("menu.pdf", 48_213, "application/pdf", "https://cdn.discordapp.com/attachments/5/6/menu.pdf?ex=1")
PHOTO = FakeAttachment("photo.png", 1_024, "image/png", "https://cdn.discordapp.com/attachments/5/6/photo.png?ex=2")


@pytest.mark.asyncio
async def test_files_with_a_mention_in_a_channel_reach_the_facade_as_discord_announced_them() -> None:
    concierge = FakeConcierge()
    message = channel_message("<@1> what is on this menu?", attachments=[MENU, PHOTO])

    await _handle_and_find_thread(concierge, message)

    [chat] = concierge.chats
    assert chat.text == "what is on this menu?"
    assert chat.files == (
        SharedFile("menu.pdf", 48_213, "application/pdf", "https://cdn.discordapp.com/attachments/5/6/menu.pdf?ex=1"),
        SharedFile("photo.png", 1_024, "image/png", "https://cdn.discordapp.com/attachments/5/6/photo.png?ex=2"),
    )


@pytest.mark.asyncio
async def test_a_message_with_only_a_file_in_a_conversation_is_answered() -> None:
    concierge = FakeConcierge(conversations={"50"}, replies=[Reply(text="A red square.")])
    message = thread_message("")
    message.attachments = [PHOTO]

    await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]

    [chat] = concierge.chats
    assert (chat.text, [file.filename for file in chat.files]) == ("", ["photo.png"])
    assert [sent.content for sent in message.channel.sent] == ["A red square."]


@pytest.mark.asyncio
async def test_a_dm_with_only_a_file_is_answered_with_the_file() -> None:
    concierge = FakeConcierge()
    dm = FakeChannel(id=77, name=None, type=discord.ChannelType.private)
    message = FakeMessage(id=102, content="", author=ANN, channel=dm, guild=None, attachments=[MENU])

    await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]

    [chat] = concierge.chats
    assert [file.url for file in chat.files] == [MENU.url]
    assert [sent.content for sent in dm.sent] == ["Sure thing."]


@pytest.mark.asyncio
async def test_a_mention_with_only_a_file_opens_a_thread_named_for_the_member() -> None:
    concierge = FakeConcierge()
    message = channel_message("<@1>", attachments=[PHOTO])

    thread = await _handle_and_find_thread(concierge, message)

    assert message.threads_created == [("Chat with Ann", 1440)]
    assert [chat.files for chat in concierge.chats] == [shared_files([PHOTO])]
    assert [sent.content for sent in thread.sent] == ["Sure thing."]


@pytest.mark.asyncio
async def test_a_sticker_without_text_gets_a_hint_and_no_model_call() -> None:
    concierge = FakeConcierge(conversations={"50"})
    message = thread_message("")
    message.stickers = ["wave"]
    await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]
    assert concierge.chats == []
    assert [sent.content for sent in message.channel.sent] == [
        "I read text and files, not stickers: please say in words what you'd like."
    ]


@pytest.mark.asyncio
async def test_each_file_left_out_is_named_with_why_under_the_answer_in_the_servers_language() -> None:
    skipped = (
        SkippedFile("backup.zip", "unsupported"),
        SkippedFile("photo.png", "no_vision"),
        SkippedFile("film.mov", "too_large"),
    )
    concierge = FakeConcierge(conversations={"50"}, replies=[Reply(text="Here is the menu.", skipped_files=skipped)])
    english, chinese = thread_message("read these"), thread_message("读一下")
    assert chinese.guild is not None
    chinese.guild.preferred_locale = discord.Locale.chinese

    for message in (english, chinese):
        await MessageRouter(concierge).handle(message, me=ME)  # type: ignore[arg-type]

    [answer] = english.channel.sent
    assert answer.content == "Here is the menu."
    assert answer.options["embed"].description.splitlines() == [
        "ℹ `backup.zip` was not read: I read images, text files and PDFs, not this type.",
        "ℹ `photo.png` was not sent: this model cannot see images.",
        "ℹ `film.mov` was not read: it is larger than files I read.",
    ]
    [answer] = chinese.channel.sent
    assert "ℹ 未发送 `photo.png`：这个模型无法查看图片。" in answer.options["embed"].description


@pytest.mark.asyncio
async def test_tool_progress_shows_in_the_conversation_before_the_answer() -> None:
    trace = (TraceEntry("c1", "get_weather", '{"city": "Oslo"}', "ok", 250.0, "sunny"),)

    class ReportingConcierge(FakeConcierge):
        async def chat(self, place: Place, caller: Caller, text: str, **options: Any) -> Reply:
            hooks = options["hooks"]
            hooks.progress.tool_started(ToolCall(call_id="c1", name="get_weather", arguments='{"city": "Oslo"}'))
            hooks.progress.tool_finished(trace[0])
            await asyncio.sleep(0)
            return Reply(text="Sunny.", trace=trace)

    message = thread_message("weather?")
    await MessageRouter(ReportingConcierge(conversations={"50"})).handle(message, me=ME)  # type: ignore[arg-type]

    contents = [sent.content for sent in message.channel.sent]
    assert contents[0].startswith("-# Working on it…\n")
    assert "Sunny." in contents[1:]
    assert "reference" in message.channel.sent[0].options
