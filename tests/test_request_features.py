"""The optional request features as configured (OPENAI_REASONING_REPLAY, OPENAI_STREAM_USAGE, OPENAI_PROMPT_CACHE_KEY)
and wired by the composition root for a server that is not at api.openai.com (issue 22)."""

from __future__ import annotations

import pytest

from bot.app import first_output_limit_field, make_model_api
from bot.engine.api import Usage
from bot.engine.items import Reasoning, UserMessage
from bot.settings import Settings, SettingsError, load_settings
from tests.engine.test_streaming import Listener, turn
from tests.fake_openai import FakeOpenAI


def settings_for(server: FakeOpenAI, api: str, **more: str) -> Settings:
    return load_settings({"OPENAI_BASE_URL": server.base_url, "OPENAI_API": api, **more}, env_file=None)


@pytest.mark.asyncio
async def test_reasoning_is_replayed_between_tool_rounds_on_a_compatible_server() -> None:
    async with FakeOpenAI() as server, server.client() as client:
        api = make_model_api(settings_for(server, "responses"), client)
        server.reply_calls(("add", {"a": 1, "b": 2}), reasoning=True)
        server.reply_text("3")
        result = await turn(api, Listener())
    second = server.model_requests()[1].json
    [replayed] = [item for item in second["input"] if item.get("type") == "reasoning"]
    assert replayed["encrypted_content"].startswith("gAAAA")
    assert result.answer == "3" and not any(isinstance(item, Reasoning) for item in result.items)


@pytest.mark.asyncio
async def test_a_streamed_chat_turn_on_a_compatible_server_records_the_servers_own_usage() -> None:
    recorded: list[Usage] = []

    async def record(usage: Usage) -> None:
        recorded.append(usage)

    async with FakeOpenAI(cached_tokens=3) as server, server.client() as client:
        api = make_model_api(settings_for(server, "chat"), client)
        server.reply_text("A fairly short answer.")
        await turn(api, Listener(), record_usage=record)
    assert recorded == [Usage(input_tokens=10, output_tokens=5, cached_input_tokens=3)]
    assert server.model_requests()[0].json["stream"] is True


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["responses", "chat"])
async def test_the_prompt_cache_key_reaches_a_compatible_server_and_its_cache_is_counted(kind: str) -> None:
    async with FakeOpenAI(prompt_cache=True) as server, server.client() as client:
        api = make_model_api(settings_for(server, kind), client)
        server.reply_text("one")
        server.reply_text("two")
        for _ in range(2):
            reply = await api.respond(
                instructions="t", items=[UserMessage(text="hi")], tools=[], tool_choice="auto", cache_key="c-1"
            )
    assert [request.json["prompt_cache_key"] for request in server.model_requests()] == ["c-1", "c-1"]
    assert reply.usage is not None and reply.usage.cached_input_tokens == 8


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["responses", "chat"])
async def test_features_set_off_in_the_settings_are_never_sent(kind: str) -> None:
    off = {"OPENAI_REASONING_REPLAY": "off", "OPENAI_STREAM_USAGE": "Off", "OPENAI_PROMPT_CACHE_KEY": " OFF "}
    async with FakeOpenAI() as server, server.client() as client:
        api = make_model_api(settings_for(server, kind, **off), client)
        server.reply_text("ok")
        await api.respond(
            instructions="t",
            items=[UserMessage(text="hi")],
            tools=[],
            tool_choice="auto",
            cache_key="c-1",
            progress=Listener(),
        )
    body = server.model_requests()[0].json
    assert not {"include", "stream_options", "prompt_cache_key"} & body.keys()


def test_the_feature_settings_default_to_auto() -> None:
    settings = load_settings({}, env_file=None)
    assert (settings.OPENAI_REASONING_REPLAY, settings.OPENAI_STREAM_USAGE, settings.OPENAI_PROMPT_CACHE_KEY) == (
        "auto",
        "auto",
        "auto",
    )


def test_a_feature_setting_outside_auto_on_off_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match="OPENAI_STREAM_USAGE") as caught:
        load_settings({"OPENAI_STREAM_USAGE": "yes"}, env_file=None)
    assert "'auto', 'on' or 'off'" in str(caught.value)


@pytest.mark.parametrize(
    ("base_url", "field"),
    [
        (None, "max_completion_tokens"),
        ("https://api.openai.com/v1", "max_completion_tokens"),
        ("https://my-team.openai.azure.com/openai/v1", "max_completion_tokens"),
        ("http://127.0.0.1:8008/v1", "max_tokens"),
        ("https://openrouter.ai/api/v1", "max_tokens"),
    ],
)
def test_the_output_limit_goes_first_under_the_name_the_address_suggests(base_url: str | None, field: str) -> None:
    assert first_output_limit_field(Settings(OPENAI_BASE_URL=base_url)) == field
