//! Connectors: one folder per platform, each reading a report for one account and date window
//! as a stream of pages of typed rows. The registry is [`report_pages`], an exhaustive `match`
//! over `ConnectorKind`, so a new platform cannot be forgotten.

pub mod meta_ads;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::NaiveDate;
use futures_util::stream::BoxStream;
use rust_decimal::Decimal;
use shared::config::ConnectorsConfig;
use shared::db::accounts::Account;
use shared::db::connections::OAuthTokens;
use shared::domain::{ConnectorKind, DateWindow, ReportSpec};
use shared::error::{Classify, ErrorClass};

/// One row of a report: a day, the entity's dimensions (in `ReportLevel::dimensions` order) and
/// the metrics (in `ReportSpec::metrics` order; `None` when the platform left one out), money
/// already in major currency units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub date: NaiveDate,
    pub dimensions: Vec<String>,
    pub metrics: Vec<Option<Decimal>>,
}

/// Everything a connector needs to read one report.
#[derive(Clone)]
pub struct ReportRequest {
    pub account: Account,
    pub report: ReportSpec,
    pub window: DateWindow,
    pub tokens: OAuthTokens,
}

/// Shared HTTP plumbing: the client, platform settings, and a count of calls made.
#[derive(Clone)]
pub struct Http {
    pub client: reqwest::Client,
    pub connectors: Arc<ConnectorsConfig>,
    calls: Arc<AtomicU32>,
}

impl Http {
    pub fn new(connectors: Arc<ConnectorsConfig>) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("adsync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            client,
            connectors,
            calls: Arc::new(AtomicU32::new(0)),
        })
    }

    /// A copy sharing the client but with its own call counter (one per job).
    pub fn for_job(&self) -> Self {
        Self {
            client: self.client.clone(),
            connectors: self.connectors.clone(),
            calls: Arc::new(AtomicU32::new(0)),
        }
    }

    pub fn count_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }
}

/// A failure to read a report, from whichever platform.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error(transparent)]
    MetaAds(#[from] meta_ads::MetaError),
    #[error("connector {0} is not implemented yet")]
    NotImplemented(ConnectorKind),
}

impl Classify for ConnectorError {
    fn class(&self) -> ErrorClass {
        match self {
            ConnectorError::MetaAds(error) => error.class(),
            ConnectorError::NotImplemented(_) => ErrorClass::Permanent,
        }
    }
}

/// The report's rows, page by page, as the platform returns them.
pub fn report_pages(
    http: Http,
    request: ReportRequest,
) -> BoxStream<'static, Result<Vec<ReportRow>, ConnectorError>> {
    use futures_util::StreamExt as _;
    use futures_util::TryStreamExt as _;
    match request.account.connector {
        ConnectorKind::MetaAds => meta_ads::report_pages(http, request)
            .map_err(ConnectorError::from)
            .boxed(),
        kind @ (ConnectorKind::GoogleAds
        | ConnectorKind::TiktokAds
        | ConnectorKind::SnapchatAds
        | ConnectorKind::Appsflyer) => {
            futures_util::stream::once(async move { Err(ConnectorError::NotImplemented(kind)) })
                .boxed()
        }
    }
}
