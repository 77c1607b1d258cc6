-- 003 (PostgreSQL): per-server confirmation mode of each tool, and confirmations in the audit log.

ALTER TABLE tool_policies ADD COLUMN confirm TEXT CHECK (confirm IN ('always', 'never'));

-- PostgreSQL changes the CHECK in place (SQLite rebuilds the table).
ALTER TABLE audit_log DROP CONSTRAINT audit_log_kind_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_kind_check
    CHECK (kind IN ('tool_call', 'policy', 'confirmation', 'quota'));
