"""MCP servers as tool sources, end to end: the operator's file, real MCP servers (tests/mcp_servers) started by the
app, the facade and the real engine over the real openai client against a local fake model server."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, StartupError, open_app
from bot.checkup import run_checkup
from bot.concierge import ChatHooks
from bot.discord_adapter.commands import tools_text
from bot.discord_adapter.confirm import request_text
from bot.discord_adapter.messages import CHINESE, ENGLISH
from bot.engine.confirm import ConfirmationOutcome, ConfirmationRequest
from bot.engine.errors import ToolChoiceRefused
from bot.engine.permissions import Caller, Place
from bot.settings import load_settings
from tests.fake_openai import FakeOpenAI, RecordedRequest
from tests.mcp.servers import TOOLBOX, HttpToolbox

pytestmark = pytest.mark.asyncio

ADMIN = Caller(user_id="9", name="Root", is_admin=True)
MEMBER = Caller(user_id="1", name="Ann")
DINER = Caller(user_id="2", name="Bob", role_ids=frozenset({"r1"}))
CHANNEL = Place(channel_id="c1", guild_id="g1", guild_name="Club", channel_name="general")
DM = Place(channel_id="dm1")
OPEN = {"restricted": False, "require_approval": "never"}


def toolbox(*flags: str, **keys: Any) -> dict[str, Any]:
    """An `mcpServers` entry that runs the test toolbox over stdio, as an operator would write it."""
    return {"command": sys.executable, "args": [TOOLBOX, "stdio", *flags], **keys}


def settings_for(server: FakeOpenAI, tmp_path: Path, servers: dict[str, Any], **extra: str) -> Any:
    extra.setdefault("OPENAI_API", "chat")
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return load_settings(
        {
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "sk-test-secret",
            "OPENAI_MODEL": "test-model",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'concierge.db'}",
            "MCP_CONFIG_FILE": str(config),
            "MCP_START_TIMEOUT_SECONDS": "20",
            **extra,
        },
        env_file=None,
    )


@asynccontextmanager
async def app_with(tmp_path: Path, servers: dict[str, Any], **extra: str) -> AsyncIterator[tuple[App, FakeOpenAI]]:
    async with FakeOpenAI() as model, open_app(settings_for(model, tmp_path, servers, **extra)) as app:
        yield app, model


def offered(request: RecordedRequest) -> dict[str, dict[str, Any]]:
    """The tools a request offered the model, by name (Chat nests each in "function", Responses does not)."""
    tools = [tool.get("function", tool) for tool in request.json.get("tools", [])]
    return {tool["name"]: tool for tool in tools}


def tool_outputs(request: RecordedRequest) -> list[dict[str, Any]]:
    """The tool outputs a request sent the model, in order, from either API's request."""
    if "messages" in request.json:
        return [json.loads(item["content"]) for item in request.json["messages"] if item["role"] == "tool"]
    return [json.loads(item["output"]) for item in request.json["input"] if item.get("type") == "function_call_output"]


async def until(app: App, condition: Callable[[], bool], seconds: float = 30.0) -> None:
    """Wait for MCP changes until `condition` holds."""
    assert app.mcp is not None
    changed = asyncio.Event()
    app.mcp.on_change(changed.set)
    async with asyncio.timeout(seconds):
        while not condition():
            await changed.wait()
            changed.clear()


class Answering:
    """A member who answers every confirmation with `verdict`, and the questions they were asked."""

    def __init__(self, verdict: str = "confirmed") -> None:
        self.verdict = verdict
        self.asked: list[ConfirmationRequest] = []

    async def confirm(self, request: ConfirmationRequest) -> ConfirmationOutcome:
        self.asked.append(request)
        return ConfirmationOutcome(self.verdict, by_id=request.asker.user_id, by_name=request.asker.name)  # type: ignore[arg-type]


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_an_mcp_tool_is_offered_validated_called_and_audited_like_a_built_in_one(
    tmp_path: Path, api: str
) -> None:
    async with app_with(tmp_path, {"tb": toolbox(**OPEN)}, OPENAI_API=api) as (app, model):
        model.reply_calls(("tb__echo", {"text": "hi", "times": 2}), ("tb__add", {"a": "two"}))
        model.reply_text("done")
        reply = await app.concierge.chat(CHANNEL, MEMBER, "echo hi twice")
        assert [(entry.tool, entry.outcome) for entry in reply.trace] == [("tb__echo", "ok"), ("tb__add", "invalid")]
        tools = offered(model.requests[0])
        assert {"tb__echo", "tb__add", "calculate"} <= set(tools)
        assert (tools["tb__echo"]["strict"], tools["tb__loose"]["strict"]) == (True, False)
        echo, add = tool_outputs(model.requests[-1])
        assert echo == {"content": "hi hi"}
        assert add["error"] == "invalid arguments"
        assert {"field": "b", "problem": "Field required"} in add["problems"]
        audit = await app.concierge.audit(CHANNEL, ADMIN, tool="tb__echo")
        assert [(entry.kind, entry.outcome) for entry in audit] == [("tool_call", "ok")]


async def test_an_error_result_reaches_the_model_in_the_error_shape_and_the_audit_says_error(tmp_path: Path) -> None:
    async with app_with(tmp_path, {"tb": toolbox(**OPEN)}) as (app, model):
        model.reply_calls(("tb__fail", {}))
        model.reply_text("it said no")
        reply = await app.concierge.chat(CHANNEL, MEMBER, "open a ticket")
        assert [(entry.tool, entry.outcome) for entry in reply.trace] == [("tb__fail", "error")]
        assert tool_outputs(model.requests[-1]) == [
            {"error": "the tool reported an error", "tool": "tb__fail", "detail": "the ticket system said no"}
        ]
        [entry] = await app.concierge.audit(CHANNEL, ADMIN, tool="tb__fail")
        assert entry.outcome == "error"


async def test_the_servers_timeout_holds_even_above_tool_timeout_seconds(tmp_path: Path) -> None:
    servers = {"tb": toolbox(**OPEN, timeout_seconds=2)}
    async with app_with(tmp_path, servers, TOOL_TIMEOUT_SECONDS="0.3") as (app, model):
        model.reply_calls(("tb__sleep", {"seconds": 0.6}))
        model.reply_calls(("tb__hang", {}))
        model.reply_text("one slow answer, one never")
        reply = await app.concierge.chat(CHANNEL, MEMBER, "take your time")
        assert [(entry.tool, entry.outcome) for entry in reply.trace] == [("tb__sleep", "ok"), ("tb__hang", "timeout")]
        slept, hung = tool_outputs(model.requests[-1])
        assert slept == {"content": "slept 0.6 s"}
        assert hung == {"error": "the tool timed out", "tool": "tb__hang", "timeout_seconds": 2.0}


async def test_restricted_mcp_tools_follow_the_gate_for_admins_roles_forged_calls_and_dms(tmp_path: Path) -> None:
    async with app_with(tmp_path, {"tb": toolbox(require_approval="never")}) as (app, model):
        concierge = app.concierge
        assert "tb__echo" in concierge.tool_names()  # /tooladmin's autocomplete
        assert "tb__echo" not in await concierge.usable_tools(CHANNEL, MEMBER)  # /ask tool:'s autocomplete
        assert "tb__echo" in await concierge.usable_tools(CHANNEL, ADMIN)
        assert "tb__echo" not in await concierge.usable_tools(DM, ADMIN)
        with pytest.raises(ToolChoiceRefused):
            await concierge.check_tool_choice(CHANNEL, MEMBER, "tb__echo")

        model.reply_calls(("tb__echo", {"text": "forged"}))
        model.reply_text("no")
        forged = await concierge.chat(CHANNEL, MEMBER, "echo")
        assert "tb__echo" not in offered(model.requests[0])
        assert [(entry.tool, entry.outcome) for entry in forged.trace] == [("tb__echo", "denied")]
        assert tool_outputs(model.requests[-1])[0]["error"] == "permission denied"

        await concierge.allow_role(CHANNEL, ADMIN, "tb__echo", "r1", "Diners")
        await concierge.check_tool_choice(CHANNEL, DINER, "tb__echo")
        assert "tb__echo" in await concierge.usable_tools(CHANNEL, DINER)
        model.reply_calls(("tb__echo", {"text": "allowed"}))
        model.reply_text("yes")
        allowed = await concierge.chat(CHANNEL, DINER, "echo", tool_choice="tb__echo")
        assert [(entry.tool, entry.outcome) for entry in allowed.trace] == [("tb__echo", "ok")]

        await concierge.set_enabled(CHANNEL, ADMIN, "tb__echo", False)
        assert "tb__echo" not in await concierge.usable_tools(CHANNEL, DINER)
        await concierge.set_enabled(CHANNEL, ADMIN, "tb__echo", True)
        await concierge.revoke_role(CHANNEL, ADMIN, "tb__echo", "r1", "Diners")
        assert "tb__echo" not in await concierge.usable_tools(CHANNEL, DINER)


async def test_a_call_asks_the_member_first_showing_the_tool_and_its_arguments_within_discords_limit(
    tmp_path: Path,
) -> None:
    async with app_with(tmp_path, {"tb": toolbox(restricted=False)}) as (app, model):
        member = Answering("confirmed")
        model.reply_calls(("tb__echo", {"text": "hi", "times": None}), ("tb__echo", {"text": "x" * 5000}))
        model.reply_text("done")
        reply = await app.concierge.chat(CHANNEL, MEMBER, "echo", hooks=ChatHooks(member))
        assert [entry.outcome for entry in reply.trace] == ["ok", "ok"]
        short, long = sorted(member.asked, key=lambda request: len(request.summary))
        assert short.summary == 'Run tb__echo with text: "hi".'  # the null for a left-out property is not sent
        assert (short.summary_kind, short.summary_params["tool"]) == ("run_with", "tb__echo")
        assert long.summary.startswith('Run tb__echo with text: "xxx') and "…" in long.summary
        for request in member.asked:
            for language in (ENGLISH, CHINESE):
                question = request_text(request, asker_id=10**19 - 1, expires_at=2_000_000_000, language=language)
                assert len(question) <= 2000 and "tb__echo" in question
        assert '运行 tb__echo，参数：text: "hi"。' in request_text(short, asker_id=1, expires_at=1, language=CHINESE)

        await app.concierge.set_confirm(CHANNEL, ADMIN, "tb__echo", "never")  # an admin's override, per tool
        model.reply_calls(("tb__echo", {"text": "quiet"}))
        model.reply_text("done")
        declining = Answering("declined")
        again = await app.concierge.chat(CHANNEL, MEMBER, "echo", hooks=ChatHooks(declining))
        assert declining.asked == [] and [entry.outcome for entry in again.trace] == ["ok"]


async def test_a_declined_call_never_reaches_the_server(tmp_path: Path) -> None:
    async with app_with(tmp_path, {"tb": toolbox(restricted=False)}) as (app, model):
        model.reply_calls(("tb__grow", {}))
        model.reply_text("not done")
        member = Answering("declined")
        reply = await app.concierge.chat(CHANNEL, MEMBER, "grow", hooks=ChatHooks(member))
        assert [entry.outcome for entry in reply.trace] == ["declined"]
        assert [request.summary for request in member.asked] == ["Run tb__grow."]
        assert "tb__added_1" not in app.concierge.tool_names()  # the server would have announced a new tool


async def test_tools_list_groups_mcp_tools_under_their_server_with_its_status_in_both_languages(
    tmp_path: Path,
) -> None:
    servers = {"tb": toolbox(), "broken": toolbox("--exit-at-start")}
    async with app_with(tmp_path, servers) as (app, _):
        concierge = app.concierge
        statuses = await concierge.tools_for(CHANNEL, ADMIN)
        text = tools_text(statuses, CHANNEL, ENGLISH, concierge.tool_sources(ADMIN))
        tb_tools = [status for status in statuses if status.source == "mcp:tb"]
        head, _, rest = text.partition("**MCP server `tb`**")
        assert "`calculate`" in head and "tb__" not in head
        assert rest.startswith(f" — connected, {len(tb_tools)} tools\n✓ `tb__add` — Add two integers")
        assert "`tb__weird_name_with_slashes_" in rest  # a tool without a description is listed too
        assert "**MCP server `broken`** — unavailable, retrying: " in rest

        as_member = tools_text(
            await concierge.tools_for(CHANNEL, MEMBER), CHANNEL, CHINESE, concierge.tool_sources(MEMBER)
        )
        assert f"**MCP 服务器 `tb`** — 已连接，{len(tb_tools)} 个工具" in as_member
        assert as_member.rstrip().endswith("**MCP 服务器 `broken`** — 不可用，正在重试")  # the error is for admins

        report = (await app.health.report()).as_json()
        assert report["checks"] == {"database": "up", "mcp:tb": "up", "mcp:broken": "down"}


async def test_a_server_that_dies_mid_call_fails_the_call_at_once_and_its_tools_leave_and_come_back(
    tmp_path: Path,
) -> None:
    async with app_with(tmp_path, {"tb": toolbox(**OPEN, timeout_seconds=60)}) as (app, model):
        concierge = app.concierge
        seen: list[bool] = []
        assert app.mcp is not None
        app.mcp.on_change(lambda: seen.append("tb__echo" in concierge.tool_names()))
        model.reply_calls(("tb__crash", {}))
        model.reply_text("it crashed")
        reply = await concierge.chat(CHANNEL, MEMBER, "crash")
        assert [(entry.tool, entry.outcome) for entry in reply.trace] == [("tb__crash", "error")]
        assert tool_outputs(model.requests[-1])[0]["error"] == "the tool failed"
        await until(app, lambda: False in seen and "tb__echo" in concierge.tool_names())
        model.reply_calls(("tb__echo", {"text": "back"}))
        model.reply_text("back")
        again = await concierge.chat(CHANNEL, MEMBER, "echo")
        assert [(entry.tool, entry.outcome) for entry in again.trace] == [("tb__echo", "ok")]


BUILT_IN_TB_ECHO = """
from bot.engine.tools import ToolContext, tool


@tool()
async def tb__echo(context: ToolContext[object], text: str) -> dict[str, str]:
    \"\"\"A built-in tool that happens to hold an MCP tool's name.\"\"\"
    return {"built_in": text}
"""


async def test_an_mcp_tool_whose_name_is_taken_is_left_out_in_one_log_line_and_the_rest_still_join(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    package = tmp_path / "taken_tools"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "echo.py").write_text(BUILT_IN_TB_ECHO)
    monkeypatch.syspath_prepend(str(tmp_path))
    import taken_tools

    caplog.set_level(logging.WARNING, logger="bot.mcp.tools")
    async with FakeOpenAI() as model:
        settings = settings_for(model, tmp_path, {"tb": toolbox(**OPEN)})
        async with open_app(settings, tool_package=taken_tools) as app:
            names = app.concierge.tool_names()
            assert "tb__add" in names and names.count("tb__echo") == 1
            model.reply_calls(("tb__echo", {"text": "whose?"}))
            model.reply_text("built in")
            await app.concierge.chat(CHANNEL, MEMBER, "echo")
            assert tool_outputs(model.requests[-1]) == [{"built_in": "whose?"}]
    [line] = [record.getMessage() for record in caplog.records if "tb__echo" in record.getMessage()]
    assert line == "MCP server tb: tool tb__echo left out: a built-in tool has that name"


async def test_a_remote_server_and_secrets_from_the_environment_and_env_file_reach_the_servers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIKI_TOKEN", "s3cret")
    (tmp_path / ".env").write_text("GREETING=hello from .env\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # the .env of the working directory, as start-up reads it
    remote = HttpToolbox()
    await remote.start()
    try:
        servers = {
            "wiki": {"url": f"http://127.0.0.1:{remote.port}/mcp", "headers": {"Authorization": "Bearer ${WIKI_TOKEN}"}}
            | OPEN,
            "tb": toolbox(env={"TOOLBOX_GREETING": "${GREETING}"}, **OPEN),
        }
        async with app_with(tmp_path, servers) as (app, model):
            model.reply_calls(("wiki__authorization", {}), ("tb__greeting", {}))
            model.reply_text("both")
            reply = await app.concierge.chat(CHANNEL, MEMBER, "who am I?")
            assert [entry.outcome for entry in reply.trace] == ["ok", "ok"]
            assert tool_outputs(model.requests[-1]) == [{"content": "Bearer s3cret"}, {"content": "hello from .env"}]
            assert "s3cret" not in json.dumps(model.requests[0].json)  # only the tool's own answer carried it
    finally:
        await remote.stop()


async def test_every_stdio_server_is_stopped_when_the_app_closes(tmp_path: Path) -> None:
    async with app_with(tmp_path, {"tb": toolbox(**OPEN)}) as (app, model):
        model.reply_calls(("tb__pid", {}))
        model.reply_text("pid")
        await app.concierge.chat(CHANNEL, MEMBER, "pid?")
        pid = int(tool_outputs(model.requests[-1])[0]["content"])
        os.kill(pid, 0)  # running now
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('{"mcpServers": {"x": {"command": "a", "url": "http://b"}}}', "give either command"),
        ('{"mcpServers": {"x": {"command": "a", "colour": "red"}}}', "unknown key 'colour'"),
        ('{"mcpServers": {"wiki__admin": {"command": "a"}}}', "may not contain '__'"),
    ],
)
async def test_a_bad_mcp_file_stops_start_up_with_one_line_and_status_2_before_anything_opens(
    tmp_path: Path, document: str, problem: str
) -> None:
    async with FakeOpenAI() as model:
        settings = settings_for(model, tmp_path, {})
        settings.MCP_CONFIG_FILE.write_text(document, encoding="utf-8")
        with pytest.raises(StartupError) as stopped:
            async with open_app(settings):
                pytest.fail("the app started")
    message = str(stopped.value)
    assert stopped.value.exit_status == 2 and "\n" not in message
    assert message.startswith(f"MCP_CONFIG_FILE {settings.MCP_CONFIG_FILE}: ") and problem in message
    assert not (tmp_path / "concierge.db").exists() and model.requests == []


async def test_check_lists_each_mcp_server_with_its_tools_or_its_error_and_fails_when_one_fails(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from tests.test_model_check import obliging_model

    async with FakeOpenAI(responder=obliging_model) as model:
        good = settings_for(model, tmp_path, {"tb": toolbox()}, DISCORD_TOKEN="t")
        assert await run_checkup(good) == 0
        out = capfd.readouterr().out
        assert f"MCP servers: {good.MCP_CONFIG_FILE}\n  ✓ tb: connected, " in out

        bad = settings_for(model, tmp_path, {"tb": toolbox(), "broken": toolbox("--exit-at-start")}, DISCORD_TOKEN="t")
        assert await run_checkup(bad) == 1
        lines = capfd.readouterr().out.splitlines()
    assert any(line.startswith("  ✓ tb: connected, ") for line in lines)
    assert "  ✗ broken: Connection closed" in lines  # the server exited before answering
    assert lines[-1].startswith("NOT ready (MCP servers")
