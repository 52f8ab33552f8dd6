-- A staging row's registration is exclusive. Creation options asked with
-- a row lease it to that ceremony: lease_ceremony is the ceremony's id
-- (its challenge), lease_operator the admin token that asked, lease_until
-- (ms) when the options' challenge ends. Registering with the row first
-- turns the lease into a write (lease_writing 1, lease_until then bounds
-- the directory write), and only then writes to the directory, so two
-- stations never both register a key for one row, even in Entra mode
-- where no transaction spans Graph and this store. An empty
-- lease_ceremony is no lease.
ALTER TABLE staging_rows ADD COLUMN lease_ceremony TEXT NOT NULL DEFAULT '';
ALTER TABLE staging_rows ADD COLUMN lease_operator TEXT NOT NULL DEFAULT '';
ALTER TABLE staging_rows ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE staging_rows ADD COLUMN lease_writing SMALLINT NOT NULL DEFAULT 0;
