//! TikTok's answers: the `{code, message, request_id, data}` envelope that carries both results
//! and errors on HTTP 200, and the bare gateway failures (HTTP 504 without JSON) in front of it.
//!
//! TikTok signals almost everything, throttling and dead tokens included, with HTTP 200 and a
//! non-zero `code`. The messages below follow TikTok's where a public source quotes them; the
//! others are written in the same style (unverified).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;
use serde_json::json;

use crate::rng::fnv1a64;
use crate::state::Sandbox;
use crate::wire;

/// Body codes the sandbox answers with.
pub(crate) mod code {
    /// Success.
    pub(crate) const OK: u32 = 0;
    /// No permission to operate the advertiser.
    pub(crate) const NO_PERMISSION: u32 = 40001;
    /// Invalid or missing parameters.
    pub(crate) const INVALID_PARAMETERS: u32 = 40002;
    /// The app's QPS or QPM limit is reached.
    pub(crate) const APP_THROTTLED: u32 = 40100;
    /// The access token has expired.
    pub(crate) const TOKEN_EXPIRED: u32 = 40102;
    /// No `Access-Token` header.
    pub(crate) const TOKEN_EMPTY: u32 = 40104;
    /// The access token is invalid or was revoked.
    pub(crate) const TOKEN_INVALID: u32 = 40105;
    /// The auth code is invalid, expired or already used.
    pub(crate) const AUTH_CODE_INVALID: u32 = 40110;
    /// The advertiser's QPS limit for the endpoint is reached.
    pub(crate) const ADVERTISER_THROTTLED: u32 = 40133;
    /// A system error; retry later.
    pub(crate) const SYSTEM_ERROR: u32 = 50000;
}

/// One error answer, ready to be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TiktokError {
    pub(crate) code: u32,
    pub(crate) message: String,
}

impl TiktokError {
    fn new(code: u32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// 40002 naming the parameter, in TikTok's `field: problem` style.
    pub(crate) fn invalid(field: &str, problem: impl AsRef<str>) -> Self {
        Self::new(
            code::INVALID_PARAMETERS,
            format!("{field}: {}", problem.as_ref()),
        )
    }

    /// 40002 for metrics TikTok does not know or does not serve in the report type, in its own
    /// words: `Invalid metric fields: ['reach']`.
    pub(crate) fn invalid_metrics(names: &[&String]) -> Self {
        let quoted: Vec<String> = names.iter().map(|name| format!("'{name}'")).collect();
        Self::new(
            code::INVALID_PARAMETERS,
            format!("Invalid metric fields: [{}]", quoted.join(", ")),
        )
    }

    /// 40002 for a missing required parameter.
    pub(crate) fn missing(field: &str) -> Self {
        Self::invalid(field, "Missing data for required field.")
    }

    /// 40002: the date range is longer than a daily report allows.
    pub(crate) fn span_too_long(max_days: i64) -> Self {
        Self::new(
            code::INVALID_PARAMETERS,
            format!(
                "The time span between start_date and end_date must not exceed {max_days} days when the dimensions include stat_time_day. Please narrow down the date range."
            ),
        )
    }

    /// 40100: the app made too many requests in the current second.
    pub(crate) fn app_qps() -> Self {
        Self::new(
            code::APP_THROTTLED,
            "Requests made too frequently. The app has exceeded its QPS limit; please retry after the current second.",
        )
    }

    /// 40100: the app made too many requests in the current minute.
    pub(crate) fn app_qpm() -> Self {
        Self::new(
            code::APP_THROTTLED,
            "Requests made too frequently. The app has exceeded its QPM limit; please retry after the current minute.",
        )
    }

    /// 40133: the advertiser made too many requests to this endpoint in the current second.
    pub(crate) fn advertiser_qps() -> Self {
        Self::new(
            code::ADVERTISER_THROTTLED,
            "Requests made too frequently. The advertiser has exceeded its QPS limit for this endpoint; please retry after the current second.",
        )
    }

    /// 40102.
    pub(crate) fn token_expired() -> Self {
        Self::new(code::TOKEN_EXPIRED, "Access token has expired.")
    }

    /// 40104, TikTok's own words.
    pub(crate) fn token_empty() -> Self {
        Self::new(
            code::TOKEN_EMPTY,
            "Access token is null, you should set it in http header with key Access-Token.",
        )
    }

    /// 40105: an unknown or revoked token.
    pub(crate) fn token_invalid() -> Self {
        Self::new(
            code::TOKEN_INVALID,
            "Access token is incorrect or has been revoked.",
        )
    }

    /// 40110.
    pub(crate) fn auth_code_invalid() -> Self {
        Self::new(
            code::AUTH_CODE_INVALID,
            "Auth code is invalid, has expired or has already been used.",
        )
    }

    /// 40001.
    pub(crate) fn no_permission(advertiser_id: &str) -> Self {
        Self::new(
            code::NO_PERMISSION,
            format!("No permission to operate advertiser {advertiser_id}."),
        )
    }

    /// 50000.
    pub(crate) fn system_error() -> Self {
        Self::new(code::SYSTEM_ERROR, "System error. Please try again later.")
    }

    /// Renders the error on HTTP 200 with an empty `data` object, as TikTok does.
    pub(crate) fn into_response(self, sandbox: &Sandbox) -> Response {
        envelope(sandbox, self.code, &self.message, json!({}))
    }
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    code: u32,
    message: &'a str,
    request_id: String,
    data: T,
}

/// A TikTok request id: the time of the request and 18 hex digits.
pub(crate) fn request_id(sandbox: &Sandbox) -> String {
    let time = sandbox.now().format("%Y%m%d%H%M%S");
    let bits = fnv1a64(sandbox.trace_id().as_bytes());
    format!("{time}{:018X}", u128::from(bits))
}

/// The envelope with `code` and `data`, on HTTP 200.
pub(crate) fn envelope(
    sandbox: &Sandbox,
    code: u32,
    message: &str,
    data: impl Serialize,
) -> Response {
    wire::json(
        StatusCode::OK,
        &Envelope {
            code,
            message,
            request_id: request_id(sandbox),
            data,
        },
    )
}

/// A successful answer (`code` 0, `message` "OK").
pub(crate) fn ok(sandbox: &Sandbox, data: impl Serialize) -> Response {
    envelope(sandbox, code::OK, "OK", data)
}

/// What TikTok's gateway sends when the backend times out: HTTP 504 with an HTML page.
pub(crate) fn gateway_timeout() -> Response {
    let mut response = Response::new(Body::from(
        "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n",
    ));
    *response.status_mut() = StatusCode::GATEWAY_TIMEOUT;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    response
}

/// The answer to a path TikTok does not serve (including a path without its trailing slash).
pub(crate) fn not_found() -> Response {
    let mut response = Response::new(Body::from("404 page not found"));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_start_with_the_time_and_are_unique() {
        let sandbox = Sandbox::new(crate::SandboxConfig {
            now: Some("2025-06-30T12:34:56Z".parse().unwrap()),
            ..Default::default()
        });
        let first = request_id(&sandbox);
        let second = request_id(&sandbox);
        assert!(first.starts_with("20250630123456"), "{first}");
        assert_eq!(first.len(), 14 + 18);
        assert_ne!(first, second);
    }
}
