"""Slash commands: /ask, /tools list, /tooladmin, /audit, /history clear — each defers, calls the facade, follows up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands

from bot.discord_adapter.render import (
    GENERIC_FAILURE,
    Outgoing,
    allowed_mentions,
    call_line,
    caller_of,
    place_of,
    render_reply,
    split_message,
    thread_name,
)
from bot.discord_adapter.usage_commands import build_spending_commands
from bot.engine.errors import ConciergeError
from bot.engine.permissions import Caller, ConfirmMode, Place
from bot.pacing import SlowDown

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from bot.concierge import AuditEntry, Concierge, ToolStatus, TurnSurface
    from bot.discord_adapter.confirm import Confirmations

log = logging.getLogger(__name__)

ASK_MODES: tuple[str, ...] = ("auto", "required", "none")
AUTOCOMPLETE_LIMIT = 25
THREAD_ARCHIVE_MINUTES: Literal[60, 1440, 4320, 10080] = 1440
CODE_THREAD_EXISTS = 160004
CODE_THREAD_LIMIT = 160006
NOTE_THREAD_LIMIT = "This server has reached its limit of active threads, so I'm answering here instead."
NOTE_THREAD_FORBIDDEN = "I'm not allowed to create threads here, so I'm answering in the channel."
NOTE_THREAD_FAILED = "I couldn't open a thread, so I'm answering here instead."
THREAD_CHANNEL_TYPES = frozenset(
    {discord.ChannelType.public_thread, discord.ChannelType.private_thread, discord.ChannelType.news_thread}
)
TEXT_CHANNEL_TYPES = frozenset({discord.ChannelType.text, discord.ChannelType.news})

Send = Callable[..., Awaitable[Any]]
CommandLike = app_commands.Command[Any, ..., Any] | app_commands.Group


def thread_failure_note(error: discord.HTTPException) -> str:
    """The short note shown in the channel when a thread could not be opened."""
    if error.code == CODE_THREAD_LIMIT:
        return NOTE_THREAD_LIMIT
    if isinstance(error, discord.Forbidden):
        return NOTE_THREAD_FORBIDDEN
    return NOTE_THREAD_FAILED


async def converse(
    concierge: Concierge,
    *,
    place: Place,
    caller: Caller,
    text: str,
    tool_choice: str = "auto",
    notes: Sequence[str] = (),
    surface: TurnSurface | None = None,
    quiet_repeats: bool = True,
) -> list[Outgoing]:
    """Run one turn and render it; a facade error becomes its one sentence, a bug a logged generic apology.

    With `quiet_repeats`, a repeated refusal of a member over their turn rate is answered by silence (an empty
    list), so a flood of messages is not answered by a flood of refusals; a slash command is always answered.
    """
    try:
        reply = await concierge.chat(place, caller, text, tool_choice=tool_choice, surface=surface)
    except SlowDown as error:
        log.info("turn refused for user %s: %s", caller.user_id, error)
        return [Outgoing(content=error.user_message)] if error.first or not quiet_repeats else []
    except ConciergeError as error:
        log.info("turn refused in channel %s: %s", place.channel_id, error)
        return [Outgoing(content=" ".join([error.user_message, *notes]))]
    except Exception:
        log.exception("turn failed in channel %s for user %s", place.channel_id, caller.user_id)
        return [Outgoing(content=GENERIC_FAILURE)]
    return render_reply(reply, extra_notes=notes)


async def deliver(send: Send, outgoing: Sequence[Outgoing], *, asker_id: int, **options: Any) -> None:
    """Send rendered messages in order through `send` (channel.send, message.reply or followup.send)."""
    mentions = allowed_mentions(asker_id)
    for message in outgoing:
        extra = {"embed": message.embed} if message.embed is not None else {}
        await send(message.content, allowed_mentions=mentions, **extra, **options)


async def converse_while_typing(channel: discord.abc.Messageable, concierge: Concierge, **turn: Any) -> list[Outgoing]:
    """Run `converse` with the typing indicator on; the turn starts first, so waiting on Discord to show the
    indicator can never let a later message of the same channel overtake this one."""
    running = asyncio.create_task(converse(concierge, **turn))
    async with typing_in(channel):
        return await running


@asynccontextmanager
async def typing_in(channel: discord.abc.Messageable) -> AsyncIterator[None]:
    """Show the typing indicator while the block runs; a channel that refuses it does not stop the turn."""
    async with AsyncExitStack() as stack:
        with suppress(discord.HTTPException):
            await stack.enter_async_context(channel.typing())
        yield


def format_tool_status(status: ToolStatus) -> str:
    """One /tools list entry: whether the tool is on, whether the caller may use it, which roles are allowed."""
    mark = "⏸" if not status.enabled else ("✓" if status.usable else "✗")
    description = status.description.strip().split("\n")[0]
    if len(description) > 90:
        description = description[:89] + "…"
    details: list[str] = []
    if not status.enabled:
        details.append("disabled in this server")
    elif not status.usable:
        details.append(f"not for you: {status.reason}" if status.reason else "not for you")
    if status.confirm:
        details.append("asks the member to confirm each call")
    if status.allowed_role_ids:
        details.append("roles: " + ", ".join(f"<@&{role}>" for role in sorted(status.allowed_role_ids, key=int)))
    elif status.restricted:
        details.append("admins only until a role is allowed")
    line = f"{mark} `{status.name}` — {description}"
    return line + ("\n    " + " · ".join(details) if details else "")


def format_audit_entry(entry: AuditEntry) -> str:
    """One /audit line: id, relative time, who, and the call or the policy change."""
    head = f"`#{entry.id}` <t:{int(entry.at.timestamp())}:R> **{entry.user_name}**"
    if entry.kind in ("policy", "quota"):
        return f"{head} ⚙ `{entry.tool}`: {entry.summary}"
    if entry.kind == "confirmation":
        return f"{head} ☐ `{entry.tool}` confirmation {entry.outcome.replace('_', ' ')}" + (
            f" — {entry.summary}" if entry.summary else ""
        )
    line = call_line(tool=entry.tool, arguments=entry.arguments, outcome=entry.outcome, duration_ms=entry.duration_ms)
    return f"{head} {line}" + (f" — {entry.summary}" if entry.summary else "")


class CommandHandlers:
    """What each slash command does; the app_commands definitions below only forward to these methods."""

    def __init__(self, concierge: Concierge, confirmations: Confirmations | None = None) -> None:
        self.concierge = concierge
        self.confirmations = confirmations

    def _surface(self, channel: discord.abc.Messageable | None, asker_id: int) -> TurnSurface | None:
        """How a turn answered in `channel` asks its member to confirm (None: nothing can be confirmed)."""
        if self.confirmations is None or channel is None:
            return None
        return self.confirmations.surface(channel, asker_id=asker_id)

    # -- /ask ------------------------------------------------------------------------------------------------

    async def ask(self, interaction: discord.Interaction, *, prompt: str, tool: str = "auto") -> None:
        """Answer `prompt`; in a text channel open a thread for it, elsewhere answer in place."""
        place, caller = self._who(interaction)
        tool_choice = tool.strip() or "auto"
        try:
            await self.concierge.check_tool_choice(place, caller, tool_choice)
        except ConciergeError as error:
            await interaction.response.send_message(error.user_message, ephemeral=True)
            return
        except Exception:
            log.exception("checking tool choice %r failed", tool_choice)
            await interaction.response.send_message(GENERIC_FAILURE, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        try:
            await self._answer_ask(interaction, place, caller, prompt=prompt, tool_choice=tool_choice)
        except Exception:
            log.exception("/ask failed in channel %s", place.channel_id)
            with suppress(discord.HTTPException):
                await interaction.followup.send(GENERIC_FAILURE, allowed_mentions=discord.AllowedMentions.none())

    async def _answer_ask(
        self, interaction: discord.Interaction, place: Place, caller: Caller, *, prompt: str, tool_choice: str
    ) -> None:
        asker = interaction.user.id
        notes: tuple[str, ...] = ()
        channel = interaction.channel
        if channel is not None and interaction.guild is not None and channel.type in TEXT_CHANNEL_TYPES:
            try:
                thread = await channel.create_thread(  # type: ignore[union-attr, call-overload]
                    name=thread_name(prompt, fallback=f"Question from {caller.name}"),
                    type=discord.ChannelType.public_thread,
                    auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                )
            except discord.HTTPException as error:
                log.warning("could not open a thread for /ask in %s: %s", place.channel_id, error)
                notes = (thread_failure_note(error),)
            else:
                await self._answer_in_new_thread(interaction, thread, caller, prompt=prompt, tool_choice=tool_choice)
                return
        outgoing = await converse(
            self.concierge,
            place=place,
            caller=caller,
            text=prompt,
            tool_choice=tool_choice,
            notes=notes,
            surface=self._surface(channel, asker),  # type: ignore[arg-type]
            quiet_repeats=False,
        )
        await deliver(interaction.followup.send, outgoing, asker_id=asker)

    async def _answer_in_new_thread(
        self, interaction: discord.Interaction, thread: discord.Thread, caller: Caller, *, prompt: str, tool_choice: str
    ) -> None:
        asker = interaction.user.id
        mentions = allowed_mentions(asker)
        await interaction.followup.send(f"I opened {thread.mention} for your question.", allowed_mentions=mentions)
        for chunk in split_message(f"**{caller.name}** asked:\n{prompt}"):
            await thread.send(chunk, allowed_mentions=mentions)
        place = place_of(thread, interaction.guild)
        await self.concierge.start_conversation(thread=place, starter=caller)
        outgoing = await converse_while_typing(
            thread,
            self.concierge,
            place=place,
            caller=caller,
            text=prompt,
            tool_choice=tool_choice,
            surface=self._surface(thread, asker),
            quiet_repeats=False,
        )
        await deliver(thread.send, outgoing, asker_id=asker)

    async def ask_tool_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Autocomplete for /ask tool: the three modes, then the tools this member may use here."""
        place, caller = self._who(interaction)
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
        place, caller = self._who(interaction)

        async def work() -> str:
            statuses = await self.concierge.tools_for(place, caller)
            if not statuses:
                return "No tools are available here."
            where = f"in **{place.guild_name}**" if place.guild_name else "here"
            return f"Tools {where}:\n" + "\n".join(format_tool_status(status) for status in statuses)

        await self._ephemeral(interaction, work)

    async def set_enabled(self, interaction: discord.Interaction, *, tool: str, enabled: bool) -> None:
        """/tooladmin enable|disable."""
        place, caller = self._who(interaction)
        await self._ephemeral(interaction, lambda: self.concierge.set_enabled(place, caller, tool, enabled))

    async def set_confirm(self, interaction: discord.Interaction, *, tool: str, mode: ConfirmMode) -> None:
        """/tooladmin confirm."""
        place, caller = self._who(interaction)
        await self._ephemeral(interaction, lambda: self.concierge.set_confirm(place, caller, tool, mode))

    async def allow_role(self, interaction: discord.Interaction, *, tool: str, role: discord.Role) -> None:
        """/tooladmin allow."""
        place, caller = self._who(interaction)
        await self._ephemeral(
            interaction, lambda: self.concierge.allow_role(place, caller, tool, str(role.id), role.name)
        )

    async def revoke_role(self, interaction: discord.Interaction, *, tool: str, role: discord.Role) -> None:
        """/tooladmin revoke."""
        place, caller = self._who(interaction)
        await self._ephemeral(
            interaction, lambda: self.concierge.revoke_role(place, caller, tool, str(role.id), role.name)
        )

    async def audit(
        self, interaction: discord.Interaction, *, tool: str | None = None, user: discord.abc.User | None = None
    ) -> None:
        """/audit: recent tool calls and policy changes, newest first."""
        place, caller = self._who(interaction)

        async def work() -> str:
            entries = await self.concierge.audit(
                place, caller, tool=tool or None, user_id=None if user is None else str(user.id)
            )
            if not entries:
                return "No matching audit entries."
            return "\n".join(format_audit_entry(entry) for entry in entries)

        await self._ephemeral(interaction, work)

    async def history_clear(self, interaction: discord.Interaction) -> None:
        """/history clear: forget this channel's conversation."""
        place, caller = self._who(interaction)

        async def work() -> str:
            removed = await self.concierge.clear_history(place, caller)
            if removed == 0:
                return "There was no history to clear here."
            return f"Cleared this conversation's history ({removed} item{'s' if removed != 1 else ''})."

        await self._ephemeral(interaction, work)

    async def _ephemeral(self, interaction: discord.Interaction, work: Callable[[], Awaitable[str]]) -> None:
        """Acknowledge at once (ephemeral), run `work`, and follow up with its text or the error's sentence."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            text = await work()
        except ConciergeError as error:
            text = error.user_message
        except Exception:
            log.exception("slash command failed")
            text = GENERIC_FAILURE
        mentions = discord.AllowedMentions.none()
        for chunk in split_message(text):
            await interaction.followup.send(chunk, ephemeral=True, allowed_mentions=mentions)

    @staticmethod
    def _who(interaction: discord.Interaction) -> tuple[Place, Caller]:
        channel = interaction.channel or discord.Object(id=interaction.channel_id or 0)
        if interaction.guild is None:
            return place_of(channel, None), caller_of(interaction.user)
        return place_of(channel, interaction.guild), caller_of(interaction.user, permissions=interaction.permissions)


def _choices(options: Sequence[str], current: str) -> list[app_commands.Choice[str]]:
    needle = current.strip().lower()
    matches = [option for option in dict.fromkeys(options) if needle in option.lower()]
    return [app_commands.Choice(name=option, value=option) for option in matches[:AUTOCOMPLETE_LIMIT]]


def build_commands(handlers: CommandHandlers) -> list[CommandLike]:
    """The slash commands, as app_commands objects forwarding to `handlers`."""

    @app_commands.command(name="ask", description="Ask the assistant; it may use this server's tools.")
    @app_commands.describe(prompt="What you want to ask", tool="auto (default), required, none, or one tool to use")
    async def ask(interaction: discord.Interaction, prompt: str, tool: str = "auto") -> None:
        await handlers.ask(interaction, prompt=prompt, tool=tool)

    ask.autocomplete("tool")(handlers.ask_tool_choices)

    tools = app_commands.Group(name="tools", description="The assistant's tools")

    @tools.command(name="list", description="Which tools are on here, and which you may use")
    async def tools_list(interaction: discord.Interaction) -> None:
        await handlers.tools_list(interaction)

    admin = app_commands.Group(
        name="tooladmin",
        description="Manage the assistant's tools in this server (admins)",
        guild_only=True,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        default_permissions=discord.Permissions(manage_guild=True),
    )

    @admin.command(name="enable", description="Turn a tool on in this server")
    async def enable(interaction: discord.Interaction, tool: str) -> None:
        await handlers.set_enabled(interaction, tool=tool, enabled=True)

    @admin.command(name="disable", description="Turn a tool off in this server")
    async def disable(interaction: discord.Interaction, tool: str) -> None:
        await handlers.set_enabled(interaction, tool=tool, enabled=False)

    @admin.command(name="allow", description="Let members with a role use a tool")
    async def allow(interaction: discord.Interaction, tool: str, role: discord.Role) -> None:
        await handlers.allow_role(interaction, tool=tool, role=role)

    @admin.command(name="revoke", description="Take a role off a tool's allow-list")
    async def revoke(interaction: discord.Interaction, tool: str, role: discord.Role) -> None:
        await handlers.revoke_role(interaction, tool=tool, role=role)

    @admin.command(name="confirm", description="Whether members must confirm each call of a tool before it runs")
    @app_commands.describe(
        tool="The tool", mode="always: ask with buttons first (default for tools with side effects); never: just run"
    )
    async def confirm(interaction: discord.Interaction, tool: str, mode: ConfirmMode) -> None:
        await handlers.set_confirm(interaction, tool=tool, mode=mode)

    tool_commands: tuple[app_commands.Command[Any, ..., Any], ...] = (enable, disable, allow, revoke, confirm)
    for command in tool_commands:
        command.autocomplete("tool")(handlers.tool_name_choices)

    @app_commands.command(name="audit", description="Recent tool calls and policy changes (admins)")
    @app_commands.describe(tool="Only this tool", user="Only this member")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def audit(
        interaction: discord.Interaction, tool: str | None = None, user: discord.User | None = None
    ) -> None:
        await handlers.audit(interaction, tool=tool, user=user)

    audit.autocomplete("tool")(handlers.tool_name_choices)

    history = app_commands.Group(name="history", description="This conversation's history")

    @history.command(name="clear", description="Forget this channel's conversation (thread starter or admin)")
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
