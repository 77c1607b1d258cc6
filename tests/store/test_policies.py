"""Tool policies: changes persist across restarts and are audited with who made them."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from bot.engine.permissions import ToolPolicy
from bot.store import Store
from bot.store.db import Database
from bot.store.policies import PolicyStore

ADMIN = {"actor_id": "a1", "actor_name": "Admin Ann"}


@pytest.mark.asyncio
async def test_server_without_changes_has_no_policies(db: Database) -> None:
    assert await PolicyStore(db).policies_for("g1") == {}


@pytest.mark.asyncio
async def test_policy_changes_survive_reopening_the_database(database_url: str) -> None:
    store = await Store.open(database_url)
    await store.policies.set_enabled("g1", "search", False, **ADMIN)
    await store.policies.allow_role("g1", "restaurants", "r-staff", **ADMIN)
    await store.policies.allow_role("g1", "restaurants", "r-vip", **ADMIN)
    await store.close()

    store = await Store.open(database_url)
    try:
        assert await store.policies.policies_for("g1") == {
            "search": ToolPolicy(tool="search", enabled=False),
            "restaurants": ToolPolicy(tool="restaurants", allowed_role_ids=frozenset({"r-staff", "r-vip"})),
        }
    finally:
        await store.close()


@pytest.mark.asyncio
async def test_policies_are_per_server(db: Database) -> None:
    policies = PolicyStore(db)
    await policies.set_enabled("g1", "search", False, **ADMIN)
    await policies.allow_role("g2", "search", "r1", **ADMIN)
    assert await policies.policies_for("g1") == {"search": ToolPolicy(tool="search", enabled=False)}
    assert await policies.policies_for("g2") == {
        "search": ToolPolicy(tool="search", allowed_role_ids=frozenset({"r1"}))
    }


@pytest.mark.asyncio
async def test_reenabling_and_revoking_restore_the_defaults(db: Database) -> None:
    policies = PolicyStore(db)
    await policies.set_enabled("g1", "search", False, **ADMIN)
    await policies.allow_role("g1", "search", "r1", **ADMIN)
    await policies.set_enabled("g1", "search", True, **ADMIN)
    await policies.revoke_role("g1", "search", "r1", **ADMIN)
    assert await policies.policies_for("g1") == {"search": ToolPolicy(tool="search")}


@pytest.mark.asyncio
async def test_every_policy_change_writes_an_audit_row_with_who_made_it(database_url: str) -> None:
    store = await Store.open(database_url)
    try:
        await store.policies.set_enabled("g1", "search", False, **ADMIN)
        await store.policies.allow_role("g1", "search", "r1", **ADMIN)
        await store.policies.revoke_role("g1", "search", "r1", actor_id="a2", actor_name="Bob")
        await store.policies.revoke_role("g1", "search", "r1", actor_id="a2", actor_name="Bob")

        entries = await store.audit.query(guild_id="g1")
        assert [(e.kind, e.user_id, e.user_name, e.tool, e.outcome) for e in entries] == [
            ("policy", "a2", "Bob", "search", "unchanged"),
            ("policy", "a2", "Bob", "search", "changed"),
            ("policy", "a1", "Admin Ann", "search", "changed"),
            ("policy", "a1", "Admin Ann", "search", "changed"),
        ]
        assert [json.loads(e.arguments) for e in entries] == [
            {"revoke_role": "r1"},
            {"revoke_role": "r1"},
            {"allow_role": "r1"},
            {"enabled": False},
        ]
        assert entries[-1].summary == "disabled search"
        assert entries[-1].channel_id is None and entries[-1].duration_ms is None
    finally:
        await store.close()


@pytest.mark.asyncio
async def test_failed_policy_change_writes_neither_policy_nor_audit_row(db: Database) -> None:
    store_clock_fails = PolicyStore(db, clock=_broken_clock)
    with pytest.raises(RuntimeError, match="clock"):
        await store_clock_fails.set_enabled("g1", "search", False, **ADMIN)
    assert await PolicyStore(db).policies_for("g1") == {}
    assert await db.fetchone("SELECT count(*) FROM audit_log") == (0,)


def _broken_clock() -> datetime:
    """A clock that fails after the policy row is written, inside the transaction."""
    raise RuntimeError("clock failure")
