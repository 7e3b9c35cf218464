//! AppsFlyer Pull API: aggregate CSV reports per app, served under `/appsflyer/api`.
//! (Being built: no routes yet.)

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::connector::Connector;
use crate::requests::UnknownRoute;
use crate::state::Sandbox;
use crate::wire;

/// What an account id looks like, for error messages.
pub const ACCOUNT_ID_SHAPE: &str =
    "an app id: id followed by digits (iOS) or a package name (Android)";

/// Settings of this platform in a sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppsflyerConfig {}

/// This platform's mutable state inside a sandbox.
#[derive(Debug)]
pub(crate) struct AppsflyerState {
    #[allow(dead_code)]
    config: AppsflyerConfig,
}

impl AppsflyerState {
    pub(crate) fn new(config: AppsflyerConfig) -> Self {
        Self { config }
    }
}

/// The platform routes, to be nested under `/appsflyer`.
pub(crate) fn router() -> Router<Sandbox> {
    Router::new()
}

/// The sandbox-only routes, to be nested under `/_sandbox/appsflyer`.
pub(crate) fn control_router() -> Router<Sandbox> {
    Router::new()
}

/// The answer to a request under the prefix that matches no route.
pub(crate) fn unknown_route(_sandbox: &Sandbox, path: &str) -> Response {
    UnknownRoute {
        connector: Some(Connector::Appsflyer),
    }
    .attach(wire::json(
        StatusCode::NOT_FOUND,
        &json!({ "error": format!("no route {path}") }),
    ))
}

/// Whether `id` is shaped like an account id of this platform.
pub fn is_valid_account_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
}
