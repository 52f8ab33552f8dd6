-- Staging over weeks. A registered row's hold on its person and key lasts
-- as long as the key's registration: once that method is gone (deleted
-- through tapd, at a walk-up kiosk's clean-up, or in Entra) the row turns
-- 'removed', keeping its key facts (so a station can still say whose key
-- it was) while holding nobody. registered_by is the admin token that
-- registered the row's key: only it, or a privileged administrator, may
-- set that key's facts afterwards.
--
-- SQLite cannot change a CHECK constraint in place, so the table is
-- rebuilt; the same statements run on PostgreSQL.
CREATE TABLE staging_rows_next (
    id                TEXT PRIMARY KEY,
    batch_id          TEXT NOT NULL REFERENCES staging_batches(id),
    position          INTEGER NOT NULL,
    upn_key           TEXT NOT NULL,
    upn               TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    key_name          TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('pending', 'registered', 'failed', 'removed')),
    reason            TEXT NOT NULL,
    method_id         TEXT NOT NULL,
    aaguid            TEXT NOT NULL,
    model             TEXT NOT NULL,
    serial_number     TEXT NOT NULL,
    credential_id     TEXT NOT NULL,
    registered_at     BIGINT,
    pin_change_forced SMALLINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    lease_ceremony    TEXT NOT NULL DEFAULT '',
    lease_operator    TEXT NOT NULL DEFAULT '',
    lease_until       BIGINT NOT NULL DEFAULT 0,
    lease_writing     SMALLINT NOT NULL DEFAULT 0,
    registered_by     TEXT NOT NULL DEFAULT '',
    UNIQUE (batch_id, upn_key)
);
INSERT INTO staging_rows_next(id, batch_id, position, upn_key, upn, display_name, key_name, state, reason, method_id, aaguid, model,
    serial_number, credential_id, registered_at, pin_change_forced, updated_at, lease_ceremony, lease_operator, lease_until, lease_writing)
SELECT id, batch_id, position, upn_key, upn, display_name, key_name, state, reason, method_id, aaguid, model,
    serial_number, credential_id, registered_at, pin_change_forced, updated_at, lease_ceremony, lease_operator, lease_until, lease_writing
FROM staging_rows;
DROP TABLE staging_rows;
ALTER TABLE staging_rows_next RENAME TO staging_rows;
CREATE INDEX staging_rows_upn ON staging_rows(upn_key);
CREATE INDEX staging_rows_method ON staging_rows(method_id);
