//! Snapchat Marketing API: ad account stats and entities, served under `/snapchat_ads`.
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
pub const ACCOUNT_ID_SHAPE: &str = "a UUID";

/// Settings of this platform in a sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapchatAdsConfig {}

/// This platform's mutable state inside a sandbox.
#[derive(Debug)]
pub(crate) struct SnapchatAdsState {
    #[allow(dead_code)]
    config: SnapchatAdsConfig,
}

impl SnapchatAdsState {
    pub(crate) fn new(config: SnapchatAdsConfig) -> Self {
        Self { config }
    }
}

/// The platform routes, to be nested under `/snapchat_ads`.
pub(crate) fn router() -> Router<Sandbox> {
    Router::new()
}

/// The sandbox-only routes, to be nested under `/_sandbox/snapchat_ads`.
pub(crate) fn control_router() -> Router<Sandbox> {
    Router::new()
}

/// The answer to a request under the prefix that matches no route.
pub(crate) fn unknown_route(_sandbox: &Sandbox, path: &str) -> Response {
    UnknownRoute {
        connector: Some(Connector::SnapchatAds),
    }
    .attach(wire::json(
        StatusCode::NOT_FOUND,
        &json!({ "error": format!("no route {path}") }),
    ))
}

/// Whether `id` is shaped like an account id of this platform.
pub fn is_valid_account_id(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}
