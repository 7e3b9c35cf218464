//! What a platform is to adsync: the [`Connector`] trait each platform's folder implements once,
//! and the types every platform reads and answers in.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use shared::db::accounts::Account;
use shared::domain::{ConnectorKind, DateWindow, InvalidField, ReportSpec};
use shared::error::{Classify, ErrorClass};

use crate::budget::BudgetError;
use crate::catalogue::Catalogue;
use crate::oauth::OAuth;
use crate::platform::{HttpError, Platform};
use crate::rows::Row;

/// Everything adsync knows about one platform. Each platform's folder implements it on a unit
/// struct and exposes it as `pub static CONNECTOR`, which the registry (`crate::get`) hands
/// out by [`ConnectorKind`]. Nothing outside the folder knows the platform's wire format,
/// parameters, errors or quirks.
pub trait Connector: Send + Sync + 'static {
    /// What the platform can report.
    fn catalogue(&self) -> &'static Catalogue;

    /// Which platform this is (its catalogue says).
    fn kind(&self) -> ConnectorKind {
        self.catalogue().connector
    }

    /// The defaults of the platform's configuration section, `connectors.<name>`: the folder's
    /// `config.toml`, compiled in.
    fn config_defaults(&self) -> &'static str;

    /// Keys of the section beyond [`crate::PlatformConfig`]'s, all secrets (Google Ads'
    /// `developer_token`); any other key is refused.
    fn extra_keys(&self) -> &'static [&'static str] {
        &[]
    }

    /// Where the sandbox imitates the platform: each URL key of the section and its path under
    /// the sandbox's address (the sandbox serves a platform under `/<name>`). Tests and the demo
    /// point the configuration there.
    fn sandbox_urls(&self) -> &'static [(&'static str, &'static str)];

    /// Checks a platform account id and returns it in the form the platform's API uses in
    /// paths; the error names the field `external_id` and quotes the value.
    fn parse_account_id(&self, raw: &str) -> Result<String, InvalidField>;

    /// Checks a connection's platform settings and returns them in canonical form. Most
    /// platforms take none.
    fn parse_connection_settings(
        &self,
        settings: &serde_json::Value,
    ) -> Result<serde_json::Value, InvalidField> {
        check_settings(self.kind(), settings, &[])
    }

    /// How connections are authorised at the platform; `None` when its tokens are posted
    /// directly (AppsFlyer's API tokens).
    fn oauth(&self) -> Option<&dyn OAuth>;

    /// Refresh a connection's access token when it expires within this.
    fn refresh_margin(&self) -> Duration;

    /// The report's rows (or the entities), page by page, in the *fetched* layout
    /// (`rows::Layout::fetched`), for one window within `Catalogue::max_days_per_request`.
    fn report_pages(
        &self,
        platform: Arc<Platform>,
        request: ReportRequest,
    ) -> BoxStream<'static, Result<Vec<Row>, ConnectorError>>;

    /// The accounts the connection reaches.
    fn list_accounts<'a>(
        &'a self,
        platform: &'a Platform,
    ) -> BoxFuture<'a, Result<Vec<AccountInfo>, ConnectorError>>;
}

/// A check of one connection setting's value; the error says what the value must be.
pub type SettingCheck = fn(&serde_json::Value) -> Result<(), &'static str>;

/// Checks that `settings` is a JSON object whose keys are all in `allowed`, each with a value
/// its check accepts (Google Ads' `login_customer_id`); with no keys allowed, the platform takes
/// no settings.
pub fn check_settings(
    connector: ConnectorKind,
    settings: &serde_json::Value,
    allowed: &[(&str, SettingCheck)],
) -> Result<serde_json::Value, InvalidField> {
    let object = settings
        .as_object()
        .ok_or_else(|| InvalidField::new("settings", "must be a JSON object"))?;
    for (key, value) in object {
        let Some((_, valid)) = allowed.iter().find(|(name, _)| name == key) else {
            return Err(InvalidField::new(
                format!("settings.{key}"),
                format!("{connector} connections have no setting {key:?}"),
            ));
        };
        if let Err(why) = valid(value) {
            return Err(InvalidField::new(format!("settings.{key}"), why));
        }
    }
    Ok(settings.clone())
}

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
    /// The platform id of the account requests for this one must go through (Google Ads: the
    /// manager to send as `login-customer-id`); `None` where the platform needs none.
    pub reached_through: Option<String>,
}

/// A failure to read from a platform: the platform's own error, which says what happened in its
/// terms and how it classifies.
pub struct ConnectorError(Box<dyn PlatformError>);

/// What a platform's error must be: an error with a retry class.
pub trait PlatformError: std::error::Error + Classify + Send + Sync + 'static {}

impl<E: std::error::Error + Classify + Send + Sync + 'static> PlatformError for E {}

impl ConnectorError {
    pub fn new(error: impl PlatformError) -> Self {
        Self(Box::new(error))
    }
}

impl std::fmt::Debug for ConnectorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl std::fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for ConnectorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl Classify for ConnectorError {
    fn class(&self) -> ErrorClass {
        self.0.class()
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

/// Whether `text` is `min` to `max` ASCII digits.
pub fn is_digits(text: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

/// The error for an account id that is not the platform's: names `external_id`, quotes the
/// value and says `why`.
pub fn invalid_account_id(raw: &str, why: &str) -> InvalidField {
    InvalidField::new("external_id", format!("{raw:?} {why}"))
}

/// A platform's stream of pages as [`Connector::report_pages`] hands it out.
pub fn boxed_pages<E: PlatformError>(
    pages: impl futures_util::Stream<Item = Result<Vec<Row>, E>> + Send + 'static,
) -> BoxStream<'static, Result<Vec<Row>, ConnectorError>> {
    use futures_util::{StreamExt as _, TryStreamExt as _};
    pages.map_err(ConnectorError::new).boxed()
}

/// A platform's account listing as [`Connector::list_accounts`] hands it out.
pub fn boxed_accounts<'a, E: PlatformError>(
    accounts: impl std::future::Future<Output = Result<Vec<AccountInfo>, E>> + Send + 'a,
) -> BoxFuture<'a, Result<Vec<AccountInfo>, ConnectorError>> {
    Box::pin(async move { accounts.await.map_err(ConnectorError::new) })
}
