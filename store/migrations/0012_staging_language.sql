-- A staged person's language (a BCP 47 tag such as sv or sv-SE, as
-- Graph's preferredLanguage), from the batch's CSV or list: their PIN
-- letter is written in it when the kiosk has it. '' is the batch's.
ALTER TABLE staging_rows ADD COLUMN language TEXT NOT NULL DEFAULT '';
