-- A destination's credentials, sealed with AES-256-GCM like a connection's tokens: the Google
-- OAuth tokens of a google_sheets destination, or the URL of a warehouse outside adsync's own
-- database. A destination whose credentials stopped working needs re-authorisation, and the
-- syncs writing to it pause, as for connections.

ALTER TABLE destinations
    ADD COLUMN key_id                  text,
    ADD COLUMN secret_nonce            bytea,
    ADD COLUMN secret_ciphertext       bytea,
    ADD COLUMN access_token_expires_at timestamptz,
    ADD COLUMN status                  text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'needs_reauth')),
    ADD COLUMN status_reason           text,
    ADD CONSTRAINT destinations_secret_whole CHECK (
        (key_id IS NULL) = (secret_nonce IS NULL) AND (key_id IS NULL) = (secret_ciphertext IS NULL)
    );
