"""Slash commands: acknowledged at once, refusals ephemeral, admin checks surfaced, replies as a member sees them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.webhook.async_ import async_context

from bot.attachments import SharedFile
from bot.concierge import AuditEntry, Reply, SlowDown, SourceStatus, UnknownTool
from bot.discord_adapter.ask import ToolChoice
from bot.discord_adapter.client import ConciergeBot
from bot.discord_adapter.commands import ToolAdmin, format_audit_entry, install_commands
from bot.discord_adapter.interactions import ToolName
from bot.discord_adapter.render import GENERIC_FAILURE, error_sentence
from bot.discord_adapter.turns import NOTE_THREAD_LIMIT
from bot.engine.errors import ToolChoiceRefused
from bot.engine.permissions import Caller, Place
from tests.discord_adapter.fakes import (
    TOOLS,
    FakeAttachment,
    FakeChannel,
    FakeConcierge,
    FakeGuild,
    FakeRole,
    FakeUser,
    http_error,
)

ADMIN = discord.Permissions(manage_guild=True)
MEMBER = discord.Permissions(send_messages=True)


@dataclass
class FakeInteractionResponse:
    deferred: list[dict[str, bool]] = field(default_factory=list)
    messages: list[tuple[str, bool]] = field(default_factory=list)

    async def defer(self, *, ephemeral: bool = False, thinking: bool = False) -> None:
        self.deferred.append({"ephemeral": ephemeral, "thinking": thinking})

    async def send_message(self, content: str, *, ephemeral: bool = False, **options: Any) -> None:
        self.messages.append((content, ephemeral))

    def is_done(self) -> bool:
        return bool(self.deferred or self.messages)


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
    client: Any = None
    command: Any = None

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


def command_tree(concierge: FakeConcierge) -> app_commands.CommandTree[discord.Client]:
    client = discord.Client(intents=discord.Intents.default())
    client.concierge = concierge  # type: ignore[attr-defined]  # as ConciergeBot carries its facade
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    install_commands(tree, concierge)  # type: ignore[arg-type]
    return tree


async def run(concierge: FakeConcierge, interaction: FakeInteraction, name: str, **options: Any) -> None:
    """Run the slash command `name` (e.g. "tooladmin enable") as CommandTree._call does once Discord's payload is
    parsed: checks, each option through its transformer, the callback, then the error handlers on failure."""
    tree = command_tree(concierge)
    first, *rest = name.split()
    command: Any = tree.get_command(first)
    for part in rest:
        command = command.get_command(part)
    interaction.client, interaction.command = tree.client, command
    try:
        await command._invoke_with_namespace(interaction, SimpleNamespace(**options))
    except app_commands.AppCommandError as error:
        await command._invoke_error_handlers(interaction, error)
        await tree.on_error(interaction, error)  # type: ignore[arg-type]


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

    await run(concierge, interaction, "ask", prompt="what is 6*7?", tool="calculate")

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

    await run(concierge, interaction, "ask", prompt="book it", tool="book_table")

    assert interaction.response.messages == [(error_sentence(refusal), True)]
    assert interaction.response.deferred == []
    assert concierge.chats == []
    assert interaction.channel.created_threads == []  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_ask_in_a_text_channel_opens_a_thread_links_to_it_and_answers_inside() -> None:
    concierge = FakeConcierge(replies=[Reply(text="Booked.")])
    interaction = in_text_channel()
    channel = interaction.channel
    assert channel is not None

    await run(concierge, interaction, "ask", prompt="<@2> book a table for 4", tool="auto")

    [thread] = channel.created_threads
    assert thread.name == "book a table for 4"
    assert followup_texts(interaction) == [f"I opened <#{thread.id}> for your question."]
    assert [sent.content for sent in thread.sent] == ["**Ann** asked:\n<@2> book a table for 4", "Booked."]
    assert all(sent.options["allowed_mentions"].to_dict()["parse"] == [] for sent in thread.sent)
    thread_place = Place(channel_id=str(thread.id), guild_id="5", guild_name="Cafe", channel_name=thread.name)
    assert [place for place, _ in concierge.started] == [thread_place]
    assert [chat.place for chat in concierge.chats] == [thread_place]


@pytest.mark.asyncio
async def test_ask_with_a_file_passes_it_on_and_names_it_under_the_question_in_the_thread() -> None:
    concierge = FakeConcierge(replies=[Reply(text="Soup of the day: tomato.")])
    interaction = in_text_channel()
    menu = FakeAttachment("lunch-menu.pdf", 667, "application/pdf", "https://cdn.discordapp.com/a/1/lunch-menu.pdf")

    await run(concierge, interaction, "ask", prompt="what soup?", tool="auto", file=menu)

    [chat] = concierge.chats
    assert chat.files == (SharedFile("lunch-menu.pdf", 667, "application/pdf", menu.url),)
    [thread] = interaction.channel.created_threads  # type: ignore[union-attr]
    assert [sent.content for sent in thread.sent] == [
        "**Ann** asked:\nwhat soup?\n📎 `lunch-menu.pdf`",
        "Soup of the day: tomato.",
    ]


@pytest.mark.asyncio
async def test_ask_without_a_file_passes_no_files() -> None:
    concierge = FakeConcierge()
    await run(concierge, in_thread(), "ask", prompt="hello", tool="auto")
    assert [chat.files for chat in concierge.chats] == [()]


@pytest.mark.asyncio
async def test_ask_in_a_text_channel_at_the_thread_limit_answers_in_place_with_a_note() -> None:
    concierge = FakeConcierge()
    interaction = in_text_channel(thread_error=http_error(160006))

    await run(concierge, interaction, "ask", prompt="hello", tool="auto")

    [(content, options)] = interaction.followup.sent
    assert content == "Sure thing."
    assert options["embed"].description == f"ℹ {NOTE_THREAD_LIMIT}"
    assert concierge.chats[0].place.channel_id == "6"


@pytest.mark.asyncio
async def test_ask_tool_autocomplete_offers_modes_then_the_members_usable_tools() -> None:
    interaction = in_thread()
    interaction.client = command_tree(FakeConcierge()).client
    everything = await ToolChoice().autocomplete(interaction, "")  # type: ignore[arg-type]
    assert [choice.value for choice in everything] == ["auto", "required", "none", "calculate", "get_weather"]
    assert [choice.value for choice in await ToolChoice().autocomplete(interaction, "WEA")] == ["get_weather"]  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_admin_tool_option_autocompletes_every_tool_the_bot_knows() -> None:
    interaction = in_thread(permissions=ADMIN)
    interaction.client = command_tree(FakeConcierge()).client
    assert [choice.value for choice in await ToolName().autocomplete(interaction, "")] == TOOLS  # type: ignore[arg-type]
    assert [choice.value for choice in await ToolName().autocomplete(interaction, "TAB")] == ["book_table"]  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_tooladmin_by_a_non_admin_is_refused_ephemerally_and_changes_nothing() -> None:
    concierge = FakeConcierge()
    interaction = in_thread(permissions=MEMBER)

    await run(concierge, interaction, "tooladmin disable", tool="get_weather")

    assert followup_texts(interaction) == ["Only server admins (Administrator or Manage Server) can do that."]
    assert all_ephemeral(interaction)
    assert concierge.changes == []


@pytest.mark.asyncio
async def test_tooladmin_by_an_admin_changes_the_policy_and_confirms() -> None:
    concierge = FakeConcierge()
    disable, allow, revoke = in_thread(permissions=ADMIN), in_thread(permissions=ADMIN), in_thread(permissions=ADMIN)
    staff = FakeRole(20, "staff")

    await run(concierge, disable, "tooladmin disable", tool="get_weather")
    await run(concierge, allow, "tooladmin allow", tool="book_table", role=staff)
    await run(concierge, revoke, "tooladmin revoke", tool="book_table", role=staff)

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
    await run(FakeConcierge(), interaction, "tooladmin enable", tool="teleport")
    assert followup_texts(interaction) == [
        "There is no tool `teleport`. Tools: `book_table`, `calculate`, `get_weather`."
    ]


@pytest.mark.asyncio
async def test_tools_list_shows_state_usability_and_roles_ephemerally() -> None:
    interaction = in_thread()
    await run(FakeConcierge(), interaction, "tools list")
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
async def test_tools_list_shows_each_mcp_server_with_its_status_after_the_built_in_tools() -> None:
    concierge = FakeConcierge()
    concierge.sources = [
        SourceStatus("mcp:wiki", "wiki", "connected", tools=0),
        SourceStatus("mcp:tickets", "tickets", "failed", error="cannot reach the server (ConnectError)"),
        SourceStatus("mcp:clock", "clock", "connecting"),
    ]
    interaction = in_thread()
    await run(concierge, interaction, "tools list")
    [text] = followup_texts(interaction)
    assert text.endswith(
        "    disabled in this server\n"
        "**MCP server `wiki`** — connected, 0 tools\n"
        "**MCP server `tickets`** — unavailable, retrying: cannot reach the server (ConnectError)\n"
        "**MCP server `clock`** — connecting…"
    )


@pytest.mark.asyncio
async def test_audit_lists_recent_calls_and_policy_changes_for_admins_only() -> None:
    concierge = FakeConcierge()
    admin, member = in_thread(permissions=ADMIN), in_thread(permissions=MEMBER)

    await run(concierge, admin, "audit", tool="get_weather", user=FakeUser(id=8))
    await run(concierge, member, "audit")

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
    await run(concierge, interaction, "history clear")
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
        await run(concierge, interaction, "history clear")
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
        ("file", False, False),
    ]
    assert payload["ask"]["options"][2]["type"] == discord.AppCommandOptionType.attachment.value


class RecordingAdapter:
    """Stands in for discord.py's webhook adapter: records interaction callbacks and followups."""

    def __init__(self) -> None:
        self.callbacks: list[dict[str, Any]] = []
        self.followups: list[dict[str, Any]] = []

    async def create_interaction_response(self, interaction_id: int, token: str, **kwargs: Any) -> dict[str, Any]:
        self.callbacks.append(kwargs["params"].payload)
        return {"interaction": {"id": str(interaction_id), "type": 2}}

    async def execute_webhook(self, webhook_id: int, token: str, **kwargs: Any) -> dict[str, Any]:
        self.followups.append(kwargs["payload"])
        return {  # the message Discord returns (discord.py always waits for an interaction's followup)
            "id": str(2000 + len(self.followups)),
            "channel_id": "6",
            "type": 0,
            "content": kwargs["payload"].get("content", ""),
            "author": {"id": "1", "username": "concierge", "discriminator": "0", "avatar": None, "bot": True},
            "attachments": [],
            "embeds": [],
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "mention_everyone": False,
            "tts": False,
            "timestamp": "2025-01-02T03:04:05+00:00",
            "edited_timestamp": None,
            "flags": kwargs["payload"].get("flags", 0),
        }


BOT_USER = {"id": "1", "username": "concierge", "discriminator": "0", "avatar": None, "bot": True}


def interaction_payload(
    command: app_commands.Group | app_commands.Command[Any, ..., Any],
    options: list[dict[str, Any]],
    *,
    permissions: discord.Permissions,
    type: int = 2,
) -> Any:
    """What Discord sends when a member in a server text channel uses `command` (type 4: autocompletes it)."""
    return {
        "id": "1000",
        "application_id": "1",
        "token": "token",
        "version": 1,
        "type": type,
        "attachment_size_limit": 8_000_000,
        "guild_id": "5",
        "channel": {"id": "6", "type": 0, "name": "general", "guild_id": "5", "position": 0, "nsfw": False},
        "member": {
            "user": {"id": "7", "username": "ann", "discriminator": "0", "global_name": "Ann", "avatar": None},
            "roles": ["30"],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "permissions": str(permissions.value),
            "flags": 0,
        },
        "data": {"id": str(hash(command)), "name": command.name, "type": 1, "options": options},
    }


@pytest.mark.parametrize(
    ("permissions", "reply"),
    [
        (ADMIN, "`calculate` is now enabled in this server."),
        (MEMBER, "Only server admins (Administrator or Manage Server) can do that."),
    ],
    ids=["admin", "member refused by the error handler"],
)
@pytest.mark.asyncio
async def test_a_real_interaction_payload_runs_tooladmin_enable_end_to_end(
    permissions: discord.Permissions, reply: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = discord.Client(intents=discord.Intents.default())
    client._connection.user = discord.ClientUser(state=client._connection, data=BOT_USER)  # as after login
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    concierge = FakeConcierge()
    install_commands(tree, concierge)  # type: ignore[arg-type]
    admin_group = tree.get_command("tooladmin")
    assert isinstance(admin_group, app_commands.Group)
    enable = {"type": 1, "name": "enable", "options": [{"type": 3, "name": "tool", "value": "calculate"}]}
    payload = interaction_payload(admin_group, [enable], permissions=permissions)
    adapter = RecordingAdapter()
    token = async_context.set(adapter)  # type: ignore[arg-type]
    try:
        with caplog.at_level(logging.ERROR):
            await tree._call(discord.Interaction(data=payload, state=client._connection))
    finally:
        async_context.reset(token)

    assert concierge.changes == ([("calculate", "enabled")] if permissions == ADMIN else [])
    assert adapter.callbacks == [{"type": 5, "data": {"flags": 64}}]
    assert [(f["content"], f["flags"]) for f in adapter.followups] == [(reply, 64)]
    assert caplog.records == []  # a refusal is an answer, not a failure


@pytest.mark.asyncio
async def test_the_tool_option_autocompletes_from_the_bots_facade_in_a_real_interaction(tmp_path: Path) -> None:
    bot = ConciergeBot(FakeConcierge(), commands_hash_file=tmp_path / "h")  # type: ignore[arg-type]
    bot._connection.user = discord.ClientUser(state=bot._connection, data=BOT_USER)  # as after login
    admin_group = bot.tree.get_command("tooladmin")
    assert admin_group is not None
    typing = {"type": 1, "name": "allow", "options": [{"type": 3, "name": "tool", "value": "TAB", "focused": True}]}
    payload = interaction_payload(admin_group, [typing], permissions=ADMIN, type=4)
    adapter = RecordingAdapter()
    token = async_context.set(adapter)  # type: ignore[arg-type]
    try:
        await bot.tree._call(discord.Interaction(data=payload, state=bot._connection))
    finally:
        async_context.reset(token)
    assert adapter.callbacks == [{"type": 8, "data": {"choices": [{"name": "book_table", "value": "book_table"}]}}]


@pytest.mark.asyncio
async def test_a_real_ask_payload_with_a_file_hands_the_facade_the_attachment_discord_resolved() -> None:
    client = discord.Client(intents=discord.Intents.default())
    client._connection.user = discord.ClientUser(state=client._connection, data=BOT_USER)  # as after login
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    concierge = FakeConcierge(replies=[Reply(text="Tomato soup.")])
    install_commands(tree, concierge)  # type: ignore[arg-type]
    ask = tree.get_command("ask")
    assert isinstance(ask, app_commands.Command)
    url = "https://cdn.discordapp.com/attachments/50/555/lunch-menu.pdf?ex=68&is=67&hm=ab"
    options = [{"type": 3, "name": "prompt", "value": "what soup?"}, {"type": 11, "name": "file", "value": "555"}]
    payload = interaction_payload(ask, options, permissions=MEMBER)
    payload["channel"] = {  # a thread: /ask answers in place there
        "id": "50",
        "type": 11,
        "name": "lunch",
        "guild_id": "5",
        "parent_id": "6",
        "owner_id": "1",
        "message_count": 1,
        "member_count": 1,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": "2025-01-02T03:04:05+00:00",
        },
    }
    payload["data"]["resolved"] = {
        "attachments": {
            "555": {
                "id": "555",
                "filename": "lunch-menu.pdf",
                "size": 667,
                "url": url,
                "proxy_url": "https://media.discordapp.net/attachments/50/555/lunch-menu.pdf",
                "content_type": "application/pdf",
            }
        }
    }
    adapter = RecordingAdapter()
    token = async_context.set(adapter)  # type: ignore[arg-type]
    try:
        await tree._call(discord.Interaction(data=payload, state=client._connection))
    finally:
        async_context.reset(token)

    [chat] = concierge.chats
    assert chat.files == (SharedFile("lunch-menu.pdf", 667, "application/pdf", url),)
    assert [followup["content"] for followup in adapter.followups] == ["Tomato soup."]


def test_each_tree_gets_its_own_commands_bound_to_its_own_concierge() -> None:
    one, other = FakeConcierge(), FakeConcierge()
    first, second = command_tree(one), command_tree(other)
    assert [c.name for c in first.get_commands()] == [c.name for c in second.get_commands()]
    assert all(a is not b for a, b in zip(first.get_commands(), second.get_commands(), strict=True))
    admin_one, admin_other = first.get_command("tooladmin"), second.get_command("tooladmin")
    assert isinstance(admin_one, ToolAdmin) and isinstance(admin_other, ToolAdmin)
    assert (admin_one.concierge, admin_other.concierge) == (one, other)


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
        await run(concierge, interaction, "ask", prompt="hello", tool="auto")
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
    await run(concierge, interaction, "ask", prompt="again", tool="auto")
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
    await run(FakeConcierge(), interaction, "tooladmin disable", tool="get_weather")
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
    await run(FakeConcierge(), interaction, "tooladmin disable", tool="get_weather")
    assert followup_texts(interaction) == [refusal]


@pytest.mark.asyncio
async def test_usage_shows_the_member_their_own_exact_counts_privately() -> None:
    concierge = FakeConcierge()
    interaction = in_thread()
    await run(concierge, interaction, "usage")
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
    role = FakeRole(77, name="vip")
    admin, member = in_thread(permissions=ADMIN), in_thread(permissions=MEMBER)
    await run(concierge, admin, "quota role", role=role, tokens=100_000)
    await run(concierge, admin, "quota reset", scope="member")
    await run(concierge, member, "quota server", tokens=0)
    assert followup_texts(admin) == [
        "The daily quota for members with <@&77> is now 100,000 tokens a day.",
        "The daily quota for each member is back to the default.",
    ]
    assert followup_texts(member) == ["Only server admins (Administrator or Manage Server) can do that."]
    assert concierge.changes == [("quota", "role", "77", "100000"), ("quota", "member", "", "default")]
