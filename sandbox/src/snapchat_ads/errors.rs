//! Snapchat error answers: `{"request_status":"ERROR","request_id","debug_message",
//! "display_message","error_code"}` with the HTTP status carrying the meaning (400 bad request,
//! 401 bad token with `WWW-Authenticate`, 403 no permission, 404 unknown entity, 429 throttled,
//! 500 server failure), and the OAuth errors of the token endpoint.
//!
//! The DAY-granularity alignment message is Snapchat's own (quoted by public sources); the other
//! wordings and the `E....` codes are the sandbox's, in Snapchat's style (unverified).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;

use crate::state::Sandbox;
use crate::wire;

/// Snapchat's content type.
pub(crate) const CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// One error answer of the Ads API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SnapError {
    pub(crate) status: StatusCode,
    pub(crate) debug_message: String,
    pub(crate) display_message: &'static str,
    pub(crate) error_code: &'static str,
    /// `error="…"` of a `WWW-Authenticate: Bearer` header, for 401s.
    www_authenticate: Option<&'static str>,
}

#[derive(Serialize)]
struct Body<'a> {
    request_status: &'static str,
    request_id: &'a str,
    debug_message: &'a str,
    display_message: &'a str,
    error_code: &'a str,
}

const GENERIC_DISPLAY: &str = "We're sorry, but something went wrong. Please try again later.";
const BAD_REQUEST_DISPLAY: &str = "We're sorry, but the request was not valid.";

impl SnapError {
    fn new(
        status: StatusCode,
        error_code: &'static str,
        display_message: &'static str,
        debug_message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            debug_message: debug_message.into(),
            display_message,
            error_code,
            www_authenticate: None,
        }
    }

    /// HTTP 400: a parameter the API refuses.
    pub(crate) fn bad_request(debug_message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E1001",
            BAD_REQUEST_DISPLAY,
            debug_message,
        )
    }

    /// HTTP 400: a stats query Snapchat does not support (misaligned times, fields the entity
    /// cannot report, ...). `detail` follows `Unsupported Stats Query: `.
    pub(crate) fn unsupported_stats_query(detail: impl AsRef<str>) -> Self {
        Self::bad_request(format!("Unsupported Stats Query: {}", detail.as_ref()))
    }

    /// HTTP 401 without a token.
    pub(crate) fn missing_token() -> Self {
        let mut error = Self::new(
            StatusCode::UNAUTHORIZED,
            "E3001",
            "We're sorry, but you are not authorized to make this request.",
            "Missing access token: send Authorization: Bearer <token>",
        );
        error.www_authenticate = Some("invalid_request");
        error
    }

    /// HTTP 401: the access token has expired.
    pub(crate) fn expired_token() -> Self {
        let mut error = Self::new(
            StatusCode::UNAUTHORIZED,
            "E3003",
            "We're sorry, but your access token has expired. Please refresh it and try again.",
            "Expired access token",
        );
        error.www_authenticate = Some("invalid_token");
        error
    }

    /// HTTP 401: the access token is not valid (revoked, or never issued by this server's
    /// authorization flow).
    pub(crate) fn invalid_token() -> Self {
        let mut error = Self::new(
            StatusCode::UNAUTHORIZED,
            "E3002",
            "We're sorry, but you are not authorized to make this request.",
            "Invalid access token",
        );
        error.www_authenticate = Some("invalid_token");
        error
    }

    /// HTTP 403: the user may not read the resource.
    pub(crate) fn forbidden(action: &str, resource: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E3004",
            "We're sorry, but you do not have permission to access this resource.",
            format!(
                "None of the requested actions [{action}] can be authorized for resource {resource}"
            ),
        )
    }

    /// HTTP 404: no entity with this id.
    pub(crate) fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "E1008",
            "We're sorry, but the requested resource could not be found.",
            format!("Resource can not be found: {kind} {id}"),
        )
    }

    /// HTTP 404: a path the sandbox does not serve.
    pub(crate) fn unknown_path(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "E1008",
            "We're sorry, but the requested resource could not be found.",
            format!("No such endpoint: {path}"),
        )
    }

    /// HTTP 429: too many requests. Snapchat documents no headers for it and sends none.
    pub(crate) fn throttled() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "E1015",
            "We're sorry, but you have made too many requests. Please slow down.",
            "Too many requests",
        )
    }

    /// HTTP 500: a transient server failure.
    pub(crate) fn server_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "E2001",
            GENERIC_DISPLAY,
            "Internal server error",
        )
    }

    /// HTTP 500: the query took too long to compute (Snapchat has no "ask for less" answer; its
    /// generic server error stands in for it).
    pub(crate) fn query_timeout() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "E2001",
            GENERIC_DISPLAY,
            "Internal server error: the stats query timed out",
        )
    }

    /// Renders the error with a fresh request id.
    pub(crate) fn into_response(self, sandbox: &Sandbox) -> Response {
        let request_id = super::request_id(sandbox);
        let body = Body {
            request_status: "ERROR",
            request_id: &request_id,
            debug_message: &self.debug_message,
            display_message: self.display_message,
            error_code: self.error_code,
        };
        let mut response = wire::json_with_type(self.status, &body, CONTENT_TYPE);
        if let Some(error) = self.www_authenticate {
            let value = format!(
                "Bearer realm=\"adsapi.snapchat.com\", error=\"{error}\", error_description=\"{}\"",
                self.debug_message.replace('"', "'")
            );
            if let Ok(value) = HeaderValue::from_str(&value) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// An OAuth error of the token endpoint: `{"error","error_description"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) description: String,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }

    /// HTTP 400 `invalid_request`: a required parameter is missing.
    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// HTTP 401 `invalid_client`: no client id or secret.
    pub(crate) fn invalid_client() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        )
    }

    /// HTTP 400 `invalid_grant`: the refresh token or code is revoked, expired or used.
    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    /// HTTP 400 `unsupported_grant_type`.
    pub(crate) fn unsupported_grant_type(grant_type: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("Unsupported grant type: {grant_type}"),
        )
    }

    /// Renders the error.
    pub(crate) fn into_response(self) -> Response {
        wire::json_with_type(
            self.status,
            &serde_json::json!({ "error": self.error, "error_description": self.description }),
            CONTENT_TYPE,
        )
    }
}
