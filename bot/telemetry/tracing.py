"""Tracing from the standard OTEL_* variables: OTLP/HTTP export when configured, the API's no-op otherwise."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from urllib.parse import unquote

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

log = logging.getLogger(__name__)

TRACER_NAME = "concierge"
FLUSH_TIMEOUT_MILLIS = 5000  # a collector that is down must not hold up the exit for long
CAPTURE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_EXPORTER_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def captures_content(environ: Mapping[str, str]) -> bool:
    """Whether message and tool content may go into spans (off unless the GenAI convention's variable says true)."""
    return environ.get(CAPTURE_CONTENT, "").strip().lower() == "true"


def tracing_wanted(environ: Mapping[str, str]) -> bool:
    """True when an OTLP endpoint is configured and the SDK is not disabled."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(environ.get(name, "").strip() for name in _EXPORTER_VARIABLES)


def start_span(tracer: trace.Tracer, name: str, **options: Any) -> AbstractContextManager[trace.Span]:
    """`tracer.start_as_current_span(name)`, or nothing at all with the no-op tracer (the cost of tracing off)."""
    if isinstance(tracer, trace.NoOpTracer):
        return nullcontext(trace.INVALID_SPAN)
    return tracer.start_as_current_span(name, **options)


class Tracing:
    """The installed tracer provider (if any), to flush and shut down when the bot stops."""

    def __init__(self, provider: TracerProvider | None) -> None:
        self.provider = provider
        self.tracer: trace.Tracer = trace.NoOpTracer() if provider is None else provider.get_tracer(TRACER_NAME)

    @property
    def enabled(self) -> bool:
        """Whether spans are recorded and exported."""
        return self.provider is not None

    def shutdown(self) -> None:
        """Export what is buffered and stop (on SIGTERM, before the process exits)."""
        if self.provider is None:
            return
        try:
            self.provider.force_flush(timeout_millis=FLUSH_TIMEOUT_MILLIS)
            self.provider.shutdown()
        except Exception:
            log.exception("could not flush the traces")


def setup_tracing(environ: Mapping[str, str], *, processor: SpanProcessor | None = None) -> Tracing:
    """Install a TracerProvider exporting over OTLP/HTTP when the OTEL_* variables ask for it (or given `processor`,
    as tests do, without touching the process-wide provider); otherwise a no-op tracer, which costs next to nothing."""
    given = processor is not None
    if processor is None:
        if not tracing_wanted(environ):
            return Tracing(None)
        processor = _otlp_processor(environ)
    resource = Resource.create(resource_attributes(environ))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(processor)
    if given:
        return Tracing(provider)
    trace.set_tracer_provider(provider)  # for libraries that trace through the global API
    log.info("tracing on: spans are exported over OTLP/HTTP")
    return Tracing(provider)


def _otlp_processor(environ: Mapping[str, str]) -> SpanProcessor:
    """A batching OTLP/HTTP exporter configured from `environ` (the settings' OTEL_* values, `.env` included)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol and protocol.strip() != "http/protobuf":
        log.warning("OTEL_EXPORTER_OTLP_PROTOCOL=%s is not supported; exporting over http/protobuf", protocol)
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (
        environ["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/") + "/v1/traces"
    )
    headers = environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or environ.get("OTEL_EXPORTER_OTLP_HEADERS") or ""
    timeout = _int(environ, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or _int(environ, "OTEL_EXPORTER_OTLP_TIMEOUT")
    return BatchSpanProcessor(
        OTLPSpanExporter(
            endpoint=endpoint,
            headers=otlp_headers(headers),
            timeout=timeout / 1000 if timeout else None,  # the variable is in milliseconds, the exporter in seconds
        ),
        max_queue_size=_int(environ, "OTEL_BSP_MAX_QUEUE_SIZE"),
        schedule_delay_millis=_int(environ, "OTEL_BSP_SCHEDULE_DELAY"),
        max_export_batch_size=_int(environ, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
        export_timeout_millis=_int(environ, "OTEL_BSP_EXPORT_TIMEOUT"),
    )


def resource_attributes(environ: Mapping[str, str]) -> dict[str, str]:
    """The resource every span carries: OTEL_RESOURCE_ATTRIBUTES ("deployment.environment=prod,service.version=1.4",
    values URL-encoded) read as the SDK reads it, with service.name from OTEL_SERVICE_NAME, which wins (default
    concierge). Read from `environ` (the settings' OTEL_* values, `.env` included), which the SDK's own detector,
    reading only the process environment, would miss."""
    attributes = dict(_pairs(environ.get("OTEL_RESOURCE_ATTRIBUTES", ""), "OTEL_RESOURCE_ATTRIBUTES"))
    attributes["service.name"] = environ.get("OTEL_SERVICE_NAME") or attributes.get("service.name") or "concierge"
    return attributes


def otlp_headers(text: str) -> dict[str, str]:
    """OTEL_EXPORTER_OTLP_HEADERS ("api-key=secret,x-team=bots", values URL-encoded) as a mapping; a malformed entry is
    skipped with a warning that names its position, never its value (it may be a secret)."""
    return {unquote(name).lower(): value for name, value in _pairs(text, "OTEL_EXPORTER_OTLP_HEADERS")}


def _pairs(text: str, variable: str) -> list[tuple[str, str]]:
    """`variable`'s comma-separated name=value entries, names stripped and values stripped and URL-decoded; a malformed
    entry is skipped with a warning that names its position, never its value."""
    pairs: list[tuple[str, str]] = []
    for position, entry in enumerate(text.split(","), start=1):
        if not entry.strip():
            continue
        name, separator, value = entry.partition("=")
        if not separator or not name.strip():
            log.warning("%s: entry %d is not name=value; skipped", variable, position)
            continue
        pairs.append((name.strip(), unquote(value.strip())))
    return pairs


def _int(environ: Mapping[str, str], name: str) -> int | None:
    value = environ.get(name, "").strip()
    try:
        return int(value) if value else None
    except ValueError:
        log.warning("%s=%r is not a whole number; using the default", name, value)
        return None
