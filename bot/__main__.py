"""Command line (`concierge` or `python -m bot`): run the bot, `check`, `import-restaurants FILE`, `copy-data`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import Settings, SettingsError, load_settings

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
    parser = argparse.ArgumentParser(prog="concierge", description="Concierge: a tool-calling assistant for Discord.")
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
    return parser.parse_args(argv)


def configure_logging(settings: Settings) -> None:
    """Log to stderr at LOG_LEVEL; the HTTP client libraries stay at WARNING so no request detail leaks."""
    logging.basicConfig(level=settings.LOG_LEVEL, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for noisy in ("httpx", "httpx2", "httpcore", "openai", "discord.http", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    # Concierge never joins voice channels: discord.py's warnings about missing voice libraries are noise.
    logging.getLogger("discord.client").addFilter(
        lambda record: "voice will NOT be supported" not in record.getMessage()
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = parse_args(argv)
    try:
        settings = load_settings()
        if args.command in (None, "run", "check"):
            settings.openai_key()
        if args.command in (None, "run"):
            settings.discord_token()
    except SettingsError as error:
        print(f"concierge: configuration error: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    configure_logging(settings)
    from bot import app  # imported late: a settings error must not wait for discord.py to load

    try:
        if args.command == "check":
            return asyncio.run(app.check_model_server(settings))
        if args.command == "import-restaurants":
            return asyncio.run(app.import_restaurant_catalog(settings, args.file, replace=args.replace))
        if args.command == "copy-data":
            return asyncio.run(app.copy_database(args.source_url, args.target_url))
        return asyncio.run(app.run_bot(settings))
    except app.StartupError as error:
        print(f"concierge: {error}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
