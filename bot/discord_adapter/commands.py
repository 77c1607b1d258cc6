"""Slash commands: /ask, /tools list, /tooladmin, /audit, /history clear — each defers, calls the facade, follows up."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.discord_adapter.messages import ENGLISH, Language, language_of, say
from bot.discord_adapter.render import (
    allowed_mentions,
    call_line,
    caller_of,
    error_sentence,
    place_of,
    reason_text,
    split_message,
    thread_name,
)
from bot.discord_adapter.translator import described
from bot.discord_adapter.turns import TEXT_CHANNEL_TYPES, THREAD_ARCHIVE_MINUTES, answer_live, thread_failure_note
from bot.discord_adapter.usage_commands import build_spending_commands
from bot.engine.errors import ConciergeError
from bot.engine.permissions import Caller, ConfirmMode, Place

if TYPE_CHECKING:
    from bot.concierge import AuditEntry, Concierge, PolicyChange, ToolStatus
    from bot.discord_adapter.confirm import Confirmations

log = logging.getLogger(__name__)

ASK_MODES: tuple[str, ...] = ("auto", "required", "none")
AUTOCOMPLETE_LIMIT = 25

CommandLike = app_commands.Command[Any, ..., Any] | app_commands.Group


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
    line = f"{mark} `{status.name}` — {description}"
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


class CommandHandlers:
    """What each slash command does; the app_commands definitions below only forward to these methods."""

    def __init__(self, concierge: Concierge, confirmations: Confirmations | None = None) -> None:
        self.concierge = concierge
        self.confirmations = confirmations

    # -- /ask ------------------------------------------------------------------------------------------------

    async def ask(self, interaction: discord.Interaction, *, prompt: str, tool: str = "auto") -> None:
        """Answer `prompt`; in a text channel open a thread for it, elsewhere answer in place."""
        place, caller = self.who(interaction)
        language = _language(interaction)
        tool_choice = tool.strip() or "auto"
        try:
            await self.concierge.check_tool_choice(place, caller, tool_choice)
        except Exception as error:
            if not isinstance(error, ConciergeError):
                log.exception("checking tool choice %r failed", tool_choice)
            await interaction.response.send_message(error_sentence(error, language), ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        try:
            await self._answer_ask(interaction, place, caller, prompt=prompt, tool_choice=tool_choice)
        except Exception:
            log.exception("/ask failed in channel %s", place.channel_id)
            with suppress(discord.HTTPException):
                await interaction.followup.send(
                    say(language, "failure.generic"), allowed_mentions=discord.AllowedMentions.none()
                )

    async def _answer_ask(
        self, interaction: discord.Interaction, place: Place, caller: Caller, *, prompt: str, tool_choice: str
    ) -> None:
        language = _language(interaction)
        notes: tuple[str, ...] = ()
        channel = interaction.channel
        if channel is not None and interaction.guild is not None and channel.type in TEXT_CHANNEL_TYPES:
            try:
                thread = await channel.create_thread(  # type: ignore[union-attr, call-overload]
                    name=thread_name(prompt, fallback=say(language, "thread.question_from", name=caller.name)),
                    type=discord.ChannelType.public_thread,
                    auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                )
            except discord.HTTPException as error:
                log.warning("could not open a thread for /ask in %s: %s", place.channel_id, error)
                notes = (thread_failure_note(error, language),)
            else:
                await self._answer_in_new_thread(interaction, thread, caller, prompt=prompt, tool_choice=tool_choice)
                return
        await answer_live(
            self.concierge,
            place=place,
            caller=caller,
            text=prompt,
            channel=channel,  # type: ignore[arg-type]
            first=interaction.followup.send,
            asker_id=interaction.user.id,
            language=language,
            confirmations=self.confirmations,
            tool_choice=tool_choice,
            notes=notes,
            typing=False,
            quiet_repeats=False,
        )

    async def _answer_in_new_thread(
        self, interaction: discord.Interaction, thread: discord.Thread, caller: Caller, *, prompt: str, tool_choice: str
    ) -> None:
        asker = interaction.user.id
        language = _language(interaction)
        mentions = allowed_mentions(asker)
        await interaction.followup.send(
            say(language, "ask.thread_opened", thread=thread.mention), allowed_mentions=mentions
        )
        for chunk in split_message(say(language, "ask.asked", name=caller.name, prompt=prompt)):
            await thread.send(chunk, allowed_mentions=mentions)
        place = place_of(thread, interaction.guild)
        await self.concierge.start_conversation(thread=place, starter=caller)
        await answer_live(
            self.concierge,
            place=place,
            caller=caller,
            text=prompt,
            channel=thread,
            first=thread.send,
            asker_id=asker,
            language=language,
            confirmations=self.confirmations,
            tool_choice=tool_choice,
            quiet_repeats=False,
        )

    async def ask_tool_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Autocomplete for /ask tool: the three modes, then the tools this member may use here."""
        place, caller = self.who(interaction)
        try:
            names = await self.concierge.usable_tools(place, caller)
        except Exception:
            log.exception("listing usable tools for autocomplete failed")
            names = []
        return _choices([*ASK_MODES, *names], current)

    async def tool_name_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Autocomplete for admin commands: every tool the bot knows."""
        return _choices(self.concierge.tool_names(), current)

    # -- ephemeral commands ---------------------------------------------------------------------------------

    async def tools_list(self, interaction: discord.Interaction) -> None:
        """/tools list: each tool, whether it is on, whether the caller may use it, and the allowed roles."""
        place, caller = self.who(interaction)

        async def work(language: Language) -> str:
            statuses = await self.concierge.tools_for(place, caller)
            if not statuses:
                return say(language, "tools.none")
            if place.guild_name:
                header = say(language, "tools.header_in", guild=place.guild_name)
            else:
                header = say(language, "tools.header_here")
            return header + "\n" + "\n".join(format_tool_status(status, language) for status in statuses)

        await self.ephemeral(interaction, work)

    async def set_enabled(self, interaction: discord.Interaction, *, tool: str, enabled: bool) -> None:
        """/tooladmin enable|disable."""
        place, caller = self.who(interaction)
        await self._policy_change(interaction, lambda: self.concierge.set_enabled(place, caller, tool, enabled))

    async def set_confirm(self, interaction: discord.Interaction, *, tool: str, mode: ConfirmMode) -> None:
        """/tooladmin confirm."""
        place, caller = self.who(interaction)
        await self._policy_change(interaction, lambda: self.concierge.set_confirm(place, caller, tool, mode))

    async def allow_role(self, interaction: discord.Interaction, *, tool: str, role: discord.Role) -> None:
        """/tooladmin allow."""
        place, caller = self.who(interaction)
        await self._policy_change(
            interaction, lambda: self.concierge.allow_role(place, caller, tool, str(role.id), role.name)
        )

    async def revoke_role(self, interaction: discord.Interaction, *, tool: str, role: discord.Role) -> None:
        """/tooladmin revoke."""
        place, caller = self.who(interaction)
        await self._policy_change(
            interaction, lambda: self.concierge.revoke_role(place, caller, tool, str(role.id), role.name)
        )

    async def audit(
        self, interaction: discord.Interaction, *, tool: str | None = None, user: discord.abc.User | None = None
    ) -> None:
        """/audit: recent tool calls and policy changes, newest first."""
        place, caller = self.who(interaction)

        async def work(language: Language) -> str:
            entries = await self.concierge.audit(
                place, caller, tool=tool or None, user_id=None if user is None else str(user.id)
            )
            if not entries:
                return say(language, "audit.none")
            return "\n".join(format_audit_entry(entry, language) for entry in entries)

        await self.ephemeral(interaction, work)

    async def history_clear(self, interaction: discord.Interaction) -> None:
        """/history clear: forget this channel's conversation."""
        place, caller = self.who(interaction)

        async def work(language: Language) -> str:
            removed = await self.concierge.clear_history(place, caller)
            if removed == 0:
                return say(language, "history.none")
            return say(language, "history.cleared.one" if removed == 1 else "history.cleared", count=removed)

        await self.ephemeral(interaction, work)

    async def _policy_change(
        self, interaction: discord.Interaction, change: Callable[[], Awaitable[PolicyChange]]
    ) -> None:
        async def work(language: Language) -> str:
            return format_policy_change(await change(), language)

        await self.ephemeral(interaction, work)

    async def ephemeral(self, interaction: discord.Interaction, work: Callable[[Language], Awaitable[str]]) -> None:
        """Acknowledge at once (ephemeral), run `work`, and follow up with its text or the error's sentence, in
        the member's language."""
        language = _language(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            text = await work(language)
        except Exception as error:
            if not isinstance(error, ConciergeError):
                log.exception("slash command failed")
            text = error_sentence(error, language)
        mentions = discord.AllowedMentions.none()
        for chunk in split_message(text):
            await interaction.followup.send(chunk, ephemeral=True, allowed_mentions=mentions)

    @staticmethod
    def who(interaction: discord.Interaction) -> tuple[Place, Caller]:
        """Where a command was used and by whom, as the facade's plain values."""
        channel = interaction.channel or discord.Object(id=interaction.channel_id or 0)
        if interaction.guild is None:
            return place_of(channel, None), caller_of(interaction.user)
        return place_of(channel, interaction.guild), caller_of(interaction.user, permissions=interaction.permissions)


def _language(interaction: discord.Interaction) -> Language:
    """The member's language, from their Discord client's locale."""
    return language_of(getattr(interaction, "locale", None))


def _choices(options: Sequence[str], current: str) -> list[app_commands.Choice[str]]:
    needle = current.strip().lower()
    matches = [option for option in dict.fromkeys(options) if needle in option.lower()]
    return [app_commands.Choice(name=option, value=option) for option in matches[:AUTOCOMPLETE_LIMIT]]


def build_commands(handlers: CommandHandlers) -> list[CommandLike]:
    """The slash commands, as app_commands objects forwarding to `handlers`."""

    @app_commands.command(name="ask", description=described("cmd.ask"))
    @app_commands.describe(prompt=described("cmd.ask.prompt"), tool=described("cmd.ask.tool"))
    async def ask(interaction: discord.Interaction, prompt: str, tool: str = "auto") -> None:
        await handlers.ask(interaction, prompt=prompt, tool=tool)

    ask.autocomplete("tool")(handlers.ask_tool_choices)

    tools = app_commands.Group(name="tools", description=described("cmd.tools"))

    @tools.command(name="list", description=described("cmd.tools.list"))
    async def tools_list(interaction: discord.Interaction) -> None:
        await handlers.tools_list(interaction)

    admin = app_commands.Group(
        name="tooladmin",
        description=described("cmd.tooladmin"),
        guild_only=True,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        default_permissions=discord.Permissions(manage_guild=True),
    )

    @admin.command(name="enable", description=described("cmd.tooladmin.enable"))
    async def enable(interaction: discord.Interaction, tool: str) -> None:
        await handlers.set_enabled(interaction, tool=tool, enabled=True)

    @admin.command(name="disable", description=described("cmd.tooladmin.disable"))
    async def disable(interaction: discord.Interaction, tool: str) -> None:
        await handlers.set_enabled(interaction, tool=tool, enabled=False)

    @admin.command(name="allow", description=described("cmd.tooladmin.allow"))
    async def allow(interaction: discord.Interaction, tool: str, role: discord.Role) -> None:
        await handlers.allow_role(interaction, tool=tool, role=role)

    @admin.command(name="revoke", description=described("cmd.tooladmin.revoke"))
    async def revoke(interaction: discord.Interaction, tool: str, role: discord.Role) -> None:
        await handlers.revoke_role(interaction, tool=tool, role=role)

    @admin.command(name="confirm", description=described("cmd.tooladmin.confirm"))
    @app_commands.describe(tool=described("cmd.tooladmin.confirm.tool"), mode=described("cmd.tooladmin.confirm.mode"))
    async def confirm(interaction: discord.Interaction, tool: str, mode: ConfirmMode) -> None:
        await handlers.set_confirm(interaction, tool=tool, mode=mode)

    tool_commands: tuple[app_commands.Command[Any, ..., Any], ...] = (enable, disable, allow, revoke, confirm)
    for command in tool_commands:
        command.autocomplete("tool")(handlers.tool_name_choices)

    @app_commands.command(name="audit", description=described("cmd.audit"))
    @app_commands.describe(tool=described("cmd.audit.tool"), user=described("cmd.audit.user"))
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def audit(
        interaction: discord.Interaction, tool: str | None = None, user: discord.User | None = None
    ) -> None:
        await handlers.audit(interaction, tool=tool, user=user)

    audit.autocomplete("tool")(handlers.tool_name_choices)

    history = app_commands.Group(name="history", description=described("cmd.history"))

    @history.command(name="clear", description=described("cmd.history.clear"))
    async def history_clear(interaction: discord.Interaction) -> None:
        await handlers.history_clear(interaction)

    return [ask, tools, admin, audit, history]


def install_commands(
    tree: app_commands.CommandTree[Any], concierge: Concierge, confirmations: Confirmations | None = None
) -> CommandHandlers:
    """Add every slash command to `tree`; returns the handlers they forward to."""
    handlers = CommandHandlers(concierge, confirmations)
    for command in [*build_commands(handlers), *build_spending_commands(handlers)]:
        tree.add_command(command)
    return handlers
