"""Settings: one pydantic model read from the environment and `.env`; nothing else reads os.environ."""

from __future__ import annotations

import difflib
import io
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator


class SettingsError(Exception):
    """Missing or invalid settings: one line per problem, each naming the variable."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Settings(BaseModel):
    """Everything Concierge can be configured with (see .env.example for meanings)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    DISCORD_TOKEN: SecretStr | None = None
    OPENAI_API_KEY: SecretStr | None = None
    OPENAI_BASE_URL: str | None = None
    OPENAI_MODEL: str = "gpt-5.2"
    OPENAI_API: Literal["responses", "chat"] = "responses"
    OPENAI_TIMEOUT_SECONDS: float = Field(default=60.0, gt=0)
    MAX_OUTPUT_TOKENS: int = Field(default=4096, ge=64)
    STREAM_ANSWERS: bool = True
    # Issue 23: within this many seconds a turn shows nothing but its finished answer (no typing, progress, stream).
    PROGRESS_GRACE_SECONDS: float = Field(default=0.5, ge=0, le=10)
    # Optional request features (issue 22): auto = sent until the server rejects one, on = always, off = never.
    OPENAI_REASONING_REPLAY: Literal["auto", "on", "off"] = "auto"
    OPENAI_STREAM_USAGE: Literal["auto", "on", "off"] = "auto"
    OPENAI_PROMPT_CACHE_KEY: Literal["auto", "on", "off"] = "auto"
    DATABASE_URL: str = "sqlite:///data/concierge.db"
    MAX_TOOL_ROUNDS: int = Field(default=8, ge=1, le=50)
    TOOL_TIMEOUT_SECONDS: float = Field(default=15.0, gt=0)
    MAX_CALLS_PER_ROUND: int = Field(default=8, ge=1, le=128)
    CONFIRM_TIMEOUT_SECONDS: float = Field(default=120.0, ge=5, le=3600)
    MEMBER_TURNS_PER_MINUTE: int = Field(default=6, ge=0)
    DAILY_TOKENS_PER_MEMBER: int = Field(default=0, ge=0)
    DAILY_TOKENS_PER_SERVER: int = Field(default=0, ge=0)
    HISTORY_MAX_TURNS: int = Field(default=20, ge=1)
    HISTORY_MAX_TOKENS: int = Field(default=6000, ge=100)
    BOOKING_HORIZON_DAYS: int = Field(default=90, ge=1, le=3650)
    MAX_ACTIVE_BOOKINGS_PER_MEMBER: int = Field(default=5, ge=1, le=1000)
    SYSTEM_PROMPT_FILE: Path | None = None
    OPEN_METEO_URL: str = "https://api.open-meteo.com"
    OPEN_METEO_GEOCODING_URL: str = "https://geocoding-api.open-meteo.com"
    SEARXNG_URL: str | None = None
    SHARD_COUNT: int | None = Field(default=None, ge=1)
    SHARD_IDS: tuple[int, ...] | None = None
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Bounded storage (issue 20): days kept, 0 = forever; the cap on a stored tool call's arguments and output.
    HISTORY_RETENTION_DAYS: int = Field(default=90, ge=0)
    AUDIT_RETENTION_DAYS: int = Field(default=365, ge=0)
    USAGE_RETENTION_DAYS: int = Field(default=400, ge=0)
    MAX_STORED_TOOL_CHARS: int = Field(default=20_000, ge=1_000)
    # Operating the bot (issue 25): /healthz and /metrics, and the log format. Traces use the standard OTEL_* variables.
    METRICS_PORT: int = Field(default=0, ge=0, le=65535)
    METRICS_HOST: str = "127.0.0.1"
    LOG_FORMAT: Literal["text", "json"] = "text"
    OTEL: dict[str, str] = Field(default_factory=dict)  # every OTEL_* variable, filled in by load_settings

    # MCP servers as tool sources (bot/mcp): the operator's file, and how long start-up waits for them.
    MCP_CONFIG_FILE: Path = Path("data/mcp.json")
    MCP_START_TIMEOUT_SECONDS: float = Field(default=20.0, gt=0, le=600)
    MCP_MAX_RESULT_CHARS: int = Field(default=12_000, ge=500, le=15_000)

    # Members' files (issue 24)
    MAX_ATTACHMENT_BYTES: int = Field(default=10_000_000, ge=1)
    MAX_ATTACHMENT_TEXT_CHARS: int = Field(default=100_000, ge=100)
    MAX_IMAGES_PER_MESSAGE: int = Field(default=5, ge=0, le=50)
    VISION: bool = True
    ATTACHMENT_DOWNLOAD_TIMEOUT_SECONDS: float = Field(default=30.0, gt=0, le=600)
    MAX_PDF_PAGES: int = Field(default=500, ge=1, le=100_000)
    PDF_EXTRACT_SECONDS: float = Field(default=10.0, gt=0, le=600)

    @field_validator("OPENAI_API", mode="before")
    @classmethod
    def _api_lowercase(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("OPENAI_REASONING_REPLAY", "OPENAI_STREAM_USAGE", "OPENAI_PROMPT_CACHE_KEY", mode="before")
    @classmethod
    def _feature_mode_lowercase(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _level_uppercase(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("LOG_FORMAT", mode="before")
    @classmethod
    def _format_lowercase(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must look like sqlite:///path/to/file.db or postgresql://user@host:5432/dbname")
        return value

    @field_validator("OPENAI_BASE_URL", "OPEN_METEO_URL", "OPEN_METEO_GEOCODING_URL", "SEARXNG_URL")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            problem = url_problem(value)
            if problem:
                raise ValueError(problem)
            return value.strip()  # a space copied around the URL is no part of it
        return value

    @field_validator("USAGE_RETENTION_DAYS")
    @classmethod
    def _usage_kept_a_month(cls, value: int) -> int:
        if 0 < value < 31:
            raise ValueError("must be 0 (keep forever) or at least 31: quotas and /usage read this month's usage")
        return value

    @field_validator("SHARD_IDS", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return tuple(int(part) for part in value.split(",") if part.strip())
            except ValueError:
                raise ValueError("must be shard numbers separated by commas, e.g. 0,1") from None
        return value

    @model_validator(mode="after")
    def _shards_fit(self) -> Settings:
        if self.SHARD_IDS is None:
            return self
        if self.SHARD_COUNT is None:
            raise ValueError("SHARD_IDS needs SHARD_COUNT, the number of shards over all processes")
        if not self.SHARD_IDS or len(set(self.SHARD_IDS)) != len(self.SHARD_IDS):
            raise ValueError("SHARD_IDS must name each shard once, e.g. 0,1")
        if any(not 0 <= shard < self.SHARD_COUNT for shard in self.SHARD_IDS):
            raise ValueError(
                f"SHARD_IDS must be between 0 and {self.SHARD_COUNT - 1} (SHARD_COUNT is {self.SHARD_COUNT})"
            )
        if len(self.SHARD_IDS) < self.SHARD_COUNT and self.DATABASE_URL.startswith("sqlite:"):
            raise ValueError(
                "SHARD_IDS leaves shards to other processes, and processes cannot share a SQLite file: "
                "set DATABASE_URL to a PostgreSQL database"
            )
        return self

    @property
    def mcp_config_explicit(self) -> bool:
        """True when MCP_CONFIG_FILE was set: then a missing file is an error, not "no MCP servers"."""
        return "MCP_CONFIG_FILE" in self.model_fields_set

    @property
    def database_path(self) -> Path | None:
        """The SQLite file named by DATABASE_URL; None for PostgreSQL."""
        if not self.DATABASE_URL.startswith("sqlite:///"):
            return None
        return Path(self.DATABASE_URL.removeprefix("sqlite:///"))

    @property
    def data_dir(self) -> Path:
        """Where the bot keeps its own files: the SQLite file's folder, or data/ with PostgreSQL."""
        path = self.database_path
        return Path("data") if path is None else path.parent

    @property
    def syncs_commands(self) -> bool:
        """True if this process registers the slash commands: the one that runs shard 0 (or the only process)."""
        return self.SHARD_IDS is None or 0 in self.SHARD_IDS

    def discord_token(self) -> str:
        """The bot token, or a SettingsError naming DISCORD_TOKEN."""
        if self.DISCORD_TOKEN is None:
            raise SettingsError("DISCORD_TOKEN is missing: set it in .env or the environment (see .env.example)")
        return self.DISCORD_TOKEN.get_secret_value()

    def openai_key(self) -> str:
        """The API key, or a SettingsError naming OPENAI_API_KEY; a local server that needs none gets a placeholder."""
        if self.OPENAI_API_KEY is not None:
            return self.OPENAI_API_KEY.get_secret_value()
        if self.OPENAI_BASE_URL is None:
            raise SettingsError(
                "OPENAI_API_KEY is missing: set it in .env (or set OPENAI_BASE_URL to a server that needs none)"
            )
        return "no-key-needed"


def url_problem(value: str) -> str | None:
    """What keeps `value` from being an http(s) URL the clients can use, or None."""
    text = value.strip()
    parts = urlsplit(text)
    if "://" not in text:
        return "is not a URL: it needs http:// or https:// in front, e.g. http://localhost:8008/v1"
    if parts.scheme.lower() not in ("http", "https"):
        return f"must start with http:// or https://, not {parts.scheme}://"
    if not parts.hostname:
        return "is not a URL: it names no host after the scheme, e.g. https://example.org"
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        return "is not a URL: its port is not a number from 0 to 65535"
    if any(char.isspace() for char in text):
        return "is not a URL: it contains a space"
    return None


# Environment variables starting with one of these look like Concierge's (a misspelling is worth a warning).
SETTING_PREFIXES = frozenset(name.split("_")[0] + "_" for name in Settings.model_fields)

# Other tools' variables that look like Concierge's (the openai SDK's, LangChain's and Azure set-ups'): never a
# misspelling in the environment; in `.env`, which only Concierge reads, the Concierge setting meant, if any.
OTHER_TOOLS_SETTINGS: Mapping[str, str | None] = {
    "OPENAI_API_BASE": "OPENAI_BASE_URL",
    "OPENAI_API_TYPE": None,
    "OPENAI_API_VERSION": None,
    "OPENAI_ORGANIZATION": None,
    "OPENAI_ORG_ID": None,
    "OPENAI_PROJECT_ID": None,
}


def read_env_file(env_file: Path) -> dict[str, str | None]:
    """The names and values in a `.env` file: UTF-8 (a BOM allowed) or UTF-16 with its BOM, else a SettingsError
    (also when it cannot be read: no permission, a folder). No file at all is no values."""
    try:
        data = env_file.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise SettingsError(f"{env_file}: cannot read it: {error.strerror or error}") from None
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    fix = f"save {env_file} as UTF-8 (Notepad: Save As > Encoding: UTF-8; PowerShell: Set-Content -Encoding utf8)"
    try:
        text = data.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError as error:
        found = "it starts like UTF-16 but is not" if utf16 else f"byte {error.start} is not UTF-8"
        raise SettingsError(f"{env_file}: its encoding is not UTF-8 ({found}): {fix}") from None
    if "\x00" in text:  # UTF-16 without its byte-order mark decodes as UTF-8 with a NUL after every letter
        raise SettingsError(f"{env_file}: its encoding is not UTF-8 (it looks like UTF-16 without a BOM): {fix}")
    return dotenv_values(stream=io.StringIO(text))


def _sources(
    environ: Mapping[str, str] | None, env_file: Path | None
) -> tuple[dict[str, str | None], Mapping[str, str]]:
    """(the `.env` file's values, the environment)."""
    from_file = read_env_file(env_file) if env_file is not None else {}
    return from_file, os.environ if environ is None else environ


# The secrets start-up or a command may require.
Secret = Literal["OPENAI_API_KEY", "DISCORD_TOKEN"]


def load_settings(
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = Path(".env"),
    *,
    require: Collection[Secret] = (),
    mention: Collection[Secret] = (),
) -> Settings:
    """Read `.env` (if present) under the real environment and validate; raise SettingsError naming every problem.

    The environment wins over `.env`, and a blank value means the default wherever it is set: `OPENAI_MODEL=` in the
    environment gives the default model even when `.env` names another. `require` names secrets that must be set;
    `mention` those reported missing only beside another problem (`check` runs without DISCORD_TOKEN and marks it ✗,
    so when it cannot run, its one list of problems still names it).
    """
    from_file, from_environment = _sources(environ, env_file)
    values = {**from_file, **from_environment}
    known = {
        name: value
        for name, value in values.items()
        if name in Settings.model_fields and name != "OTEL" and value is not None and value.strip()
    }
    known_otel = {name: value for name, value in values.items() if name.startswith("OTEL_") and value and value.strip()}
    problems: list[str] = []
    settings: Settings | None = None
    try:
        settings = Settings.model_validate({**known, "OTEL": known_otel})
    except ValidationError as error:
        for entry in error.errors():
            where = ".".join(str(part) for part in entry["loc"])
            message = entry["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
    problems += [missing for name in require if (missing := _missing(name, known))]
    if problems or settings is None:
        problems += [missing for name in mention if name not in require and (missing := _missing(name, known))]
        raise SettingsError(*problems)
    return settings


def _missing(name: Secret, known: Mapping[str, str]) -> str | None:
    """The problem when the secret `name` is not among the settings given, else None."""
    if name == "DISCORD_TOKEN" and "DISCORD_TOKEN" not in known:
        return "DISCORD_TOKEN is missing: set it in .env or the environment (see .env.example)"
    if name == "OPENAI_API_KEY" and not {"OPENAI_API_KEY", "OPENAI_BASE_URL"} & known.keys():
        return "OPENAI_API_KEY is missing: set it in .env (or set OPENAI_BASE_URL to a server that needs none)"
    return None


def unknown_settings(
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = Path(".env"),
    *,
    expected: Collection[str] = (),
) -> list[str]:
    """A warning for each name in `.env` that is not a setting, and each Concierge-like environment variable that is
    not one either but is close to one (so the environment's unrelated variables never draw a warning).

    `expected` names variables kept there for something else Concierge reads: the `${NAME}`s of the MCP server file.
    """
    from_file, from_environment = _sources(environ, env_file)
    warnings: list[str] = []
    for name in sorted(set(from_file) | set(from_environment)):
        if name in Settings.model_fields or name in expected or name.startswith("OTEL_"):  # OTEL_*: OpenTelemetry's own
            continue
        if name.upper() in OTHER_TOOLS_SETTINGS:
            meant = OTHER_TOOLS_SETTINGS[name.upper()]
            closest = [meant] if meant else []
        else:
            closest = difflib.get_close_matches(name.upper(), Settings.model_fields, n=1, cutoff=0.75)
        if name in from_file:
            where = f" (in {env_file})"
        elif name.upper() not in OTHER_TOOLS_SETTINGS and name.upper().startswith(tuple(SETTING_PREFIXES)) and closest:
            where = " (in the environment)"
        else:
            continue
        hint = f"; did you mean {closest[0]}?" if closest else ""
        warnings.append(f"{name}: not a Concierge setting{hint}{where}")
    return warnings


def environment_for_expansion(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> dict[str, str]:
    """The variables `${VAR}` in the MCP server file may name: `.env` under the real environment."""
    values: dict[str, str] = {}
    if env_file is not None:
        values.update({name: value for name, value in read_env_file(env_file).items() if value is not None})
    values.update(os.environ if environ is None else environ)
    return values
