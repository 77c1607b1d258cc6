"""A newcomer's mistakes at the command line: each answered in one clear line, with the exit status to match."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.test_app import CSV_HEADER, CSV_ROW, run_cli

KEYS = {"OPENAI_API_KEY": "sk-x", "DISCORD_TOKEN": "t"}


def unopenable(tmp_path: Path, kind: str) -> Path:
    """A DATABASE_URL path where no SQLite database can be opened."""
    if kind == "a folder":
        return tmp_path
    if kind == "parent is a file":
        (tmp_path / "notes.txt").write_text("x")
        return tmp_path / "notes.txt" / "deeper" / "c.db"
    if kind == "not a database":
        (tmp_path / "c.db").write_text("this is not SQLite")
        return tmp_path / "c.db"
    if kind == "read-only folder":
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        folder = tmp_path / "ro"
        folder.mkdir(mode=0o555)
        return folder / "c.db"
    assert kind == "/proc"
    if not Path("/proc/self").exists():
        pytest.skip("no /proc here")
    return Path("/proc/concierge-test/c.db")


KINDS = ["a folder", "parent is a file", "not a database", "read-only folder", "/proc"]


def one_clean_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "Event loop is closed" not in err
    return lines[0]


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", KINDS)
async def test_an_unopenable_sqlite_database_stops_start_up_in_one_line_naming_database_url(
    tmp_path: Path, kind: str
) -> None:
    env = {**KEYS, "DATABASE_URL": f"sqlite:///{unopenable(tmp_path, kind)}"}
    status, _, err = await run_cli(env=env, cwd=tmp_path)
    assert status == 2
    assert one_clean_line(err).startswith("concierge: DATABASE_URL: cannot open the SQLite database ")


@pytest.mark.asyncio
async def test_import_restaurants_into_an_unopenable_database_is_one_line_and_status_2(tmp_path: Path) -> None:
    catalog = tmp_path / "mine.csv"
    catalog.write_text(CSV_HEADER + CSV_ROW.format(n=1), encoding="utf-8")
    env = {"DATABASE_URL": f"sqlite:///{unopenable(tmp_path, 'parent is a file')}"}
    status, _, err = await run_cli("import-restaurants", str(catalog), env=env, cwd=tmp_path)
    assert status == 2
    assert "DATABASE_URL" in one_clean_line(err) and "notes.txt is a file" in err


@pytest.mark.asyncio
async def test_check_marks_an_unopenable_database_and_exits_non_zero(tmp_path: Path) -> None:
    env = {**KEYS, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "DATABASE_URL": f"sqlite:///{tmp_path}"}
    status, out, _ = await run_cli("check", env=env, cwd=tmp_path)
    assert status == 1
    assert f"✗ DATABASE_URL: cannot open the SQLite database {tmp_path}: {tmp_path} is a folder" in out
    assert out.splitlines()[-1].startswith("NOT ready")


@pytest.mark.asyncio
async def test_every_bad_setting_is_one_line_at_once_with_status_2(tmp_path: Path) -> None:
    env = {"MAX_TOOL_ROUNDS": "lots", "OPENAI_API": "soap", "OPENAI_BASE_URL": "localhost:8008/v1"}
    status, _, err = await run_cli(env=env, cwd=tmp_path)
    assert status == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("concierge: configuration error: ") for line in lines), err
    for name in ("OPENAI_BASE_URL", "OPENAI_API:", "MAX_TOOL_ROUNDS", "DISCORD_TOKEN"):
        assert sum(name in line for line in lines) == 1, (name, err)


@pytest.mark.asyncio
async def test_a_misspelt_setting_in_env_file_is_warned_at_start_up_and_in_check(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MAX_TOOL_ROUND=3\n", encoding="utf-8")
    env = {**KEYS, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "DATABASE_URL": f"sqlite:///{tmp_path}"}
    warning = "MAX_TOOL_ROUND: not a Concierge setting; did you mean MAX_TOOL_ROUNDS?"
    status, _, err = await run_cli(env=env, cwd=tmp_path)
    assert status == 2 and f"concierge: warning: {warning}" in err.splitlines()[0]
    _, out, _ = await run_cli("check", env=env, cwd=tmp_path)
    assert f"! {warning}" in out


@pytest.mark.asyncio
async def test_a_utf16_env_file_is_read_with_its_bom_and_refused_in_one_line_without(tmp_path: Path) -> None:
    text = "OPENAI_API_KEY=sk-x\nDISCORD_TOKEN=t\nOPENAI_API=graphql\n"
    (tmp_path / ".env").write_bytes(text.encode("utf-16"))  # with a BOM, as PowerShell writes it
    status, _, err = await run_cli(env={}, cwd=tmp_path)
    assert status == 2 and "OPENAI_API: Input should be 'responses' or 'chat'" in one_clean_line(err)

    (tmp_path / ".env").write_bytes(text.encode("utf-16-le"))
    status, _, err = await run_cli(env={}, cwd=tmp_path)
    assert status == 2 and "encoding is not UTF-8" in one_clean_line(err) and "save" in err


@pytest.mark.asyncio
async def test_version_prints_the_installed_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    status, out, _ = await run_cli("--version", env={}, cwd=tmp_path)
    assert status == 0 and out.strip() == f"concierge {version('concierge-bot')}"


@pytest.mark.asyncio
async def test_a_secret_the_mcp_file_refers_to_draws_no_warning_but_a_misspelt_setting_beside_it_does(
    tmp_path: Path,
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mcp.json").write_text(
        '{"mcpServers": {"wiki": {"url": "https://wiki.example/mcp", "disabled": true,'
        ' "headers": {"Authorization": "Bearer ${WIKI_TOKEN}"}}}}',
        encoding="utf-8",
    )
    (tmp_path / ".env").write_text("WIKI_TOKEN=secret\nMAX_TOOL_ROUND=3\n", encoding="utf-8")
    env = {**KEYS, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "DATABASE_URL": f"sqlite:///{tmp_path}"}
    warning = "MAX_TOOL_ROUND: not a Concierge setting; did you mean MAX_TOOL_ROUNDS?"
    status, _, err = await run_cli(env=env, cwd=tmp_path)
    assert status == 2 and f"concierge: warning: {warning}" in err and "WIKI_TOKEN" not in err, err
    _, out, _ = await run_cli("check", env=env, cwd=tmp_path)
    assert f"! {warning}" in out and "WIKI_TOKEN" not in out, out


@pytest.mark.asyncio
@pytest.mark.parametrize("command", [[], ["check"]])
async def test_an_env_file_that_is_a_folder_is_one_line_and_status_2(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / ".env").mkdir()
    status, _, err = await run_cli(*command, env=KEYS, cwd=tmp_path)
    assert status == 2
    assert one_clean_line(err) == "concierge: configuration error: .env: cannot read it: Is a directory"


@pytest.mark.asyncio
async def test_check_without_any_settings_names_every_missing_one_at_once(tmp_path: Path) -> None:
    status, out, err = await run_cli("check", env={}, cwd=tmp_path)
    assert status == 2 and out == "" and "Traceback" not in err
    lines = err.strip().splitlines()
    assert [line.split(": ")[2].split(" ")[0] for line in lines] == ["OPENAI_API_KEY", "DISCORD_TOKEN"], err
    assert all(line.startswith("concierge: configuration error: ") for line in lines), err


@pytest.mark.asyncio
async def test_a_misspelt_secret_is_warned_beside_the_error_it_causes(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OPENAI_API_KY=sk-x\nDISCORD_TOKEN=t\n", encoding="utf-8")
    status, _, err = await run_cli("check", env={}, cwd=tmp_path)
    assert status == 2
    assert err.strip().splitlines() == [
        "concierge: warning: OPENAI_API_KY: not a Concierge setting; did you mean OPENAI_API_KEY? (in .env)",
        "concierge: configuration error: OPENAI_API_KEY is missing: set it in .env "
        "(or set OPENAI_BASE_URL to a server that needs none)",
    ]


def test_refused_settings_still_expect_the_secrets_of_the_mcp_file_they_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.__main__ import setting_warnings

    (tmp_path / "tools.json").write_text('{"mcpServers": {"x": {"command": "x", "env": {"K": "${X_KEY}"}}}}')
    (tmp_path / ".env").write_text("MCP_CONFIG_FILE=tools.json\nX_KEY=secret\nMAX_TOOL_ROUND=3\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    warnings = setting_warnings(None)
    assert any(warning.startswith("MAX_TOOL_ROUND: ") for warning in warnings), warnings
    assert not any("X_KEY" in warning for warning in warnings), warnings
