-- Four eyes: a pass for someone who holds an admin role is asked for by
-- one staff member and approved by another before it is issued. The row
-- keeps who asked, who approved, the checklist the asker ticked and the
-- pass's settings; it is used once.
CREATE TABLE pass_approvals (
    id               TEXT PRIMARY KEY,
    upn_key          TEXT NOT NULL,
    upn              TEXT NOT NULL,
    requested_by     TEXT NOT NULL,
    requested_at     BIGINT NOT NULL,
    checklist        TEXT NOT NULL,
    lifetime_minutes INTEGER NOT NULL,
    is_usable_once   SMALLINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    approved_by      TEXT NOT NULL DEFAULT '',
    approved_at      BIGINT,
    used_at          BIGINT
);
CREATE INDEX pass_approvals_upn ON pass_approvals(upn_key);
