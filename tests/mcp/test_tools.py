"""MCP tools from real servers (the SDK over stdio and Streamable HTTP): offered, checked, called, kept alive, stopped."""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path

import pytest

from bot.mcp import McpTools, McpToolSpec, StdioServer, UnknownMcpTool, parse_mcp_config
from tests.mcp.servers import TOOLBOX, HttpToolbox, names, running, state, stdio, until

pytestmark = pytest.mark.asyncio
OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def spec(tools: McpTools, name: str) -> McpToolSpec:
    found = tools.spec(name)
    assert found is not None, f"{name} is not offered; offered: {sorted(names(tools))}"
    return found


async def test_a_stdio_servers_tools_are_offered_under_valid_namespaced_names_with_the_files_defaults() -> None:
    async with running(stdio("tb"), default_timeout=7.0) as tools:
        offered = names(tools)
        assert {"tb__echo", "tb__add", "tb__hang", "tb__grow"} <= offered
        assert all(OPENAI_NAME.match(name) for name in offered)
        (odd,) = [name for name in offered if name.startswith("tb__weird_name_with_slashes_")]
        assert spec(tools, odd).tool == "weird.name/with slashes"
        echo = spec(tools, "tb__echo")
        assert (echo.server, echo.restricted, echo.confirm_by_default, echo.timeout) == ("tb", True, True, 7.0)
        assert echo.strict is True
        assert spec(tools, "tb__loose").strict is False
        assert [status.state for status in tools.statuses()] == ["connected"]
        assert tools.statuses()[0].tools == len(offered)


async def test_a_call_returns_the_servers_text_or_structured_content() -> None:
    async with running(stdio("tb")) as tools:
        assert await tools.call("tb__echo", {"text": "hi", "times": 2}) == {"content": "hi hi"}
        assert await tools.call("tb__echo", {"text": "once", "times": None}) == {"content": "once"}
        assert await tools.call("tb__add", {"a": 2, "b": 3}) == {"structured_content": {"sum": 5}}


async def test_bad_arguments_come_back_as_field_problems_and_never_reach_the_server() -> None:
    async with running(stdio("tb")) as tools:
        problems = tools.validate("tb__add", {"a": "two"})
        assert {"field": "b", "problem": "Field required"} in problems
        assert any(problem["field"] == "a" and problem["given"] == "two" for problem in problems)
        result = await tools.call("tb__add", {"a": "two"})
        assert result["error"] == "invalid arguments"
        assert result["problems"] == problems
        assert tools.validate("tb__add", {"a": 1, "b": 2}) == []
        with pytest.raises(UnknownMcpTool):
            tools.validate("tb__nope", {})
        assert (await tools.call("tb__nope", {}))["error"] == "the tool is not available now"


async def test_a_hostile_servers_hidden_instructions_and_empty_descriptions_are_cleaned() -> None:
    async with running(stdio("tb")) as tools:
        assert spec(tools, "tb__poisoned").description == "Look up the weather."
        (odd,) = [spec for spec in tools.tools() if spec.tool == "weird.name/with slashes"]
        assert odd.description.strip()
        for offered in tools.tools():
            text = offered.description + json.dumps(offered.input_schema, ensure_ascii=False)
            assert not any(0xE0000 <= ord(char) <= 0xE007F or char == "\u200b" for char in text)


async def test_a_tool_hiding_characters_in_a_property_name_or_an_enum_value_is_left_out_in_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.mcp")
    async with running(stdio("tb")) as tools:
        assert {"tb__hidden_field", "tb__hidden_choice"}.isdisjoint(names(tools))
        assert "tb__echo" in names(tools)
        assert tools.statuses()[0].tools == len(names(tools))  # the status counts what is offered
        assert await tools.call("tb__hidden_choice", {"mode": "safe"}) == {
            "error": "the tool is not available now",
            "tool": "tb__hidden_choice",
            "detail": "its MCP server is not connected or no longer offers it",
        }
    lines = [record.getMessage() for record in caplog.records if "left out" in record.getMessage()]
    assert (
        "MCP server tb: tool 'hidden_field' left out: its input schema hides invisible characters in a property name"
        in lines
    )
    assert (
        "MCP server tb: tool 'hidden_choice' left out: its input schema hides invisible characters in an enum value"
        in lines
    )
    assert all(record.exc_info is None for record in caplog.records)


async def test_a_tag_character_in_a_default_never_reaches_the_model_and_the_tool_still_works() -> None:
    async with running(stdio("tb")) as tools:
        tagged = spec(tools, "tb__tagged_default")
        assert tagged.strict is False  # the non-strict form is cleaned too
        assert "default" not in tagged.input_schema["properties"]["city"]
        text = json.dumps(tagged.input_schema, ensure_ascii=False)
        assert not any(0xE0000 <= ord(char) <= 0xE007F for char in text)
        assert await tools.call("tb__tagged_default", {"city": "Paris"}) == {"content": "{'city': 'Paris'}"}


async def test_a_draft_07_tool_is_offered_and_its_arguments_validated_in_its_own_dialect() -> None:
    async with running(stdio("tb")) as tools:
        assert spec(tools, "tb__pair").strict is False
        assert [problem["field"] for problem in tools.validate("tb__pair", {"point": [1, "two"]})] == ["point.1"]
        assert (await tools.call("tb__pair", {"point": [1, 2, 3]}))["error"] == "invalid arguments"
        assert await tools.call("tb__pair", {"point": [1, 2]}) == {"content": "3"}


async def test_a_stdio_server_runs_in_the_cwd_the_file_gives(tmp_path: Path) -> None:
    async with running(stdio("tb", cwd=tmp_path), stdio("here")) as tools:
        assert await tools.call("tb__cwd", {}) == {"content": str(tmp_path)}
        assert await tools.call("here__cwd", {}) == {"content": str(Path.cwd())}


async def test_a_three_megabyte_result_reaches_the_model_cut_and_marked() -> None:
    async with running(stdio("tb"), max_result_chars=12_000) as tools:
        result = await tools.call("tb__huge", {})
        assert result["truncated"] is True
        assert result["original_chars"] == 3 * 1024 * 1024
        assert len(json.dumps(result)) < 16_000


async def test_images_and_links_are_summarised_and_error_results_keep_the_error_shape() -> None:
    async with running(stdio("tb")) as tools:
        picture = await tools.call("tb__picture", {})
        assert picture["content"].startswith("[image: image/png")
        assert "[resource link: report file:///report.pdf]" in picture["content"]
        failed = await tools.call("tb__fail", {})
        assert failed == {
            "error": "the tool reported an error",
            "tool": "tb__fail",
            "detail": "the ticket system said no",
        }


async def test_a_call_that_never_returns_is_cancelled_at_its_timeout_and_the_server_keeps_working() -> None:
    async with running(stdio("tb", timeout_seconds=0.5)) as tools:
        assert spec(tools, "tb__hang").timeout == 0.5
        result = await tools.call("tb__hang", {})
        assert result == {"error": "the tool timed out", "tool": "tb__hang", "timeout_seconds": 0.5}
        assert await tools.call("tb__echo", {"text": "still here"}) == {"content": "still here"}


async def test_a_server_that_crashes_mid_call_fails_the_call_and_is_restarted_with_its_tools() -> None:
    async with running(stdio("tb", timeout_seconds=60)) as tools:
        before = (await tools.call("tb__pid", {}))["content"]
        seen: list[str] = []
        tools.on_change(lambda: seen.append(state(tools, "tb")))
        crashed = await tools.call("tb__crash", {})
        assert crashed["error"] == "the tool failed"  # at once, not at the 60 s timeout
        await until(tools, lambda: "failed" in seen and seen[-1] == "connected")
        assert "tb__echo" in names(tools)
        after = (await tools.call("tb__pid", {}))["content"]
        assert after != before


async def test_tools_list_changed_refreshes_the_servers_tools() -> None:
    async with running(stdio("tb")) as tools:
        assert "tb__added_1" not in names(tools)
        await tools.call("tb__grow", {})
        await until(tools, lambda: "tb__added_1" in names(tools))
        assert await tools.call("tb__added_1", {}) == {"content": "added_1"}


async def test_a_server_that_fails_to_start_is_left_out_logged_in_one_line_and_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.mcp")
    attempts: list[str] = []
    async with running(stdio("broken", "--exit-at-start"), stdio("tb"), max_backoff=0.2) as tools:
        assert state(tools, "broken") == "failed"
        assert state(tools, "tb") == "connected"
        assert not any(name.startswith("broken__") for name in names(tools))
        tools.on_change(lambda: attempts.append(state(tools, "broken")))
        await until(tools, lambda: attempts.count("failed") >= 2)
    failures = [record for record in caplog.records if record.getMessage().startswith("MCP server broken:")]
    assert failures
    assert all(record.exc_info is None and "\n" not in record.getMessage() for record in failures)
    assert next(status for status in tools.statuses() if status.server == "broken").state == "stopped"


async def test_a_missing_command_or_an_unreachable_url_is_reported_in_the_servers_status() -> None:
    unreachable = HttpToolbox()  # a free port nobody listens on
    async with running(
        StdioServer(name="nothing", command="concierge-no-such-command-xyz"), unreachable.config("gone")
    ) as tools:
        nothing, gone = tools.statuses()
        assert nothing.state == "failed"
        assert "No such file" in nothing.error
        assert gone.state == "failed"
        assert gone.error.startswith("cannot reach the server (ConnectError")
        assert names(tools) == set()


async def test_a_server_not_ready_within_the_start_timeout_is_left_out_then_joins_in_the_background() -> None:
    async with running(stdio("slow", "--slow-start", "1.5"), start_timeout=0.5, max_backoff=0.2) as tools:
        (status,) = tools.statuses()
        assert (status.state, status.error) == ("failed", "not ready within 0.5 s")
        await until(tools, lambda: state(tools, "slow") == "connected")
        assert "slow__echo" in names(tools)


async def test_allowed_tools_loads_only_those_tools() -> None:
    async with running(stdio("tb", allowed_tools=("echo", "add"))) as tools:
        assert names(tools) == {"tb__echo", "tb__add"}


async def test_confirmation_defaults_come_from_the_file_and_annotations_only_when_trusted() -> None:
    never = {"never": {"tool_names": ["add"]}}
    async with running(
        stdio("strict"),
        stdio("trusting", trust_annotations=True),
        stdio("partly", require_approval=never),
        stdio("open", require_approval="never", restricted=False),
    ) as tools:
        assert spec(tools, "strict__echo").confirm_by_default is True  # readOnlyHint alone grants nothing
        assert spec(tools, "trusting__echo").confirm_by_default is False
        assert spec(tools, "trusting__add").confirm_by_default is True
        assert spec(tools, "partly__add").confirm_by_default is False
        assert spec(tools, "partly__echo").confirm_by_default is True
        assert spec(tools, "open__crash").confirm_by_default is False
        assert spec(tools, "open__crash").restricted is False
        assert spec(tools, "strict__crash").restricted is True


async def test_changes_are_told_to_listeners() -> None:
    async with running(stdio("tb")) as tools:
        told: list[int] = []
        tools.on_change(lambda: told.append(len(tools.tools())))
        await tools.call("tb__grow", {})
        await until(tools, lambda: bool(told) and told[-1] == len(tools.tools()) and "tb__added_1" in names(tools))


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "State:\tZ" not in status.read_text()
    except FileNotFoundError:
        return False


async def test_shutdown_stops_every_stdio_server_process() -> None:
    async with running(stdio("one"), stdio("two"), stdio("three")) as tools:
        pids = [int((await tools.call(f"{server}__pid", {}))["content"]) for server in ("one", "two", "three")]
        assert all(_alive(pid) for pid in pids)
    assert not any(_alive(pid) for pid in pids)
    assert {status.state for status in tools.statuses()} == {"stopped"}


async def test_env_values_from_the_file_reach_a_stdio_server_with_variables_expanded() -> None:
    text = json.dumps(
        {
            "mcpServers": {
                "tb": {"command": sys.executable, "args": [TOOLBOX, "stdio"], "env": {"TOOLBOX_GREETING": "hi ${WHO}"}}
            }
        }
    )
    async with running(*parse_mcp_config(text, environ={"WHO": "there"})) as tools:
        assert await tools.call("tb__greeting", {}) == {"content": "hi there"}


async def test_headers_from_the_file_reach_a_remote_server_with_secrets_expanded() -> None:
    server = HttpToolbox()
    await server.start()
    try:
        entry = {"url": server.config().url, "headers": {"Authorization": "Bearer ${WIKI_TOKEN}"}}
        text = json.dumps({"mcpServers": {"web": entry}})
        async with running(*parse_mcp_config(text, environ={"WIKI_TOKEN": "s3cret"})) as tools:
            assert await tools.call("web__authorization", {}) == {"content": "Bearer s3cret"}
    finally:
        await server.stop()


async def test_a_streamable_http_servers_tools_are_offered_and_called() -> None:
    server = HttpToolbox()
    await server.start()
    try:
        async with running(server.config("web")) as tools:
            assert await tools.call("web__add", {"a": 1, "b": 1}) == {"structured_content": {"sum": 2}}
            assert spec(tools, "web__echo").restricted is True
    finally:
        await server.stop()


async def test_a_restarted_http_server_gets_a_new_session_and_its_tools_come_back() -> None:
    server = HttpToolbox()
    await server.start()
    try:
        async with running(server.config("web"), max_backoff=0.2) as tools:
            assert await tools.call("web__echo", {"text": "one"}) == {"content": "one"}
            seen: list[str] = []
            tools.on_change(lambda: seen.append(state(tools, "web")))
            await server.stop()
            await server.start()
            # The old session is gone: the dropped stream, or the 404 the new process answers the old session id with,
            # marks the server failed (a call in between fails as a tool error), and a new session follows.
            during = await tools.call("web__echo", {"text": "lost?"})
            assert (
                during == {"content": "lost?"} or "error" in during
            )  # served or a tool error: never a hang or a raise
            await until(tools, lambda: "failed" in seen and seen[-1] == "connected")
            assert "web__echo" in names(tools)
            assert await tools.call("web__echo", {"text": "two"}) == {"content": "two"}
    finally:
        await server.stop()


async def test_a_remote_server_that_goes_away_drops_its_tools_and_returns_when_it_is_back() -> None:
    server = HttpToolbox()
    await server.start()
    try:
        async with running(server.config("web"), max_backoff=0.2) as tools:
            await server.stop()
            await until(tools, lambda: state(tools, "web") == "failed")
            assert not names(tools)
            assert (await tools.call("web__echo", {"text": "x"}))["error"] == "the tool is not available now"
            await server.start()
            await until(tools, lambda: state(tools, "web") == "connected")
            assert await tools.call("web__echo", {"text": "back"}) == {"content": "back"}
    finally:
        await server.stop()
