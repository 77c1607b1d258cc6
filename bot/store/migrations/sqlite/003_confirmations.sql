-- 003: per-server confirmation mode of each tool, and confirmations in the audit log.

-- NULL means the tool's default: 'always' for a tool with side effects, 'never' for the others.
ALTER TABLE tool_policies ADD COLUMN confirm TEXT CHECK (confirm IN ('always', 'never'));

-- The audit log gains the kinds 'confirmation' (a request to the member and its outcome) and 'quota' (an admin's
-- change of a token quota). SQLite cannot change a CHECK constraint in place, so the table is rebuilt.
CREATE TABLE audit_log_new (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('tool_call', 'policy', 'confirmation', 'quota')),
    guild_id TEXT,
    channel_id TEXT,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    tool TEXT NOT NULL,
    arguments TEXT NOT NULL,
    outcome TEXT NOT NULL,
    duration_ms REAL,
    summary TEXT NOT NULL
);

INSERT INTO audit_log_new (id, at, kind, guild_id, channel_id, user_id, user_name, tool, arguments, outcome,
                           duration_ms, summary)
    SELECT id, at, kind, guild_id, channel_id, user_id, user_name, tool, arguments, outcome, duration_ms, summary
    FROM audit_log;

DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;

CREATE INDEX audit_log_by_guild ON audit_log (guild_id, at);
CREATE INDEX audit_log_by_guild_tool ON audit_log (guild_id, tool, at);
CREATE INDEX audit_log_by_guild_user ON audit_log (guild_id, user_id, at);
