-- 006: usage holds: the estimated tokens of model requests in flight. A hold is written (under a lock) before a
-- request once the quotas allow it, and replaced by the request's ledger row when it ends, so one member's concurrent
-- turns count against the daily quotas together. A hold older than a few minutes (its process died) no longer counts.
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
