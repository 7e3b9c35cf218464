//! API errors as JSON problem documents (RFC 9457) with a stable `code`, and the extractors
//! (JSON body, raw body, path, query) whose rejections are problem documents naming the field.
//!
//! Every body is read under one size limit ([`BODY_LIMIT_BYTES`]); a larger one answers 413
//! `payload_too_large`. A JSON body must be an object (serde would also take an array of a
//! struct's fields in order) and may hold no U+0000 anywhere, which PostgreSQL text cannot
//! store; both answer 422 naming the field.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::{DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use shared::db::DbError;
use shared::domain::InvalidField;

/// The largest request body the API reads: 2 MiB.
pub const BODY_LIMIT_BYTES: usize = 2 * 1024 * 1024;

/// Every `code` a problem document can carry. Each has one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// 400: the request cannot be read (not JSON, wrong content type).
    InvalidRequest,
    /// 400: the OAuth `state` is missing, malformed, expired or used.
    InvalidState,
    /// 400: the platform refused the OAuth authorisation code.
    InvalidCode,
    /// 401: no API key, or one that does not work.
    Unauthorized,
    /// 401: a webhook request's signature is missing or wrong.
    InvalidSignature,
    /// 401: a webhook request's timestamp is too far from now.
    TimestampOutOfWindow,
    /// 403: the key may not use this route.
    Forbidden,
    /// 404: no such object (or another tenant's), or no such route.
    NotFound,
    /// 405: the route does not take this method.
    MethodNotAllowed,
    /// 409: the object's state does not allow it.
    Conflict,
    /// 409: this signed webhook request was accepted before.
    Replayed,
    /// 413: the body is larger than the API reads.
    PayloadTooLarge,
    /// 422: a field, parameter or header is wrong; `field` names it.
    InvalidField,
    /// 500: adsync failed; the cause is logged, never shown.
    Internal,
    /// 502: a platform refused or failed a call made for the request.
    PlatformError,
    /// 503: PostgreSQL, RabbitMQ or a configured feature is unavailable.
    Unavailable,
}

impl ProblemCode {
    pub const ALL: [ProblemCode; 16] = [
        ProblemCode::InvalidRequest,
        ProblemCode::InvalidState,
        ProblemCode::InvalidCode,
        ProblemCode::Unauthorized,
        ProblemCode::InvalidSignature,
        ProblemCode::TimestampOutOfWindow,
        ProblemCode::Forbidden,
        ProblemCode::NotFound,
        ProblemCode::MethodNotAllowed,
        ProblemCode::Conflict,
        ProblemCode::Replayed,
        ProblemCode::PayloadTooLarge,
        ProblemCode::InvalidField,
        ProblemCode::Internal,
        ProblemCode::PlatformError,
        ProblemCode::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::InvalidRequest => "invalid_request",
            ProblemCode::InvalidState => "invalid_state",
            ProblemCode::InvalidCode => "invalid_code",
            ProblemCode::Unauthorized => "unauthorized",
            ProblemCode::InvalidSignature => "invalid_signature",
            ProblemCode::TimestampOutOfWindow => "timestamp_out_of_window",
            ProblemCode::Forbidden => "forbidden",
            ProblemCode::NotFound => "not_found",
            ProblemCode::MethodNotAllowed => "method_not_allowed",
            ProblemCode::Conflict => "conflict",
            ProblemCode::Replayed => "replayed",
            ProblemCode::PayloadTooLarge => "payload_too_large",
            ProblemCode::InvalidField => "invalid_field",
            ProblemCode::Internal => "internal",
            ProblemCode::PlatformError => "platform_error",
            ProblemCode::Unavailable => "unavailable",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ProblemCode::InvalidRequest | ProblemCode::InvalidState | ProblemCode::InvalidCode => {
                StatusCode::BAD_REQUEST
            }
            ProblemCode::Unauthorized
            | ProblemCode::InvalidSignature
            | ProblemCode::TimestampOutOfWindow => StatusCode::UNAUTHORIZED,
            ProblemCode::Forbidden => StatusCode::FORBIDDEN,
            ProblemCode::NotFound => StatusCode::NOT_FOUND,
            ProblemCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemCode::Conflict | ProblemCode::Replayed => StatusCode::CONFLICT,
            ProblemCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemCode::InvalidField => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ProblemCode::PlatformError => StatusCode::BAD_GATEWAY,
            ProblemCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

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
    #[error("this route does not take the {0} method")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the request body is larger than {BODY_LIMIT_BYTES} bytes")]
    TooLarge,
    #[error("a dependency is unavailable")]
    Unavailable(String),
    /// A refusal with a code of its own, such as a webhook's bad signature or an OAuth
    /// callback's bad `state`; `field` names the parameter or header at fault.
    #[error("{detail}")]
    Refused {
        code: ProblemCode,
        field: Option<&'static str>,
        detail: String,
    },
    /// The platform refused or failed a call made for the request (an OAuth code exchange,
    /// account discovery). Never for a failure on adsync's side, which is `Internal`.
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
#[schema(example = json!({"type": "about:blank", "title": "Unprocessable Entity", "status": 422, "code": "invalid_field", "detail": "must be 1 to 200 characters on one line, not blank, without control characters", "field": "name"}))]
pub struct Problem<'a> {
    /// Always `about:blank`.
    #[serde(rename = "type")]
    kind: &'a str,
    /// The HTTP status's reason phrase.
    title: &'a str,
    status: u16,
    /// Stable machine-readable code; each code has one status.
    code: ProblemCode,
    /// What went wrong, for people; never contains a secret.
    detail: String,
    /// The field, parameter or header at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn code(&self) -> ProblemCode {
        match self {
            ApiError::InvalidRequest(_) => ProblemCode::InvalidRequest,
            ApiError::InvalidField(_) => ProblemCode::InvalidField,
            ApiError::Unauthorized => ProblemCode::Unauthorized,
            ApiError::Forbidden(_) => ProblemCode::Forbidden,
            ApiError::NotFound(_) => ProblemCode::NotFound,
            ApiError::MethodNotAllowed(_) => ProblemCode::MethodNotAllowed,
            ApiError::Conflict(_) => ProblemCode::Conflict,
            ApiError::TooLarge => ProblemCode::PayloadTooLarge,
            ApiError::Unavailable(_) => ProblemCode::Unavailable,
            ApiError::Refused { code, .. } => *code,
            ApiError::Platform(_) => ProblemCode::PlatformError,
            ApiError::Internal(_) => ProblemCode::Internal,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code();
        let status = code.status();
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
        let mut response = (status, axum::Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// A JSON object body whose rejections are problem documents naming the field at fault.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(not_json());
        }
        let ApiBody(body) = ApiBody::from_request(request, state).await?;
        parse_json(&body).map(ApiJson)
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// The answer to a body that is not declared JSON.
pub(crate) fn not_json() -> ApiError {
    ApiError::InvalidRequest("expected a JSON body with Content-Type: application/json".into())
}

/// Whether the content type is JSON (`application/json`, or `application/<x>+json`).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

/// A request body as bytes, read under [`BODY_LIMIT_BYTES`] (the webhook's opaque body, the
/// optional body of discovery).
#[derive(Debug, Clone, Default)]
pub struct ApiBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(request, state)
            .await
            .map(ApiBody)
            .map_err(ApiError::from)
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::InvalidRequest(rejection.body_text())
        }
    }
}

/// The name in serde's "missing field `name` …" message.
pub(crate) fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(name, _)| name)
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

/// Parses a JSON object body: the problem documents name the field at fault (`body` for the
/// body as a whole).
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if let Some(field) = field_with_nul(body) {
        return Err(InvalidField::new(field, "must not contain U+0000 (a NUL character)").into());
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed =
        serde_path_to_error::deserialize(ObjectOnly(&mut deserializer)).map_err(|error| {
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
        })?;
    deserializer.end().map_err(|error| {
        ApiError::InvalidRequest(format!("the body is not valid JSON: {error}"))
    })?;
    Ok(parsed)
}

/// The path (`report.metrics[0]`) of the first string, or object key, holding U+0000; a NUL
/// can only be written `\u0000` in JSON, so bodies without that escape are not walked.
fn field_with_nul(body: &[u8]) -> Option<String> {
    if !body.windows(6).any(|window| window == b"\\u0000") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    fn walk(value: &serde_json::Value, path: &str) -> Option<String> {
        let name = |path: &str| {
            if path.is_empty() {
                "body".to_owned()
            } else {
                path.to_owned()
            }
        };
        match value {
            serde_json::Value::String(text) => text.contains('\0').then(|| name(path)),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| walk(item, &format!("{path}[{i}]"))),
            serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
                if key.contains('\0') {
                    return Some(name(path));
                }
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(item, &path)
            }),
            serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => {
                None
            }
        }
    }
    walk(&value, "")
}

/// A deserializer that only lets a struct be read from a JSON object: serde's derived structs
/// also take an array of their fields in order (`["enterprise", 50]`), which no client means.
struct ObjectOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_struct(name, fields, MapOnly(visitor))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// Passes a JSON object on to the struct's visitor and refuses everything else.
struct MapOnly<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for MapOnly<V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(map)
    }
}

/// `#[serde(deserialize_with = "object")]` for a field holding a struct: only a JSON object.
pub(crate) fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    T::deserialize(ObjectOnly(deserializer))
}

/// [`object`] for an optional field: `null` or absent is `None` (with `#[serde(default)]`).
pub(crate) fn optional_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    struct Object<T>(T);
    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            object(deserializer).map(Object)
        }
    }
    Option::<Object<T>>::deserialize(deserializer).map(|found| found.map(|Object(value)| value))
}

/// `#[serde(default, deserialize_with = "optional_int")]` for an `Option<i32>`: a whole number,
/// also written with a zero fraction (`7.0`), which JSON Schema counts as an integer too.
pub(crate) fn optional_int<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i32>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let whole = number.as_i64().or_else(|| {
        number
            .as_f64()
            .filter(|value| value.is_finite() && value.fract() == 0.0)
            // In i64's range (checked below against i32's); `as` saturates beyond it.
            .map(|value| value as i64)
    });
    whole
        .and_then(|value| i32::try_from(value).ok())
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("{number} is not a whole number in range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        level: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        plan: Option<String>,
        #[serde(default)]
        cap: Option<i32>,
        #[serde(default, deserialize_with = "optional_object")]
        inner: Option<Inner>,
    }

    fn field_of(body: &str) -> String {
        match parse_json::<Body>(body.as_bytes()) {
            Err(ApiError::InvalidField(invalid)) => invalid.field,
            Err(other) => format!("{:?}", other.code()),
            Ok(parsed) => format!("accepted {parsed:?}"),
        }
    }

    #[test]
    fn a_body_is_an_object_and_so_is_every_struct_in_it() {
        assert!(parse_json::<Body>(br#"{"plan": "pro", "inner": {"level": "ad"}}"#).is_ok());
        assert!(parse_json::<Body>(br#"{"plan": "pro", "inner": null}"#).is_ok());
        assert_eq!(field_of(r#"["enterprise", 50]"#), "body");
        assert_eq!(field_of(r#""enterprise""#), "body");
        assert_eq!(field_of(r#"{"plan": "pro", "inner": ["ad"]}"#), "inner");
        assert_eq!(field_of(r#"{"plan": "pro"} {}"#), "InvalidRequest");
        assert_eq!(field_of(r#"{"plan": "pro""#), "InvalidRequest");
    }

    #[test]
    fn a_nul_anywhere_is_refused_naming_where() {
        assert_eq!(field_of(r#"{"plan": "p\u0000"}"#), "plan");
        assert_eq!(
            field_of(r#"{"plan": "p", "inner": {"level": "\u0000"}}"#),
            "inner.level"
        );
        assert_eq!(field_of(r#"{"pl\u0000an": "p"}"#), "body");
        // An escaped backslash before `u0000` is not a NUL.
        assert_eq!(
            field_of(r#"{"plan": "\\u0000"}"#),
            "accepted Body { plan: Some(\"\\\\u0000\"), cap: None, inner: None }"
        );
    }

    #[test]
    fn whole_numbers_may_be_written_with_a_zero_fraction() {
        #[derive(Debug, Deserialize)]
        struct Count {
            #[serde(default, deserialize_with = "optional_int")]
            n: Option<i32>,
        }
        let read = |json: &str| serde_json::from_str::<Count>(json).map(|count| count.n);
        assert_eq!(read(r#"{"n": 7}"#).unwrap(), Some(7));
        assert_eq!(read(r#"{"n": 7.0}"#).unwrap(), Some(7));
        assert_eq!(read(r#"{"n": -3e0}"#).unwrap(), Some(-3));
        assert_eq!(read(r#"{"n": null}"#).unwrap(), None);
        assert_eq!(read(r#"{}"#).unwrap(), None);
        for bad in [
            r#"{"n": 7.5}"#,
            r#"{"n": 1e12}"#,
            r#"{"n": "7"}"#,
            r#"{"n": 1e400}"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_code_has_a_distinct_name() {
        let mut names: Vec<&str> = ProblemCode::ALL.iter().map(|code| code.as_str()).collect();
        for code in ProblemCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, code.as_str());
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ProblemCode::ALL.len());
    }
}
