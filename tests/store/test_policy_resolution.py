"""Policy resolution, table-tested: policies loaded from the store, decided by the engine's pure decide()."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.engine.permissions import Caller, Place, decide
from bot.store.db import Database
from bot.store.policies import PolicyStore

ADMIN = {"actor_id": "a1", "actor_name": "Admin"}
GUILD = Place(channel_id="c1", guild_id="g1")
DM = Place(channel_id="dm1")
MEMBER = Caller(user_id="u1", name="Member", role_ids=frozenset({"r-member"}))
STAFF = Caller(user_id="u2", name="Staff", role_ids=frozenset({"r-member", "r-staff"}))
SERVER_ADMIN = Caller(user_id="u3", name="Boss", is_admin=True)


@dataclass(frozen=True)
class Case:
    """One row of the table: a tool, who asks, where, and whether they may use it."""

    tool: str
    caller: Caller
    place: Place
    allowed: bool


# The server's stored policies (see the fixture):
#   weather      unrestricted, no policy row            -> everyone
#   search       unrestricted, allow-list {r-staff}     -> staff and admins
#   restaurants  restricted,   no allow-list            -> admins only
#   bookings     restricted,   allow-list {r-staff}     -> staff and admins
#   calculator   unrestricted, disabled                 -> nobody, admins included
#   secrets      restricted,   disabled                 -> nobody
RESTRICTED = {
    "weather": False,
    "search": False,
    "restaurants": True,
    "bookings": True,
    "calculator": False,
    "secrets": True,
}

CASES = {
    "unrestricted tool, member, no policy": Case("weather", MEMBER, GUILD, True),
    "allow-list hit": Case("search", STAFF, GUILD, True),
    "allow-list miss (no role)": Case("search", MEMBER, GUILD, False),
    "admin bypasses the allow-list": Case("search", SERVER_ADMIN, GUILD, True),
    "restricted default, member": Case("restaurants", MEMBER, GUILD, False),
    "restricted default, admin": Case("restaurants", SERVER_ADMIN, GUILD, True),
    "restricted with allow-list, staff": Case("bookings", STAFF, GUILD, True),
    "restricted with allow-list, member": Case("bookings", MEMBER, GUILD, False),
    "disabled, member": Case("calculator", MEMBER, GUILD, False),
    "disabled, admin": Case("calculator", SERVER_ADMIN, GUILD, False),
    "disabled restricted, admin": Case("secrets", SERVER_ADMIN, GUILD, False),
    "DM, unrestricted": Case("weather", MEMBER, DM, True),
    "DM, restricted even for an admin": Case("restaurants", SERVER_ADMIN, DM, False),
    "DM, restricted with allow-list role": Case("bookings", STAFF, DM, False),
}


async def _configure(db: Database) -> PolicyStore:
    policies = PolicyStore(db)
    await policies.allow_role("g1", "search", "r-staff", **ADMIN)
    await policies.allow_role("g1", "bookings", "r-staff", **ADMIN)
    await policies.set_enabled("g1", "calculator", False, **ADMIN)
    await policies.set_enabled("g1", "secrets", False, **ADMIN)
    return policies


@pytest.mark.asyncio
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_policy_resolution_table(db: Database, case: Case) -> None:
    policies = await (await _configure(db)).policies_for("g1")
    decision = decide(
        tool=case.tool,
        restricted=RESTRICTED[case.tool],
        caller=case.caller,
        place=case.place,
        policy=policies.get(case.tool),
    )
    assert bool(decision) is case.allowed, decision


@pytest.mark.asyncio
async def test_policy_change_takes_effect_on_the_next_load(db: Database) -> None:
    policies = await _configure(db)
    await policies.allow_role("g1", "restaurants", "r-member", **ADMIN)
    loaded = await policies.policies_for("g1")
    assert decide(tool="restaurants", restricted=True, caller=MEMBER, place=GUILD, policy=loaded.get("restaurants"))
