"""The direction of imports: the core never imports Discord, the engine never imports storage or tools, the tools
reach storage only through the services the app lends them (never by importing bot.store) and never reach into the
adapters, and the restaurant domain and the text helpers stand on their own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


STANDALONE = ("discord", "bot.store", "bot.settings", "bot.concierge", "tools", "aiosqlite", "asyncpg")
TOOLS = (
    "discord",
    "bot.store",
    "bot.settings",
    "bot.concierge",
    "bot.app",
    "bot.discord_adapter",
    "bot.mcp",
    "aiosqlite",
    "asyncpg",
)
RULES = {
    "bot/engine": ("discord", "bot.store", "bot.settings", "bot.concierge", "tools", "aiosqlite"),
    "bot/store": ("discord", "bot.settings", "bot.concierge", "tools"),
    "tools": TOOLS,
    "bot/mcp": ("discord", "bot.store", "bot.settings", "bot.concierge", "bot.discord_adapter", "tools"),
    "bot/catalog.py": STANDALONE,
    "bot/text.py": STANDALONE,
}


def imported_modules(place: Path) -> dict[str, set[str]]:
    """Each module in `place` (a folder, walked, or one file) with the absolute imports it makes."""
    found: dict[str, set[str]] = {}
    for path in [place] if place.is_file() else sorted(place.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)] = names
    return found


def layering_offences(place: Path, forbidden: tuple[str, ...]) -> list[str]:
    """What in `place` imports a forbidden module; a place with no modules at all is an offence too."""
    modules = imported_modules(place)
    if not modules:
        return [f"{place} holds no Python modules (misspelt or moved?)"]
    return [
        f"{path} imports {name}"
        for path, names in modules.items()
        for name in sorted(names)
        if any(name == bad or name.startswith(bad + ".") for bad in forbidden)
    ]


@pytest.mark.parametrize(("place", "forbidden"), sorted(RULES.items()))
def test_core_layers_do_not_import_what_sits_above_them(place: str, forbidden: tuple[str, ...]) -> None:
    assert layering_offences(ROOT / place, forbidden) == []


def test_a_misspelt_or_empty_folder_fails_the_check_instead_of_passing_with_nothing_scanned(tmp_path: Path) -> None:
    assert layering_offences(ROOT / "bot" / "engin", RULES["bot/engine"]) != []
    assert layering_offences(tmp_path, RULES["bot/engine"]) != []


def test_a_tool_importing_the_discord_adapter_or_an_mcp_module_is_caught(tmp_path: Path) -> None:
    (tmp_path / "sneaky.py").write_text(
        "import bot.mcp.servers\nfrom bot.discord_adapter.render import error_sentence\nfrom bot.engine import tools\n",
        encoding="utf-8",
    )
    offences = layering_offences(tmp_path, RULES["tools"])
    assert [offence.rsplit(" ", 1)[1] for offence in offences] == ["bot.discord_adapter.render", "bot.mcp.servers"]


def test_the_restaurant_domain_may_not_reach_the_store(tmp_path: Path) -> None:
    module = tmp_path / "catalog.py"
    module.write_text("from bot.store.restaurants import RestaurantStore\nimport unicodedata\n", encoding="utf-8")
    assert layering_offences(module, RULES["bot/catalog.py"]) == [f"{module} imports bot.store.restaurants"]
