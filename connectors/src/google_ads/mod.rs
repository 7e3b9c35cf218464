//! Google Ads API (REST): reports and entities read with `googleAds:searchStream` over GAQL,
//! the customers a login reaches, and OAuth refresh-token grants.
//!
//! One `searchStream` request per chunk: `POST /v{N}/customers/{id}/googleAds:searchStream`
//! with `{"query": "SELECT … FROM campaign WHERE segments.date BETWEEN …"}`. The answer is one
//! JSON array of batches of up to 10,000 rows; it is cut into batches as the bytes arrive
//! (`stream`) and each batch becomes one page of rows, so a long stream never sits in memory.
//! Requests carry `Authorization: Bearer`, the `developer-token` when one is configured, and a
//! `login-customer-id`: the manager discovery found the account under (kept on the account as
//! `reached_through`), else the connection's `login_customer_id` setting.
//!
//! Discovery walks each accessible manager's `customer_client` hierarchy, which lists every
//! account below it at any depth (sub-managers' clients included); each client is recorded
//! with the accessible manager as its login, since a sub-manager the user cannot reach directly
//! is refused as one.
//!
//! Errors are `google.rpc.Status` bodies with a `GoogleAdsFailure`, either as `{"error":…}` or,
//! on `searchStream` (which frames every answer as a JSON array), as `[{"error":…}]` — at the
//! start with the error's HTTP status, or as the last element of a stream begun on 200; both
//! are read alike and classified by the failure's error codes. HTTP 429 `quotaError` waits the
//! `retryDelay` Google names (in `quotaErrorDetails`, or a `google.rpc.RetryInfo` detail; the
//! daily quota often has none) and blocks the budget of its `rateScope`: `DEVELOPER` is the
//! developer token's (the app's budget, every account), `ACCOUNT` the customer's. A 401
//! refusing the token (`authenticationError OAUTH_TOKEN_*`) refreshes it once, then needs the
//! user to authorise again; 403 `PERMISSION_DENIED` (`USER_PERMISSION_DENIED`: a missing or
//! wrong `login-customer-id`, which a new authorisation does not fix) and 400
//! `INVALID_ARGUMENT` (a `queryError`, kept with its message and trigger) are permanent; 5xx
//! and `internalError` are transient. Money arrives in micros of the account's currency.

mod oauth;
mod stream;
mod wire;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::Stream;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use reqwest::header::HeaderMap;
use shared::db::rate_budgets::Bucket;
use shared::domain::{Breakdown, ConnectorKind, InvalidField, Metric, Stream as ReportStream};
use shared::error::{Classify, ErrorClass, class_of_http_status};

use crate::catalogue::{ALL_LEVELS, Catalogue, ENTITY_LEVELS};
use crate::connector::{
    AccountInfo, Connector, ConnectorError, ReportRequest, boxed_accounts, boxed_pages,
    check_settings, class_of_http, invalid_account_id, is_digits,
};
use crate::oauth::OAuth;
use crate::platform::{HttpError, Platform};
use crate::rows::Row;
use crate::tokens::TokenError;
use stream::{ElementReader, ReadError};
pub use wire::{AdsError, ErrorCode, Failure};
use wire::{GoogleAdsRow, StreamElement};

/// Google Ads, as the registry knows it.
pub struct GoogleAds;

/// The registry's entry for Google Ads.
pub static CONNECTOR: GoogleAds = GoogleAds;

static CATALOGUE: Catalogue = Catalogue {
    connector: ConnectorKind::GoogleAds,
    levels: ALL_LEVELS,
    metrics: &[
        Metric::Impressions,
        Metric::Clicks,
        Metric::Spend,
        Metric::Conversions,
        Metric::ConversionValue,
    ],
    breakdowns: &[Breakdown::Platform],
    max_breakdowns: 1,
    report_types: &[],
    entity_levels: ENTITY_LEVELS,
    default_lookback_days: 30,
    max_days_per_request: 31,
};

impl Connector for GoogleAds {
    fn catalogue(&self) -> &'static Catalogue {
        &CATALOGUE
    }

    fn config_defaults(&self) -> &'static str {
        include_str!("config.toml")
    }

    fn extra_keys(&self) -> &'static [&'static str] {
        // The developer token sent with every request.
        &["developer_token"]
    }

    fn sandbox_urls(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("base_url", "/google_ads"),
            ("token_url", "/google_ads/oauth2/token"),
            ("revoke_url", "/google_ads/oauth2/revoke"),
        ]
    }

    /// A 10-digit customer id; the hyphens the UI shows are removed.
    fn parse_account_id(&self, raw: &str) -> Result<String, InvalidField> {
        let id = raw.replace('-', "");
        if !is_digits(&id, 10, 10) {
            return Err(invalid_account_id(
                raw,
                "is not a Google Ads customer id (10 digits, e.g. 123-456-7890)",
            ));
        }
        Ok(id)
    }

    /// An optional `login_customer_id`: the manager account's 10-digit id, without hyphens.
    fn parse_connection_settings(
        &self,
        settings: &serde_json::Value,
    ) -> Result<serde_json::Value, InvalidField> {
        check_settings(
            ConnectorKind::GoogleAds,
            settings,
            &[("login_customer_id", |value| {
                value
                    .as_str()
                    .is_some_and(|id| is_digits(id, 10, 10))
                    .then_some(())
                    .ok_or("must be a 10-digit customer id without hyphens")
            })],
        )
    }

    fn oauth(&self) -> Option<&dyn OAuth> {
        Some(self)
    }

    fn refresh_margin(&self) -> Duration {
        REFRESH_MARGIN
    }

    fn report_pages(
        &self,
        platform: Arc<Platform>,
        request: ReportRequest,
    ) -> BoxStream<'static, Result<Vec<Row>, ConnectorError>> {
        boxed_pages(report_pages(platform, request))
    }

    fn list_accounts<'a>(
        &'a self,
        platform: &'a Platform,
    ) -> BoxFuture<'a, Result<Vec<AccountInfo>, ConnectorError>> {
        boxed_accounts(list_accounts(platform))
    }
}

/// Refresh the access token when it expires within this (tokens live 3599 s).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// How long to wait after a short-term quota error without a `retryDelay`.
const TEMPORARY_QUOTA_WAIT: Duration = Duration::from_secs(30);
/// How long to wait after the daily operations quota ran out without a `retryDelay`: Google
/// counts over a sliding 24 hours, so the budget is probed again hourly rather than in a loop.
const DAILY_QUOTA_WAIT: Duration = Duration::from_secs(3600);
/// A guard against a stream that never ends: more batches than any report can have.
const MAX_BATCHES: u32 = 100_000;

/// What a throttle answer blocks, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    pub until: DateTime<Utc>,
    /// The rate-budget key, e.g. `google_ads:account:1234567890`.
    pub scope: String,
}

/// A failure talking to Google Ads. Messages never contain tokens or URLs with tokens.
#[derive(Debug, thiserror::Error)]
pub enum GoogleAdsError {
    #[error("google_ads: {0}")]
    Http(#[from] HttpError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("google_ads answered HTTP {status} {failure}")]
    Api {
        status: u16,
        failure: Box<Failure>,
        throttle: Option<Throttle>,
    },
    #[error("google_ads searchStream failed after {batches} batches: {failure}")]
    MidStream {
        /// The HTTP status matching the error's gRPC code.
        status: u16,
        failure: Box<Failure>,
        batches: u32,
        throttle: Option<Throttle>,
    },
    #[error("google_ads answered HTTP {status} with a body that is not a Google API error")]
    UnexpectedBody { status: u16 },
    #[error("google_ads {what} batch {batch} is malformed: {detail}")]
    Malformed {
        what: &'static str,
        batch: u32,
        detail: String,
    },
    #[error("google_ads searchStream broke off after {batches} batches: {reason}")]
    StreamBroken { batches: u32, reason: String },
}

impl Classify for GoogleAdsError {
    fn class(&self) -> ErrorClass {
        match self {
            GoogleAdsError::Http(error) => class_of_http(error),
            GoogleAdsError::Token(error) => error.class(),
            GoogleAdsError::Api {
                status,
                failure,
                throttle,
            }
            | GoogleAdsError::MidStream {
                status,
                failure,
                throttle,
                ..
            } => classify_failure(*status, failure, throttle.as_ref()),
            GoogleAdsError::UnexpectedBody { status } => class_of_http_status(*status, None),
            GoogleAdsError::Malformed { .. } => ErrorClass::Permanent,
            GoogleAdsError::StreamBroken { .. } => ErrorClass::Transient { retry_after: None },
        }
    }
}

/// How a Google Ads failure is handled: throttles wait, token and access problems need the
/// user, internal errors are retried, bad requests are not.
fn classify_failure(status: u16, failure: &Failure, throttle: Option<&Throttle>) -> ErrorClass {
    if let Some(throttle) = throttle {
        return ErrorClass::Throttled {
            until: throttle.until,
            scope: throttle.scope.clone(),
        };
    }
    match failure.code() {
        Some(ErrorCode::Quota(code)) => match code.as_str() {
            // The developer token may not use the API at all.
            "ACCESS_PROHIBITED" => ErrorClass::Permanent,
            _ => ErrorClass::Transient {
                retry_after: Some(TEMPORARY_QUOTA_WAIT),
            },
        },
        Some(ErrorCode::Authentication(code)) => match code.as_str() {
            // The account or our own credentials are wrong, not the user's login.
            "CUSTOMER_NOT_FOUND"
            | "CLIENT_CUSTOMER_ID_INVALID"
            | "DEVELOPER_TOKEN_INVALID"
            | "ORGANIZATION_NOT_ASSOCIATED_WITH_DEVELOPER_TOKEN" => ErrorClass::Permanent,
            _ => ErrorClass::Auth,
        },
        // PERMISSION_DENIED: the login cannot reach the customer (`USER_PERMISSION_DENIED`,
        // usually a missing or wrong login-customer-id, which a new authorisation does not
        // fix), or the developer token, Cloud project or account state forbid the call.
        Some(ErrorCode::Authorization(_)) => ErrorClass::Permanent,
        Some(ErrorCode::Internal(_)) => ErrorClass::Transient { retry_after: None },
        Some(ErrorCode::Query(_) | ErrorCode::Request(_) | ErrorCode::Header(_)) => {
            ErrorClass::Permanent
        }
        Some(ErrorCode::Other { .. }) | None => class_of_http_status(status, None),
    }
}

/// The access token was refused (401 `UNAUTHENTICATED` with an `OAUTH_TOKEN_*` code, or from
/// the front end without one): worth one refresh. A revoked grant then fails the refresh with
/// `invalid_grant`; a customer or developer problem (`CUSTOMER_NOT_FOUND`, `NOT_ADS_USER`…) is
/// not the token's.
fn is_token_refusal(error: &GoogleAdsError) -> bool {
    let GoogleAdsError::Api {
        status: 401,
        failure,
        ..
    } = error
    else {
        return false;
    };
    match failure.code() {
        Some(ErrorCode::Authentication(code)) => code.starts_with("OAUTH_TOKEN_"),
        None => true,
        Some(_) => false,
    }
}

/// The HTTP status of a gRPC status name, for errors inside a stream.
fn http_status_of(status: &wire::Status) -> u16 {
    if let Some(code) = status.code.and_then(|code| u16::try_from(code).ok())
        && (400..600).contains(&code)
    {
        return code;
    }
    match status.status.as_deref() {
        Some("INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE") => 400,
        Some("UNAUTHENTICATED") => 401,
        Some("PERMISSION_DENIED") => 403,
        Some("NOT_FOUND") => 404,
        Some("RESOURCE_EXHAUSTED") => 429,
        Some("CANCELLED") => 499,
        Some("UNAVAILABLE") => 503,
        Some("DEADLINE_EXCEEDED") => 504,
        _ => 500,
    }
}

/// The throttle a failure asks for, and the bucket it blocks: the account's for account-scoped
/// quotas, the app's for developer-scoped ones and the daily quota.
fn throttle_of(
    status: u16,
    failure: &Failure,
    app: &Bucket,
    account: Option<&Bucket>,
) -> Option<(Throttle, Bucket)> {
    let error = failure.errors.first();
    let code = match failure.code() {
        Some(ErrorCode::Quota(code)) if code == "ACCESS_PROHIBITED" => return None,
        Some(ErrorCode::Quota(code)) => code.as_str(),
        _ if status == 429 => "",
        _ => return None,
    };
    let daily = code == "RESOURCE_EXHAUSTED";
    let wait = failure.retry_delay().unwrap_or(if daily {
        DAILY_QUOTA_WAIT
    } else {
        TEMPORARY_QUOTA_WAIT
    });
    // Google's `QuotaRateScope` has two values: `DEVELOPER` (the developer token, or the
    // Cloud project that replaced it: every request adsync makes, the app's budget) and
    // `ACCOUNT` (the customer the request is about). A quota with no scope is the
    // developer's when it is the daily one, else the account's.
    let bucket = match error.and_then(|error| error.rate_scope.as_deref()) {
        Some("DEVELOPER") => app,
        Some("ACCOUNT") => account.unwrap_or(app),
        _ if daily => app,
        _ => account.unwrap_or(app),
    };
    let until = Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
    Some((
        Throttle {
            until,
            scope: bucket.key.clone(),
        },
        bucket.clone(),
    ))
}

/// The `request-id` response header.
fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("request-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Reads an error answer, blocking the throttled bucket for every worker.
async fn api_error(
    platform: &Platform,
    response: reqwest::Response,
    app: &Bucket,
    account: Option<&Bucket>,
) -> GoogleAdsError {
    let status = response.status().as_u16();
    let request_id = request_id(response.headers());
    let timeout = Duration::from_millis(platform.settings.timeout_ms);
    let body = match tokio::time::timeout(timeout, response.bytes()).await {
        Ok(Ok(body)) => body,
        Ok(Err(error)) => return HttpError::Transport(error.without_url()).into(),
        Err(_) => return HttpError::Timeout(timeout).into(),
    };
    let Some(error) = wire::error_status(&body) else {
        return GoogleAdsError::UnexpectedBody { status };
    };
    let failure = error.failure(request_id);
    let throttle = match throttle_of(status, &failure, app, account) {
        Some((throttle, bucket)) => {
            platform.block(&bucket, throttle.until).await;
            Some(throttle)
        }
        None => None,
    };
    GoogleAdsError::Api {
        status,
        failure: Box::new(failure),
        throttle,
    }
}

/// The connection's `login-customer-id` (the manager's customer id), if it has one, as Google
/// wants it: digits only, so `123-456-7890` as the Google Ads UI shows it becomes `1234567890`.
fn login_customer_id(platform: &Platform) -> Option<String> {
    login_customer_id_of(&platform.connection_settings)
}

fn login_customer_id_of(settings: &serde_json::Value) -> Option<String> {
    let id = match settings.get("login_customer_id")? {
        serde_json::Value::String(text) => text
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .collect::<String>(),
        serde_json::Value::Number(number) => number.to_string(),
        _ => return None,
    };
    (!id.is_empty()).then_some(id)
}

/// Adds the headers every call carries besides the token.
fn with_headers(
    builder: reqwest::RequestBuilder,
    platform: &Platform,
    token: &str,
    login: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut builder = builder.bearer_auth(token);
    let developer_token = platform.settings.extra("developer_token");
    if !developer_token.is_empty() {
        builder = builder.header("developer-token", developer_token);
    }
    if let Some(login) = login {
        builder = builder.header("login-customer-id", login);
    }
    builder
}

/// Starts a `searchStream` for `query` on `customer_id` and returns the answer once its status
/// is 200; any other status is read as an error.
async fn open_stream(
    platform: &Platform,
    customer_id: &str,
    login: Option<&str>,
    query: &str,
) -> Result<reqwest::Response, GoogleAdsError> {
    let url = platform.url(&format!("/customers/{customer_id}/googleAds:searchStream"));
    let app = platform.app_bucket();
    let account = platform.account_bucket(customer_id);
    let body = serde_json::json!({ "query": query });
    platform
        .with_fresh_token(is_token_refusal, |token| {
            let (app, account, url, body) = (&app, &account, &url, &body);
            async move {
                let response = platform
                    .send_streaming(&[app.clone(), account.clone()], || {
                        with_headers(platform.client.post(url), platform, &token, login).json(body)
                    })
                    .await?;
                if response.status().as_u16() == 200 {
                    return Ok(response);
                }
                Err(api_error(platform, response, app, Some(account)).await)
            }
        })
        .await
}

/// One batch read from a stream: its rows, or the end.
struct Batches {
    reader: ElementReader,
    read: u32,
    app: Bucket,
    account: Bucket,
}

impl Batches {
    async fn open(
        platform: &Platform,
        customer_id: &str,
        login: Option<&str>,
        query: &str,
    ) -> Result<Self, GoogleAdsError> {
        let response = open_stream(platform, customer_id, login, query).await?;
        Ok(Self {
            reader: ElementReader::new(
                response,
                Duration::from_millis(platform.settings.timeout_ms),
            ),
            read: 0,
            app: platform.app_bucket(),
            account: platform.account_bucket(customer_id),
        })
    }

    /// The rows of the next batch, or `None` after the last one.
    async fn next(
        &mut self,
        platform: &Platform,
    ) -> Result<Option<Vec<GoogleAdsRow>>, GoogleAdsError> {
        let batches = self.read;
        let element = match self.reader.next().await {
            Ok(Some(element)) => element,
            Ok(None) => return Ok(None),
            Err(ReadError::Split(error)) => {
                return Err(GoogleAdsError::Malformed {
                    what: "searchStream",
                    batch: batches + 1,
                    detail: error.to_string(),
                });
            }
            Err(ReadError::Transport(error)) => {
                return Err(GoogleAdsError::StreamBroken {
                    batches,
                    reason: error.to_string(),
                });
            }
            Err(ReadError::Stalled(idle)) => {
                return Err(GoogleAdsError::StreamBroken {
                    batches,
                    reason: format!("no data for {idle:?}"),
                });
            }
            Err(ReadError::Truncated) => {
                return Err(GoogleAdsError::StreamBroken {
                    batches,
                    reason: "the body ended before the array was closed".to_owned(),
                });
            }
        };
        self.read += 1;
        if self.read > MAX_BATCHES {
            return Err(GoogleAdsError::Malformed {
                what: "searchStream",
                batch: self.read,
                detail: format!("more than {MAX_BATCHES} batches"),
            });
        }
        let deserializer = &mut serde_json::Deserializer::from_slice(&element);
        let parsed: StreamElement =
            serde_path_to_error::deserialize(deserializer).map_err(|error| {
                GoogleAdsError::Malformed {
                    what: "searchStream",
                    batch: self.read,
                    detail: format!("{}: {}", error.path(), error.inner()),
                }
            })?;
        if let Some(status) = parsed.error {
            let code = http_status_of(&status);
            let failure = status.failure(parsed.request_id);
            let throttle = match throttle_of(code, &failure, &self.app, Some(&self.account)) {
                Some((throttle, bucket)) => {
                    platform.block(&bucket, throttle.until).await;
                    Some(throttle)
                }
                None => None,
            };
            return Err(GoogleAdsError::MidStream {
                status: code,
                failure: Box::new(failure),
                batches,
                throttle,
            });
        }
        Ok(Some(parsed.results))
    }
}

fn row_problem(batch: u32, (index, path, problem): wire::RowProblem) -> GoogleAdsError {
    GoogleAdsError::Malformed {
        what: "searchStream",
        batch,
        detail: format!("results[{index}].{path}: {problem}"),
    }
}

enum Cursor {
    Start,
    Reading(Box<Batches>),
}

/// Reads the report (or entities stream): one `searchStream` request, one page per batch.
fn report_pages(
    platform: Arc<Platform>,
    request: ReportRequest,
) -> impl Stream<Item = Result<Vec<Row>, GoogleAdsError>> + Send + 'static {
    let query = match request.report.stream {
        ReportStream::Performance => wire::performance_query(
            &request.report,
            request.window.start(),
            request.window.end(),
        ),
        ReportStream::Entities => wire::entity_query(request.report.level).to_owned(),
    };
    futures_util::stream::try_unfold(Cursor::Start, move |cursor| {
        let platform = platform.clone();
        let request = request.clone();
        let query = query.clone();
        async move {
            let mut batches = match cursor {
                Cursor::Reading(batches) => batches,
                Cursor::Start => {
                    // The manager discovery found the account under, else the connection's.
                    let login = request
                        .account
                        .reached_through
                        .clone()
                        .or_else(|| login_customer_id(&platform));
                    Box::new(
                        Batches::open(
                            &platform,
                            &request.account.external_id,
                            login.as_deref(),
                            &query,
                        )
                        .await?,
                    )
                }
            };
            // Batches without rows (a query without results) give no page.
            loop {
                let Some(rows) = batches.next(&platform).await? else {
                    return Ok(None);
                };
                if rows.is_empty() {
                    continue;
                }
                let batch = batches.read;
                let page = match request.report.stream {
                    ReportStream::Performance => wire::performance_rows(rows, &request.report),
                    ReportStream::Entities => wire::entity_rows(rows, request.report.level),
                }
                .map_err(|problem| row_problem(batch, problem))?;
                return Ok(Some((page, Cursor::Reading(batches))));
            }
        }
    })
}

/// Every row of a small query (account listing), collected.
async fn search_all(
    platform: &Platform,
    customer_id: &str,
    login: Option<&str>,
    query: &str,
) -> Result<Vec<GoogleAdsRow>, GoogleAdsError> {
    let mut batches = Batches::open(platform, customer_id, login, query).await?;
    let mut rows = Vec::new();
    while let Some(batch) = batches.next(platform).await? {
        rows.extend(batch);
    }
    Ok(rows)
}

/// `GET /v{N}/customers:listAccessibleCustomers`: the ids of the customers the login reaches
/// directly.
async fn accessible_customers(platform: &Platform) -> Result<Vec<String>, GoogleAdsError> {
    let url = platform.url("/customers:listAccessibleCustomers");
    let app = platform.app_bucket();
    let body = platform
        .with_fresh_token(is_token_refusal, |token| {
            let (app, url) = (&app, &url);
            async move {
                let response = platform
                    .send(std::slice::from_ref(app), || {
                        with_headers(platform.client.get(url), platform, &token, None)
                    })
                    .await?;
                if response.status().as_u16() != 200 {
                    return Err(api_error(platform, response, app, None).await);
                }
                response
                    .bytes()
                    .await
                    .map_err(|error| HttpError::Transport(error.without_url()).into())
            }
        })
        .await?;
    let malformed = |detail: String| GoogleAdsError::Malformed {
        what: "listAccessibleCustomers",
        batch: 1,
        detail,
    };
    let deserializer = &mut serde_json::Deserializer::from_slice(&body);
    let listed: wire::AccessibleCustomers = serde_path_to_error::deserialize(deserializer)
        .map_err(|error| malformed(format!("{}: {}", error.path(), error.inner())))?;
    listed
        .resource_names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            name.strip_prefix("customers/")
                .filter(|id| id.len() == 10 && id.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_owned)
                .ok_or_else(|| {
                    malformed(format!(
                        "resourceNames[{index}]: {name:?} is not customers/<10 digits>"
                    ))
                })
        })
        .collect()
}

fn account_info(
    object: wire::CustomerObject,
    what: &'static str,
    index: usize,
) -> Result<(AccountInfo, bool), GoogleAdsError> {
    let missing = |field: &str| GoogleAdsError::Malformed {
        what,
        batch: 1,
        detail: format!("results[{index}].{field}: missing"),
    };
    let id = object.id.ok_or_else(|| missing("id"))?.0;
    Ok((
        AccountInfo {
            external_id: format!("{id:010}"),
            name: object.descriptive_name.unwrap_or_default(),
            time_zone: object.time_zone.ok_or_else(|| missing("timeZone"))?,
            currency: object
                .currency_code
                .ok_or_else(|| missing("currencyCode"))?,
            reached_through: None,
        },
        object.manager.unwrap_or(false),
    ))
}

/// One account found, and how directly: 0 for a customer the login reaches itself, else its
/// level below the manager it was found under.
struct Found {
    info: AccountInfo,
    distance: i64,
}

/// Keeps the most direct way to each account: its own access before a manager's, a nearer
/// manager before a farther one, and otherwise the first found.
fn keep(accounts: &mut BTreeMap<String, Found>, found: Found) {
    match accounts.get(&found.info.external_id) {
        Some(known) if known.distance <= found.distance => {}
        _ => {
            accounts.insert(found.info.external_id.clone(), found);
        }
    }
}

/// The accounts the login reaches, each with the `login-customer-id` its requests need
/// (`AccountInfo::reached_through`): every accessible customer that is not a manager (reached
/// as itself), and every account anywhere below an accessible manager — through sub-managers,
/// at any level — that serves ads, reached through that manager (the one the user has access
/// to; a sub-manager below it would be refused as the login). Managers have no reports of
/// their own; a cancelled, suspended or closed client refuses every query, so it is left out; a
/// hidden link is only hidden in Google's UI and its account is listed. A customer the login
/// may not query (an authorization error) is left out.
async fn list_accounts(platform: &Platform) -> Result<Vec<AccountInfo>, GoogleAdsError> {
    let mut accounts: BTreeMap<String, Found> = BTreeMap::new();
    for id in accessible_customers(platform).await? {
        let rows = match search_all(platform, &id, Some(&id), wire::CUSTOMER_QUERY).await {
            Err(GoogleAdsError::Api { failure, .. })
                if matches!(failure.code(), Some(ErrorCode::Authorization(_))) =>
            {
                tracing::warn!(customer_id = %id, error = %failure, "skipping a customer the login may not query");
                continue;
            }
            result => result?,
        };
        let Some(customer) = rows.into_iter().find_map(|row| row.customer) else {
            continue;
        };
        let (mut info, manager) = account_info(customer, "customer", 0)?;
        if !manager {
            info.reached_through = Some(id.clone());
            keep(&mut accounts, Found { info, distance: 0 });
            continue;
        }
        let rows = search_all(platform, &id, Some(&id), wire::CLIENTS_QUERY).await?;
        for (index, row) in rows.into_iter().enumerate() {
            let Some(client) = row.customer_client else {
                continue;
            };
            let level = client.level.map_or(0, |level| level.0);
            let serves = client
                .status
                .as_deref()
                .is_none_or(|status| status == "ENABLED");
            if level < 1 || !serves {
                continue;
            }
            let (mut info, manager) = account_info(client, "customer_client", index)?;
            if manager {
                continue;
            }
            info.reached_through = Some(id.clone());
            keep(
                &mut accounts,
                Found {
                    info,
                    distance: level,
                },
            );
        }
    }
    Ok(accounts.into_values().map(|found| found.info).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: ErrorCode) -> Failure {
        Failure {
            status: "X".into(),
            message: "m".into(),
            errors: vec![AdsError {
                code,
                message: "m".into(),
                trigger: None,
                rate_scope: None,
                retry_delay: None,
            }],
            retry_info: None,
            request_id: None,
        }
    }

    fn bucket(key: &str) -> Bucket {
        Bucket {
            key: key.to_owned(),
            capacity: 1.0,
            refill_per_sec: 1.0,
        }
    }

    fn class(status: u16, code: ErrorCode) -> ErrorClass {
        classify_failure(status, &failure(code), None)
    }

    #[test]
    fn failures_are_classified_by_their_error_code() {
        let s = |text: &str| text.to_owned();
        assert_eq!(
            class(401, ErrorCode::Authentication(s("OAUTH_TOKEN_REVOKED"))),
            ErrorClass::Auth
        );
        assert_eq!(
            class(401, ErrorCode::Authentication(s("OAUTH_TOKEN_EXPIRED"))),
            ErrorClass::Auth
        );
        assert_eq!(
            class(401, ErrorCode::Authentication(s("CUSTOMER_NOT_FOUND"))),
            ErrorClass::Permanent
        );
        assert_eq!(
            class(403, ErrorCode::Authorization(s("USER_PERMISSION_DENIED"))),
            ErrorClass::Permanent
        );
        assert_eq!(
            class(
                403,
                ErrorCode::Authorization(s("DEVELOPER_TOKEN_NOT_APPROVED"))
            ),
            ErrorClass::Permanent
        );
        assert_eq!(
            class(500, ErrorCode::Internal(s("INTERNAL_ERROR"))),
            ErrorClass::Transient { retry_after: None }
        );
        assert_eq!(
            class(504, ErrorCode::Internal(s("DEADLINE_EXCEEDED"))),
            ErrorClass::Transient { retry_after: None }
        );
        assert_eq!(
            class(400, ErrorCode::Query(s("UNRECOGNIZED_FIELD"))),
            ErrorClass::Permanent
        );
        assert_eq!(
            class(400, ErrorCode::Request(s("INVALID_CUSTOMER_ID"))),
            ErrorClass::Permanent
        );
        assert_eq!(
            class(400, ErrorCode::Header(s("INVALID_LOGIN_CUSTOMER_ID"))),
            ErrorClass::Permanent
        );
        assert_eq!(
            class(429, ErrorCode::Quota(s("ACCESS_PROHIBITED"))),
            ErrorClass::Permanent
        );
        assert_eq!(
            class(
                503,
                ErrorCode::Other {
                    family: String::new(),
                    value: String::new()
                }
            ),
            ErrorClass::Transient { retry_after: None }
        );
        let front_end = Failure {
            errors: Vec::new(),
            ..failure(ErrorCode::Internal(s("x")))
        };
        assert_eq!(classify_failure(401, &front_end, None), ErrorClass::Auth);
        assert_eq!(
            classify_failure(404, &front_end, None),
            ErrorClass::Permanent
        );
    }

    #[test]
    fn throttles_block_the_scope_google_names_for_the_delay_it_gives() {
        let app = bucket("google_ads:app");
        let account = bucket("google_ads:account:1");
        let mut temporary = failure(ErrorCode::Quota("RESOURCE_TEMPORARILY_EXHAUSTED".into()));
        temporary.errors[0].retry_delay = Some(Duration::from_secs(30));
        temporary.errors[0].rate_scope = Some("ACCOUNT".into());
        let before = Utc::now();
        let (throttle, blocked) = throttle_of(429, &temporary, &app, Some(&account)).unwrap();
        assert_eq!(blocked.key, "google_ads:account:1");
        let wait = (throttle.until - before).num_seconds();
        assert!((29..=31).contains(&wait), "{wait}");
        assert_eq!(
            classify_failure(429, &temporary, Some(&throttle)),
            ErrorClass::Throttled {
                until: throttle.until,
                scope: "google_ads:account:1".into()
            }
        );
        let daily = failure(ErrorCode::Quota("RESOURCE_EXHAUSTED".into()));
        let (throttle, blocked) = throttle_of(429, &daily, &app, Some(&account)).unwrap();
        assert_eq!(blocked.key, "google_ads:app");
        assert!((throttle.until - Utc::now()).num_minutes() >= 59);
        let internal = failure(ErrorCode::Internal("INTERNAL_ERROR".into()));
        assert!(throttle_of(500, &internal, &app, Some(&account)).is_none());
        // The developer token's quota blocks every request adsync makes, for the delay of a
        // RetryInfo detail when the quota details give none.
        let mut developer = failure(ErrorCode::Quota("RESOURCE_TEMPORARILY_EXHAUSTED".into()));
        developer.errors[0].rate_scope = Some("DEVELOPER".into());
        developer.retry_info = Some(Duration::from_secs(4));
        let before = Utc::now();
        let (throttle, blocked) = throttle_of(429, &developer, &app, Some(&account)).unwrap();
        assert_eq!(blocked.key, "google_ads:app");
        let wait = (throttle.until - before).num_milliseconds();
        assert!((3_900..=4_500).contains(&wait), "{wait} ms");
    }

    #[test]
    fn refused_tokens_are_refreshed_once_but_customer_problems_are_not() {
        let api = |status, code: &str| GoogleAdsError::Api {
            status,
            failure: Box::new(failure(ErrorCode::Authentication(code.to_owned()))),
            throttle: None,
        };
        assert!(is_token_refusal(&api(401, "OAUTH_TOKEN_EXPIRED")));
        assert!(is_token_refusal(&api(401, "OAUTH_TOKEN_INVALID")));
        assert!(is_token_refusal(&api(401, "OAUTH_TOKEN_REVOKED")));
        assert!(!is_token_refusal(&api(401, "CUSTOMER_NOT_FOUND")));
        assert!(!is_token_refusal(&api(403, "OAUTH_TOKEN_EXPIRED")));
        let front_end = GoogleAdsError::Api {
            status: 401,
            failure: Box::new(Failure {
                errors: Vec::new(),
                ..failure(ErrorCode::Internal(String::new()))
            }),
            throttle: None,
        };
        assert!(is_token_refusal(&front_end));
    }

    #[test]
    fn stream_errors_map_grpc_statuses_to_http() {
        let status = |code: Option<i64>, name: &str| wire::Status {
            code,
            message: None,
            status: Some(name.to_owned()),
            details: Vec::new(),
        };
        assert_eq!(http_status_of(&status(Some(504), "DEADLINE_EXCEEDED")), 504);
        assert_eq!(http_status_of(&status(Some(4), "DEADLINE_EXCEEDED")), 504);
        assert_eq!(http_status_of(&status(None, "UNAVAILABLE")), 503);
        assert_eq!(http_status_of(&status(None, "SOMETHING")), 500);
    }

    #[test]
    fn an_account_found_several_ways_keeps_the_most_direct() {
        let found = |via: &str, distance| Found {
            info: AccountInfo {
                external_id: "8123451001".into(),
                name: String::new(),
                time_zone: "UTC".into(),
                currency: "USD".into(),
                reached_through: Some(via.into()),
            },
            distance,
        };
        let via = |accounts: &BTreeMap<String, Found>| {
            accounts["8123451001"].info.reached_through.clone().unwrap()
        };
        let mut accounts = BTreeMap::new();
        keep(&mut accounts, found("9123450000", 2));
        keep(&mut accounts, found("9123451000", 1));
        assert_eq!(via(&accounts), "9123451000", "the nearer manager");
        keep(&mut accounts, found("9999990000", 1));
        assert_eq!(via(&accounts), "9123451000", "the first of equals");
        keep(&mut accounts, found("8123451001", 0));
        assert_eq!(via(&accounts), "8123451001", "its own access first");
        keep(&mut accounts, found("9123450000", 2));
        assert_eq!(via(&accounts), "8123451001");
    }

    #[test]
    fn the_login_customer_id_is_sent_as_digits() {
        let id = |settings: serde_json::Value| login_customer_id_of(&settings);
        assert_eq!(
            id(serde_json::json!({"login_customer_id": "912-345-0000"})).as_deref(),
            Some("9123450000")
        );
        assert_eq!(
            id(serde_json::json!({"login_customer_id": 9123450000u64})).as_deref(),
            Some("9123450000")
        );
        assert_eq!(id(serde_json::json!({"login_customer_id": ""})), None);
        assert_eq!(id(serde_json::json!({})), None);
    }

    #[test]
    fn account_ids_are_ten_digit_customer_ids_and_settings_a_login_customer() {
        assert_eq!(
            CONNECTOR.parse_account_id("123-456-7890").unwrap(),
            "1234567890"
        );
        assert_eq!(
            CONNECTOR.parse_account_id("1234567890").unwrap(),
            "1234567890"
        );
        for bad in ["123456789", "12345678901", "customers/1234567890"] {
            let error = CONNECTOR.parse_account_id(bad).unwrap_err();
            assert_eq!(error.field, "external_id", "{bad}");
            assert!(error.message.contains(bad), "{}", error.message);
        }
        let ok = serde_json::json!({"login_customer_id": "1234567890"});
        assert_eq!(CONNECTOR.parse_connection_settings(&ok).unwrap(), ok);
        for bad in [
            serde_json::json!({"login_customer_id": "123-456-7890"}),
            serde_json::json!({"login_customer_id": 1234567890u64}),
        ] {
            let error = CONNECTOR.parse_connection_settings(&bad).unwrap_err();
            assert_eq!(error.field, "settings.login_customer_id", "{bad}");
        }
        let error = CONNECTOR
            .parse_connection_settings(&serde_json::json!({"login": "1234567890"}))
            .unwrap_err();
        assert_eq!(error.field, "settings.login");
    }
}
