"""Slash commands: acknowledged at once, refusals ephemeral, admin checks surfaced, replies as a member sees them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.webhook.async_ import async_context

from bot.concierge import AuditEntry, Reply, SlowDown, UnknownTool
from bot.discord_adapter.commands import (
    CommandHandlers,
    build_commands,
    format_audit_entry,
    install_commands,
)
from bot.discord_adapter.render import GENERIC_FAILURE, error_sentence
from bot.discord_adapter.turns import NOTE_THREAD_LIMIT
from bot.discord_adapter.usage_commands import build_spending_commands
from bot.engine.errors import ToolChoiceRefused
from bot.engine.permissions import Caller, Place
from tests.discord_adapter.fakes import TOOLS, FakeChannel, FakeConcierge, FakeGuild, FakeRole, FakeUser, http_error

ADMIN = discord.Permissions(manage_guild=True)
MEMBER = discord.Permissions(send_messages=True)


@dataclass
class FakeInteractionResponse:
    deferred: list[dict[str, bool]] = field(default_factory=list)
    messages: list[tuple[str, bool]] = field(default_factory=list)

    async def defer(self, *, ephemeral: bool = False, thinking: bool = False) -> None:
        self.deferred.append({"ephemeral": ephemeral, "thinking": thinking})

    async def send_message(self, content: str, *, ephemeral: bool = False) -> None:
        self.messages.append((content, ephemeral))


@dataclass
class FakeFollowup:
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def send(self, content: str, **options: Any) -> None:
        self.sent.append((content, options))


@dataclass
class FakeInteraction:
    user: FakeUser
    channel: FakeChannel | None
    guild: FakeGuild | None
    permissions: discord.Permissions = field(default_factory=discord.Permissions.none)
    response: FakeInteractionResponse = field(default_factory=FakeInteractionResponse)
    followup: FakeFollowup = field(default_factory=FakeFollowup)
    locale: discord.Locale = discord.Locale.american_english

    @property
    def channel_id(self) -> int | None:
        return None if self.channel is None else self.channel.id


def in_thread(*, permissions: discord.Permissions = MEMBER) -> FakeInteraction:
    thread = FakeChannel(id=50, name="a thread", type=discord.ChannelType.public_thread)
    return FakeInteraction(
        user=FakeUser(id=7, roles=(FakeRole(30),)), channel=thread, guild=FakeGuild(), permissions=permissions
    )


def in_text_channel(**changes: Any) -> FakeInteraction:
    return FakeInteraction(
        user=FakeUser(id=7), channel=FakeChannel(id=6, **changes), guild=FakeGuild(), permissions=MEMBER
    )


def followup_texts(interaction: FakeInteraction) -> list[str]:
    return [content for content, _ in interaction.followup.sent]


def all_ephemeral(interaction: FakeInteraction) -> bool:
    return interaction.response.deferred == [{"ephemeral": True, "thinking": True}] and all(
        options.get("ephemeral") for _, options in interaction.followup.sent
    )


@pytest.mark.asyncio
async def test_ask_in_a_thread_defers_then_answers_there_with_the_chosen_tool() -> None:
    concierge = FakeConcierge(replies=[Reply(text="42")])
    interaction = in_thread()

    await CommandHandlers(concierge).ask(interaction, prompt="what is 6*7?", tool="calculate")  # type: ignore[arg-type]

    assert interaction.response.deferred == [{"ephemeral": False, "thinking": True}]
    assert followup_texts(interaction) == ["42"]
    [chat] = concierge.chats
    assert (chat.place.channel_id, chat.text, chat.tool_choice) == ("50", "what is 6*7?", "calculate")
    assert chat.caller == Caller(user_id="7", name="Ann", role_ids=frozenset({"30"}), is_admin=False)


@pytest.mark.parametrize(
    "refusal",
    [
        ToolChoiceRefused(
            "book_table", "the tool is restricted to server admins until an admin allows a role", reason_kind="admins"
        ),
        UnknownTool("nope", TOOLS),
    ],
    ids=["forbidden tool", "unknown tool"],
)
@pytest.mark.asyncio
async def test_ask_forcing_a_tool_the_member_may_not_use_is_refused_ephemerally_without_a_model_call(
    refusal: Exception,
) -> None:
    concierge = FakeConcierge()
    concierge.refuse_tool = refusal
    interaction = in_text_channel()

    await CommandHandlers(concierge).ask(interaction, prompt="book it", tool="book_table")  # type: ignore[arg-type]

    assert interaction.response.messages == [(error_sentence(refusal), True)]  # type: ignore[attr-defined]
    assert interaction.response.deferred == []
    assert concierge.chats == []
    assert interaction.channel.created_threads == []  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_ask_in_a_text_channel_opens_a_thread_links_to_it_and_answers_inside() -> None:
    concierge = FakeConcierge(replies=[Reply(text="Booked.")])
    interaction = in_text_channel()
    channel = interaction.channel
    assert channel is not None

    await CommandHandlers(concierge).ask(interaction, prompt="<@2> book a table for 4", tool="auto")  # type: ignore[arg-type]

    [thread] = channel.created_threads
    assert thread.name == "book a table for 4"
    assert followup_texts(interaction) == [f"I opened <#{thread.id}> for your question."]
    assert [sent.content for sent in thread.sent] == ["**Ann** asked:\n<@2> book a table for 4", "Booked."]
    assert all(sent.options["allowed_mentions"].to_dict()["parse"] == [] for sent in thread.sent)
    thread_place = Place(channel_id=str(thread.id), guild_id="5", guild_name="Cafe", channel_name=thread.name)
    assert [place for place, _ in concierge.started] == [thread_place]
    assert [chat.place for chat in concierge.chats] == [thread_place]


@pytest.mark.asyncio
async def test_ask_in_a_text_channel_at_the_thread_limit_answers_in_place_with_a_note() -> None:
    concierge = FakeConcierge()
    interaction = in_text_channel(thread_error=http_error(160006))

    await CommandHandlers(concierge).ask(interaction, prompt="hello", tool="auto")  # type: ignore[arg-type]

    [(content, options)] = interaction.followup.sent
    assert content == "Sure thing."
    assert options["embed"].description == f"ℹ {NOTE_THREAD_LIMIT}"
    assert concierge.chats[0].place.channel_id == "6"


@pytest.mark.asyncio
async def test_ask_tool_autocomplete_offers_modes_then_the_members_usable_tools() -> None:
    handlers = CommandHandlers(FakeConcierge())  # type: ignore[arg-type]
    everything = await handlers.ask_tool_choices(in_thread(), "")  # type: ignore[arg-type]
    assert [choice.value for choice in everything] == ["auto", "required", "none", "calculate", "get_weather"]
    assert [choice.value for choice in await handlers.ask_tool_choices(in_thread(), "WEA")] == ["get_weather"]  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_tooladmin_by_a_non_admin_is_refused_ephemerally_and_changes_nothing() -> None:
    concierge = FakeConcierge()
    interaction = in_thread(permissions=MEMBER)

    await CommandHandlers(concierge).set_enabled(interaction, tool="get_weather", enabled=False)  # type: ignore[arg-type]

    assert followup_texts(interaction) == ["Only server admins (Administrator or Manage Server) can do that."]
    assert all_ephemeral(interaction)
    assert concierge.changes == []


@pytest.mark.asyncio
async def test_tooladmin_by_an_admin_changes_the_policy_and_confirms() -> None:
    concierge = FakeConcierge()
    handlers = CommandHandlers(concierge)  # type: ignore[arg-type]
    disable, allow, revoke = in_thread(permissions=ADMIN), in_thread(permissions=ADMIN), in_thread(permissions=ADMIN)
    staff = FakeRole(20, "staff")

    await handlers.set_enabled(disable, tool="get_weather", enabled=False)  # type: ignore[arg-type]
    await handlers.allow_role(allow, tool="book_table", role=staff)  # type: ignore[arg-type]
    await handlers.revoke_role(revoke, tool="book_table", role=staff)  # type: ignore[arg-type]

    assert concierge.changes == [
        ("get_weather", "disabled"),
        ("book_table", "allow", "20"),
        ("book_table", "revoke", "20"),
    ]
    assert followup_texts(disable) == ["`get_weather` is now disabled in this server."]
    assert followup_texts(allow) == ["Members with the role staff may now use `book_table`."]
    assert all(all_ephemeral(interaction) for interaction in (disable, allow, revoke))


@pytest.mark.asyncio
async def test_tooladmin_with_an_unknown_tool_lists_the_valid_ones() -> None:
    interaction = in_thread(permissions=ADMIN)
    await CommandHandlers(FakeConcierge()).set_enabled(interaction, tool="teleport", enabled=True)  # type: ignore[arg-type]
    assert followup_texts(interaction) == [
        "There is no tool `teleport`. Tools: `book_table`, `calculate`, `get_weather`."
    ]


@pytest.mark.asyncio
async def test_tools_list_shows_state_usability_and_roles_ephemerally() -> None:
    interaction = in_thread()
    await CommandHandlers(FakeConcierge()).tools_list(interaction)  # type: ignore[arg-type]
    assert followup_texts(interaction) == [
        "Tools in **Cafe**:\n"
        "✓ `get_weather` — Weather for a city.\n"
        "✗ `book_table` — Book a table.\n"
        "    not for you: the tool is limited to certain roles in this server, and you have none of them"
        " · asks the member to confirm each call"
        " · roles: <@&3>, <@&20>\n"
        "⏸ `web_search` — Search the web.\n"
        "    disabled in this server"
    ]
    assert all_ephemeral(interaction)
    assert interaction.followup.sent[0][1]["allowed_mentions"].to_dict() == {"parse": []}


@pytest.mark.asyncio
async def test_audit_lists_recent_calls_and_policy_changes_for_admins_only() -> None:
    concierge = FakeConcierge()
    handlers = CommandHandlers(concierge)  # type: ignore[arg-type]
    admin, member = in_thread(permissions=ADMIN), in_thread(permissions=MEMBER)

    await handlers.audit(admin, tool="get_weather", user=FakeUser(id=8))  # type: ignore[arg-type]
    await handlers.audit(member)  # type: ignore[arg-type]

    assert followup_texts(admin) == [
        "`#2` <t:1735787045:R> **Ann** ⚙ `book_table`: allowed role @staff\n"
        "`#1` <t:1735787045:R> **Bob** ✓ get_weather city=Oslo · 0.4 s"
    ]
    assert concierge.changes == [("audit", "get_weather", "8")]
    assert followup_texts(member) == ["Only server admins (Administrator or Manage Server) can do that."]
    assert all_ephemeral(admin) and all_ephemeral(member)


@pytest.mark.asyncio
async def test_history_clear_confirms_how_much_was_forgotten() -> None:
    concierge = FakeConcierge()
    interaction = in_thread(permissions=ADMIN)
    await CommandHandlers(concierge).history_clear(interaction)  # type: ignore[arg-type]
    assert followup_texts(interaction) == ["Cleared this conversation's history (6 items)."]
    assert concierge.changes == [("clear", "50")]


@pytest.mark.asyncio
async def test_an_unexpected_error_in_a_command_is_logged_and_answered_generically(
    caplog: pytest.LogCaptureFixture,
) -> None:
    concierge = FakeConcierge()

    async def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk full")

    concierge.clear_history = broken  # type: ignore[method-assign]
    interaction = in_thread(permissions=ADMIN)
    with caplog.at_level(logging.ERROR):
        await CommandHandlers(concierge).history_clear(interaction)  # type: ignore[arg-type]
    assert followup_texts(interaction) == [GENERIC_FAILURE]
    assert "disk full" in caplog.text


def test_admin_commands_are_hidden_by_default_permissions_and_server_only() -> None:
    client = discord.Client(intents=discord.Intents.default())
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    install_commands(tree, FakeConcierge())  # type: ignore[arg-type]
    payload = {command["name"]: command for command in (c.to_dict(tree) for c in tree.get_commands())}

    assert sorted(payload) == ["ask", "audit", "history", "quota", "tooladmin", "tools", "usage"]
    manage_guild = discord.Permissions(manage_guild=True).value
    assert payload["usage"].get("default_member_permissions") is None  # every member sees their own usage
    for name in ("tooladmin", "audit", "quota"):
        assert payload[name]["default_member_permissions"] == manage_guild
        assert payload[name]["contexts"] == [0]
    assert [option["name"] for option in payload["tooladmin"]["options"]] == [
        "enable",
        "disable",
        "allow",
        "revoke",
        "confirm",
    ]
    assert payload["ask"]["default_member_permissions"] is None
    assert [(o["name"], o["required"], o.get("autocomplete", False)) for o in payload["ask"]["options"]] == [
        ("prompt", True, False),
        ("tool", False, True),
    ]


class RecordingAdapter:
    """Stands in for discord.py's webhook adapter: records interaction callbacks and followups."""

    def __init__(self) -> None:
        self.callbacks: list[dict[str, Any]] = []
        self.followups: list[dict[str, Any]] = []

    async def create_interaction_response(self, interaction_id: int, token: str, **kwargs: Any) -> dict[str, Any]:
        self.callbacks.append(kwargs["params"].payload)
        return {"interaction": {"id": str(interaction_id), "type": 2}}

    async def execute_webhook(self, webhook_id: int, token: str, **kwargs: Any) -> None:
        self.followups.append(kwargs["payload"])


@pytest.mark.asyncio
async def test_a_real_interaction_payload_runs_tooladmin_enable_end_to_end() -> None:
    client = discord.Client(intents=discord.Intents.default())
    bot_user = {"id": "1", "username": "concierge", "discriminator": "0", "avatar": None, "bot": True}
    client._connection.user = discord.ClientUser(state=client._connection, data=bot_user)  # as after login
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    concierge = FakeConcierge()
    install_commands(tree, concierge)  # type: ignore[arg-type]
    admin_group = tree.get_command("tooladmin")
    assert isinstance(admin_group, app_commands.Group)
    payload: Any = {
        "id": "1000",
        "application_id": "1",
        "token": "token",
        "version": 1,
        "type": 2,
        "attachment_size_limit": 8_000_000,
        "guild_id": "5",
        "channel": {"id": "6", "type": 0, "name": "general", "guild_id": "5", "position": 0, "nsfw": False},
        "member": {
            "user": {"id": "7", "username": "ann", "discriminator": "0", "global_name": "Ann", "avatar": None},
            "roles": ["30"],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "permissions": str(ADMIN.value),
            "flags": 0,
        },
        "data": {
            "id": str(hash(admin_group)),
            "name": "tooladmin",
            "type": 1,
            "options": [{"type": 1, "name": "enable", "options": [{"type": 3, "name": "tool", "value": "calculate"}]}],
        },
    }
    adapter = RecordingAdapter()
    token = async_context.set(adapter)  # type: ignore[arg-type]
    try:
        await tree._call(discord.Interaction(data=payload, state=client._connection))
    finally:
        async_context.reset(token)

    assert concierge.changes == [("calculate", "enabled")]
    assert adapter.callbacks == [{"type": 5, "data": {"flags": 64}}]
    assert [(f["content"], f["flags"]) for f in adapter.followups] == [
        ("`calculate` is now enabled in this server.", 64)
    ]


def test_build_commands_returns_fresh_objects_each_time() -> None:
    handlers = CommandHandlers(FakeConcierge())  # type: ignore[arg-type]
    first, second = build_commands(handlers), build_commands(handlers)
    assert [c.name for c in first] == [c.name for c in second]
    assert all(a is not b for a, b in zip(first, second, strict=True))


@pytest.mark.asyncio
async def test_ask_that_breaks_after_deferring_still_follows_up_with_one_sentence(
    caplog: pytest.LogCaptureFixture,
) -> None:
    concierge = FakeConcierge()

    async def broken(**kwargs: object) -> None:
        raise RuntimeError("store closed")

    concierge.start_conversation = broken  # type: ignore[method-assign]
    interaction = in_text_channel()
    with caplog.at_level(logging.ERROR):
        await CommandHandlers(concierge).ask(interaction, prompt="hello", tool="auto")  # type: ignore[arg-type]
    assert followup_texts(interaction)[-1] == GENERIC_FAILURE
    assert "store closed" in caplog.text


def test_audit_lines_show_confirmations_and_a_call_the_member_did_not_confirm() -> None:
    at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    asked = AuditEntry(3, at, "confirmation", "5", "6", "7", "Ann", "book_table", "{}", "timed_out", None, "Book it.")
    call = AuditEntry(4, at, "tool_call", "5", "6", "7", "Ann", "book_table", '{"table": 4}', "declined", 5.0, "")
    assert format_audit_entry(asked) == "`#3` <t:1735787045:R> **Ann** ☐ `book_table` confirmation timed out — Book it."
    assert format_audit_entry(call) == "`#4` <t:1735787045:R> **Ann** ✋ book_table table=4 · not confirmed · 0.0 s"


@pytest.mark.asyncio
async def test_ask_over_the_turn_rate_is_always_answered_so_the_command_never_hangs() -> None:
    concierge = FakeConcierge(replies=[SlowDown(12, first=False)])
    interaction = in_thread()
    await CommandHandlers(concierge).ask(interaction, prompt="again", tool="auto")  # type: ignore[arg-type]
    assert followup_texts(interaction) == [error_sentence(SlowDown(12, first=False))]


@pytest.mark.parametrize(
    ("locale", "reply"),
    [
        (discord.Locale.american_english, "`get_weather` is now disabled in this server."),
        (discord.Locale.chinese, "`get_weather` 已在本服务器停用。"),
    ],
)
@pytest.mark.asyncio
async def test_a_command_replies_in_the_members_language(locale: discord.Locale, reply: str) -> None:
    interaction = in_thread(permissions=ADMIN)
    interaction.locale = locale
    await CommandHandlers(FakeConcierge()).set_enabled(interaction, tool="get_weather", enabled=False)  # type: ignore[arg-type]
    assert followup_texts(interaction) == [reply]


@pytest.mark.parametrize(
    ("locale", "refusal"),
    [
        (discord.Locale.american_english, "Only server admins (Administrator or Manage Server) can do that."),
        (discord.Locale.chinese, "只有服务器管理员（拥有“管理员”或“管理服务器”权限）可以这样做。"),
    ],
)
@pytest.mark.asyncio
async def test_a_refusal_reads_in_the_members_language(locale: discord.Locale, refusal: str) -> None:
    interaction = in_thread()
    interaction.locale = locale
    await CommandHandlers(FakeConcierge()).set_enabled(interaction, tool="get_weather", enabled=False)  # type: ignore[arg-type]
    assert followup_texts(interaction) == [refusal]


def spending_commands(concierge: FakeConcierge) -> dict[str, Any]:
    return {command.name: command for command in build_spending_commands(CommandHandlers(concierge))}  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_usage_shows_the_member_their_own_exact_counts_privately() -> None:
    concierge = FakeConcierge()
    interaction = in_thread()
    await spending_commands(concierge)["usage"].callback(interaction)
    assert followup_texts(interaction) == [
        "**Your usage in **Cafe**** (days in UTC)\n"
        "Today: 12,345 tokens (input 12,000 · output 345)\n"
        "This month: 12,345 tokens (input 12,000 · output 345)\n"
        "Prompt cache: 25% of input tokens this month (3,000 cached)"
    ]
    assert all_ephemeral(interaction) and concierge.changes == [("usage", "7")]


@pytest.mark.asyncio
async def test_quota_commands_are_for_admins_and_say_what_changed() -> None:
    concierge = FakeConcierge()
    quota = spending_commands(concierge)["quota"]
    role = FakeRole(77, name="vip")
    admin, member = in_thread(permissions=ADMIN), in_thread(permissions=MEMBER)
    await quota.get_command("role").callback(admin, role=role, tokens=100_000)
    await quota.get_command("reset").callback(admin, scope="member")
    await quota.get_command("server").callback(member, tokens=0)
    assert followup_texts(admin) == [
        "The daily quota for members with <@&77> is now 100,000 tokens a day.",
        "The daily quota for each member is back to the default.",
    ]
    assert followup_texts(member) == ["Only server admins (Administrator or Manage Server) can do that."]
    assert concierge.changes == [("quota", "role", "77", "100000"), ("quota", "member", "", "default")]
