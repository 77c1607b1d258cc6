-- 001: conversation history, tool policies, audit log, bot-started conversations.
-- Times are ISO-8601 UTC text (e.g. 2025-01-31T12:00:00.000000Z) so they sort and read well by hand.

-- One row per stored turn: a user message with its tool calls, outputs and answer.
-- `tokens` is the sum of its items' estimates, so a history window is chosen from this table alone.
CREATE TABLE history_turns (
    channel_id TEXT NOT NULL,
    turn INTEGER NOT NULL,
    item_count INTEGER NOT NULL CHECK (item_count > 0),
    tokens INTEGER NOT NULL CHECK (tokens >= 0),
    created_at TEXT NOT NULL,
    PRIMARY KEY (channel_id, turn)
) WITHOUT ROWID;

-- One row per conversation item; `body` is the item's JSON (bot.engine.items), from which both the
-- Responses API input and Chat Completions messages are rebuilt.
CREATE TABLE history_items (
    channel_id TEXT NOT NULL,
    turn INTEGER NOT NULL,
    position INTEGER NOT NULL CHECK (position >= 0),
    kind TEXT NOT NULL CHECK (kind IN ('user', 'assistant', 'tool_call', 'tool_output')),
    tokens INTEGER NOT NULL CHECK (tokens >= 0),
    body TEXT NOT NULL,
    PRIMARY KEY (channel_id, turn, position),
    FOREIGN KEY (channel_id, turn) REFERENCES history_turns (channel_id, turn) ON DELETE CASCADE
);

-- A server's settings for one tool; no row means the tool's defaults (enabled, empty allow-list).
CREATE TABLE tool_policies (
    guild_id TEXT NOT NULL,
    tool TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    PRIMARY KEY (guild_id, tool)
) WITHOUT ROWID;

CREATE TABLE tool_policy_roles (
    guild_id TEXT NOT NULL,
    tool TEXT NOT NULL,
    role_id TEXT NOT NULL,
    PRIMARY KEY (guild_id, tool, role_id),
    FOREIGN KEY (guild_id, tool) REFERENCES tool_policies (guild_id, tool) ON DELETE CASCADE
) WITHOUT ROWID;

-- One row per tool call and per policy change.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('tool_call', 'policy')),
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

CREATE INDEX audit_log_by_guild ON audit_log (guild_id, at);
CREATE INDEX audit_log_by_guild_tool ON audit_log (guild_id, tool, at);
CREATE INDEX audit_log_by_guild_user ON audit_log (guild_id, user_id, at);

-- Threads the bot started: messages there need no mention, and the starter may clear the thread's history.
CREATE TABLE conversations (
    channel_id TEXT PRIMARY KEY,
    guild_id TEXT,
    starter_id TEXT NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
