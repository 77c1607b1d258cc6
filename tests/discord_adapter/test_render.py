"""render: splitting answers, the trace, mentions and sentences, checked against exact values."""

from __future__ import annotations

import discord
import pytest

from bot.attachments import SkippedFile
from bot.concierge import ChannelBusy, Reply, TraceEntry
from bot.discord_adapter.messages import CHINESE
from bot.discord_adapter.render import (
    CUT_SHORT_NOTE,
    EMPTY_ANSWER,
    GENERIC_FAILURE,
    allowed_mentions,
    caller_of,
    error_sentence,
    key_arguments,
    note_text,
    place_of,
    reason_text,
    render_reply,
    skipped_file_text,
    split_message,
    strip_bot_mention,
    thread_name,
    trace_line,
)
from bot.engine.errors import RateLimited
from bot.engine.loop import Note
from bot.engine.permissions import Caller, Place


def entry(tool: str, arguments: str, outcome: str = "ok", ms: float = 400.0) -> TraceEntry:
    return TraceEntry(call_id="c1", tool=tool, arguments=arguments, outcome=outcome, duration_ms=ms, summary="")  # type: ignore[arg-type]


def test_short_answer_is_one_message_unchanged() -> None:
    assert split_message("Hello **there**.") == ["Hello **there**."]


def test_empty_answer_gets_a_placeholder() -> None:
    assert split_message("  \n ") == [EMPTY_ANSWER]


def test_split_prefers_paragraph_boundaries() -> None:
    assert split_message("First paragraph here.\n\nSecond paragraph is longer.", limit=30) == [
        "First paragraph here.",
        "Second paragraph is longer.",
    ]


def test_split_falls_back_to_line_then_word_boundaries() -> None:
    assert split_message("alpha beta gamma\ndelta epsilon zeta", limit=20) == ["alpha beta gamma", "delta epsilon zeta"]
    assert split_message("one two three four five six", limit=10) == ["one two", "three four", "five six"]


def test_2001_characters_without_spaces_become_2000_and_1() -> None:
    assert split_message("a" * 2001) == ["a" * 2000, "a"]


def test_2001_characters_of_words_break_at_the_last_space_that_fits() -> None:
    text = "word " * 400 + "x"  # 2001 characters
    chunks = split_message(text)
    assert chunks == [("word " * 400).strip(), "x"]


def test_cjk_text_without_spaces_is_cut_at_the_limit() -> None:
    chunks = split_message("你好世界" * 600)
    assert [len(chunk) for chunk in chunks] == [2000, 400]
    assert "".join(chunks) == "你好世界" * 600


def test_a_code_block_cut_by_a_split_is_closed_and_reopened_with_its_language() -> None:
    text = "Intro\n```python\nline_one = 1\nline_two = 2\nline_three = 3\n```\nAfter."
    assert split_message(text, limit=40) == [
        "Intro\n```python\nline_one = 1\n```",
        "```python\nline_two = 2\n```",
        "```python\nline_three = 3\n```\nAfter.",
    ]


def test_the_blocks_own_closing_fence_is_not_left_as_an_empty_block() -> None:
    text = "Intro\n```python\nline_one = 1\nline_two = 2\n```\nAfter the code block we say more."
    assert split_message(text, limit=40) == [
        "Intro\n```python\nline_one = 1\n```",
        "```python\nline_two = 2\n```",
        "After the code block we say more.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "x" * 7000,
        ("para " * 300 + "\n\n") * 5,
        "```js\n" + "let a = 1;\n" * 600 + "```\ndone",
        "```\n" + "y" * 5000 + "\n```",
        "混合 text " * 900,
    ],
)
def test_no_chunk_exceeds_the_limit_and_no_fence_is_left_open(text: str) -> None:
    chunks = split_message(text)
    assert all(0 < len(chunk) <= 2000 for chunk in chunks)
    assert all(chunk.count("```") % 2 == 0 for chunk in chunks)


def test_trace_line_shows_tool_key_arguments_outcome_and_time() -> None:
    assert trace_line(entry("get_weather", '{"city": "Beijing"}')) == "✓ get_weather city=Beijing · 0.4 s"
    assert (
        trace_line(entry("book_table", '{"restaurant": "Luigi", "people": 4}', "denied", 12))
        == "⛔ book_table restaurant=Luigi people=4 · denied · 0.0 s"
    )
    assert trace_line(entry("web_search", '{"query": "x"}', "timeout", 15000)) == (
        "⏱ web_search query=x · timed out · 15.0 s"
    )


def test_key_arguments_are_short_and_skip_empty_and_nested_values() -> None:
    arguments = '{"query": "a very long search query that goes on and on", "filters": {"a": 1}, "lang": null, "n": 3}'
    assert key_arguments(arguments) == "query=a very long search quer… n=3"
    assert key_arguments("not json {") == "not json {"
    assert key_arguments("") == ""


@pytest.mark.parametrize(
    "arguments",
    ['{"n": ' + "9" * 5000 + "}", "[" * 5000 + "]" * 5000, '{"a": ' + "[" * 5000 + "]" * 5000 + "}"],
    ids=["5000-digit integer", "5000-deep array", "5000-deep value"],
)
def test_arguments_python_cannot_parse_show_as_shortened_text(arguments: str) -> None:
    assert key_arguments(arguments) == arguments[:23] + "…"
    assert trace_line(entry("calculate", arguments)) == f"✓ calculate {arguments[:23]}… · 0.4 s"


def test_reply_renders_answer_with_trace_notes_and_cut_short_under_the_last_message() -> None:
    reply = Reply(
        text="It is sunny.",
        trace=(entry("get_weather", '{"city": "Oslo"}'),),
        notes=(Note("forced_fallback", "get_weather"),),
        cut_short=True,
    )
    [message] = render_reply(reply, extra_notes=("Answering here instead.",))
    assert message.content == "It is sunny."
    assert message.embed is not None
    assert message.embed.title == "Tools used"
    assert message.embed.description == (
        "✓ get_weather city=Oslo · 0.4 s\n"
        "ℹ Answering here instead.\n"
        "ℹ This model server could not force `get_weather`, so the model chose its tools freely.\n"
        f"ℹ {CUT_SHORT_NOTE}"
    )


def test_reply_without_tools_or_notes_has_no_embed() -> None:
    assert [(m.content, m.embed) for m in render_reply(Reply(text="Hi!"))] == [("Hi!", None)]


def test_long_reply_puts_the_trace_only_under_the_last_chunk() -> None:
    messages = render_reply(Reply(text="a" * 2500, trace=(entry("calc", '{"expression": "1+1"}'),)))
    assert [len(m.content) for m in messages] == [2000, 500]
    assert messages[0].embed is None
    assert messages[1].embed is not None


def test_failed_reply_is_one_short_sentence_that_still_shows_the_tools_that_ran() -> None:
    reply = Reply(text="The model server is busy. Please try again.", trace=(entry("x", "{}"),), failed=True)
    [message] = render_reply(reply)
    assert message.content == "The model server is busy. Please try again."
    assert message.embed is not None and "x" in (message.embed.description or "")
    [bare] = render_reply(Reply(text="The model server is busy.", failed=True))
    assert bare.embed is None


def test_error_sentences_come_from_the_error_tree_or_are_generic() -> None:
    assert (
        error_sentence(RateLimited("429")) == "The model server is busy (rate limited). Please try again in a minute."
    )
    assert error_sentence(ChannelBusy(10)).startswith("I'm still working through earlier messages")
    assert error_sentence(KeyError("boom")) == GENERIC_FAILURE


def test_allowed_mentions_let_only_the_asker_be_pinged() -> None:
    assert allowed_mentions(42).to_dict() == {"users": [42], "replied_user": True, "parse": []}


def test_bot_mention_is_stripped_from_the_start_and_named_elsewhere() -> None:
    assert strip_bot_mention("<@!1> <@1> hi <@1>!", bot_id=1, bot_name="Concierge") == "hi @Concierge!"
    assert strip_bot_mention("<@&9> weather?", bot_id=1, bot_name="C", role_id=9) == "weather?"
    assert strip_bot_mention("ask <@2> too", bot_id=1, bot_name="C") == "ask <@2> too"


def test_thread_name_is_the_first_words_without_mention_markup() -> None:
    assert (
        thread_name("<@123> what is the weather in <#55> Beijing?", fallback="x") == "what is the weather in Beijing?"
    )
    long = thread_name("word " * 40, fallback="x")
    assert len(long) <= 100
    assert long.endswith("word…")
    assert thread_name("<@1>", fallback="Chat with Ann") == "Chat with Ann"


class FakeRole:
    def __init__(self, role_id: int) -> None:
        self.id = role_id


class FakeMember:
    id = 7
    name = "ann_42"
    display_name = "Ann"
    roles = (FakeRole(1), FakeRole(2))
    guild_permissions = discord.Permissions(manage_guild=True)


class FakeUser:
    id = 8
    name = "bob"
    display_name = "Bob"


def test_member_becomes_caller_with_roles_and_admin_rights() -> None:
    assert caller_of(FakeMember()) == Caller(user_id="7", name="Ann", role_ids=frozenset({"1", "2"}), is_admin=True)
    assert caller_of(FakeUser()) == Caller(user_id="8", name="Bob", role_ids=frozenset(), is_admin=False)


def test_channel_becomes_place_and_a_dm_has_no_guild() -> None:
    guild = discord.Object(id=5)
    guild.name = "Cafe"  # type: ignore[attr-defined]
    channel = discord.Object(id=6)
    channel.name = "general"  # type: ignore[attr-defined]
    assert place_of(channel, guild) == Place(channel_id="6", guild_id="5", guild_name="Cafe", channel_name="general")
    assert place_of(discord.Object(id=6), None) == Place(channel_id="6")


def test_engine_notes_and_denial_reasons_read_in_simplified_chinese() -> None:
    note = Note("forced_ignored", "get_weather")
    assert note_text(note, "zh-CN") == "已要求使用 `get_weather`，但模型服务器没有调用它；这个回答没有用到它。"
    assert reason_text("disabled", "the tool 'x' is disabled in this server", "zh-CN") == "此工具已在本服务器停用"
    assert reason_text(None, "some reason from elsewhere", "zh-CN") == "some reason from elsewhere"


def test_a_failed_turn_still_names_the_files_the_model_did_not_get() -> None:
    reply = Reply(text="", failed=True, error=RateLimited(), skipped_files=(SkippedFile("scan.tiff", "unsupported"),))
    [message] = render_reply(reply)
    assert message.embed is not None
    assert message.embed.description == (
        "ℹ `scan.tiff` was not read: I read images, text files and PDFs, not this type."
    )


def test_a_file_name_is_shown_on_one_line_that_cannot_break_out_of_its_code_span() -> None:
    skipped = SkippedFile("evil`name\n@everyone.exe", "unsupported")
    assert skipped_file_text(skipped).startswith("`evil'name @everyone.exe` was not read")
    assert skipped_file_text(SkippedFile("photo.png", "too_many_images", 5), CHINESE) == (
        "未发送 `photo.png`：每条消息最多发送 5 张图片。"
    )


def test_a_file_left_out_for_a_limit_is_told_the_limit() -> None:
    assert skipped_file_text(SkippedFile("menu.pdf", "too_large", 10_000_000)) == (
        "`menu.pdf` was not read: it is larger than 10 MB, the most I read."
    )
    assert skipped_file_text(SkippedFile("a.png", "too_many_images", 5)) == (
        "`a.png` was not sent: I take at most 5 images from one message."
    )
