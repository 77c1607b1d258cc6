"""Per-server tool policies (enabled, allowed roles); every change is audited in the same transaction."""

from __future__ import annotations

import json
from typing import Literal

from bot.engine.clock import Clock, utc_now
from bot.engine.permissions import ConfirmMode, ToolPolicy
from bot.store.audit import insert_entry
from bot.store.db import Connection, Database


class PolicyStore:
    """Reads a server's tool policies and changes them, recording who changed what."""

    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    async def policies_for(self, guild_id: str) -> dict[str, ToolPolicy]:
        """The server's policies by tool name; a tool without an entry has the defaults (enabled, no allow-list)."""
        rows = await self._db.fetch(
            "SELECT p.tool, p.enabled, p.confirm, r.role_id FROM tool_policies AS p"
            " LEFT JOIN tool_policy_roles AS r ON r.guild_id = p.guild_id AND r.tool = p.tool"
            " WHERE p.guild_id = ?",
            (guild_id,),
        )
        enabled: dict[str, bool] = {}
        confirm: dict[str, ConfirmMode | None] = {}
        roles: dict[str, set[str]] = {}
        for tool, is_enabled, mode, role_id in rows:
            enabled[tool] = bool(is_enabled)
            confirm[tool] = "always" if mode == "always" else "never" if mode == "never" else None
            tool_roles = roles.setdefault(tool, set())
            if role_id is not None:
                tool_roles.add(role_id)
        return {
            tool: ToolPolicy(
                tool=tool, enabled=enabled[tool], allowed_role_ids=frozenset(roles[tool]), confirm=confirm[tool]
            )
            for tool in enabled
        }

    async def set_enabled(self, guild_id: str, tool: str, enabled: bool, *, actor_id: str, actor_name: str) -> None:
        """Enable or disable a tool in a server."""
        await self._set(
            guild_id,
            tool,
            column="enabled",
            value=int(enabled),
            default=1,
            actor_id=actor_id,
            actor_name=actor_name,
            summary=f"{'enabled' if enabled else 'disabled'} {tool}",
        )

    async def set_confirm(
        self, guild_id: str, tool: str, mode: ConfirmMode, *, default: ConfirmMode, actor_id: str, actor_name: str
    ) -> None:
        """Choose whether a tool's calls wait for the member's yes in a server (`default`: the tool's own)."""
        await self._set(
            guild_id,
            tool,
            column="confirm",
            value=mode,
            default=default,
            actor_id=actor_id,
            actor_name=actor_name,
            summary=f"set confirmation of {tool} to {mode}",
        )

    async def _set(
        self,
        guild_id: str,
        tool: str,
        *,
        column: Literal["enabled", "confirm"],
        value: int | str,
        default: int | str,
        actor_id: str,
        actor_name: str,
        summary: str,
    ) -> None:
        """Set one column of a tool's policy and audit whether that changed it (NULL or no row: `default`)."""
        async with self._db.write() as conn:
            await conn.lock("policy", guild_id, tool)  # so "changed" is right when two processes change it at once
            row = await conn.fetchone(
                f"SELECT {column} FROM tool_policies WHERE guild_id = ? AND tool = ?", (guild_id, tool)
            )
            was = default if row is None or row[0] is None else row[0]
            await conn.execute(
                f"INSERT INTO tool_policies (guild_id, tool, {column}) VALUES (?, ?, ?)"
                f" ON CONFLICT (guild_id, tool) DO UPDATE SET {column} = excluded.{column}",
                (guild_id, tool, value),
            )
            shown: str | bool = bool(value) if column == "enabled" else str(value)
            await self._audit(
                conn,
                guild_id=guild_id,
                tool=tool,
                actor_id=actor_id,
                actor_name=actor_name,
                arguments={column: shown},
                changed=was != value,
                summary=summary,
            )

    async def allow_role(self, guild_id: str, tool: str, role_id: str, *, actor_id: str, actor_name: str) -> None:
        """Add a role to a tool's allow-list in a server."""
        async with self._db.write() as conn:
            await conn.execute(
                "INSERT INTO tool_policies (guild_id, tool) VALUES (?, ?) ON CONFLICT (guild_id, tool) DO NOTHING",
                (guild_id, tool),
            )
            changed = (
                await conn.execute(
                    "INSERT INTO tool_policy_roles (guild_id, tool, role_id) VALUES (?, ?, ?)"
                    " ON CONFLICT (guild_id, tool, role_id) DO NOTHING",
                    (guild_id, tool, role_id),
                )
                > 0
            )
            await self._audit(
                conn,
                guild_id=guild_id,
                tool=tool,
                actor_id=actor_id,
                actor_name=actor_name,
                arguments={"allow_role": role_id},
                changed=changed,
                summary=f"allowed role {role_id} to use {tool}",
            )

    async def revoke_role(self, guild_id: str, tool: str, role_id: str, *, actor_id: str, actor_name: str) -> None:
        """Remove a role from a tool's allow-list in a server."""
        async with self._db.write() as conn:
            changed = (
                await conn.execute(
                    "DELETE FROM tool_policy_roles WHERE guild_id = ? AND tool = ? AND role_id = ?",
                    (guild_id, tool, role_id),
                )
                > 0
            )
            await self._audit(
                conn,
                guild_id=guild_id,
                tool=tool,
                actor_id=actor_id,
                actor_name=actor_name,
                arguments={"revoke_role": role_id},
                changed=changed,
                summary=f"revoked role {role_id} from {tool}",
            )

    async def _audit(
        self,
        conn: Connection,
        *,
        guild_id: str,
        tool: str,
        actor_id: str,
        actor_name: str,
        arguments: dict[str, str | bool],
        changed: bool,
        summary: str,
    ) -> None:
        """Record a policy change (or a request that changed nothing) with who asked for it."""
        await insert_entry(
            conn,
            at=self._clock(),
            kind="policy",
            guild_id=guild_id,
            channel_id=None,
            user_id=actor_id,
            user_name=actor_name,
            tool=tool,
            arguments=json.dumps(arguments),
            outcome="changed" if changed else "unchanged",
            duration_ms=None,
            summary=summary,
        )
