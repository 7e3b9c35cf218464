//! Google API errors as the Sheets REST interface sends them: a `google.rpc.Status` object
//! `{"error":{"code","message","status","details":[…]}}`. Quota errors and missing or expired
//! credentials carry a `google.rpc.ErrorInfo` detail (`reason`, `domain`, `metadata`); the rest
//! carry none, as Google's answers to bad requests do not.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::wire;

/// The content type Google answers with.
pub(crate) const CONTENT_TYPE: &str = "application/json; charset=UTF-8";

const SERVICE: &str = "sheets.googleapis.com";

/// The consumer Google names in quota errors: the sandbox's one project.
pub(crate) const PROJECT_NUMBER: &str = "1055012345678";

const CREDENTIALS_DOCS: &str =
    "See https://developers.google.com/identity/sign-in/web/devconsole-project.";

/// A `google.rpc.ErrorInfo` detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorInfo {
    pub(crate) reason: &'static str,
    pub(crate) metadata: Vec<(&'static str, String)>,
}

/// One error answer, ready to be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SheetsError {
    pub(crate) status: StatusCode,
    /// The canonical status name, e.g. `INVALID_ARGUMENT`.
    pub(crate) grpc_status: &'static str,
    pub(crate) message: String,
    pub(crate) info: Option<ErrorInfo>,
}

/// Which per-minute quota a call ran out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quota {
    ReadPerUser,
    ReadPerProject,
    WritePerUser,
    WritePerProject,
}

impl Quota {
    /// `quota_metric` of the ErrorInfo.
    pub(crate) fn metric(self) -> &'static str {
        match self {
            Quota::ReadPerUser | Quota::ReadPerProject => "sheets.googleapis.com/read_requests",
            Quota::WritePerUser | Quota::WritePerProject => "sheets.googleapis.com/write_requests",
        }
    }

    /// `quota_limit` of the ErrorInfo.
    pub(crate) fn limit_name(self) -> &'static str {
        match self {
            Quota::ReadPerUser => "ReadRequestsPerMinutePerUser",
            Quota::ReadPerProject => "ReadRequestsPerMinutePerProject",
            Quota::WritePerUser => "WriteRequestsPerMinutePerUser",
            Quota::WritePerProject => "WriteRequestsPerMinutePerProject",
        }
    }

    /// The names the message uses: (metric, limit).
    fn display(self) -> (&'static str, &'static str) {
        match self {
            Quota::ReadPerUser => ("Read requests", "Read requests per minute per user"),
            Quota::ReadPerProject => ("Read requests", "Read requests per minute"),
            Quota::WritePerUser => ("Write requests", "Write requests per minute per user"),
            Quota::WritePerProject => ("Write requests", "Write requests per minute"),
        }
    }
}

impl SheetsError {
    fn new(status: StatusCode, grpc_status: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            grpc_status,
            message: message.into(),
            info: None,
        }
    }

    /// HTTP 400 `INVALID_ARGUMENT` with `message`.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
    }

    /// HTTP 400: a body that is not the JSON the method takes.
    pub(crate) fn invalid_json(detail: impl std::fmt::Display) -> Self {
        Self::invalid(format!("Invalid JSON payload received. {detail}"))
    }

    /// HTTP 400: one request of a `spreadsheets.batchUpdate` is invalid; nothing was applied.
    pub(crate) fn invalid_request(
        index: usize,
        kind: &str,
        message: impl std::fmt::Display,
    ) -> Self {
        Self::invalid(format!("Invalid requests[{index}].{kind}: {message}"))
    }

    /// HTTP 400: the workbook would grow above its cell limit.
    pub(crate) fn cell_limit_message(limit: u64) -> String {
        format!(
            "This action would increase the number of cells in the workbook above the limit of {limit} cells."
        )
    }

    /// HTTP 401 without a credential at all.
    pub(crate) fn credentials_missing(method: &str) -> Self {
        Self {
            info: Some(ErrorInfo {
                reason: "CREDENTIALS_MISSING",
                metadata: vec![
                    ("method", method.to_owned()),
                    ("service", SERVICE.to_owned()),
                ],
            }),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                format!(
                    "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. {CREDENTIALS_DOCS}"
                ),
            )
        }
    }

    fn invalid_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            format!(
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. {CREDENTIALS_DOCS}"
            ),
        )
    }

    /// HTTP 401 for an access token past its expiry (`ACCESS_TOKEN_EXPIRED`).
    pub(crate) fn token_expired(method: &str) -> Self {
        Self {
            info: Some(ErrorInfo {
                reason: "ACCESS_TOKEN_EXPIRED",
                metadata: vec![
                    ("method", method.to_owned()),
                    ("service", SERVICE.to_owned()),
                ],
            }),
            ..Self::invalid_credentials()
        }
    }

    /// HTTP 401 for a revoked or unusable token: Google says no more than "invalid".
    pub(crate) fn token_invalid() -> Self {
        Self::invalid_credentials()
    }

    /// HTTP 403: the spreadsheet is not shared with the caller.
    pub(crate) fn permission_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "The caller does not have permission",
        )
    }

    /// HTTP 404: no such spreadsheet.
    pub(crate) fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Requested entity was not found.",
        )
    }

    /// HTTP 429 for a per-minute quota, with the ErrorInfo naming the quota.
    pub(crate) fn quota_exceeded(quota: Quota, limit_value: u32) -> Self {
        let (metric, limit) = quota.display();
        Self {
            info: Some(ErrorInfo {
                reason: "RATE_LIMIT_EXCEEDED",
                metadata: vec![
                    ("consumer", format!("projects/{PROJECT_NUMBER}")),
                    ("quota_limit", quota.limit_name().to_owned()),
                    ("quota_limit_value", limit_value.to_string()),
                    ("quota_location", "global".to_owned()),
                    ("quota_metric", quota.metric().to_owned()),
                    ("service", SERVICE.to_owned()),
                ],
            }),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                format!(
                    "Quota exceeded for quota metric '{metric}' and limit '{limit}' of service '{SERVICE}' for consumer 'project_number:{PROJECT_NUMBER}'."
                ),
            )
        }
    }

    /// HTTP 500 `INTERNAL`.
    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "Internal error encountered.",
        )
    }

    /// HTTP 503 `UNAVAILABLE`.
    pub(crate) fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "The service is currently unavailable.",
        )
    }

    /// HTTP 404 from the front end: a path that is not served.
    pub(crate) fn no_route(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("The requested URL {path} was not found on this server."),
        )
    }

    /// The `{"error":{…}}` object.
    pub(crate) fn to_json(&self) -> Value {
        let mut error = json!({
            "code": self.status.as_u16(),
            "message": self.message,
            "status": self.grpc_status,
        });
        if let Some(info) = &self.info {
            let metadata: Map<String, Value> = info
                .metadata
                .iter()
                .map(|(key, value)| ((*key).to_owned(), Value::String(value.clone())))
                .collect();
            error["details"] = json!([{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": info.reason,
                "domain": "googleapis.com",
                "metadata": metadata,
            }]);
        }
        json!({ "error": error })
    }

    /// The HTTP answer.
    pub(crate) fn into_response(self) -> Response {
        wire::json_with_type(self.status, &self.to_json(), CONTENT_TYPE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_errors_carry_error_info_naming_the_quota() {
        let body = SheetsError::quota_exceeded(Quota::WritePerUser, 60).to_json();
        assert_eq!(body["error"]["code"], 429);
        assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
        assert_eq!(
            body["error"]["message"],
            format!(
                "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute per user' of service 'sheets.googleapis.com' for consumer 'project_number:{PROJECT_NUMBER}'."
            )
        );
        let info = &body["error"]["details"][0];
        assert_eq!(info["@type"], "type.googleapis.com/google.rpc.ErrorInfo");
        assert_eq!(info["reason"], "RATE_LIMIT_EXCEEDED");
        assert_eq!(info["domain"], "googleapis.com");
        assert_eq!(
            info["metadata"]["quota_metric"],
            "sheets.googleapis.com/write_requests"
        );
        assert_eq!(
            info["metadata"]["quota_limit"],
            "WriteRequestsPerMinutePerUser"
        );
        assert_eq!(info["metadata"]["quota_limit_value"], "60");
    }

    #[test]
    fn bad_requests_have_no_details() {
        let body = SheetsError::invalid_request(2, "deleteSheet", "No grid with id: 7").to_json();
        assert_eq!(body["error"]["code"], 400);
        assert_eq!(
            body["error"]["message"],
            "Invalid requests[2].deleteSheet: No grid with id: 7"
        );
        assert!(body["error"].get("details").is_none());
    }
}
