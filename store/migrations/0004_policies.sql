-- Policies as typed rows. Until now the local directory's policies were JSON
-- of API wire types in settings, so renaming a JSON field in the API would
-- have broken stored data. Each policy is one row (id is always 1); its lists
-- are child rows whose position keeps the order the admin gave.
--
-- After these statements, in the same transaction, the Go step
-- convertLegacyPolicies (store/policies.go) converts the two legacy settings
-- rows into these tables and drops settings, which nothing uses any more.

CREATE TABLE tap_policy (
    id                       SMALLINT PRIMARY KEY CHECK (id = 1),
    enabled                  SMALLINT NOT NULL,
    minimum_lifetime_minutes INTEGER NOT NULL,
    maximum_lifetime_minutes INTEGER NOT NULL,
    default_lifetime_minutes INTEGER NOT NULL,
    is_usable_once           SMALLINT NOT NULL,
    default_length           INTEGER NOT NULL
);

-- list is 'include' or 'exclude'; target_type is 'user' or 'group'.
CREATE TABLE tap_policy_targets (
    list        TEXT NOT NULL CHECK (list IN ('include', 'exclude')),
    position    INTEGER NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    PRIMARY KEY (list, position)
);

CREATE TABLE fido2_policy (
    id                        SMALLINT PRIMARY KEY CHECK (id = 1),
    is_attestation_enforced   SMALLINT NOT NULL,
    key_restrictions_enforced SMALLINT NOT NULL,
    key_enforcement_type      TEXT NOT NULL
);

CREATE TABLE fido2_policy_aaguids (
    position INTEGER PRIMARY KEY,
    aaguid   TEXT NOT NULL
);
