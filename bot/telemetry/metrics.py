"""The Prometheus metrics the bot exports, in their own registry (never the process-global one)."""

from __future__ import annotations

from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

M = TypeVar("M", Counter, Histogram)

# Buckets from the OpenTelemetry GenAI semantic conventions (seconds; tokens).
OPERATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
TOOL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # the classic text format generate_latest writes


class Metrics:
    """Every metric, registered in one CollectorRegistry; labels carry only bounded values (no member text or names)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.turns = Counter(
            "concierge_turns",
            "Member turns by outcome (answered, failed, refused) and, for refusals, reason (quota, rate_limit,"
            " permission, busy, shutting_down).",
            ["outcome", "reason"],
            registry=self.registry,
        )
        self.tool_calls = Counter(
            "concierge_tool_calls",
            "Tool calls by tool and outcome (ok, error, denied, declined, timeout, invalid, skipped).",
            ["tool", "outcome"],
            registry=self.registry,
        )
        self.tool_duration = Histogram(
            "concierge_tool_call_duration_seconds",
            "How long tool calls took, including any wait for the member's confirmation.",
            ["tool"],
            buckets=TOOL_BUCKETS,
            registry=self.registry,
        )
        self.confirmations = Counter(
            "concierge_confirmations",
            "Confirmation questions by result: confirmed, declined, expired (no answer in time), unavailable.",
            ["result"],
            registry=self.registry,
        )
        self.active_turns = Gauge(
            "concierge_active_turns",
            "Turns in progress: running, or waiting for their channel's earlier turns.",
            registry=self.registry,
        )
        self.operation_duration = Histogram(
            "gen_ai_client_operation_duration_seconds",
            "GenAI operation duration (one model request, retries included).",
            ["gen_ai_operation_name", "gen_ai_request_model", "gen_ai_provider_name", "error_type"],
            buckets=OPERATION_BUCKETS,
            registry=self.registry,
        )
        self.token_usage = Histogram(
            "gen_ai_client_token_usage",
            "Tokens per model request, as the server reported them or as estimated (concierge_estimated=true).",
            [
                "gen_ai_operation_name",
                "gen_ai_request_model",
                "gen_ai_provider_name",
                "gen_ai_token_type",
                "concierge_estimated",
            ],
            buckets=TOKEN_BUCKETS,
            registry=self.registry,
        )

        self._children: dict[tuple[int, tuple[str, ...]], object] = {}

    def child(self, metric: M, *values: str) -> M:
        """`metric.labels(*values)`, remembered: the label sets are few, and looking one up is the costly part."""
        key = (id(metric), values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found  # type: ignore[return-value]

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
