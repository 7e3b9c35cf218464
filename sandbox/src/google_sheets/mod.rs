//! Google Sheets API v4 (a destination): spreadsheets, tabs and cell values, served under
//! `/google_sheets` in Google's wire format (see `docs/platforms.md`).
//!
//! Routes (under `/google_sheets`): `GET /v4/spreadsheets/{id}`, `POST
//! /v4/spreadsheets/{id}:batchUpdate`, `GET|PUT /v4/spreadsheets/{id}/values/{range}`, `POST
//! …/values/{range}:append`, `POST …/values/{range}:clear`, `GET …/values:batchGet`, `POST
//! …/values:batchUpdate`, `POST …/values:batchClear`, the OAuth token endpoint `POST
//! /oauth2/token` and `GET /oauth2/tokeninfo`. Spreadsheets exist only when created through the control API
//! (`POST /_sandbox/google_sheets/spreadsheets`) or [`Sandbox::create_spreadsheet`].
//!
//! Every API request first goes through `Prelude`, in Google's order: injected faults, the
//! bearer token (`Authorization: Bearer` or `access_token=`), the per-minute quotas (a read or a
//! write, per user and per project), then the spreadsheet: unknown → 404, not shared with the
//! caller → 403.
//!
//! Sharing rule: a spreadsheet created with `shared_with: None` is open to every token; with a
//! list of tokens, only to those tokens and to every token of the same grant (an access token
//! refreshed from a listed refresh token, or the refresh token of a listed access token).
//! Quotas count per user, a user being the login (Google account) that consented to the token's
//! grant — two grants of one login share its quota — or the token itself for tokens the
//! sandbox never issued, and per project (the whole sandbox). `GET /oauth2/tokeninfo` tells a
//! client which login a token belongs to (`sub`).
//!
//! Faults: `Throttle` → 429 with the per-user quota's ErrorInfo; `ServerError` → 500
//! `INTERNAL`; `ReduceData` → 503 `UNAVAILABLE`; `ExpiredToken` → 401 `ACCESS_TOKEN_EXPIRED`;
//! `RevokedToken` → 401 (and the grant is revoked); `Slow` → the normal answer after the delay;
//! `Malformed` → the normal work (a write is applied) and a 200 whose body breaks one field
//! (see `malform`).
//!
//! Layout: `a1` (ranges), `cells` (stored values, input parsing and rendering), `grid` (sheets
//! and their storage), `batch` (`spreadsheets.batchUpdate`), `values` (the values methods),
//! `errors`, `oauth`, `control` (the sandbox-only routes and the `Sandbox` methods for tests).

mod a1;
mod batch;
mod cells;
mod control;
mod errors;
mod grid;
mod values;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::Value;

pub use cells::CellValue;
pub use control::{NewSpreadsheet, NewTab};

use crate::connector::Connector;
use crate::faults::{FaultKind, FiredFault};
use crate::google_oauth;
use crate::limits::{CallCounter, Limit};
use crate::requests::{Handled, UnknownRoute};
use crate::state::{Sandbox, lock};
use crate::tokens::TokenStatus;
use errors::{Quota, SheetsError};
use grid::Spreadsheet;

/// Whether a throttle answer here is a quota that lasts until the next 00:00 UTC.
pub const THROTTLE_IS_A_DAILY_QUOTA: bool = false;

/// What an account id looks like, for error messages.
pub const ACCOUNT_ID_SHAPE: &str = "a spreadsheet id (letters, digits, - and _)";

/// Access tokens from the token endpoint live this long (Google says `expires_in: 3599`).
pub use crate::google_oauth::ACCESS_TOKEN_LIFETIME;

/// The largest request body accepted. Google takes bodies far above its recommended 2 MB; a
/// million-cell `updateCells` is some 50 MB of JSON.
pub const MAX_BODY_BYTES: usize = 512 * 1024 * 1024;

/// Settings of this platform in a sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleSheetsConfig {
    /// Read requests (spreadsheet and values reads) one user may make per minute.
    pub read_requests_per_minute_per_user: u32,
    /// Read requests the project may make per minute, over all users.
    pub read_requests_per_minute_per_project: u32,
    /// Write requests (`batchUpdate`, values update/batchUpdate/append/clear/batchClear) one
    /// user may make per minute.
    pub write_requests_per_minute_per_user: u32,
    /// Write requests the project may make per minute, over all users.
    pub write_requests_per_minute_per_project: u32,
    /// The workbook limit: the sum of every sheet's `rowCount × columnCount`.
    pub max_cells_per_spreadsheet: u64,
}

impl Default for GoogleSheetsConfig {
    fn default() -> Self {
        Self {
            read_requests_per_minute_per_user: 60,
            read_requests_per_minute_per_project: 300,
            write_requests_per_minute_per_user: 60,
            write_requests_per_minute_per_project: 300,
            max_cells_per_spreadsheet: 10_000_000,
        }
    }
}

/// This platform's mutable state inside a sandbox.
#[derive(Debug)]
pub(crate) struct GoogleSheetsState {
    config: GoogleSheetsConfig,
    spreadsheets: Mutex<HashMap<String, Spreadsheet>>,
    calls: CallCounter,
    pub(crate) used_codes: Mutex<HashSet<String>>,
    next_id: AtomicU64,
}

impl GoogleSheetsState {
    pub(crate) fn new(config: GoogleSheetsConfig) -> Self {
        Self {
            config,
            spreadsheets: Mutex::new(HashMap::new()),
            calls: CallCounter::default(),
            used_codes: Mutex::new(HashSet::new()),
            next_id: AtomicU64::new(0),
        }
    }
}

/// The platform routes, to be nested under `/google_sheets`.
pub(crate) fn router() -> Router<Sandbox> {
    Router::new()
        .route(
            "/v4/spreadsheets/{id}",
            get(values::get_spreadsheet).post(values::post_spreadsheet),
        )
        .route(
            "/v4/spreadsheets/{id}/values/{range}",
            get(values::get_values)
                .put(values::put_values)
                .post(values::post_values),
        )
        .route(
            "/v4/spreadsheets/{id}/{action}",
            get(values::get_action).post(values::post_action),
        )
        .route(google_oauth::ROUTE, post(google_oauth::sheets_token))
        .route(
            google_oauth::TOKENINFO_ROUTE,
            get(google_oauth::sheets_tokeninfo_get).post(google_oauth::sheets_tokeninfo_post),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// The sandbox-only routes, to be nested under `/_sandbox/google_sheets`.
pub(crate) fn control_router() -> Router<Sandbox> {
    control::router()
}

/// The answer to a request under the prefix that matches no route: Google's front-end 404.
pub(crate) fn unknown_route(_sandbox: &Sandbox, path: &str) -> Response {
    UnknownRoute {
        connector: Some(Connector::GoogleSheets),
    }
    .attach(SheetsError::no_route(path).into_response())
}

/// Google Sheets has spreadsheets, not accounts.
pub fn numbered_account(_n: usize) -> Option<crate::facts::AccountSummary> {
    None
}

/// Whether `id` is shaped like a spreadsheet id.
pub fn is_valid_account_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Which quota a method counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// The common part of every Sheets request, from route match to the method's own logic.
#[derive(Debug)]
pub(crate) struct Prelude {
    route: &'static str,
    /// The RPC name Google puts in ErrorInfo metadata.
    method: &'static str,
    access: Access,
    spreadsheet_id: String,
    fault: Option<FiredFault>,
}

impl Prelude {
    /// Recognises the route and consumes a matching fault; sleeps for a slow fault.
    pub(crate) async fn begin(
        sandbox: &Sandbox,
        route: &'static str,
        method: &'static str,
        access: Access,
        spreadsheet_id: &str,
    ) -> Self {
        let fault = sandbox.take_fault(Connector::GoogleSheets, Some(spreadsheet_id));
        if let Some(fired) = fault
            && fired.kind == FaultKind::Slow
        {
            tokio::time::sleep(fired.delay).await;
        }
        Self {
            route,
            method,
            access,
            spreadsheet_id: spreadsheet_id.to_owned(),
            fault,
        }
    }

    /// Whether a `Malformed` fault fired: the answer must break one field.
    pub(crate) fn malformed(&self) -> bool {
        self.fault
            .is_some_and(|fired| fired.kind == FaultKind::Malformed)
    }

    fn quotas(&self, config: &GoogleSheetsConfig) -> [(Quota, u32); 2] {
        match self.access {
            Access::Read => [
                (Quota::ReadPerUser, config.read_requests_per_minute_per_user),
                (
                    Quota::ReadPerProject,
                    config.read_requests_per_minute_per_project,
                ),
            ],
            Access::Write => [
                (
                    Quota::WritePerUser,
                    config.write_requests_per_minute_per_user,
                ),
                (
                    Quota::WritePerProject,
                    config.write_requests_per_minute_per_project,
                ),
            ],
        }
    }

    /// Applies the checks common to all calls and counts the call against the quotas; a write
    /// admitted to a spreadsheet counts as one of its write requests.
    pub(crate) fn admit(
        &self,
        sandbox: &Sandbox,
        headers: &HeaderMap,
        params: &[(String, String)],
    ) -> Result<(), SheetsError> {
        let state = sandbox.google_sheets();
        let config = &state.config;
        let token = access_token(headers, params);
        if let Some(fired) = self.fault {
            let error = match fired.kind {
                FaultKind::Throttle => {
                    let (quota, limit) = self.quotas(config)[0];
                    Some(SheetsError::quota_exceeded(quota, limit))
                }
                FaultKind::ServerError => Some(SheetsError::internal()),
                FaultKind::ReduceData => Some(SheetsError::unavailable()),
                FaultKind::ExpiredToken => Some(SheetsError::token_expired(self.method)),
                FaultKind::RevokedToken => {
                    if let Some(token) = &token {
                        sandbox.revoke_token(Connector::GoogleSheets, token);
                    }
                    Some(SheetsError::token_invalid())
                }
                FaultKind::Malformed | FaultKind::Slow => None,
            };
            if let Some(error) = error {
                return Err(error);
            }
        }
        let Some(token) = token else {
            return Err(SheetsError::credentials_missing(self.method));
        };
        match sandbox.token_status(Connector::GoogleSheets, &token) {
            TokenStatus::Valid => {}
            TokenStatus::Expired => return Err(SheetsError::token_expired(self.method)),
            TokenStatus::Revoked => return Err(SheetsError::token_invalid()),
        }
        let user = user_key(sandbox, &token);
        let quotas = self.quotas(config);
        let prefix = match self.access {
            Access::Read => "read",
            Access::Write => "write",
        };
        let user_counter = format!("{prefix}:user:{user}");
        let project_counter = format!("{prefix}:project");
        let minute = Duration::from_secs(60);
        let limits = [
            Limit {
                key: &user_counter,
                max_calls: quotas[0].1,
                window: minute,
            },
            Limit {
                key: &project_counter,
                max_calls: quotas[1].1,
                window: minute,
            },
        ];
        if let Err(refused) = state.calls.admit(sandbox.limits_now(), &limits) {
            let (quota, limit) = quotas[refused.index.min(1)];
            return Err(SheetsError::quota_exceeded(quota, limit));
        }
        let mut spreadsheets = lock(&state.spreadsheets);
        let spreadsheet = spreadsheets
            .get_mut(&self.spreadsheet_id)
            .ok_or_else(SheetsError::not_found)?;
        if let Some(shared) = &spreadsheet.shared_with {
            let grant = sandbox.token_grant(Connector::GoogleSheets, &token);
            let allowed = shared.iter().any(|listed| {
                *listed == token
                    || grant.is_some()
                        && sandbox.token_grant(Connector::GoogleSheets, listed) == grant
            });
            if !allowed {
                return Err(SheetsError::permission_denied());
            }
        }
        if self.access == Access::Write {
            spreadsheet.writes += 1;
        }
        Ok(())
    }

    /// Renders an error and marks it for the request log.
    pub(crate) fn reject(self, error: SheetsError) -> Response {
        self.finish(error.into_response())
    }

    /// Marks the response with what was served, for the request log.
    pub(crate) fn finish(self, response: Response) -> Response {
        Handled {
            connector: Connector::GoogleSheets,
            route: self.route,
            account_id: is_valid_account_id(&self.spreadsheet_id).then_some(self.spreadsheet_id),
            fault: self.fault.map(|fired| fired.kind),
        }
        .attach(response)
    }
}

/// Who a token belongs to, for per-user quotas: the login that consented to its grant (one
/// quota for every grant of one Google account), or the token itself.
fn user_key(sandbox: &Sandbox, token: &str) -> String {
    match sandbox.token_login(Connector::GoogleSheets, token) {
        Some(login) => format!("login:{login}"),
        None => format!("token:{token}"),
    }
}

/// The access token from an `Authorization: Bearer` header or the `access_token` parameter;
/// empty tokens count as missing.
fn access_token(headers: &HeaderMap, params: &[(String, String)]) -> Option<String> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_owned())
        })
        .filter(|token| !token.is_empty());
    from_header.or_else(|| {
        params
            .iter()
            .rev()
            .find(|(name, _)| name == "access_token")
            .map(|(_, value)| value.trim().to_owned())
            .filter(|token| !token.is_empty())
    })
}

/// Breaks one field of a successful answer, for the `Malformed` fault: the field a client
/// reads first becomes a value of the wrong type.
pub(crate) fn malform(body: &mut Value) {
    let broken = Value::String("#REF!".to_owned());
    if let Some(sheets) = body.get_mut("sheets") {
        if let Some(grid) = sheets.pointer_mut("/0/properties/gridProperties/rowCount") {
            *grid = broken;
        } else {
            *sheets = broken;
        }
    } else if let Some(field) = body.get_mut("replies") {
        *field = broken;
    } else if let Some(field) = body.get_mut("valueRanges") {
        *field = broken;
    } else if let Some(field) = body.get_mut("updates") {
        *field = broken;
    } else if body.get("clearedRange").is_some() || body.get("clearedRanges").is_some() {
        if let Some(object) = body.as_object_mut() {
            object.remove("clearedRange");
            object.insert("clearedRanges".to_owned(), Value::from(7));
        }
    } else if body.get("updatedCells").is_some() || body.get("totalUpdatedCells").is_some() {
        if let Some(object) = body.as_object_mut() {
            object.insert("updatedCells".to_owned(), broken.clone());
            object.insert("totalUpdatedCells".to_owned(), broken);
        }
    } else if let Some(object) = body.as_object_mut() {
        object.insert("values".to_owned(), broken);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    #[test]
    fn tokens_come_from_the_bearer_header_or_the_query() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(access_token(&headers, &[]).as_deref(), Some("abc"));
        let query = vec![("access_token".to_owned(), "q".to_owned())];
        assert_eq!(
            access_token(&HeaderMap::new(), &query).as_deref(),
            Some("q")
        );
        assert_eq!(access_token(&HeaderMap::new(), &[]), None);
    }

    #[test]
    fn malformed_answers_break_the_field_read_first() {
        let mut values = json!({"range": "Sheet1!A1", "majorDimension": "ROWS", "values": [[1]]});
        malform(&mut values);
        assert_eq!(values["values"], "#REF!");
        let mut spreadsheet =
            json!({"sheets": [{"properties": {"gridProperties": {"rowCount": 5}}}]});
        malform(&mut spreadsheet);
        assert_eq!(
            spreadsheet["sheets"][0]["properties"]["gridProperties"]["rowCount"],
            "#REF!"
        );
    }
}
