//! Connectors: one folder per platform, each reading a report (or an entities stream) for one
//! account and date window as a stream of pages of [`Row`]s, listing the accounts a connection
//! reaches, and refreshing the connection's tokens. The registry is the three functions below,
//! each an exhaustive `match` over `ConnectorKind`, so a new platform cannot be half-registered.
//!
//! Shared plumbing (timeouts, quick retries of single requests, rate budgets, tokens) is in
//! [`platform`].

pub mod appsflyer;
pub mod google_ads;
pub mod meta_ads;
pub mod platform;
pub mod snapchat_ads;
pub mod tiktok_ads;

use std::sync::Arc;

use futures_util::stream::BoxStream;
use futures_util::{StreamExt as _, TryStreamExt as _};
use shared::config::PlatformConfig;
use shared::db::accounts::Account;
use shared::domain::{ConnectorKind, DateWindow, ReportSpec};
use shared::error::{Classify, ErrorClass};

use crate::budget::BudgetError;
use crate::rows::Row;
use crate::tokens::{RefreshFn, TokenError};
use platform::{HttpError, Platform};

/// One report (or entities stream) of one account over one window the platform accepts in a
/// single request (see `Catalogue::max_days_per_request`; entities ignore the window).
#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub account: Account,
    pub report: ReportSpec,
    pub window: DateWindow,
}

/// An account a connection can reach, as the platform describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub external_id: String,
    pub name: String,
    /// IANA time zone of the account's reporting days.
    pub time_zone: String,
    /// ISO 4217 currency code.
    pub currency: String,
}

/// A failure to read from a platform.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error(transparent)]
    MetaAds(#[from] meta_ads::MetaError),
    #[error(transparent)]
    GoogleAds(#[from] google_ads::GoogleAdsError),
    #[error(transparent)]
    TiktokAds(#[from] tiktok_ads::TiktokError),
    #[error(transparent)]
    SnapchatAds(#[from] snapchat_ads::SnapchatError),
    #[error(transparent)]
    Appsflyer(#[from] appsflyer::AppsflyerError),
}

impl Classify for ConnectorError {
    fn class(&self) -> ErrorClass {
        match self {
            ConnectorError::MetaAds(error) => error.class(),
            ConnectorError::GoogleAds(error) => error.class(),
            ConnectorError::TiktokAds(error) => error.class(),
            ConnectorError::SnapchatAds(error) => error.class(),
            ConnectorError::Appsflyer(error) => error.class(),
        }
    }
}

/// How every platform's errors classify what the shared plumbing reports.
pub fn class_of_http(error: &HttpError) -> ErrorClass {
    match error {
        HttpError::Budget(BudgetError::Exhausted { key, until }) => ErrorClass::Throttled {
            until: *until,
            scope: key.clone(),
        },
        HttpError::Budget(BudgetError::Db(_)) | HttpError::Transport(_) | HttpError::Timeout(_) => {
            ErrorClass::Transient { retry_after: None }
        }
        HttpError::Build(_) => ErrorClass::Permanent,
    }
}

/// How every platform's errors classify token failures.
pub fn class_of_token(error: &TokenError) -> ErrorClass {
    error.class()
}

/// The report's rows, page by page, as the platform returns them.
pub fn report_pages(
    platform: Arc<Platform>,
    request: ReportRequest,
) -> BoxStream<'static, Result<Vec<Row>, ConnectorError>> {
    match platform.connector {
        ConnectorKind::MetaAds => meta_ads::report_pages(platform, request)
            .map_err(ConnectorError::from)
            .boxed(),
        ConnectorKind::GoogleAds => google_ads::report_pages(platform, request)
            .map_err(ConnectorError::from)
            .boxed(),
        ConnectorKind::TiktokAds => tiktok_ads::report_pages(platform, request)
            .map_err(ConnectorError::from)
            .boxed(),
        ConnectorKind::SnapchatAds => snapchat_ads::report_pages(platform, request)
            .map_err(ConnectorError::from)
            .boxed(),
        ConnectorKind::Appsflyer => appsflyer::report_pages(platform, request)
            .map_err(ConnectorError::from)
            .boxed(),
    }
}

/// The accounts the connection reaches.
pub async fn list_accounts(platform: &Platform) -> Result<Vec<AccountInfo>, ConnectorError> {
    match platform.connector {
        ConnectorKind::MetaAds => Ok(meta_ads::list_accounts(platform).await?),
        ConnectorKind::GoogleAds => Ok(google_ads::list_accounts(platform).await?),
        ConnectorKind::TiktokAds => Ok(tiktok_ads::list_accounts(platform).await?),
        ConnectorKind::SnapchatAds => Ok(snapchat_ads::list_accounts(platform).await?),
        ConnectorKind::Appsflyer => Ok(appsflyer::list_accounts(platform).await?),
    }
}

/// Refresh a connection's access token when it expires within this.
pub fn refresh_margin(connector: ConnectorKind) -> std::time::Duration {
    match connector {
        ConnectorKind::MetaAds => meta_ads::REFRESH_MARGIN,
        ConnectorKind::GoogleAds => google_ads::REFRESH_MARGIN,
        ConnectorKind::TiktokAds => tiktok_ads::REFRESH_MARGIN,
        ConnectorKind::SnapchatAds => snapchat_ads::REFRESH_MARGIN,
        ConnectorKind::Appsflyer => appsflyer::REFRESH_MARGIN,
    }
}

/// How to refresh a connection's tokens, for platforms whose tokens expire and can be renewed.
pub fn refresher(
    connector: ConnectorKind,
    client: reqwest::Client,
    settings: PlatformConfig,
) -> Option<RefreshFn> {
    match connector {
        ConnectorKind::MetaAds => meta_ads::refresher(client, settings),
        ConnectorKind::GoogleAds => google_ads::refresher(client, settings),
        ConnectorKind::TiktokAds => tiktok_ads::refresher(client, settings),
        ConnectorKind::SnapchatAds => snapchat_ads::refresher(client, settings),
        ConnectorKind::Appsflyer => appsflyer::refresher(client, settings),
    }
}
