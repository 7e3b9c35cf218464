//! The control API under `/_sandbox`: health, faults, the request log, the clock, and each
//! platform's sandbox-only routes (e.g. `/_sandbox/meta_ads/accounts/{id}`).
//!
//! Errors are `{"error": "<message>", "field": "<name>"}` with HTTP 400 (or 404), naming the field
//! that was wrong. Control requests are not recorded in the request log.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::connector::Connector;
use crate::faults::{Fault, FaultKind, PendingFault};
use crate::state::Sandbox;
use crate::wire;

/// The control routes, to be nested under `/_sandbox`.
pub(crate) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/health", get(health))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/requests", get(list_requests).delete(clear_requests))
        .route("/failures", get(list_failures))
        .route("/clock", get(get_clock).put(set_clock))
        .nest("/tokens", crate::tokens::control_router())
        .merge(crate::platforms::control_routers())
}

/// A control API error naming the offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ControlError {
    status: StatusCode,
    field: String,
    message: String,
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        wire::json(
            self.status,
            &json!({ "error": self.message, "field": self.field }),
        )
    }
}

/// A control API error naming the offending field.
pub(crate) fn control_error(
    status: StatusCode,
    field: &str,
    message: impl Into<String>,
) -> ControlError {
    ControlError {
        status,
        field: field.to_owned(),
        message: message.into(),
    }
}

/// The date in query parameter `name` (`YYYY-MM-DD`), or an error naming it.
pub(crate) fn date_param(
    params: &std::collections::HashMap<String, String>,
    name: &'static str,
) -> Result<chrono::NaiveDate, ControlError> {
    let text = params
        .get(name)
        .ok_or_else(|| bad_request(name, format!("{name} is required (YYYY-MM-DD)")))?;
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        bad_request(
            name,
            format!("{name} must be a date in the format YYYY-MM-DD, got '{text}'"),
        )
    })
}

fn bad_request(field: &str, message: impl Into<String>) -> ControlError {
    control_error(StatusCode::BAD_REQUEST, field, message)
}

async fn health() -> Response {
    wire::json(StatusCode::OK, &json!({ "status": "ok" }))
}

async fn list_faults(State(sandbox): State<Sandbox>) -> Response {
    wire::json(StatusCode::OK, &sandbox.faults())
}

async fn clear_faults(State(sandbox): State<Sandbox>) -> Response {
    sandbox.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

const FAULT_FIELDS: &[&str] = &[
    "connector",
    "account_id",
    "kind",
    "times",
    "after",
    "delay_ms",
    "probability",
];

/// Reads an optional non-negative integer field.
fn optional_u64(
    object: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<u64>, ControlError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad_request(field, format!("{field} must be a non-negative integer"))),
    }
}

fn optional_u32(
    object: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<u32>, ControlError> {
    optional_u64(object, field)?
        .map(|value| {
            u32::try_from(value).map_err(|_| bad_request(field, format!("{field} is too large")))
        })
        .transpose()
}

fn required_str<'a>(
    object: &'a serde_json::Map<String, Value>,
    field: &str,
) -> Result<&'a str, ControlError> {
    object
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request(field, format!("{field} is required and must be a string")))
}

/// Parses the body of `POST /_sandbox/faults`.
fn parse_fault(body: &[u8]) -> Result<Fault, ControlError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| bad_request("body", format!("the body must be a JSON object: {error}")))?;
    let Value::Object(object) = value else {
        return Err(bad_request("body", "the body must be a JSON object"));
    };
    if let Some(unknown) = object
        .keys()
        .find(|key| !FAULT_FIELDS.contains(&key.as_str()))
    {
        return Err(bad_request(
            unknown,
            format!(
                "unknown field '{unknown}', expected one of: {}",
                FAULT_FIELDS.join(", ")
            ),
        ));
    }
    let connector: Connector = required_str(&object, "connector")?.parse().map_err(
        |error: crate::connector::UnknownConnector| bad_request("connector", error.to_string()),
    )?;
    let kind: FaultKind = required_str(&object, "kind")?
        .parse()
        .map_err(|error: crate::faults::UnknownFaultKind| bad_request("kind", error.to_string()))?;
    let mut fault = Fault::new(connector, kind);
    match object.get("account_id") {
        None | Some(Value::Null) => {}
        Some(Value::String(id)) => fault = fault.account(id.clone()),
        Some(Value::Number(id)) => fault = fault.account(id.to_string()),
        Some(_) => return Err(bad_request("account_id", "account_id must be a string")),
    }
    if let Some(id) = &fault.account_id
        && !crate::platforms::is_valid_account_id(connector, id)
    {
        return Err(bad_request(
            "account_id",
            format!(
                "'{id}' is not a {connector} account id ({})",
                crate::platforms::account_id_shape(connector)
            ),
        ));
    }
    match object.get("times") {
        Some(Value::String(text)) if text == "unlimited" => fault = fault.unlimited(),
        Some(Value::String(_)) => {
            return Err(bad_request(
                "times",
                "times must be a positive integer or \"unlimited\"",
            ));
        }
        _ => {
            if let Some(times) = optional_u32(&object, "times")? {
                if times == 0 {
                    return Err(bad_request("times", "times must be at least 1"));
                }
                fault = fault.times(times);
            }
        }
    }
    match object.get("probability") {
        None | Some(Value::Null) => {}
        Some(value) => match value.as_f64() {
            Some(p) if p > 0.0 && p <= 1.0 => fault = fault.probability(p),
            _ => {
                return Err(bad_request(
                    "probability",
                    "probability must be a number greater than 0 and at most 1",
                ));
            }
        },
    }
    if let Some(after) = optional_u32(&object, "after")? {
        fault = fault.after(after);
    }
    match (kind, optional_u64(&object, "delay_ms")?) {
        (_, Some(delay_ms)) => fault = fault.delay(Duration::from_millis(delay_ms)),
        (FaultKind::Slow, None) => {
            return Err(bad_request(
                "delay_ms",
                "delay_ms is required for kind slow",
            ));
        }
        (_, None) => {}
    }
    Ok(fault)
}

async fn add_fault(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    match parse_fault(&body) {
        Ok(fault) => {
            let id = sandbox.add_fault(fault.clone());
            wire::json(StatusCode::CREATED, &PendingFault { id, fault })
        }
        Err(error) => error.into_response(),
    }
}

async fn list_requests(
    State(sandbox): State<Sandbox>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    match params.get("connector") {
        None => wire::json(StatusCode::OK, &sandbox.requests()),
        Some(name) => match name.parse::<Connector>() {
            Ok(connector) => wire::json(StatusCode::OK, &sandbox.requests_for(connector)),
            Err(error) => bad_request("connector", error.to_string()).into_response(),
        },
    }
}

async fn clear_requests(State(sandbox): State<Sandbox>) -> Response {
    sandbox.clear_requests();
    StatusCode::NO_CONTENT.into_response()
}

async fn list_failures(State(sandbox): State<Sandbox>) -> Response {
    wire::json(StatusCode::OK, &sandbox.unknown_routes())
}

#[derive(Serialize)]
struct ClockView {
    now: DateTime<Utc>,
    frozen: bool,
}

fn clock_view(sandbox: &Sandbox) -> ClockView {
    ClockView {
        now: sandbox.now(),
        frozen: sandbox.clock_is_frozen(),
    }
}

async fn get_clock(State(sandbox): State<Sandbox>) -> Response {
    wire::json(StatusCode::OK, &clock_view(&sandbox))
}

/// Reads the body of `PUT /_sandbox/clock`.
fn parse_clock(body: &[u8]) -> Result<Option<DateTime<Utc>>, ControlError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| bad_request("body", format!("the body must be a JSON object: {error}")))?;
    match value.get("now") {
        Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => DateTime::parse_from_rfc3339(text)
            .map(|time| Some(time.with_timezone(&Utc)))
            .map_err(|error| bad_request("now", format!("now must be an RFC 3339 time: {error}"))),
        _ => Err(bad_request(
            "now",
            "now is required: an RFC 3339 time, or null for the real clock",
        )),
    }
}

/// `PUT /_sandbox/clock` with `{"now": "<RFC 3339>"}` freezes the clock there;
/// `{"now": null}` returns to the real clock.
async fn set_clock(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    match parse_clock(&body) {
        Ok(now) => {
            sandbox.set_now(now);
            wire::json(StatusCode::OK, &clock_view(&sandbox))
        }
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_field(error: ControlError) -> (StatusCode, String) {
        (error.status, error.field)
    }

    #[test]
    fn faults_parse_with_defaults() {
        let fault = parse_fault(br#"{"connector":"meta_ads","kind":"throttle"}"#).unwrap();
        assert_eq!(fault, Fault::new(Connector::MetaAds, FaultKind::Throttle));
        let fault = parse_fault(
            br#"{"connector":"meta_ads","kind":"slow","account_id":"9","times":2,"after":3,"delay_ms":50}"#,
        )
        .unwrap();
        assert_eq!(
            fault,
            Fault::slow(Connector::MetaAds, Duration::from_millis(50))
                .account("9")
                .times(2)
                .after(3)
        );
        let fault = parse_fault(
            br#"{"connector":"tiktok_ads","kind":"server_error","times":"unlimited","probability":0.05}"#,
        )
        .unwrap();
        assert_eq!(
            fault,
            Fault::new(Connector::TiktokAds, FaultKind::ServerError)
                .unlimited()
                .probability(0.05)
        );
    }

    #[test]
    fn bad_faults_name_the_field() {
        for (body, field) in [
            (r#"{"connector":"tiktok","kind":"throttle"}"#, "connector"),
            (r#"{"connector":"meta_ads","kind":"explode"}"#, "kind"),
            (r#"{"connector":"meta_ads"}"#, "kind"),
            (r#"{"connector":"meta_ads","kind":"slow"}"#, "delay_ms"),
            (
                r#"{"connector":"meta_ads","kind":"throttle","times":0}"#,
                "times",
            ),
            (
                r#"{"connector":"meta_ads","kind":"throttle","account_id":"act_1"}"#,
                "account_id",
            ),
            (
                r#"{"connector":"meta_ads","kind":"throttle","tims":2}"#,
                "tims",
            ),
            (
                r#"{"connector":"meta_ads","kind":"throttle","times":"often"}"#,
                "times",
            ),
            (
                r#"{"connector":"meta_ads","kind":"throttle","probability":0}"#,
                "probability",
            ),
            (
                r#"{"connector":"meta_ads","kind":"throttle","probability":1.5}"#,
                "probability",
            ),
            ("[]", "body"),
        ] {
            let response = parse_fault(body.as_bytes()).unwrap_err();
            assert_eq!(
                error_field(response),
                (StatusCode::BAD_REQUEST, field.to_owned()),
                "{body}"
            );
        }
    }
}
