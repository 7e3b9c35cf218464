//! The report sync: read the job's window from the account's platform, a chunk the platform
//! accepts in one request at a time, page by page, into the sync's destination, then swap the
//! window in. Between pages it checks whether someone asked to cancel the job.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use connectors::budget::Budgets;
use connectors::platform::Platform;
use connectors::rows;
use connectors::tokens::TokenError;
use connectors::{ConnectorError, ReportRequest, Settings};
use futures_util::TryStreamExt as _;
use shared::config::Config;
use shared::crypto::KeyRing;
use shared::db::jobs::{self, Job, JobCounts, Lease};
use shared::db::{self, DbError, Pool, accounts, connections, syncs};
use shared::domain::Stream;
use shared::error::{Classify, ErrorClass};

use crate::destinations::{
    self, DestinationContext, DestinationError, SheetsContext, WriteTarget, Writer,
};
use crate::execute::{AttemptFailure, Credentials, Execute};
use crate::metrics;

/// Executes report syncs.
pub struct SyncJob {
    pool: Pool,
    keys: KeyRing,
    client: reqwest::Client,
    connectors: Arc<Settings>,
    budgets: Budgets,
    destinations: DestinationContext,
}

/// Why a sync attempt failed.
#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error(transparent)]
    Destination(#[from] DestinationError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0} no longer exists")]
    Missing(&'static str),
    #[error("cancelled on request")]
    Cancelled,
}

impl Classify for SyncError {
    fn class(&self) -> ErrorClass {
        match self {
            SyncError::Connector(error) => error.class(),
            SyncError::Destination(error) => error.class(),
            SyncError::Token(error) => error.class(),
            SyncError::Db(_) => ErrorClass::Transient { retry_after: None },
            SyncError::Missing(_) => ErrorClass::Permanent,
            SyncError::Cancelled => ErrorClass::Cancelled,
        }
    }
}

/// Why the report sync could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("building the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error(transparent)]
    Config(#[from] connectors::config::ConfigError),
}

impl SyncJob {
    pub fn new(pool: Pool, keys: KeyRing, config: &Config) -> Result<Self, SetupError> {
        let connectors = Arc::new(Settings::load(&config.connectors)?);
        let client = reqwest::Client::builder()
            .user_agent(concat!("adsync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        let budgets = Budgets::new(pool.clone(), &config.connectors);
        let sheets = SheetsContext {
            client: client.clone(),
            config: config.destinations.google_sheets.clone(),
            budgets: budgets.clone(),
        };
        Ok(Self {
            destinations: DestinationContext::new(pool.clone(), keys.clone(), sheets)
                .with_warehouse_buffer(config.worker.warehouse_buffer_mb as usize * (1 << 20)),
            budgets,
            pool,
            keys,
            client,
            connectors,
        })
    }

    async fn read_and_write(
        &self,
        job: &Job,
        calls: Arc<AtomicU32>,
        counts: &mut JobCounts,
    ) -> Result<(), SyncError> {
        let client = self.pool.get().await.map_err(DbError::from)?;
        let sync = syncs::get(&client, job.tenant_id, job.sync_id)
            .await?
            .ok_or(SyncError::Missing("the job's sync"))?;
        let account = accounts::get(&client, job.tenant_id, job.account_id)
            .await?
            .ok_or(SyncError::Missing("the job's account"))?;
        let connection = connections::get(&client, job.tenant_id, account.connection_id)
            .await?
            .ok_or(SyncError::Missing("the account's connection"))?;
        let destination = db::destinations::get(&client, job.tenant_id, sync.destination_id)
            .await?
            .ok_or(SyncError::Missing("the sync's destination"))?;
        drop(client);

        let platform = Arc::new(
            Platform::open(
                self.client.clone(),
                &self.connectors,
                self.pool.clone(),
                self.keys.clone(),
                &connection,
                self.budgets.clone(),
                calls,
            )
            .await?,
        );

        let target = WriteTarget {
            tenant_id: job.tenant_id,
            sync_id: job.sync_id,
            lease: job_lease(job),
            connector: job.connector,
            account_id: account.external_id.clone(),
            currency: account.currency.clone(),
            time_zone: account.time_zone.clone(),
            report: sync.report.clone(),
            window: job.window,
        };
        let mut writer = destinations::open(&self.destinations, &destination, target).await?;
        let chunks = match sync.report.stream {
            Stream::Performance => job
                .window
                .chunks(connectors::catalogue(job.connector).max_days_per_request),
            Stream::Entities => vec![job.window],
        };
        for window in chunks {
            let request = ReportRequest {
                account: account.clone(),
                report: sync.report.clone(),
                window,
            };
            if let Err(error) = self
                .copy_pages(job, &platform, request, &mut writer, counts)
                .await
            {
                writer.abort().await;
                return Err(error);
            }
        }
        let written = writer.commit().await?;
        metrics::record_rows_written(destination.kind.as_str(), written);
        counts.rows_written = i64::try_from(written).unwrap_or(i64::MAX);
        Ok(())
    }

    /// Streams one request's pages into the writer, stopping if the job is cancelled.
    async fn copy_pages(
        &self,
        job: &Job,
        platform: &Arc<Platform>,
        request: ReportRequest,
        writer: &mut Writer,
        counts: &mut JobCounts,
    ) -> Result<(), SyncError> {
        let report = request.report.clone();
        let mut pages = connectors::report_pages(platform.clone(), request);
        while let Some(page) = pages.try_next().await? {
            counts.rows_read += i64::try_from(page.len()).unwrap_or(i64::MAX);
            writer.write(&rows::derive(&report, page)).await?;
            let client = self.pool.get().await.map_err(DbError::from)?;
            if jobs::cancel_requested(&client, job.id).await? {
                return Err(SyncError::Cancelled);
            }
        }
        Ok(())
    }
}

/// The attempt as claimed: the job, the worker that claimed it (`Job::worker_id` of a claimed
/// job) and the attempt, which the destination's commit checks it still holds.
fn job_lease(job: &Job) -> Lease {
    Lease {
        job_id: job.id,
        worker_id: job.worker_id.clone().unwrap_or_default(),
        attempt: job.attempt,
    }
}

impl Execute for SyncJob {
    async fn execute(&self, job: &Job) -> Result<JobCounts, AttemptFailure> {
        let mut counts = JobCounts::default();
        let calls = Arc::new(AtomicU32::new(0));
        let result = self.read_and_write(job, calls.clone(), &mut counts).await;
        counts.api_calls = i32::try_from(calls.load(Ordering::Relaxed)).unwrap_or(i32::MAX);
        result.map(|()| counts).map_err(|error| {
            let mut failure = AttemptFailure::from_error(&error, counts);
            if let SyncError::Destination(error) = &error
                && error.is_credentials()
            {
                failure.credentials = Credentials::Destination;
            }
            failure
        })
    }
}
