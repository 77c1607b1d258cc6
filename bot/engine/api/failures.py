"""Turn openai SDK exceptions into the bot's error tree, with a detail that says what to fix.

Details never carry the API key or the request body: only the status, the server's own short
error message (with the key scrubbed out, cut to a few hundred characters) and our advice. For
401/403 the server's message is left out entirely (OpenAI's echoes part of the key).
"""

from __future__ import annotations

import openai

from bot.engine.api import ApiKind
from bot.engine.errors import (
    ModelError,
    ModelMisconfigured,
    ModelRejectedRequest,
    ModelUnavailable,
    QuotaExhausted,
    RateLimited,
)

_MAX_SERVER_MESSAGE = 300
_ENDPOINT: dict[ApiKind, str] = {"responses": "/responses", "chat": "/chat/completions"}


def map_openai_error(error: openai.OpenAIError, *, api: ApiKind, model: str, secret: str = "") -> ModelError:
    """Return the ModelError a failed request means; `secret` (the API key) is scrubbed from every detail."""
    if isinstance(error, openai.APITimeoutError):
        return ModelUnavailable("the model server did not answer in time (request timed out)")
    if isinstance(error, openai.APIConnectionError):
        return ModelUnavailable("could not connect to the model server: check OPENAI_BASE_URL and that it is running")
    if not isinstance(error, openai.APIStatusError):
        return ModelUnavailable(f"the model server's reply could not be read ({type(error).__name__})")

    status = error.status_code
    said = _server_message(error, secret=secret)
    if isinstance(error, openai.RateLimitError):
        if "insufficient_quota" in (error.code, error.type):
            return QuotaExhausted(f"429 insufficient_quota: the API account is out of credit{said}", status=status)
        return RateLimited(f"429 rate limited, still after the SDK's retries{said}", status=status)
    if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
        return ModelMisconfigured(f"{status} the server refused the API key: check OPENAI_API_KEY", status=status)
    if status in (404, 405):
        if _is_model_not_found(error):
            return ModelMisconfigured(f"model {model} not found: check OPENAI_MODEL{said}", status=status)
        if api == "responses":
            return ModelMisconfigured(
                f"this server has no Responses API ({status} on /responses): set OPENAI_API=chat", status=status
            )
        return ModelMisconfigured(
            f"{status} on /chat/completions: check OPENAI_BASE_URL (it usually ends in /v1){said}", status=status
        )
    if isinstance(error, openai.BadRequestError | openai.UnprocessableEntityError):
        return ModelRejectedRequest(f"{status} the server rejected the {_ENDPOINT[api]} request{said}", status=status)
    if status >= 500 or status == 408:
        return ModelUnavailable(f"{status} server error, still after the SDK's retries{said}", status=status)
    return ModelRejectedRequest(f"{status} unexpected answer from {_ENDPOINT[api]}{said}", status=status)


def _is_model_not_found(error: openai.APIStatusError) -> bool:
    """True when a 404 says the model is unknown rather than the endpoint (OpenAI, Ollama, vLLM wordings)."""
    if error.code == "model_not_found":
        return True
    text = _message_text(error).lower()
    return "model" in text and ("not found" in text or "does not exist" in text)


def _message_text(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        message = body.get("message")
        return message if isinstance(message, str) else ""
    return body if isinstance(body, str) else ""


def said_by_server(error: openai.APIStatusError, *, secret: str = "") -> str:
    """The server's own error message, scrubbed of `secret` and shortened; '' when it gave none."""
    return _server_message(error, secret=secret).removeprefix(": ")


def _server_message(error: openai.APIStatusError, *, secret: str) -> str:
    """The server's own error message as ': <message>', scrubbed and shortened; '' when it gave none."""
    text = " ".join(_message_text(error).split())
    if secret:
        text = text.replace(secret, "[redacted]")
    if len(text) > _MAX_SERVER_MESSAGE:
        text = text[: _MAX_SERVER_MESSAGE - 1] + "…"
    return f": {text}" if text else ""
