//! Google Ads API errors as the REST interface sends them: a `google.rpc.Status` object
//! `{"error":{"code","message","status","details":[…]}}` whose details carry a
//! `GoogleAdsFailure` (`errors[].errorCode.<kind>Error`, `message`, optional `trigger` and
//! `details.quotaErrorDetails`, and the `requestId`). Errors raised before the request reaches
//! the Ads backend (a missing credential, a JSON payload that does not parse, an unavailable
//! front end) carry no `GoogleAdsFailure`. `searchStream` frames the backend's errors as it
//! frames every answer, in a JSON array: `[{"error":{…}}]` with the error's HTTP status, or an
//! `{"error":{…}}` element ending a stream that had started on 200.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::wire;

/// Quota details of a `quotaError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QuotaDetails {
    /// `ACCOUNT` or `DEVELOPER`.
    pub(crate) rate_scope: &'static str,
    /// E.g. `Requests per account`.
    pub(crate) rate_name: &'static str,
    /// `retryDelay`; daily quotas give none.
    pub(crate) retry_delay: Option<Duration>,
}

/// One `GoogleAdsError` of a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AdsErrorEntry {
    /// The `errorCode` key, e.g. `queryError`.
    pub(crate) kind: &'static str,
    /// The enum value, e.g. `UNRECOGNIZED_FIELD`.
    pub(crate) code: &'static str,
    pub(crate) message: String,
    /// `trigger.stringValue`: the input that caused the error.
    pub(crate) trigger: Option<String>,
    pub(crate) quota: Option<QuotaDetails>,
}

/// One error answer, ready to be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AdsError {
    pub(crate) status: StatusCode,
    /// The canonical gRPC status name, e.g. `INVALID_ARGUMENT`.
    pub(crate) grpc_status: &'static str,
    pub(crate) message: String,
    /// The `GoogleAdsFailure` errors; empty for front-end errors.
    pub(crate) errors: Vec<AdsErrorEntry>,
    /// A `google.rpc.BadRequest` field violation, for payloads that do not parse.
    pub(crate) bad_request: Option<String>,
}

/// How an error body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `{"error":{…}}`.
    Object,
    /// `[{"error":{…}}]`, as `searchStream` sends it.
    StreamArray,
}

const INVALID_ARGUMENT: &str = "Request contains an invalid argument.";
const CREDENTIALS_DOCS: &str =
    "See https://developers.google.com/identity/sign-in/web/devconsole-project.";

impl AdsError {
    fn new(status: StatusCode, grpc_status: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            grpc_status,
            message: message.into(),
            errors: Vec::new(),
            bad_request: None,
        }
    }

    fn with(mut self, kind: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        self.errors.push(AdsErrorEntry {
            kind,
            code,
            message: message.into(),
            trigger: None,
            quota: None,
        });
        self
    }

    fn trigger(mut self, trigger: impl Into<String>) -> Self {
        if let Some(entry) = self.errors.last_mut() {
            entry.trigger = Some(trigger.into());
        }
        self
    }

    /// The first error's `kind` and `code`, for tests.
    #[cfg(test)]
    pub(crate) fn code(&self) -> Option<(&'static str, &'static str)> {
        self.errors.first().map(|entry| (entry.kind, entry.code))
    }

    /// HTTP 400 with a `queryError`.
    pub(crate) fn query(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            INVALID_ARGUMENT,
        )
        .with("queryError", code, message)
    }

    /// HTTP 400 with a `queryError` naming the input that caused it.
    pub(crate) fn query_at(
        code: &'static str,
        message: impl Into<String>,
        trigger: impl Into<String>,
    ) -> Self {
        Self::query(code, message).trigger(trigger)
    }

    /// HTTP 400 with a `requestError`.
    pub(crate) fn request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            INVALID_ARGUMENT,
        )
        .with("requestError", code, message)
    }

    /// HTTP 400: the customer id in the path is not ten digits (hyphens included).
    pub(crate) fn invalid_customer_id(id: &str) -> Self {
        Self::request(
            "INVALID_CUSTOMER_ID",
            format!("Invalid customer ID '{id}'."),
        )
        .trigger(id)
    }

    /// HTTP 400: the `login-customer-id` header is not ten digits.
    pub(crate) fn invalid_login_customer_id(value: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            INVALID_ARGUMENT,
        )
        .with(
            "headerError",
            "INVALID_LOGIN_CUSTOMER_ID",
            "The login customer ID could not be validated.",
        )
        .trigger(value)
    }

    /// HTTP 400: the JSON payload does not parse or has unknown fields.
    pub(crate) fn invalid_payload(description: impl Into<String>) -> Self {
        let description = description.into();
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            description.clone(),
        );
        error.bad_request = Some(description);
        error
    }

    /// HTTP 400: no `developer-token` header where one is required.
    pub(crate) fn developer_token_missing() -> Self {
        Self::request(
            "DEVELOPER_TOKEN_PARAMETER_MISSING",
            "developer-token parameter is missing.",
        )
    }

    /// HTTP 401: a `developer-token` the sandbox was not configured with.
    pub(crate) fn developer_token_invalid() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            format!("Request had invalid authentication credentials. {CREDENTIALS_DOCS}"),
        )
        .with(
            "authenticationError",
            "DEVELOPER_TOKEN_INVALID",
            "The developer token is not valid.",
        )
    }

    /// HTTP 401 without details: no `Authorization: Bearer` header at all.
    pub(crate) fn missing_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            format!(
                "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. {CREDENTIALS_DOCS}"
            ),
        )
    }

    fn unauthenticated(code: &'static str, message: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            format!(
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. {CREDENTIALS_DOCS}"
            ),
        )
        .with("authenticationError", code, message)
    }

    /// HTTP 401 `OAUTH_TOKEN_EXPIRED`.
    pub(crate) fn token_expired() -> Self {
        Self::unauthenticated("OAUTH_TOKEN_EXPIRED", "Oauth token is expired.")
    }

    /// HTTP 401 `OAUTH_TOKEN_REVOKED`.
    pub(crate) fn token_revoked() -> Self {
        Self::unauthenticated("OAUTH_TOKEN_REVOKED", "Oauth token is revoked.")
    }

    /// HTTP 401 `OAUTH_TOKEN_INVALID`: a bearer header with an empty token.
    pub(crate) fn token_invalid() -> Self {
        Self::unauthenticated("OAUTH_TOKEN_INVALID", "Oauth token is invalid.")
    }

    /// HTTP 401 `CUSTOMER_NOT_FOUND`.
    pub(crate) fn customer_not_found(id: &str) -> Self {
        Self::unauthenticated(
            "CUSTOMER_NOT_FOUND",
            "No customer found for the provided customer id.",
        )
        .trigger(id)
    }

    /// HTTP 403 `USER_PERMISSION_DENIED`: usually a missing or wrong `login-customer-id`.
    pub(crate) fn permission_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "The caller does not have permission",
        )
        .with(
            "authorizationError",
            "USER_PERMISSION_DENIED",
            "User doesn't have permission to access customer. Note: If you're accessing a client customer, the manager's customer id must be set in the 'login-customer-id' header. See https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid",
        )
    }

    /// HTTP 403 `CUSTOMER_NOT_ENABLED`: the customer is cancelled (or not yet enabled).
    pub(crate) fn customer_not_enabled() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "The caller does not have permission",
        )
        .with(
            "authorizationError",
            "CUSTOMER_NOT_ENABLED",
            "The customer account can't be accessed because it is not yet enabled or has been deactivated.",
        )
    }

    fn quota(code: &'static str, message: String, quota: QuotaDetails) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).",
        )
        .with("quotaError", code, message);
        if let Some(entry) = error.errors.last_mut() {
            entry.quota = Some(quota);
        }
        error
    }

    /// HTTP 429 `RESOURCE_TEMPORARILY_EXHAUSTED` with a `retryDelay`.
    pub(crate) fn temporarily_exhausted(
        rate_scope: &'static str,
        rate_name: &'static str,
        retry_delay: Duration,
    ) -> Self {
        // Whole seconds, rounded up so a client that waits them finds the slot free.
        let seconds = u64::try_from(retry_delay.as_millis().div_ceil(1000))
            .unwrap_or(u64::MAX)
            .max(1);
        Self::quota(
            "RESOURCE_TEMPORARILY_EXHAUSTED",
            format!("Too many requests. Retry in {seconds} seconds."),
            QuotaDetails {
                rate_scope,
                rate_name,
                retry_delay: Some(Duration::from_secs(seconds)),
            },
        )
    }

    /// HTTP 429 `RESOURCE_EXHAUSTED`: the daily operations quota, without a usable delay.
    pub(crate) fn daily_quota_exhausted() -> Self {
        Self::quota(
            "RESOURCE_EXHAUSTED",
            "Too many requests. Retry in 86400 seconds.".to_owned(),
            QuotaDetails {
                rate_scope: "DEVELOPER",
                rate_name: "Number of operations for basic access",
                retry_delay: None,
            },
        )
    }

    /// HTTP 500 `INTERNAL` (`internalError: INTERNAL_ERROR`).
    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "Internal error encountered.",
        )
        .with(
            "internalError",
            "INTERNAL_ERROR",
            "An internal error has occurred.",
        )
    }

    /// HTTP 504 `DEADLINE_EXCEEDED` (`internalError: DEADLINE_EXCEEDED`): the query took too
    /// long, the usual answer to asking for too much at once.
    pub(crate) fn deadline_exceeded() -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "DEADLINE_EXCEEDED",
            "Deadline expired before operation could complete.",
        )
        .with(
            "internalError",
            "DEADLINE_EXCEEDED",
            "The request took longer than a deadline.",
        )
    }

    /// HTTP 404 `NOT_FOUND` from the front end: a path (or API version) that is not served.
    pub(crate) fn not_found(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("The requested URL {path} was not found on this server."),
        )
    }

    /// The `{"error":{…}}` object; `version` is used in the failure's `@type`.
    pub(crate) fn to_json(&self, version: u32, request_id: &str) -> Value {
        let mut details = Vec::new();
        if !self.errors.is_empty() {
            let errors: Vec<Value> = self
                .errors
                .iter()
                .map(|entry| {
                    let mut error = json!({
                        "errorCode": { entry.kind: entry.code },
                        "message": entry.message,
                    });
                    if let Some(trigger) = &entry.trigger {
                        error["trigger"] = json!({ "stringValue": trigger });
                    }
                    if let Some(quota) = &entry.quota {
                        let mut quota_details = json!({
                            "rateScope": quota.rate_scope,
                            "rateName": quota.rate_name,
                        });
                        if let Some(delay) = quota.retry_delay {
                            quota_details["retryDelay"] = json!(format!("{}s", delay.as_secs()));
                        }
                        error["details"] = json!({ "quotaErrorDetails": quota_details });
                    }
                    error
                })
                .collect();
            details.push(json!({
                "@type": format!("type.googleapis.com/google.ads.googleads.v{version}.errors.GoogleAdsFailure"),
                "errors": errors,
                "requestId": request_id,
            }));
        }
        if let Some(description) = &self.bad_request {
            details.push(json!({
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{ "description": description }],
            }));
        }
        let mut error = json!({
            "code": self.status.as_u16(),
            "message": self.message,
            "status": self.grpc_status,
        });
        if !details.is_empty() {
            error["details"] = Value::Array(details);
        }
        json!({ "error": error })
    }

    /// The HTTP answer, with the `request-id` header.
    pub(crate) fn into_response(self, version: u32, request_id: &str) -> Response {
        self.into_framed_response(version, request_id, Framing::Object)
    }

    /// The HTTP answer of a `searchStream` request: an error the Ads backend raised (one with a
    /// `GoogleAdsFailure`) comes as the stream frames every answer, a JSON array holding the
    /// error object (`[{"error":{…}}]`); an error of the front end in front of it (a missing
    /// credential, a payload that does not parse, an unknown path) stays a plain object.
    pub(crate) fn into_stream_response(self, version: u32, request_id: &str) -> Response {
        let framing = if self.errors.is_empty() {
            Framing::Object
        } else {
            Framing::StreamArray
        };
        self.into_framed_response(version, request_id, framing)
    }

    fn into_framed_response(self, version: u32, request_id: &str, framing: Framing) -> Response {
        let body = match framing {
            Framing::Object => self.to_json(version, request_id),
            Framing::StreamArray => Value::Array(vec![self.to_json(version, request_id)]),
        };
        let mut response = wire::json_with_type(self.status, &body, super::CONTENT_TYPE);
        if let Ok(value) = HeaderValue::from_str(request_id) {
            response
                .headers_mut()
                .insert(super::REQUEST_ID_HEADER, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_carry_google_ads_failure_with_quota_details() {
        let body = AdsError::temporarily_exhausted(
            "ACCOUNT",
            "Requests per account",
            Duration::from_millis(29_500),
        )
        .to_json(21, "req1");
        assert_eq!(body["error"]["code"], 429);
        assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
        let failure = &body["error"]["details"][0];
        assert_eq!(
            failure["@type"],
            "type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure"
        );
        assert_eq!(failure["requestId"], "req1");
        let error = &failure["errors"][0];
        assert_eq!(
            error["errorCode"]["quotaError"],
            "RESOURCE_TEMPORARILY_EXHAUSTED"
        );
        assert_eq!(error["details"]["quotaErrorDetails"]["retryDelay"], "30s");
        let daily = AdsError::daily_quota_exhausted().to_json(21, "r");
        assert!(
            daily["error"]["details"][0]["errors"][0]["details"]["quotaErrorDetails"]
                .get("retryDelay")
                .is_none()
        );
    }

    #[test]
    fn front_end_errors_have_no_failure_details() {
        let body = AdsError::missing_credentials().to_json(21, "r");
        assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
        assert!(body["error"].get("details").is_none());
        let payload = AdsError::invalid_payload(
            "Invalid JSON payload received. Unknown name \"pageSize\": Cannot find field.",
        )
        .to_json(21, "r");
        assert_eq!(
            payload["error"]["details"][0]["@type"],
            "type.googleapis.com/google.rpc.BadRequest"
        );
    }
}
