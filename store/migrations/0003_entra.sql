-- Entra mode: a key registered into Microsoft Entra ID keeps a local record
-- (its public key) so the kiosk can check it; rp_id names the relying party
-- it was made for (login.microsoft.com), where '' means tapd's own, and
-- user_handle the WebAuthn user handle that relying party gave the person.
ALTER TABLE methods ADD COLUMN rp_id TEXT NOT NULL DEFAULT '';
ALTER TABLE methods ADD COLUMN user_handle TEXT NOT NULL DEFAULT '';
