-- The audit export's queue: every audit row written (and every repeat
-- counted on a grouped row) adds a row here in the same transaction; the
-- exporter writes the entries it finds, syncs its file, and only then
-- deletes exactly the queue rows it wrote. An entry whose transaction
-- commits late, with a smaller id than one already exported (PostgreSQL
-- hands out ids before commit), is still here for the next pass, so
-- nothing committed is skipped; a crash between the write and the delete
-- writes those entries again (each carries its id), never fewer.
CREATE TABLE audit_export (
  seq {{ID}},
  audit_id BIGINT NOT NULL
);

-- Named random values tapd makes once and shares across instances: the
-- key of the pseudonyms that stand in the audit for names that match no
-- user.
CREATE TABLE secrets (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
