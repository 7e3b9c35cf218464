//! Sandbox-only Sheets routes under `/_sandbox/google_sheets`, and the matching `Sandbox`
//! methods for in-process tests:
//!
//! - `POST /spreadsheets` `{"title"?, "shared_with"?: [token, …], "tabs"?: ["Name" |
//!   {"title", "rows"?, "columns"?}, …]}` → 201 `{"spreadsheetId"}`. Without `shared_with` the
//!   spreadsheet is open to every token; without `tabs` it has one tab `Sheet1` (sheetId 0,
//!   1000 × 26). Tabs get sheetIds 0, 1, 2, … in order.
//! - `GET /spreadsheets/{id}` → `{"spreadsheetId","title","writes","tabs":[{"sheetId","title",
//!   "rowCount","columnCount","values":[[…]]}]}`; values are typed (`null` for an empty cell, a
//!   string, a number, a boolean, or `{"date":"YYYY-MM-DD"}`), trailing empties trimmed.
//! - `GET /spreadsheets/{id}/writes` → `{"spreadsheetId","writes"}`: the write requests the
//!   spreadsheet admitted (past auth, quota and sharing checks; whether they then succeeded or
//!   were refused as invalid).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;

use super::cells::CellValue;
use super::grid::{DEFAULT_COLUMNS, DEFAULT_ROWS, Sheet, Spreadsheet};
use crate::control::{ControlError, control_error};
use crate::rng::splitmix64;
use crate::state::{Sandbox, lock};
use crate::wire;

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/spreadsheets", post(create))
        .route("/spreadsheets/{id}", get(show))
        .route("/spreadsheets/{id}/writes", get(writes))
}

/// A spreadsheet to create.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSpreadsheet {
    /// `properties.title`.
    #[serde(default = "default_title")]
    pub title: String,
    /// The tokens it is shared with (each also admits every token of its grant); `None`: every
    /// token.
    #[serde(default)]
    pub shared_with: Option<Vec<String>>,
    /// The tabs, in order; empty: one `Sheet1` of 1000 × 26.
    #[serde(default)]
    pub tabs: Vec<NewTab>,
}

fn default_title() -> String {
    "Untitled spreadsheet".to_owned()
}

impl Default for NewSpreadsheet {
    fn default() -> Self {
        Self {
            title: default_title(),
            shared_with: None,
            tabs: Vec::new(),
        }
    }
}

impl NewSpreadsheet {
    /// A spreadsheet with this title, open to every token, with one `Sheet1`.
    pub fn titled(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            ..Self::default()
        }
    }

    /// Shares it with these tokens only.
    pub fn shared_with<S: Into<String>>(mut self, tokens: impl IntoIterator<Item = S>) -> Self {
        self.shared_with = Some(tokens.into_iter().map(Into::into).collect());
        self
    }

    /// Adds a tab of the default size (1000 × 26).
    pub fn tab(mut self, title: impl Into<String>) -> Self {
        self.tabs.push(NewTab::named(title));
        self
    }
}

/// A tab of a new spreadsheet: a name, or `{"title","rows","columns"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum NewTab {
    /// A tab of the default size.
    Named(String),
    /// A tab with its grid size.
    Sized {
        title: String,
        #[serde(default = "default_rows")]
        rows: u32,
        #[serde(default = "default_columns")]
        columns: u32,
    },
}

fn default_rows() -> u32 {
    DEFAULT_ROWS
}

fn default_columns() -> u32 {
    DEFAULT_COLUMNS
}

impl NewTab {
    /// A tab of the default size.
    pub fn named(title: impl Into<String>) -> Self {
        NewTab::Named(title.into())
    }

    fn parts(&self) -> (&str, u32, u32) {
        match self {
            NewTab::Named(title) => (title, DEFAULT_ROWS, DEFAULT_COLUMNS),
            NewTab::Sized {
                title,
                rows,
                columns,
            } => (title, *rows, *columns),
        }
    }
}

/// Why a spreadsheet could not be created.
fn check(spec: &NewSpreadsheet, limit: u64) -> Result<(), ControlError> {
    let bad = |message: String| control_error(StatusCode::BAD_REQUEST, "tabs", message);
    let mut seen: Vec<String> = Vec::new();
    let mut cells = 0u64;
    for tab in &spec.tabs {
        let (title, rows, columns) = tab.parts();
        if title.trim().is_empty() {
            return Err(bad("a tab title must not be empty".to_owned()));
        }
        if seen.contains(&title.to_lowercase()) {
            return Err(bad(format!("two tabs are called {title:?}")));
        }
        seen.push(title.to_lowercase());
        if rows == 0 || columns == 0 || columns > super::a1::MAX_COLUMNS {
            return Err(bad(format!(
                "tab {title:?} must have 1 to {} columns and at least one row",
                super::a1::MAX_COLUMNS
            )));
        }
        cells += u64::from(rows) * u64::from(columns);
    }
    if cells > limit {
        return Err(bad(format!("the tabs hold more than {limit} cells")));
    }
    Ok(())
}

impl Sandbox {
    fn build_spreadsheet(&self, spec: NewSpreadsheet) -> Result<String, ControlError> {
        let state = self.google_sheets();
        check(&spec, state.config.max_cells_per_spreadsheet)?;
        let n = state.next_id.fetch_add(1, Ordering::Relaxed);
        // Google's ids are 44 characters of URL-safe base64; derive one from a counter.
        let mut bytes = Vec::with_capacity(32);
        let mut seed = n;
        for _ in 0..4 {
            seed = splitmix64(seed ^ 0x5eed_5eed);
            bytes.extend_from_slice(&seed.to_be_bytes());
        }
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let id = format!("1{}", &encoded[..43]);
        let sheets = if spec.tabs.is_empty() {
            vec![Arc::new(Sheet::new(
                0,
                "Sheet1",
                DEFAULT_ROWS,
                DEFAULT_COLUMNS,
            ))]
        } else {
            spec.tabs
                .iter()
                .zip(0..)
                .map(|(tab, sheet_id)| {
                    let (title, rows, columns) = tab.parts();
                    Arc::new(Sheet::new(sheet_id, title, rows, columns))
                })
                .collect()
        };
        let spreadsheet = Spreadsheet {
            id: id.clone(),
            title: spec.title,
            shared_with: spec.shared_with,
            sheets,
            writes: 0,
            next_sheet_seed: n.wrapping_mul(1_000_003),
        };
        lock(&state.spreadsheets).insert(id.clone(), spreadsheet);
        Ok(id)
    }

    /// Creates a spreadsheet and returns its id.
    ///
    /// # Panics
    /// If the tabs are invalid (an empty or repeated title, an empty grid, more columns than
    /// `ZZZ`, or more cells than the workbook limit).
    pub fn create_spreadsheet(&self, spec: NewSpreadsheet) -> String {
        match self.build_spreadsheet(spec) {
            Ok(id) => id,
            Err(error) => panic!("invalid spreadsheet: {error:?}"),
        }
    }

    /// Every tab of a spreadsheet in order: its title and its values by rows (trailing empty
    /// cells and rows left out). Empty for an unknown spreadsheet.
    pub fn spreadsheet_tabs(&self, id: &str) -> Vec<(String, Vec<Vec<CellValue>>)> {
        let sheets: Vec<Arc<Sheet>> = lock(&self.google_sheets().spreadsheets)
            .get(id)
            .map(|spreadsheet| spreadsheet.sheets.clone())
            .unwrap_or_default();
        sheets
            .iter()
            .map(|sheet| (sheet.title.clone(), sheet.values()))
            .collect()
    }

    /// Every tab's grid size: `(title, rowCount, columnCount)`. Empty for an unknown
    /// spreadsheet.
    pub fn spreadsheet_grids(&self, id: &str) -> Vec<(String, u32, u32)> {
        lock(&self.google_sheets().spreadsheets)
            .get(id)
            .map(|spreadsheet| {
                spreadsheet
                    .sheets
                    .iter()
                    .map(|sheet| (sheet.title.clone(), sheet.row_count, sheet.column_count))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The write requests a spreadsheet admitted (0 for an unknown spreadsheet).
    pub fn sheets_write_requests(&self, id: &str) -> u64 {
        lock(&self.google_sheets().spreadsheets)
            .get(id)
            .map_or(0, |spreadsheet| spreadsheet.writes)
    }
}

async fn create(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let spec: NewSpreadsheet = if body.iter().all(u8::is_ascii_whitespace) {
        NewSpreadsheet::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(spec) => spec,
            Err(error) => {
                return control_error(StatusCode::BAD_REQUEST, "body", error.to_string())
                    .into_response();
            }
        }
    };
    match sandbox.build_spreadsheet(spec) {
        Ok(id) => wire::json(StatusCode::CREATED, &json!({ "spreadsheetId": id })),
        Err(error) => error.into_response(),
    }
}

fn not_found(id: &str) -> Response {
    control_error(StatusCode::NOT_FOUND, "id", format!("no spreadsheet {id}")).into_response()
}

async fn show(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Response {
    let found = lock(&sandbox.google_sheets().spreadsheets)
        .get(&id)
        .map(|spreadsheet| {
            (
                spreadsheet.title.clone(),
                spreadsheet.writes,
                spreadsheet.sheets.clone(),
            )
        });
    let Some((title, writes, sheets)) = found else {
        return not_found(&id);
    };
    let tabs: Vec<serde_json::Value> = sheets
        .iter()
        .map(|sheet| {
            json!({
                "sheetId": sheet.id,
                "title": sheet.title,
                "rowCount": sheet.row_count,
                "columnCount": sheet.column_count,
                "values": sheet.values(),
            })
        })
        .collect();
    wire::json(
        StatusCode::OK,
        &json!({ "spreadsheetId": id, "title": title, "writes": writes, "tabs": tabs }),
    )
}

async fn writes(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Response {
    let writes = lock(&sandbox.google_sheets().spreadsheets)
        .get(&id)
        .map(|spreadsheet| spreadsheet.writes);
    match writes {
        Some(writes) => wire::json(
            StatusCode::OK,
            &json!({ "spreadsheetId": id, "writes": writes }),
        ),
        None => not_found(&id),
    }
}
