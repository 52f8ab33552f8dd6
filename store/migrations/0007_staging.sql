-- Staging: IT registers security keys for people before handing them out.
--
-- A ceremony begun by an admin for someone (not by a kiosk session) names
-- the admin token (operator_id) and the person (upn); session ceremonies
-- leave both empty.
ALTER TABLE ceremonies ADD COLUMN operator_id TEXT NOT NULL DEFAULT '';
ALTER TABLE ceremonies ADD COLUMN upn TEXT NOT NULL DEFAULT '';

-- A key staged by an operator has no kiosk session; staged_by names the
-- operator (the admin token's name).
ALTER TABLE methods ADD COLUMN staged_by TEXT NOT NULL DEFAULT '';

-- A batch is one staging run; its rows are the people, one each. The
-- UNIQUE (batch_id, upn_key) keeps a person out of a batch twice, and a
-- row turns 'registered' once only (see MarkStagingRow).
CREATE TABLE staging_batches (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE staging_rows (
    id                TEXT PRIMARY KEY,
    batch_id          TEXT NOT NULL REFERENCES staging_batches(id),
    position          INTEGER NOT NULL,
    upn_key           TEXT NOT NULL,
    upn               TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    key_name          TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('pending', 'registered', 'failed')),
    reason            TEXT NOT NULL,
    method_id         TEXT NOT NULL,
    aaguid            TEXT NOT NULL,
    model             TEXT NOT NULL,
    serial_number     TEXT NOT NULL,
    credential_id     TEXT NOT NULL,
    registered_at     BIGINT,
    pin_change_forced SMALLINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (batch_id, upn_key)
);
CREATE INDEX staging_rows_upn ON staging_rows(upn_key);
