-- Lockout rounds: a throttle reserves each guess before the hash is
-- checked (checked), counts the wrong ones (failures), and remembers how
-- many locks it has had (level), so concurrent guesses cannot overrun the
-- threshold. reserved_at lets an abandoned reservation (a crashed tapd)
-- expire instead of holding a round open for ever.
ALTER TABLE throttle ADD COLUMN checked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE throttle ADD COLUMN level INTEGER NOT NULL DEFAULT 0;
ALTER TABLE throttle ADD COLUMN reserved_at BIGINT NOT NULL DEFAULT 0;

-- Repeated refusals of one kind (locked-out answers within one lock) are
-- one audit row with a count: group_key names the group, repeats counts
-- the answers after the first.
ALTER TABLE audit ADD COLUMN group_key TEXT;
ALTER TABLE audit ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX audit_group ON audit(group_key) WHERE group_key IS NOT NULL;
