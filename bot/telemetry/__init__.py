"""Operating the bot: health checks, Prometheus metrics, OpenTelemetry traces and the log format.

The core knows none of this: the facade reports through `Telemetry`, the model API is wrapped by
`InstrumentedModelAPI`, and `bot.app` chooses the exporters, the server and the log format.
"""

from bot.telemetry.genai import InstrumentedModelAPI
from bot.telemetry.health import Health, HealthCheck, HealthReport
from bot.telemetry.logs import JsonFormatter, install_log_handler, turn_fields
from bot.telemetry.metrics import Metrics
from bot.telemetry.server import OpsServer, make_web_app
from bot.telemetry.tracing import Tracing, captures_content, setup_tracing
from bot.telemetry.turns import Telemetry, TurnScope

__all__ = [
    "Health",
    "HealthCheck",
    "HealthReport",
    "InstrumentedModelAPI",
    "JsonFormatter",
    "Metrics",
    "OpsServer",
    "Telemetry",
    "Tracing",
    "TurnScope",
    "captures_content",
    "install_log_handler",
    "make_web_app",
    "setup_tracing",
    "turn_fields",
]
