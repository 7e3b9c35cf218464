-- API access (issue 6): revoked connections, one-time OAuth states, signed sync webhooks.

-- A deleted connection keeps its row (accounts and job history point at it) but loses its
-- tokens: the sealed columns are erased and its status says so.
ALTER TABLE connections
    ALTER COLUMN key_id DROP NOT NULL,
    ALTER COLUMN token_nonce DROP NOT NULL,
    ALTER COLUMN token_ciphertext DROP NOT NULL,
    DROP CONSTRAINT IF EXISTS connections_status_check,
    ADD CONSTRAINT connections_status_check
        CHECK (status IN ('active', 'needs_reauth', 'revoked'));

-- The nonce of every OAuth `state` handed out, consumed by the callback, so a state works once.
CREATE TABLE oauth_states (
    nonce       bytea PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX oauth_states_expires ON oauth_states (expires_at);

-- A sync's webhook secret, sealed with the key ring (HMAC verification needs it in clear).
CREATE TABLE sync_webhooks (
    sync_id           uuid PRIMARY KEY REFERENCES syncs (id) ON DELETE CASCADE,
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key_id            text NOT NULL,
    secret_nonce      bytea NOT NULL,
    secret_ciphertext bytea NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    rotated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_webhooks_tenant ON sync_webhooks (tenant_id);

-- Signatures accepted recently, kept until their timestamp leaves the window, so a captured
-- request cannot be replayed.
CREATE TABLE webhook_signatures (
    sync_id     uuid NOT NULL REFERENCES syncs (id) ON DELETE CASCADE,
    signature   bytea NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (sync_id, signature)
);
CREATE INDEX webhook_signatures_expires ON webhook_signatures (expires_at);
