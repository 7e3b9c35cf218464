//! Cancel and retry on request (`POST /v1/jobs/{id}/cancel`, `…/retry`).

use super::{Job, from_row};
use crate::db::{DbError, GenericClient};
use crate::domain::{JobId, JobState, TenantId};

/// What a cancel request did.
#[derive(Debug, Clone)]
pub enum CancelOutcome {
    /// The job had not started (or was cancelled before): it is `cancelled` now.
    Cancelled(Job),
    /// The job is running: its worker stops between pages and marks it `cancelled`.
    Requested(Job),
    /// The job had already finished; nothing changed.
    Finished(Job),
}

/// Cancels a job before it is claimed, or asks its worker to stop if it runs. `None` if the
/// tenant has no such job.
pub async fn cancel(
    client: &impl GenericClient,
    tenant_id: Option<TenantId>,
    id: JobId,
) -> Result<Option<CancelOutcome>, DbError> {
    let Some(row) = client
        .query_opt(
            "UPDATE jobs SET
                 state = CASE WHEN state IN ('pending', 'queued') THEN 'cancelled' ELSE state END,
                 state_reason = CASE WHEN state IN ('pending', 'queued')
                     THEN 'cancelled on request' ELSE state_reason END,
                 finished_at = CASE WHEN state IN ('pending', 'queued') THEN now() ELSE finished_at END,
                 cancel_requested_at = CASE WHEN state = 'running'
                     THEN coalesce(cancel_requested_at, now()) ELSE cancel_requested_at END,
                 updated_at = now()
             WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)
             RETURNING *",
            &[&id, &tenant_id],
        )
        .await?
    else {
        return Ok(None);
    };
    let job = from_row(&row)?;
    Ok(Some(match job.state {
        JobState::Cancelled => CancelOutcome::Cancelled(job),
        JobState::Running => CancelOutcome::Requested(job),
        JobState::Pending | JobState::Queued | JobState::Succeeded | JobState::Failed => {
            CancelOutcome::Finished(job)
        }
    }))
}

/// Whether someone asked to cancel the job.
pub async fn cancel_requested(client: &impl GenericClient, id: JobId) -> Result<bool, DbError> {
    Ok(client
        .query_opt(
            "SELECT 1 FROM jobs WHERE id = $1 AND cancel_requested_at IS NOT NULL",
            &[&id],
        )
        .await?
        .is_some())
}

/// What a retry request did.
#[derive(Debug, Clone)]
pub enum RetryOutcome {
    /// The failed or cancelled job is `pending` again, with its attempts reset.
    Retried(Box<Job>),
    /// Only failed or cancelled jobs can be retried; this one is in `state`.
    NotRetryable(JobState),
    /// Another job of the same sync is active.
    Conflict,
}

/// Puts a failed or cancelled job back to `pending` with fresh attempts. `None` if the tenant
/// has no such job.
pub async fn retry(
    client: &impl GenericClient,
    tenant_id: Option<TenantId>,
    id: JobId,
) -> Result<Option<RetryOutcome>, DbError> {
    let result = client
        .query_opt(
            "UPDATE jobs SET state = 'pending', state_reason = 'retried on request',
                 attempt = 0, run_after = now(), error_class = NULL, error_message = NULL,
                 cancel_requested_at = NULL, worker_id = NULL, lease_expires_at = NULL,
                 rows_read = NULL, rows_written = NULL, api_calls = NULL,
                 started_at = NULL, finished_at = NULL, updated_at = now()
             WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)
               AND state IN ('failed', 'cancelled')
             RETURNING *",
            &[&id, &tenant_id],
        )
        .await;
    match result {
        Ok(Some(row)) => Ok(Some(RetryOutcome::Retried(Box::new(from_row(&row)?)))),
        Ok(None) => Ok(super::get(client, tenant_id, id)
            .await?
            .map(|job| RetryOutcome::NotRetryable(job.state))),
        Err(error) if error.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
            Ok(Some(RetryOutcome::Conflict))
        }
        Err(error) => Err(error.into()),
    }
}
