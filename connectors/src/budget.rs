//! Shared rate budgets, as connectors use them: take a token from every bucket a request draws
//! on before sending it, sleeping through short waits and giving up on long ones, so the job
//! snoozes (without spending an attempt) and the worker serves other accounts meanwhile.

use std::time::Duration;

use chrono::{DateTime, Utc};
use shared::config::ConnectorsConfig;

use crate::config::PlatformConfig;
use shared::db::rate_budgets::{self, Bucket, Take};
use shared::db::{DbError, Pool};
use shared::domain::ConnectorKind;

/// Why a request may not go out now.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error("rate budget {key} is used up until {until}")]
    Exhausted { key: String, until: DateTime<Utc> },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The rate budgets of one worker process.
#[derive(Clone)]
pub struct Budgets {
    pool: Pool,
    max_inline_wait: Duration,
    slow_down_at: f64,
}

impl Budgets {
    pub fn new(pool: Pool, config: &ConnectorsConfig) -> Self {
        Self {
            pool,
            max_inline_wait: Duration::from_millis(config.max_inline_wait_ms),
            slow_down_at: config.slow_down_at_usage_percent,
        }
    }

    /// The bucket every request to the platform draws on (all workers, all tenants).
    pub fn app_bucket(connector: ConnectorKind, platform: &PlatformConfig) -> Bucket {
        Bucket {
            key: format!("{connector}:app"),
            capacity: f64::from(platform.app_burst),
            refill_per_sec: platform.app_requests_per_sec,
        }
    }

    /// The bucket of one ad account (or the platform's equivalent scope).
    pub fn account_bucket(
        connector: ConnectorKind,
        platform: &PlatformConfig,
        account: &str,
    ) -> Bucket {
        Bucket {
            key: format!("{connector}:account:{account}"),
            capacity: f64::from(platform.account_burst),
            refill_per_sec: platform.account_requests_per_sec,
        }
    }

    /// Takes one token from each bucket, waiting in place when the wait is short.
    pub async fn acquire(&self, buckets: &[Bucket]) -> Result<(), BudgetError> {
        for bucket in buckets {
            loop {
                let client = self.pool.get().await.map_err(DbError::from)?;
                let take = rate_budgets::take(&client, bucket, 1.0).await?;
                drop(client);
                let wait = match take {
                    Take::Granted => break,
                    Take::Wait(wait) => wait,
                    Take::Blocked(until) => (until - Utc::now()).to_std().unwrap_or_default(),
                };
                if wait > self.max_inline_wait {
                    let until = Utc::now() + wait;
                    crate::metrics::record_budget_wait(bucket_platform(bucket), "snoozed", wait);
                    return Err(BudgetError::Exhausted {
                        key: bucket.key.clone(),
                        until,
                    });
                }
                crate::metrics::record_budget_wait(bucket_platform(bucket), "slept", wait);
                tokio::time::sleep(wait).await;
            }
        }
        Ok(())
    }

    /// The platform throttled this bucket: everyone waits until `until`.
    pub async fn block(&self, bucket: &Bucket, until: DateTime<Utc>) -> Result<(), DbError> {
        let client = self.pool.get().await?;
        rate_budgets::block(&client, bucket, until).await
    }

    /// The platform reported how much of its quota is used.
    pub async fn report_usage(&self, bucket: &Bucket, usage_percent: f64) -> Result<(), DbError> {
        let client = self.pool.get().await?;
        rate_budgets::report_usage(&client, bucket, usage_percent, self.slow_down_at).await
    }
}

fn bucket_platform(bucket: &Bucket) -> &str {
    bucket.key.split(':').next().unwrap_or("unknown")
}
