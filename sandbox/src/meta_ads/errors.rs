//! Meta Graph API error bodies, exactly as the platform sends them:
//! `{"error":{"message","type","code","error_subcode","is_transient","fbtrace_id"}}`.
//!
//! Meta signals most failures, throttling included, with HTTP 400 and an `error.code`; only a few
//! (server errors, "reduce the amount of data") use HTTP 500.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::usage::UseCase;
use crate::state::Sandbox;
use crate::wire;

/// Meta's content type for Graph responses.
pub(crate) const CONTENT_TYPE: &str = "application/json; charset=UTF-8";

/// The link Meta puts in rate-limit messages.
const RATE_LIMIT_DOCS: &str =
    "https://developers.facebook.com/docs/graph-api/overview/rate-limiting";

/// One Graph API error, ready to be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetaError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    pub(crate) kind: &'static str,
    pub(crate) code: u32,
    pub(crate) subcode: Option<u32>,
    pub(crate) is_transient: Option<bool>,
    /// The OAuth error name for a `WWW-Authenticate` header, for token errors.
    pub(crate) www_authenticate: Option<&'static str>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    code: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_subcode: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_transient: Option<bool>,
    fbtrace_id: &'a str,
}

impl MetaError {
    fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            kind: "OAuthException",
            code,
            subcode: None,
            is_transient: None,
            www_authenticate: None,
        }
    }

    fn subcode(mut self, subcode: u32) -> Self {
        self.subcode = Some(subcode);
        self
    }

    fn transient(mut self) -> Self {
        self.is_transient = Some(true);
        self
    }

    /// Code 100: an invalid parameter. `message` follows the `(#100) ` prefix.
    pub(crate) fn invalid_parameter(message: impl AsRef<str>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            100,
            format!("(#100) {}", message.as_ref()),
        )
    }

    /// Code 2635: the API version is not served any more (or not yet).
    pub(crate) fn deprecated_version(latest: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            2635,
            format!(
                "(#2635) You are calling a deprecated version of the Ads API. Please update to the latest version: {latest}."
            ),
        )
    }

    /// Code 104: no access token in the request.
    pub(crate) fn missing_token() -> Self {
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            104,
            "An access token is required to request this resource.",
        );
        error.www_authenticate = Some("invalid_request");
        error
    }

    /// Code 190, subcode 463: the access token has expired.
    pub(crate) fn expired_token(now: DateTime<Utc>) -> Self {
        let pacific = |time: DateTime<Utc>| {
            time.with_timezone(&chrono_tz::America::Los_Angeles)
                .format("%A, %d-%b-%y %H:%M:%S %Z")
                .to_string()
        };
        let expired_at = now - Duration::hours(1);
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            190,
            format!(
                "Error validating access token: Session has expired on {}. The current time is {}.",
                pacific(expired_at),
                pacific(now)
            ),
        )
        .subcode(463);
        error.www_authenticate = Some("invalid_token");
        error
    }

    /// Code 190, subcode 460: the user invalidated the session (changed the password, removed
    /// the app); only a new login helps.
    pub(crate) fn revoked_token() -> Self {
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            190,
            "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.",
        )
        .subcode(460);
        error.www_authenticate = Some("invalid_token");
        error
    }

    /// Code 100, subcode 33: the node does not exist (or is not an ad account we know).
    pub(crate) fn unknown_object(node: &str) -> Self {
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            100,
            format!(
                "Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
            ),
        )
        .subcode(33);
        error.kind = "GraphMethodException";
        error
    }

    /// Code 100: a field the node type does not have.
    pub(crate) fn nonexisting_field(field: &str, node_type: &str) -> Self {
        Self::invalid_parameter(format!(
            "Tried accessing nonexisting field ({field}) on node type ({node_type})"
        ))
    }

    /// Code 2642: an `after`/`before` cursor that is malformed or belongs to another query.
    pub(crate) fn invalid_cursor() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            2642,
            "(#2642) Invalid cursors values",
        )
    }

    /// Code 3018: the time range starts more than 37 months ago.
    pub(crate) fn start_too_old() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            3018,
            "(#3018) The start date of the time range cannot be beyond 37 months from the current date",
        )
    }

    /// Code 80000 (`ads_insights`) or 80004 (`ads_management`), subcode 2446079: the ad
    /// account's budget for the use case is used up.
    pub(crate) fn account_throttled(use_case: UseCase) -> Self {
        let code = match use_case {
            UseCase::AdsInsights => 80000,
            UseCase::AdsManagement => 80004,
        };
        Self::new(
            StatusCode::BAD_REQUEST,
            code,
            format!(
                "(#{code}) There have been too many calls from this ad-account. Wait a bit and try again. For more info, please refer to {RATE_LIMIT_DOCS}."
            ),
        )
        .subcode(2446079)
    }

    /// Code 17, subcode 2446079: the user's request budget is used up (calls on `me`).
    pub(crate) fn user_throttled() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            17,
            "(#17) User request limit reached",
        )
        .subcode(2446079)
    }

    /// Code 4, subcode 1504022: the application's request budget is used up.
    pub(crate) fn app_throttled() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            4,
            "(#4) Application request limit reached",
        )
        .subcode(1504022)
        .transient()
    }

    /// Code 2 (HTTP 500): a transient server failure.
    pub(crate) fn server_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            2,
            "An unexpected error has occurred. Please retry your request later.",
        )
        .transient()
    }

    /// Code 1 (HTTP 500): the request asks for too much data; the client must ask for less.
    pub(crate) fn reduce_data() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            1,
            "Please reduce the amount of data you're asking for, then retry your request",
        )
    }

    /// Code 100: breakdowns Meta does not serve together (`names` as requested).
    pub(crate) fn invalid_breakdown_combination(names: &[&str]) -> Self {
        Self::invalid_parameter(format!(
            "Current combination of data breakdown columns ({}) is invalid",
            names.join(", ")
        ))
    }

    /// Code 100: the results of a report run that has not completed (the sandbox's wording;
    /// Meta's is not documented).
    pub(crate) fn report_run_not_ready(id: &str, status: &str) -> Self {
        Self::invalid_parameter(format!(
            "The report run {id} has no results: its async_status is '{status}'"
        ))
    }

    /// Code 100, subcode 36009: an authorization code that was exchanged before.
    pub(crate) fn code_used() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            100,
            "This authorization code has been used.",
        )
        .subcode(36009)
    }

    /// Code 2500 (HTTP 404 here, 400 at Meta): a path the sandbox does not serve.
    pub(crate) fn unknown_path(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            2500,
            format!("Unknown path components: {path}"),
        )
    }

    /// Renders the error with a fresh `fbtrace_id`.
    pub(crate) fn into_response(self, sandbox: &Sandbox) -> Response {
        let trace_id = sandbox.trace_id();
        let body = Envelope {
            error: Body {
                message: &self.message,
                kind: self.kind,
                code: self.code,
                error_subcode: self.subcode,
                is_transient: self.is_transient,
                fbtrace_id: &trace_id,
            },
        };
        let mut response = wire::json_with_type(self.status, &body, CONTENT_TYPE);
        if let Some(oauth_error) = self.www_authenticate {
            let value = format!(
                "OAuth \"Facebook Platform\" \"{oauth_error}\" \"{}\"",
                self.message.replace('"', "'")
            );
            if let Ok(value) = HeaderValue::from_str(&value) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        if let Ok(value) = HeaderValue::from_str(&trace_id) {
            response.headers_mut().insert("x-fb-trace-id", value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_token_messages_name_both_times_in_pacific_time() {
        let now: DateTime<Utc> = "2026-11-24T18:00:00Z".parse().unwrap();
        let error = MetaError::expired_token(now);
        assert_eq!(
            error.message,
            "Error validating access token: Session has expired on Tuesday, 24-Nov-26 09:00:00 PST. The current time is Tuesday, 24-Nov-26 10:00:00 PST."
        );
        assert_eq!((error.code, error.subcode), (190, Some(463)));
    }
}
