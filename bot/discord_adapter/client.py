"""The Discord client: which messages to answer, where (thread or in place), and command registration."""

from __future__ import annotations

import asyncio
import enum
import hashlib
import json
import logging
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.discord_adapter.commands import install_commands
from bot.discord_adapter.confirm import Confirmations
from bot.discord_adapter.messages import ENGLISH, Language, language_of, say
from bot.discord_adapter.render import (
    allowed_mentions,
    caller_of,
    place_of,
    shared_files,
    strip_bot_mention,
    thread_name,
)
from bot.discord_adapter.translator import CatalogTranslator
from bot.discord_adapter.turns import (
    CODE_THREAD_EXISTS,
    TEXT_CHANNEL_TYPES,
    THREAD_ARCHIVE_MINUTES,
    THREAD_CHANNEL_TYPES,
    Outlet,
    Question,
    answer_live,
    thread_failure_note,
)

if TYPE_CHECKING:
    from bot.concierge import Concierge

log = logging.getLogger(__name__)

ANSWERED_MESSAGE_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})
HANDLER_GRACE_SECONDS = 15.0


class Route(enum.Enum):
    """What to do with an incoming message."""

    IGNORE = "ignore"
    ANSWER_IN_PLACE = "answer in place"
    OPEN_THREAD = "open a thread"


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """The few facts about a message that decide whether and where the bot answers."""

    from_bot: bool
    is_system: bool
    is_dm: bool
    in_text_channel: bool
    mentions_bot: bool
    in_bot_thread: bool


def route(facts: MessageFacts) -> Route:
    """Decide where to answer; the precedence reads top-down."""
    if facts.from_bot or facts.is_system:
        return Route.IGNORE
    if facts.is_dm or facts.in_bot_thread:
        return Route.ANSWER_IN_PLACE
    if not facts.mentions_bot:
        return Route.IGNORE
    if facts.in_text_channel:
        return Route.OPEN_THREAD
    return Route.ANSWER_IN_PLACE


@dataclass(frozen=True, slots=True)
class Destination:
    """Where an answer goes, a note when that is not where the member expected, and whether to record the thread."""

    channel: discord.abc.Messageable
    note: str | None = None
    register: bool = False

    @property
    def notes(self) -> tuple[str, ...]:
        """The note, as the notes under the answer."""
        return (self.note,) if self.note else ()


class MessageRouter:
    """Answers messages: routes them, opens threads, runs the turn with a typing indicator, sends the reply."""

    def __init__(
        self, concierge: Concierge, confirmations: Confirmations | None = None, *, progress_grace: float = 0.0
    ) -> None:
        self.concierge = concierge
        self.confirmations = confirmations
        self.progress_grace = progress_grace

    async def facts(self, message: discord.Message, *, me: discord.abc.User) -> MessageFacts:
        """The routing facts for `message`, as seen by the bot user `me`."""
        channel_type = getattr(message.channel, "type", None)
        in_thread = channel_type in THREAD_CHANNEL_TYPES
        return MessageFacts(
            from_bot=message.author.bot or message.author.id == me.id,
            is_system=message.type not in ANSWERED_MESSAGE_TYPES,
            is_dm=message.guild is None,
            in_text_channel=channel_type in TEXT_CHANNEL_TYPES,
            mentions_bot=self._mentions(message, me=me),
            in_bot_thread=in_thread and await self.concierge.is_conversation(str(message.channel.id)),
        )

    @staticmethod
    def _mentions(message: discord.Message, *, me: discord.abc.User) -> bool:
        if any(user.id == me.id for user in message.mentions):
            return True
        own_role = message.guild.self_role if message.guild is not None else None
        return own_role is not None and any(role.id == own_role.id for role in message.role_mentions)

    async def handle(self, message: discord.Message, *, me: discord.abc.User) -> None:
        """Answer `message` if it is meant for the bot; a failure is logged and told to the member in one sentence."""
        decision = route(await self.facts(message, me=me))
        if decision is Route.IGNORE:
            return
        language = language_of_message(message)
        try:
            await self._answer(message, me=me, open_thread=decision is Route.OPEN_THREAD, language=language)
        except Exception:
            log.exception("answering message %s in channel %s failed", message.id, message.channel.id)
            with suppress(discord.HTTPException):
                await message.channel.send(
                    say(language, "failure.generic"), allowed_mentions=discord.AllowedMentions.none()
                )

    async def _answer(
        self, message: discord.Message, *, me: discord.abc.User, open_thread: bool, language: Language
    ) -> None:
        own_role = message.guild.self_role if message.guild is not None else None
        text = strip_bot_mention(
            message.content,
            bot_id=me.id,
            bot_name=getattr(me, "display_name", None) or me.name,
            role_id=None if own_role is None else own_role.id,
        )
        reply_to_message = partial(message.channel.send, reference=message.to_reference(fail_if_not_exists=False))
        files = shared_files(getattr(message, "attachments", None) or ())
        if not text and not files:
            hint = say(language, "hint.no_text" if getattr(message, "stickers", None) else "hint.empty_mention")
            await reply_to_message(hint, allowed_mentions=allowed_mentions(message.author.id))
            return
        caller = caller_of(message.author)
        destination = (
            await self.open_thread(message, text, language=language)
            if open_thread
            else Destination(channel=message.channel)
        )
        place = place_of(destination.channel, message.guild)  # type: ignore[arg-type]
        if destination.register:
            await self.concierge.start_conversation(thread=place, starter=caller)
        question = Question(
            place=place, caller=caller, text=text, language=language, notes=destination.notes, files=files
        )
        outlet = Outlet(
            first=reply_to_message if destination.channel is message.channel else destination.channel.send,
            rest=destination.channel.send,
            channel=destination.channel,
            grace=self.progress_grace,
        )
        await answer_live(self.concierge, question, outlet, confirmations=self.confirmations)

    async def open_thread(self, message: discord.Message, text: str, *, language: Language = ENGLISH) -> Destination:
        """A public thread from `message`; the existing one if Discord says it exists; else the channel with a note."""
        name = thread_name(text, fallback=say(language, "thread.chat_with", name=message.author.display_name))
        try:
            thread = await message.create_thread(name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES)
        except discord.HTTPException as error:
            if error.code == CODE_THREAD_EXISTS:
                existing = await self._existing_thread(message)
                if existing is not None:
                    known = await self.concierge.is_conversation(str(existing.id))
                    return Destination(channel=existing, register=not known)
            log.warning("could not open a thread in channel %s: %s", message.channel.id, error)
            return Destination(channel=message.channel, note=thread_failure_note(error, language))
        return Destination(channel=thread, register=True)

    @staticmethod
    async def _existing_thread(message: discord.Message) -> discord.Thread | None:
        """The thread already started from `message` (its id is the message's id), from the cache or the API."""
        if message.thread is not None:
            return message.thread
        if message.guild is None:
            return None
        try:
            channel = await message.guild.fetch_channel(message.id)
        except discord.HTTPException as error:
            log.warning("the thread for message %s exists but could not be fetched: %s", message.id, error)
            return None
        return channel if getattr(channel, "type", None) in THREAD_CHANNEL_TYPES else None  # type: ignore[return-value]


def language_of_message(message: discord.Message) -> Language:
    """The language to answer a message in: its server's preferred locale (messages carry no member locale)."""
    return language_of(getattr(message.guild, "preferred_locale", None))


async def commands_fingerprint(tree: app_commands.CommandTree[Any]) -> str:
    """A hash of the global command set as Discord would receive it, translations included (plus the application
    id): built the way CommandTree.sync builds its payload."""
    translator = tree.translator
    if translator is not None:
        built = [await command.get_translated_payload(tree, translator) for command in tree.get_commands()]
    else:
        built = [command.to_dict(tree) for command in tree.get_commands()]
    payload = sorted(built, key=lambda c: (c["type"], c["name"]))
    material = json.dumps(
        {"application_id": tree.client.application_id, "commands": payload}, sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(material.encode()).hexdigest()


async def sync_if_changed(tree: app_commands.CommandTree[Any], *, hash_file: Path) -> bool:
    """Sync the global commands only when they differ from the last sync recorded in `hash_file`; True if synced."""
    fingerprint = await commands_fingerprint(tree)
    if _read_fingerprint(hash_file) == fingerprint:
        log.info("slash commands unchanged; not syncing")
        return False
    synced = await tree.sync()
    _write_fingerprint(hash_file, fingerprint)
    log.info("synced %d slash commands", len(synced))
    return True


def _read_fingerprint(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None


def _write_fingerprint(path: Path, fingerprint: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(fingerprint + "\n", encoding="utf-8")


class ConciergeBot(discord.AutoShardedClient):
    """The Discord client: routes messages to the Concierge, registers slash commands on start-up.

    Sharded: it runs `shard_ids` of `shard_count` shards (all of them if None); the default, one shard of one, is the
    single connection of an unsharded bot. Discord sends every event of a guild to one shard (DMs to shard 0), so a
    channel's messages all reach the one process that runs its shard. Only `sync_commands` processes register the
    slash commands: the one running shard 0.
    """

    def __init__(
        self,
        concierge: Concierge,
        *,
        commands_hash_file: Path,
        confirm_timeout: float = 120.0,
        shard_count: int = 1,
        shard_ids: Sequence[int] | None = None,
        sync_commands: bool = True,
        progress_grace: float = 0.0,
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        super().__init__(
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            shard_count=shard_count,
            shard_ids=list(range(shard_count) if shard_ids is None else shard_ids),
        )
        self.concierge = concierge
        self.commands_hash_file = commands_hash_file
        self.sync_commands = sync_commands
        self.confirmations = Confirmations(self, timeout=confirm_timeout)
        self.tree: app_commands.CommandTree[ConciergeBot] = app_commands.CommandTree(self)
        install_commands(self.tree, concierge, self.confirmations)
        self.router = MessageRouter(concierge, self.confirmations, progress_grace=progress_grace)
        self._in_flight: set[asyncio.Task[object]] = set()
        self._closing = False

    async def setup_hook(self) -> None:
        """Register the slash commands (descriptions translated), syncing only when they changed, and only in the
        process running shard 0."""
        await self.tree.set_translator(CatalogTranslator())
        if not self.sync_commands:
            log.info("slash commands are synced by the process running shard 0, not this one")
            return
        try:
            await sync_if_changed(self.tree, hash_file=self.commands_hash_file)
        except discord.HTTPException:
            log.exception("syncing slash commands failed; the previously registered ones stay in place")

    async def on_ready(self) -> None:
        """Log who we are once connected."""
        log.info("connected as %s (id %s) to %d servers", self.user, getattr(self.user, "id", "?"), len(self.guilds))

    async def close(self) -> None:
        """Stop taking messages, let running turns and handlers finish (and answer) while still connected, then
        disconnect; the store is closed only after this returns."""
        self._closing = True
        await self.concierge.shutdown()
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=HANDLER_GRACE_SECONDS)
        await super().close()

    async def on_message(self, message: discord.Message) -> None:
        """Answer a message meant for the bot; one bad message never stops the bot."""
        if self.user is None or self._closing:
            return
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self.router.handle(message, me=self.user)
        except Exception:
            log.exception("routing message %s in channel %s failed", message.id, message.channel.id)
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Answer a press on confirmation buttons from before a restart (live ones are handled by their view)."""
        try:
            await self.confirmations.answer_stale_press(interaction, self.concierge)
        except Exception:
            log.exception("answering interaction %s failed", interaction.id)
