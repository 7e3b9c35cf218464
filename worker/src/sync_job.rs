//! The report sync: read the job's window from the account's platform, page by page, into the
//! sync's destination, then swap the window in. Between pages it checks whether someone asked
//! to cancel the job.

use std::sync::Arc;

use futures_util::TryStreamExt as _;
use shared::config::Config;
use shared::crypto::KeyRing;
use shared::db::connections::{self, TokensError};
use shared::db::jobs::{self, Job, JobCounts};
use shared::db::{self, DbError, Pool, accounts, syncs};
use shared::error::{Classify, ErrorClass};

use crate::connectors::{self, ConnectorError, Http, ReportRequest};
use crate::destinations::{self, DestinationError, WriteTarget, Writer};
use crate::execute::{AttemptFailure, Execute};
use crate::metrics;

/// Executes report syncs.
pub struct SyncJob {
    pool: Pool,
    keys: KeyRing,
    http: Http,
}

/// Why a sync attempt failed.
#[derive(Debug, thiserror::Error)]
enum SyncError {
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
    #[error("cancelled on request")]
    Cancelled,
}

impl Classify for SyncError {
    fn class(&self) -> ErrorClass {
        match self {
            SyncError::Connector(error) => error.class(),
            SyncError::Destination(error) => error.class(),
            SyncError::Tokens(error) => match error {
                TokensError::Db(_) => ErrorClass::Transient { retry_after: None },
                TokensError::Missing(_)
                | TokensError::Crypto { .. }
                | TokensError::Malformed(_) => ErrorClass::Permanent,
            },
            SyncError::Db(_) => ErrorClass::Transient { retry_after: None },
            SyncError::Missing(_) => ErrorClass::Permanent,
            SyncError::Cancelled => ErrorClass::Cancelled,
        }
    }
}

impl SyncJob {
    pub fn new(pool: Pool, keys: KeyRing, config: &Config) -> Result<Self, reqwest::Error> {
        let http = Http::new(Arc::new(config.connectors.clone()))?;
        Ok(Self { pool, keys, http })
    }

    async fn read_and_write(
        &self,
        job: &Job,
        http: &Http,
        counts: &mut JobCounts,
    ) -> Result<(), SyncError> {
        let client = self.pool.get().await.map_err(DbError::from)?;
        let sync = syncs::get(&client, job.tenant_id, job.sync_id)
            .await?
            .ok_or(SyncError::Missing("the job's sync"))?;
        let account = accounts::get(&client, job.tenant_id, job.account_id)
            .await?
            .ok_or(SyncError::Missing("the job's account"))?;
        let destination = db::destinations::get(&client, job.tenant_id, sync.destination_id)
            .await?
            .ok_or(SyncError::Missing("the sync's destination"))?;
        let tokens =
            connections::open_tokens(&client, &self.keys, job.tenant_id, account.connection_id)
                .await?;
        drop(client);

        let target = WriteTarget {
            tenant_id: job.tenant_id,
            sync_id: job.sync_id,
            job_id: job.id,
            attempt: job.attempt,
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
        if let Err(error) = self
            .copy_pages(job, http, request, &mut writer, counts)
            .await
        {
            writer.abort().await;
            return Err(error);
        }
        let written = writer.commit().await?;
        metrics::record_rows_written(destination.kind.as_str(), written);
        counts.rows_written = i64::try_from(written).unwrap_or(i64::MAX);
        Ok(())
    }

    /// Streams the report's pages into the writer, stopping if the job is cancelled.
    async fn copy_pages(
        &self,
        job: &Job,
        http: &Http,
        request: ReportRequest,
        writer: &mut Writer,
        counts: &mut JobCounts,
    ) -> Result<(), SyncError> {
        let mut pages = connectors::report_pages(http.clone(), request);
        while let Some(rows) = pages.try_next().await? {
            counts.rows_read += i64::try_from(rows.len()).unwrap_or(i64::MAX);
            writer.write(&rows).await?;
            let client = self.pool.get().await.map_err(DbError::from)?;
            if jobs::cancel_requested(&client, job.id).await? {
                return Err(SyncError::Cancelled);
            }
        }
        Ok(())
    }
}

impl Execute for SyncJob {
    async fn execute(&self, job: &Job) -> Result<JobCounts, AttemptFailure> {
        let http = self.http.for_job();
        let mut counts = JobCounts::default();
        let result = self.read_and_write(job, &http, &mut counts).await;
        counts.api_calls = i32::try_from(http.calls()).unwrap_or(i32::MAX);
        result
            .map(|()| counts)
            .map_err(|error| AttemptFailure::from_error(&error, counts))
    }
}
