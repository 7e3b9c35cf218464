//! TikTok Marketing API (API for Business) v1.3: integrated reports read synchronously page by
//! page, the campaign, ad group and ad lists, and the advertisers a token reaches.
//!
//! Reports: `GET /report/integrated/get/?advertiser_id&report_type=BASIC|AUDIENCE&data_level=…
//! &dimensions=[…]&metrics=[…]&start_date&end_date&page&page_size` (windows of at most 30 days,
//! `Catalogue::max_days_per_request`), paged until `page >= page_info.total_page`. Every path
//! ends with a slash, and the token travels in the `Access-Token` header. The `report_type` is
//! the catalogue's report type for the report's breakdowns: `BASIC` without any, `AUDIENCE`
//! with age, gender, country or platform — which TikTok refuses `reach` in (40002 `Invalid
//! metric fields`), so the catalogue refuses it there and a stored report asking for it fails
//! before anything is sent.
//!
//! TikTok answers nearly everything on HTTP 200 and says what happened in the body's `code`,
//! so the status alone tells nothing: 40100 (the app's QPS or QPM limit) and 40133 (the
//! advertiser's) are throttles without any delay hint or rate-limit header; 40102, 40104,
//! 40105 mean the token is dead (Marketing API tokens never expire on a timer and cannot be
//! refreshed, so the connection needs authorising again); 50000, 50002 and a few others are
//! transient, as is an HTTP 504 from the gateway without a JSON body.
//!
//! Throttles: the connector blocks the throttled bucket (`tiktok_ads:app` for 40100,
//! `tiktok_ads:account:<id>` for 40133) for everyone and ends the attempt as throttled, until a
//! documented default, because TikTok names no delay: [`QPS_WAIT`] (TikTok's advice is to retry
//! after the current second; a wait this short is slept in place by the next request that draws
//! on the bucket), [`QPM_WAIT`] when the message names the per-minute limit, and the next 00:00
//! UTC when it names the daily one.

mod oauth;
mod wire;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Days, Utc};
use futures_util::Stream;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use serde::de::DeserializeOwned;
use shared::db::rate_budgets::Bucket;
use shared::domain::{
    Breakdown, ConnectorKind, InvalidField, Metric, ReportLevel, Stream as ReportStream,
};
use shared::error::{Classify, ErrorClass, class_of_http_status};

use crate::catalogue::{ALL_LEVELS, Catalogue, ENTITY_LEVELS, ReportType};
use crate::connector::{
    AccountInfo, Connector, ConnectorError, ReportRequest, boxed_accounts, boxed_pages,
    class_of_http, invalid_account_id, is_digits,
};
use crate::oauth::OAuth;
use crate::platform::{HttpError, Platform};
use crate::rows::Row;
use crate::tokens::TokenError;
use wire::{AdvertiserInfo, Authorized, Envelope, Head, List, ListPage, ReportPage};

/// TikTok, as the registry knows it.
pub struct TiktokAds;

/// The registry's entry for TikTok.
pub static CONNECTOR: TiktokAds = TiktokAds;

static CATALOGUE: Catalogue = Catalogue {
    connector: ConnectorKind::TiktokAds,
    levels: ALL_LEVELS,
    metrics: &[
        Metric::Impressions,
        Metric::Clicks,
        Metric::Spend,
        Metric::Reach,
        Metric::Conversions,
    ],
    breakdowns: &[
        Breakdown::Age,
        Breakdown::Gender,
        Breakdown::Country,
        Breakdown::Platform,
    ],
    max_breakdowns: 2,
    report_types: &[
        // The integrated report without audience dimensions.
        ReportType {
            name: "BASIC",
            breakdowns: &[],
            metrics: &[
                Metric::Impressions,
                Metric::Clicks,
                Metric::Spend,
                Metric::Reach,
                Metric::Conversions,
            ],
        },
        // Split by audience: TikTok refuses `reach` (and `frequency`) here with 40002
        // "Invalid metric fields", since unique people cannot be split across segments.
        ReportType {
            name: "AUDIENCE",
            breakdowns: &[
                Breakdown::Age,
                Breakdown::Gender,
                Breakdown::Country,
                Breakdown::Platform,
            ],
            metrics: &[
                Metric::Impressions,
                Metric::Clicks,
                Metric::Spend,
                Metric::Conversions,
            ],
        },
    ],
    entity_levels: ENTITY_LEVELS,
    default_lookback_days: 7,
    max_days_per_request: 30,
};

impl Connector for TiktokAds {
    fn catalogue(&self) -> &'static Catalogue {
        &CATALOGUE
    }

    fn config_defaults(&self) -> &'static str {
        include_str!("config.toml")
    }

    fn sandbox_urls(&self) -> &'static [(&'static str, &'static str)] {
        &[("base_url", "/tiktok_ads/open_api")]
    }

    /// Advertiser ids are digits.
    fn parse_account_id(&self, raw: &str) -> Result<String, InvalidField> {
        if !is_digits(raw, 1, 20) {
            return Err(invalid_account_id(
                raw,
                "is not a TikTok advertiser id (digits)",
            ));
        }
        Ok(raw.to_string())
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

/// Marketing API tokens have no expiry, so nothing is ever refreshed ahead of time.
pub const REFRESH_MARGIN: Duration = Duration::ZERO;

/// How long a bucket stays blocked after a per-second throttle (40100 for QPS, 40133).
pub const QPS_WAIT: Duration = Duration::from_secs(1);
/// How long the app bucket stays blocked after the per-minute limit (a rolling minute).
pub const QPM_WAIT: Duration = Duration::from_secs(60);

/// The most pages one request is followed for; `page_info` claiming more is not believed.
const MAX_PAGES: u64 = 10_000;
/// The most advertiser ids one `advertiser/info/` call takes.
const INFO_BATCH: usize = 100;
/// TikTok's largest `page_size`.
const MAX_PAGE_SIZE: u32 = 1_000;

/// A failure talking to TikTok. Messages never contain tokens, secrets or URLs with them.
#[derive(Debug, thiserror::Error)]
pub enum TiktokError {
    #[error("tiktok_ads: {0}")]
    Http(#[from] HttpError),
    #[error(transparent)]
    Token(#[from] TokenError),
    /// 40100 or 40133: the app's or the advertiser's rate limit; `scope` was blocked until
    /// `until`.
    #[error("tiktok_ads {endpoint} throttled (code {code}) until {until}: {message}")]
    Throttled {
        endpoint: &'static str,
        code: i64,
        message: String,
        until: DateTime<Utc>,
        scope: String,
    },
    /// Any other non-zero body code.
    #[error("tiktok_ads {endpoint} answered code {code}: {message}")]
    Api {
        endpoint: &'static str,
        code: i64,
        message: String,
    },
    /// A status other than 200 (the gateway's 504 without JSON, a 404 for a wrong path).
    #[error("tiktok_ads {endpoint} answered HTTP {status}")]
    Status { endpoint: &'static str, status: u16 },
    #[error("tiktok_ads {endpoint} page {page} is malformed: {detail}")]
    Malformed {
        endpoint: &'static str,
        page: u64,
        detail: String,
    },
    /// The report asks for something TikTok cannot report (the catalogue should prevent it).
    #[error("tiktok_ads cannot report {0}")]
    Unsupported(String),
    /// The report combines what TikTok refuses together (a sync stored before the catalogue
    /// said so); nothing was sent.
    #[error("the report is not one TikTok accepts ({field}): {message}")]
    NotAccepted { field: String, message: String },
}

impl Classify for TiktokError {
    fn class(&self) -> ErrorClass {
        match self {
            TiktokError::Http(error) => class_of_http(error),
            TiktokError::Token(error) => error.class(),
            TiktokError::Throttled { until, scope, .. } => ErrorClass::Throttled {
                until: *until,
                scope: scope.clone(),
            },
            TiktokError::Api { code, .. } => class_of_code(*code),
            TiktokError::Status { status, .. } => class_of_http_status(*status, None),
            TiktokError::Malformed { .. }
            | TiktokError::Unsupported(_)
            | TiktokError::NotAccepted { .. } => ErrorClass::Permanent,
        }
    }
}

/// Rate-limit codes: the app's QPS/QPM (40100, and 40016 with the same text) and the
/// advertiser's QPS (40133).
fn is_throttle(code: i64) -> bool {
    matches!(code, 40100 | 40016 | 40133)
}

/// The class of a non-zero body code that is not a throttle.
fn class_of_code(code: i64) -> ErrorClass {
    match code {
        // Expired (40102), missing (40104) or invalid/revoked (40105) token, a token not valid
        // for the advertiser (40106), no permission on the advertiser (40001): only the user
        // authorising again helps.
        40001 | 40102 | 40104 | 40105 | 40106 => ErrorClass::Auth,
        // System errors (50000) and server-side processing errors (50002, the 51xxx family),
        // write conflicts, internal validation hiccups, tasks not ready, maintenance.
        50000 | 50002 | 51000..=51999 | 40200 | 40201 | 40202 | 40700 | 60001 => {
            ErrorClass::Transient { retry_after: None }
        }
        code if is_throttle(code) => ErrorClass::Transient {
            retry_after: Some(QPS_WAIT),
        },
        // Bad parameters (40002) and everything else.
        _ => ErrorClass::Permanent,
    }
}

/// How long TikTok's throttle `message` suggests waiting: the per-day limit resets at 00:00
/// UTC, the per-minute one within a minute, anything else (QPS) after the current second.
fn throttle_until(message: &str, now: DateTime<Utc>) -> DateTime<Utc> {
    let lower = message.to_lowercase();
    if lower.contains("qpd") || lower.contains("per day") || lower.contains("daily") {
        let tomorrow = now
            .date_naive()
            .checked_add_days(Days::new(1))
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .map(|midnight| midnight.and_utc());
        return tomorrow.unwrap_or(now + chrono::Duration::hours(24));
    }
    let wait = if lower.contains("qpm") || lower.contains("minute") {
        QPM_WAIT
    } else {
        QPS_WAIT
    };
    now + chrono::Duration::from_std(wait).unwrap_or_default()
}

/// Where one request goes and which budgets it draws on.
struct Target<'a> {
    endpoint: &'static str,
    app: &'a Bucket,
    /// The advertiser's bucket, for calls about one advertiser.
    account: Option<&'a Bucket>,
}

/// One call: within the shared budgets, with the connection's token in `Access-Token`, the
/// envelope read before `data`; throttles block their bucket; an expired token is refused once
/// more through `with_fresh_token` (which cannot renew it, so the error is `Auth`).
async fn call<T: DeserializeOwned>(
    platform: &Platform,
    target: &Target<'_>,
    query: &[(&str, String)],
    page: u64,
) -> Result<T, TiktokError> {
    let url = platform.url(target.endpoint);
    let buckets: Vec<Bucket> = std::iter::once(target.app.clone())
        .chain(target.account.cloned())
        .collect();
    let endpoint = target.endpoint;
    // The token answer that sent the call to renewal, to report it if renewal is impossible.
    let refused: Mutex<Option<(i64, String)>> = Mutex::new(None);
    let remember_refusal = |error: &TiktokError| {
        let is_refused = is_token_refused(error);
        if let (true, TiktokError::Api { code, message, .. }) = (is_refused, error)
            && let Ok(mut slot) = refused.lock()
        {
            *slot = Some((*code, message.clone()));
        }
        is_refused
    };
    let outcome = platform
        .with_fresh_token(remember_refusal, |token| {
            let (url, buckets) = (&url, &buckets);
            async move {
                let response = platform
                    .send(buckets, || {
                        platform
                            .client
                            .get(url)
                            .query(query)
                            .header("Access-Token", &token)
                    })
                    .await?;
                let status = response.status().as_u16();
                let body = response.bytes().await.map_err(|error| {
                    TiktokError::Http(HttpError::Transport(error.without_url()))
                })?;
                if status != 200 {
                    return Err(TiktokError::Status { endpoint, status });
                }
                let head: Head = parse(&body, endpoint, page)?;
                if head.code == 0 {
                    return Ok(body);
                }
                if is_throttle(head.code) {
                    let bucket = match (head.code, target.account) {
                        (40133, Some(account)) => account,
                        _ => target.app,
                    };
                    let until = throttle_until(&head.message, Utc::now());
                    platform.block(bucket, until).await;
                    return Err(TiktokError::Throttled {
                        endpoint,
                        code: head.code,
                        message: head.message,
                        until,
                        scope: bucket.key.clone(),
                    });
                }
                Err(TiktokError::Api {
                    endpoint,
                    code: head.code,
                    message: head.message,
                })
            }
        })
        .await;
    let body = match outcome {
        Ok(body) => body,
        // TikTok cannot renew tokens: its own refusal says more than "cannot refresh".
        Err(TiktokError::Token(TokenError::NotRefreshable(platform_name))) => {
            let refusal = refused.into_inner().ok().flatten();
            return Err(match refusal {
                Some((code, message)) => TiktokError::Api {
                    endpoint,
                    code,
                    message,
                },
                None => TiktokError::Token(TokenError::NotRefreshable(platform_name)),
            });
        }
        Err(error) => return Err(error),
    };
    let envelope: Envelope<T> = parse(&body, endpoint, page)?;
    Ok(envelope.data)
}

/// TikTok refused the token itself: expired (40102), missing (40104), invalid or revoked
/// (40105), not valid for this advertiser (40106). Worth the one renewal `with_fresh_token`
/// tries; TikTok has no refresher, so the job ends as needing authorisation, with TikTok's
/// answer kept as the error (see [`call`]).
fn is_token_refused(error: &TiktokError) -> bool {
    matches!(
        error,
        TiktokError::Api {
            code: 40102 | 40104 | 40105 | 40106,
            ..
        }
    )
}

fn parse<T: DeserializeOwned>(
    body: &[u8],
    endpoint: &'static str,
    page: u64,
) -> Result<T, TiktokError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|error| TiktokError::Malformed {
        endpoint,
        page,
        detail: format!("{}: {}", error.path(), error.inner()),
    })
}

/// What one request reads, page after page.
#[derive(Clone)]
enum Source {
    Report(Vec<(&'static str, String)>),
    Entities {
        endpoint: &'static str,
        level: ReportLevel,
        query: Vec<(&'static str, String)>,
    },
}

impl Source {
    fn endpoint(&self) -> &'static str {
        match self {
            Source::Report(_) => "/report/integrated/get/",
            Source::Entities { endpoint, .. } => endpoint,
        }
    }

    fn new(platform: &Platform, request: &ReportRequest) -> Result<Self, TiktokError> {
        let advertiser = request.account.external_id.clone();
        let page_size = platform
            .settings
            .page_size
            .clamp(1, MAX_PAGE_SIZE)
            .to_string();
        let report = &request.report;
        match report.stream {
            ReportStream::Performance => {
                let dimensions = wire::report_dimensions(report).map_err(|breakdown| {
                    TiktokError::Unsupported(format!("the {breakdown} breakdown"))
                })?;
                let metrics = wire::report_metrics(report)
                    .map_err(|metric| TiktokError::Unsupported(format!("{metric}")))?;
                // A report stored before the catalogue knew TikTok's rules is refused here,
                // without a request TikTok would refuse on every run.
                CATALOGUE
                    .check(report)
                    .map_err(|invalid| TiktokError::NotAccepted {
                        field: invalid.field,
                        message: invalid.message,
                    })?;
                let report_type = CATALOGUE
                    .report_type(report)
                    .map(|kind| kind.name)
                    .ok_or_else(|| TiktokError::Unsupported("these breakdowns together".into()))?;
                Ok(Source::Report(vec![
                    ("advertiser_id", advertiser),
                    ("service_type", "AUCTION".to_owned()),
                    ("report_type", report_type.to_owned()),
                    ("data_level", wire::data_level(report.level).to_owned()),
                    ("dimensions", json_array(&dimensions)),
                    ("metrics", json_array(&metrics)),
                    ("start_date", request.window.start().to_string()),
                    ("end_date", request.window.end().to_string()),
                    ("page_size", page_size),
                ]))
            }
            ReportStream::Entities => {
                let endpoint = wire::entity_endpoint(report.level).ok_or_else(|| {
                    TiktokError::Unsupported(format!("{} entities", report.level))
                })?;
                Ok(Source::Entities {
                    endpoint,
                    level: report.level,
                    query: vec![
                        ("advertiser_id", advertiser),
                        ("fields", json_array(wire::entity_fields(report.level))),
                        ("page_size", page_size),
                    ],
                })
            }
        }
    }
}

fn json_array(items: &[&str]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

/// Where the paging stands.
struct Cursor {
    page: u64,
    done: bool,
}

/// Whether `page` (1-based) is the last to read: the last page TikTok announces, or an empty
/// page whatever `total_page` says. A `total_page` beyond [`MAX_PAGES`] is not believed.
fn is_last_page(page: u64, total_page: u64, empty: bool) -> Result<bool, String> {
    if total_page > MAX_PAGES {
        return Err(format!(
            "data.page_info.total_page: {total_page} pages is more than the {MAX_PAGES} the connector follows"
        ));
    }
    Ok(page >= total_page || empty)
}

/// Reads every page of the report (or entities stream), in order.
fn report_pages(
    platform: Arc<Platform>,
    request: ReportRequest,
) -> impl Stream<Item = Result<Vec<Row>, TiktokError>> + Send + 'static {
    let start = Cursor {
        page: 0,
        done: false,
    };
    futures_util::stream::try_unfold(start, move |cursor| {
        let platform = platform.clone();
        let request = request.clone();
        async move {
            if cursor.done {
                return Ok(None);
            }
            let source = Source::new(&platform, &request)?;
            let page = cursor.page + 1;
            let mut query = match &source {
                Source::Report(query) | Source::Entities { query, .. } => query.clone(),
            };
            query.push(("page", page.to_string()));
            let app = platform.app_bucket();
            let account = platform.account_bucket(&request.account.external_id);
            let target = Target {
                endpoint: source.endpoint(),
                app: &app,
                account: Some(&account),
            };
            let malformed = |detail: String| TiktokError::Malformed {
                endpoint: source.endpoint(),
                page,
                detail,
            };
            let (rows, total_page, empty) = match &source {
                Source::Report(_) => {
                    let body: ReportPage = call(&platform, &target, &query, page).await?;
                    let rows = wire::report_rows(&body, &request.report).map_err(malformed)?;
                    (rows, body.page_info.total_page, body.list.is_empty())
                }
                Source::Entities { level, .. } => {
                    let body: ListPage = call(&platform, &target, &query, page).await?;
                    let rows = wire::entity_rows(&body, *level).map_err(malformed)?;
                    (rows, body.page_info.total_page, body.list.is_empty())
                }
            };
            let done = is_last_page(page, total_page, empty).map_err(malformed)?;
            Ok(Some((rows, Cursor { page, done })))
        }
    })
}

/// The advertisers the connection's token reaches (`oauth2/advertiser/get/` with the app's id
/// and secret), described by `advertiser/info/` in batches of 100.
async fn list_accounts(platform: &Platform) -> Result<Vec<AccountInfo>, TiktokError> {
    let app = platform.app_bucket();
    let authorized = Target {
        endpoint: "/oauth2/advertiser/get/",
        app: &app,
        account: None,
    };
    let query = [
        ("app_id", platform.settings.client_id.clone()),
        (
            "secret",
            platform.settings.client_secret.expose().to_owned(),
        ),
    ];
    let reached: List<Authorized> = call(platform, &authorized, &query, 1).await?;
    let ids: Vec<String> = reached
        .list
        .into_iter()
        .map(|advertiser| advertiser.advertiser_id)
        .collect();
    let info = Target {
        endpoint: "/advertiser/info/",
        app: &app,
        account: None,
    };
    let mut accounts = Vec::with_capacity(ids.len());
    for (batch, chunk) in ids.chunks(INFO_BATCH).enumerate() {
        let query = [
            (
                "advertiser_ids",
                serde_json::to_string(chunk).unwrap_or_else(|_| "[]".to_owned()),
            ),
            (
                "fields",
                json_array(&["advertiser_id", "name", "currency", "timezone"]),
            ),
        ];
        let described: List<AdvertiserInfo> = call(
            platform,
            &info,
            &query,
            u64::try_from(batch).unwrap_or(0) + 1,
        )
        .await?;
        accounts.extend(described.list.into_iter().map(|advertiser| AccountInfo {
            external_id: advertiser.advertiser_id,
            name: advertiser.name,
            time_zone: advertiser.timezone,
            currency: advertiser.currency,
            reached_through: None,
        }));
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_codes_are_classified_as_tiktok_documents() {
        for code in [40102, 40104, 40105, 40106, 40001] {
            assert_eq!(class_of_code(code), ErrorClass::Auth, "{code}");
        }
        for code in [
            50000, 50002, 40200, 40201, 40202, 40700, 51000, 51305, 51999, 60001,
        ] {
            assert_eq!(class_of_code(code).name(), "transient", "{code}");
        }
        for code in [40002, 40006, 40007, 40300, 12345] {
            assert_eq!(class_of_code(code), ErrorClass::Permanent, "{code}");
        }
    }

    #[test]
    fn paging_ends_at_total_page_or_an_empty_page_and_never_runs_away() {
        assert_eq!(is_last_page(1, 3, false), Ok(false));
        assert_eq!(is_last_page(3, 3, false), Ok(true));
        // No data at all: TikTok says total_page 0.
        assert_eq!(is_last_page(1, 0, true), Ok(true));
        // Data shifted between pages: an empty page ends the read.
        assert_eq!(is_last_page(2, 5, true), Ok(true));
        let error = is_last_page(1, MAX_PAGES + 1, false).unwrap_err();
        assert!(error.starts_with("data.page_info.total_page"), "{error}");
    }

    #[test]
    fn token_refusals_try_the_renewal_and_end_as_auth() {
        let api = |code| TiktokError::Api {
            endpoint: "/report/integrated/get/",
            code,
            message: "Access token is incorrect or has been revoked.".into(),
        };
        for code in [40102, 40104, 40105, 40106] {
            assert!(is_token_refused(&api(code)), "{code}");
            assert_eq!(api(code).class(), ErrorClass::Auth, "{code}");
        }
        for code in [40001, 40002, 40100, 50000] {
            assert!(!is_token_refused(&api(code)), "{code}");
        }
    }

    #[test]
    fn errors_classify_by_what_happened() {
        let until = Utc::now() + chrono::Duration::seconds(1);
        let throttled = TiktokError::Throttled {
            endpoint: "/report/integrated/get/",
            code: 40100,
            message: "Requests made too frequently".into(),
            until,
            scope: "tiktok_ads:app".into(),
        };
        assert_eq!(
            throttled.class(),
            ErrorClass::Throttled {
                until,
                scope: "tiktok_ads:app".into()
            }
        );
        let gateway = TiktokError::Status {
            endpoint: "/report/integrated/get/",
            status: 504,
        };
        assert_eq!(gateway.class().name(), "transient");
        let not_found = TiktokError::Status {
            endpoint: "/report/integrated/get",
            status: 404,
        };
        assert_eq!(not_found.class(), ErrorClass::Permanent);
        let malformed = TiktokError::Malformed {
            endpoint: "/ad/get/",
            page: 2,
            detail: "data.list[0].ad_name: not a string".into(),
        };
        assert_eq!(malformed.class(), ErrorClass::Permanent);
        assert!(malformed.to_string().contains("page 2"));
    }

    #[test]
    fn throttle_waits_follow_the_limit_the_message_names() {
        let now: DateTime<Utc> = "2026-03-14T10:00:30Z".parse().unwrap();
        assert_eq!(
            throttle_until("Requests made too frequently.", now),
            now + chrono::Duration::seconds(1)
        );
        assert_eq!(
            throttle_until("The app has exceeded its QPM limit", now),
            now + chrono::Duration::seconds(60)
        );
        assert_eq!(
            throttle_until("Exceeded the QPD limit", now),
            "2026-03-15T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn the_envelope_head_is_read_before_the_data() {
        let throttled = br#"{"code":40100,"message":"Requests made too frequently","request_id":"1","data":{}}"#;
        let head: Head = parse(throttled, "/report/integrated/get/", 1).unwrap();
        assert_eq!(head.code, 40100);
        let broken =
            br#"{"code":0,"message":"OK","data":{"list":[],"page_info":{"total_page":"1 of 1"}}}"#;
        let error = parse::<Envelope<ListPage>>(broken, "/campaign/get/", 1).unwrap_err();
        assert!(
            error.to_string().contains("data.page_info.total_page"),
            "{error}"
        );
        let not_json = parse::<Head>(b"<html>504</html>", "/ad/get/", 1).unwrap_err();
        assert_eq!(not_json.class(), ErrorClass::Permanent);
    }

    #[test]
    fn account_ids_are_advertiser_digits() {
        assert_eq!(
            CONNECTOR.parse_account_id("7012345678901234567").unwrap(),
            "7012345678901234567"
        );
        let error = CONNECTOR.parse_account_id("adv-1").unwrap_err();
        assert_eq!(error.field, "external_id");
        assert!(error.message.contains("adv-1"), "{}", error.message);
    }
}
