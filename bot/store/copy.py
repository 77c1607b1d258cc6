"""Copy every table from one database to another (SQLite to PostgreSQL), keeping ids: `python -m bot copy-data`."""

from __future__ import annotations

from collections.abc import Callable

from bot.store.db import Database

BATCH_ROWS = 5000

# Parents before children (foreign keys): table -> (primary key, which orders the copy and leads the columns; columns).
TABLES: dict[str, tuple[str, str]] = {
    "restaurants": (
        "id",
        "id, name, city, district, cuisine, price_range, address, timezone, hours, seats_per_slot, name_key, city_key, "
        "district_key, cuisine_key, updated_at",
    ),
    "bookings": (
        "id",
        "id, restaurant_id, guild_id, channel_id, user_id, user_name, date, time, party_size, starts_at, status, "
        "created_at, cancelled_at, cancelled_by",
    ),
    "history_turns": ("channel_id, turn", "channel_id, turn, item_count, tokens, created_at"),
    "history_items": ("channel_id, turn, position", "channel_id, turn, position, kind, tokens, body"),
    "tool_policies": ("guild_id, tool", "guild_id, tool, enabled, confirm"),
    "tool_policy_roles": ("guild_id, tool, role_id", "guild_id, tool, role_id"),
    "audit_log": (
        "id",
        "id, at, kind, guild_id, channel_id, user_id, user_name, tool, arguments, outcome, duration_ms, summary",
    ),
    "conversations": ("channel_id", "channel_id, guild_id, starter_id, created_at"),
    "usage_ledger": (
        "id",
        "id, at, day, guild_id, channel_id, user_id, model, input_tokens, cached_input_tokens, output_tokens, "
        "reasoning_tokens, estimated",
    ),
    "quota_overrides": ("guild_id, scope, role_id", "guild_id, scope, role_id, daily_tokens"),
    "usage_holds": ("id", "id, at, guild_id, user_id, tokens"),
}
IDENTITY_TABLES = ("bookings", "audit_log", "usage_ledger")  # an `id` the database numbers


class TargetNotEmpty(Exception):
    """The target database already holds data; copying into it would mix two histories."""

    def __init__(self, table: str) -> None:
        super().__init__(f"the target database is not empty (table {table} has rows): copy into an empty database")
        self.table = table


async def copy_data(
    source: Database, target: Database, *, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy every row of every table in one target transaction, ids kept; returns rows copied per table."""
    copied: dict[str, int] = {}
    async with target.write() as conn:
        for table in TABLES:
            row = await conn.fetchone(f"SELECT EXISTS (SELECT 1 FROM {table})")
            if row is not None and row[0]:
                raise TargetNotEmpty(table)
        for table, (key, columns) in TABLES.items():
            # Keyset paging (after the last key copied), so each batch costs the same however big the table is.
            width = len(key.split(","))
            first = f"SELECT {columns} FROM {table} ORDER BY {key} LIMIT ?"
            after = f"SELECT {columns} FROM {table} WHERE ({key}) > ({', '.join('?' * width)}) ORDER BY {key} LIMIT ?"
            insert = f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(columns.split(',')))})"
            copied[table] = 0
            rows = await source.fetch(first, (BATCH_ROWS,))
            while rows:
                await conn.executemany(insert, rows)
                copied[table] += len(rows)
                rows = await source.fetch(after, (*rows[-1][:width], BATCH_ROWS))
            if progress is not None:
                progress(table, copied[table])
        if target.dialect == "postgres":
            # Rows came with their ids, so the identity sequences must start after the largest one.
            for table in IDENTITY_TABLES:
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false)"
                    f" FROM {table}"
                )
    return copied
