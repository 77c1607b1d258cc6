"""Settings from the environment and .env, validated at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings, unknown_settings


def test_defaults_apply_when_only_the_key_is_set() -> None:
    settings = load_settings({"OPENAI_API_KEY": "sk-test"}, env_file=None)
    assert settings.OPENAI_MODEL == "gpt-5.2"
    assert settings.OPENAI_API == "responses"
    assert settings.MAX_TOOL_ROUNDS == 8 and settings.TOOL_TIMEOUT_SECONDS == 15
    assert settings.database_path == Path("data/concierge.db")


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("OPENAI_API_KEY=from-file\nOPENAI_API=CHAT\nOPENAI_MODEL=file-model\n")
    settings = load_settings({"OPENAI_MODEL": "env-model"}, env_file=env)
    assert settings.openai_key() == "from-file"
    assert settings.OPENAI_API == "chat" and settings.OPENAI_MODEL == "env-model"


@pytest.mark.parametrize(
    ("name", "default"),
    [
        ("OPENAI_MODEL", "gpt-5.2"),
        ("DATABASE_URL", "sqlite:///data/concierge.db"),
        ("MAX_TOOL_ROUNDS", 8),
        ("OPENAI_API", "responses"),
        ("LOG_LEVEL", "INFO"),
        ("OPENAI_BASE_URL", None),
    ],
)
def test_a_blank_setting_in_env_file_or_environment_means_the_default(
    tmp_path: Path, name: str, default: object
) -> None:
    env = tmp_path / ".env"
    env.write_text(f"OPENAI_API_KEY=k\n{name}=\n")
    assert getattr(load_settings({}, env_file=env), name) == default
    assert getattr(load_settings({"OPENAI_API_KEY": "k", name: "  "}, env_file=None), name) == default


def test_a_blank_in_the_environment_overrides_env_file_with_the_default(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("OPENAI_API_KEY=k\nOPENAI_MODEL=file-model\nMAX_TOOL_ROUNDS=3\n")
    settings = load_settings({"OPENAI_MODEL": "", "MAX_TOOL_ROUNDS": " "}, env_file=env)
    assert settings.OPENAI_MODEL == "gpt-5.2" and settings.MAX_TOOL_ROUNDS == 8


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"OPENAI_API_KEY": "k", "OPENAI_API": "soap"}, "OPENAI_API"),
        ({"OPENAI_API_KEY": "k", "MAX_TOOL_ROUNDS": "many"}, "MAX_TOOL_ROUNDS"),
        ({"OPENAI_API_KEY": "k", "TOOL_TIMEOUT_SECONDS": "-1"}, "TOOL_TIMEOUT_SECONDS"),
        ({"OPENAI_API_KEY": "k", "DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(environ, env_file=None)
    message = str(raised.value)
    assert named in message and "\n" not in message


def test_the_api_key_is_required_only_when_talking_to_openai() -> None:
    with pytest.raises(SettingsError, match="OPENAI_API_KEY"):
        load_settings({}, env_file=None).openai_key()


def test_a_local_server_needs_no_api_key_and_the_token_is_only_required_to_run() -> None:
    settings = load_settings({"OPENAI_BASE_URL": "http://127.0.0.1:8008/v1"}, env_file=None)
    assert settings.openai_key()
    with pytest.raises(SettingsError, match="DISCORD_TOKEN"):
        settings.discord_token()


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    settings = load_settings({"OPENAI_API_KEY": "sk-very-secret", "DISCORD_TOKEN": "tok-secret"}, env_file=None)
    assert "sk-very-secret" not in repr(settings) and "tok-secret" not in repr(settings)


PG = "postgresql://concierge@db.example:5432/concierge"


def test_two_processes_split_four_shards_over_postgresql_and_only_shard_0_syncs_commands() -> None:
    first = load_settings({"DATABASE_URL": PG, "SHARD_COUNT": "4", "SHARD_IDS": "0,1"}, env_file=None)
    second = load_settings({"DATABASE_URL": PG, "SHARD_COUNT": "4", "SHARD_IDS": " 2, 3 "}, env_file=None)
    assert (first.SHARD_COUNT, first.SHARD_IDS, first.syncs_commands) == (4, (0, 1), True)
    assert (second.SHARD_IDS, second.syncs_commands) == ((2, 3), False)
    assert first.database_path is None and first.data_dir == Path("data")


def test_without_shard_settings_one_process_runs_the_one_connection_and_syncs() -> None:
    settings = load_settings({}, env_file=None)
    assert settings.SHARD_COUNT is None and settings.SHARD_IDS is None and settings.syncs_commands


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"DATABASE_URL": PG, "SHARD_IDS": "0"}, "needs SHARD_COUNT"),
        ({"DATABASE_URL": PG, "SHARD_COUNT": "2", "SHARD_IDS": "1,2"}, "between 0 and 1"),
        ({"DATABASE_URL": PG, "SHARD_COUNT": "2", "SHARD_IDS": "one"}, "separated by commas"),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "0,1"}, "cannot share a SQLite file"),
    ],
)
def test_shard_settings_that_cannot_work_stop_start_up_with_the_reason(environ: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        load_settings(environ, env_file=None)


def test_storage_is_bounded_by_default_and_usage_is_kept_at_least_a_month_or_forever() -> None:
    settings = load_settings({"OPENAI_API_KEY": "k"}, env_file=None)
    assert (settings.HISTORY_RETENTION_DAYS, settings.AUDIT_RETENTION_DAYS, settings.USAGE_RETENTION_DAYS) == (
        90,
        365,
        400,
    )
    assert settings.MAX_STORED_TOOL_CHARS == 20_000
    assert load_settings({"OPENAI_API_KEY": "k", "USAGE_RETENTION_DAYS": "0"}, env_file=None).USAGE_RETENTION_DAYS == 0
    with pytest.raises(SettingsError, match=r"USAGE_RETENTION_DAYS: must be 0 \(keep forever\) or at least 31"):
        load_settings({"OPENAI_API_KEY": "k", "USAGE_RETENTION_DAYS": "7"}, env_file=None)


def test_every_invalid_setting_is_reported_at_once_one_line_each() -> None:
    environ = {"MAX_TOOL_ROUNDS": "many", "OPENAI_API": "soap", "OPENAI_BASE_URL": "localhost:8008/v1"}
    with pytest.raises(SettingsError) as raised:
        load_settings(environ, env_file=None, require=("DISCORD_TOKEN",))
    lines = str(raised.value).splitlines()
    assert len(lines) == len(raised.value.problems) == 4
    for name in ("MAX_TOOL_ROUNDS", "OPENAI_API", "OPENAI_BASE_URL", "DISCORD_TOKEN"):
        assert sum(line.startswith(name) for line in lines) == 1, lines


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("OPENAI_BASE_URL", "localhost:8008/v1", "needs http:// or https:// in front"),
        ("OPENAI_BASE_URL", "127.0.0.1:8008", "needs http:// or https:// in front"),
        ("OPENAI_BASE_URL", "ftp://models.example/v1", "not ftp://"),
        ("OPENAI_BASE_URL", "http://", "names no host"),
        ("SEARXNG_URL", "http://search:eighty/", "port is not a number"),
        ("OPEN_METEO_URL", "api.open-meteo.com", "needs http:// or https:// in front"),
        ("OPEN_METEO_GEOCODING_URL", "https://geo coding.example", "contains a space"),
    ],
)
def test_a_url_setting_that_is_not_an_http_url_is_refused_naming_the_setting(
    name: str, value: str, problem: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({"OPENAI_API_KEY": "k", name: value}, env_file=None)
    assert str(raised.value).startswith(f"{name}: ") and problem in str(raised.value)


def test_http_and_https_urls_with_ports_and_paths_are_accepted() -> None:
    settings = load_settings(
        {"OPENAI_BASE_URL": "http://127.0.0.1:8008/v1", "SEARXNG_URL": "https://search.example"}, env_file=None
    )
    assert settings.OPENAI_BASE_URL == "http://127.0.0.1:8008/v1"


def test_a_misspelt_setting_in_env_file_is_warned_with_the_closest_name(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("OPENAI_API_KEY=k\nMAX_TOOL_ROUND=3\nMY_OWN_NOTE=x\n")
    warnings = unknown_settings({}, env_file=env)
    assert warnings == [
        f"MAX_TOOL_ROUND: not a Concierge setting; did you mean MAX_TOOL_ROUNDS? (in {env})",
        f"MY_OWN_NOTE: not a Concierge setting (in {env})",
    ]


def test_only_concierge_like_environment_variables_draw_a_warning() -> None:
    environ = {
        "DISCORD_TOKN": "t",  # a misspelling of ours
        "HISTORY_MAX_TURN": "3",
        "PATH": "/bin",  # the environment's own
        "HOME": "/root",
        "LOG_DIR": "/var/log",  # a known prefix, but nothing like a setting
        "OPENAI_ORG_ID": "org",  # the openai SDK's own
        "MAX_TOOL_ROUNDS": "3",  # correct
    }
    assert unknown_settings(environ, env_file=None) == [
        "DISCORD_TOKN: not a Concierge setting; did you mean DISCORD_TOKEN? (in the environment)",
        "HISTORY_MAX_TURN: not a Concierge setting; did you mean HISTORY_MAX_TURNS? (in the environment)",
    ]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_an_env_file_with_a_byte_order_mark_is_read(tmp_path: Path, encoding: str) -> None:
    env = tmp_path / ".env"
    bom = {"utf-16-le": "\ufeff", "utf-16-be": "\ufeff"}.get(encoding, "")
    env.write_bytes((bom + "OPENAI_API_KEY=k\nOPENAI_MODEL=modèle\n").encode(encoding))
    settings = load_settings({}, env_file=env)
    assert settings.OPENAI_MODEL == "modèle" and settings.openai_key() == "k"


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ("OPENAI_API_KEY=k\n".encode("utf-16-le"), "looks like UTF-16 without a BOM"),
        ("OPENAI_MODEL=modèle\n".encode("latin-1"), "its encoding is not UTF-8 (byte 16 is not UTF-8)"),
    ],
    ids=["utf-16 without BOM", "latin-1"],
)
def test_an_env_file_that_is_not_utf8_is_one_line_saying_how_to_fix_it(tmp_path: Path, data: bytes, said: str) -> None:
    env = tmp_path / ".env"
    env.write_bytes(data)
    with pytest.raises(SettingsError) as raised:
        load_settings({}, env_file=env)
    message = str(raised.value)
    assert said in message and "save" in message and "as UTF-8" in message and "\n" not in message


def test_a_secret_the_mcp_file_names_is_expected_but_a_misspelt_setting_beside_it_still_warns(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("OPENAI_API_KEY=k\nWIKI_TOKEN=secret\nMAX_TOOL_ROUND=3\n")
    assert unknown_settings({}, env_file=env, expected={"WIKI_TOKEN"}) == [
        f"MAX_TOOL_ROUND: not a Concierge setting; did you mean MAX_TOOL_ROUNDS? (in {env})"
    ]


def unreadable_env_file(tmp_path: Path, kind: str) -> Path:
    """A `.env` that exists but cannot be read, even by root (the suite runs as root, where chmod 000 reads fine)."""
    env = tmp_path / ".env"
    if kind == "a folder":
        env.mkdir()
    else:
        assert kind == "a symlink loop"
        env.symlink_to(tmp_path / ".env")
    return env


@pytest.mark.parametrize(("kind", "reason"), [("a folder", "Is a directory"), ("a symlink loop", "symbolic links")])
def test_an_env_file_that_cannot_be_read_is_one_line_naming_it(tmp_path: Path, kind: str, reason: str) -> None:
    env = unreadable_env_file(tmp_path, kind)
    with pytest.raises(SettingsError) as raised:
        load_settings({"OPENAI_API_KEY": "k"}, env_file=env)
    [problem] = raised.value.problems
    assert problem.startswith(f"{env}: cannot read it: ") and reason in problem


def test_no_env_file_at_all_is_no_values(tmp_path: Path) -> None:
    assert load_settings({"OPENAI_API_KEY": "k"}, env_file=tmp_path / ".env").OPENAI_MODEL == "gpt-5.2"


def test_a_mentioned_secret_is_named_only_beside_another_problem() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({}, env_file=None, require=("OPENAI_API_KEY",), mention=("DISCORD_TOKEN",))
    assert [problem.split(" ")[0] for problem in raised.value.problems] == ["OPENAI_API_KEY", "DISCORD_TOKEN"]
    settings = load_settings(
        {"OPENAI_API_KEY": "k"}, env_file=None, require=("OPENAI_API_KEY",), mention=("DISCORD_TOKEN",)
    )
    assert settings.DISCORD_TOKEN is None


@pytest.mark.parametrize(
    "name", ["OPENAI_API_VERSION", "OPENAI_API_TYPE", "OPENAI_API_BASE", "OPENAI_ORGANIZATION", "OPENAI_PROJECT_ID"]
)
def test_other_tools_openai_variables_in_the_environment_draw_no_warning(name: str) -> None:
    assert unknown_settings({name: "x", "OPENAI_API_KY": "k"}, env_file=None) == [
        "OPENAI_API_KY: not a Concierge setting; did you mean OPENAI_API_KEY? (in the environment)"
    ]


def test_other_tools_openai_variables_in_env_file_name_the_concierge_setting_meant(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("OPENAI_API_BASE=http://127.0.0.1:8008/v1\nOPENAI_API_VERSION=2024-10-21\n")
    assert unknown_settings({}, env_file=env) == [
        f"OPENAI_API_BASE: not a Concierge setting; did you mean OPENAI_BASE_URL? (in {env})",
        f"OPENAI_API_VERSION: not a Concierge setting (in {env})",
    ]


def test_a_url_setting_with_spaces_around_it_is_stored_stripped(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text('OPENAI_BASE_URL=" http://127.0.0.1:8008/v1 "\nDATABASE_URL=" sqlite:///data/x.db"\n')
    settings = load_settings({"SEARXNG_URL": "https://search.example "}, env_file=env)
    assert settings.OPENAI_BASE_URL == "http://127.0.0.1:8008/v1"
    assert settings.SEARXNG_URL == "https://search.example"
    assert settings.DATABASE_URL == "sqlite:///data/x.db" and settings.database_path == Path("data/x.db")
