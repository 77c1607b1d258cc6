"""Confirmation buttons: the Discord side of the engine's Confirmer, live member lookups, and stale presses."""

from __future__ import annotations

import asyncio
import logging
import secrets
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import discord

from bot.concierge import ChatHooks
from bot.discord_adapter.interactions import language_of_member, origin_of
from bot.discord_adapter.messages import CATALOG, ENGLISH, Language, say
from bot.discord_adapter.render import allowed_mentions, caller_of
from bot.engine.confirm import ConfirmationOutcome, ConfirmationRequest, Verdict
from bot.engine.permissions import Caller
from bot.engine.progress import Progress

if TYPE_CHECKING:
    from bot.concierge import Concierge

log = logging.getLogger(__name__)

CUSTOM_ID_PREFIX = "concierge:c:"
EXPIRED_PRESS = say(ENGLISH, "confirm.expired_press")


def confirm_custom_id(nonce: str, choice: str, tool: str) -> str:
    """The button's custom id: it names the request and the tool, so a press can be understood after a restart."""
    return f"{CUSTOM_ID_PREFIX}{nonce}:{choice}:{tool}"[:100]


@dataclass(frozen=True, slots=True)
class Press:
    """A press on one of our confirmation buttons, read from its custom id."""

    nonce: str
    choice: str
    tool: str


def read_custom_id(custom_id: str) -> Press | None:
    """The press a custom id encodes, or None if it is not one of our confirmation buttons."""
    if not custom_id.startswith(CUSTOM_ID_PREFIX):
        return None
    nonce, _, rest = custom_id.removeprefix(CUSTOM_ID_PREFIX).partition(":")
    choice, _, tool = rest.partition(":")
    return Press(nonce, choice, tool) if nonce and choice in ("yes", "no") else None


def request_text(request: ConfirmationRequest, *, asker_id: int, expires_at: int, language: Language = ENGLISH) -> str:
    """The question as posted: who must answer, exactly what will happen, and when it expires."""
    return say(
        language,
        "confirm.request",
        asker=asker_id,
        summary=summary_text(request, language),
        name=request.asker.name,
        expires=expires_at,
    )


def summary_text(request: ConfirmationRequest, language: Language = ENGLISH) -> str:
    """What will happen, in the member's language when the tool said it in words the catalog knows."""
    key = f"preview.{request.summary_kind}"
    template = CATALOG.get(key, {}).get(language)
    if language == ENGLISH or template is None:
        return request.summary
    params = dict(request.summary_params)
    with suppress(ValueError):
        params["weekday"] = say(language, f"weekday.{date.fromisoformat(params.get('date', '')).weekday()}")
    try:
        return template.format(**params)
    except (KeyError, IndexError):  # a tool that sent fewer facts than the catalog words: keep its own sentence
        return request.summary


def outcome_line(verdict: Verdict | str, language: Language, *, name: str = "") -> str:
    """How a question ended ("confirmed", "declined", "timed_out", "unavailable", or "interrupted")."""
    return say(language, f"confirm.{verdict}", name=name)


def outcome_text(request: ConfirmationRequest, line: str, language: Language = ENGLISH) -> str:
    """The question once answered: what was asked, and how it ended."""
    return f"> {summary_text(request, language)}\n{line}"


class ConfirmationView(discord.ui.View):
    """Confirm and Cancel for one request; only the asker's press counts."""

    def __init__(
        self, *, nonce: str, request: ConfirmationRequest, asker_id: int, language: Language = ENGLISH
    ) -> None:
        super().__init__(timeout=None)  # the confirmer owns the timeout, so a test can drive it
        self.request = request
        self.asker_id = asker_id
        self.language = language
        self.answer: asyncio.Future[ConfirmationOutcome] = asyncio.get_running_loop().create_future()
        choices: tuple[tuple[str, discord.ButtonStyle, str, Verdict], ...] = (
            (say(language, "confirm.button.yes"), discord.ButtonStyle.success, "yes", "confirmed"),
            (say(language, "confirm.button.no"), discord.ButtonStyle.secondary, "no", "declined"),
        )
        for label, style, choice, verdict in choices:
            button: discord.ui.Button[ConfirmationView] = discord.ui.Button(
                label=label, style=style, custom_id=confirm_custom_id(nonce, choice, request.tool)
            )
            button.callback = self._answer_with(verdict)  # type: ignore[method-assign]
            self.add_item(button)

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """Only the member whose turn it is may answer; anyone else is told so, privately."""
        if interaction.user.id == self.asker_id:
            return True
        only = say(language_of_member(interaction), "confirm.only_asker", name=self.request.asker.name)
        await interaction.response.send_message(only, ephemeral=True)
        return False

    def _answer_with(self, verdict: Verdict) -> Any:
        async def answer(interaction: discord.Interaction[Any]) -> None:
            if self.answer.done():  # a second press while the first is being handled
                await interaction.response.defer()
                return
            presser = caller_of(interaction.user)
            outcome = ConfirmationOutcome(verdict, by_id=presser.user_id, by_name=presser.name)
            self.answer.set_result(outcome)
            self.stop()
            line = outcome_line(verdict, self.language, name=presser.name)
            try:
                await interaction.response.edit_message(
                    content=outcome_text(self.request, line, self.language), view=None
                )
            except discord.HTTPException as error:
                log.warning("could not show the confirmation outcome: %s", error)

        return answer


class DiscordConfirmer:
    """Asks in a channel with buttons and waits up to `timeout` seconds for the asker's answer."""

    def __init__(
        self,
        channel: discord.abc.Messageable,
        *,
        asker_id: int,
        timeout: float,
        waiting: set[str],
        language: Language = ENGLISH,
    ) -> None:
        self._channel = channel
        self._asker_id = asker_id
        self._timeout = timeout
        self._waiting = waiting
        self._language = language

    async def confirm(self, request: ConfirmationRequest) -> ConfirmationOutcome:
        """Post the question, wait for a press or the timeout, and leave the message showing how it ended."""
        nonce = secrets.token_hex(8)
        view = ConfirmationView(nonce=nonce, request=request, asker_id=self._asker_id, language=self._language)
        expires_at = int(discord.utils.utcnow().timestamp() + self._timeout)
        try:
            message = await self._channel.send(
                request_text(request, asker_id=self._asker_id, expires_at=expires_at, language=self._language),
                view=view,
                allowed_mentions=allowed_mentions(self._asker_id),
            )
        except discord.HTTPException as error:
            log.warning("could not ask for a confirmation of %s: %s", request.tool, error)
            return ConfirmationOutcome("unavailable")
        self._waiting.add(nonce)
        try:
            return await asyncio.wait_for(asyncio.shield(view.answer), self._timeout)
        except TimeoutError:
            view.stop()
            line = outcome_line("timed_out", self._language)
            await _edit_quietly(message, outcome_text(request, line, self._language))
            return ConfirmationOutcome("timed_out")
        except asyncio.CancelledError:  # the bot is stopping: say so instead of leaving live-looking buttons
            view.stop()
            line = outcome_line("interrupted", self._language)
            await asyncio.shield(_edit_quietly(message, outcome_text(request, line, self._language)))
            raise
        finally:
            self._waiting.discard(nonce)


def _button_ids(message: discord.Message) -> set[str]:
    """The custom ids of a message's buttons, as Discord reports the message."""
    ids: set[str] = set()
    for component in message.components:
        for child in getattr(component, "children", (component,)):
            custom_id = getattr(child, "custom_id", None)
            if isinstance(custom_id, str):
                ids.add(custom_id)
    return ids


async def _edit_quietly(message: discord.Message, content: str) -> None:
    """Edit a confirmation message and drop its buttons; a failure is only logged."""
    try:
        await message.edit(content=content, view=None)
    except discord.HTTPException as error:
        log.warning("could not update a confirmation message: %s", error)


class LiveMembers:
    """Members as Discord reports them now (fetched, not cached: the cache is stale without the members intent)."""

    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def member(self, guild_id: str, user_id: str) -> Caller | None:
        """The member's current roles and rights, or None if they (or the bot) are no longer in that server."""
        guild = self._client.get_guild(int(guild_id))
        if guild is None:
            return None
        try:
            member = await guild.fetch_member(int(user_id))
        except discord.NotFound:
            return None
        return caller_of(member)


class Confirmations:
    """The confirmations this process waits for, how turns ask for them, and what an old button press gets."""

    def __init__(self, client: discord.Client, *, timeout: float) -> None:
        self._members = LiveMembers(client)
        self._timeout = timeout
        self._waiting: set[str] = set()

    def hooks(
        self,
        channel: discord.abc.Messageable,
        *,
        asker_id: int,
        language: Language = ENGLISH,
        progress: Progress | None = None,
    ) -> ChatHooks:
        """What a turn in `channel` for this asker needs: buttons posted there (worded in `language`), live member
        lookups, and where its progress shows."""
        confirmer = DiscordConfirmer(
            channel, asker_id=asker_id, timeout=self._timeout, waiting=self._waiting, language=language
        )
        return ChatHooks(confirmer=confirmer, members=self._members, progress=progress)

    async def answer_stale_press(self, interaction: discord.Interaction[Any], concierge: Concierge) -> bool:
        """Answer a press on confirmation buttons nobody waits for any more (e.g. from before a restart); True if
        it was one. Acknowledged first, within Discord's 3 seconds, then the old buttons are removed and audited.

        Only a press whose custom id is one of the message's own buttons (which this bot wrote) changes the message or
        the audit log: a forged id on a live question must not remove the asker's buttons, nor name the tool audited.
        """
        if interaction.type is not discord.InteractionType.component or interaction.data is None:
            return False
        custom_id = str(interaction.data.get("custom_id", ""))
        press = read_custom_id(custom_id)
        if press is None or press.nonce in self._waiting:
            return False
        origin = origin_of(interaction)
        language = origin.language
        with suppress(discord.HTTPException):
            await interaction.response.send_message(say(language, "confirm.expired_press"), ephemeral=True)
        message = interaction.message
        if message is None or custom_id not in _button_ids(message):
            log.warning("ignored a press whose custom id is not a button of its message (forged?)")
            return True
        expired = say(language, "confirm.expired_line")
        with suppress(discord.HTTPException):
            await message.edit(content=f"{message.content}\n{expired}", view=None)
        try:
            await concierge.record_expired_press(origin.place, origin.caller, tool=press.tool)
        except Exception:
            log.exception("could not audit a press on an expired confirmation")
        return True
