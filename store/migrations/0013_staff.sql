-- The helpdesk console's staff: people who sign in to tapd's pages with
-- passkeys (tapd is their relying party, apart from the kiosks'). A staff
-- member is made with a one-time invitation (only its hash is kept) that
-- enrols the first passkey; sessions are looked up by the hash of the
-- cookie's value.
CREATE TABLE staff (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL,
    user_handle TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL
);

CREATE TABLE staff_invites (
    token_hash TEXT PRIMARY KEY,
    staff_id   TEXT NOT NULL REFERENCES staff(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE TABLE staff_passkeys (
    id              TEXT PRIMARY KEY,
    staff_id        TEXT NOT NULL REFERENCES staff(id),
    credential_id   TEXT NOT NULL UNIQUE,
    public_key      TEXT NOT NULL,
    aaguid          TEXT NOT NULL,
    sign_count      BIGINT NOT NULL,
    backup_eligible SMALLINT NOT NULL,
    backup_state    SMALLINT NOT NULL,
    name            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT,
    revoked_at      BIGINT
);
CREATE INDEX staff_passkeys_staff ON staff_passkeys(staff_id);

CREATE TABLE staff_sessions (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    staff_id     TEXT NOT NULL REFERENCES staff(id),
    passkey_id   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions(staff_id);
