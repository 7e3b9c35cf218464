-- A tenant's running-job slot held for a higher-priority job that found the tenant at its cap
-- (a rescued or scheduled job among a backfill): until `until`, jobs of a lower priority than
-- `priority` leave one slot of the cap free for it, so it is not starved by the backfill that
-- keeps taking every slot that frees. Kept apart from `tenants`: it is scheduling state that
-- changes with every deferral, not the tenant's data.
CREATE TABLE slot_reservations (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    priority  smallint NOT NULL,
    until     timestamptz NOT NULL
);
