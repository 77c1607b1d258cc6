"""`concierge check` covers what start-up needs (settings, prompt, database, MCP servers, model server), verdict last."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.checkup import run_checkup
from bot.settings import load_settings
from tests.fake_openai import FakeOpenAI
from tests.test_model_check import obliging_model


def settings_with(server: FakeOpenAI, tmp_path: Path, **extra: str):
    return load_settings(
        {
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_MODEL": "test-model",
            "OPENAI_API": "chat",
            "DISCORD_TOKEN": "t",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
            **extra,
        },
        env_file=None,
    )


@pytest.mark.asyncio
async def test_everything_in_order_passes_with_the_verdict_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeOpenAI(responder=obliging_model) as server:
        status = await run_checkup(settings_with(server, tmp_path))
    out = capsys.readouterr().out.splitlines()
    assert status == 0, out
    titles = [line for line in out if not line.startswith("  ")]
    assert titles[:4] == ["Settings", "System prompt", "Database", "MCP servers"]
    assert titles[4].startswith("Model server:") and titles[5].startswith("ready")
    assert titles[-1] == out[-1]
    assert not (tmp_path / "c.db").exists()  # checking creates nothing


@pytest.mark.asyncio
async def test_a_prompt_file_start_up_cannot_read_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latin = tmp_path / "latin.md"
    latin.write_bytes("Réponds en français.".encode("latin-1"))
    for prompt, said in ((tmp_path / "missing.md", "No such file"), (latin, "not UTF-8")):
        async with FakeOpenAI(responder=obliging_model) as server:
            status = await run_checkup(settings_with(server, tmp_path, SYSTEM_PROMPT_FILE=str(prompt)))
        out = capsys.readouterr().out
        assert status == 1
        [line] = [line for line in out.splitlines() if "SYSTEM_PROMPT_FILE" in line]
        assert line.startswith("  ✗ SYSTEM_PROMPT_FILE:") and str(prompt) in line and said in line
        assert out.splitlines()[-1].startswith("NOT ready (System prompt)")


@pytest.mark.asyncio
async def test_an_unopenable_database_fails_the_verdict_even_when_the_model_server_is_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    async with FakeOpenAI(responder=obliging_model) as server:
        settings = settings_with(server, tmp_path, DATABASE_URL=f"sqlite:///{blocker / 'c.db'}")
        status = await run_checkup(settings)
    out = capsys.readouterr().out
    assert status == 1
    assert f"✗ DATABASE_URL: cannot open the SQLite database {blocker / 'c.db'}" in out
    assert out.splitlines()[-1].startswith("NOT ready (Database)")


@pytest.mark.asyncio
async def test_unknown_settings_are_warnings_and_a_missing_token_is_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeOpenAI(responder=obliging_model) as server:
        settings = settings_with(server, tmp_path).model_copy(update={"DISCORD_TOKEN": None})
        warning = "MAX_TOOL_ROUND: not a Concierge setting; did you mean MAX_TOOL_ROUNDS? (in .env)"
        status = await run_checkup(settings, warnings=[warning])
    out = capsys.readouterr().out
    assert f"  ! {warning}" in out
    assert "✗ DISCORD_TOKEN: missing" in out
    assert status == 1 and out.splitlines()[-1].startswith("NOT ready (Settings)")


@pytest.mark.asyncio
async def test_an_empty_prompt_file_is_a_warning_because_start_up_accepts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "prompt.md"
    empty.write_text("\n")
    async with FakeOpenAI(responder=obliging_model) as server:
        status = await run_checkup(settings_with(server, tmp_path, SYSTEM_PROMPT_FILE=str(empty)))
    out = capsys.readouterr().out
    assert f"  ! SYSTEM_PROMPT_FILE: {empty} is empty" in out
    assert status == 0 and out.splitlines()[-1].startswith("ready")


def test_the_readme_quotes_the_verdicts_check_really_prints() -> None:
    from bot.model_check import CheckLine, CheckSection, render_checkup

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    quoted = {line for line in readme.splitlines() if line.startswith(("ready", "NOT ready"))}
    ready = render_checkup([CheckSection("Settings", (CheckLine("settings", True, "valid"),))]).splitlines()[-1]
    assert quoted and all(line == ready or line.startswith("NOT ready (") for line in quoted), quoted
