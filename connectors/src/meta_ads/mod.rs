//! Meta Marketing API: ad account insights read synchronously page by page, the campaign, ad set
//! and ad hierarchy, the accounts a login reaches, and long-lived token re-exchange.
//!
//! Insights: `GET /v{N}/act_{id}/insights?level=…&time_range={…}&time_increment=1&fields=…`
//! (`&breakdowns=…`), cursor paging with `after` while the page has `paging.next`; a window
//! Meta refuses as too much data (HTTP 500, code 1) is read again as two halves. Metrics arrive
//! as JSON strings in the account's currency (major units); conversions are the `purchase`
//! entries of `actions` and `action_values`. Throttling arrives as HTTP 400 with codes
//! 4/17/32/613/80000–80014 and a regain estimate in the usage headers, which also feed the
//! shared rate budgets; expired tokens as code 190. Meta has no refresh grant: a long-lived token
//! is exchanged for a new one (`fb_exchange_token`) while it is still valid, so an expired token
//! means the user must log in again.

mod oauth;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::Stream;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use serde::de::DeserializeOwned;
use shared::domain::{
    Breakdown, ConnectorKind, DateWindow, InvalidField, Metric, ReportLevel, Stream as ReportStream,
};
use shared::error::{Classify, ErrorClass};

use crate::catalogue::{ALL_LEVELS, Catalogue, ENTITY_LEVELS};
use crate::connector::{
    AccountInfo, Connector, ConnectorError, ReportRequest, boxed_accounts, boxed_pages,
    class_of_http, invalid_account_id, is_digits,
};
use crate::oauth::OAuth;
use crate::platform::{HttpError, Platform};
use crate::rows::Row;
use crate::tokens::TokenError;
use wire::{AccountsPage, ApiError, EntityPage, ErrorEnvelope, InsightsPage};

/// Meta, as the registry knows it.
pub struct MetaAds;

/// The registry's entry for Meta.
pub static CONNECTOR: MetaAds = MetaAds;

static CATALOGUE: Catalogue = Catalogue {
    connector: ConnectorKind::MetaAds,
    levels: ALL_LEVELS,
    metrics: &[
        Metric::Impressions,
        Metric::Clicks,
        Metric::Spend,
        Metric::Reach,
        Metric::Conversions,
        Metric::ConversionValue,
    ],
    breakdowns: &[
        Breakdown::Age,
        Breakdown::Gender,
        Breakdown::Country,
        Breakdown::Platform,
        Breakdown::Placement,
    ],
    max_breakdowns: 2,
    report_types: &[],
    entity_levels: ENTITY_LEVELS,
    default_lookback_days: 28,
    max_days_per_request: 31,
};

impl Connector for MetaAds {
    fn catalogue(&self) -> &'static Catalogue {
        &CATALOGUE
    }

    fn config_defaults(&self) -> &'static str {
        include_str!("config.toml")
    }

    fn sandbox_urls(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("base_url", "/meta_ads"),
            ("token_url", "/meta_ads/v24.0/oauth/access_token"),
            ("revoke_url", "/meta_ads/v24.0/me/permissions"),
        ]
    }

    /// Ad account digits; the `act_` prefix people copy from Ads Manager is removed.
    fn parse_account_id(&self, raw: &str) -> Result<String, InvalidField> {
        let id = raw.strip_prefix("act_").unwrap_or(raw);
        if !is_digits(id, 1, 20) {
            return Err(invalid_account_id(
                raw,
                "is not a Meta ad account id (digits, optionally after \"act_\")",
            ));
        }
        Ok(id.to_string())
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

/// Refresh a long-lived token when it expires within this (they live about 60 days).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(7 * 24 * 3600);

/// A failure talking to Meta. Messages never contain tokens or URLs with tokens.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("meta_ads: {0}")]
    Http(#[from] HttpError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("meta_ads answered HTTP {status} with error code {code}{subcode}: {message}",
        code = error.code,
        subcode = error.error_subcode.map(|s| format!("/{s}")).unwrap_or_default(),
        message = error.message)]
    Api {
        status: u16,
        error: ApiError,
        /// When the platform says the throttled budget is available again.
        regain_at: Option<DateTime<Utc>>,
        account_id: String,
    },
    #[error("meta_ads answered HTTP {status} with a body that is not a Graph API error")]
    UnexpectedBody { status: u16 },
    #[error("meta_ads {what} page {page} is malformed: {detail}")]
    Malformed {
        what: &'static str,
        page: u32,
        detail: String,
    },
}

/// How long to wait for a throttled budget when the platform gives no estimate.
const DEFAULT_THROTTLE_WAIT: Duration = Duration::from_secs(60);

impl Classify for MetaError {
    fn class(&self) -> ErrorClass {
        match self {
            MetaError::Http(error) => class_of_http(error),
            MetaError::Token(error) => error.class(),
            MetaError::Api {
                status,
                error,
                regain_at,
                account_id,
            } => classify_api_error(*status, error, *regain_at, account_id),
            MetaError::UnexpectedBody { status } => {
                shared::error::class_of_http_status(*status, None)
            }
            MetaError::Malformed { .. } => ErrorClass::Permanent,
        }
    }
}

/// Application, user, page, custom, and business-use-case rate limits.
fn is_throttle(code: i64) -> bool {
    matches!(code, 4 | 17 | 32 | 341 | 613 | 80000..=80014)
}

fn classify_api_error(
    status: u16,
    error: &ApiError,
    regain_at: Option<DateTime<Utc>>,
    account_id: &str,
) -> ErrorClass {
    match error.code {
        // Invalid, expired or missing access token, or a dead API session.
        190 | 102 | 104 => ErrorClass::Auth,
        code if is_throttle(code) => ErrorClass::Throttled {
            until: regain_at.unwrap_or_else(|| Utc::now() + DEFAULT_THROTTLE_WAIT),
            scope: format!("meta_ads:account:{account_id}"),
        },
        // Unknown error and "service temporarily unavailable".
        1 | 2 => ErrorClass::Transient { retry_after: None },
        _ if error.is_transient == Some(true) || status >= 500 => {
            ErrorClass::Transient { retry_after: None }
        }
        _ => ErrorClass::Permanent,
    }
}

/// Meta's name for a report level.
fn level_name(level: ReportLevel) -> &'static str {
    match level {
        ReportLevel::Account => "account",
        ReportLevel::Campaign => "campaign",
        ReportLevel::AdGroup => "adset",
        ReportLevel::Ad => "ad",
    }
}

/// Meta's name for a breakdown.
fn breakdown_name(breakdown: Breakdown) -> &'static str {
    match breakdown {
        Breakdown::Age => "age",
        Breakdown::Gender => "gender",
        Breakdown::Country => "country",
        Breakdown::Platform => "publisher_platform",
        Breakdown::Placement => "platform_position",
    }
}

/// Where the pages of one request come from, and how they map to rows.
#[derive(Clone, Copy)]
enum Source {
    Insights,
    Entities(ReportLevel),
}

struct Cursor {
    /// Windows still to read, the next one last: a window Meta finds too large is replaced by
    /// its two halves.
    windows: Vec<DateWindow>,
    after: Option<String>,
    /// Pages read so far, over every window.
    page: u32,
    /// Pages read of the current window.
    window_pages: u32,
}

/// Reads every page of the report (or entities stream), in order. A window Meta refuses as too
/// much data (HTTP 500, code 1) before its first page is read again as two halves, down to
/// single days.
fn report_pages(
    platform: Arc<Platform>,
    request: ReportRequest,
) -> impl Stream<Item = Result<Vec<Row>, MetaError>> + Send + 'static {
    let source = match request.report.stream {
        ReportStream::Performance => Source::Insights,
        ReportStream::Entities => Source::Entities(request.report.level),
    };
    let start = Cursor {
        windows: vec![request.window],
        after: None,
        page: 0,
        window_pages: 0,
    };
    futures_util::stream::try_unfold(start, move |mut cursor| {
        let platform = platform.clone();
        let request = request.clone();
        async move {
            loop {
                let Some(window) = cursor.windows.last().copied() else {
                    return Ok(None);
                };
                let page = cursor.page + 1;
                let windowed = ReportRequest {
                    window,
                    ..request.clone()
                };
                let read = read_page(&platform, &windowed, source, cursor.after.as_deref(), page);
                let (rows, next_after) = match read.await {
                    Ok(read) => read,
                    Err(error)
                        if cursor.window_pages == 0
                            && window.days() > 1
                            && is_too_much_data(&error) =>
                    {
                        cursor.windows.pop();
                        let halves = window.chunks(window.days().div_ceil(2));
                        cursor.windows.extend(halves.into_iter().rev());
                        continue;
                    }
                    Err(error) => return Err(error),
                };
                // Guard against cursors that keep offering a next page with no rows, or repeat.
                let window_done =
                    next_after.is_none() || rows.is_empty() || next_after == cursor.after;
                let next = if window_done {
                    cursor.windows.pop();
                    Cursor {
                        windows: cursor.windows,
                        after: None,
                        page,
                        window_pages: 0,
                    }
                } else {
                    Cursor {
                        windows: cursor.windows,
                        after: next_after,
                        page,
                        window_pages: cursor.window_pages + 1,
                    }
                };
                return Ok(Some((rows, next)));
            }
        }
    })
}

/// One page of insights or entities, and the cursor of the next.
async fn read_page(
    platform: &Platform,
    request: &ReportRequest,
    source: Source,
    after: Option<&str>,
    page: u32,
) -> Result<(Vec<Row>, Option<String>), MetaError> {
    match source {
        Source::Insights => {
            let query = insights_query(platform, request);
            let body: InsightsPage =
                fetch(platform, request, "insights", &query, after, page).await?;
            let rows = wire::insights_rows(&body, &request.report, page)?;
            Ok((rows, wire::next_cursor(body.paging.as_ref())))
        }
        Source::Entities(level) => {
            let edge = wire::entity_edge(level);
            let query = entity_query(platform, level);
            let body: EntityPage = fetch(platform, request, edge, &query, after, page).await?;
            let rows = wire::entity_rows(&body, level, &request.account.currency, page)?;
            Ok((rows, wire::next_cursor(body.paging.as_ref())))
        }
    }
}

/// Meta's answer to a request for more rows than it serves at once.
fn is_too_much_data(error: &MetaError) -> bool {
    matches!(error, MetaError::Api { status: 500, error, .. }
        if error.code == 1 && error.message.contains("reduce the amount of data"))
}

fn insights_query(platform: &Platform, request: &ReportRequest) -> Vec<(&'static str, String)> {
    let report = &request.report;
    let mut fields: Vec<&str> = wire::dimension_fields(report.level).to_vec();
    fields.push("date_start");
    fields.extend(
        report
            .fetched_metrics()
            .iter()
            .map(|metric| wire::metric_field(*metric)),
    );
    fields.dedup();
    let mut query = vec![
        ("level", level_name(report.level).to_string()),
        (
            "time_range",
            serde_json::json!({
                "since": request.window.start().to_string(),
                "until": request.window.end().to_string(),
            })
            .to_string(),
        ),
        ("time_increment", "1".to_string()),
        ("fields", fields.join(",")),
        ("limit", platform.settings.page_size.to_string()),
    ];
    if !report.breakdowns.is_empty() {
        let names: Vec<&str> = report
            .breakdowns
            .iter()
            .map(|b| breakdown_name(*b))
            .collect();
        query.push(("breakdowns", names.join(",")));
    }
    query
}

fn entity_query(platform: &Platform, level: ReportLevel) -> Vec<(&'static str, String)> {
    vec![
        ("fields", wire::entity_fields(level).to_string()),
        ("limit", platform.settings.page_size.to_string()),
    ]
}

/// One page from an edge of the ad account (`insights`, `campaigns`, …), within the shared
/// budgets, feeding usage headers back and blocking the budget on a throttle.
async fn fetch<T: DeserializeOwned>(
    platform: &Platform,
    request: &ReportRequest,
    edge: &'static str,
    query: &[(&'static str, String)],
    after: Option<&str>,
    page: u32,
) -> Result<T, MetaError> {
    let account_id = &request.account.external_id;
    let url = platform.url(&format!("/act_{account_id}/{edge}"));
    let mut query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if let Some(after) = after {
        query.push(("after", after));
    }
    let app = platform.app_bucket();
    let account = platform.account_bucket(account_id);
    let body = platform
        .with_fresh_token(is_token_refusal, |token| {
            let (app, account, query, url) = (&app, &account, &query, &url);
            async move {
                let response = platform
                    .send(&[app.clone(), account.clone()], || {
                        platform.client.get(url).query(query).bearer_auth(&token)
                    })
                    .await?;
                let status = response.status().as_u16();
                let usage = wire::Usage::from_headers(response.headers(), Utc::now());
                if let Some(percent) = usage.account_percent {
                    platform.report_usage(account, percent).await;
                }
                if let Some(percent) = usage.app_percent {
                    platform.report_usage(app, percent).await;
                }
                let body = response
                    .bytes()
                    .await
                    .map_err(|error| MetaError::Http(HttpError::Transport(error.without_url())))?;
                if status != 200 {
                    let error = api_error(status, &body, usage.regain_at, account_id);
                    if let MetaError::Api { error: api, .. } = &error
                        && is_throttle(api.code)
                    {
                        let until = usage
                            .regain_at
                            .unwrap_or_else(|| Utc::now() + DEFAULT_THROTTLE_WAIT);
                        platform.block(account, until).await;
                    }
                    return Err(error);
                }
                Ok(body)
            }
        })
        .await?;
    parse(&body, edge, page)
}

/// Meta refused the access token (code 190): worth one re-exchange, which fails for a token
/// that is really dead.
fn is_token_refusal(error: &MetaError) -> bool {
    matches!(error, MetaError::Api { error, .. } if error.code == 190)
}

fn parse<T: DeserializeOwned>(body: &[u8], what: &'static str, page: u32) -> Result<T, MetaError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|error| MetaError::Malformed {
        what,
        page,
        detail: format!("{}: {}", error.path(), error.inner()),
    })
}

fn api_error(
    status: u16,
    body: &[u8],
    regain_at: Option<DateTime<Utc>>,
    account_id: &str,
) -> MetaError {
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(envelope) => MetaError::Api {
            status,
            error: envelope.error,
            regain_at,
            account_id: account_id.to_string(),
        },
        Err(_) => MetaError::UnexpectedBody { status },
    }
}

/// The ad accounts the login reaches (`GET /me/adaccounts`).
async fn list_accounts(platform: &Platform) -> Result<Vec<AccountInfo>, MetaError> {
    let url = platform.url("/me/adaccounts");
    let mut accounts = Vec::new();
    let mut after: Option<String> = None;
    for page in 1.. {
        let token = platform.tokens.access_token().await?;
        let mut query = vec![
            (
                "fields",
                "account_id,name,currency,timezone_name".to_string(),
            ),
            ("limit", "100".to_string()),
        ];
        if let Some(after) = &after {
            query.push(("after", after.clone()));
        }
        let response = platform
            .send(&[platform.app_bucket()], || {
                platform.client.get(&url).query(&query).bearer_auth(&token)
            })
            .await?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|error| MetaError::Http(HttpError::Transport(error.without_url())))?;
        if status != 200 {
            return Err(api_error(status, &body, None, "me"));
        }
        let listed: AccountsPage = parse(&body, "adaccounts", page)?;
        let next = wire::next_cursor(listed.paging.as_ref());
        let empty = listed.data.is_empty();
        accounts.extend(listed.data.into_iter().map(|account| AccountInfo {
            external_id: account.account_id,
            name: account.name,
            time_zone: account.timezone_name,
            currency: account.currency,
            reached_through: None,
        }));
        if next.is_none() || empty || next == after {
            break;
        }
        after = next;
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: i64) -> ApiError {
        ApiError {
            message: "m".into(),
            kind: Some("OAuthException".into()),
            code,
            error_subcode: None,
            is_transient: None,
        }
    }

    #[test]
    fn meta_error_codes_are_classified_as_the_platform_documents() {
        let regain = Utc::now() + Duration::from_secs(300);
        let throttled = classify_api_error(400, &api(80000), Some(regain), "42");
        assert_eq!(
            throttled,
            ErrorClass::Throttled {
                until: regain,
                scope: "meta_ads:account:42".into()
            }
        );
        for code in [4, 17, 32, 613, 80004] {
            assert_eq!(
                classify_api_error(400, &api(code), None, "1").name(),
                "throttled",
                "{code}"
            );
        }
        assert_eq!(
            classify_api_error(400, &api(190), None, "1"),
            ErrorClass::Auth
        );
        assert_eq!(
            classify_api_error(500, &api(2), None, "1"),
            ErrorClass::Transient { retry_after: None }
        );
        assert_eq!(
            classify_api_error(400, &api(100), None, "1"),
            ErrorClass::Permanent
        );
        assert_eq!(
            classify_api_error(503, &api(9999), None, "1").name(),
            "transient"
        );
    }

    #[test]
    fn account_ids_are_digits_with_an_optional_act_prefix() {
        assert_eq!(CONNECTOR.parse_account_id("act_123").unwrap(), "123");
        assert_eq!(CONNECTOR.parse_account_id("123").unwrap(), "123");
        for bad in ["", "act_", "12a", "act_-1", "1 2"] {
            let error = CONNECTOR.parse_account_id(bad).unwrap_err();
            assert_eq!(error.field, "external_id", "{bad}");
            assert!(
                error.message.contains(&format!("{bad:?}")),
                "{}",
                error.message
            );
        }
    }
}
