//! Executes one job: claim it, read the report page by page into the destination, commit, and
//! record the outcome. Nothing here touches RabbitMQ; the consumer acks after this returns.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::TryStreamExt as _;
use shared::config::Config;
use shared::crypto::KeyRing;
use shared::db::connections::{self, TokensError};
use shared::db::jobs::{self, Failure, Job, JobCounts, Lease};
use shared::db::{self, DbError, Pool, accounts, syncs};
use shared::domain::JobId;
use shared::error::{Classify, ErrorClass};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, warn};

use crate::connectors::{self, ConnectorError, Http, ReportRequest};
use crate::destinations::{self, DestinationError, WriteTarget};
use crate::metrics;
use crate::retry::{Decision, RetryPolicy, decide};

/// What a worker process needs to execute jobs. Cheap to share behind an `Arc`.
pub struct Worker {
    pub(crate) pool: Pool,
    keys: KeyRing,
    http: Http,
    config: Arc<Config>,
    id: String,
}

/// How a delivered job ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The job is finished, cancelled, snoozed or held by another live lease: nothing to do.
    NotClaimable,
    /// No job has this id.
    NoSuchJob,
    Succeeded(JobCounts),
    /// Back to `pending` for a retry or a throttle snooze.
    Rescheduled {
        class: &'static str,
    },
    Failed {
        class: &'static str,
    },
    Cancelled,
    /// Another worker took the job over (this worker's lease expired); its work was dropped.
    LeaseLost,
}

/// Why an attempt failed.
#[derive(Debug, thiserror::Error)]
enum AttemptError {
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error(transparent)]
    Destination(#[from] DestinationError),
    #[error(transparent)]
    Tokens(#[from] TokensError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0} no longer exists")]
    Missing(&'static str),
}

impl Classify for AttemptError {
    fn class(&self) -> ErrorClass {
        match self {
            AttemptError::Connector(error) => error.class(),
            AttemptError::Destination(error) => error.class(),
            AttemptError::Tokens(error) => match error {
                TokensError::Db(_) => ErrorClass::Transient { retry_after: None },
                TokensError::Missing(_)
                | TokensError::Crypto { .. }
                | TokensError::Malformed(_) => ErrorClass::Permanent,
            },
            AttemptError::Db(_) => ErrorClass::Transient { retry_after: None },
            AttemptError::Missing(_) => ErrorClass::Permanent,
        }
    }
}

impl Worker {
    pub fn new(pool: Pool, keys: KeyRing, config: Arc<Config>) -> anyhow::Result<Self> {
        let http = Http::new(Arc::new(config.connectors.clone()))?;
        let id = if config.worker.id.is_empty() {
            default_worker_id()
        } else {
            config.worker.id.clone()
        };
        Ok(Self {
            pool,
            keys,
            http,
            config,
            id,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn lease_duration(&self) -> Duration {
        Duration::from_secs(u64::from(self.config.jobs.lease_secs))
    }

    /// Claims and runs the job, then records its outcome in PostgreSQL. An `Err` means the
    /// outcome could not be recorded (database unavailable); the message should be requeued.
    pub async fn execute_job(&self, job_id: JobId) -> Result<Outcome, DbError> {
        let client = self.pool.get().await?;
        let Some(job) = jobs::claim(&client, job_id, &self.id, self.lease_duration()).await? else {
            return Ok(if jobs::get(&client, None, job_id).await?.is_some() {
                Outcome::NotClaimable
            } else {
                Outcome::NoSuchJob
            });
        };
        drop(client);

        let span = tracing::info_span!(
            "job",
            job_id = %job.id,
            sync_id = %job.sync_id,
            connector = %job.connector,
            attempt = job.attempt,
        );
        self.run_claimed(job).instrument(span).await
    }

    async fn run_claimed(&self, job: Job) -> Result<Outcome, DbError> {
        let started = Instant::now();
        let lease = Lease::of(&job, &self.id);
        let lease_lost = CancellationToken::new();
        let heartbeat = tokio::spawn(heartbeat(
            self.pool.clone(),
            lease.clone(),
            self.lease_duration(),
            lease_lost.clone(),
        ));
        let http = self.http.for_job();
        let result = tokio::select! {
            result = self.attempt(&job, &http) => Some(result),
            () = lease_lost.cancelled() => None,
        };
        heartbeat.abort();

        let outcome = match result {
            None => Outcome::LeaseLost,
            Some(Ok(mut counts)) => {
                counts.api_calls = i32::try_from(http.calls()).unwrap_or(i32::MAX);
                let client = self.pool.get().await?;
                if jobs::succeed(&client, &lease, counts).await? {
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
            Some(Err((error, mut counts))) => {
                counts.api_calls = i32::try_from(http.calls()).unwrap_or(i32::MAX);
                self.record_failure(&job, &lease, &error, counts).await?
            }
        };
        let label = match &outcome {
            Outcome::Succeeded(_) => "succeeded",
            Outcome::Rescheduled { class: "throttled" } => "snoozed",
            Outcome::Rescheduled { .. } => "retried",
            Outcome::Failed { .. } => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::LeaseLost => "lease_lost",
            Outcome::NotClaimable | Outcome::NoSuchJob => "not_claimable",
        };
        metrics::record_job(job.connector.as_str(), label, started.elapsed());
        Ok(outcome)
    }

    async fn record_failure(
        &self,
        job: &Job,
        lease: &Lease,
        error: &AttemptError,
        counts: JobCounts,
    ) -> Result<Outcome, DbError> {
        let class = error.class();
        let class_name = class.name();
        let message = error.to_string();
        let decision = decide(
            &class,
            job.attempt,
            job.max_attempts,
            Utc::now(),
            RetryPolicy::from_config(&self.config.jobs),
            rand::random::<f64>(),
        );
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        let (failure, outcome) = match decision {
            Decision::Retry {
                run_after,
                spend_attempt,
            } => {
                warn!(error = %message, class = class_name, %run_after, "job attempt failed, rescheduled");
                (
                    Failure::RetryAt {
                        run_after,
                        spend_attempt,
                        class: class_name,
                        message: &message,
                    },
                    Outcome::Rescheduled { class: class_name },
                )
            }
            Decision::Fail => {
                tracing::error!(error = %message, class = class_name, "job failed");
                (
                    Failure::Fail {
                        class: class_name,
                        message: &message,
                    },
                    Outcome::Failed { class: class_name },
                )
            }
            Decision::FailNeedsReauth => {
                tracing::error!(error = %message, "job failed: the connection needs re-authorisation");
                if let Some(account) =
                    accounts::get(&transaction, job.tenant_id, job.account_id).await?
                {
                    connections::mark_needs_reauth(
                        &transaction,
                        job.tenant_id,
                        account.connection_id,
                        &message,
                    )
                    .await?;
                }
                (
                    Failure::Fail {
                        class: class_name,
                        message: &message,
                    },
                    Outcome::Failed { class: class_name },
                )
            }
            Decision::Cancel => (Failure::Cancel, Outcome::Cancelled),
        };
        let recorded = jobs::fail_attempt(&transaction, lease, failure, counts).await?;
        transaction.commit().await?;
        Ok(if recorded {
            outcome
        } else {
            Outcome::LeaseLost
        })
    }

    /// One attempt: everything between claim and completion. On failure, also returns what
    /// was counted so far.
    async fn attempt(
        &self,
        job: &Job,
        http: &Http,
    ) -> Result<JobCounts, (AttemptError, JobCounts)> {
        let mut counts = JobCounts::default();
        match self.read_and_write(job, http, &mut counts).await {
            Ok(()) => Ok(counts),
            Err(error) => Err((error, counts)),
        }
    }

    async fn read_and_write(
        &self,
        job: &Job,
        http: &Http,
        counts: &mut JobCounts,
    ) -> Result<(), AttemptError> {
        let client = self.pool.get().await.map_err(DbError::from)?;
        let sync = syncs::get(&client, job.tenant_id, job.sync_id)
            .await?
            .ok_or(AttemptError::Missing("the job's sync"))?;
        let account = accounts::get(&client, job.tenant_id, job.account_id)
            .await?
            .ok_or(AttemptError::Missing("the job's account"))?;
        let destination = db::destinations::get(&client, job.tenant_id, sync.destination_id)
            .await?
            .ok_or(AttemptError::Missing("the sync's destination"))?;
        let tokens =
            connections::open_tokens(&client, &self.keys, job.tenant_id, account.connection_id)
                .await?;
        drop(client);

        let target = WriteTarget {
            tenant_id: job.tenant_id,
            sync_id: job.sync_id,
            job_id: job.id,
            connector: job.connector,
            account_id: account.external_id.clone(),
            currency: account.currency.clone(),
            time_zone: account.time_zone.clone(),
            report: sync.report.clone(),
            window: job.window,
        };
        let mut writer = destinations::open(&self.pool, &destination, target).await?;
        let request = ReportRequest {
            account,
            report: sync.report,
            window: job.window,
            tokens,
        };
        let mut pages = connectors::report_pages(http.clone(), request);
        while let Some(rows) = pages.try_next().await? {
            counts.rows_read += i64::try_from(rows.len()).unwrap_or(i64::MAX);
            writer.write(&rows).await?;
        }
        let written = writer.commit().await?;
        metrics::record_rows_written(destination.kind.as_str(), written);
        counts.rows_written = i64::try_from(written).unwrap_or(i64::MAX);
        Ok(())
    }
}

/// Extends the lease every third of its duration; cancels `lost` if the lease is gone.
async fn heartbeat(pool: Pool, lease: Lease, duration: Duration, lost: CancellationToken) {
    let mut interval = tokio::time::interval(duration / 3);
    interval.tick().await;
    loop {
        interval.tick().await;
        let renewed = match pool.get().await {
            Ok(client) => jobs::heartbeat(&client, &lease, duration).await,
            Err(error) => Err(DbError::from(error)),
        };
        match renewed {
            Ok(true) => {}
            Ok(false) => {
                warn!(job_id = %lease.job_id, "lease lost; abandoning the attempt");
                lost.cancel();
                return;
            }
            // The lease may still be valid; the next beat tries again.
            Err(error) => warn!(job_id = %lease.job_id, %error, "heartbeat failed"),
        }
    }
}

fn default_worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "worker".to_string());
    format!("{host}-{}", std::process::id())
}
