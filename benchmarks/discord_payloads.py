"""The payloads the emulated Discord (discord_emulator.py) sends: users, members, the guild, the application."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

GUILD_ID = 900_000_000_000_000_001
BOT_ID = 900_000_000_000_000_002
APPLICATION_ID = BOT_ID
MEMBER_ID = 900_000_000_000_000_003
TIMESTAMP = "2026-01-01T00:00:00.000000+00:00"


def user(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    """A user object."""
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
    }


def guild(channel_ids: Sequence[int], member_ids: Sequence[int]) -> dict[str, Any]:
    """GUILD_CREATE's payload: the guild with its text channels, @everyone and members."""
    channels = [
        {"id": str(cid), "type": 0, "guild_id": str(GUILD_ID), "name": f"bench-{n}", "position": n}
        for n, cid in enumerate(channel_ids)
    ]
    for channel in channels:
        channel.update(permission_overwrites=[], nsfw=False, parent_id=None, topic=None, rate_limit_per_user=0)
    return {
        "id": str(GUILD_ID),
        "name": "Benchmark",
        "icon": None,
        "owner_id": str(MEMBER_ID + 999),
        "roles": [
            {
                "id": str(GUILD_ID),
                "name": "@everyone",
                "permissions": str((1 << 41) - 1 & ~8),  # everything but Administrator
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
            }
        ],
        "channels": channels,
        "threads": [],
        "members": [
            member(BOT_ID, with_user=True),
            *(member(m, with_user=True) for m in member_ids),
        ],
        "member_count": len(member_ids) + 1,
        "large": False,
        "unavailable": False,
        "features": [],
        "emojis": [],
        "stickers": [],
        "voice_states": [],
        "presences": [],
        "preferred_locale": "en-US",
        "joined_at": TIMESTAMP,
        "premium_tier": 0,
        "mfa_level": 0,
        "verification_level": 0,
        "explicit_content_filter": 0,
        "default_message_notifications": 0,
        "system_channel_id": None,
        "afk_channel_id": None,
        "afk_timeout": 300,
        "nsfw_level": 0,
    }


def member(user_id: int, *, with_user: bool) -> dict[str, Any]:
    """A guild member without roles (with its user object, as REST and GUILD_CREATE give it)."""
    member: dict[str, Any] = {
        "roles": [],
        "joined_at": TIMESTAMP,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "nick": None,
    }
    if with_user:
        member["user"] = user(user_id, "concierge" if user_id == BOT_ID else f"member{user_id % 1000}")
    return member


def application() -> dict[str, Any]:
    """GET /oauth2/applications/@me."""
    return {
        "id": str(APPLICATION_ID),
        "name": "concierge",
        "description": "",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": user(MEMBER_ID + 999, "owner"),
        "verify_key": "0" * 64,
        "flags": 0,
    }


def command(sent: dict[str, Any], command_id: int) -> dict[str, Any]:
    """A synced application command as Discord answers it."""
    return {
        **sent,
        "id": str(command_id),
        "application_id": str(APPLICATION_ID),
        "version": "1",
        "default_member_permissions": sent.get("default_member_permissions"),
        "type": sent.get("type", 1),
    }
