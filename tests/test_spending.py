"""What turns cost: the ledger from real usage on both APIs, quotas checked before every request, and /usage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from bot.concierge import Concierge, NotAllowed, QuotaReached, Reply
from bot.discord_adapter.render import error_sentence
from bot.discord_adapter.usage_commands import format_member_usage, format_server_usage
from bot.engine.api.chat import ChatAPI
from bot.engine.api.responses import ResponsesAPI
from bot.engine.items import ToolOutput
from bot.engine.permissions import Caller, Place
from bot.engine.tools import Registry, ToolContext, tool
from bot.prompt import SystemPrompt
from bot.spending import MemberUsage, QuotaDefaults, ServerUsage, Spending, effective_quotas
from bot.store import Store
from bot.store.usage import MemberTotals, QuotaOverrides, UsageTotals
from tests.fake_openai import FakeOpenAI, FakeReply, RecordedRequest

NOW = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)
ANN = Caller(user_id="1", name="Ann", role_ids=frozenset({"diners"}))
BOB = Caller(user_id="2", name="Bob")
VIP = Caller(user_id="3", name="Vi", role_ids=frozenset({"vip"}))
ADMIN = Caller(user_id="9", name="Root", is_admin=True)
THREAD = Place(channel_id="t1", guild_id="g1", guild_name="Cafe")


@tool()
async def add(context: ToolContext, a: int, b: int) -> dict[str, int]:
    """Add two integers."""
    return {"sum": a + b}


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "concierge.db")
    yield opened
    await opened.close()


def concierge_for(store: Store, api: object, *, per_member: int = 0, per_server: int = 0) -> Concierge:
    return Concierge(
        api=api,  # type: ignore[arg-type]
        registry=Registry([add]),
        history=store.history,
        policies=store.policies,
        audit=store.audit,
        conversations=store.conversations,
        prompt=SystemPrompt("test"),
        services={},
        spending=Spending(
            store.usage,
            store.quotas,
            defaults=QuotaDefaults(per_member=per_member, per_server=per_server),
            model="test-model",
        ),
        now=lambda: NOW,
    )


def model_api(kind: str, client: object, *, stream: bool) -> object:
    cls = ChatAPI if kind == "chat" else ResponsesAPI
    return cls(client, model="test-model", stream=stream)  # type: ignore[arg-type]


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["responses", "chat"])
@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "plain"])
async def test_every_model_request_of_a_turn_is_in_the_ledger(kind: str, stream: bool, store: Store) -> None:
    async with FakeOpenAI(cached_tokens=4) as server, server.client() as client:
        server.reply_calls(("add", {"a": 1, "b": 2}))
        server.reply_text("3")
        concierge = concierge_for(store, model_api(kind, client, stream=stream))
        await concierge.chat(THREAD, ANN, "1 + 2?")
    usage = await concierge.member_usage(THREAD, ANN)
    assert usage.today == UsageTotals(
        input_tokens=20, cached_input_tokens=8, output_tokens=10, reasoning_tokens=0, requests=2, estimated_requests=0
    )
    assert usage.month == usage.today
    rows = await store.db.fetch("SELECT guild_id, channel_id, user_id, model FROM usage_ledger")
    assert {tuple(row) for row in rows} == {("g1", "t1", "1", "test-model")}


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(responder=_answer) as fake:
        yield fake


def _answer(request: RecordedRequest) -> FakeReply:
    return FakeReply(text="ok")  # 15 tokens a request (10 in, 5 out)


@pytest.mark.asyncio
async def test_a_turn_that_reaches_the_quota_ends_saying_so_and_keeps_what_its_tools_did(
    store: Store, server: FakeOpenAI
) -> None:
    async with server.client() as client:
        concierge = concierge_for(store, model_api("responses", client, stream=False), per_member=20)
        server.reply_calls(("add", {"a": 1, "b": 2}))  # 15 tokens: 15 of 20 used
        server.reply_calls(("add", {"a": 3, "b": 4}))  # 15 more: 30 of 20, so no third request
        reply = await concierge.chat(THREAD, ANN, "first")
        assert len(server.model_requests()) == 2
        assert reply.failed and isinstance(reply.error, QuotaReached)
        assert reply.error.key == "error.quota_reached.member"
        assert reply.error.params == {"limit": "20", "resets_in_minutes": 180}
        assert error_sentence(reply.error, "en") == (
            "You've reached your daily limit of 20 tokens. It resets at midnight UTC (in 3 h 0 min)."
        )
        assert (
            error_sentence(reply.error, "zh-CN")
            == "你已达到每日 20 个 token 的上限。上限将在 UTC 午夜重置（还有 3 小时 0 分钟）。"
        )
        assert [(entry.tool, entry.outcome) for entry in reply.trace] == [("add", "ok"), ("add", "ok")]
        kept = await store.history.load_window(THREAD.channel_id, max_turns=5, max_tokens=10_000)
        assert [item.output for item in kept if isinstance(item, ToolOutput)] == ['{"sum": 3}', '{"sum": 7}']

        with pytest.raises(QuotaReached) as reached:
            await concierge.chat(THREAD, ANN, "second")
        assert len(server.model_requests()) == 2  # no model call
        assert reached.value.key == "error.quota_reached.member"
        await concierge.chat(THREAD, BOB, "someone else may still ask")


@pytest.mark.asyncio
async def test_five_turns_started_at_once_by_one_member_share_one_quota(store: Store) -> None:
    release, progress = asyncio.Event(), asyncio.Event()
    in_flight: list[RecordedRequest] = []

    async def held_until_released(request: RecordedRequest) -> FakeReply:
        in_flight.append(request)
        progress.set()
        await release.wait()
        return FakeReply(text="ok")

    async with FakeOpenAI(responder=held_until_released) as server, server.client() as client:
        concierge = concierge_for(store, model_api("chat", client, stream=False), per_member=100)
        question = "tell me about " + "this long topic " * 40  # about 170 estimated tokens: more than the quota
        threads = [Place(channel_id=f"t{n}", guild_id="g1") for n in range(5)]
        turns = [asyncio.create_task(concierge.chat(thread, ANN, question)) for thread in threads]
        for turn in turns:
            turn.add_done_callback(lambda _: progress.set())
        while len(in_flight) + sum(turn.done() for turn in turns) < len(turns):
            await progress.wait()
            progress.clear()
        assert len(in_flight) == 1  # the first request holds its estimate: nothing is left for the other four
        release.set()
        outcomes = await asyncio.gather(*turns, return_exceptions=True)
    refused = [
        outcome
        for outcome in outcomes
        if isinstance(outcome, QuotaReached) or (isinstance(outcome, Reply) and isinstance(outcome.error, QuotaReached))
    ]
    assert len(refused) == 4
    assert [outcome.text for outcome in outcomes if isinstance(outcome, Reply) and not outcome.failed] == ["ok"]
    assert await store.db.fetch("SELECT id FROM usage_holds") == []


@pytest.mark.asyncio
async def test_the_server_quota_stops_everyone_once_the_server_used_it(store: Store, server: FakeOpenAI) -> None:
    async with server.client() as client:
        concierge = concierge_for(store, model_api("chat", client, stream=False), per_server=30)
        await concierge.chat(THREAD, ANN, "one")
        await concierge.chat(THREAD, BOB, "two")
        with pytest.raises(QuotaReached) as reached:
            await concierge.chat(THREAD, VIP, "three")
    assert reached.value.key == "error.quota_reached.server" and reached.value.params["limit"] == "30"


@pytest.mark.asyncio
async def test_admins_override_quotas_per_server_and_per_role_and_it_is_audited(
    store: Store, server: FakeOpenAI
) -> None:
    async with server.client() as client:
        concierge = concierge_for(store, model_api("responses", client, stream=False), per_member=1000)
        await concierge.set_quota(THREAD, ADMIN, "member", 10)
        await concierge.set_quota(THREAD, ADMIN, "role", 0, role_id="vip")
        for caller in (ANN, VIP):
            await concierge.chat(THREAD, caller, "first")
        with pytest.raises(QuotaReached):
            await concierge.chat(THREAD, ANN, "second")
        await concierge.chat(THREAD, VIP, "the vip role is unlimited")
        await concierge.set_quota(THREAD, ADMIN, "member", None)  # back to the setting: 1000
        await concierge.chat(THREAD, ANN, "allowed again")
    with pytest.raises(NotAllowed):
        await concierge.set_quota(THREAD, ANN, "member", 0)
    entries = await concierge.audit(THREAD, ADMIN)
    assert [entry.summary for entry in entries if entry.kind == "quota"] == [
        "set the daily member quota to the default tokens",
        "set the daily role vip quota to unlimited tokens",
        "set the daily member quota to 10 tokens",
    ]


@pytest.mark.parametrize(
    ("overrides", "caller", "expected"),
    [
        (QuotaOverrides(), ANN, (100, 1000)),
        (QuotaOverrides(member=5, server=0), ANN, (5, 0)),
        (QuotaOverrides(member=5, roles={"diners": 50}), ANN, (50, 1000)),
        (
            QuotaOverrides(member=5, roles={"diners": 50, "vip": 0}),
            Caller("4", "Both", frozenset({"diners", "vip"})),
            (0, 1000),
        ),
        (QuotaOverrides(member=5, roles={"vip": 0}), ANN, (5, 1000)),
    ],
    ids=["settings", "server overrides", "a role wins", "unlimited role wins", "other roles do not count"],
)
def test_effective_quotas_read_top_down(overrides: QuotaOverrides, caller: Caller, expected: tuple[int, int]) -> None:
    quotas = effective_quotas(QuotaDefaults(per_member=100, per_server=1000), overrides, caller)
    assert (quotas.member, quotas.server) == expected


@pytest.mark.asyncio
async def test_usage_is_private_unless_an_admin_asks(store: Store, server: FakeOpenAI) -> None:
    async with server.client() as client:
        concierge = concierge_for(store, model_api("responses", client, stream=False))
        await concierge.chat(THREAD, ANN, "hi")
        await concierge.chat(THREAD, BOB, "hi")
        await concierge.chat(THREAD, BOB, "again")
    with pytest.raises(NotAllowed):
        await concierge.member_usage(THREAD, BOB, member_id=ANN.user_id)
    with pytest.raises(NotAllowed):
        await concierge.server_usage(THREAD, ANN)
    assert (await concierge.member_usage(THREAD, ADMIN, member_id=ANN.user_id)).today.total_tokens == 15
    report = await concierge.server_usage(THREAD, ADMIN)
    assert report.today.total_tokens == 45
    assert [(entry.user_id, entry.totals.total_tokens) for entry in report.top_members] == [("2", 30), ("1", 15)]


def test_usage_shows_exact_counts() -> None:
    totals = UsageTotals(input_tokens=10_000, cached_input_tokens=2_500, output_tokens=2_345, requests=3)

    text = format_member_usage(MemberUsage("1", today=totals, month=totals), whose="Your", where="in **Cafe**")
    assert text.splitlines() == [
        "**Your usage in **Cafe**** (days in UTC)",
        "Today: 12,345 tokens (input 10,000 · output 2,345)",
        "This month: 12,345 tokens (input 10,000 · output 2,345)",
        "Prompt cache: 25% of input tokens this month (2,500 cached)",
    ]


def test_admins_see_the_servers_top_members_and_quotas() -> None:
    totals = UsageTotals(input_tokens=1_000, output_tokens=234, requests=2, estimated_requests=1)
    report = ServerUsage(
        today=totals,
        month=totals,
        top_members=(MemberTotals("1", totals),),
        defaults=QuotaDefaults(per_member=50_000),
        overrides=QuotaOverrides(server=0, roles={"77": 100_000}),
    )
    text = format_server_usage(report, where="in **Cafe**")
    assert "Today: 1,234 tokens (input 1,000 · output 234) · 1 of 2 requests estimated" in text
    assert "Top members this month: 1. <@1> 1,234" in text
    assert text.splitlines()[-1] == (
        "Quotas: each member 50,000 tokens a day (default) · the server unlimited (set here)"
        " · <@&77> 100,000 tokens a day"
    )


def test_usage_reads_in_simplified_chinese_for_a_zh_cn_member() -> None:
    totals = UsageTotals(input_tokens=10_000, output_tokens=2_345, requests=3)
    text = format_member_usage(
        MemberUsage("1", today=totals, month=totals), whose="你", where="在 **Cafe** ", language="zh-CN"
    )
    assert text.splitlines()[1] == "今天：12,345 个 token（输入 10,000 · 输出 2,345）"
