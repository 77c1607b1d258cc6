"""/usage and /quota: what members and the server spent, and the daily token quotas admins set."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands

from bot.discord_adapter.messages import ENGLISH, Language, language_of, say
from bot.discord_adapter.translator import described

if TYPE_CHECKING:
    from bot.discord_adapter.commands import CommandHandlers, CommandLike
    from bot.spending import MemberUsage, ServerUsage, UsageTotals

MAX_QUOTA = 1_000_000_000
Tokens = app_commands.Range[int, 0, MAX_QUOTA]


def totals_line(label: str, totals: UsageTotals, language: Language = ENGLISH) -> str:
    """E.g. "Today: 12,345 tokens (input 10,000 · output 2,345)", exact counts."""
    line = say(
        language,
        "usage.totals",
        label=label,
        total=f"{totals.total_tokens:,}",
        input=f"{totals.input_tokens:,}",
        output=f"{totals.output_tokens:,}",
    )
    if totals.estimated_requests:
        estimated, requests = f"{totals.estimated_requests:,}", f"{totals.requests:,}"
        line += say(language, "usage.estimated", estimated=estimated, requests=requests)
    return line


def cache_line(totals: UsageTotals, language: Language = ENGLISH) -> str | None:
    """The share of input tokens served from the prompt cache, when there was input."""
    if not totals.input_tokens:
        return None
    share = 100 * totals.cached_input_tokens / totals.input_tokens
    return say(language, "usage.cache", share=share, cached=f"{totals.cached_input_tokens:,}")


def _periods(today: UsageTotals, month: UsageTotals, language: Language) -> list[str]:
    lines = [
        totals_line(say(language, "usage.today"), today, language),
        totals_line(say(language, "usage.month"), month, language),
    ]
    cache = cache_line(month, language)
    return [*lines, *([cache] if cache else [])]


def format_member_usage(usage: MemberUsage, *, whose: str, where: str, language: Language = ENGLISH) -> str:
    """A member's usage, today and this month."""
    title = say(language, "usage.title.member", whose=whose, where=where)
    return "\n".join([title, *_periods(usage.today, usage.month, language)])


def quota_text(tokens: int, language: Language = ENGLISH) -> str:
    """A daily quota in words: "unlimited" or "50,000 tokens a day"."""
    return say(language, "quota.unlimited") if tokens == 0 else say(language, "quota.per_day", tokens=f"{tokens:,}")


def format_server_usage(usage: ServerUsage, *, where: str, language: Language = ENGLISH) -> str:
    """A server's usage, its top members this month, and its quotas (for admins)."""
    lines = [say(language, "usage.title.server", where=where), *_periods(usage.today, usage.month, language)]
    if usage.top_members:
        ranked = [
            f"{n}. <@{entry.user_id}> {entry.totals.total_tokens:,}" for n, entry in enumerate(usage.top_members, 1)
        ]
        lines.append(say(language, "usage.top", ranked=" · ".join(ranked)))
    overrides, defaults = usage.overrides, usage.defaults
    scopes = (
        ("quota.each_member", overrides.member, defaults.per_member),
        ("quota.server", overrides.server, defaults.per_server),
    )
    quotas = [
        say(language, key, quota=quota_text(default if override is None else override, language))
        + say(language, "quota.default" if override is None else "quota.set_here")
        for key, override, default in scopes
    ]
    quotas += [f"<@&{role}> {quota_text(tokens, language)}" for role, tokens in sorted(overrides.roles.items())]
    lines.append(say(language, "usage.quotas", quotas=" · ".join(quotas)))
    return "\n".join(lines)


def build_spending_commands(handlers: CommandHandlers) -> list[CommandLike]:
    """/usage for everyone and the /quota group for admins, forwarding to the facade through `handlers`."""
    concierge = handlers.concierge

    @app_commands.command(name="usage", description=described("cmd.usage"))
    @app_commands.describe(member=described("cmd.usage.member"), server=described("cmd.usage.server"))
    async def usage(interaction: discord.Interaction, member: discord.User | None = None, server: bool = False) -> None:
        place, caller = handlers.who(interaction)

        async def work(language: Language) -> str:
            where = (
                say(language, "usage.where.server", server=place.guild_name)
                if place.guild_name
                else say(language, "usage.where.dm")
            )
            if server:
                return format_server_usage(await concierge.server_usage(place, caller), where=where, language=language)
            member_id = None if member is None else str(member.id)
            found = await concierge.member_usage(place, caller, member_id=member_id)
            mine = member_id in (None, caller.user_id)
            whose = say(language, "usage.whose.self") if mine else say(language, "usage.whose.other", user=member_id)
            return format_member_usage(found, whose=whose, where=where, language=language)

        await handlers.ephemeral(interaction, work)

    quota = app_commands.Group(
        name="quota",
        description=described("cmd.quota"),
        guild_only=True,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        default_permissions=discord.Permissions(manage_guild=True),
    )

    async def set_quota(
        interaction: discord.Interaction,
        scope: Literal["member", "server", "role"],
        tokens: int | None,
        role: discord.Role | None = None,
    ) -> None:
        place, caller = handlers.who(interaction)

        async def work(language: Language) -> str:
            role_id = "" if role is None else str(role.id)
            await concierge.set_quota(place, caller, scope, tokens, role_id=role_id)
            target = say(language, f"quota.target.{scope}", role=role_id)
            if tokens is None:
                return say(language, "quota.back_to_default", target=target)
            return say(language, "quota.now", target=target, quota=quota_text(tokens, language))

        await handlers.ephemeral(interaction, work)

    @quota.command(name="member", description=described("cmd.quota.member"))
    @app_commands.describe(tokens=described("cmd.quota.tokens"))
    async def member_quota(interaction: discord.Interaction, tokens: Tokens) -> None:
        await set_quota(interaction, "member", tokens)

    @quota.command(name="server", description=described("cmd.quota.server"))
    @app_commands.describe(tokens=described("cmd.quota.tokens"))
    async def server_quota(interaction: discord.Interaction, tokens: Tokens) -> None:
        await set_quota(interaction, "server", tokens)

    @quota.command(name="role", description=described("cmd.quota.role"))
    @app_commands.describe(role=described("cmd.quota.role_option"), tokens=described("cmd.quota.tokens"))
    async def role_quota(interaction: discord.Interaction, role: discord.Role, tokens: Tokens) -> None:
        await set_quota(interaction, "role", tokens, role)

    @quota.command(name="reset", description=described("cmd.quota.reset"))
    @app_commands.describe(scope=described("cmd.quota.scope"), role=described("cmd.quota.role_option"))
    async def reset_quota(
        interaction: discord.Interaction, scope: Literal["member", "server", "role"], role: discord.Role | None = None
    ) -> None:
        if scope == "role" and role is None:
            language = language_of(interaction.locale)
            await interaction.response.send_message(say(language, "quota.name_the_role"), ephemeral=True)
            return
        await set_quota(interaction, scope, None, role)

    return [usage, quota]
