"""`check` says which optional request features the configured server accepts (issue 22)."""

from __future__ import annotations

from typing import Literal

import pytest

from bot.engine.api.features import FeatureModes, LimitField
from bot.model_check import CheckReport, check_model_server
from tests.fake_openai import FakeFailure, FakeOpenAI, FakeReply, RecordedRequest
from tests.test_model_check import line, obliging_model


def reasoning_model(request: RecordedRequest) -> FakeReply | FakeFailure:
    """The obliging model, thinking first."""
    reply = obliging_model(request)
    assert isinstance(reply, FakeReply)
    return FakeReply(text=reply.text, calls=reply.calls, reasoning=True)


async def check(
    server: FakeOpenAI,
    *,
    api: Literal["responses", "chat"],
    features: FeatureModes | None = None,
    limit_field: LimitField = "max_tokens",
) -> CheckReport:
    async with server.client() as client:
        return await check_model_server(client, model="test-model", api=api, features=features, limit_field=limit_field)


@pytest.mark.asyncio
async def test_a_responses_server_that_accepts_every_feature_is_reported_so() -> None:
    async with FakeOpenAI(responder=reasoning_model) as server:
        report = await check(server, api="responses")
    assert report.ok, report.render()
    assert "✓ reasoning replay: accepted; encrypted reasoning came back" in report.render()
    assert "✓ prompt cache key: accepted" in report.render()
    assert "usage in streams" not in report.render()  # a Responses stream always ends with its usage


@pytest.mark.asyncio
async def test_a_chat_server_that_accepts_every_feature_is_reported_so() -> None:
    async with FakeOpenAI(responder=obliging_model) as server:
        report = await check(server, api="chat")
    assert report.ok, report.render()
    assert line(report, "usage in streams").detail == "accepted; streamed answers end with their usage"
    assert line(report, "prompt cache key").ok
    assert line(report, "output limit").detail == "accepted as max_tokens"
    assert "reasoning replay" not in report.render()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("api", "field", "name"),
    [
        ("responses", "include", "reasoning replay"),
        ("responses", "prompt_cache_key", "prompt cache key"),
        ("chat", "stream_options", "usage in streams"),
        ("chat", "prompt_cache_key", "prompt cache key"),
    ],
)
async def test_a_rejected_feature_is_advice_and_the_server_is_still_ready(
    api: Literal["responses", "chat"], field: str, name: str
) -> None:
    async with FakeOpenAI(responder=obliging_model, rejects=frozenset({field}), rejection="litellm") as server:
        report = await check(server, api=api)
    assert report.ok, report.render()
    detail = line(report, name).detail
    assert line(report, name).mark == "!"
    assert detail.startswith(
        f"rejected (HTTP 400: litellm.UnsupportedParamsError: openai does not support parameters: ['{field}']"
    )
    assert detail.endswith("; the bot stops sending it after the first rejection")


@pytest.mark.asyncio
async def test_a_feature_forced_on_that_the_server_rejects_says_to_set_it_to_auto() -> None:
    async with FakeOpenAI(responder=obliging_model, rejects=frozenset({"prompt_cache_key"})) as server:
        report = await check(server, api="chat", features=FeatureModes(prompt_cache_key="on"))
    assert "OPENAI_PROMPT_CACHE_KEY=on sends it anyway" in line(report, "prompt cache key").detail


@pytest.mark.asyncio
async def test_usage_a_server_leaves_out_of_its_streams_is_flagged() -> None:
    async with FakeOpenAI(responder=obliging_model, ignores=frozenset({"stream_options"})) as server:
        report = await check(server, api="chat")
    assert line(report, "usage in streams").mark == "!"
    assert "no usage came back" in line(report, "usage in streams").detail


@pytest.mark.asyncio
async def test_a_feature_set_off_is_still_tried_and_the_report_says_how_to_use_it() -> None:
    async with FakeOpenAI(responder=obliging_model) as server:
        report = await check(server, api="chat", features=FeatureModes(stream_usage="off"))
    assert "not sent (OPENAI_STREAM_USAGE=off): set it to auto" in line(report, "usage in streams").detail


@pytest.mark.asyncio
async def test_the_report_says_which_name_of_the_output_limit_the_server_takes() -> None:
    async with FakeOpenAI(responder=obliging_model, rejects=frozenset({"max_completion_tokens"})) as server:
        report = await check(server, api="chat", limit_field="max_completion_tokens")
    assert line(report, "output limit").detail == (
        "max_completion_tokens rejected (HTTP 400: Unsupported parameter: 'max_completion_tokens' is not supported "
        "with this model.); max_tokens accepted, the bot swaps after one rejection"
    )


@pytest.mark.asyncio
async def test_usage_in_streams_is_not_judged_on_a_server_that_cannot_stream() -> None:
    async with FakeOpenAI(responder=obliging_model, no_streaming=True) as server:
        report = await check(server, api="chat")
    assert report.ok, report.render()
    assert line(report, "usage in streams").detail.startswith("not tried: the server did not stream")
