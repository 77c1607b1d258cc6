"""Each turn is one trace: a root span, a `chat {model}` span per request, an `execute_tool {tool}` span per call."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bot.concierge import ChatHooks
from bot.engine.api import ModelReply, Usage
from bot.engine.errors import ModelUnavailable
from bot.engine.items import ImagePart, UserMessage
from bot.store import Store
from bot.telemetry import InstrumentedModelAPI, Telemetry, setup_tracing
from bot.telemetry.tracing import captures_content, tracing_wanted
from tests.engine.scripted import ScriptedAPI
from tests.telemetry.conftest import ANN, MODEL, THREAD, AnswerWith, observed_concierge

SECRET_QUESTION = "where should I eat tonight, zebra-7?"
SECRET_ARGUMENT = "pelican-42"


def traced(*, capture: bool = False) -> tuple[Telemetry, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing = setup_tracing({}, processor=SimpleSpanProcessor(exporter))
    return Telemetry(tracer=tracing.tracer, capture_content=capture), exporter


def by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


async def tool_turn(store: Store, telemetry: Telemetry) -> None:
    api = (
        ScriptedAPI(
            script=[
                ModelReply(
                    text="",
                    calls=ScriptedAPI().calls(("echo", {"text": SECRET_ARGUMENT})).script[0].calls,  # type: ignore[union-attr]
                    usage=Usage(input_tokens=50, output_tokens=9),
                )
            ]
        )
        .calls(("reserve", {"seats": 2}))
        .text("Booked for you.")
    )
    await observed_concierge(api, store, telemetry).chat(
        THREAD, ANN, SECRET_QUESTION, hooks=ChatHooks(AnswerWith("confirmed"))
    )


@pytest.mark.asyncio
async def test_a_turn_is_one_trace_with_chat_and_tool_spans_under_its_root(store: Store) -> None:
    telemetry, exporter = traced()
    await tool_turn(store, telemetry)
    spans = exporter.get_finished_spans()
    (root,) = by_name(spans, "invoke_agent Concierge")
    chats = by_name(spans, f"chat {MODEL}")
    (echo,) = by_name(spans, "execute_tool echo")
    (reserve,) = by_name(spans, "execute_tool reserve")
    (wait,) = by_name(spans, "await_confirmation reserve")
    assert len(chats) == 3
    assert {span.context.trace_id for span in spans} == {root.context.trace_id}
    assert root.parent is None
    for child in (*chats, echo, reserve):
        assert child.parent is not None and child.parent.span_id == root.context.span_id
    assert wait.parent is not None and wait.parent.span_id == reserve.context.span_id
    assert root.attributes is not None and root.attributes["concierge.turn.outcome"] == "answered"
    assert root.attributes["concierge.guild.id"] == "g1" and root.attributes["concierge.member.id"] == "1"
    assert echo.attributes == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "echo",
        "gen_ai.tool.call.id": "call_1",
        "concierge.tool.outcome": "ok",
    }
    assert wait.attributes is not None and wait.attributes["concierge.confirmation.result"] == "confirmed"


@pytest.mark.asyncio
async def test_chat_spans_follow_the_genai_conventions_with_reported_or_estimated_usage(store: Store) -> None:
    telemetry, exporter = traced()
    await tool_turn(store, telemetry)
    first, second, _ = sorted(by_name(exporter.get_finished_spans(), f"chat {MODEL}"), key=lambda s: s.start_time or 0)
    assert first.attributes is not None and second.attributes is not None
    assert first.attributes["gen_ai.operation.name"] == "chat"
    assert first.attributes["gen_ai.request.model"] == MODEL
    assert (first.attributes["gen_ai.usage.input_tokens"], first.attributes["gen_ai.usage.output_tokens"]) == (50, 9)
    assert first.attributes["concierge.usage.estimated"] is False
    assert first.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert second.attributes["concierge.usage.estimated"] is True
    assert second.attributes["gen_ai.usage.input_tokens"] > 0  # type: ignore[operator]


@pytest.mark.asyncio
async def test_a_failed_model_request_marks_its_span_and_the_turn_as_errors(store: Store) -> None:
    telemetry, exporter = traced()
    await observed_concierge(ScriptedAPI().error(ModelUnavailable("down")), store, telemetry).chat(THREAD, ANN, "hi")
    spans = exporter.get_finished_spans()
    (chat,) = by_name(spans, f"chat {MODEL}")
    (root,) = by_name(spans, "invoke_agent Concierge")
    assert chat.attributes is not None and chat.attributes["error.type"] == "ModelUnavailable"
    assert not chat.status.is_ok and not root.status.is_ok
    assert root.attributes is not None and root.attributes["concierge.turn.outcome"] == "failed"


@pytest.mark.asyncio
async def test_no_message_or_tool_content_is_recorded_unless_capture_is_on(store: Store) -> None:
    telemetry, exporter = traced()
    await tool_turn(store, telemetry)
    recorded = json.dumps([dict(span.attributes or {}) for span in exporter.get_finished_spans()], default=str)
    for content in (SECRET_QUESTION, SECRET_ARGUMENT, "Booked for you", "You are a test"):
        assert content not in recorded

    telemetry, exporter = traced(capture=True)
    await tool_turn(store, telemetry)
    recorded = json.dumps([dict(span.attributes or {}) for span in exporter.get_finished_spans()], default=str)
    for content in (SECRET_QUESTION, SECRET_ARGUMENT, "Booked for you", "You are a test"):
        assert content in recorded


def test_tracing_is_on_only_with_an_endpoint_and_not_disabled() -> None:
    assert not tracing_wanted({})
    assert tracing_wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert not tracing_wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"})
    assert not setup_tracing({}).enabled
    assert captures_content({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "True"})
    assert not captures_content({})


@pytest.mark.asyncio
async def test_spans_reach_an_otlp_http_collector_when_tracing_shuts_down(store: Store) -> None:
    from aiohttp import web

    from bot.telemetry.tracing import _otlp_processor

    received: list[bytes] = []
    keys: list[str | None] = []

    async def collect(request: web.Request) -> web.Response:
        received.append(await request.read())
        keys.append(request.headers.get("api-key"))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/v1/traces", collect)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        environ = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_BSP_SCHEDULE_DELAY": "60000",
            "OTEL_EXPORTER_OTLP_HEADERS": "api-key=s%3Dcret,x-team=bots",
        }
        tracing = setup_tracing(environ, processor=_otlp_processor(environ))
        await observed_concierge(ScriptedAPI().text("hi"), store, Telemetry(tracer=tracing.tracer)).chat(
            THREAD, ANN, "hello"
        )
        assert received == []  # batched: nothing sent before the flush
        await asyncio.to_thread(tracing.shutdown)  # the exporter is synchronous; the collector runs on this loop
    finally:
        await runner.cleanup()
    assert len(received) == 1
    assert keys == ["s=cret"]  # the collector's credentials, from OTEL_EXPORTER_OTLP_HEADERS (URL-encoded)
    assert b"invoke_agent Concierge" in received[0] and f"chat {MODEL}".encode() in received[0]


@pytest.mark.asyncio
@pytest.mark.parametrize("api", ["responses", "chat"])
@pytest.mark.parametrize("stream", ["true", "false"])
async def test_chat_spans_name_the_model_the_server_answered_with_over_real_http(api: str, stream: str) -> None:
    from bot.app import instrument_model_api, make_model_api, make_model_client
    from bot.engine.items import UserMessage
    from bot.settings import load_settings
    from tests.fake_openai import FakeOpenAI

    telemetry, exporter = traced()
    async with FakeOpenAI() as server:
        server.reply_text("hello there")
        settings = load_settings(
            {
                "OPENAI_BASE_URL": server.base_url,
                "OPENAI_API": api,
                "OPENAI_MODEL": "wire-model",
                "STREAM_ANSWERS": stream,
            },
            env_file=None,
        )
        client = make_model_client(settings)
        try:
            model_api = instrument_model_api(settings, make_model_api(settings, client), telemetry)
            reply = await model_api.respond(
                instructions="i",
                items=[UserMessage(text="hi", author_id="1", author_name="Ann")],
                tools=[],
                tool_choice="auto",
            )
        finally:
            await client.close()
    assert reply.text == "hello there" and reply.model == "wire-model"
    (span,) = exporter.get_finished_spans()
    assert span.name == "chat wire-model"
    assert span.attributes is not None
    assert span.attributes["gen_ai.response.model"] == "wire-model"
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.attributes["server.address"] == "127.0.0.1"


@pytest.mark.asyncio
async def test_calls_past_the_per_reply_limit_are_counted_but_leave_the_turn_span_alone(store: Store) -> None:
    from tests.telemetry.conftest import scrape

    telemetry, exporter = traced()
    api = ScriptedAPI().calls(("echo", {"text": "a"}), ("echo", {"text": "b"})).text("done")
    await observed_concierge(api, store, telemetry, max_calls_per_round=1).chat(THREAD, ANN, "two")
    spans = exporter.get_finished_spans()
    (root,) = by_name(spans, "invoke_agent Concierge")
    assert len(by_name(spans, "execute_tool echo")) == 1
    assert root.attributes is not None and "concierge.tool.outcome" not in root.attributes
    assert root.status.is_ok
    scraped = await scrape(telemetry.metrics)
    assert scraped.value("concierge_tool_calls_total", tool="echo", outcome="skipped") == 1


def test_otlp_headers_are_read_like_the_sdk_reads_them_and_a_bad_entry_is_skipped_without_its_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.telemetry.tracing import otlp_headers

    assert otlp_headers("Authorization=Basic%20abc, x-team = bots") == {"authorization": "Basic abc", "x-team": "bots"}
    assert otlp_headers("") == {}
    assert otlp_headers("hunter2,api-key=k") == {"api-key": "k"}
    assert "entry 1 is not name=value" in caplog.text and "hunter2" not in caplog.text


def resource_of_a_span(environ: dict[str, str]) -> dict[str, object]:
    exporter = InMemorySpanExporter()
    tracing = setup_tracing(environ, processor=SimpleSpanProcessor(exporter))
    tracing.tracer.start_span("probe").end()
    (span,) = exporter.get_finished_spans()
    return dict(span.resource.attributes)


def test_otel_resource_attributes_from_env_file_reach_every_span_with_otel_service_name_winning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.settings import load_settings

    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)  # only .env says it
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    env = tmp_path / ".env"
    env.write_text(
        "OTEL_RESOURCE_ATTRIBUTES=deployment.environment=prod%20eu, service.version=1.4,service.name=from-attributes\n"
        "OTEL_SERVICE_NAME=concierge-eu\n"
    )
    settings = load_settings({}, env_file=env)

    resource = resource_of_a_span(settings.OTEL)

    assert resource["deployment.environment"] == "prod eu"
    assert resource["service.version"] == "1.4"
    assert resource["service.name"] == "concierge-eu"


def test_service_name_comes_from_the_resource_attributes_without_otel_service_name_and_a_bad_entry_is_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    resource = resource_of_a_span({"OTEL_RESOURCE_ATTRIBUTES": "service.name=kitchen-bot,oops,team=cafe"})
    assert resource["service.name"] == "kitchen-bot" and resource["team"] == "cafe"
    assert "OTEL_RESOURCE_ATTRIBUTES: entry 2 is not name=value" in caplog.text
    assert resource_of_a_span({})["service.name"] == "concierge"


@pytest.mark.asyncio
async def test_captured_messages_name_a_members_image_without_its_bytes() -> None:
    telemetry, exporter = traced(capture=True)
    api = InstrumentedModelAPI(
        ScriptedAPI().text("Red."),
        model=MODEL,
        metrics=telemetry.metrics,
        tracer=telemetry.tracer,
        capture_content=True,
    )
    png = (Path(__file__).parents[1] / "fixtures" / "attachments" / "red-square.png").read_bytes()
    image = ImagePart(filename="red-square.png", media_type="image/png", data=base64.b64encode(png).decode())

    await api.respond(
        instructions="t", items=[UserMessage(text="colour?", attachments=(image,))], tools=[], tool_choice="auto"
    )

    recorded = json.dumps([dict(span.attributes or {}) for span in exporter.get_finished_spans()], default=str)
    assert "red-square.png" in recorded and "colour?" in recorded
    assert base64.b64encode(png).decode() not in recorded
