//! API errors as JSON problem documents (RFC 9457) with a stable `code`, and the JSON body
//! extractor whose rejections name the offending field.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shared::db::DbError;
use shared::domain::InvalidField;

/// Everything a handler can answer besides success. Client faults carry a message for the
/// caller; server faults answer an opaque 500 and log their cause.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidField(InvalidField),
    #[error("missing or invalid API key")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("a dependency is unavailable")]
    Unavailable(String),
    /// A refusal with its own status and stable code, such as a webhook's bad signature or an
    /// OAuth callback's bad `state`; `field` names the parameter or header at fault.
    #[error("{detail}")]
    Refused {
        status: StatusCode,
        code: &'static str,
        field: Option<&'static str>,
        detail: String,
    },
    /// The platform refused or failed a call made for the request (an OAuth code exchange,
    /// account discovery).
    #[error("{0}")]
    Platform(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<InvalidField> for ApiError {
    fn from(error: InvalidField) -> Self {
        ApiError::InvalidField(error)
    }
}

impl From<DbError> for ApiError {
    /// The database being out of reach (no connection, or the one in use cut under the
    /// statement, as when it restarts) is a 503 the client may retry; anything else is ours.
    fn from(error: DbError) -> Self {
        if error.is_unavailable() {
            ApiError::Unavailable(error.to_string())
        } else {
            ApiError::Internal(error.into())
        }
    }
}

/// An error answer (RFC 9457 problem document, `application/problem+json`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({"type": "about:blank", "title": "Unprocessable Entity", "status": 422, "code": "invalid_field", "detail": "must be between 1 and 200 characters and not blank", "field": "name"}))]
pub struct Problem<'a> {
    /// Always `about:blank`.
    #[serde(rename = "type")]
    kind: &'a str,
    /// The HTTP status's reason phrase.
    title: &'a str,
    status: u16,
    /// Stable machine-readable code: invalid_request, invalid_field, unauthorized, forbidden,
    /// not_found, conflict, unavailable, internal, platform_error, invalid_state,
    /// invalid_signature, timestamp_out_of_window, replayed.
    code: &'a str,
    /// What went wrong, for people; never contains a secret.
    detail: String,
    /// The field, parameter or header at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            ApiError::InvalidField(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Refused { status, code, .. } => (*status, code),
            ApiError::Platform(_) => (StatusCode::BAD_GATEWAY, "platform_error"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match &self {
            ApiError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "request failed")
            }
            ApiError::Unavailable(cause) => {
                tracing::warn!(%cause, "request failed: dependency unavailable")
            }
            _ => {}
        }
        let field = match &self {
            ApiError::InvalidField(invalid) => Some(invalid.field.as_str()),
            ApiError::Refused { field, .. } => *field,
            _ => None,
        };
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("error"),
            status: status.as_u16(),
            code,
            detail: self.to_string(),
            field,
        };
        let mut response = (status, Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// A JSON body whose rejections are problem documents naming the field at fault.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(error) => {
                // axum's message is "Failed to deserialize …: <path>: <serde error>".
                let text = error.body_text();
                let detail = text
                    .split_once("target type: ")
                    .map(|(_, rest)| rest.to_string())
                    .unwrap_or(text);
                match detail.split_once(": ") {
                    Some((path, message)) if !path.contains(' ') => {
                        let field = match missing_field(message) {
                            Some(name) => format!("{path}.{name}"),
                            None => path.to_string(),
                        };
                        ApiError::InvalidField(InvalidField::new(field, message))
                    }
                    _ => match missing_field(&detail) {
                        Some(name) => {
                            ApiError::InvalidField(InvalidField::new(name.to_owned(), &detail))
                        }
                        None => ApiError::InvalidRequest(detail),
                    },
                }
            }
            other => ApiError::InvalidRequest(other.body_text()),
        }
    }
}

/// The name in serde's "missing field `name` …" message.
pub(crate) fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(name, _)| name)
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// A path parameter whose rejection is a problem document.
#[derive(Debug, Clone, Copy, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::InvalidField(InvalidField::new("path", rejection.body_text()))
    }
}

/// Query parameters whose rejection is a problem document naming the parameter.
#[derive(Debug, Clone, Copy, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        let text = rejection.body_text();
        let detail = text
            .strip_prefix("Failed to deserialize query string: ")
            .unwrap_or(&text)
            .to_string();
        ApiError::InvalidField(InvalidField::new("query", detail))
    }
}

/// Parses a JSON body read as bytes, with the same problem documents as [`ApiJson`].
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::InvalidRequest(format!("the body is not valid JSON: {inner}"));
        }
        let message = inner.to_string();
        let field = match (path.as_str(), missing_field(&message)) {
            (".", Some(name)) => name.to_owned(),
            (".", None) => "body".to_owned(),
            (path, Some(name)) => format!("{path}.{name}"),
            (path, None) => path.to_owned(),
        };
        ApiError::InvalidField(InvalidField::new(field, message))
    })
}
