//! Snapchat Marketing API: stats. (Being built: answers that it is not available yet.)

use std::sync::Arc;

use futures_util::Stream;
use shared::config::PlatformConfig;
use shared::error::{Classify, ErrorClass};

use super::platform::Platform;
use super::{AccountInfo, ReportRequest};
use crate::rows::Row;
use crate::tokens::RefreshFn;

/// Refresh the access token when it expires within this.
pub const REFRESH_MARGIN: std::time::Duration = std::time::Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum SnapchatError {
    #[error("snapchat_ads is not available yet")]
    NotAvailable,
}

impl Classify for SnapchatError {
    fn class(&self) -> ErrorClass {
        match self {
            SnapchatError::NotAvailable => ErrorClass::Permanent,
        }
    }
}

pub(crate) fn report_pages(
    _platform: Arc<Platform>,
    _request: ReportRequest,
) -> impl Stream<Item = Result<Vec<Row>, SnapchatError>> + Send + 'static {
    futures_util::stream::once(async { Err(SnapchatError::NotAvailable) })
}

pub(crate) async fn list_accounts(_platform: &Platform) -> Result<Vec<AccountInfo>, SnapchatError> {
    Err(SnapchatError::NotAvailable)
}

pub(crate) fn refresher(_client: reqwest::Client, _settings: PlatformConfig) -> Option<RefreshFn> {
    None
}
