"""What llama-cpp-python's server (chatml-function-calling) refuses: the quirks docs/model-servers.md records.

Skipped on any other server, recognised by the title of its OpenAPI document.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
import pytest
import pytest_asyncio

from tests.real_server.test_chat_wire import QUESTION, SYSTEM, TOOLS, _finished_round

pytestmark = [pytest.mark.real_server, pytest.mark.asyncio]


@pytest_asyncio.fixture
async def llama_cpp_python(real_server_url: str) -> str:
    """The base URL, when the server is llama-cpp-python's; otherwise the test is skipped."""
    root = real_server_url.rstrip("/").removesuffix("/v1")
    async with httpx2.AsyncClient(timeout=10) as http:
        answer = await http.get(f"{root}/openapi.json")
    title = answer.json().get("info", {}).get("title", "") if answer.status_code == 200 else ""
    if "llama.cpp Python" not in title:
        pytest.skip("not a llama-cpp-python server")
    return real_server_url


async def _status_of(client: openai.AsyncOpenAI, model: str, **request: Any) -> int:
    try:
        await client.chat.completions.create(model=model, max_tokens=48, **request)
    except openai.APIStatusError as error:
        return error.status_code
    return 200


async def test_required_tool_choice_is_a_server_error(
    llama_cpp_python: str, client: openai.AsyncOpenAI, model: str
) -> None:
    messages: Any = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]

    assert await _status_of(client, model, messages=messages, tools=TOOLS, tool_choice="required") == 500


@pytest.mark.parametrize("content", ["missing", None])
async def test_assistant_call_without_string_content_is_a_server_error(
    llama_cpp_python: str, client: openai.AsyncOpenAI, model: str, content: str | None
) -> None:
    messages = _finished_round(content)
    if content == "missing":
        del messages[2]["content"]

    assert await _status_of(client, model, messages=messages, tools=TOOLS, tool_choice="auto") == 500


async def test_responses_api_is_not_served(llama_cpp_python: str, client: openai.AsyncOpenAI, model: str) -> None:
    with pytest.raises(openai.NotFoundError):
        await client.responses.create(model=model, input="Say hello.")


async def test_tool_output_does_not_reach_the_prompt(
    llama_cpp_python: str, client: openai.AsyncOpenAI, model: str
) -> None:
    short, long = _finished_round(""), _finished_round("")
    long[-1]["content"] = json.dumps({"result": "word " * 600})

    sizes = []
    for messages in (short, long):
        completion = await client.chat.completions.create(
            model=model, messages=messages, tools=TOOLS, tool_choice="none", max_tokens=1
        )
        assert completion.usage is not None
        sizes.append(completion.usage.prompt_tokens)

    assert sizes[0] == sizes[1]
