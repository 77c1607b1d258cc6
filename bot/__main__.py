"""Command line (`concierge` or `python -m bot`): run the bot, `check`, `import-restaurants FILE`, `copy-data`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import (
    Secret,
    Settings,
    SettingsError,
    environment_for_expansion,
    load_settings,
    unknown_settings,
)

EXIT_BAD_SETTINGS = 2
IMPORT_HELP = """\
Load a restaurant catalog: every row is checked first, then all are written or none.

Formats (chosen by the file's extension):
  .json  {"restaurants": [{...}, ...]} or just the list, each restaurant with id, name, city, district,
         cuisine, price_range, address, timezone, hours and seats_per_slot; hours as
         {"mon": [["11:00", "14:00"], ["17:00", "22:00"]], ...} (weekdays left out are closed)
  .csv   UTF-8, a header row naming those ten columns in any order; hours in the compact form
         "mon-fri 11:00-14:00,17:00-22:00; sat-sun 10:00-23:00" (days not named are closed)
  price_range is cheap, moderate or expensive; timezone an IANA name such as Asia/Shanghai;
  seats_per_slot the guests one 30-minute slot can seat. bot/resources/restaurants.sample.json is an example.

Restaurants are written by id: an existing id is updated and keeps its bookings. The invented sample restaurants
the bot loads into an empty catalog are removed (with any bookings made at them) by the first import.
"""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line: no command runs the bot."""
    return build_parser().parse_args(argv)


def build_parser() -> argparse.ArgumentParser:
    """`concierge` and its commands."""
    parser = argparse.ArgumentParser(prog="concierge", description="Concierge: a tool-calling assistant for Discord.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the Discord bot (the default)")
    commands.add_parser("check", help="test the configured model server and database, without Discord")
    importer = commands.add_parser(
        "import-restaurants",
        help="load a restaurant catalog (JSON or CSV) into the database",
        description=IMPORT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    importer.add_argument("file", type=Path, help="the catalog: a .json or .csv file (UTF-8)")
    importer.add_argument(
        "--replace",
        action="store_true",
        help="also remove every restaurant the file does not hold (refused if one has bookings)",
    )
    copier = commands.add_parser("copy-data", help="copy everything from one database into an empty one (ids kept)")
    copier.add_argument("source_url", help="e.g. sqlite:///data/concierge.db")
    copier.add_argument("target_url", help="e.g. postgresql://concierge@db.example:5432/concierge")
    return parser


def _version() -> str:
    """The installed Concierge's version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("concierge-bot")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def configure_logging(settings: Settings) -> None:
    """Log to stderr at LOG_LEVEL in LOG_FORMAT (text or JSON lines); the HTTP client libraries stay at WARNING so no
    request detail leaks."""
    from bot.telemetry.logs import install_log_handler

    install_log_handler(level=settings.LOG_LEVEL, log_format=settings.LOG_FORMAT)
    for noisy in ("httpx", "httpx2", "httpcore", "openai", "discord.http", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    # Concierge never joins voice channels: discord.py's warnings about missing voice libraries are noise.
    logging.getLogger("discord.client").addFilter(
        lambda record: "voice will NOT be supported" not in record.getMessage()
    )


def mcp_file_variables(settings: Settings | None) -> frozenset[str]:
    """The `${NAME}`s the MCP server file refers to: secrets kept in `.env` for it, not misspelt settings.

    Without settings (they were refused), the file MCP_CONFIG_FILE names as given. A file that cannot be read names
    none: start-up and `check` report it themselves.
    """
    if settings is not None:
        path = settings.MCP_CONFIG_FILE
    else:
        given = (environment_for_expansion().get("MCP_CONFIG_FILE") or "").strip()
        path = Path(given) if given else Settings.model_fields["MCP_CONFIG_FILE"].default
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    from bot.mcp.config import _VARIABLE  # imported late (it loads the MCP SDK), and only when there is a file

    return frozenset(match.group(1) for match in _VARIABLE.finditer(text))


def setting_warnings(settings: Settings | None) -> list[str]:
    """A warning for each name in `.env` (and Concierge-like one in the environment) that is no setting; none when
    `.env` cannot be read (that is the error then)."""
    try:
        return unknown_settings(expected=mcp_file_variables(settings))
    except SettingsError:
        return []


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = parse_args(argv)
    required: list[Secret] = []
    if args.command in (None, "run", "check"):
        required.append("OPENAI_API_KEY")
    if args.command in (None, "run"):
        required.append("DISCORD_TOKEN")
    # check runs without DISCORD_TOKEN (it marks it ✗); when the settings stop it, it is named with the rest.
    mentioned: list[Secret] = ["DISCORD_TOKEN"] if args.command == "check" else []
    try:
        settings = load_settings(require=required, mention=mentioned)
    except SettingsError as error:
        for warning in setting_warnings(None):  # a misspelt name often is why a setting is missing
            print(f"concierge: warning: {warning}", file=sys.stderr)
        for problem in error.problems:
            print(f"concierge: configuration error: {problem}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    warnings = setting_warnings(settings)
    if args.command != "check":  # check lists them among its own lines
        for warning in warnings:
            print(f"concierge: warning: {warning}", file=sys.stderr)
    configure_logging(settings)
    from bot import app, data_commands  # imported late: a settings error must not wait for discord.py to load

    try:
        if args.command == "check":
            from bot.checkup import run_checkup

            return asyncio.run(run_checkup(settings, warnings=warnings))
        if args.command == "import-restaurants":
            return asyncio.run(data_commands.import_restaurant_catalog(settings, args.file, replace=args.replace))
        if args.command == "copy-data":
            return asyncio.run(data_commands.copy_database(args.source_url, args.target_url))
        return asyncio.run(app.run_bot(settings))
    except app.StartupError as error:
        print(f"concierge: {error}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
