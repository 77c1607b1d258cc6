"""`concierge check`: every resource start-up needs (settings, prompt, database, MCP servers, model server), one section
each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from bot.app import StartupError, feature_modes, first_output_limit_field, load_prompt, make_model_client
from bot.mcp_wiring import check_mcp_servers
from bot.model_check import CheckLine, CheckSection, render_checkup
from bot.settings import Settings
from bot.store.db import DatabaseUnavailable

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
async def check_model_server(settings: Settings) -> CheckSection:
    """`concierge check`'s model server section: the self-test report through the bot's own adapters."""
    from bot.model_check import check_model_server as run_check

    client = make_model_client(settings)
    try:
        report = await run_check(
            client,
            model=settings.OPENAI_MODEL,
            api=settings.OPENAI_API,
            features=feature_modes(settings),
            limit_field=first_output_limit_field(settings),
            vision=settings.VISION,
        )
    finally:
        await client.close()
    where = settings.OPENAI_BASE_URL or "OpenAI"
    title = f"Model server: {where} · model {settings.OPENAI_MODEL} · API {settings.OPENAI_API}"
    return CheckSection(title, report.lines, ok=report.ok)


async def check_database(settings: Settings) -> CheckSection:
    """`concierge check`'s database section: can it be opened, and how does its schema compare with ours?"""
    from bot.store.db import bundled_migrations, dialect_of, schema_version_at

    title = "Database"
    known = bundled_migrations(dialect_of(settings.DATABASE_URL))[-1].version
    try:
        found = await schema_version_at(settings.DATABASE_URL)
    except DatabaseUnavailable as error:
        return CheckSection.failed(title, "DATABASE_URL", str(error))
    if found > known:
        detail = f"schema version {found} is newer than this Concierge knows ({known}): upgrade Concierge"
        return CheckSection.failed(title, "DATABASE_URL", detail)
    state = "up to date" if found == known else f"will be migrated from {found} on start"
    line = CheckLine(
        "DATABASE_URL", True, f"{dialect_of(settings.DATABASE_URL)} answers · schema version {known} ({state})"
    )
    return CheckSection(title, (line,))


CHECKS: tuple[Check, ...] = (check_prompt, check_database, check_mcp_servers, check_model_server)


async def run_checkup(settings: Settings, *, warnings: Sequence[str] = ()) -> int:
    """Print every section and the verdict last; 0 when the bot could start and work, else 1."""
    sections = [check_settings(settings, warnings=warnings)]
    for check in CHECKS:
        sections.append(await check(settings))
    print(render_checkup(sections))
    return 0 if all(section.passed for section in sections) else 1
