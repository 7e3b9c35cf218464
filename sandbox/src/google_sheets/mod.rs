//! Google Sheets API v4 (a destination): spreadsheets, tabs and cell values, served under `/google_sheets`.
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
pub const ACCOUNT_ID_SHAPE: &str = "a spreadsheet id (letters, digits, - and _)";

/// Settings of this platform in a sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoogleSheetsConfig {}

/// This platform's mutable state inside a sandbox.
#[derive(Debug)]
pub(crate) struct GoogleSheetsState {
    #[allow(dead_code)]
    config: GoogleSheetsConfig,
}

impl GoogleSheetsState {
    pub(crate) fn new(config: GoogleSheetsConfig) -> Self {
        Self { config }
    }
}

/// The platform routes, to be nested under `/google_sheets`.
pub(crate) fn router() -> Router<Sandbox> {
    Router::new()
}

/// The sandbox-only routes, to be nested under `/_sandbox/google_sheets`.
pub(crate) fn control_router() -> Router<Sandbox> {
    Router::new()
}

/// The answer to a request under the prefix that matches no route.
pub(crate) fn unknown_route(_sandbox: &Sandbox, path: &str) -> Response {
    UnknownRoute {
        connector: Some(Connector::GoogleSheets),
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
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
