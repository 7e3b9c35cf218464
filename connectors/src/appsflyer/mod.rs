//! AppsFlyer Pull API: aggregate reports read as CSV, one request per window chunk (the Pull
//! API has no paging), and the apps a token reaches from the management API's app list.
//!
//! Report: `GET {base_url}/agg-data/export/app/{app_id}/{report}/v5?from=…&to=…&timezone=<the
//! app's>&currency=preferred`, `partners_by_date_report` (rows per date, agency, media source
//! and campaign) or `geo_by_date_report` (per country too) for the `country` breakdown, with an
//! `Authorization: Bearer` API V2 token. The CSV is parsed as it arrives and its columns are
//! found by their names (see `wire` for the mapping to our catalogue, and what `campaign_id`
//! holds); rows are summed to the report's level. Only user-acquisition data is read
//! (`reattr` is not sent): retargeting campaigns are not part of the report.
//!
//! Quotas: an aggregate report over three days or more may be pulled 24 times a day per app and
//! report and 120 times per account, counted from 00:00 UTC; over one or two days, once a minute
//! per app and report. Over quota AppsFlyer answers HTTP 403 `Limit reached for <report>`
//! (raw-data reports: HTTP 400 `Your API calls limit has been reached for report type`): the
//! app's budget is blocked, until the next 00:00 UTC for a long range or a minute for a short
//! one, and the job snoozes. HTTP 429 (bursts) blocks it for `Retry-After`, or a minute. The
//! app list has limits of its own: its 429 blocks no report budget.
//! API tokens are static: AppsFlyer refuses a revoked or replaced one with HTTP 401, which only
//! a new token from the user cures, so there is no refresher and 401 is `Auth`.

mod csv;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Days, NaiveTime, Utc};
use futures_util::Stream;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use shared::db::rate_budgets::Bucket;
use shared::domain::{
    Breakdown, ConnectorKind, InvalidField, Metric, ReportLevel, Stream as ReportStream,
};
use shared::error::{Classify, ErrorClass};

use crate::catalogue::Catalogue;
use crate::connector::{
    AccountInfo, Connector, ConnectorError, ReportRequest, boxed_accounts, boxed_pages,
    class_of_http, invalid_account_id, is_digits,
};
use crate::oauth::OAuth;
use crate::platform::{HttpError, Platform};
use crate::rows::Row;
use crate::tokens::TokenError;
use csv::CsvReader;
use wire::{AppsPage, Columns, Rows};

/// AppsFlyer, as the registry knows it.
pub struct Appsflyer;

/// The registry's entry for AppsFlyer.
pub static CONNECTOR: Appsflyer = Appsflyer;

static CATALOGUE: Catalogue = Catalogue {
    connector: ConnectorKind::Appsflyer,
    levels: &[ReportLevel::Account, ReportLevel::Campaign],
    metrics: &[
        Metric::Impressions,
        Metric::Clicks,
        Metric::Spend,
        Metric::Conversions,
        Metric::ConversionValue,
    ],
    breakdowns: &[Breakdown::Country],
    max_breakdowns: 1,
    report_types: &[],
    entity_levels: &[],
    default_lookback_days: 7,
    max_days_per_request: 31,
};

impl Connector for Appsflyer {
    fn catalogue(&self) -> &'static Catalogue {
        &CATALOGUE
    }

    fn config_defaults(&self) -> &'static str {
        include_str!("config.toml")
    }

    fn sandbox_urls(&self) -> &'static [(&'static str, &'static str)] {
        &[("base_url", "/appsflyer/api")]
    }

    /// App ids: `id` and digits for iOS, a package name for Android.
    fn parse_account_id(&self, raw: &str) -> Result<String, InvalidField> {
        let ios = raw
            .strip_prefix("id")
            .is_some_and(|rest| is_digits(rest, 1, 15));
        let android = raw.split('.').count() >= 2
            && raw.split('.').all(|part| {
                part.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                    && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
        if !(ios || android) || raw.len() > 100 {
            return Err(invalid_account_id(
                raw,
                "is not an AppsFlyer app id (\"id\" and digits for iOS, a package name such as com.example.app for Android)",
            ));
        }
        Ok(raw.to_string())
    }

    fn oauth(&self) -> Option<&dyn OAuth> {
        // API tokens are posted directly and revoked in AppsFlyer's dashboard.
        None
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

/// Tokens do not expire by time; the margin only matters to platforms that refresh.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// How long a short-range quota (one call a minute) or a burst without `Retry-After` blocks.
const MINUTE: Duration = Duration::from_secs(60);

/// Ranges of at most this many days fall under the per-minute quota instead of the daily one.
const SHORT_RANGE_DAYS: u32 = 2;

/// The body text of an aggregate report's quota answer (HTTP 403).
const AGGREGATE_LIMIT: &str = "Limit reached for";
/// The body text of a raw-data report's quota answer (HTTP 400), worded "Your API calls limit
/// has been reached for report type" or "Your API call limit has been reached for the given
/// report type".
const RAW_LIMIT: &str = "limit has been reached";

/// AppsFlyer answers bursts of report calls with HTTP 429 without saying its rate; reports are
/// paced below that, shared by every worker, on top of the daily quotas.
const BURST_CALLS_PER_SEC: f64 = 5.0;

fn burst_bucket() -> Bucket {
    Bucket {
        key: "appsflyer:burst".to_owned(),
        capacity: BURST_CALLS_PER_SEC,
        refill_per_sec: BURST_CALLS_PER_SEC,
    }
}

/// Apps per page of the app list (its maximum).
const APPS_PER_PAGE: usize = 1_000;
/// A guard against an app list that never ends.
const MAX_APP_PAGES: usize = 100;

/// A failure talking to AppsFlyer. Messages never contain tokens.
#[derive(Debug, thiserror::Error)]
pub enum AppsflyerError {
    #[error("appsflyer: {0}")]
    Http(#[from] HttpError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("appsflyer refused the API token (HTTP 401): {message}")]
    Unauthorized { message: String },
    #[error("appsflyer refused access (HTTP 403): {message}")]
    Forbidden { message: String },
    #[error("appsflyer's quota is used up until {until} (HTTP {status}): {message}")]
    LimitReached {
        status: u16,
        message: String,
        until: DateTime<Utc>,
        scope: String,
    },
    #[error("appsflyer throttled a burst of calls until {until} (HTTP 429)")]
    TooManyRequests { until: DateTime<Utc>, scope: String },
    #[error(
        "appsflyer does not know app {app_id}, or the token's account cannot see it (HTTP 404)"
    )]
    AppNotFound { app_id: String },
    #[error("appsflyer refused the request (HTTP 400): {message}")]
    BadRequest { message: String },
    #[error("appsflyer answered HTTP {status}: {message}")]
    Status {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("appsflyer {what} is malformed: {detail}")]
    Malformed { what: &'static str, detail: String },
}

impl Classify for AppsflyerError {
    fn class(&self) -> ErrorClass {
        match self {
            AppsflyerError::Http(error) => class_of_http(error),
            AppsflyerError::Token(error) => error.class(),
            AppsflyerError::Unauthorized { .. } | AppsflyerError::Forbidden { .. } => {
                ErrorClass::Auth
            }
            AppsflyerError::LimitReached { until, scope, .. }
            | AppsflyerError::TooManyRequests { until, scope } => ErrorClass::Throttled {
                until: *until,
                scope: scope.clone(),
            },
            AppsflyerError::AppNotFound { .. }
            | AppsflyerError::BadRequest { .. }
            | AppsflyerError::Malformed { .. } => ErrorClass::Permanent,
            AppsflyerError::Status {
                status,
                retry_after,
                ..
            } => shared::error::class_of_http_status(*status, *retry_after),
        }
    }
}

/// The aggregate report that has the report's rows.
fn report_name(breakdowns: &[Breakdown]) -> &'static str {
    if breakdowns.contains(&Breakdown::Country) {
        "geo_by_date_report"
    } else {
        "partners_by_date_report"
    }
}

/// The next 00:00 UTC after `now`, when daily quotas reset.
fn next_utc_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive()
        .checked_add_days(Days::new(1))
        .map_or(now + chrono::Duration::days(1), |date| {
            date.and_time(NaiveTime::MIN).and_utc()
        })
}

/// `Retry-After` in seconds, if the answer has one.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// What a request was for, to turn its refusal into an error.
struct Asked<'a> {
    app_id: &'a str,
    /// Days in the report's range; `None` for the app list.
    days: Option<u32>,
    /// The budget a quota answer blocks: the app's. The app list has limits of its own, so its
    /// throttling blocks no report budget.
    bucket: Option<&'a Bucket>,
    /// What a throttle is said to concern.
    scope: String,
}

/// The error for a non-200 answer. A quota answer blocks the asked budget for every worker.
async fn refusal(
    platform: &Platform,
    asked: &Asked<'_>,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> AppsflyerError {
    let error = refusal_at(Utc::now(), asked, status, headers, body);
    if let AppsflyerError::LimitReached { until, .. }
    | AppsflyerError::TooManyRequests { until, .. } = &error
        && let Some(bucket) = asked.bucket
    {
        platform.block(bucket, *until).await;
    }
    error
}

/// What a non-200 answer at `now` means.
fn refusal_at(
    now: DateTime<Utc>,
    asked: &Asked<'_>,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> AppsflyerError {
    let message = wire::error_message(body);
    let quota_until = || match asked.days {
        Some(days) if days <= SHORT_RANGE_DAYS => now + MINUTE,
        _ => next_utc_midnight(now),
    };
    match status {
        400 if message.contains(RAW_LIMIT) => AppsflyerError::LimitReached {
            status,
            message,
            until: next_utc_midnight(now),
            scope: asked.scope.clone(),
        },
        403 if message.contains(AGGREGATE_LIMIT) => AppsflyerError::LimitReached {
            status,
            message,
            until: quota_until(),
            scope: asked.scope.clone(),
        },
        429 => AppsflyerError::TooManyRequests {
            until: now + retry_after(headers).unwrap_or(MINUTE),
            scope: asked.scope.clone(),
        },
        400 => AppsflyerError::BadRequest { message },
        401 => AppsflyerError::Unauthorized { message },
        403 => AppsflyerError::Forbidden { message },
        404 => AppsflyerError::AppNotFound {
            app_id: asked.app_id.to_owned(),
        },
        _ => AppsflyerError::Status {
            status,
            message,
            retry_after: retry_after(headers),
        },
    }
}

fn transport(error: reqwest::Error) -> AppsflyerError {
    AppsflyerError::Http(HttpError::Transport(error.without_url()))
}

/// Reads the report: one CSV per window chunk, as one page of rows.
fn report_pages(
    platform: Arc<Platform>,
    request: ReportRequest,
) -> impl Stream<Item = Result<Vec<Row>, AppsflyerError>> + Send + 'static {
    futures_util::stream::once(async move {
        match request.report.stream {
            ReportStream::Performance => fetch_report(&platform, &request).await,
            // The catalogue has no entity levels for AppsFlyer, so the API refuses such syncs.
            ReportStream::Entities => Err(AppsflyerError::BadRequest {
                message: "appsflyer has no entities to sync".to_owned(),
            }),
        }
    })
}

async fn fetch_report(
    platform: &Platform,
    request: &ReportRequest,
) -> Result<Vec<Row>, AppsflyerError> {
    let account = &request.account;
    let app_id = account.external_id.as_str();
    let report = report_name(&request.report.breakdowns);
    let url = format!(
        "{}/agg-data/export/app/{app_id}/{report}/{}",
        platform.settings.base_url.trim_end_matches('/'),
        platform.settings.api_version
    );
    let query = [
        ("from", request.window.start().to_string()),
        ("to", request.window.end().to_string()),
        ("timezone", account.time_zone.clone()),
        ("currency", "preferred".to_owned()),
    ];
    let app = platform.app_bucket();
    let bucket = platform.account_bucket(app_id);
    let pace = burst_bucket();
    let asked = Asked {
        app_id,
        days: Some(request.window.days()),
        bucket: Some(&bucket),
        scope: bucket.key.clone(),
    };
    // API tokens cannot be renewed: no refusal is worth a refresh.
    platform
        .with_fresh_token(
            |_: &AppsflyerError| false,
            |token| {
                let (app, bucket, pace, asked, query, url) =
                    (&app, &bucket, &pace, &asked, &query, &url);
                async move {
                    let mut response = platform
                        .send(&[app.clone(), bucket.clone(), pace.clone()], || {
                            platform
                                .client
                                .get(url)
                                .query(query)
                                .bearer_auth(&token)
                                .header(reqwest::header::ACCEPT, "text/csv")
                        })
                        .await?;
                    let status = response.status().as_u16();
                    if status != 200 {
                        let headers = response.headers().clone();
                        let body = response.bytes().await.map_err(transport)?;
                        return Err(refusal(platform, asked, status, &headers, &body).await);
                    }
                    read_csv(&mut response, request).await
                }
            },
        )
        .await
}

/// Parses the CSV as its chunks arrive and sums its records into rows.
async fn read_csv(
    response: &mut reqwest::Response,
    request: &ReportRequest,
) -> Result<Vec<Row>, AppsflyerError> {
    let malformed = |detail: String| AppsflyerError::Malformed {
        what: "report",
        detail,
    };
    let mut reader = CsvReader::default();
    let mut rows: Option<Rows> = None;
    let take = |records: Vec<csv::Record>, rows: &mut Option<Rows>| {
        for record in records {
            match rows {
                Some(rows) => rows.add(record.line, &record.fields)?,
                None => {
                    *rows = Some(Rows::new(Columns::from_header(
                        &record.fields,
                        &request.report,
                    )?));
                }
            }
        }
        Ok::<(), String>(())
    };
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        let records = reader.feed(&chunk).map_err(malformed)?;
        take(records, &mut rows).map_err(malformed)?;
    }
    let last = reader.finish().map_err(malformed)?;
    take(last.into_iter().collect(), &mut rows).map_err(malformed)?;
    match rows {
        Some(rows) => Ok(rows.into_rows()),
        None => Err(malformed("the body is empty: no header row".to_owned())),
    }
}

/// The apps the token reaches (`GET /mng/apps`, paged by `offset`).
async fn list_accounts(platform: &Platform) -> Result<Vec<AccountInfo>, AppsflyerError> {
    let url = format!(
        "{}/mng/apps",
        platform.settings.base_url.trim_end_matches('/')
    );
    let app = platform.app_bucket();
    let asked = Asked {
        app_id: "",
        days: None,
        bucket: None,
        scope: "appsflyer:app_list".to_owned(),
    };
    let mut accounts = Vec::new();
    for page in 1..=MAX_APP_PAGES {
        let token = platform.tokens.access_token().await?;
        let query = [
            ("limit", APPS_PER_PAGE.to_string()),
            ("offset", accounts.len().to_string()),
        ];
        let response = platform
            .send(std::slice::from_ref(&app), || {
                platform.client.get(&url).query(&query).bearer_auth(&token)
            })
            .await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport)?;
        if status != 200 {
            return Err(refusal(platform, &asked, status, &headers, &body).await);
        }
        let deserializer = &mut serde_json::Deserializer::from_slice(&body);
        let listed: AppsPage = serde_path_to_error::deserialize(deserializer).map_err(|error| {
            AppsflyerError::Malformed {
                what: "app list",
                detail: format!("page {page}: {}: {}", error.path(), error.inner()),
            }
        })?;
        let more = listed.links.and_then(|links| links.next).is_some();
        let empty = listed.data.is_empty();
        accounts.extend(listed.data.into_iter().map(|app| AccountInfo {
            external_id: app.id,
            name: app.attributes.name,
            time_zone: app.attributes.time_zone,
            currency: app.attributes.currency,
            reached_through: None,
        }));
        if !more || empty {
            break;
        }
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> String {
        "appsflyer:account:id1".to_owned()
    }

    #[test]
    fn every_error_is_classified_as_appsflyer_means_it() {
        let until = Utc::now() + chrono::Duration::hours(3);
        let cases = [
            (
                AppsflyerError::Unauthorized {
                    message: "Supplied API token is invalid".into(),
                },
                ErrorClass::Auth,
            ),
            (
                AppsflyerError::Forbidden {
                    message: "Account may be suspended".into(),
                },
                ErrorClass::Auth,
            ),
            (
                AppsflyerError::LimitReached {
                    status: 403,
                    message: "Limit reached for geo_by_date_report".into(),
                    until,
                    scope: scope(),
                },
                ErrorClass::Throttled {
                    until,
                    scope: scope(),
                },
            ),
            (
                AppsflyerError::TooManyRequests {
                    until,
                    scope: scope(),
                },
                ErrorClass::Throttled {
                    until,
                    scope: scope(),
                },
            ),
            (
                AppsflyerError::AppNotFound {
                    app_id: "id1".into(),
                },
                ErrorClass::Permanent,
            ),
            (
                AppsflyerError::BadRequest {
                    message: "from after to".into(),
                },
                ErrorClass::Permanent,
            ),
            (
                AppsflyerError::Malformed {
                    what: "report",
                    detail: "Total Cost".into(),
                },
                ErrorClass::Permanent,
            ),
            (
                AppsflyerError::Status {
                    status: 500,
                    message: "Internal Server Error".into(),
                    retry_after: None,
                },
                ErrorClass::Transient { retry_after: None },
            ),
            (
                AppsflyerError::Status {
                    status: 504,
                    message: "an HTML page".into(),
                    retry_after: Some(Duration::from_secs(5)),
                },
                ErrorClass::Transient {
                    retry_after: Some(Duration::from_secs(5)),
                },
            ),
            (
                AppsflyerError::Token(TokenError::NotRefreshable("appsflyer")),
                ErrorClass::Auth,
            ),
        ];
        for (error, class) in cases {
            assert_eq!(error.class(), class, "{error}");
        }
    }

    fn asked(days: Option<u32>) -> Asked<'static> {
        Asked {
            app_id: "id1",
            days,
            bucket: None,
            scope: scope(),
        }
    }

    fn until(error: &AppsflyerError) -> Option<DateTime<Utc>> {
        match error {
            AppsflyerError::LimitReached { until, .. }
            | AppsflyerError::TooManyRequests { until, .. } => Some(*until),
            _ => None,
        }
    }

    #[test]
    fn quota_answers_wait_for_midnight_utc_or_a_minute_by_the_ranges_length() {
        let now: DateTime<Utc> = "2025-06-30T15:30:00Z".parse().unwrap();
        let midnight: DateTime<Utc> = "2025-07-01T00:00:00Z".parse().unwrap();
        let headers = HeaderMap::new();
        let limit = b"Limit reached for partners_by_date_report";
        let long = refusal_at(now, &asked(Some(31)), 403, &headers, limit);
        assert_eq!(until(&long), Some(midnight));
        let short = refusal_at(now, &asked(Some(2)), 403, &headers, limit);
        assert_eq!(until(&short), Some(now + MINUTE));
        let raw = refusal_at(
            now,
            &asked(Some(1)),
            400,
            &headers,
            br#"{"message":"Your API call limit has been reached for the given report type"}"#,
        );
        assert_eq!(until(&raw), Some(midnight));
        let mut retry = HeaderMap::new();
        retry.insert(RETRY_AFTER, "7".parse().unwrap());
        let burst = refusal_at(now, &asked(Some(31)), 429, &retry, b"Too many requests");
        assert_eq!(until(&burst), Some(now + Duration::from_secs(7)));
        let burst = refusal_at(now, &asked(None), 429, &headers, b"");
        assert_eq!(until(&burst), Some(now + MINUTE));
    }

    #[test]
    fn both_wordings_of_the_raw_data_quota_wait_for_midnight_utc() {
        // Arrange
        let now: DateTime<Utc> = "2025-06-30T15:30:00Z".parse().unwrap();
        let midnight: DateTime<Utc> = "2025-07-01T00:00:00Z".parse().unwrap();
        let headers = HeaderMap::new();
        let bodies: [&[u8]; 2] = [
            b"Your API calls limit has been reached for report type installs_report",
            br#"{"message":"Your API call limit has been reached for the given report type"}"#,
        ];

        for body in bodies {
            // Act
            let error = refusal_at(now, &asked(Some(2)), 400, &headers, body);

            // Assert
            assert!(
                matches!(&error, AppsflyerError::LimitReached { status: 400, .. }),
                "{error}"
            );
            assert_eq!(until(&error), Some(midnight), "{error}");
        }
    }

    #[test]
    fn three_days_are_a_long_range_and_a_quota_answer_carries_the_asked_scope() {
        // Arrange
        let now: DateTime<Utc> = "2025-06-30T23:59:30Z".parse().unwrap();
        let headers = HeaderMap::new();
        let limit = b"Limit reached for geo_by_date_report";
        let app_list = Asked {
            app_id: "",
            days: None,
            bucket: None,
            scope: "appsflyer:app_list".to_owned(),
        };

        // Act
        let three_days = refusal_at(now, &asked(Some(3)), 403, &headers, limit);
        let one_day = refusal_at(now, &asked(Some(1)), 403, &headers, limit);
        let listed = refusal_at(now, &app_list, 429, &headers, b"");

        // Assert
        assert_eq!(
            three_days.class(),
            ErrorClass::Throttled {
                until: "2025-07-01T00:00:00Z".parse().unwrap(),
                scope: scope(),
            }
        );
        assert_eq!(until(&one_day), Some(now + MINUTE));
        assert_eq!(
            listed.class(),
            ErrorClass::Throttled {
                until: now + MINUTE,
                scope: "appsflyer:app_list".to_owned(),
            }
        );
    }

    #[test]
    fn a_quota_wording_under_another_status_is_no_quota_answer() {
        let now = Utc::now();
        let headers = HeaderMap::new();
        let raw_as_403 = refusal_at(
            now,
            &asked(Some(7)),
            403,
            &headers,
            b"Your API calls limit has been reached for report type",
        );
        let aggregate_as_400 = refusal_at(
            now,
            &asked(Some(7)),
            400,
            &headers,
            b"Limit reached for partners_by_date_report",
        );
        assert!(matches!(raw_as_403, AppsflyerError::Forbidden { .. }));
        assert!(matches!(
            aggregate_as_400,
            AppsflyerError::BadRequest { .. }
        ));
    }

    #[test]
    fn a_server_error_keeps_its_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, " 30 ".parse().unwrap());
        let error = refusal_at(Utc::now(), &asked(Some(7)), 503, &headers, b"busy");
        assert_eq!(
            error.class(),
            ErrorClass::Transient {
                retry_after: Some(Duration::from_secs(30))
            }
        );
    }

    #[test]
    fn other_answers_become_the_matching_error() {
        let now = Utc::now();
        let headers = HeaderMap::new();
        let error = |status, body: &[u8]| refusal_at(now, &asked(Some(7)), status, &headers, body);
        assert!(matches!(
            error(401, br#"{"message":"Supplied API token is invalid"}"#),
            AppsflyerError::Unauthorized { message } if message == "Supplied API token is invalid"
        ));
        assert!(matches!(
            error(403, b"Account may be suspended"),
            AppsflyerError::Forbidden { .. }
        ));
        assert!(matches!(
            error(404, b"<html>404</html>"),
            AppsflyerError::AppNotFound { app_id } if app_id == "id1"
        ));
        assert!(matches!(
            error(400, br#"{"message":"bad dates"}"#),
            AppsflyerError::BadRequest { message } if message == "bad dates"
        ));
        assert_eq!(
            error(504, b"<html>504 Gateway Time-out</html>").class(),
            ErrorClass::Transient { retry_after: None }
        );
        assert_eq!(error(501, b"").class(), ErrorClass::Permanent);
    }

    #[test]
    fn daily_quotas_reset_at_the_next_utc_midnight() {
        let now: DateTime<Utc> = "2025-06-30T23:59:59Z".parse().unwrap();
        assert_eq!(
            next_utc_midnight(now),
            "2025-07-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn the_country_breakdown_reads_the_geo_report() {
        assert_eq!(report_name(&[]), "partners_by_date_report");
        assert_eq!(report_name(&[Breakdown::Country]), "geo_by_date_report");
    }

    #[test]
    fn account_ids_are_ios_or_android_app_ids() {
        for good in ["id1234567", "com.example.game"] {
            assert_eq!(CONNECTOR.parse_account_id(good).unwrap(), good);
        }
        for bad in ["id", "com..example", "example"] {
            let error = CONNECTOR.parse_account_id(bad).unwrap_err();
            assert_eq!(error.field, "external_id", "{bad}");
            assert!(error.message.contains(bad), "{}", error.message);
        }
        let error = CONNECTOR
            .parse_connection_settings(&serde_json::json!({"login_customer_id": "1234567890"}))
            .unwrap_err();
        assert_eq!(error.field, "settings.login_customer_id");
        assert!(
            CONNECTOR
                .parse_connection_settings(&serde_json::json!([]))
                .is_err()
        );
    }
}
