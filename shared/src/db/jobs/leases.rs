//! Running jobs: claims, heartbeats and outcomes, each for many jobs in one statement.
//!
//! A running job belongs to one attempt of one worker, named by a [`Lease`]; every statement
//! here that changes a running job checks the lease, so a worker whose lease expired (and whose
//! job another worker took over) changes nothing.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Job, from_row};
use crate::db::{DbError, GenericClient, Transaction};
use crate::domain::{JobId, TenantId, Trigger};

/// Identifies one attempt of one job by one worker: only its holder may change a running job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job_id: JobId,
    pub worker_id: String,
    pub attempt: i32,
}

impl Lease {
    pub fn of(job: &Job, worker_id: &str) -> Self {
        Self {
            job_id: job.id,
            worker_id: worker_id.to_string(),
            attempt: job.attempt,
        }
    }
}

/// What a finished attempt moved and cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub rows_read: i64,
    pub rows_written: i64,
    pub api_calls: i32,
}

fn millis(duration: Duration) -> f64 {
    duration.as_millis() as f64
}

/// How claims are made.
#[derive(Debug, Clone, Copy)]
pub struct ClaimSettings {
    /// How long a claimed job stays leased without a heartbeat.
    pub lease: Duration,
    /// How long a job waits when its tenant already runs as many jobs as it may.
    pub defer: Duration,
}

impl ClaimSettings {
    /// How long a deferred job's slot reservation lasts: its wait, then time for the relay to
    /// publish it again and a worker to claim it. Each deferral renews it.
    fn reservation(&self) -> Duration {
        self.defer + RESERVATION_SLACK
    }
}

/// What a slot reservation allows beyond the deferral itself (the relay sweeps at least every
/// second; a delivery and a claim take milliseconds).
const RESERVATION_SLACK: Duration = Duration::from_secs(5);

/// The outcome of claiming a batch of jobs named by messages.
#[derive(Debug, Clone, Default)]
pub struct Claims {
    /// Now `running` under this worker's lease, a new attempt each.
    pub claimed: Vec<Job>,
    /// Claimable, but their tenant is at its running-job cap: back to `pending` for a while.
    pub deferred: Vec<JobId>,
    /// Finished, cancelled, snoozed, or held by a live lease: nothing to do.
    pub unclaimable: Vec<JobId>,
    /// No job has this id.
    pub missing: Vec<JobId>,
    /// How long each claimed job waited for its claim: since it was published (`queued`), or
    /// since it became due if its message arrived before it was marked queued. A job taken
    /// over from an expired lease has none.
    pub queue_waits: Vec<(JobId, Duration)>,
}

/// The condition under which a job can be claimed: queued; pending and due (its message may
/// arrive before the publisher marks it queued); or running with an expired lease.
const CLAIMABLE: &str = "(j.state = 'queued'
     OR (j.state = 'pending' AND j.run_after <= now())
     OR (j.state = 'running' AND j.lease_expires_at < now()))";

/// Claims the jobs named by `ids` for `worker_id`, honouring each tenant's cap on running jobs
/// (higher priority first). Tenants are locked in id order for the rest of the transaction, so
/// concurrent claimers cannot together exceed a cap.
///
/// A job deferred because its tenant is at its cap reserves a slot for its priority (table
/// `slot_reservations`, renewed by each deferral, lapsing [`ClaimSettings::reservation`] after
/// the last): while the reservation lasts, jobs of a lower priority leave one slot of the cap
/// free, so the next slot that frees goes to the waiting job when its message comes back
/// rather than to whichever backfill message happens to be claimed first. Without it a
/// rescued or scheduled job among thousands of backfill jobs of its tenant waits in a lottery
/// it almost always loses.
pub async fn claim_many(
    transaction: &Transaction<'_>,
    ids: &[JobId],
    worker_id: &str,
    settings: ClaimSettings,
) -> Result<Claims, DbError> {
    let mut claims = Claims::default();
    if ids.is_empty() {
        return Ok(claims);
    }
    let found = transaction
        .query(
            &format!(
                "SELECT j.id, j.tenant_id, {CLAIMABLE} AS claimable FROM jobs j WHERE j.id = ANY($1)"
            ),
            &[&ids],
        )
        .await?;
    let mut candidates = Vec::new();
    let mut tenants = Vec::new();
    let mut existing = HashSet::new();
    for row in &found {
        let id: JobId = row.try_get("id")?;
        existing.insert(id);
        if row.try_get("claimable")? {
            candidates.push(id);
            tenants.push(row.try_get::<_, TenantId>("tenant_id")?);
        } else {
            claims.unclaimable.push(id);
        }
    }
    claims.missing = ids
        .iter()
        .filter(|id| !existing.contains(id))
        .copied()
        .collect();
    if candidates.is_empty() {
        return Ok(claims);
    }
    transaction
        .query(
            "SELECT id FROM tenants WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
            &[&tenants],
        )
        .await?;
    let rows = transaction
        .query(
            &format!(
                "WITH running AS (
                     SELECT tenant_id, count(*) AS n FROM jobs
                     WHERE state = 'running' AND lease_expires_at >= now() AND tenant_id = ANY($2)
                     GROUP BY tenant_id
                 ), admitted AS (
                     SELECT j.id, j.waiting_since FROM (
                         SELECT j.id, j.tenant_id, j.priority,
                                CASE WHEN j.state = 'queued' THEN j.updated_at
                                     WHEN j.state = 'pending' THEN j.run_after
                                END AS waiting_since,
                                row_number() OVER (PARTITION BY j.tenant_id
                                                   ORDER BY j.priority DESC, j.id) AS rank
                         FROM jobs j WHERE j.id = ANY($1) AND {CLAIMABLE}
                     ) j
                     JOIN tenants t ON t.id = j.tenant_id
                     LEFT JOIN running r ON r.tenant_id = j.tenant_id
                     LEFT JOIN slot_reservations s
                            ON s.tenant_id = j.tenant_id AND s.until > now()
                     WHERE j.rank <= t.max_running_jobs - coalesce(r.n, 0)
                                     - CASE WHEN j.priority < s.priority THEN 1 ELSE 0 END
                 )
                 UPDATE jobs j SET state = 'running', state_reason = 'claimed by ' || $3,
                     attempt = j.attempt + 1, worker_id = $3,
                     lease_expires_at = now() + $4 * interval '1 millisecond',
                     started_at = now(), updated_at = now()
                 FROM admitted WHERE j.id = admitted.id AND {CLAIMABLE}
                 RETURNING j.*, extract(epoch FROM now() - admitted.waiting_since)::float8
                     AS queue_wait_secs"
            ),
            &[&candidates, &tenants, &worker_id, &millis(settings.lease)],
        )
        .await?;
    claims.claimed = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    for row in &rows {
        if let Some(secs) = row.try_get::<_, Option<f64>>("queue_wait_secs")? {
            claims
                .queue_waits
                .push((row.try_get("id")?, Duration::from_secs_f64(secs.max(0.0))));
        }
    }
    let claimed: HashSet<JobId> = claims.claimed.iter().map(|job| job.id).collect();
    let waiting: Vec<JobId> = candidates
        .into_iter()
        .filter(|id| !claimed.contains(id))
        .collect();
    if !waiting.is_empty() {
        let deferred = transaction
            .query(
                "UPDATE jobs SET state = 'pending', state_reason = 'tenant at its running-job cap',
                     run_after = now() + $2 * interval '1 millisecond', updated_at = now()
                 WHERE id = ANY($1)
                   AND (state = 'queued' OR (state = 'pending' AND run_after <= now()))
                 RETURNING id",
                &[&waiting, &millis(settings.defer)],
            )
            .await?;
        let deferred: HashSet<JobId> = deferred
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<_, _>>()?;
        if !deferred.is_empty() {
            let ids: Vec<JobId> = deferred.iter().copied().collect();
            reserve_slots(transaction, &ids, settings.reservation()).await?;
        }
        for id in waiting {
            if deferred.contains(&id) {
                claims.deferred.push(id);
            } else {
                claims.unclaimable.push(id);
            }
        }
    }
    Ok(claims)
}

/// Reserves a slot of each deferred job's tenant for the highest priority deferred (keeping a
/// live reservation of a higher priority), unless that is the lowest priority there is.
async fn reserve_slots(
    transaction: &Transaction<'_>,
    deferred: &[JobId],
    duration: Duration,
) -> Result<(), DbError> {
    let lowest = i16::from(Trigger::Backfill.priority());
    transaction
        .execute(
            "INSERT INTO slot_reservations AS s (tenant_id, priority, until)
             SELECT tenant_id, max(priority), now() + $2 * interval '1 millisecond'
             FROM jobs WHERE id = ANY($1) GROUP BY tenant_id HAVING max(priority) > $3
             ON CONFLICT (tenant_id) DO UPDATE
                 SET priority = EXCLUDED.priority, until = EXCLUDED.until
                 WHERE s.until <= now() OR s.priority <= EXCLUDED.priority",
            &[&deferred, &millis(duration), &lowest],
        )
        .await?;
    Ok(())
}

/// Whether `lease` holds its job at this very moment: the job is running under this worker and
/// attempt, and the lease has not expired on the database's clock (`clock_timestamp()`, not the
/// transaction's start). A destination commit checks it while holding the turn every writer of
/// the same rows takes, so an attempt that lost its job can never commit over a newer one.
pub async fn holds(client: &impl GenericClient, lease: &Lease) -> Result<bool, DbError> {
    Ok(client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM jobs
                            WHERE id = $1 AND state = 'running' AND worker_id = $2
                              AND attempt = $3 AND lease_expires_at > clock_timestamp())",
            &[&lease.job_id, &lease.worker_id, &lease.attempt],
        )
        .await?
        .try_get(0)?)
}

/// Extends the leases of this worker's running jobs. Jobs missing from the answer are no
/// longer this worker's (lease lost).
pub async fn heartbeat_many(
    client: &impl GenericClient,
    leases: &[Lease],
    duration: Duration,
) -> Result<Vec<JobId>, DbError> {
    if leases.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<JobId> = leases.iter().map(|lease| lease.job_id).collect();
    let workers: Vec<&str> = leases
        .iter()
        .map(|lease| lease.worker_id.as_str())
        .collect();
    let attempts: Vec<i32> = leases.iter().map(|lease| lease.attempt).collect();
    let rows = client
        .query(
            "UPDATE jobs j SET lease_expires_at = now() + $4 * interval '1 millisecond'
             FROM unnest($1::uuid[], $2::text[], $3::int4[]) AS l(id, worker_id, attempt)
             WHERE j.id = l.id AND j.state = 'running'
               AND j.worker_id = l.worker_id AND j.attempt = l.attempt
             RETURNING j.id",
            &[&ids, &workers, &attempts, &millis(duration)],
        )
        .await?;
    rows.iter().map(|row| Ok(row.try_get("id")?)).collect()
}

/// `running → succeeded` for each attempt still held. Returns the jobs that succeeded; the
/// others had lost their lease.
pub async fn succeed_many(
    client: &impl GenericClient,
    done: &[(Lease, JobCounts)],
) -> Result<Vec<JobId>, DbError> {
    if done.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<JobId> = done.iter().map(|(lease, _)| lease.job_id).collect();
    let workers: Vec<&str> = done
        .iter()
        .map(|(lease, _)| lease.worker_id.as_str())
        .collect();
    let attempts: Vec<i32> = done.iter().map(|(lease, _)| lease.attempt).collect();
    let read: Vec<i64> = done.iter().map(|(_, counts)| counts.rows_read).collect();
    let written: Vec<i64> = done.iter().map(|(_, counts)| counts.rows_written).collect();
    let calls: Vec<i32> = done.iter().map(|(_, counts)| counts.api_calls).collect();
    let rows = client
        .query(
            "UPDATE jobs j SET state = 'succeeded', state_reason = 'completed',
                 rows_read = d.rows_read, rows_written = d.rows_written, api_calls = d.api_calls,
                 error_class = NULL, error_message = NULL,
                 lease_expires_at = NULL, finished_at = now(), updated_at = now()
             FROM unnest($1::uuid[], $2::text[], $3::int4[], $4::int8[], $5::int8[], $6::int4[])
                 AS d(id, worker_id, attempt, rows_read, rows_written, api_calls)
             WHERE j.id = d.id AND j.state = 'running'
               AND j.worker_id = d.worker_id AND j.attempt = d.attempt
             RETURNING j.id",
            &[&ids, &workers, &attempts, &read, &written, &calls],
        )
        .await?;
    rows.iter().map(|row| Ok(row.try_get("id")?)).collect()
}

/// How a failed attempt ends.
#[derive(Debug, Clone)]
pub enum Failure<'a> {
    /// `running → pending` at `run_after`. `spend_attempt = false` gives the attempt back
    /// (a throttle snooze).
    RetryAt {
        run_after: DateTime<Utc>,
        spend_attempt: bool,
        class: &'a str,
        message: &'a str,
    },
    /// `running → failed` for good.
    Fail { class: &'a str, message: &'a str },
    /// `running → cancelled`: the job was cancelled while it ran.
    Cancel,
}

/// Records a failed attempt. `false` if the lease was lost.
pub async fn fail_attempt(
    client: &impl GenericClient,
    lease: &Lease,
    failure: Failure<'_>,
    counts: JobCounts,
) -> Result<bool, DbError> {
    let (state, reason, run_after, give_back, class, message) = match failure {
        Failure::RetryAt {
            run_after,
            spend_attempt,
            class,
            message,
        } => {
            let reason = if spend_attempt {
                format!("{class} error, retry scheduled")
            } else {
                format!("{class}, snoozed")
            };
            (
                "pending",
                reason,
                Some(run_after),
                !spend_attempt,
                Some(class),
                Some(message),
            )
        }
        Failure::Fail { class, message } => (
            "failed",
            format!("{class} error"),
            None,
            false,
            Some(class),
            Some(message),
        ),
        Failure::Cancel => (
            "cancelled",
            "cancelled while running".to_string(),
            None,
            false,
            None,
            None,
        ),
    };
    // A platform's error text may hold a U+0000, which PostgreSQL text cannot store.
    let message: Option<String> =
        message.map(|message| crate::domain::text::storable(message).into_owned());
    let changed = client
        .execute(
            "UPDATE jobs SET state = $4, state_reason = $5,
                 run_after = coalesce($6, run_after),
                 attempt = attempt - CASE WHEN $7 THEN 1 ELSE 0 END,
                 error_class = coalesce($8, error_class), error_message = coalesce($9, error_message),
                 rows_read = $10, rows_written = $11, api_calls = $12,
                 worker_id = CASE WHEN $4 = 'pending' THEN NULL ELSE worker_id END,
                 lease_expires_at = NULL,
                 finished_at = CASE WHEN $4 = 'pending' THEN NULL ELSE now() END,
                 updated_at = now()
             WHERE id = $1 AND state = 'running' AND worker_id = $2 AND attempt = $3",
            &[
                &lease.job_id,
                &lease.worker_id,
                &lease.attempt,
                &state,
                &reason,
                &run_after,
                &give_back,
                &class,
                &message,
                &counts.rows_read,
                &counts.rows_written,
                &counts.api_calls,
            ],
        )
        .await?;
    Ok(changed == 1)
}

/// Gives a running job back at worker shutdown: `pending` now, the attempt not spent.
/// `false` if the lease was lost.
pub async fn release(client: &impl GenericClient, lease: &Lease) -> Result<bool, DbError> {
    Ok(client
        .execute(
            "UPDATE jobs SET state = 'pending', state_reason = 'released at worker shutdown',
                 attempt = attempt - 1, run_after = now(), worker_id = NULL,
                 lease_expires_at = NULL, updated_at = now()
             WHERE id = $1 AND state = 'running' AND worker_id = $2 AND attempt = $3",
            &[&lease.job_id, &lease.worker_id, &lease.attempt],
        )
        .await?
        == 1)
}
