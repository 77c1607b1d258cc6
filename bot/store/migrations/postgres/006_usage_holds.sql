-- 006 (PostgreSQL): usage holds, the estimated tokens of model requests in flight; see sqlite/006_usage_holds.sql.
CREATE TABLE usage_holds (
    id       TEXT PRIMARY KEY,
    at       TEXT NOT NULL,
    guild_id TEXT,
    user_id  TEXT NOT NULL,
    tokens   INTEGER NOT NULL CHECK (tokens >= 0)
);

CREATE INDEX usage_holds_by_user ON usage_holds (user_id, guild_id);
CREATE INDEX usage_holds_by_guild ON usage_holds (guild_id);
CREATE INDEX usage_holds_by_at ON usage_holds (at);
