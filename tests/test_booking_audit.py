"""A booking's actions are audited under the booking's own server, wherever the member typed."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import pytest_asyncio

from bot.catalog import OpeningHours, Restaurant
from bot.concierge import ChatHooks, Concierge
from bot.engine.confirm import ConfirmationOutcome, ConfirmationRequest
from bot.engine.permissions import Caller, Place
from bot.engine.tools import Registry
from bot.prompt import SystemPrompt
from bot.store import Store
from tests.engine.scripted import ScriptedAPI
from tools.bookings import BookingLimits, book_restaurant, cancel_booking, list_my_bookings

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # Monday, 09:00 in London
ANA = Caller(user_id="u-ana", name="Ana", role_ids=frozenset({"diners"}))
ANA_IN_DM = Caller(user_id="u-ana", name="Ana")
ADMIN_A = Caller(user_id="admin-a", name="Admin A", is_admin=True)
ADMIN_B = Caller(user_id="admin-b", name="Admin B", is_admin=True)
SERVER_A = Place(channel_id="a-chan", guild_id="g-a")
SERVER_B = Place(channel_id="b-chan", guild_id="g-b")
DM = Place(channel_id="dm-ana")


class SaysYes:
    """Ana presses yes on every confirmation."""

    async def confirm(self, request: ConfirmationRequest) -> ConfirmationOutcome:
        return ConfirmationOutcome("confirmed", by_id=ANA.user_id, by_name=ANA.name)


@pytest_asyncio.fixture
async def store(tmp_path: pathlib.Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "concierge.db")
    await opened.restaurants.upsert_many(
        [
            Restaurant(
                id="ldn",
                name="Kitchen ldn",
                city="London",
                district="Soho",
                cuisine="British",
                price_range="moderate",
                address="1 Test Street",
                timezone="Europe/London",
                hours=OpeningHours.parse_compact("mon-sat 11:00-14:00,17:00-22:00"),
                seats_per_slot=6,
            )
        ]
    )
    await opened.policies.allow_role("g-a", "book_restaurant", "diners", actor_id="admin-a", actor_name="Admin A")
    yield opened
    await opened.close()


@pytest.mark.asyncio
async def test_a_cancellation_from_a_dm_or_another_server_is_audited_under_the_bookings_server(store: Store) -> None:
    api = (
        ScriptedAPI()
        .calls(("book_restaurant", {"restaurant_id": "ldn", "date": "2026-06-02", "time": "19:00", "party_size": 2}))
        .text("Booked #1.")
        .calls(("book_restaurant", {"restaurant_id": "ldn", "date": "2026-06-03", "time": "19:00", "party_size": 2}))
        .text("Booked #2.")
        .calls(("cancel_booking", {"booking_id": 1}))
        .text("Cancelled #1.")
        .calls(("cancel_booking", {"booking_id": 2}))
        .text("Cancelled #2.")
    )
    concierge = Concierge(
        api=api,  # type: ignore[arg-type]
        registry=Registry([book_restaurant, cancel_booking, list_my_bookings]),
        history=store.history,
        policies=store.policies,
        audit=store.audit,
        conversations=store.conversations,
        prompt=SystemPrompt("test"),
        services=SimpleNamespace(
            restaurants=store.restaurants, bookings=store.bookings, booking_limits=BookingLimits()
        ),
        now=lambda: NOW,
    )
    hooks = ChatHooks(SaysYes())
    await concierge.chat(SERVER_A, ANA, "book June 2nd", hooks=hooks)
    await concierge.chat(SERVER_A, ANA, "book June 3rd", hooks=hooks)
    from_dm = await concierge.chat(DM, ANA_IN_DM, "cancel #1", hooks=hooks)
    from_b = await concierge.chat(SERVER_B, ANA, "cancel #2", hooks=hooks)
    assert [entry.outcome for entry in (*from_dm.trace, *from_b.trace)] == ["ok", "ok"]

    seen_by_a = await concierge.audit(SERVER_A, ADMIN_A, tool="cancel_booking")
    assert sorted((entry.kind, entry.outcome) for entry in seen_by_a) == [
        ("confirmation", "confirmed"),
        ("confirmation", "confirmed"),
        ("confirmation", "requested"),
        ("confirmation", "requested"),
        ("tool_call", "ok"),
        ("tool_call", "ok"),
    ]
    assert all(entry.guild_id == "g-a" and entry.user_id == ANA.user_id for entry in seen_by_a)
    assert any("Kitchen ldn" in entry.summary for entry in seen_by_a)

    assert await concierge.audit(SERVER_B, ADMIN_B) == []  # server B never sees server A's booking
    dm_rows = await store.db.fetch("SELECT tool FROM audit_log WHERE guild_id IS NULL")
    assert [tuple(row) for row in dm_rows] == []
