-- 005: indexes by age, so the background pruner finds rows past their retention without scanning whole tables
-- (HISTORY_RETENTION_DAYS, AUDIT_RETENTION_DAYS, USAGE_RETENTION_DAYS; see bot/store/retention.py).

CREATE INDEX history_turns_by_created ON history_turns (created_at);
CREATE INDEX audit_log_by_at ON audit_log (at);
CREATE INDEX usage_by_day ON usage_ledger (day);
