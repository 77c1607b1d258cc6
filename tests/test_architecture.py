"""The direction of imports: the core never imports Discord, the engine never imports storage or tools, and the tools
reach storage only through the services the app lends them (never by importing bot.store)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("bot/engine", ("discord", "bot.store", "bot.settings", "bot.concierge", "tools", "aiosqlite")),
        ("bot/store", ("discord", "bot.settings", "bot.concierge", "tools")),
        ("tools", ("discord", "bot.store", "bot.settings", "bot.concierge", "bot.app", "aiosqlite", "asyncpg")),
        ("bot/mcp", ("discord", "bot.store", "bot.settings", "bot.concierge", "bot.discord_adapter", "tools")),
    ],
)
def test_core_layers_do_not_import_what_sits_above_them(folder: str, forbidden: tuple[str, ...]) -> None:
    offenders = [
        f"{path} imports {name}"
        for path, names in imported_modules(ROOT / folder).items()
        for name in names
        if any(name == bad or name.startswith(bad + ".") for bad in forbidden)
    ]
    assert offenders == []
