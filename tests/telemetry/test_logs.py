"""LOG_FORMAT=json: every record, the bot's and discord.py's, is one JSON object per line with the turn's ids."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bot.engine.errors import ModelUnavailable
from bot.settings import load_settings
from bot.store import Store
from bot.telemetry import Telemetry, install_log_handler, setup_tracing
from tests.engine.scripted import ScriptedAPI
from tests.telemetry.conftest import ANN, THREAD, observed_concierge


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Root logging into a buffer as JSON lines, restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    install_log_handler(level="INFO", log_format="json", stream=stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)


def parsed(stream: io.StringIO) -> list[dict[str, object]]:
    lines = stream.getvalue().splitlines()
    assert lines
    return [json.loads(line) for line in lines]  # every line is one whole object


@pytest.mark.asyncio
async def test_every_line_is_a_json_object_and_records_inside_a_turn_carry_its_ids(
    json_log: io.StringIO, store: Store
) -> None:
    logging.getLogger("discord.gateway").info("Shard ID None has connected to Gateway")
    api = ScriptedAPI().error(ModelUnavailable("the server is down\nwith a second line"))
    await observed_concierge(api, store, Telemetry()).chat(THREAD, ANN, "hello")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("bot.test").exception("outside a turn")
    records = parsed(json_log)
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys()
    discord_line = next(record for record in records if record["logger"] == "discord.gateway")
    assert discord_line["level"] == "INFO" and "turn" not in discord_line
    failure = next(record for record in records if record["logger"] == "bot.engine.loop")
    assert failure["level"] == "WARNING" and "second line" in str(failure["message"])
    assert (failure["guild"], failure["channel"], failure["member"]) == ("g1", "t1", "1")
    assert isinstance(failure["turn"], str) and len(failure["turn"]) == 16
    assert "trace_id" not in failure  # tracing is off
    crash = next(record for record in records if record["message"] == "outside a turn")
    assert "ValueError: boom" in str(crash["exception"]) and "turn" not in crash


@pytest.mark.asyncio
async def test_with_tracing_on_records_in_a_turn_carry_its_trace_id(json_log: io.StringIO, store: Store) -> None:
    exporter = InMemorySpanExporter()
    tracing = setup_tracing({}, processor=SimpleSpanProcessor(exporter))
    api = ScriptedAPI().error(ModelUnavailable("down"))
    await observed_concierge(api, store, Telemetry(tracer=tracing.tracer)).chat(THREAD, ANN, "hello")
    failure = next(record for record in parsed(json_log) if record["logger"] == "bot.engine.loop")
    (root,) = [span for span in exporter.get_finished_spans() if span.parent is None]
    assert failure["trace_id"] == format(root.context.trace_id, "032x")


def test_log_format_is_a_setting_that_defaults_to_text_and_refuses_others() -> None:
    from bot.settings import SettingsError

    assert load_settings({"OPENAI_API_KEY": "k"}, env_file=None).LOG_FORMAT == "text"
    assert load_settings({"OPENAI_API_KEY": "k", "LOG_FORMAT": "JSON"}, env_file=None).LOG_FORMAT == "json"
    with pytest.raises(SettingsError, match="LOG_FORMAT"):
        load_settings({"OPENAI_API_KEY": "k", "LOG_FORMAT": "xml"}, env_file=None)
    settings = load_settings({"OPENAI_API_KEY": "k", "METRICS_PORT": "9464"}, env_file=None)
    assert (settings.METRICS_PORT, settings.METRICS_HOST) == (9464, "127.0.0.1")


@pytest.mark.asyncio
async def test_the_text_format_stays_as_before_and_adds_the_turn_ids_inside_a_turn(store: Store) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    install_log_handler(level="INFO", log_format="text", stream=stream)
    try:
        logging.getLogger("discord.client").info("logging in using static token")
        api = ScriptedAPI().error(ModelUnavailable("down"))
        await observed_concierge(api, store, Telemetry()).chat(THREAD, ANN, "hello")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
    outside, inside = stream.getvalue().splitlines()
    assert outside.endswith("INFO    discord.client: logging in using static token")
    assert "WARNING bot.engine.loop: turn failed: ModelUnavailable: down [guild=g1 channel=t1 member=1 turn=" in inside


def test_the_command_line_logs_json_lines_to_stderr_when_log_format_is_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.__main__ import configure_logging

    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        configure_logging(load_settings({"OPENAI_API_KEY": "k", "LOG_FORMAT": "json"}, env_file=None))
        logging.getLogger("discord.gateway").warning("Can't keep up, shard ID None websocket is 12.3s behind.")
        logging.getLogger("httpx").info("HTTP Request: POST https://api.openai.com/v1/responses")  # kept quiet
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
    (line,) = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert (record["level"], record["logger"]) == ("WARNING", "discord.gateway")
    assert record["message"] == "Can't keep up, shard ID None websocket is 12.3s behind."
