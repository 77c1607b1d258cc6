"""Confirmation buttons as a member meets them: who may press, a decline, a timeout, a revoke, an old press."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest

from bot.discord_adapter.client import ConciergeBot
from bot.discord_adapter.confirm import (
    EXPIRED_PRESS,
    Confirmations,
    ConfirmationView,
    DiscordConfirmer,
    LiveMembers,
    confirm_custom_id,
    summary_text,
)
from bot.engine.confirm import ConfirmationOutcome, ConfirmationRequest
from bot.engine.executor import ToolExecutor
from bot.engine.gate import FixedPolicies, Gate
from bot.engine.items import ToolCall
from bot.engine.permissions import Caller, Place, ToolPolicy
from bot.engine.tools import Registry, ToolContext, tool
from tests.discord_adapter.fakes import FakeChannel, FakeConcierge, FakeGuild, FakeMessage, FakeRole, FakeUser

ANN = FakeUser(id=7, display_name="Ann", roles=(FakeRole(30),), guild_permissions=discord.Permissions.none())
BOB = FakeUser(id=8, display_name="Bob", guild_permissions=discord.Permissions.none())
REQUEST = ConfirmationRequest(
    call_id="call_1",
    tool="book_restaurant",
    arguments="{}",
    summary="Book a table for 4 at Kitchen ldn on Tuesday 2 June 2026 at 19:00 (Europe/London time).",
    asker=Caller(user_id="7", name="Ann"),
)


@dataclass
class PostedMessage:
    """A message the bot sent; its edits are recorded."""

    content: str
    options: dict[str, Any]
    edits: list[dict[str, Any]] = field(default_factory=list)
    components: list[object] = field(default_factory=lambda: ["buttons"])

    async def edit(self, **changes: Any) -> None:
        self.edits.append(changes)
        if "content" in changes:
            self.content = changes["content"]


@dataclass
class PostingChannel:
    """A channel that returns the messages it sends, so they can be edited later."""

    id: int = 50
    posted: list[PostedMessage] = field(default_factory=list)
    has_posted: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, content: str, **options: Any) -> PostedMessage:
        message = PostedMessage(content, options)
        self.posted.append(message)
        self.has_posted.set()
        return message


@dataclass
class Response:
    ephemeral: list[str] = field(default_factory=list)
    edited: list[dict[str, Any]] = field(default_factory=list)
    deferred: int = 0

    async def send_message(self, content: str, *, ephemeral: bool = False) -> None:
        assert ephemeral
        self.ephemeral.append(content)

    async def edit_message(self, **changes: Any) -> None:
        self.edited.append(changes)

    async def defer(self) -> None:
        self.deferred += 1


@dataclass
class Press:
    """A button press as the view sees it."""

    user: FakeUser
    response: Response = field(default_factory=Response)


async def posted_view(channel: PostingChannel) -> tuple[PostedMessage, ConfirmationView]:
    await asyncio.wait_for(channel.has_posted.wait(), timeout=5)
    message = channel.posted[-1]
    return message, message.options["view"]


async def press(view: ConfirmationView, label: str, user: FakeUser) -> Press:
    """Press a button the way discord.py dispatches it: the view's check first, then the button's callback."""
    interaction = Press(user)
    [button] = [item for item in view.children if getattr(item, "label", None) == label]
    if await view.interaction_check(interaction):  # type: ignore[arg-type]
        await button.callback(interaction)  # type: ignore[arg-type]
    return interaction


def asking(channel: PostingChannel, *, timeout: float = 5) -> tuple[DiscordConfirmer, set[str]]:
    waiting: set[str] = set()
    return DiscordConfirmer(channel, asker_id=ANN.id, timeout=timeout, waiting=waiting), waiting  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_the_question_says_exactly_what_will_happen_and_the_askers_yes_runs_it() -> None:
    channel = PostingChannel()
    confirmer, waiting = asking(channel)
    answer = asyncio.create_task(confirmer.confirm(REQUEST))
    message, view = await posted_view(channel)

    assert REQUEST.summary in message.content and "Only Ann can answer" in message.content
    assert message.options["allowed_mentions"].to_dict() == {"parse": [], "users": [7], "replied_user": True}
    assert [item.label for item in view.children] == ["Confirm", "Cancel"]  # type: ignore[attr-defined]
    assert len(waiting) == 1

    pressed = await press(view, "Confirm", ANN)
    assert await answer == ConfirmationOutcome("confirmed", by_id="7", by_name="Ann")
    [edit] = pressed.response.edited
    assert edit["view"] is None and "Confirmed by Ann" in edit["content"] and REQUEST.summary in edit["content"]
    assert waiting == set()


@pytest.mark.asyncio
async def test_another_member_is_told_privately_only_the_asker_can_confirm_and_nothing_changes() -> None:
    channel = PostingChannel()
    confirmer, _ = asking(channel)
    answer = asyncio.create_task(confirmer.confirm(REQUEST))
    _, view = await posted_view(channel)

    bobs = await press(view, "Confirm", BOB)
    assert bobs.response.ephemeral == ["Only Ann can confirm this."] and bobs.response.edited == []
    assert not answer.done()

    anns = await press(view, "Cancel", ANN)
    assert await answer == ConfirmationOutcome("declined", by_id="7", by_name="Ann")
    assert "Cancelled by Ann: nothing was done" in anns.response.edited[0]["content"]


@pytest.mark.asyncio
async def test_no_answer_in_time_is_not_a_yes_and_the_buttons_go_away() -> None:
    channel = PostingChannel()
    confirmer, waiting = asking(channel, timeout=0.05)
    outcome = await confirmer.confirm(REQUEST)
    assert outcome == ConfirmationOutcome("timed_out")
    [edit] = channel.posted[0].edits
    assert edit["view"] is None and "No answer in time: nothing was done" in edit["content"]
    assert waiting == set()


@pytest.mark.asyncio
async def test_a_role_revoked_while_the_member_decides_denies_the_call_on_their_fetched_roles() -> None:
    ran: list[int] = []

    @tool(side_effects=True)
    async def book(context: ToolContext, table: int) -> dict[str, int]:
        """Book a table."""
        ran.append(table)
        return {"booked": table}

    member = FakeUser(id=7, display_name="Ann", roles=(FakeRole(30),), guild_permissions=discord.Permissions.none())

    class Guild(FakeGuild):
        async def fetch_member(self, user_id: int) -> FakeUser:
            return member

    class Client:
        def get_guild(self, guild_id: int) -> Guild:
            return Guild(id=guild_id)

    channel = PostingChannel()
    confirmer, _ = asking(channel)
    executor = ToolExecutor(
        registry=Registry([book]),
        caller=Caller(user_id="7", name="Ann", role_ids=frozenset({"30"})),
        place=Place(channel_id="50", guild_id="5"),
        policies={},
        default_timeout=5,
        gate=Gate(
            policies=FixedPolicies({"book": ToolPolicy(tool="book", allowed_role_ids=frozenset({"30"}))}),
            members=LiveMembers(Client()),  # type: ignore[arg-type]
        ),
        confirmer=confirmer,
    )
    running = asyncio.create_task(executor.execute(ToolCall(call_id="c", name="book", arguments='{"table": 4}')))
    _, view = await posted_view(channel)
    member.roles = ()  # an admin takes the role away while Ann reads the question
    await press(view, "Confirm", ANN)
    done = await running
    assert ran == [] and done.entry.outcome == "denied"
    assert json.loads(done.output.output)["error"] == "permission denied"


@dataclass
class OldPress:
    """A component interaction for a button from an earlier process."""

    custom_id: str
    user: FakeUser = field(default_factory=lambda: ANN)
    message: PostedMessage = field(default_factory=lambda: PostedMessage("> Book a table.\nOnly Ann can answer.", {}))
    response: Response = field(default_factory=Response)
    type: discord.InteractionType = discord.InteractionType.component
    guild: FakeGuild = field(default_factory=FakeGuild)
    channel: Any = None
    channel_id: int = 50
    permissions: discord.Permissions = field(default_factory=discord.Permissions.none)

    @property
    def data(self) -> dict[str, str]:
        return {"custom_id": self.custom_id}


def buttons(*custom_ids: str) -> list[object]:
    """A message's components as Discord reports them: one row of buttons with these custom ids."""
    row = [{"type": 2, "custom_id": custom_id, "style": 1, "label": "Confirm"} for custom_id in custom_ids]
    return [discord.ActionRow({"type": 1, "components": row})]  # type: ignore[typeddict-item]


def message_with(*custom_ids: str) -> PostedMessage:
    return PostedMessage("> Book a table.\nOnly Ann can answer.", {}, components=buttons(*custom_ids))


@pytest.mark.asyncio
async def test_a_press_on_buttons_from_before_a_restart_is_answered_as_expired_and_audited() -> None:
    concierge = FakeConcierge()
    confirmations = Confirmations(discord.Client(intents=discord.Intents.none()), timeout=5)
    old_id = confirm_custom_id("0123456789abcdef", "yes", "book_restaurant")
    old = OldPress(custom_id=old_id, message=message_with(old_id, confirm_custom_id("0123456789abcdef", "no", "x")))

    assert await confirmations.answer_stale_press(old, concierge) is True  # type: ignore[arg-type]

    assert old.response.ephemeral == [EXPIRED_PRESS]
    [edit] = old.message.edits
    assert edit["view"] is None and "nothing was done" in edit["content"]
    assert concierge.changes == [("expired", "book_restaurant", "7")]


@pytest.mark.asyncio
async def test_presses_on_live_questions_and_other_components_are_left_to_their_handlers() -> None:
    concierge = FakeConcierge()
    confirmations = Confirmations(discord.Client(intents=discord.Intents.none()), timeout=5)
    channel = PostingChannel()
    hooks = confirmations.hooks(channel, asker_id=ANN.id)  # type: ignore[arg-type]
    asked = asyncio.create_task(hooks.confirmer.confirm(REQUEST))
    _, view = await posted_view(channel)
    live_id = view.children[0].custom_id  # type: ignore[attr-defined]

    assert await confirmations.answer_stale_press(OldPress(custom_id=live_id), concierge) is False  # type: ignore[arg-type]
    assert await confirmations.answer_stale_press(OldPress(custom_id="someone-elses-button"), concierge) is False  # type: ignore[arg-type]
    assert concierge.changes == []
    await press(view, "Confirm", ANN)
    assert (await asked).confirmed


@pytest.mark.asyncio
async def test_a_forged_id_on_a_live_question_keeps_the_askers_buttons_and_writes_no_audit_row() -> None:
    concierge = FakeConcierge()
    confirmations = Confirmations(discord.Client(intents=discord.Intents.none()), timeout=5)
    channel = PostingChannel()
    hooks = confirmations.hooks(channel, asker_id=ANN.id)  # type: ignore[arg-type]
    asked = asyncio.create_task(hooks.confirmer.confirm(REQUEST))
    posted, view = await posted_view(channel)
    live_ids = [child.custom_id for child in view.children]  # type: ignore[attr-defined]
    live = message_with(*live_ids)
    forged = OldPress(custom_id=confirm_custom_id("feedfacefeedface", "yes", "drop_all_tables"), user=BOB, message=live)

    assert await confirmations.answer_stale_press(forged, concierge) is True  # type: ignore[arg-type]

    assert forged.response.ephemeral == [EXPIRED_PRESS]
    assert live.edits == [] and posted.edits == []
    assert concierge.changes == []
    await press(view, "Confirm", ANN)
    assert (await asked).confirmed


class HeldConcierge(FakeConcierge):
    """A facade whose turns wait until released."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def chat(self, *args: Any, **kwargs: Any) -> Any:
        self.entered.set()
        await self.release.wait()
        return await super().chat(*args, **kwargs)


@pytest.mark.asyncio
async def test_shutdown_stops_taking_messages_and_answers_the_one_in_flight_before_closing(tmp_path: Any) -> None:
    concierge = HeldConcierge()
    bot = ConciergeBot(concierge, commands_hash_file=tmp_path / "hash")  # type: ignore[arg-type]
    await bot.__aenter__()  # what run_bot's `async with bot` does before anything else
    bot._connection.user = FakeUser(id=1, display_name="Concierge", bot=True)  # type: ignore[assignment]
    channel = FakeChannel(id=60, name=None, type=discord.ChannelType.private)
    dm = FakeMessage(id=100, content="hello", author=ANN, channel=channel, guild=None)  # type: ignore[arg-type]
    in_flight = asyncio.create_task(bot.on_message(dm))  # type: ignore[arg-type]
    await asyncio.wait_for(concierge.entered.wait(), timeout=5)

    closing = asyncio.create_task(bot.close())
    await asyncio.sleep(0)
    late = FakeMessage(id=101, content="are you there?", author=ANN, channel=channel, guild=None)  # type: ignore[arg-type]
    await asyncio.wait_for(bot.on_message(late), timeout=5)  # type: ignore[arg-type]
    assert not closing.done()
    concierge.release.set()
    await asyncio.wait_for(asyncio.gather(in_flight, closing), timeout=5)

    assert [chat.text for chat in concierge.chats] == ["hello"]
    assert [message.content for message in channel.sent] == ["Sure thing."]
    assert ("shutdown",) in concierge.changes


def test_the_question_reads_in_simplified_chinese_with_the_tools_facts() -> None:
    request = ConfirmationRequest(
        call_id="c",
        tool="book_restaurant",
        arguments="{}",
        summary="Book a table for 4 at 老北京 (东城区 1 号) on Tuesday 2 June 2026 at 19:00 (Asia/Shanghai time).",
        asker=Caller(user_id="7", name="Ann"),
        summary_kind="book",
        summary_params={
            "party": "4",
            "restaurant": "老北京",
            "address": "东城区 1 号",
            "date": "2026-06-02",
            "time": "19:00",
            "timezone": "Asia/Shanghai",
        },
    )
    assert (
        summary_text(request, "zh-CN")
        == "预订 老北京（东城区 1 号）2026-06-02（星期二）19:00（Asia/Shanghai 时间）的 4 人餐桌。"
    )
    assert summary_text(request, "en") == request.summary
    unknown = ConfirmationRequest(call_id="c", tool="x", arguments="{}", summary="Run x.", asker=request.asker)
    assert summary_text(unknown, "zh-CN") == "Run x."
