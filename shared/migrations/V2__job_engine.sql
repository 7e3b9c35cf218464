-- The job engine: per-tenant running caps, cancellation requests, set-based job history, and a
-- notification that wakes the outbox relay when a job becomes pending.

ALTER TABLE tenants
    ADD COLUMN max_running_jobs integer NOT NULL DEFAULT 20 CHECK (max_running_jobs >= 1);

-- Set by POST /v1/jobs/{id}/cancel on a running job; the worker stops between pages.
ALTER TABLE jobs ADD COLUMN cancel_requested_at timestamptz;

-- Job history, written once per statement from its transition tables: batched claims and
-- completions of hundreds of jobs cost one insert, not one per row. The history is append-only
-- and written only by these triggers, so it needs no foreign key checked on every insert;
-- deleting jobs deletes their history (a statement-level trigger below).
ALTER TABLE job_events DROP CONSTRAINT job_events_job_id_fkey;
DROP TRIGGER jobs_record_event ON jobs;
DROP FUNCTION record_job_event();

CREATE FUNCTION record_inserted_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_events (job_id, from_state, to_state, reason)
    SELECT id, NULL, state, state_reason FROM inserted;
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_record_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION record_inserted_jobs();

CREATE FUNCTION record_updated_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_events (job_id, from_state, to_state, reason)
    SELECT new_rows.id, old_rows.state, new_rows.state, new_rows.state_reason
    FROM new_rows JOIN old_rows ON old_rows.id = new_rows.id
    WHERE new_rows.state IS DISTINCT FROM old_rows.state;
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_record_update AFTER UPDATE ON jobs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION record_updated_jobs();

-- Wakes the relay (LISTEN adsync_jobs_pending). Identical notifications within a transaction
-- are delivered once, so a batch insert notifies once.
CREATE FUNCTION notify_job_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('adsync_jobs_pending', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_notify_pending AFTER INSERT OR UPDATE OF state ON jobs
    FOR EACH ROW WHEN (NEW.state = 'pending')
    EXECUTE FUNCTION notify_job_pending();

-- Jobs queued for long without being claimed: their message was probably lost (a purged
-- queue); the rescuer returns them to pending so the relay publishes them again.
CREATE INDEX jobs_queued_since ON jobs (updated_at) WHERE state = 'queued';

CREATE FUNCTION delete_job_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM job_events WHERE job_id IN (SELECT id FROM deleted);
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_delete_events AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION delete_job_events();
