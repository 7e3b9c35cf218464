//! Meta Marketing API: ad account insights, read synchronously page by page.
//!
//! `GET /v{N}/act_{id}/insights?level=…&time_range={…}&time_increment=1&fields=…&limit=…`, cursor
//! paging with `after` while the page has `paging.next`. Metrics arrive as JSON strings in the
//! account's currency (major units). Throttling arrives as HTTP 400 with codes 4/17/32/613/
//! 80000–80014 and a regain estimate in the usage headers; expired tokens as code 190.

mod wire;

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::Stream;
use shared::domain::ReportLevel;
use shared::error::{Classify, ErrorClass};

use super::{Http, ReportRequest, ReportRow};
use wire::{ApiError, ErrorEnvelope, InsightsPage};

/// A failure talking to Meta. Messages never contain tokens or URLs with tokens.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("meta_ads request failed: {0}")]
    Transport(#[source] reqwest::Error),
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
    #[error("meta_ads insights page {page} is malformed: {detail}")]
    Malformed { page: u32, detail: String },
}

/// How long to wait for a throttled budget when the platform gives no estimate.
const DEFAULT_THROTTLE_WAIT: Duration = Duration::from_secs(60);

impl Classify for MetaError {
    fn class(&self) -> ErrorClass {
        match self {
            MetaError::Transport(_) => ErrorClass::Transient { retry_after: None },
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

fn classify_api_error(
    status: u16,
    error: &ApiError,
    regain_at: Option<DateTime<Utc>>,
    account_id: &str,
) -> ErrorClass {
    match error.code {
        // Invalid, expired or missing access token, or a dead API session.
        190 | 102 | 104 => ErrorClass::Auth,
        // Application, user, page, custom, and business-use-case rate limits.
        4 | 17 | 32 | 341 | 613 | 80000..=80014 => ErrorClass::Throttled {
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

/// The `fields` parameter: dimension fields for the level, the day, then the metrics.
fn fields_param(request: &ReportRequest) -> String {
    let mut fields: Vec<&str> = wire::dimension_fields(request.report.level).to_vec();
    fields.push("date_start");
    fields.extend(request.report.metrics.iter().map(|metric| metric.as_str()));
    fields.join(",")
}

struct Cursor {
    after: Option<String>,
    page: u32,
    done: bool,
}

/// Reads every page of the report, in order.
pub(crate) fn report_pages(
    http: Http,
    request: ReportRequest,
) -> impl Stream<Item = Result<Vec<ReportRow>, MetaError>> + Send + 'static {
    let start = Cursor {
        after: None,
        page: 0,
        done: false,
    };
    futures_util::stream::try_unfold(start, move |cursor| {
        let http = http.clone();
        let request = request.clone();
        async move {
            if cursor.done {
                return Ok(None);
            }
            let page_number = cursor.page + 1;
            let page = fetch_page(&http, &request, cursor.after.as_deref(), page_number).await?;
            let rows = wire::rows(&page, &request.report, page_number)?;
            let next_after = page
                .paging
                .as_ref()
                .filter(|paging| paging.next.is_some())
                .and_then(|paging| paging.cursors.as_ref())
                .and_then(|cursors| cursors.after.clone());
            // Guard against cursors that keep offering a next page with no rows, or that repeat.
            let done = next_after.is_none() || rows.is_empty() || next_after == cursor.after;
            let next = Cursor {
                after: next_after,
                page: page_number,
                done,
            };
            Ok(Some((rows, next)))
        }
    })
}

async fn fetch_page(
    http: &Http,
    request: &ReportRequest,
    after: Option<&str>,
    page: u32,
) -> Result<InsightsPage, MetaError> {
    let settings = &http.connectors.meta_ads;
    let url = format!(
        "{}/{}/act_{}/insights",
        settings.base_url.trim_end_matches('/'),
        settings.api_version,
        request.account.external_id
    );
    let time_range = serde_json::json!({
        "since": request.window.start().to_string(),
        "until": request.window.end().to_string(),
    })
    .to_string();
    let fields = fields_param(request);
    let limit = settings.page_size.to_string();
    let mut query = vec![
        ("level", level_name(request.report.level)),
        ("time_range", time_range.as_str()),
        ("time_increment", "1"),
        ("fields", fields.as_str()),
        ("limit", limit.as_str()),
    ];
    if let Some(after) = after {
        query.push(("after", after));
    }
    http.count_call();
    let response = http
        .client
        .get(&url)
        .query(&query)
        .bearer_auth(&request.tokens.access_token)
        .timeout(Duration::from_millis(settings.timeout_ms))
        .send()
        .await
        .map_err(|error| MetaError::Transport(error.without_url()))?;
    let status = response.status().as_u16();
    crate::metrics::record_platform_request("meta_ads", status);
    let regain_at = wire::regain_at(response.headers(), Utc::now());
    let body = response
        .bytes()
        .await
        .map_err(|error| MetaError::Transport(error.without_url()))?;
    if status != 200 {
        return Err(api_error(
            status,
            &body,
            regain_at,
            &request.account.external_id,
        ));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(&body);
    serde_path_to_error::deserialize(deserializer).map_err(|error| MetaError::Malformed {
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
}
