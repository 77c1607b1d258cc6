-- 005 (PostgreSQL): indexes by age for the background pruner; see sqlite/005_retention.sql.

CREATE INDEX history_turns_by_created ON history_turns (created_at);
CREATE INDEX audit_log_by_at ON audit_log (at);
CREATE INDEX usage_by_day ON usage_ledger (day);
