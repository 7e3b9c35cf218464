-- Data rights, dashboards and job listings: tenant erasure, and the indexes that keep
-- GET /v1/jobs and GET /v1/stats fast with millions of jobs.

-- DELETE /v1/tenant sets deleted_at (access is revoked at once) and erase_after; the
-- scheduler leader erases the tenant's rows once erase_after has passed.
ALTER TABLE tenants
    ADD COLUMN deleted_at  timestamptz,
    ADD COLUMN erase_after timestamptz;
CREATE INDEX tenants_erasure_due ON tenants (erase_after) WHERE erase_after IS NOT NULL;

-- GET /v1/jobs pages newest first by (created_at, id), under each filter that narrows by an
-- owner: the tenant, a sync, an account. State, connector and time filters are applied while
-- walking one of these in order, so a page reads about `limit` index entries when the filters
-- match often; the time range bounds the walk itself. These replace the id-ordered indexes.
DROP INDEX jobs_tenant_recent;
DROP INDEX jobs_sync_recent;
CREATE INDEX jobs_tenant_created ON jobs (tenant_id, created_at DESC, id DESC);
CREATE INDEX jobs_sync_created ON jobs (sync_id, created_at DESC, id DESC);
CREATE INDEX jobs_account_created ON jobs (account_id, created_at DESC, id DESC);
-- The operator's listing across tenants, and a tenant's rare state filter over history.
CREATE INDEX jobs_created ON jobs (created_at DESC, id DESC);
CREATE INDEX jobs_tenant_state_created ON jobs (tenant_id, state, created_at DESC, id DESC);

-- GET /v1/stats. Active jobs (pending, queued, running) are few next to the history, so a
-- partial index holds exactly them: counts by state and connector and the oldest waiting job
-- are an index-only scan of that small index, whatever the size of the table.
CREATE INDEX jobs_active_stats ON jobs (tenant_id, state, connector, created_at)
    WHERE state IN ('pending', 'queued', 'running');
-- Finished jobs are counted over a bounded recent range (the last 24 hours; failures over the
-- last hour) read from these indexes by finished_at, instead of counting all of history. The
-- same (tenant_id, finished_at) index drives the retention purge.
CREATE INDEX jobs_finished ON jobs (finished_at)
    INCLUDE (tenant_id, state, connector, error_class) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_tenant_finished ON jobs (tenant_id, finished_at)
    INCLUDE (state, connector, error_class) WHERE finished_at IS NOT NULL;

-- Throttled rate budgets, and connections and destinations needing re-authorisation.
CREATE INDEX rate_budgets_blocked ON rate_budgets (blocked_until) WHERE blocked_until IS NOT NULL;
CREATE INDEX connections_needing_reauth ON connections (tenant_id) WHERE status = 'needs_reauth';
CREATE INDEX destinations_needing_reauth ON destinations (tenant_id) WHERE status = 'needs_reauth';

-- Key rotation re-seals the rows not under the active key, in batches.
CREATE INDEX connections_key ON connections (key_id, id);
CREATE INDEX destinations_key ON destinations (key_id, id) WHERE key_id IS NOT NULL;
