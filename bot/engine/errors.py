"""The errors a turn can end with, each carrying a sentence fit for the member.

ConciergeError
├── ToolChoiceRefused        a forced tool the caller may not use (no model call was made)
└── ModelError               the model server did not answer usefully
    ├── ModelUnavailable     timeout, connection failure, 5xx after the SDK's retries
    │   └── RateLimited      429 after the SDK's retries: busy, try again shortly
    ├── QuotaExhausted       429 insufficient_quota: the API account is out of credit
    ├── ModelMisconfigured   404/401/403: wrong endpoint, model, API kind or key (admin must act)
    └── ModelRejectedRequest 400/422: the server refused this request
"""

from __future__ import annotations

from collections.abc import Mapping


class ConciergeError(Exception):
    """Base of every error a turn reports; `user_message` is safe to show in Discord.

    `key` and `params` name the sentence for the chat platform to word in the member's language; `user_message` is
    its English rendering (for logs, and for a sentence given without a key, whose key is then "").
    """

    user_message: str = "Something went wrong."
    key: str = "error.generic"

    def __init__(
        self,
        detail: str = "",
        *,
        user_message: str | None = None,
        key: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(detail or self.user_message)
        self.detail = detail
        if user_message is not None:
            self.user_message = user_message
            self.key = ""
        if key is not None:
            self.key = key
        self.params: dict[str, object] = dict(params or {})


class ToolChoiceRefused(ConciergeError):
    """The member forced a tool they may not use here."""

    def __init__(self, tool: str, reason: str, *, reason_kind: str) -> None:
        super().__init__(
            f"forced tool {tool!r} refused: {reason}",
            user_message=f"You can't use `{tool}` here: {reason}.",
            key="error.tool_choice_refused",
            params={"tool": tool, "reason": reason, "reason_kind": reason_kind},
        )
        self.tool = tool
        self.reason = reason


class ModelError(ConciergeError):
    """The model server failed this turn."""

    user_message = "The model server failed to answer. Please try again."
    key = "error.model"

    def __init__(self, detail: str = "", *, status: int | None = None, user_message: str | None = None) -> None:
        super().__init__(detail, user_message=user_message)
        self.status = status


class ModelUnavailable(ModelError):
    """A passing outage: timeout, connection failure, server error."""

    user_message = "The model server is not responding right now. Please try again in a minute."
    key = "error.model_unavailable"


class RateLimited(ModelUnavailable):
    """Too many requests, even after the SDK's retries."""

    user_message = "The model server is busy (rate limited). Please try again in a minute."
    key = "error.rate_limited"


class QuotaExhausted(ModelError):
    """The API account has no credit left; retrying will not help."""

    user_message = "The bot's model account has run out of quota. A server admin needs to check the API billing."
    key = "error.quota_exhausted"


class ModelMisconfigured(ModelError):
    """The endpoint, API kind, model or key is wrong; only an admin can fix it."""

    user_message = "The bot is misconfigured and cannot reach its model. A server admin needs to check its settings."
    key = "error.model_misconfigured"


class ModelRejectedRequest(ModelError):
    """The server refused the request itself (400/422)."""

    user_message = "The model server refused this request. Please rephrase or try again."
    key = "error.model_rejected"
