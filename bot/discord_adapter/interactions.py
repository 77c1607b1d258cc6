"""What every slash command shares: where and from whom it came, private replies, the tool option, one error handler."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.discord_adapter.messages import Language, language_of
from bot.discord_adapter.render import caller_of, error_sentence, place_of, split_message
from bot.engine.errors import ConciergeError
from bot.engine.permissions import Caller, Place

if TYPE_CHECKING:
    from bot.concierge import Concierge

log = logging.getLogger(__name__)

AUTOCOMPLETE_LIMIT = 25


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an interaction came from and who sent it, as the facade's values, and the member's language."""

    place: Place
    caller: Caller
    language: Language


def origin_of(interaction: discord.Interaction[Any]) -> Origin:
    """The place, caller and language of a slash command or button press (the language of the member's client)."""
    channel = interaction.channel or discord.Object(id=interaction.channel_id or 0)
    language = language_of_member(interaction)
    if interaction.guild is None:
        return Origin(place=place_of(channel, None), caller=caller_of(interaction.user), language=language)
    caller = caller_of(interaction.user, permissions=interaction.permissions)
    return Origin(place=place_of(channel, interaction.guild), caller=caller, language=language)


def language_of_member(interaction: discord.Interaction[Any]) -> Language:
    """The language of the member's Discord client, for anything said to them alone."""
    return language_of(getattr(interaction, "locale", None))


def concierge_of(interaction: discord.Interaction[Any]) -> Concierge:
    """The facade of the bot that received `interaction` (an option's autocomplete runs without the command's
    group, so it finds the facade on the client, as discord.py intends)."""
    concierge: Concierge = interaction.client.concierge
    return concierge


async def defer_privately(interaction: discord.Interaction[Any]) -> Origin:
    """Acknowledge the command at once (Discord allows three seconds), privately; returns where it came from."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    return origin_of(interaction)


async def reply_privately(interaction: discord.Interaction[Any], text: str) -> None:
    """Answer with `text`, seen only by the member, in as many messages as it takes; mentions never ping."""
    mentions = discord.AllowedMentions.none()
    chunks = split_message(text)
    if not interaction.response.is_done():
        await interaction.response.send_message(chunks.pop(0), ephemeral=True, allowed_mentions=mentions)
    for chunk in chunks:
        await interaction.followup.send(chunk, ephemeral=True, allowed_mentions=mentions)


async def answer_command_error(interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
    """The one error handler of every slash command: a ConciergeError becomes its sentence, anything else is logged
    and becomes a generic apology; either way privately, in the member's language."""
    cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if not isinstance(cause, ConciergeError):
        command = getattr(interaction, "command", None)
        name = command.qualified_name if command is not None else "?"
        log.error("slash command /%s failed", name, exc_info=cause)
    try:
        await reply_privately(interaction, error_sentence(cause, origin_of(interaction).language))
    except discord.HTTPException as failure:
        log.warning("could not tell the member that a slash command failed: %s", failure)


def choices(options: Iterable[str], current: str) -> list[app_commands.Choice[str]]:
    """The autocomplete choices among `options` that contain what the member typed so far."""
    needle = current.strip().lower()
    matches = [option for option in dict.fromkeys(options) if needle in option.lower()]
    return [app_commands.Choice(name=option, value=option) for option in matches[:AUTOCOMPLETE_LIMIT]]


class ToolName(app_commands.Transformer):
    """The `tool` option of the admin commands: the name of any tool the bot knows, offered as the member types."""

    async def transform(self, interaction: discord.Interaction[Any], value: Any, /) -> str:
        """The name as typed (the facade says which names exist when one does not)."""
        return str(value).strip()

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction[Any], value: str, /
    ) -> list[app_commands.Choice[str]]:
        """Every tool the bot knows whose name contains what was typed."""
        return choices(concierge_of(interaction).tool_names(), value)


ToolOption = app_commands.Transform[str, ToolName]
