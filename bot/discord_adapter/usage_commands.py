"""/usage and /quota: what members and the server spent, and the daily token quotas admins set."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands

from bot.discord_adapter.interactions import Origin, defer_privately, origin_of, reply_privately
from bot.discord_adapter.messages import ENGLISH, Language, say
from bot.discord_adapter.translator import described

if TYPE_CHECKING:
    from bot.concierge import Concierge
    from bot.spending import MemberUsage, ServerUsage, UsageTotals

MAX_QUOTA = 1_000_000_000
Tokens = app_commands.Range[int, 0, MAX_QUOTA]
QuotaScope = Literal["member", "server", "role"]


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


def _where(origin: Origin) -> str:
    if origin.place.guild_name:
        return say(origin.language, "usage.where.server", server=origin.place.guild_name)
    return say(origin.language, "usage.where.dm")


def _whose(origin: Origin, member_id: str | None) -> str:
    if member_id in (None, origin.caller.user_id):
        return say(origin.language, "usage.whose.self")
    return say(origin.language, "usage.whose.other", user=member_id)


def usage_command(concierge: Concierge) -> app_commands.Command[Any, ..., None]:
    """/usage, for every member: what they (or, for admins, another member or the server) spent."""

    @app_commands.command(name="usage", description=described("cmd.usage"))
    @app_commands.describe(member=described("cmd.usage.member"), server=described("cmd.usage.server"))
    async def usage(
        interaction: discord.Interaction[Any], member: discord.User | None = None, server: bool = False
    ) -> None:
        origin = await defer_privately(interaction)
        place, caller, language = origin.place, origin.caller, origin.language
        if server:
            spent = await concierge.server_usage(place, caller)
            text = format_server_usage(spent, where=_where(origin), language=language)
        else:
            member_id = None if member is None else str(member.id)
            found = await concierge.member_usage(place, caller, member_id=member_id)
            text = format_member_usage(found, whose=_whose(origin, member_id), where=_where(origin), language=language)
        await reply_privately(interaction, text)

    return usage


class Quota(
    app_commands.Group,
    name="quota",
    description=described("cmd.quota"),
    guild_only=True,
    default_permissions=discord.Permissions(manage_guild=True),
):
    """/quota, for admins: the daily token quotas of each member, the server, and roles."""

    def __init__(self, concierge: Concierge) -> None:
        super().__init__(allowed_contexts=app_commands.AppCommandContext(guild=True))
        self.concierge = concierge

    @app_commands.command(name="member", description=described("cmd.quota.member"))
    @app_commands.describe(tokens=described("cmd.quota.tokens"))
    async def member(self, interaction: discord.Interaction[Any], tokens: Tokens) -> None:
        """Set each member's daily quota."""
        await self._set(interaction, "member", tokens)

    @app_commands.command(name="server", description=described("cmd.quota.server"))
    @app_commands.describe(tokens=described("cmd.quota.tokens"))
    async def server(self, interaction: discord.Interaction[Any], tokens: Tokens) -> None:
        """Set the whole server's daily quota."""
        await self._set(interaction, "server", tokens)

    @app_commands.command(name="role", description=described("cmd.quota.role"))
    @app_commands.describe(role=described("cmd.quota.role_option"), tokens=described("cmd.quota.tokens"))
    async def role(self, interaction: discord.Interaction[Any], role: discord.Role, tokens: Tokens) -> None:
        """Set the daily quota of members with a role."""
        await self._set(interaction, "role", tokens, role)

    @app_commands.command(name="reset", description=described("cmd.quota.reset"))
    @app_commands.describe(scope=described("cmd.quota.scope"), role=described("cmd.quota.role_option"))
    async def reset(
        self, interaction: discord.Interaction[Any], scope: QuotaScope, role: discord.Role | None = None
    ) -> None:
        """Put a quota back to the default; a role's needs the role named."""
        if scope == "role" and role is None:
            await reply_privately(interaction, say(origin_of(interaction).language, "quota.name_the_role"))
            return
        await self._set(interaction, scope, None, role)

    async def _set(
        self,
        interaction: discord.Interaction[Any],
        scope: QuotaScope,
        tokens: int | None,
        role: discord.Role | None = None,
    ) -> None:
        origin = await defer_privately(interaction)
        role_id = "" if role is None else str(role.id)
        await self.concierge.set_quota(origin.place, origin.caller, scope, tokens, role_id=role_id)
        target = say(origin.language, f"quota.target.{scope}", role=role_id)
        if tokens is None:
            await reply_privately(interaction, say(origin.language, "quota.back_to_default", target=target))
            return
        quota = quota_text(tokens, origin.language)
        await reply_privately(interaction, say(origin.language, "quota.now", target=target, quota=quota))
