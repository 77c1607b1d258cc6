-- 004: the usage ledger (one row per model request) and the quotas admins set per server and per role.

-- `day` is the UTC date of `at` (quotas reset at midnight UTC); `estimated` is 1 when the server sent no usage and
-- the counts were estimated from the text.
CREATE TABLE usage_ledger (
    id                  INTEGER PRIMARY KEY,
    at                  TEXT NOT NULL,
    day                 TEXT NOT NULL,
    guild_id            TEXT,
    channel_id          TEXT NOT NULL,
    user_id             TEXT NOT NULL,
    model               TEXT NOT NULL,
    input_tokens        INTEGER NOT NULL CHECK (input_tokens >= 0),
    cached_input_tokens INTEGER NOT NULL DEFAULT 0 CHECK (cached_input_tokens >= 0),
    output_tokens       INTEGER NOT NULL CHECK (output_tokens >= 0),
    reasoning_tokens    INTEGER NOT NULL DEFAULT 0 CHECK (reasoning_tokens >= 0),
    estimated           INTEGER NOT NULL DEFAULT 0 CHECK (estimated IN (0, 1))
);

CREATE INDEX usage_by_user_day ON usage_ledger (user_id, day);
CREATE INDEX usage_by_guild_day ON usage_ledger (guild_id, day);

-- A server's own daily token quotas, overriding the settings: scope 'member' (each member), 'server' (everyone
-- together) or 'role' (members with `role_id`). daily_tokens 0 means unlimited.
CREATE TABLE quota_overrides (
    guild_id     TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('member', 'server', 'role')),
    role_id      TEXT NOT NULL DEFAULT '' CHECK ((scope = 'role') = (role_id <> '')),
    daily_tokens INTEGER NOT NULL CHECK (daily_tokens >= 0),
    PRIMARY KEY (guild_id, scope, role_id)
) WITHOUT ROWID;
