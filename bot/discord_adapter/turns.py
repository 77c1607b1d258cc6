"""Answering one question from Discord: typing indicator, progress and streaming, then the final reply."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import discord

from bot.attachments import SharedFile
from bot.concierge import ChatHooks
from bot.discord_adapter.live import LiveReply
from bot.discord_adapter.messages import ENGLISH, Language, say
from bot.discord_adapter.render import Outgoing, error_sentence, render_reply
from bot.discord_adapter.throttle import Send
from bot.engine.confirm import NoConfirmer
from bot.engine.errors import ConciergeError
from bot.engine.permissions import Caller, Place
from bot.pacing import SlowDown

if TYPE_CHECKING:
    from bot.concierge import Concierge
    from bot.discord_adapter.confirm import Confirmations

log = logging.getLogger(__name__)

THREAD_ARCHIVE_MINUTES: Literal[60, 1440, 4320, 10080] = 1440
CODE_THREAD_EXISTS = 160004
CODE_THREAD_LIMIT = 160006
NOTE_THREAD_LIMIT = say(ENGLISH, "note.thread_limit")
NOTE_THREAD_FORBIDDEN = say(ENGLISH, "note.thread_forbidden")
NOTE_THREAD_FAILED = say(ENGLISH, "note.thread_failed")
THREAD_CHANNEL_TYPES = frozenset(
    {discord.ChannelType.public_thread, discord.ChannelType.private_thread, discord.ChannelType.news_thread}
)
TEXT_CHANNEL_TYPES = frozenset({discord.ChannelType.text, discord.ChannelType.news})


def thread_failure_note(error: discord.HTTPException, language: Language = ENGLISH) -> str:
    """The short note shown in the channel when a thread could not be opened."""
    if error.code == CODE_THREAD_LIMIT:
        return say(language, "note.thread_limit")
    if isinstance(error, discord.Forbidden):
        return say(language, "note.thread_forbidden")
    return say(language, "note.thread_failed")


@dataclass(frozen=True, slots=True)
class Question:
    """What a member asked, where and how, as the facade takes it, with how to word and pace the answer.

    With `quiet_repeats`, a repeated refusal of a member over their turn rate is answered by silence, so a flood of
    messages is not answered by a flood of refusals; a slash command passes False: it must always be answered.
    `files` are the message's attachments, read by the facade in the message's turn.
    """

    place: Place
    caller: Caller
    text: str
    language: Language = ENGLISH
    tool_choice: str = "auto"
    notes: tuple[str, ...] = ()
    quiet_repeats: bool = True
    files: tuple[SharedFile, ...] = ()


@dataclass(frozen=True, slots=True)
class Outlet:
    """Where a live answer appears: `first` sends its first message, `rest` the others (`first` if None);
    `channel` is where side effects are confirmed (none without it) and, with `typing`, where typing shows.
    Within `grace` seconds nothing shows but the finished answer (no typing, progress or streamed text)."""

    first: Send
    rest: Send | None = None
    channel: discord.abc.Messageable | None = None
    typing: bool = True
    grace: float = 0.0


async def answer_live(
    concierge: Concierge, question: Question, outlet: Outlet, *, confirmations: Confirmations | None = None
) -> None:
    """Answer `question` through `outlet`: its progress, streamed answer and final reply, edited as they change."""
    asker_id = int(question.caller.user_id)
    live = LiveReply(
        first=outlet.first, rest=outlet.rest, asker_id=asker_id, language=question.language, grace=outlet.grace
    )
    if confirmations is not None and outlet.channel is not None:
        hooks = confirmations.hooks(outlet.channel, asker_id=asker_id, language=question.language, progress=live)
    else:
        hooks = ChatHooks(NoConfirmer(), progress=live)
    if outlet.typing and outlet.channel is not None:
        outgoing = await converse_while_typing(outlet.channel, concierge, question, hooks, after=outlet.grace)
    else:
        outgoing = await converse(concierge, question, hooks)
    await live.deliver(outgoing)


async def converse(concierge: Concierge, question: Question, hooks: ChatHooks | None = None) -> list[Outgoing]:
    """Run one turn and render it; a facade error becomes its one sentence, a bug a logged generic apology, and a
    repeated slow-down nothing at all (an empty list) when the question allows quiet repeats."""
    place, caller, language, notes = question.place, question.caller, question.language, question.notes
    try:
        reply = await concierge.chat(
            place, caller, question.text, files=question.files, tool_choice=question.tool_choice, hooks=hooks
        )
    except SlowDown as error:
        log.info("turn refused for user %s: %s", caller.user_id, error)
        if error.first or not question.quiet_repeats:
            return [Outgoing(content=error_sentence(error, language))]
        return []
    except ConciergeError as error:
        log.info("turn refused in channel %s: %s", place.channel_id, error)
        return [Outgoing(content=" ".join([error_sentence(error, language), *notes]))]
    except Exception:
        log.exception("turn failed in channel %s for user %s", place.channel_id, caller.user_id)
        return [Outgoing(content=say(language, "failure.generic"))]
    return render_reply(reply, extra_notes=notes, language=language)


async def converse_while_typing(
    channel: discord.abc.Messageable, concierge: Concierge, question: Question, hooks: ChatHooks, *, after: float = 0.0
) -> list[Outgoing]:
    """Run `converse` with the typing indicator on once it has taken `after` seconds (a turn answered sooner needs
    none); the turn starts first, so waiting on Discord to show the indicator can never let a later message of the
    same channel overtake this one."""
    running = asyncio.create_task(converse(concierge, question, hooks))
    if after > 0:
        await asyncio.wait({running}, timeout=after)
        if running.done():
            return running.result()
    async with typing_in(channel):
        return await running


@asynccontextmanager
async def typing_in(channel: discord.abc.Messageable) -> AsyncIterator[None]:
    """Show the typing indicator while the block runs; a channel that refuses it does not stop the turn."""
    async with AsyncExitStack() as stack:
        with suppress(discord.HTTPException):
            await stack.enter_async_context(channel.typing())
        yield
