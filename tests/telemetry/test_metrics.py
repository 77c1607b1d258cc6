"""/metrics after real turns: the numbers an operator reads match what happened."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.app import open_app
from bot.concierge import ChannelBusy, ChatHooks, QuotaReached, SlowDown, UnknownTool
from bot.engine.api import ModelReply, Usage
from bot.engine.errors import ModelUnavailable, ToolChoiceRefused
from bot.engine.permissions import Caller, Place
from bot.settings import load_settings
from bot.spending import QuotaDefaults, Spending
from bot.store import Store
from bot.telemetry import Telemetry
from tests.engine.scripted import ScriptedAPI
from tests.fake_openai import FakeOpenAI
from tests.telemetry.conftest import ANN, MODEL, THREAD, AnswerWith, observed_concierge, scrape

BOSS = Caller(user_id="9", name="Boss", is_admin=True)


@pytest.mark.asyncio
async def test_turn_outcomes_are_counted_answered_failed_and_refused_by_reason(store: Store) -> None:
    telemetry = Telemetry()
    api = ScriptedAPI().text("hi").error(ModelUnavailable("down"))
    concierge = observed_concierge(api, store, telemetry, member_turns_per_minute=2)
    await concierge.chat(THREAD, ANN, "hello")
    assert (await concierge.chat(THREAD, ANN, "again")).failed
    with pytest.raises(SlowDown):
        await concierge.chat(THREAD, ANN, "third")
    with pytest.raises(ToolChoiceRefused):
        await observed_concierge(ScriptedAPI(), store, telemetry).chat(THREAD, ANN, "x", tool_choice="nope")
    scraped = await scrape(telemetry.metrics)
    assert scraped.value("concierge_turns_total", outcome="answered") == 1
    assert scraped.value("concierge_turns_total", outcome="failed") == 1
    assert scraped.value("concierge_turns_total", outcome="refused", reason="rate_limit") == 1
    assert scraped.value("concierge_turns_total", outcome="refused", reason="permission") == 1
    assert scraped.value("concierge_active_turns") == 0


@pytest.mark.asyncio
async def test_a_forced_tool_refused_by_the_check_before_the_turn_is_counted_once_as_refused_for_permission(
    store: Store,
) -> None:
    telemetry = Telemetry()
    concierge = observed_concierge(ScriptedAPI().text("hi"), store, telemetry)
    await concierge.set_enabled(THREAD, BOSS, "echo", False)

    with pytest.raises(ToolChoiceRefused):
        await concierge.check_tool_choice(THREAD, ANN, "echo")  # a disabled tool, as /ask checks it
    with pytest.raises(UnknownTool):
        await concierge.check_tool_choice(THREAD, ANN, "teleport")
    await concierge.check_tool_choice(THREAD, ANN, "reserve")  # allowed: nothing counted until the turn ends
    await concierge.check_tool_choice(THREAD, ANN, "auto")
    after_checks = await scrape(telemetry.metrics)
    await concierge.chat(THREAD, ANN, "hello", tool_choice="auto")
    with pytest.raises(ToolChoiceRefused):  # the turn refusing on its own snapshot counts itself, once
        await concierge.chat(THREAD, ANN, "echo this", tool_choice="echo")

    scraped = await scrape(telemetry.metrics)
    assert after_checks.value("concierge_turns_total", outcome="refused", reason="permission") == 2
    assert scraped.value("concierge_turns_total", outcome="refused", reason="permission") == 3
    assert scraped.value("concierge_turns_total", outcome="answered") == 1


@pytest.mark.asyncio
async def test_ask_forcing_a_disabled_tool_is_counted_as_a_turn_refused_for_permission(store: Store) -> None:
    from tests.discord_adapter.test_commands import in_text_channel, run

    telemetry = Telemetry()
    concierge = observed_concierge(ScriptedAPI(), store, telemetry)
    interaction = in_text_channel()
    await concierge.set_enabled(Place(channel_id="6", guild_id="5"), BOSS, "echo", False)

    await run(concierge, interaction, "ask", prompt="echo it", tool="echo")  # type: ignore[arg-type]

    [(refusal, ephemeral)] = interaction.response.messages
    assert ephemeral and interaction.response.deferred == [] and "echo" in refusal
    scraped = await scrape(telemetry.metrics)
    assert scraped.value("concierge_turns_total", outcome="refused", reason="permission") == 1


@pytest.mark.asyncio
async def test_turns_stopped_by_the_quota_mid_way_or_at_the_start_are_counted_as_refused_for_quota(
    store: Store,
) -> None:
    telemetry = Telemetry()
    spending = Spending(store.usage, store.quotas, defaults=QuotaDefaults(per_member=1), model=MODEL)
    api = ScriptedAPI().calls(("echo", {"text": "a"}))  # the estimate of this first request uses up the quota
    concierge = observed_concierge(api, store, telemetry, spending=spending)

    stopped = await concierge.chat(THREAD, ANN, "echo a, then answer")
    with pytest.raises(QuotaReached):
        await concierge.chat(THREAD, ANN, "again")

    assert isinstance(stopped.error, QuotaReached)
    scraped = await scrape(telemetry.metrics)
    assert scraped.value("concierge_turns_total", outcome="refused", reason="quota") == 2
    assert scraped.value("concierge_turns_total", outcome="failed") == 0


@pytest.mark.asyncio
async def test_a_turn_turned_away_from_a_full_channel_is_counted_as_refused_busy(store: Store) -> None:
    telemetry = Telemetry()
    entered, release = asyncio.Event(), asyncio.Event()
    scripted = ScriptedAPI().text("done")

    class HeldAPI:
        async def respond(self, **request: Any) -> Any:
            entered.set()
            await release.wait()
            return await scripted.respond(**request)

    concierge = observed_concierge(HeldAPI(), store, telemetry, max_waiting_per_channel=0)  # type: ignore[arg-type]
    first = asyncio.create_task(concierge.chat(THREAD, ANN, "slow"))
    await entered.wait()  # the first turn holds the channel
    with pytest.raises(ChannelBusy):
        await concierge.chat(THREAD, ANN, "meanwhile")
    release.set()
    await first

    scraped = await scrape(telemetry.metrics)
    assert scraped.value("concierge_turns_total", outcome="refused", reason="busy") == 1
    assert scraped.value("concierge_turns_total", outcome="answered") == 1


@pytest.mark.asyncio
async def test_tool_calls_are_counted_by_tool_and_outcome_with_durations(store: Store) -> None:
    telemetry = Telemetry()
    api = (
        ScriptedAPI()
        .calls(("echo", {"text": "a"}), ("echo", {"text": "b"}), ("broken", {}), ("no_such_tool", {}))
        .calls(("reserve", {"seats": 2}))
        .text("done")
    )
    concierge = observed_concierge(api, store, telemetry)
    await concierge.chat(THREAD, ANN, "go", hooks=ChatHooks(AnswerWith("declined")))
    scraped = await scrape(telemetry.metrics)
    assert scraped.value("concierge_tool_calls_total", tool="echo", outcome="ok") == 2
    assert scraped.value("concierge_tool_calls_total", tool="broken", outcome="error") == 1
    assert scraped.value("concierge_tool_calls_total", tool="reserve", outcome="declined") == 1
    assert scraped.value("concierge_tool_calls_total", tool="unknown", outcome="invalid") == 1
    assert "no_such_tool" not in scraped.text  # a name the model made up never becomes a label
    assert scraped.value("concierge_tool_call_duration_seconds_count", tool="echo") == 2
    assert scraped.value("concierge_confirmations_total", result="declined") == 1


@pytest.mark.asyncio
async def test_confirmation_results_are_counted_with_expired_for_no_answer(store: Store) -> None:
    telemetry = Telemetry()
    for verdict in ("confirmed", "timed_out", "timed_out"):
        api = ScriptedAPI().calls(("reserve", {"seats": 1})).text("ok")
        await observed_concierge(api, store, telemetry).chat(THREAD, ANN, "book", hooks=ChatHooks(AnswerWith(verdict)))
    scraped = await scrape(telemetry.metrics)
    assert scraped.value("concierge_confirmations_total", result="confirmed") == 1
    assert scraped.value("concierge_confirmations_total", result="expired") == 2


@pytest.mark.asyncio
async def test_genai_metrics_carry_reported_usage_or_a_marked_estimate_and_errors_by_type(store: Store) -> None:
    telemetry = Telemetry()
    api = (
        ScriptedAPI(script=[ModelReply(text="counted", usage=Usage(input_tokens=120, output_tokens=7))])
        .text("estimated")
        .error(ModelUnavailable("down"))
    )
    concierge = observed_concierge(api, store, telemetry)
    for text in ("one", "two", "three"):
        await concierge.chat(THREAD, ANN, text)
    scraped = await scrape(telemetry.metrics)
    common = {"gen_ai_operation_name": "chat", "gen_ai_request_model": MODEL}
    duration = "gen_ai_client_operation_duration_seconds_count"
    assert scraped.value(duration, **common, error_type="") == 2
    assert scraped.value(duration, **common, error_type="ModelUnavailable") == 1
    tokens = "gen_ai_client_token_usage_sum"
    assert scraped.value(tokens, **common, gen_ai_token_type="input", concierge_estimated="false") == 120
    assert scraped.value(tokens, **common, gen_ai_token_type="output", concierge_estimated="false") == 7
    assert scraped.value(tokens, **common, gen_ai_token_type="output", concierge_estimated="true") > 0


@pytest.mark.asyncio
async def test_the_app_wires_metrics_that_match_the_usage_ledger(tmp_path: Path) -> None:
    async with FakeOpenAI(report_usage=False) as server:
        server.reply_calls(("calculate", {"expression": "2+2"}))
        server.reply_text("4")
        settings = load_settings(
            {
                "OPENAI_BASE_URL": server.base_url,
                "OPENAI_API_KEY": "sk-test",
                "OPENAI_API": "chat",
                "OPENAI_MODEL": "test-model",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'concierge.db'}",
            },
            env_file=None,
        )
        async with open_app(settings) as app:
            await app.concierge.chat(THREAD, ANN, "what is 2+2?")
            usage = await app.concierge.member_usage(THREAD, ANN)
            scraped = await scrape(app.telemetry.metrics, app.health)
    # This server reports no usage, so both sides hold the same estimate, marked as one.
    common = {"gen_ai_request_model": "test-model", "concierge_estimated": "true"}
    input_tokens = scraped.value("gen_ai_client_token_usage_sum", gen_ai_token_type="input", **common)
    output_tokens = scraped.value("gen_ai_client_token_usage_sum", gen_ai_token_type="output", **common)
    assert usage.today.estimated_requests == 2
    assert (input_tokens, output_tokens) == (usage.today.input_tokens, usage.today.output_tokens)
    assert input_tokens > 0 and output_tokens > 0
    assert scraped.value("concierge_tool_calls_total", tool="calculate", outcome="ok") == 1
    assert scraped.value("concierge_turns_total", outcome="answered") == 1


@pytest.mark.asyncio
async def test_no_label_carries_member_text_names_or_ids(store: Store) -> None:
    telemetry = Telemetry()
    api = ScriptedAPI().calls(("echo", {"text": "secret-words"})).text("the answer")
    await observed_concierge(api, store, telemetry).chat(THREAD, ANN, "my private question")
    scraped = await scrape(telemetry.metrics)
    for forbidden in ("secret-words", "private question", "the answer", "Ann", "t1", "g1"):
        assert forbidden not in scraped.text
