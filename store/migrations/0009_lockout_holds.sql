-- Each reservation of a guess is its own hold with its own expiry, so a
-- reservation nobody settled (tapd killed mid-check) runs out on its own
-- instead of when the key has been quiet for a minute. holds is recovery's
-- encoding of the holds in flight ("id:expiresMs" separated by spaces);
-- the store keeps it as it is given. lock_cause names who started the
-- key's current lock (kiosk and address), for the admin who unlocks.
ALTER TABLE throttle ADD COLUMN holds TEXT NOT NULL DEFAULT '';
ALTER TABLE throttle ADD COLUMN lock_cause TEXT NOT NULL DEFAULT '';
