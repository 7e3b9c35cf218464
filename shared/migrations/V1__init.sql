-- adsync's schema. Every tenant-owned table carries tenant_id, and references between
-- tenant-owned rows include it, so a row can never point at another tenant's row.

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    plan        text NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'pro', 'enterprise')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        text NOT NULL,
    -- SHA-256 of the key; the key itself is shown once and never stored.
    key_hash    bytea NOT NULL UNIQUE,
    -- The first characters of the key, so people can tell their keys apart.
    prefix      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE connections (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connector         text NOT NULL,
    name              text NOT NULL,
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'needs_reauth')),
    status_reason     text,
    -- The OAuth tokens as AES-256-GCM ciphertext of a JSON document, sealed under key_id.
    key_id            text NOT NULL,
    token_nonce       bytea NOT NULL,
    token_ciphertext  bytea NOT NULL,
    access_token_expires_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id)
);

CREATE TABLE accounts (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL,
    connection_id  uuid NOT NULL,
    connector      text NOT NULL,
    -- The platform's own id of the account (Meta: digits without "act_").
    external_id    text NOT NULL,
    name           text NOT NULL,
    time_zone      text NOT NULL,
    currency       text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    UNIQUE (connection_id, external_id),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE destinations (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('warehouse', 'google_sheets')),
    name        text NOT NULL,
    settings    jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id)
);

CREATE TABLE syncs (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL,
    account_id      uuid NOT NULL,
    destination_id  uuid NOT NULL,
    connector       text NOT NULL,
    report          jsonb NOT NULL,
    cron            text NOT NULL,
    time_zone       text NOT NULL,
    lookback_days   integer NOT NULL CHECK (lookback_days BETWEEN 1 AND 400),
    enabled         boolean NOT NULL DEFAULT true,
    paused_reason   text,
    next_run_at     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, destination_id) REFERENCES destinations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX syncs_due ON syncs (next_run_at) WHERE enabled;

CREATE TABLE jobs (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL,
    sync_id           uuid NOT NULL,
    account_id        uuid NOT NULL,
    connector         text NOT NULL,
    trigger           text NOT NULL CHECK (trigger IN ('scheduled', 'manual', 'webhook', 'backfill')),
    priority          smallint NOT NULL,
    window_start      date NOT NULL,
    window_end        date NOT NULL CHECK (window_end >= window_start),
    state             text NOT NULL CHECK (state IN ('pending', 'queued', 'running', 'succeeded', 'failed', 'cancelled')),
    -- Why the job entered its current state; copied into job_events by a trigger.
    state_reason      text NOT NULL,
    -- Attempts started (claims); a throttle snooze gives its attempt back.
    attempt           integer NOT NULL DEFAULT 0,
    max_attempts      integer NOT NULL CHECK (max_attempts >= 1),
    run_after         timestamptz NOT NULL DEFAULT now(),
    -- One active job per key: the sync id for runs, the sync id and window for backfill chunks.
    dedup_key         text NOT NULL,
    worker_id         text,
    lease_expires_at  timestamptz,
    rows_read         bigint,
    rows_written      bigint,
    api_calls         integer,
    error_class       text,
    error_message     text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, sync_id) REFERENCES syncs (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX jobs_one_active_per_key ON jobs (dedup_key)
    WHERE state IN ('pending', 'queued', 'running');
CREATE INDEX jobs_pending_due ON jobs (run_after) WHERE state = 'pending';
CREATE INDEX jobs_running_lease ON jobs (lease_expires_at) WHERE state = 'running';
-- Job ids are UUIDv7, so id order is creation order (used for cursor pagination).
CREATE INDEX jobs_tenant_recent ON jobs (tenant_id, id DESC);
CREATE INDEX jobs_sync_recent ON jobs (sync_id, id DESC);

CREATE TABLE job_events (
    id          bigserial PRIMARY KEY,
    job_id      uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    from_state  text,
    to_state    text NOT NULL,
    reason      text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_events_job ON job_events (job_id, id);

-- Every state change of a job is recorded, whoever makes it.
CREATE FUNCTION record_job_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO job_events (job_id, from_state, to_state, reason)
        VALUES (NEW.id, NULL, NEW.state, NEW.state_reason);
    ELSIF NEW.state IS DISTINCT FROM OLD.state THEN
        INSERT INTO job_events (job_id, from_state, to_state, reason)
        VALUES (NEW.id, OLD.state, NEW.state, NEW.state_reason);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_record_event AFTER INSERT OR UPDATE OF state ON jobs
    FOR EACH ROW EXECUTE FUNCTION record_job_event();

-- Leases for single-leader roles (the scheduler's leader).
CREATE TABLE leader_leases (
    name        text PRIMARY KEY,
    holder      text NOT NULL,
    term        bigint NOT NULL,
    expires_at  timestamptz NOT NULL
);

-- Warehouse destination tables live in their own schema, created by the worker on demand.
CREATE SCHEMA IF NOT EXISTS warehouse;
