"""The errors a turn can end with, each naming (by `key`) what to tell the member.

ConciergeError
├── ToolChoiceRefused        a forced tool the caller may not use (no model call was made)
├── OverBudget               a token budget (a daily quota) is used up: the turn makes no more model requests
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
    """Base of every error a turn reports.

    `key` and `params` name what to tell the member, for the chat platform to word in the member's language (the
    Discord adapter's message catalog); the exception's own text (`detail`) is for logs and admins, never shown.
    """

    key: str = "error.generic"

    def __init__(self, detail: str = "", *, key: str | None = None, params: Mapping[str, object] | None = None) -> None:
        super().__init__(detail or self.key)
        self.detail = detail
        if key is not None:
            self.key = key
        self.params: dict[str, object] = dict(params or {})


class ToolChoiceRefused(ConciergeError):
    """The member forced a tool they may not use here; `reason` is in English for logs, `reason_kind` says why."""

    key = "error.tool_choice_refused"

    def __init__(self, tool: str, reason: str, *, reason_kind: str) -> None:
        super().__init__(
            f"forced tool {tool!r} refused: {reason}",
            params={"tool": tool, "reason": reason, "reason_kind": reason_kind},
        )
        self.tool = tool
        self.reason = reason


class OverBudget(ConciergeError):
    """The turn's token budget refused its next model request; whoever keeps the budget names the key (e.g. which
    daily quota was reached)."""

    key = "error.over_budget"


class ModelError(ConciergeError):
    """The model server failed this turn."""

    key = "error.model"

    def __init__(self, detail: str = "", *, status: int | None = None) -> None:
        super().__init__(detail)
        self.status = status


class ModelUnavailable(ModelError):
    """A passing outage: timeout, connection failure, server error."""

    key = "error.model_unavailable"


class RateLimited(ModelUnavailable):
    """Too many requests, even after the SDK's retries."""

    key = "error.rate_limited"


class QuotaExhausted(ModelError):
    """The API account has no credit left; retrying will not help (an admin must check the billing)."""

    key = "error.quota_exhausted"


class ModelMisconfigured(ModelError):
    """The endpoint, API kind, model or key is wrong; only an admin can fix it."""

    key = "error.model_misconfigured"


class ModelRejectedRequest(ModelError):
    """The server refused the request itself (400/422)."""

    key = "error.model_rejected"
