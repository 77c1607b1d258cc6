"""The message catalog: which language a member gets, and every sentence present in both languages."""

from __future__ import annotations

import string
from datetime import UTC, datetime

import discord
import pytest

from bot.concierge import NotAllowed, Reply, ShuttingDown, TraceEntry, UnknownTool
from bot.discord_adapter.confirm import summary_text
from bot.discord_adapter.messages import CATALOG, CHINESE, ENGLISH, language_of, say
from bot.discord_adapter.render import error_sentence, render_reply
from bot.engine.confirm import ConfirmationRequest
from bot.engine.errors import (
    ConciergeError,
    ModelError,
    ModelMisconfigured,
    ModelRejectedRequest,
    ModelUnavailable,
    QuotaExhausted,
    RateLimited,
    ToolChoiceRefused,
)
from bot.engine.permissions import Caller, Place
from bot.engine.tools import ToolContext, tool
from bot.pacing import ChannelBusy, SlowDown
from bot.spending import QuotaReached

ERRORS: list[ConciergeError] = [
    ConciergeError(),
    ToolChoiceRefused(
        "book_table", "the tool is restricted to server admins until an admin allows a role", reason_kind="admins"
    ),
    ModelError(),
    ModelUnavailable(),
    RateLimited(),
    QuotaExhausted(),
    ModelMisconfigured(),
    ModelRejectedRequest(),
    NotAllowed("not_starter"),
    NotAllowed("server_only"),
    NotAllowed("not_admin"),
    UnknownTool("nope", ["calculate", "get_weather"]),
    ShuttingDown(),
    ChannelBusy(10),
    SlowDown(0.4, first=True),
    SlowDown(12.2, first=True),
    NotAllowed("no_usage"),
    QuotaReached("member", limit=50_000, now=datetime(2025, 1, 2, 21, 30, tzinfo=UTC)),
    QuotaReached("server", limit=1_000_000, now=datetime(2025, 1, 2, 23, 59, tzinfo=UTC)),
]


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        (discord.Locale.chinese, CHINESE),
        ("zh-CN", CHINESE),
        (discord.Locale.taiwan_chinese, ENGLISH),  # Traditional Chinese readers are not served Simplified
        (discord.Locale.american_english, ENGLISH),
        (discord.Locale.french, ENGLISH),
        (None, ENGLISH),
    ],
)
def test_only_simplified_chinese_locales_get_chinese_and_everyone_else_english(locale: object, language: str) -> None:
    assert language_of(locale) == language


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: f"{type(error).__name__}:{error.key}")
def test_every_error_has_its_own_sentence_in_english_and_a_different_one_in_chinese(error: ConciergeError) -> None:
    assert error.key in CATALOG
    english = error_sentence(error, ENGLISH)
    assert english != error_sentence(error, CHINESE)
    assert english != say(ENGLISH, "failure.generic")


@pytest.mark.parametrize(
    ("now", "english", "chinese"),
    [
        (datetime(2025, 1, 2, 21, 30, tzinfo=UTC), "(in 2 h 30 min).", "（还有 2 小时 30 分钟）。"),
        (datetime(2025, 1, 2, 23, 59, tzinfo=UTC), "(in 1 min).", "（还有 1 分钟）。"),
        (datetime(2025, 1, 2, 23, 59, 59, tzinfo=UTC), "(in 1 min).", "（还有 1 分钟）。"),
    ],
)
def test_the_time_until_a_quota_resets_is_worded_in_the_members_language(
    now: datetime, english: str, chinese: str
) -> None:
    error = QuotaReached("member", limit=50_000, now=now)
    assert isinstance(error.params["resets_in_minutes"], int)
    assert error_sentence(error, ENGLISH).endswith(english)
    assert error_sentence(error, CHINESE).endswith(chinese)


def test_an_unknown_tool_lists_the_tools_there_are_as_code() -> None:
    error = UnknownTool("nope", ["calculate", "get_weather"])
    assert error_sentence(error, ENGLISH) == "There is no tool `nope`. Tools: `calculate`, `get_weather`."


def test_an_error_the_catalog_cannot_word_reads_as_the_generic_apology() -> None:
    error = ModelError("odd")
    error.key = "error.never_catalogued"
    assert error_sentence(error, CHINESE) == say(CHINESE, "failure.generic")


@pytest.mark.parametrize("key", sorted(CATALOG))
def test_every_entry_has_chinese_with_the_same_fields_as_the_english(key: str) -> None:
    def fields(template: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}

    texts = CATALOG[key]
    assert set(texts) == {ENGLISH, CHINESE}
    assert fields(texts[CHINESE]) == fields(texts[ENGLISH])


def test_a_failed_turn_reads_in_chinese_with_its_trace() -> None:
    trace = (TraceEntry("c1", "get_weather", '{"city": "Oslo"}', "error", 300.0, ""),)
    reply = Reply(text="", trace=trace, failed=True, error=RateLimited())

    [message] = render_reply(reply, language=CHINESE)

    assert message.content == "模型服务器正忙（请求受限）。请一分钟后再试。"
    assert message.embed is not None
    assert (message.embed.title, message.embed.description) == ("使用的工具", "✗ get_weather city=Oslo · 失败 · 0.3 秒")


@pytest.mark.asyncio
async def test_a_tool_without_its_own_preview_asks_in_chinese_naming_the_tool_and_its_arguments() -> None:
    @tool(side_effects=True)
    async def reserve(context: ToolContext, seats: int) -> dict[str, int]:
        """Reserve seats."""
        return {"seats": seats}

    context = ToolContext(caller=Caller(user_id="1", name="Ann"), place=Place(channel_id="c"), services=None)
    preview = await reserve.describe(context, reserve.arguments.model_validate({"seats": 2}))
    request = ConfirmationRequest(
        call_id="c",
        tool="reserve",
        arguments='{"seats": 2}',
        summary=preview.text,
        asker=context.caller,
        summary_kind=preview.kind,
        summary_params=preview.params,
    )
    assert summary_text(request, ENGLISH) == "Run reserve with seats: 2."
    assert summary_text(request, CHINESE) == "运行 reserve，参数：seats: 2。"
