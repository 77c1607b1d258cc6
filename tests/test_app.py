"""The composition root and the command line, end to end: real settings, store, tools, openai client, fake server."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from pathlib import Path

import aiohttp
import pytest

import tools
from bot.app import SAMPLE_CATALOG, StartupError, make_tool_services, open_app
from bot.attachments import SkippedFile
from bot.checkup import check_database
from bot.discord_adapter.render import error_sentence
from bot.engine.errors import ModelMisconfigured
from bot.engine.permissions import Caller, Place
from bot.engine.tools import Registry, missing_services
from bot.settings import Settings, load_settings
from bot.store import Store
from tests.fake_openai import FakeOpenAI
from tests.file_server import serve_files

ROOT = Path(__file__).resolve().parent.parent
MEMBER = Caller(user_id="1", name="Ann")
ADMIN = Caller(user_id="9", name="Root", is_admin=True)
CHANNEL = Place(channel_id="c1", guild_id="g1", guild_name="Club", channel_name="general")


def settings_for(server: FakeOpenAI, tmp_path: Path, api: str = "chat"):
    return load_settings(
        {
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "sk-test-secret",
            "OPENAI_API": api,
            "OPENAI_MODEL": "test-model",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db' / 'concierge.db'}",
        },
        env_file=None,
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_a_turn_runs_through_every_real_part(tmp_path: Path, api: str) -> None:
    async with FakeOpenAI() as server:
        server.reply_calls(("calculate", {"expression": "123 * 456"}))
        server.reply_text("123 × 456 = 56088")
        async with open_app(settings_for(server, tmp_path, api)) as app:
            reply = await app.concierge.chat(CHANNEL, MEMBER, "what is 123*456?")
    assert reply.text == "123 × 456 = 56088" and not reply.failed
    assert [(entry.tool, entry.outcome) for entry in reply.trace] == [("calculate", "ok")]
    sent = json.dumps(server.requests[-1].json)
    assert "56088" in sent and json.dumps('[member 1 "Ann"]\nwhat is 123*456?')[1:-1] in sent
    assert "sk-test-secret" not in sent
    limit_field = "max_output_tokens" if api == "responses" else "max_tokens"  # a compatible server: max_tokens
    assert server.requests[-1].json[limit_field] == 4096


@pytest.mark.asyncio
async def test_the_file_settings_reach_the_facade_through_the_apps_http_session(tmp_path: Path) -> None:
    async with FakeOpenAI() as server, serve_files() as files:
        server.reply_text("The notes mention duck.")
        settings = settings_for(server, tmp_path).model_copy(
            update={"VISION": False, "MAX_ATTACHMENT_BYTES": 1_000, "MAX_ATTACHMENT_TEXT_CHARS": 100}
        )
        files.extra["long.csv"] = b"row," * 100
        shared = [
            files.shared("red-square.png"),
            files.shared("lunch-menu.pdf", size=5_000),
            files.shared("long.csv", content_type="text/csv"),
        ]
        async with open_app(settings) as app:
            reply = await app.concierge.chat(CHANNEL, MEMBER, "read these", files=shared)
    assert reply.skipped_files == (
        SkippedFile("red-square.png", "no_vision"),
        SkippedFile("lunch-menu.pdf", "too_large"),
    )
    assert files.requests == ["long.csv"]
    assert "[file 'long.csv', cut: only the first 100 of 400 characters are shown]" in json.dumps(
        server.requests[-1].json
    )


@pytest.mark.asyncio
async def test_history_and_policies_survive_a_restart_and_the_sample_catalog_loads_once(tmp_path: Path) -> None:
    async with FakeOpenAI() as server:
        server.reply_text("noted")
        server.reply_text("still here")
        settings = settings_for(server, tmp_path)
        async with open_app(settings) as app:
            await app.concierge.chat(CHANNEL, MEMBER, "remember: blue")
            await app.concierge.allow_role(CHANNEL, ADMIN, "book_restaurant", "r1", "Diners")
            restaurants = await app.store.restaurants.count()
        async with open_app(settings) as app:
            await app.concierge.chat(CHANNEL, Caller(user_id="1", name="Ann", role_ids=frozenset({"r1"})), "colour?")
            assert await app.store.restaurants.count() == restaurants > 0
    last = server.requests[-1].json
    assert "remember: blue" in json.dumps(last)
    assert "book_restaurant" in [tool["function"]["name"] for tool in last["tools"]]


MAIL_TOOL = """
from typing import Protocol

from bot.engine.tools import ToolContext, tool


class MailServices(Protocol):
    @property
    def mailer(self) -> object: ...


@tool(side_effects=True)
async def send_mail(context: ToolContext[MailServices], to: str) -> dict[str, str]:
    \"\"\"Send a note.\"\"\"
    return {"sent_to": to}
"""


@pytest.mark.asyncio
async def test_a_tool_that_needs_a_service_the_app_did_not_build_stops_the_start_before_any_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "extra_tools"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "mail.py").write_text(MAIL_TOOL)
    monkeypatch.syspath_prepend(str(tmp_path))
    import extra_tools

    async with FakeOpenAI() as server:
        with pytest.raises(StartupError, match=r"send_mail needs mailer") as stopped:
            async with open_app(settings_for(server, tmp_path), tool_package=extra_tools):
                pytest.fail("the app started")
    assert stopped.value.exit_status == 1 and server.requests == []


@pytest.mark.asyncio
async def test_the_app_builds_every_service_the_shipped_tools_declare(tmp_path: Path) -> None:
    async with FakeOpenAI() as server, open_app(settings_for(server, tmp_path)) as app:
        services = make_tool_services(app.settings, app.store, app.http)
        shipped = Registry.from_package(tools)
        assert {"get_weather", "search_web", "search_restaurants", "book_restaurant"} <= set(shipped.names())
        assert {item.name: missing_services(item, services) for item in shipped} == {item.name: [] for item in shipped}


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> asyncio.Future[tuple[int, str, str]]:
    async def go() -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            cwd=cwd,
            env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        return process.returncode or 0, out.decode(), err.decode()

    return asyncio.ensure_future(go())


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DISCORD_TOKEN": "t"}, "OPENAI_API_KEY"),
        ({"OPENAI_API_KEY": "sk-x"}, "DISCORD_TOKEN"),
        ({"OPENAI_API_KEY": "sk-x", "DISCORD_TOKEN": "t", "MAX_TOOL_ROUNDS": "lots"}, "MAX_TOOL_ROUNDS"),
    ],
)
async def test_bad_settings_stop_start_up_with_one_line_and_status_2(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    status, _, err = await run_cli(env=env, cwd=tmp_path)
    assert status == 2
    assert named in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.asyncio
async def test_the_env_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-from-file\nOPENAI_API=graphql\n")
    status, _, err = await run_cli(env={}, cwd=tmp_path)
    assert status == 2 and "OPENAI_API" in err and "OPENAI_API_KEY" not in err


@pytest.mark.asyncio
async def test_check_reports_a_working_server_and_exits_zero(tmp_path: Path) -> None:
    def obliging(request):
        from tests.test_model_check import obliging_model

        return obliging_model(request)

    async with FakeOpenAI(responder=obliging) as server:
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_MODEL": "test-model", "OPENAI_API": "chat"}
        status, out, _ = await run_cli("check", env={**env, "DISCORD_TOKEN": "t"}, cwd=tmp_path)
    assert status == 0, out
    assert out.splitlines()[-1].startswith("ready") and "test-model" in out


@pytest.mark.asyncio
async def test_check_against_a_server_without_the_responses_api_says_what_to_set(tmp_path: Path) -> None:
    async with FakeOpenAI(llama_cpp=True) as server:
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_MODEL": "test-model", "OPENAI_API": "responses"}
        status, out, _ = await run_cli("check", env=env, cwd=tmp_path)
    assert status == 1
    assert "OPENAI_API=chat" in out


CSV_HEADER = "id,name,city,district,cuisine,price_range,address,timezone,hours,seats_per_slot\n"
CSV_ROW = "x-{n},Place {n},Leeds,Centre,Thai,cheap,{n} Road,Europe/London,daily 12:00-22:00,20\n"


@pytest.mark.asyncio
async def test_import_restaurants_loads_a_csv_catalog(tmp_path: Path) -> None:
    catalog = tmp_path / "mine.csv"
    catalog.write_text(CSV_HEADER + "".join(CSV_ROW.format(n=n) for n in range(3)), encoding="utf-8")
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}  # no model access needed to import
    status, out, err = await run_cli("import-restaurants", str(catalog), env=env, cwd=tmp_path)
    assert status == 0, err
    assert "imported 3 restaurants" in out


@pytest.mark.asyncio
async def test_the_first_import_on_the_command_line_replaces_the_samples_and_says_so(tmp_path: Path) -> None:
    database = tmp_path / "c.db"
    store = await Store.open(database)
    try:
        samples = await store.restaurants.load_sample_if_empty(SAMPLE_CATALOG)  # as the bot's first start does
    finally:
        await store.close()
    catalog = tmp_path / "mine.csv"
    catalog.write_text(CSV_HEADER + "".join(CSV_ROW.format(n=n) for n in range(12)), encoding="utf-8")
    env = {"DATABASE_URL": f"sqlite:///{database}"}
    status, out, err = await run_cli("import-restaurants", str(catalog), env=env, cwd=tmp_path)
    assert status == 0, err
    assert out.strip() == f"imported 12 restaurants from {catalog}; removed the {samples} samples" and samples == 60


@pytest.mark.asyncio
async def test_a_missing_catalog_file_is_told_in_one_line_before_any_database_work(tmp_path: Path) -> None:
    database = tmp_path / "not-yet" / "c.db"
    env = {"DATABASE_URL": f"sqlite:///{database}"}
    status, out, err = await run_cli("import-restaurants", str(tmp_path / "nope.csv"), env=env, cwd=tmp_path)
    assert status == 1 and out == ""
    assert err.strip().splitlines() == [
        "concierge: nope.csv: cannot read the file: No such file or directory; nothing was imported"
    ]
    assert not database.parent.exists()


@pytest.mark.asyncio
async def test_import_restaurants_help_describes_both_formats_and_replace(tmp_path: Path) -> None:
    status, out, _ = await run_cli("import-restaurants", "--help", env={}, cwd=tmp_path)
    assert status == 0
    for said in (".json", ".csv", "mon-fri 11:00-14:00,17:00-22:00", "seats_per_slot", "sample", "--replace"):
        assert said in out


@pytest.mark.asyncio
async def test_import_restaurants_reports_the_bad_line_and_imports_nothing(tmp_path: Path) -> None:
    catalog = tmp_path / "mine.csv"
    rows = CSV_ROW.format(n=1) + CSV_ROW.format(n=2).replace("cheap", "free") + CSV_ROW.format(n=3)
    catalog.write_text(CSV_HEADER + rows, encoding="utf-8")
    database = tmp_path / "c.db"
    env = {"OPENAI_API_KEY": "sk-x", "DATABASE_URL": f"sqlite:///{database}"}
    status, _, err = await run_cli("import-restaurants", str(catalog), env=env, cwd=tmp_path)
    assert status == 1
    assert "line 3" in err and "nothing was imported" in err and "Traceback" not in err

    from bot.store import Store

    store = await Store.open(database)
    try:
        assert await store.restaurants.count() == 0
    finally:
        await store.close()


@pytest.mark.asyncio
async def test_a_server_without_the_responses_api_is_a_misconfiguration_with_the_fix_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeOpenAI(llama_cpp=True) as server, open_app(settings_for(server, tmp_path, "responses")) as app:
        reply = await app.concierge.chat(CHANNEL, MEMBER, "hello")
    assert reply.failed and isinstance(reply.error, ModelMisconfigured)
    assert len(error_sentence(reply.error).splitlines()) == 1
    assert "set OPENAI_API=chat" in caplog.text


@pytest.mark.asyncio
async def test_a_llama_cpp_like_server_gets_a_forced_required_turn_again_with_auto(tmp_path: Path) -> None:
    async with FakeOpenAI(llama_cpp=True, retry_after_ms=1) as server:
        server.reply_calls(("calculate", {"expression": "2 + 2"}))
        server.reply_text("4")
        async with open_app(settings_for(server, tmp_path, "chat")) as app:
            reply = await app.concierge.chat(CHANNEL, MEMBER, "2+2?", tool_choice="required")
    assert reply.text == "4" and not reply.failed
    assert any(note.kind == "forced_fallback" for note in reply.notes)
    choices = [request.json.get("tool_choice") for request in server.model_requests()]
    assert choices[0] == "required" and choices[-2:] == ["auto", "auto"]
    replayed = server.model_requests()[-1].json["messages"]
    assert any(message["role"] == "assistant" and message["content"] == "" for message in replayed)


@pytest.mark.asyncio
async def test_check_reports_the_databases_schema_and_refuses_one_from_a_newer_concierge(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    settings = Settings(DATABASE_URL=f"sqlite:///{path}")
    section = await check_database(settings)
    assert section.passed and "will be migrated from 0 on start" in section.lines[0].detail
    assert not path.exists()  # checking creates nothing

    store = await Store.open(path)
    await store.close()
    section = await check_database(settings)
    assert section.passed and "up to date" in section.lines[0].detail

    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 999")
    raw.close()
    section = await check_database(settings)
    assert not section.passed and "newer than this Concierge knows" in section.lines[0].detail


@pytest.mark.asyncio
async def test_the_pdf_limits_are_settings_the_file_reader_obeys() -> None:
    from bot.app import file_reader

    settings = load_settings({"MAX_PDF_PAGES": "7", "PDF_EXTRACT_SECONDS": "2.5"}, env_file=None)
    async with aiohttp.ClientSession() as session:
        limits = file_reader(settings, session).limits
    assert (limits.max_pdf_pages, limits.pdf_seconds) == (7, 2.5)
