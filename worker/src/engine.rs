//! The job engine of one worker process: claims jobs, runs attempts under leases, and records
//! each outcome — successes in batches — in PostgreSQL. It knows nothing of RabbitMQ (the
//! consumer acks after an outcome is recorded) nor of what a job does (that is the executor).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;
use shared::config::Config;
use shared::db::jobs::{self, ClaimSettings, Claims, Failure, Job, JobCounts, Lease};
use shared::db::{DbError, Pool, accounts, connections};
use shared::domain::JobId;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, warn};

use crate::batch::recv_batch;
use crate::execute::{AttemptFailure, Credentials, Execute};
use crate::metrics;
use crate::retry::{Decision, RetryPolicy, decide};

/// How an attempt ended, once recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The job is finished, cancelled, snoozed or held by another live lease: nothing to do.
    NotClaimable,
    /// No job has this id.
    NoSuchJob,
    /// Its tenant already runs as many jobs as it may; it waits a little in `pending`.
    Deferred,
    Succeeded(JobCounts),
    /// Back to `pending` for a retry or a throttle snooze.
    Rescheduled {
        class: &'static str,
    },
    Failed {
        class: &'static str,
    },
    Cancelled,
    /// Another worker took the job over (this worker's lease expired); the work was dropped.
    LeaseLost,
    /// The worker shut down before the attempt finished; the job is `pending` again.
    Released,
}

impl Outcome {
    /// The metric label of the outcome.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::NotClaimable | Outcome::NoSuchJob => "not_claimable",
            Outcome::Deferred => "deferred",
            Outcome::Succeeded(_) => "succeeded",
            Outcome::Rescheduled { class: "throttled" } => "snoozed",
            Outcome::Rescheduled { .. } => "retried",
            Outcome::Failed { .. } => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::LeaseLost => "lease_lost",
            Outcome::Released => "released",
        }
    }
}

/// Engine settings, from the `jobs` and `worker` configuration sections.
#[derive(Debug, Clone, Copy)]
pub struct EngineSettings {
    pub claim: ClaimSettings,
    pub retry: RetryPolicy,
    /// Most jobs per claim or completion transaction.
    pub batch: usize,
    /// How long a batch waits to fill.
    pub linger: Duration,
}

impl EngineSettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            claim: ClaimSettings {
                lease: Duration::from_secs(u64::from(config.jobs.lease_secs)),
                defer: Duration::from_millis(config.jobs.tenant_cap_defer_ms),
            },
            retry: RetryPolicy::from_config(&config.jobs),
            batch: usize::from(config.worker.batch_size),
            linger: Duration::from_millis(config.worker.batch_linger_ms),
        }
    }
}

/// A success waiting to be recorded, and where to say whether it was.
struct Completion {
    lease: Lease,
    counts: JobCounts,
    recorded: oneshot::Sender<Result<bool, String>>,
}

/// The leases this worker holds, renewed together by one heartbeat task.
#[derive(Default)]
struct Leases {
    held: Mutex<HashMap<JobId, (Lease, CancellationToken)>>,
}

impl Leases {
    /// Registers a lease; the returned token is cancelled if the lease is lost.
    fn hold(&self, lease: Lease) -> CancellationToken {
        let lost = CancellationToken::new();
        self.lock().insert(lease.job_id, (lease, lost.clone()));
        lost
    }

    fn drop_lease(&self, job_id: JobId) {
        self.lock().remove(&job_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, (Lease, CancellationToken)>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Renews every lease held; cancels the token of each lease that is gone.
    async fn renew(&self, pool: &Pool, duration: Duration) -> Result<(), DbError> {
        let leases: Vec<Lease> = self
            .lock()
            .values()
            .map(|(lease, _)| lease.clone())
            .collect();
        if leases.is_empty() {
            return Ok(());
        }
        let client = pool.get().await?;
        let renewed = jobs::heartbeat_many(&client, &leases, duration).await?;
        let held = self.lock();
        for lease in leases {
            if !renewed.contains(&lease.job_id)
                && let Some((current, lost)) = held.get(&lease.job_id)
                && *current == lease
            {
                warn!(job_id = %lease.job_id, "lease lost; abandoning the attempt");
                lost.cancel();
            }
        }
        Ok(())
    }
}

/// One worker's engine. Share it behind an `Arc`; dropping the last one stops its background
/// tasks (heartbeats and the completion recorder).
pub struct Engine<E> {
    pool: Pool,
    executor: E,
    worker_id: String,
    settings: EngineSettings,
    leases: Arc<Leases>,
    completions: mpsc::Sender<Completion>,
    /// Cancelled when in-flight attempts must stop now (the shutdown grace ran out).
    interrupt: CancellationToken,
    /// Stops the background tasks.
    background: CancellationToken,
}

impl<E> Drop for Engine<E> {
    fn drop(&mut self) {
        self.background.cancel();
    }
}

impl<E: Execute> Engine<E> {
    /// Starts an engine and its background tasks on the current runtime.
    pub fn start(
        pool: Pool,
        executor: E,
        worker_id: String,
        settings: EngineSettings,
    ) -> Arc<Self> {
        let leases = Arc::new(Leases::default());
        let background = CancellationToken::new();
        let (completions, receiver) = mpsc::channel(settings.batch.max(1) * 4);
        tokio::spawn(record_completions(pool.clone(), receiver, settings));
        tokio::spawn(heartbeat(
            pool.clone(),
            leases.clone(),
            settings.claim.lease,
            background.clone(),
        ));
        Arc::new(Self {
            pool,
            executor,
            worker_id,
            settings,
            leases,
            completions,
            interrupt: CancellationToken::new(),
            background,
        })
    }

    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    pub fn settings(&self) -> EngineSettings {
        self.settings
    }

    /// Claims the jobs named by `ids` in one transaction.
    pub async fn claim(&self, ids: &[JobId]) -> Result<Claims, DbError> {
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        let claims =
            jobs::claim_many(&transaction, ids, &self.worker_id, self.settings.claim).await?;
        transaction.commit().await?;
        for (id, wait) in &claims.queue_waits {
            if let Some(job) = claims.claimed.iter().find(|job| job.id == *id) {
                metrics::record_queue_wait(job.connector.as_str(), *wait);
            }
        }
        if !claims.deferred.is_empty() {
            info!(
                count = claims.deferred.len(),
                "jobs deferred: tenant at its running-job cap"
            );
        }
        Ok(claims)
    }

    /// Claims one job and runs it to a recorded outcome (the consumer's path, one at a time;
    /// tests use it to drive the engine by hand).
    pub async fn execute_one(&self, id: JobId) -> Result<Outcome, DbError> {
        let mut claims = self.claim(&[id]).await?;
        if let Some(job) = claims.claimed.pop() {
            return self.run(job).await;
        }
        Ok(if !claims.missing.is_empty() {
            Outcome::NoSuchJob
        } else if !claims.deferred.is_empty() {
            Outcome::Deferred
        } else {
            Outcome::NotClaimable
        })
    }

    /// Runs a claimed job's attempt and records its outcome. An `Err` means the outcome could
    /// not be recorded (the database is unavailable); the lease will expire and the rescuer
    /// will return the job.
    pub async fn run(&self, job: Job) -> Result<Outcome, DbError> {
        self.run_traced(job, None).await
    }

    /// [`Engine::run`], with the attempt's `job` span made a child of the span named by
    /// `traceparent` (the publisher's, from the message headers).
    pub async fn run_traced(
        &self,
        job: Job,
        traceparent: Option<&str>,
    ) -> Result<Outcome, DbError> {
        let span = tracing::info_span!(
            "job",
            job_id = %job.id,
            sync_id = %job.sync_id,
            connector = %job.connector,
            attempt = job.attempt,
        );
        if let Some(traceparent) = traceparent {
            shared::telemetry::set_remote_parent(&span, traceparent);
        }
        self.run_attempt(job).instrument(span).await
    }

    async fn run_attempt(&self, job: Job) -> Result<Outcome, DbError> {
        let started = Instant::now();
        let lease = Lease::of(&job, &self.worker_id);
        let lost = self.leases.hold(lease.clone());
        let result = tokio::select! {
            result = self.executor.execute(&job) => Some(result),
            () = lost.cancelled() => None,
            () = self.interrupt.cancelled() => {
                self.leases.drop_lease(job.id);
                let client = self.pool.get().await?;
                jobs::release(&client, &lease).await?;
                info!("attempt interrupted by shutdown; job released");
                return Ok(Outcome::Released);
            }
        };
        self.leases.drop_lease(job.id);
        let outcome = match result {
            None => Outcome::LeaseLost,
            Some(Ok(counts)) => {
                metrics::record_rows_read(
                    job.connector.as_str(),
                    u64::try_from(counts.rows_read).unwrap_or(0),
                );
                if self.record_success(lease, counts).await? {
                    info!(
                        rows_read = counts.rows_read,
                        rows_written = counts.rows_written,
                        api_calls = counts.api_calls,
                        "job succeeded"
                    );
                    Outcome::Succeeded(counts)
                } else {
                    Outcome::LeaseLost
                }
            }
            Some(Err(failure)) => self.record_failure(&job, &lease, failure).await?,
        };
        metrics::record_job(job.connector.as_str(), outcome.label(), started.elapsed());
        Ok(outcome)
    }

    /// Hands the success to the batching recorder and waits until it is committed.
    async fn record_success(&self, lease: Lease, counts: JobCounts) -> Result<bool, DbError> {
        let (recorded, answer) = oneshot::channel();
        let completion = Completion {
            lease: lease.clone(),
            counts,
            recorded,
        };
        if self.completions.send(completion).await.is_ok()
            && let Ok(result) = answer.await
        {
            return result.map_err(DbError::Batch);
        }
        // The recorder is gone (shutting down): record this one directly.
        let client = self.pool.get().await?;
        Ok(!jobs::succeed_many(&client, &[(lease, counts)])
            .await?
            .is_empty())
    }

    async fn record_failure(
        &self,
        job: &Job,
        lease: &Lease,
        failure: AttemptFailure,
    ) -> Result<Outcome, DbError> {
        let class_name = failure.class.name();
        let message = failure.message.as_str();
        let counts = failure.counts;
        metrics::record_job_failure(job.connector.as_str(), class_name);
        metrics::record_rows_read(
            job.connector.as_str(),
            u64::try_from(counts.rows_read).unwrap_or(0),
        );
        let decision = decide(
            &failure.class,
            job.attempt,
            job.max_attempts,
            Utc::now(),
            self.settings.retry,
            rand::random::<f64>(),
        );
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        let (recorded, outcome) = match decision {
            Decision::Retry {
                run_after,
                spend_attempt,
            } => {
                warn!(error = %message, class = class_name, %run_after, "attempt failed; rescheduled");
                let retry = Failure::RetryAt {
                    run_after,
                    spend_attempt,
                    class: class_name,
                    message,
                };
                (
                    jobs::fail_attempt(&transaction, lease, retry, counts).await?,
                    Outcome::Rescheduled { class: class_name },
                )
            }
            Decision::Fail | Decision::FailNeedsReauth => {
                if decision == Decision::FailNeedsReauth {
                    needs_reauth(&transaction, job, failure.credentials, message).await?;
                }
                tracing::error!(error = %message, class = class_name, "job failed");
                let fail = Failure::Fail {
                    class: class_name,
                    message,
                };
                (
                    jobs::fail_attempt(&transaction, lease, fail, counts).await?,
                    Outcome::Failed { class: class_name },
                )
            }
            Decision::Cancel => {
                info!("job cancelled while running");
                (
                    jobs::fail_attempt(&transaction, lease, Failure::Cancel, counts).await?,
                    Outcome::Cancelled,
                )
            }
        };
        transaction.commit().await?;
        Ok(if recorded {
            outcome
        } else {
            Outcome::LeaseLost
        })
    }

    /// Stops every attempt in flight now; each releases its job back to `pending`.
    pub fn interrupt(&self) {
        self.interrupt.cancel();
    }
}

/// Records successes in batches: one `UPDATE` per batch, then tells each waiter.
async fn record_completions(
    pool: Pool,
    mut receiver: mpsc::Receiver<Completion>,
    settings: EngineSettings,
) {
    loop {
        let batch = recv_batch(&mut receiver, settings.batch, settings.linger).await;
        if batch.is_empty() {
            return;
        }
        let done: Vec<(Lease, JobCounts)> = batch
            .iter()
            .map(|completion| (completion.lease.clone(), completion.counts))
            .collect();
        let result = match pool.get().await {
            Ok(client) => jobs::succeed_many(&client, &done).await,
            Err(error) => Err(DbError::from(error)),
        };
        match result {
            Ok(succeeded) => {
                for completion in batch {
                    let ok = succeeded.contains(&completion.lease.job_id);
                    let _ = completion.recorded.send(Ok(ok));
                }
            }
            Err(error) => {
                warn!(%error, "recording completions failed");
                for completion in batch {
                    let _ = completion.recorded.send(Err(error.to_string()));
                }
            }
        }
    }
}

/// Renews every lease this worker holds, every third of the lease's length.
async fn heartbeat(pool: Pool, leases: Arc<Leases>, lease: Duration, stop: CancellationToken) {
    let mut interval = tokio::time::interval(lease / 3);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = interval.tick() => {}
        }
        // A failed renewal is retried at the next beat; the lease may still be valid.
        if let Err(error) = leases.renew(&pool, lease).await {
            warn!(%error, "heartbeat failed");
        }
    }
}

/// Marks whichever credentials stopped working as needing re-authorisation, which pauses the
/// syncs that depend on them.
async fn needs_reauth(
    client: &impl shared::db::GenericClient,
    job: &Job,
    credentials: Credentials,
    message: &str,
) -> Result<(), DbError> {
    match credentials {
        Credentials::Connection => {
            if let Some(account) = accounts::get(client, job.tenant_id, job.account_id).await? {
                tracing::error!(error = %message, "the connection needs re-authorisation");
                connections::mark_needs_reauth(
                    client,
                    job.tenant_id,
                    account.connection_id,
                    message,
                )
                .await?;
            }
        }
        Credentials::Destination => {
            if let Some(sync) = shared::db::syncs::get(client, job.tenant_id, job.sync_id).await? {
                tracing::error!(error = %message, "the destination needs re-authorisation");
                shared::db::destinations::mark_needs_reauth(
                    client,
                    job.tenant_id,
                    sync.destination_id,
                    message,
                )
                .await?;
            }
        }
    }
    Ok(())
}
