-- Times are BIGINT unix milliseconds (UTC) so that SQLite and PostgreSQL store
-- and compare them identically; booleans are SMALLINT 0/1 for the same reason.
-- {{ID}} becomes each dialect's auto-incrementing primary key.

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    upn_key      TEXT PRIMARY KEY,
    upn          TEXT NOT NULL,
    display_name TEXT NOT NULL,
    user_type    TEXT NOT NULL,
    guest_kind   TEXT NOT NULL,
    groups_json  TEXT NOT NULL,
    admin_role   TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

-- One pass per user is enforced by the UNIQUE constraint, not only by code.
CREATE TABLE passes (
    id               TEXT PRIMARY KEY,
    upn_key          TEXT NOT NULL UNIQUE REFERENCES users(upn_key),
    hash             TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    start_at         BIGINT NOT NULL,
    lifetime_minutes INTEGER NOT NULL,
    is_usable_once   SMALLINT NOT NULL,
    used_at          BIGINT,
    created_by       TEXT NOT NULL
);

CREATE TABLE kiosks (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE admin_tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    kiosk_id   TEXT NOT NULL REFERENCES kiosks(id),
    upn_key    TEXT NOT NULL REFERENCES users(upn_key),
    pass_id    TEXT NOT NULL REFERENCES passes(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_pass ON sessions(pass_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

-- Authentication methods other than the pass (FIDO2 keys arrive with the
-- registration issue, which adds its own columns).
CREATE TABLE methods (
    id           TEXT PRIMARY KEY,
    upn_key      TEXT NOT NULL REFERENCES users(upn_key),
    kind         TEXT NOT NULL,
    display_name TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX methods_user ON methods(upn_key);

-- Failure counters and lockouts, shared by every tapd instance on this store.
CREATE TABLE throttle (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);

CREATE TABLE audit (
    id           {{ID}},
    at           BIGINT NOT NULL,
    request_id   TEXT NOT NULL,
    actor_type   TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    target       TEXT NOT NULL,
    result       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    details_json TEXT NOT NULL
);
CREATE INDEX audit_at ON audit(at);
CREATE INDEX audit_target ON audit(target);
