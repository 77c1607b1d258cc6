"""bot.store stays a leaf: it imports no Discord, no tools and no settings."""

from __future__ import annotations

import ast
import pathlib

import bot.store

FORBIDDEN = ("discord", "tools", "bot.settings", "bot.engine.tools", "bot.discord_adapter", "bot.concierge", "bot.app")


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_store_modules_import_no_discord_tools_or_settings() -> None:
    package = pathlib.Path(bot.store.__file__).parent
    offenders = {
        f"{path.name}: {name}"
        for path in package.rglob("*.py")
        for name in _imports(path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)
    }
    assert offenders == set()
