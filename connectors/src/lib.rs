//! adsync's connectors: everything about each platform adsync reads, one folder per platform.
//!
//! A platform's folder (`meta_ads/`, `google_ads/`, …) owns all of it: the report catalogue
//! (levels, metrics, breakdowns, the most days per request, the restatement horizon), the
//! account-id rule, the connection settings, its configuration section (`config.toml`), its
//! OAuth (authorisation URL, code exchange, refresh, revocation, on the shared [`oauth`]
//! helper), the client that reads pages, the wire types, the mapping to [`rows::Row`]s, the
//! error classifier and account listing. It implements [`Connector`] on a unit struct exposed
//! as `CONNECTOR`.
//!
//! The registry is [`get`]: an exhaustive `match` from a [`ConnectorKind`] to its folder,
//! generated from `shared::for_each_connector!`, the one list that names every platform. The
//! functions below it are what the api and the worker call; they never name a platform.
//!
//! Shared plumbing: [`platform`] (one job's HTTP access: timeouts, quick retries, rate budgets,
//! tokens), [`budget`] (the shared rate budgets), [`tokens`] (opening, refreshing and storing
//! tokens), [`oauth`], [`config`], [`catalogue`], [`rows`] and [`metrics`].
//!
//! Not here: jobs, queues and destinations (the worker), routes (the api).

pub mod budget;
pub mod catalogue;
pub mod config;
pub mod connector;
pub mod metrics;
pub mod oauth;
pub mod platform;
pub mod rows;
pub mod tokens;

// The platforms, each a folder named as in `shared::for_each_connector!`.
pub mod appsflyer;
pub mod google_ads;
pub mod meta_ads;
pub mod snapchat_ads;
pub mod tiktok_ads;

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::BoxStream;
use shared::domain::ConnectorKind;

pub use catalogue::Catalogue;
pub use config::{PlatformConfig, Settings};
pub use connector::{AccountInfo, Connector, ConnectorError, ReportRequest};

use platform::Platform;
use rows::Row;
use tokens::RefreshFn;

macro_rules! registry {
    ($($(#[$doc:meta])* $variant:ident $name:ident,)*) => {
        /// The connector of `kind`: the registry, one arm per platform.
        pub fn get(kind: ConnectorKind) -> &'static dyn Connector {
            match kind {
                $(ConnectorKind::$variant => &$name::CONNECTOR,)*
            }
        }
    };
}

shared::for_each_connector!(registry);

/// The report catalogue of `kind`.
pub fn catalogue(kind: ConnectorKind) -> &'static Catalogue {
    get(kind).catalogue()
}

/// The report's rows, page by page, as the platform returns them.
pub fn report_pages(
    platform: Arc<Platform>,
    request: ReportRequest,
) -> BoxStream<'static, Result<Vec<Row>, ConnectorError>> {
    get(platform.connector).report_pages(platform, request)
}

/// The accounts the connection reaches.
pub async fn list_accounts(platform: &Platform) -> Result<Vec<AccountInfo>, ConnectorError> {
    get(platform.connector).list_accounts(platform).await
}

/// Refresh a connection's access token when it expires within this.
pub fn refresh_margin(kind: ConnectorKind) -> Duration {
    get(kind).refresh_margin()
}

/// How to refresh a connection's tokens, for platforms whose tokens expire and can be renewed
/// (and whose configuration names a token endpoint).
pub fn refresher(
    kind: ConnectorKind,
    client: reqwest::Client,
    settings: PlatformConfig,
) -> Option<RefreshFn> {
    let oauth = get(kind).oauth()?;
    if !oauth.renews() || settings.token_url.is_empty() {
        return None;
    }
    Some(Box::new(move |tokens| {
        let client = client.clone();
        let settings = settings.clone();
        Box::pin(async move { oauth.refresh(&client, &settings, tokens).await })
    }))
}
