"""The booking tools through the executor: previews the member confirms, and a booking belongs to its server."""

from __future__ import annotations

import json
import pathlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import pytest_asyncio

from bot.catalog import OpeningHours, Restaurant
from bot.engine.confirm import ConfirmationOutcome, ConfirmationRequest
from bot.engine.executor import ToolExecutor
from bot.engine.gate import AsGiven, Gate
from bot.engine.items import ToolCall
from bot.engine.permissions import Caller, Place
from bot.engine.tools import Registry
from bot.store import Store
from tools.bookings import BookingLimits, book_restaurant, cancel_booking, list_my_bookings

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # Monday, 09:00 in London
ANA = Caller(user_id="u-ana", name="Ana", role_ids=frozenset({"diners"}))
SERVER = Place(channel_id="c-1", guild_id="g-1")
DM = Place(channel_id="dm-1")


class Recorder:
    """Confirms everything and keeps the requests."""

    def __init__(self) -> None:
        self.requests: list[ConfirmationRequest] = []

    async def confirm(self, request: ConfirmationRequest) -> ConfirmationOutcome:
        self.requests.append(request)
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
    await opened.policies.allow_role("g-1", "book_restaurant", "diners", actor_id="admin", actor_name="Admin")
    yield opened
    await opened.close()


def executor(store: Store, place: Place, confirmer: Recorder) -> ToolExecutor:
    return ToolExecutor(
        registry=Registry([book_restaurant, cancel_booking, list_my_bookings]),
        caller=ANA if place.guild_id else Caller(user_id=ANA.user_id, name=ANA.name),
        place=place,
        policies={},
        default_timeout=5,
        services=SimpleNamespace(
            restaurants=store.restaurants, bookings=store.bookings, booking_limits=BookingLimits()
        ),
        now=lambda: NOW,
        gate=Gate(policies=store.policies, members=AsGiven(ANA)),
        confirmer=confirmer,
    )


async def run(store: Store, place: Place, tool: str, arguments: dict[str, object]) -> tuple[str, dict[str, object]]:
    confirmer = Recorder()
    done = await executor(store, place, confirmer).execute(
        ToolCall(call_id="c", name=tool, arguments=json.dumps(arguments))
    )
    return done.entry.outcome, json.loads(done.output.output) | {"asked": [r.summary for r in confirmer.requests]}


async def book_in_server(store: Store) -> int:
    outcome, result = await run(
        store,
        SERVER,
        "book_restaurant",
        {"restaurant_id": "ldn", "date": "2026-06-02", "time": "19:00", "party_size": 4},
    )
    assert outcome == "ok", result
    return int(str(result["booking_id"]))


@pytest.mark.asyncio
async def test_the_member_confirms_the_booking_in_plain_words_before_it_is_made(store: Store) -> None:
    outcome, result = await run(
        store,
        SERVER,
        "book_restaurant",
        {"restaurant_id": "ldn", "date": "2026-06-02", "time": "19:00", "party_size": 4},
    )
    assert outcome == "ok" and result["status"] == "active"
    assert result["asked"] == [
        "Book a table for 4 at Kitchen ldn (1 Test Street) on Tuesday 2 June 2026 at 19:00 (Europe/London time)."
    ]


@pytest.mark.asyncio
async def test_an_impossible_booking_is_refused_without_asking(store: Store) -> None:
    outcome, result = await run(
        store,
        SERVER,
        "book_restaurant",
        {"restaurant_id": "ldn", "date": "2999-01-01", "time": "19:00", "party_size": 4},
    )
    assert outcome == "error" and result["asked"] == []
    assert "90 days ahead" in str(result["error"])


@pytest.mark.asyncio
async def test_a_cancellation_names_the_booking_the_member_confirms(store: Store) -> None:
    booking_id = await book_in_server(store)
    outcome, result = await run(store, SERVER, "cancel_booking", {"booking_id": booking_id})
    assert outcome == "ok" and result["status"] == "cancelled"
    assert result["asked"] == [
        f"Cancel booking #{booking_id}: a table for 4 at Kitchen ldn on Tuesday 2 June 2026 at 19:00 "
        "(Europe/London time)."
    ]


@pytest.mark.asyncio
async def test_a_server_that_disabled_cancelling_keeps_its_bookings_from_a_dm_cancel(store: Store) -> None:
    booking_id = await book_in_server(store)
    await store.policies.set_enabled("g-1", "cancel_booking", False, actor_id="admin", actor_name="Admin")
    outcome, result = await run(store, DM, "cancel_booking", {"booking_id": booking_id})
    assert outcome == "error" and result["asked"] == []
    assert result["error"] == "permission denied in the server where this booking was made"
    booking = await store.bookings.get(booking_id)
    assert booking is not None and booking.status == "active"


@pytest.mark.asyncio
async def test_a_dm_listing_leaves_out_bookings_of_servers_that_disabled_listing(store: Store) -> None:
    await book_in_server(store)
    _, listed = await run(store, DM, "list_my_bookings", {})
    assert len(listed["bookings"]) == 1  # type: ignore[arg-type]
    await store.policies.set_enabled("g-1", "list_my_bookings", False, actor_id="admin", actor_name="Admin")
    _, listed = await run(store, DM, "list_my_bookings", {})
    assert listed["bookings"] == [] and "not shown" in str(listed["note"])
