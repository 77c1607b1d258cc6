"""/usage and /quota: what members and the server spent, and the daily token quotas admins set."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands

if TYPE_CHECKING:
    from bot.discord_adapter.commands import CommandHandlers, CommandLike
    from bot.discord_adapter.messages import Language
    from bot.spending import MemberUsage, ServerUsage, UsageTotals

MAX_QUOTA = 1_000_000_000
Tokens = app_commands.Range[int, 0, MAX_QUOTA]


def totals_line(label: str, totals: UsageTotals) -> str:
    """E.g. "Today: 12,345 tokens (input 10,000 · output 2,345)", exact counts."""
    line = f"{label}: {totals.total_tokens:,} tokens (input {totals.input_tokens:,} · output {totals.output_tokens:,})"
    if totals.estimated_requests:
        line += f" · {totals.estimated_requests:,} of {totals.requests:,} requests estimated"
    return line


def cache_line(totals: UsageTotals) -> str | None:
    """The share of input tokens served from the prompt cache, when there was input."""
    if not totals.input_tokens:
        return None
    share = 100 * totals.cached_input_tokens / totals.input_tokens
    return f"Prompt cache: {share:.0f}% of input tokens this month ({totals.cached_input_tokens:,} cached)"


def format_member_usage(usage: MemberUsage, *, whose: str, where: str) -> str:
    """A member's usage, today and this month."""
    lines = [f"**{whose} usage {where}** (days in UTC)", totals_line("Today", usage.today)]
    lines.append(totals_line("This month", usage.month))
    cache = cache_line(usage.month)
    return "\n".join([*lines, *([cache] if cache else [])])


def _quota_text(tokens: int) -> str:
    return "unlimited" if tokens == 0 else f"{tokens:,} tokens a day"


def format_server_usage(usage: ServerUsage, *, where: str) -> str:
    """A server's usage, its top members this month, and its quotas (for admins)."""
    lines = [
        f"**Usage {where}** (days in UTC)",
        totals_line("Today", usage.today),
        totals_line("This month", usage.month),
    ]
    cache = cache_line(usage.month)
    if cache:
        lines.append(cache)
    if usage.top_members:
        ranked = [
            f"{n}. <@{entry.user_id}> {entry.totals.total_tokens:,}" for n, entry in enumerate(usage.top_members, 1)
        ]
        lines.append("Top members this month: " + " · ".join(ranked))
    overrides, defaults = usage.overrides, usage.defaults
    member = defaults.per_member if overrides.member is None else overrides.member
    server = defaults.per_server if overrides.server is None else overrides.server
    quotas = [
        f"each member {_quota_text(member)}" + (" (set here)" if overrides.member is not None else " (default)"),
        f"the server {_quota_text(server)}" + (" (set here)" if overrides.server is not None else " (default)"),
    ]
    quotas += [f"<@&{role}> {_quota_text(tokens)}" for role, tokens in sorted(overrides.roles.items())]
    lines.append("Quotas: " + " · ".join(quotas))
    return "\n".join(lines)


def build_spending_commands(handlers: CommandHandlers) -> list[CommandLike]:
    """/usage for everyone and the /quota group for admins, forwarding to the facade through `handlers`."""
    concierge = handlers.concierge

    @app_commands.command(
        name="usage", description="Tokens used today and this month (admins: any member's or the server's)"
    )
    @app_commands.describe(
        member="Admins: this member's usage", server="Admins: the server's total, top members and quotas"
    )
    async def usage(interaction: discord.Interaction, member: discord.User | None = None, server: bool = False) -> None:
        place, caller = handlers._who(interaction)
        where = f"in **{place.guild_name}**" if place.guild_name else "in your DMs"

        async def work(language: Language) -> str:
            if server:
                return format_server_usage(await concierge.server_usage(place, caller), where=where)
            member_id = None if member is None else str(member.id)
            found = await concierge.member_usage(place, caller, member_id=member_id)
            whose = "Your" if member_id in (None, caller.user_id) else f"<@{member_id}>'s"
            return format_member_usage(found, whose=whose, where=where)

        await handlers._ephemeral(interaction, work)

    quota = app_commands.Group(
        name="quota",
        description="Daily token quotas in this server (admins; 0 = unlimited)",
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
        place, caller = handlers._who(interaction)

        async def work(language: Language) -> str:
            role_id = "" if role is None else str(role.id)
            await concierge.set_quota(place, caller, scope, tokens, role_id=role_id)
            target = {"member": "each member", "server": "the whole server", "role": f"members with <@&{role_id}>"}
            if tokens is None:
                return f"The daily quota for {target[scope]} is back to the default."
            return f"The daily quota for {target[scope]} is now {_quota_text(tokens)}."

        await handlers._ephemeral(interaction, work)

    @quota.command(name="member", description="Daily tokens each member may use here")
    async def member_quota(interaction: discord.Interaction, tokens: Tokens) -> None:
        await set_quota(interaction, "member", tokens)

    @quota.command(name="server", description="Daily tokens the whole server may use")
    async def server_quota(interaction: discord.Interaction, tokens: Tokens) -> None:
        await set_quota(interaction, "server", tokens)

    @quota.command(name="role", description="Daily tokens for members with a role (overrides the member quota)")
    async def role_quota(interaction: discord.Interaction, role: discord.Role, tokens: Tokens) -> None:
        await set_quota(interaction, "role", tokens, role)

    @quota.command(name="reset", description="Back to the default quota (the bot's settings) for one scope")
    @app_commands.describe(role="The role, for scope role")
    async def reset_quota(
        interaction: discord.Interaction, scope: Literal["member", "server", "role"], role: discord.Role | None = None
    ) -> None:
        if scope == "role" and role is None:
            await interaction.response.send_message("Name the role whose quota to reset.", ephemeral=True)
            return
        await set_quota(interaction, scope, None, role)

    return [usage, quota]
