-- Platforms: shared rate budgets, and per-connection settings.

-- One token bucket per budget key (for example meta_ads:account:123 or tiktok_ads:app), shared
-- by every worker process. Tokens refill continuously at refill_per_sec up to capacity; a
-- throttle answer from the platform blocks the key for everyone until blocked_until.
CREATE TABLE rate_budgets (
    key             text PRIMARY KEY,
    capacity        double precision NOT NULL CHECK (capacity > 0),
    refill_per_sec  double precision NOT NULL CHECK (refill_per_sec > 0),
    tokens          double precision NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    blocked_until   timestamptz,
    -- The platform's own last word on how much of its quota is used, in percent.
    usage_percent   double precision
);

-- Platform-specific settings of a connection, for example Google Ads' login-customer-id.
ALTER TABLE connections ADD COLUMN settings jsonb NOT NULL DEFAULT '{}';
