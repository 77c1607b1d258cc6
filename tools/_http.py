"""Shared HTTP for the web tools: a descriptive User-Agent, a deadline, and JSON answers read into pydantic models."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError
from yarl import URL

from bot.engine.tools import ToolError

USER_AGENT = "Concierge/0.1 (Discord bot; +https://github.com/concierge-bot)"
MAX_ANSWER_BYTES = 2_000_000
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

M = TypeVar("M", bound=BaseModel)


async def fetch_json(
    session: aiohttp.ClientSession,
    url: str,
    *,
    params: Mapping[str, str],
    model: type[M],
    service: str,
    timeout_seconds: float,
) -> M:
    """GET `url` and read its JSON answer as `model`; every failure becomes a ToolError naming `service`."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    target: URL | str = url
    query: Mapping[str, str] | None = params
    try:
        async with asyncio.timeout(timeout_seconds):
            for _ in range(MAX_REDIRECTS + 1):
                async with session.get(target, params=query, headers=headers, allow_redirects=False) as response:
                    if response.status in _REDIRECTS:
                        target, query = _redirect_target(response, service=service), None
                        continue
                    if response.status >= 400:
                        raise ToolError(
                            _status_message(service, response.status), service=service, status=response.status
                        )
                    body = await _read_limited(response, service=service)
                    break
            else:
                raise ToolError(f"{service} redirected too many times", service=service)
    except TimeoutError:
        raise ToolError(f"{service} did not answer within {timeout_seconds:g} seconds", service=service) from None
    except aiohttp.ClientError as error:
        raise ToolError(f"{service} could not be reached", service=service, reason=type(error).__name__) from None
    try:
        return model.model_validate_json(body)
    except ValidationError:
        raise ToolError(f"{service} sent an answer that could not be read", service=service) from None


def _redirect_target(response: aiohttp.ClientResponse, *, service: str) -> URL:
    """Where a redirect points, if it may be followed: the same host and port, over https; else a ToolError.

    An upstream (or anything on the way) must not be able to point the bot at another host, such as 127.0.0.1 or a
    cloud metadata address, and have that answer handed to the model.
    """
    location = response.headers.get("Location", "")
    try:
        target = response.url.join(URL(location))
    except ValueError:
        target = None
    origin = response.url
    if (
        target is None
        or not location
        or target.scheme != "https"
        or (target.host or "").lower() != (origin.host or "").lower()
        or target.port != (origin.port if origin.scheme == "https" else 443)
    ):
        raise ToolError(f"{service} redirected the request elsewhere; it was not followed", service=service)
    return target


def _status_message(service: str, status: int) -> str:
    """A sentence for an HTTP error status."""
    if status == 429:
        return f"{service} is rate limiting requests; try again later"
    if status >= 500:
        return f"{service} is having problems (HTTP {status}); try again later"
    return f"{service} refused the request (HTTP {status})"


async def _read_limited(response: aiohttp.ClientResponse, *, service: str) -> bytes:
    """The response body, refused when larger than MAX_ANSWER_BYTES."""
    if response.content_length is not None and response.content_length > MAX_ANSWER_BYTES:
        raise ToolError(f"{service} sent an answer that is too large", service=service)
    body = bytearray()
    async for chunk in response.content.iter_chunked(65_536):
        body.extend(chunk)
        if len(body) > MAX_ANSWER_BYTES:
            raise ToolError(f"{service} sent an answer that is too large", service=service)
    return bytes(body)
