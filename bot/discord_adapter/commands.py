"""Slash commands, each written once: /tools, /tooladmin and /history as app_commands Groups with the facade on
`self`, and /audit; `install_commands` adds them, /ask (ask.py), /usage and /quota (usage_commands.py) to the tree,
with the one error handler they share (interactions.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.discord_adapter.ask import ask_command
from bot.discord_adapter.interactions import ToolOption, answer_command_error, defer_privately, reply_privately
from bot.discord_adapter.messages import ENGLISH, Language, say
from bot.discord_adapter.render import call_line, reason_text
from bot.discord_adapter.translator import described
from bot.discord_adapter.usage_commands import Quota, usage_command
from bot.engine.permissions import ConfirmMode

if TYPE_CHECKING:
    from bot.concierge import AuditEntry, Concierge, PolicyChange, SourceStatus, ToolStatus
    from bot.discord_adapter.confirm import Confirmations
    from bot.engine.permissions import Place

ADMINS = discord.Permissions(manage_guild=True)
IN_SERVERS = app_commands.AppCommandContext(guild=True)


def format_tool_status(status: ToolStatus, language: Language = ENGLISH) -> str:
    """One /tools list entry: whether the tool is on, whether the caller may use it, which roles are allowed."""
    mark = "⏸" if not status.enabled else ("✓" if status.usable else "✗")
    description = status.description.strip().split("\n")[0]
    if len(description) > 90:
        description = description[:89] + "…"
    details: list[str] = []
    if not status.enabled:
        details.append(say(language, "tools.disabled"))
    elif not status.usable:
        if status.reason:
            reason = reason_text(status.reason_kind, status.reason, language)
            details.append(say(language, "tools.not_for_you_because", reason=reason))
        else:
            details.append(say(language, "tools.not_for_you"))
    if status.confirm:
        details.append(say(language, "tools.confirms"))
    if status.allowed_role_ids:
        roles = ", ".join(f"<@&{role}>" for role in sorted(status.allowed_role_ids, key=int))
        details.append(say(language, "tools.roles", roles=roles))
    elif status.restricted:
        details.append(say(language, "tools.admins_only"))
    line = f"{mark} `{status.name}`" + (f" — {description}" if description else "")
    return line + ("\n    " + " · ".join(details) if details else "")


def format_audit_entry(entry: AuditEntry, language: Language = ENGLISH) -> str:
    """One /audit line: id, relative time, who, and the call or the policy change."""
    head = f"`#{entry.id}` <t:{int(entry.at.timestamp())}:R> **{entry.user_name}**"
    summary = f" — {entry.summary}" if entry.summary else ""
    if entry.kind in ("policy", "quota"):
        return f"{head} ⚙ `{entry.tool}`: {entry.summary}"
    if entry.kind == "confirmation":
        outcome = say(language, "audit.confirmation", outcome=entry.outcome.replace("_", " "))
        return f"{head} ☐ `{entry.tool}` {outcome}{summary}"
    line = call_line(
        tool=entry.tool,
        arguments=entry.arguments,
        outcome=entry.outcome,
        duration_ms=entry.duration_ms,
        language=language,
    )
    return f"{head} {line}{summary}"


def format_policy_change(change: PolicyChange, language: Language) -> str:
    """The confirmation of an admin's change to a tool setting."""
    return say(language, f"policy.{change.kind}", tool=change.tool, role=change.role_name or "")


def tools_text(
    statuses: Sequence[ToolStatus],
    place: Place,
    language: Language = ENGLISH,
    sources: Sequence[SourceStatus] = (),
) -> str:
    """The /tools list answer: a header naming the server, one entry per built-in tool, then each MCP server with its
    status and its tools."""
    if not statuses and not sources:
        return say(language, "tools.none")
    if place.guild_name:
        header = say(language, "tools.header_in", guild=place.guild_name)
    else:
        header = say(language, "tools.header_here")
    lines = [header, *(format_tool_status(status, language) for status in statuses if status.source is None)]
    listed = {source.source for source in sources}
    for source in sources:
        lines.append(format_source_status(source, language))
        lines += [format_tool_status(status, language) for status in statuses if status.source == source.source]
    lines += [format_tool_status(status, language) for status in statuses if status.source not in (None, *listed)]
    return "\n".join(lines)


def format_source_status(source: SourceStatus, language: Language = ENGLISH) -> str:
    """The heading of one MCP server's tools in /tools list: its name and whether it is connected, with how many
    tools, or why not (the error only when the facade passed it on, to admins)."""
    if source.state == "connected":
        state = say(language, "mcp.connected.one" if source.tools == 1 else "mcp.connected", count=source.tools)
    elif source.state == "failed" and source.error:
        error = " ".join(source.error.split())
        state = say(language, "mcp.failed_because", error=error if len(error) <= 200 else error[:199] + "…")
    else:
        state = say(language, f"mcp.{source.state}")
    return f"{say(language, 'mcp.server', server=source.name)} — {state}"


class Tools(app_commands.Group, name="tools", description=described("cmd.tools")):
    """/tools list, for every member."""

    def __init__(self, concierge: Concierge) -> None:
        super().__init__()
        self.concierge = concierge

    @app_commands.command(name="list", description=described("cmd.tools.list"))
    async def list_tools(self, interaction: discord.Interaction[Any]) -> None:
        """Each tool, whether it is on, whether the member may use it here, and the allowed roles."""
        origin = await defer_privately(interaction)
        statuses = await self.concierge.tools_for(origin.place, origin.caller)
        sources = self.concierge.tool_sources(origin.caller)
        await reply_privately(interaction, tools_text(statuses, origin.place, origin.language, sources))


class ToolAdmin(
    app_commands.Group,
    name="tooladmin",
    description=described("cmd.tooladmin"),
    guild_only=True,
    default_permissions=ADMINS,
):
    """/tooladmin: turn tools on and off, allow roles, and choose when a tool asks for confirmation."""

    def __init__(self, concierge: Concierge) -> None:
        super().__init__(allowed_contexts=IN_SERVERS)
        self.concierge = concierge

    @app_commands.command(name="enable", description=described("cmd.tooladmin.enable"))
    @app_commands.describe(tool=described("cmd.tooladmin.tool"))
    async def enable(self, interaction: discord.Interaction[Any], tool: ToolOption) -> None:
        """Turn a tool on in this server."""
        origin = await defer_privately(interaction)
        change = await self.concierge.set_enabled(origin.place, origin.caller, tool, True)
        await reply_privately(interaction, format_policy_change(change, origin.language))

    @app_commands.command(name="disable", description=described("cmd.tooladmin.disable"))
    @app_commands.describe(tool=described("cmd.tooladmin.tool"))
    async def disable(self, interaction: discord.Interaction[Any], tool: ToolOption) -> None:
        """Turn a tool off in this server."""
        origin = await defer_privately(interaction)
        change = await self.concierge.set_enabled(origin.place, origin.caller, tool, False)
        await reply_privately(interaction, format_policy_change(change, origin.language))

    @app_commands.command(name="allow", description=described("cmd.tooladmin.allow"))
    @app_commands.describe(tool=described("cmd.tooladmin.tool"), role=described("cmd.tooladmin.allow.role"))
    async def allow(self, interaction: discord.Interaction[Any], tool: ToolOption, role: discord.Role) -> None:
        """Let members with a role use a tool."""
        origin = await defer_privately(interaction)
        change = await self.concierge.allow_role(origin.place, origin.caller, tool, str(role.id), role.name)
        await reply_privately(interaction, format_policy_change(change, origin.language))

    @app_commands.command(name="revoke", description=described("cmd.tooladmin.revoke"))
    @app_commands.describe(tool=described("cmd.tooladmin.tool"), role=described("cmd.tooladmin.revoke.role"))
    async def revoke(self, interaction: discord.Interaction[Any], tool: ToolOption, role: discord.Role) -> None:
        """Take a role's permission to use a tool back."""
        origin = await defer_privately(interaction)
        change = await self.concierge.revoke_role(origin.place, origin.caller, tool, str(role.id), role.name)
        await reply_privately(interaction, format_policy_change(change, origin.language))

    @app_commands.command(name="confirm", description=described("cmd.tooladmin.confirm"))
    @app_commands.describe(tool=described("cmd.tooladmin.confirm.tool"), mode=described("cmd.tooladmin.confirm.mode"))
    async def confirm(self, interaction: discord.Interaction[Any], tool: ToolOption, mode: ConfirmMode) -> None:
        """Choose whether a tool asks the member to confirm each call."""
        origin = await defer_privately(interaction)
        change = await self.concierge.set_confirm(origin.place, origin.caller, tool, mode)
        await reply_privately(interaction, format_policy_change(change, origin.language))


class History(app_commands.Group, name="history", description=described("cmd.history")):
    """/history clear."""

    def __init__(self, concierge: Concierge) -> None:
        super().__init__()
        self.concierge = concierge

    @app_commands.command(name="clear", description=described("cmd.history.clear"))
    async def clear(self, interaction: discord.Interaction[Any]) -> None:
        """Forget this channel's conversation."""
        origin = await defer_privately(interaction)
        removed = await self.concierge.clear_history(origin.place, origin.caller)
        if removed == 0:
            text = say(origin.language, "history.none")
        else:
            text = say(origin.language, "history.cleared.one" if removed == 1 else "history.cleared", count=removed)
        await reply_privately(interaction, text)


def audit_command(concierge: Concierge) -> app_commands.Command[Any, ..., None]:
    """/audit, for admins: recent tool calls and policy changes, newest first."""

    @app_commands.command(name="audit", description=described("cmd.audit"))
    @app_commands.describe(tool=described("cmd.audit.tool"), user=described("cmd.audit.user"))
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def audit(
        interaction: discord.Interaction[Any], tool: ToolOption | None = None, user: discord.User | None = None
    ) -> None:
        origin = await defer_privately(interaction)
        user_id = None if user is None else str(user.id)
        entries = await concierge.audit(origin.place, origin.caller, tool=tool or None, user_id=user_id)
        if not entries:
            await reply_privately(interaction, say(origin.language, "audit.none"))
            return
        await reply_privately(interaction, "\n".join(format_audit_entry(entry, origin.language) for entry in entries))

    return audit


def install_commands(
    tree: app_commands.CommandTree[Any], concierge: Concierge, confirmations: Confirmations | None = None
) -> None:
    """Add every slash command to `tree`, and the one error handler they share."""
    commands: list[app_commands.Command[Any, ..., Any] | app_commands.Group] = [
        ask_command(concierge, confirmations),
        Tools(concierge),
        ToolAdmin(concierge),
        audit_command(concierge),
        History(concierge),
        usage_command(concierge),
        Quota(concierge),
    ]
    for command in commands:
        tree.add_command(command)
    tree.error(answer_command_error)
