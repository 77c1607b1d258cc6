"""/ask: a question with a tool choice, answered in a thread of its own (or in place where threads do not exist)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.discord_adapter.interactions import Origin, choices, concierge_of, origin_of
from bot.discord_adapter.messages import say
from bot.discord_adapter.render import (
    allowed_mentions,
    file_label,
    place_of,
    shared_files,
    split_message,
    thread_name,
)
from bot.discord_adapter.translator import described
from bot.discord_adapter.turns import (
    TEXT_CHANNEL_TYPES,
    THREAD_ARCHIVE_MINUTES,
    Outlet,
    Question,
    answer_live,
    thread_failure_note,
)
from bot.engine.api import TOOL_CHOICE_MODES

if TYPE_CHECKING:
    from bot.concierge import Concierge
    from bot.discord_adapter.confirm import Confirmations

log = logging.getLogger(__name__)


class ToolChoice(app_commands.Transformer):
    """The `tool` option of /ask: a mode (auto, required, none) or a tool this member may use here."""

    async def transform(self, interaction: discord.Interaction[Any], value: Any, /) -> str:
        """The choice as typed; blank means auto."""
        return str(value).strip() or "auto"

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction[Any], value: str, /
    ) -> list[app_commands.Choice[str]]:
        """The three modes, then the tools this member may use here."""
        origin = origin_of(interaction)
        try:
            names = await concierge_of(interaction).usable_tools(origin.place, origin.caller)
        except Exception:
            log.exception("listing usable tools for autocomplete failed")
            names = []
        return choices([*TOOL_CHOICE_MODES, *names], value)


ToolChoiceOption = app_commands.Transform[str, ToolChoice]


def ask_command(
    concierge: Concierge, confirmations: Confirmations | None = None
) -> app_commands.Command[Any, ..., None]:
    """The /ask command: refused privately (before any model call) when the tool choice is not allowed; otherwise
    acknowledged publicly and answered in a new thread from a text channel, in place elsewhere."""

    @app_commands.command(name="ask", description=described("cmd.ask"))
    @app_commands.describe(
        prompt=described("cmd.ask.prompt"), tool=described("cmd.ask.tool"), file=described("cmd.ask.file")
    )
    async def ask(
        interaction: discord.Interaction[Any],
        prompt: str,
        tool: ToolChoiceOption = "auto",
        file: discord.Attachment | None = None,
    ) -> None:
        origin = origin_of(interaction)
        await concierge.check_tool_choice(origin.place, origin.caller, tool)
        await interaction.response.defer(thinking=True)
        question = Question(
            place=origin.place,
            caller=origin.caller,
            text=prompt,
            language=origin.language,
            tool_choice=tool,
            quiet_repeats=False,
            files=shared_files([file] if file is not None else []),
        )
        thread, notes = await _open_thread(interaction, origin, prompt)
        if thread is not None:
            await _answer_in_thread(concierge, interaction, thread, question, confirmations)
            return
        channel: discord.abc.Messageable | None = interaction.channel  # type: ignore[assignment]
        outlet = Outlet(first=interaction.followup.send, channel=channel, typing=False)
        await answer_live(concierge, replace(question, notes=notes), outlet, confirmations=confirmations)

    return ask


async def _open_thread(
    interaction: discord.Interaction[Any], origin: Origin, prompt: str
) -> tuple[discord.Thread | None, tuple[str, ...]]:
    """A public thread for the question when asked in a server's text channel; else None, with a note when
    Discord refused the thread."""
    channel = interaction.channel
    if channel is None or interaction.guild is None or channel.type not in TEXT_CHANNEL_TYPES:
        return None, ()
    try:
        thread = await channel.create_thread(  # type: ignore[union-attr, call-overload]
            name=thread_name(prompt, fallback=say(origin.language, "thread.question_from", name=origin.caller.name)),
            type=discord.ChannelType.public_thread,
            auto_archive_duration=THREAD_ARCHIVE_MINUTES,
        )
    except discord.HTTPException as error:
        log.warning("could not open a thread for /ask in %s: %s", origin.place.channel_id, error)
        return None, (thread_failure_note(error, origin.language),)
    return thread, ()


async def _answer_in_thread(
    concierge: Concierge,
    interaction: discord.Interaction[Any],
    thread: discord.Thread,
    question: Question,
    confirmations: Confirmations | None,
) -> None:
    """Link the new thread, copy the question into it, remember it as the bot's, and answer there."""
    language, mentions = question.language, allowed_mentions(interaction.user.id)
    await interaction.followup.send(
        say(language, "ask.thread_opened", thread=thread.mention), allowed_mentions=mentions
    )
    asked = say(language, "ask.asked", name=question.caller.name, prompt=question.text)
    if question.files:
        asked += "\n" + say(language, "ask.attached", files=[file_label(file.filename) for file in question.files])
    for chunk in split_message(asked):
        await thread.send(chunk, allowed_mentions=mentions)
    in_thread = replace(question, place=place_of(thread, interaction.guild))
    await concierge.start_conversation(thread=in_thread.place, starter=question.caller)
    await answer_live(concierge, in_thread, Outlet(first=thread.send, channel=thread), confirmations=confirmations)
