"""Optional request fields, sent to every server until one rejects them; shared by both adapters.

An adapter writes each request with every optional field it can use; `RequestFeatures.send` takes out what this
process no longer sends, and when the server answers 400 or 422 naming one of the fields, sends the request again at
once without it (or, for the output limit, under the other name). When that works, the field stays out for the rest
of the process (one log line); when it fails too, the request itself was the problem and nothing is changed.

    reasoning replay   include=["reasoning.encrypted_content"]     (Responses)
    stream usage       stream_options={"include_usage": true}     (Chat Completions, streamed)
    prompt cache key   prompt_cache_key                           (both)
    output limit       max_completion_tokens <-> max_tokens       (Chat Completions; swapped once, never dropped)
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Literal, TypeVar

import openai

from bot.engine.api.failures import said_by_server

log = logging.getLogger(__name__)

T = TypeVar("T")

Mode = Literal["auto", "on", "off"]
"""auto: sent until the server rejects it; on: always sent (a rejection is an error); off: never sent."""
LimitField = Literal["max_tokens", "max_completion_tokens"]

REASONING_INCLUDE = "reasoning.encrypted_content"
# A server refusing a field it does not know answers 400 (OpenAI, Azure, LiteLLM) or 422 (strict pydantic servers).
_REJECTED = frozenset({400, 422})


class Feature(StrEnum):
    """An optional request feature; the value is how logs and `check` name it."""

    REASONING_REPLAY = "reasoning replay"
    STREAM_USAGE = "usage in streams"
    PROMPT_CACHE_KEY = "prompt cache key"


# The request field each feature is sent as, and the words a server's error names it by.
_FIELD: dict[Feature, str] = {
    Feature.REASONING_REPLAY: "include",
    Feature.STREAM_USAGE: "stream_options",
    Feature.PROMPT_CACHE_KEY: "prompt_cache_key",
}
_NAMED_BY: dict[Feature, tuple[str, ...]] = {
    Feature.REASONING_REPLAY: ("include", REASONING_INCLUDE),
    Feature.STREAM_USAGE: ("stream_options", "include_usage"),
    Feature.PROMPT_CACHE_KEY: ("prompt_cache_key",),
}
_OTHER_LIMIT: dict[LimitField, LimitField] = {
    "max_tokens": "max_completion_tokens",
    "max_completion_tokens": "max_tokens",
}


@dataclass(frozen=True, slots=True)
class FeatureModes:
    """How each optional feature is sent (the settings' choice)."""

    reasoning_replay: Mode = "auto"
    stream_usage: Mode = "auto"
    prompt_cache_key: Mode = "auto"

    def of(self, feature: Feature) -> Mode:
        """The mode of one feature."""
        modes: dict[Feature, Mode] = {
            Feature.REASONING_REPLAY: self.reasoning_replay,
            Feature.STREAM_USAGE: self.stream_usage,
            Feature.PROMPT_CACHE_KEY: self.prompt_cache_key,
        }
        return modes[feature]


@dataclass(frozen=True, slots=True)
class _State:
    """What this process sends now: the dropped features and the output limit's name."""

    dropped: frozenset[Feature]
    limit_field: LimitField
    limit_swapped: bool = False


class RequestFeatures:
    """The optional fields one adapter sends; `auto` ones a server rejects are dropped for the rest of the process."""

    def __init__(
        self, modes: FeatureModes | None = None, *, api: str, limit_field: LimitField = "max_tokens", secret: str = ""
    ) -> None:
        self.modes = modes or FeatureModes()
        self._api = api
        self._secret = secret  # the API key, kept out of what the server's rejections are quoted in
        self._rejections: dict[Feature | LimitField, str] = {}
        off = frozenset(feature for feature in Feature if self.modes.of(feature) == "off")
        self._state = _State(dropped=off, limit_field=limit_field)

    def sends(self, feature: Feature) -> bool:
        """True while requests carry this feature."""
        return feature not in self._state.dropped

    def rejection(self, feature: Feature | LimitField) -> str | None:
        """What the server said when it rejected this feature (or this name of the output limit), if it did."""
        return self._rejections.get(feature)

    @property
    def limit_field(self) -> LimitField:
        """The name the output limit is sent under now."""
        return self._state.limit_field

    async def send(self, request: Mapping[str, Any], call: Callable[[dict[str, Any]], Awaitable[T]]) -> T:
        """Call with `request` shaped to what this process sends; retry at once without a field the server rejects.

        `request` holds every feature the adapter can use (the output limit as `max_completion_tokens`). Each retry
        changes one more feature the rejection names; the first request that works makes the changes stick.
        """
        state = self._state
        said: dict[Feature | LimitField, str] = {}
        while True:
            try:
                reply = await call(_shaped(request, state))
            except openai.APIStatusError as error:
                changed = self._blamed(error, _shaped(request, state), state)
                if changed is None:
                    raise
                blamed = next(iter(changed.dropped - state.dropped), state.limit_field)
                said[blamed] = f"HTTP {error.status_code}: {said_by_server(error, secret=self._secret) or 'no message'}"
                state = changed
                continue
            self._keep(state, said)
            return reply

    def _blamed(self, error: openai.APIStatusError, sent: Mapping[str, Any], state: _State) -> _State | None:
        """The state without the feature this rejection names (one not already changed), or None."""
        if error.status_code not in _REJECTED:
            return None
        said = _error_text(error)
        for feature in Feature:
            if (
                self.modes.of(feature) == "auto"
                and feature not in state.dropped
                and _FIELD[feature] in sent
                and _names(said, _NAMED_BY[feature])
            ):
                return replace(state, dropped=state.dropped | {feature})
        limit = state.limit_field
        if not state.limit_swapped and limit in sent and _names(said, (limit,)):
            return replace(state, limit_field=_OTHER_LIMIT[limit], limit_swapped=True)
        return None

    def _keep(self, state: _State, said: Mapping[Feature | LimitField, str]) -> None:
        """Make a working request's changes stick, with one log line each (another request may have made some)."""
        now = self._state
        for feature in sorted(state.dropped - now.dropped):
            self._rejections[feature] = said.get(feature, "")
            log.warning(
                "the %s server rejected %s (%s; %s); sending requests without it from now on",
                self._api,
                _FIELD[feature],
                feature.value,
                self._rejections[feature],
            )
        if state.limit_swapped and not now.limit_swapped:
            self._rejections[now.limit_field] = said.get(now.limit_field, "")
            log.warning(
                "the %s server rejected %s (%s); sending the output limit as %s from now on",
                self._api,
                now.limit_field,
                self._rejections[now.limit_field],
                state.limit_field,
            )
            now = replace(now, limit_field=state.limit_field, limit_swapped=True)
        self._state = replace(now, dropped=now.dropped | state.dropped)


def _shaped(request: Mapping[str, Any], state: _State) -> dict[str, Any]:
    """`request` without the dropped features and with the output limit under its current name."""
    shaped = {key: value for key, value in request.items() if key not in {_FIELD[f] for f in state.dropped}}
    if "max_completion_tokens" in shaped and state.limit_field == "max_tokens":
        shaped["max_tokens"] = shaped.pop("max_completion_tokens")
    return shaped


def _error_text(error: openai.APIStatusError) -> str:
    """Everything the server said: the message and the body (where `param` or a validation `loc` names a field)."""
    try:
        body = json.dumps(error.body)
    except (TypeError, ValueError):
        body = str(error.body)
    return f"{error.message} {body}"


def _names(text: str, words: tuple[str, ...]) -> bool:
    """True when `text` names one of `words` as a whole identifier (so `include` is not found in `include_usage`)."""
    return any(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) for word in words)
