"""The README a newcomer follows: the Discord set-up where they need it, and every command listed."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from bot.__main__ import build_parser

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_discord_application_set_up_comes_right_after_the_quick_start() -> None:
    headings = re.findall(r"^## (.+)$", README, flags=re.MULTILINE)
    assert headings[headings.index("Quick start") + 1] == "Setting up the Discord application"


def test_the_discord_set_up_names_view_channel_and_the_wait_for_global_commands() -> None:
    text = " ".join(section("Setting up the Discord application").split())
    assert "**View Channel" in text
    assert "global commands" in text and "take a while" in text


def test_every_command_and_version_are_listed_in_the_quick_start() -> None:
    [commands] = [action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)]
    assert {"run", "check", "import-restaurants", "copy-data"} <= set(commands.choices)
    quick_start = section("Quick start")
    for command in [*commands.choices, "--version"]:
        assert f"concierge {command}" in quick_start, command
