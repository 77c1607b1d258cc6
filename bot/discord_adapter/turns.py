"""Running one conversation turn from Discord: typing indicator, progress and streaming, then the final reply."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any, Literal

import discord

from bot.concierge import TurnSurface
from bot.discord_adapter.live import LiveTurn
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


async def answer_live(
    concierge: Concierge,
    *,
    place: Place,
    caller: Caller,
    text: str,
    channel: discord.abc.Messageable | None,
    first: Send,
    rest: Send | None = None,
    asker_id: int,
    language: Language = ENGLISH,
    confirmations: Confirmations | None = None,
    tool_choice: str = "auto",
    notes: Sequence[str] = (),
    typing: bool = True,
    quiet_repeats: bool = True,
) -> None:
    """Run one turn whose progress, streamed answer and final reply appear through `first` (the first message) and
    `rest` (the others); side effects are confirmed in `channel` (none without it), where typing shows meanwhile.
    A slash command passes `quiet_repeats=False`: it must always be answered."""
    live = LiveTurn(first=first, rest=rest, asker_id=asker_id, language=language)
    if confirmations is not None and channel is not None:
        surface = confirmations.surface(channel, asker_id=asker_id, language=language, progress=live)
    else:
        surface = TurnSurface(NoConfirmer(), progress=live)
    turn: dict[str, Any] = {
        "place": place,
        "caller": caller,
        "text": text,
        "tool_choice": tool_choice,
        "notes": notes,
        "surface": surface,
        "language": language,
        "quiet_repeats": quiet_repeats,
    }
    if typing and channel is not None:
        outgoing = await converse_while_typing(channel, concierge, **turn)
    else:
        outgoing = await converse(concierge, **turn)
    await live.deliver(outgoing)


async def converse(
    concierge: Concierge,
    *,
    place: Place,
    caller: Caller,
    text: str,
    tool_choice: str = "auto",
    notes: Sequence[str] = (),
    surface: TurnSurface | None = None,
    language: Language = ENGLISH,
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
        if error.first or not quiet_repeats:
            return [Outgoing(content=error_sentence(error, language))]
        return []
    except ConciergeError as error:
        log.info("turn refused in channel %s: %s", place.channel_id, error)
        return [Outgoing(content=" ".join([error_sentence(error, language), *notes]))]
    except Exception:
        log.exception("turn failed in channel %s for user %s", place.channel_id, caller.user_id)
        return [Outgoing(content=say(language, "failure.generic"))]
    return render_reply(reply, extra_notes=notes, language=language)


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
