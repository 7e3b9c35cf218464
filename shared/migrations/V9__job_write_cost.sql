-- Less database work per job. A job's row is written three or four times (created, queued,
-- running, finished), and no state change is a HOT update (state is in partial indexes'
-- predicates), so every write adds an entry to every index on jobs: each index costs about a
-- twentieth of the pipeline's throughput (BENCHMARKS.md).

-- A tenant's listing filtered by state walks jobs_tenant_created and filters; active states
-- (few rows) are found through jobs_active_stats.
DROP INDEX jobs_tenant_state_created;

-- Wake the relay once per statement instead of calling a function for every pending row.
-- A notification is delivered once per transaction however often it is sent, so listeners see
-- the same thing; every statement leaving a job pending notifies, as before.
DROP TRIGGER jobs_notify_pending ON jobs;
DROP FUNCTION notify_job_pending();

CREATE OR REPLACE FUNCTION record_inserted_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_events (job_id, from_state, to_state, reason)
    SELECT id, NULL, state, state_reason FROM inserted;
    IF EXISTS (SELECT 1 FROM inserted WHERE state = 'pending') THEN
        PERFORM pg_notify('adsync_jobs_pending', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION record_updated_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_events (job_id, from_state, to_state, reason)
    SELECT new_rows.id, old_rows.state, new_rows.state, new_rows.state_reason
    FROM new_rows JOIN old_rows ON old_rows.id = new_rows.id
    WHERE new_rows.state IS DISTINCT FROM old_rows.state;
    IF EXISTS (SELECT 1 FROM new_rows WHERE state = 'pending') THEN
        PERFORM pg_notify('adsync_jobs_pending', '');
    END IF;
    RETURN NULL;
END
$$;
