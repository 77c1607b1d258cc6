"""Start-up and shut-down: commands sync only when they changed; SIGTERM closes the client cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.discord_adapter.client import ConciergeBot, commands_fingerprint, sync_if_changed
from bot.discord_adapter.commands import install_commands
from bot.discord_adapter.messages import CATALOG
from bot.discord_adapter.runner import run_bot
from bot.discord_adapter.translator import CatalogTranslator
from tests.discord_adapter.fakes import FakeConcierge


class RecordingTree(app_commands.CommandTree[discord.Client]):
    """A CommandTree whose sync is counted instead of sent to Discord."""

    syncs = 0

    async def sync(self, *, guild: discord.abc.Snowflake | None = None) -> list[app_commands.AppCommand]:
        self.syncs += 1
        return []


def tree_with_commands() -> RecordingTree:
    tree = RecordingTree(discord.Client(intents=discord.Intents.default()))
    install_commands(tree, FakeConcierge())  # type: ignore[arg-type]
    return tree


@pytest.mark.asyncio
async def test_commands_sync_on_first_start_and_not_again_while_unchanged(tmp_path: Path) -> None:
    hash_file = tmp_path / "data" / "commands.sha256"
    first, second = tree_with_commands(), tree_with_commands()

    assert await sync_if_changed(first, hash_file=hash_file) is True
    assert await sync_if_changed(second, hash_file=hash_file) is False

    assert (first.syncs, second.syncs) == (1, 0)
    assert hash_file.read_text().strip() == await commands_fingerprint(second)


@pytest.mark.asyncio
async def test_commands_sync_again_when_the_command_set_changes(tmp_path: Path) -> None:
    hash_file = tmp_path / "commands.sha256"
    await sync_if_changed(tree_with_commands(), hash_file=hash_file)
    changed = tree_with_commands()

    @changed.command(name="ping", description="A new command")
    async def ping(interaction: discord.Interaction) -> None:
        raise AssertionError("never invoked")

    assert await sync_if_changed(changed, hash_file=hash_file) is True
    assert changed.syncs == 1


@pytest.mark.asyncio
async def test_a_failed_sync_records_nothing_so_the_next_start_retries(tmp_path: Path) -> None:
    hash_file = tmp_path / "commands.sha256"

    class FailingTree(RecordingTree):
        async def sync(self, *, guild: discord.abc.Snowflake | None = None) -> list[app_commands.AppCommand]:
            raise RuntimeError("Discord said no")

    failing = FailingTree(discord.Client(intents=discord.Intents.default()))
    install_commands(failing, FakeConcierge())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        await sync_if_changed(failing, hash_file=hash_file)
    assert not hash_file.exists()


async def translated_tree() -> RecordingTree:
    tree = tree_with_commands()
    await tree.set_translator(CatalogTranslator())
    return tree


@pytest.mark.asyncio
async def test_the_synced_payload_carries_chinese_descriptions_and_unchanged_names() -> None:
    tree = await translated_tree()
    [ask] = [command for command in tree.get_commands() if command.name == "ask"]
    payload = await ask.get_translated_payload(tree, CatalogTranslator())  # type: ignore[union-attr]
    assert payload["description"] == "Ask the assistant; it may use this server's tools."
    assert payload["description_localizations"] == {"zh-CN": CATALOG["cmd.ask"]["zh-CN"]}
    assert payload.get("name_localizations", {}) == {}
    assert payload["options"][0]["description_localizations"] == {"zh-CN": "你想问的内容"}
    assert payload["options"][2]["name"] == "file"
    assert payload["options"][2]["description_localizations"] == {"zh-CN": CATALOG["cmd.ask.file"]["zh-CN"]}


@pytest.mark.asyncio
async def test_commands_fingerprint_changes_when_a_translation_changes_and_not_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = await commands_fingerprint(await translated_tree())
    assert await commands_fingerprint(await translated_tree()) == before

    monkeypatch.setitem(CATALOG["cmd.tools.list"], "zh-CN", "列出工具")
    assert await commands_fingerprint(await translated_tree()) != before


@pytest.mark.asyncio
async def test_the_bot_syncs_translated_commands_on_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bot = ConciergeBot(FakeConcierge(), commands_hash_file=tmp_path / "h")  # type: ignore[arg-type]
    synced: list[object] = []

    async def fake_sync(*, guild: discord.abc.Snowflake | None = None) -> list[app_commands.AppCommand]:
        synced.append(bot.tree.translator)
        return []

    monkeypatch.setattr(bot.tree, "sync", fake_sync)
    await bot.setup_hook()
    assert isinstance(synced[0], CatalogTranslator)


def test_the_bot_asks_for_message_content_and_no_privileged_member_intent(tmp_path: Path) -> None:
    bot = ConciergeBot(FakeConcierge(), commands_hash_file=tmp_path / "h")  # type: ignore[arg-type]
    assert bot.intents.message_content is True
    assert bot.intents.members is False
    assert sorted(command.name for command in bot.tree.get_commands()) == [
        "ask",
        "audit",
        "history",
        "quota",
        "tooladmin",
        "tools",
        "usage",
    ]


def test_by_default_the_bot_runs_one_shard_of_one_like_an_unsharded_bot(tmp_path: Path) -> None:
    bot = ConciergeBot(FakeConcierge(), commands_hash_file=tmp_path / "h")  # type: ignore[arg-type]
    assert (bot.shard_count, bot.shard_ids) == (1, [0])


@pytest.mark.asyncio
async def test_a_process_not_running_shard_0_runs_its_shards_and_never_syncs_commands(tmp_path: Path) -> None:
    bot = ConciergeBot(
        FakeConcierge(),  # type: ignore[arg-type]
        commands_hash_file=tmp_path / "h",
        shard_count=4,
        shard_ids=[2, 3],
        sync_commands=False,
    )
    synced: list[bool] = []

    async def sync(**_: Any) -> list[app_commands.AppCommand]:
        synced.append(True)
        return []

    bot.tree.sync = sync  # type: ignore[method-assign]
    await bot.setup_hook()
    assert (bot.shard_count, bot.shard_ids) == (4, [2, 3])
    assert synced == [] and not (tmp_path / "h").exists()
    bot.sync_commands = True
    await bot.setup_hook()
    assert synced == [True]


@pytest.mark.asyncio
async def test_closing_the_bot_lets_running_turns_finish_before_disconnecting(tmp_path: Path) -> None:
    concierge = FakeConcierge()
    bot = ConciergeBot(concierge, commands_hash_file=tmp_path / "h")  # type: ignore[arg-type]
    await bot.__aenter__()  # what run_bot's `async with bot` does before anything else
    await bot.close()
    assert concierge.changes == [("shutdown",)]
    assert bot.is_closed()


class FakeBot:
    """Just the lifecycle run_bot uses: async context manager, start(token), close()."""

    def __init__(self, *, fail_with: Exception | None = None) -> None:
        self.started = asyncio.Event()
        self.closed = asyncio.Event()
        self.fail_with = fail_with
        self.token: str | None = None
        self.exited = False

    async def __aenter__(self) -> FakeBot:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.exited = True

    async def start(self, token: str) -> None:
        self.token = token
        self.started.set()
        if self.fail_with is not None:
            raise self.fail_with
        await self.closed.wait()

    async def close(self) -> None:
        self.closed.set()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.asyncio
async def test_a_stop_signal_closes_the_client_and_run_bot_returns(sig: signal.Signals) -> None:
    bot = FakeBot()
    running = asyncio.create_task(run_bot(bot, "secret-token"))  # type: ignore[arg-type]
    await bot.started.wait()

    os.kill(os.getpid(), sig)
    await asyncio.wait_for(running, timeout=5)

    assert bot.closed.is_set()
    assert bot.exited
    assert bot.token == "secret-token"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # our handler is gone again


@pytest.mark.asyncio
async def test_a_login_failure_propagates_and_leaves_no_signal_handler() -> None:
    bot = FakeBot(fail_with=discord.LoginFailure("Improper token has been passed."))
    with pytest.raises(discord.LoginFailure):
        await run_bot(bot, "bad")  # type: ignore[arg-type]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


@pytest.mark.asyncio
async def test_run_bot_returns_when_the_client_closes_by_itself() -> None:
    bot = FakeBot()
    running = asyncio.create_task(run_bot(bot, "t"))  # type: ignore[arg-type]
    await bot.started.wait()
    await bot.close()
    await asyncio.wait_for(running, timeout=5)
    assert bot.exited


def _options(payload: dict[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    """Every option of a synced command payload, named by its command path (sub-commands walked through)."""
    found: list[tuple[str, dict[str, Any]]] = []
    for option in payload.get("options", []):
        if option["type"] in (1, 2):  # a sub-command or a sub-command group
            found.extend(_options(option, f"{path} {option['name']}"))
        else:
            found.append((f"{path} {option['name']}", option))
    return found


@pytest.mark.asyncio
async def test_every_option_of_every_command_has_a_real_description_in_english_and_chinese() -> None:
    tree = await translated_tree()
    options = []
    for command in tree.get_commands():
        payload = await command.get_translated_payload(tree, CatalogTranslator())
        options.extend(_options(payload, f"/{command.name}"))
    assert options
    undescribed = [
        path
        for path, option in options
        if option["description"] in ("", "…")
        or not option.get("description_localizations", {}).get("zh-CN")
        or option["description_localizations"]["zh-CN"] == option["description"]
    ]
    assert undescribed == []
