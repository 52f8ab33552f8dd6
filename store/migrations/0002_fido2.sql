-- FIDO2 registration: a stable random WebAuthn user handle per user, the
-- FIDO2 facts of a method, and single-use ceremony state (challenges).

ALTER TABLE users ADD COLUMN user_handle TEXT;
CREATE UNIQUE INDEX users_handle ON users(user_handle);

ALTER TABLE methods ADD COLUMN credential_id TEXT;
ALTER TABLE methods ADD COLUMN public_key TEXT NOT NULL DEFAULT '';
ALTER TABLE methods ADD COLUMN aaguid TEXT NOT NULL DEFAULT '';
ALTER TABLE methods ADD COLUMN model TEXT NOT NULL DEFAULT '';
ALTER TABLE methods ADD COLUMN attestation_format TEXT NOT NULL DEFAULT '';
ALTER TABLE methods ADD COLUMN attestation_level TEXT NOT NULL DEFAULT '';
ALTER TABLE methods ADD COLUMN sign_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE methods ADD COLUMN user_verified SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE methods ADD COLUMN backup_eligible SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE methods ADD COLUMN backup_state SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE methods ADD COLUMN session_id TEXT NOT NULL DEFAULT '';
ALTER TABLE methods ADD COLUMN last_used_at BIGINT;
-- A credential belongs to one account, anywhere in the directory.
CREATE UNIQUE INDEX methods_credential ON methods(credential_id);

-- A ceremony is taken (deleted and returned) exactly once, by whichever
-- tapd instance finishes it.
CREATE TABLE ceremonies (
    id         TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    method_id  TEXT NOT NULL,
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX ceremonies_expires ON ceremonies(expires_at);
