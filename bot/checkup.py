"""`concierge check`: every resource start-up needs (settings, prompt, database, MCP servers, model server), one section
each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from bot.app import StartupError, check_database, check_model_server, load_prompt
from bot.mcp_wiring import check_mcp_servers
from bot.model_check import CheckLine, CheckSection, render_checkup
from bot.settings import Settings

Check = Callable[[Settings], Awaitable[CheckSection]]


def check_settings(settings: Settings, *, warnings: Sequence[str] = ()) -> CheckSection:
    """The settings part: they were valid to get this far; add what start-up would still refuse (no DISCORD_TOKEN)
    and a warning for each name that is not a setting."""
    lines = [CheckLine("settings", True, "every setting is valid")]
    if settings.DISCORD_TOKEN is None:
        lines.append(CheckLine("DISCORD_TOKEN", False, "missing: the bot cannot log in to Discord (see .env.example)"))
    for warning in warnings:
        name, _, detail = warning.partition(": ")
        lines.append(CheckLine(name, False, detail, warning=True))
    return CheckSection("Settings", tuple(lines))


async def check_prompt(settings: Settings) -> CheckSection:
    """The system prompt start-up loads: SYSTEM_PROMPT_FILE, or the shipped default."""
    try:
        prompt = load_prompt(settings)
    except StartupError as error:
        name, _, detail = str(error).partition(": ")
        return CheckSection.failed("System prompt", name, detail)
    source = str(settings.SYSTEM_PROMPT_FILE) if settings.SYSTEM_PROMPT_FILE else "the shipped default"
    if not prompt.template.strip():  # start-up accepts it, so only a warning
        empty = CheckLine(
            "SYSTEM_PROMPT_FILE", False, f"{source} is empty: the model gets no instructions", warning=True
        )
        return CheckSection("System prompt", (empty,))
    return CheckSection(
        "System prompt", (CheckLine("SYSTEM_PROMPT_FILE", True, f"{source} ({len(prompt.template)} characters)"),)
    )


# In order; the model server last, as the slowest.
CHECKS: tuple[Check, ...] = (check_prompt, check_database, check_mcp_servers, check_model_server)


async def run_checkup(settings: Settings, *, warnings: Sequence[str] = ()) -> int:
    """Print every section and the verdict last; 0 when the bot could start and work, else 1."""
    sections = [check_settings(settings, warnings=warnings)]
    for check in CHECKS:
        sections.append(await check(settings))
    print(render_checkup(sections))
    return 0 if all(section.passed for section in sections) else 1
