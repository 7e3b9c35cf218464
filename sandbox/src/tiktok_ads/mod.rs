//! TikTok Marketing API (API for Business) v1.3: `report/integrated/get/`, served under `/tiktok_ads/open_api`.
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
pub const ACCOUNT_ID_SHAPE: &str = "digits (an advertiser id)";

/// Settings of this platform in a sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TiktokAdsConfig {}

/// This platform's mutable state inside a sandbox.
#[derive(Debug)]
pub(crate) struct TiktokAdsState {
    #[allow(dead_code)]
    config: TiktokAdsConfig,
}

impl TiktokAdsState {
    pub(crate) fn new(config: TiktokAdsConfig) -> Self {
        Self { config }
    }
}

/// The platform routes, to be nested under `/tiktok_ads`.
pub(crate) fn router() -> Router<Sandbox> {
    Router::new()
}

/// The sandbox-only routes, to be nested under `/_sandbox/tiktok_ads`.
pub(crate) fn control_router() -> Router<Sandbox> {
    Router::new()
}

/// The answer to a request under the prefix that matches no route.
pub(crate) fn unknown_route(_sandbox: &Sandbox, path: &str) -> Response {
    UnknownRoute {
        connector: Some(Connector::TiktokAds),
    }
    .attach(wire::json(
        StatusCode::NOT_FOUND,
        &json!({ "error": format!("no route {path}") }),
    ))
}

/// Whether `id` is shaped like an account id of this platform.
pub fn is_valid_account_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}
