//! The HTTP handlers: `spreadsheets.get`, `spreadsheets.batchUpdate` and the values methods
//! (`get`, `batchGet`, `update`, `batchUpdate`, `append`, `clear`, `batchClear`).
//!
//! Reads answer Google's `ValueRange` (`range` clamped to the grid, `majorDimension`, `values`
//! with trailing empty cells and rows left out, omitted when empty); `UNFORMATTED_VALUE` gives
//! numbers and booleans as JSON numbers and booleans. A read (or clear) whose first cell lies
//! beyond the grid is refused ("Range (Loans!A2:J) exceeds grid limits. Max rows: 1, max
//! columns: 15", also for open-ended ranges); ends beyond the grid are clamped. Writes through the values methods grow the grid as Google does
//! (within the workbook cell limit), are applied atomically per request, and answer counts the
//! way proto3 JSON does: fields that are zero are left out.
//!
//! `append` looks for the last row with a value in the range's columns (from the range's first
//! row; a single-cell range looks right across the sheet), writes after it, and with
//! `insertDataOption=INSERT_ROWS` inserts that many grid rows first. `tableRange` names the rows
//! found.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::a1::{self, Area};
use super::batch::{BatchUpdateBody, Draft, properties_json};
use super::cells::{DateTimeRender, Input, InputOption, Render, Rendered, ValueRender};
use super::errors::{CONTENT_TYPE, SheetsError};
use super::grid::{Dimension, Sheet, Spreadsheet, check_size, ensure_size, exceeds_message};
use super::{Access, Prelude, malform, unknown_route};
use crate::state::{Sandbox, lock};

/// One API method: its templated route (for the request log), its RPC name (for ErrorInfo
/// metadata) and the quota it counts against.
struct Endpoint {
    route: &'static str,
    method: &'static str,
    access: Access,
}

macro_rules! endpoint {
    ($name:ident, $route:literal, $method:literal, $access:expr) => {
        const $name: Endpoint = Endpoint {
            route: $route,
            method: concat!("google.apps.sheets.v4.SpreadsheetsService.", $method),
            access: $access,
        };
    };
}

endpoint!(
    GET_SPREADSHEET,
    "/v4/spreadsheets/{spreadsheetId}",
    "GetSpreadsheet",
    Access::Read
);
endpoint!(
    BATCH_UPDATE,
    "/v4/spreadsheets/{spreadsheetId}:batchUpdate",
    "BatchUpdateSpreadsheet",
    Access::Write
);
endpoint!(
    GET_VALUES,
    "/v4/spreadsheets/{spreadsheetId}/values/{range}",
    "GetValues",
    Access::Read
);
endpoint!(
    BATCH_GET,
    "/v4/spreadsheets/{spreadsheetId}/values:batchGet",
    "BatchGetValues",
    Access::Read
);
endpoint!(
    UPDATE_VALUES,
    "/v4/spreadsheets/{spreadsheetId}/values/{range}",
    "UpdateValues",
    Access::Write
);
endpoint!(
    APPEND_VALUES,
    "/v4/spreadsheets/{spreadsheetId}/values/{range}:append",
    "AppendValues",
    Access::Write
);
endpoint!(
    CLEAR_VALUES,
    "/v4/spreadsheets/{spreadsheetId}/values/{range}:clear",
    "ClearValues",
    Access::Write
);
endpoint!(
    BATCH_UPDATE_VALUES,
    "/v4/spreadsheets/{spreadsheetId}/values:batchUpdate",
    "BatchUpdateValues",
    Access::Write
);
endpoint!(
    BATCH_CLEAR_VALUES,
    "/v4/spreadsheets/{spreadsheetId}/values:batchClear",
    "BatchClearValues",
    Access::Write
);

type Params = Vec<(String, String)>;

fn params(query: Result<Query<Params>, QueryRejection>) -> Params {
    query.map(|Query(pairs)| pairs).unwrap_or_default()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Runs one API call: the prelude, then `work` (which answers JSON bytes), then the log mark.
async fn serve(
    sandbox: &Sandbox,
    endpoint: &Endpoint,
    id: &str,
    headers: &HeaderMap,
    params: &[(String, String)],
    work: impl FnOnce(&Sandbox) -> Result<Vec<u8>, SheetsError>,
) -> Response {
    let call = Prelude::begin(
        sandbox,
        endpoint.route,
        endpoint.method,
        endpoint.access,
        id,
    )
    .await;
    if let Err(error) = call.admit(sandbox, headers, params) {
        return call.reject(error);
    }
    match work(sandbox) {
        Ok(mut bytes) => {
            if call.malformed()
                && let Ok(mut body) = serde_json::from_slice::<Value>(&bytes)
            {
                malform(&mut body);
                bytes = serde_json::to_vec(&body).unwrap_or_default();
            }
            let mut response = Response::new(axum::body::Body::from(bytes));
            response.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static(CONTENT_TYPE),
            );
            call.finish(response)
        }
        Err(error) => call.reject(error),
    }
}

fn to_bytes(body: &impl Serialize) -> Result<Vec<u8>, SheetsError> {
    serde_json::to_vec(body).map_err(|_| SheetsError::internal())
}

/// The request body, or Google's refusal of a body too large (or unreadable).
fn payload(body: &Result<Bytes, BytesRejection>) -> Result<&[u8], SheetsError> {
    match body {
        Ok(bytes) => Ok(bytes),
        Err(_) => Err(SheetsError::invalid(format!(
            "Request payload size exceeds the limit: {} bytes.",
            super::MAX_BODY_BYTES
        ))),
    }
}

fn parse_body<'a, T: Deserialize<'a>>(
    body: &'a Result<Bytes, BytesRejection>,
) -> Result<T, SheetsError> {
    let body = payload(body)?;
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(SheetsError::invalid_json)
}

/// Runs `f` on the spreadsheet under the lock.
fn with_spreadsheet<R>(
    sandbox: &Sandbox,
    id: &str,
    f: impl FnOnce(&mut Spreadsheet, u64) -> Result<R, SheetsError>,
) -> Result<R, SheetsError> {
    let state = sandbox.google_sheets();
    let limit = state.config.max_cells_per_spreadsheet;
    let mut spreadsheets = lock(&state.spreadsheets);
    let spreadsheet = spreadsheets
        .get_mut(id)
        .ok_or_else(SheetsError::not_found)?;
    f(spreadsheet, limit)
}

fn resolve(sheets: &[Arc<Sheet>], text: &str) -> Result<(usize, Area), SheetsError> {
    a1::resolve(text, &Spreadsheet::titles(sheets))
        .map_err(|error| SheetsError::invalid(error.to_string()))
}

fn enum_error(field: &str, type_name: &str, value: &str) -> SheetsError {
    SheetsError::invalid_json(format!(
        "Invalid value at '{field}' (type.googleapis.com/google.apps.sheets.v4.{type_name}), \"{value}\""
    ))
}

fn major_dimension(text: Option<&str>, field: &str) -> Result<Dimension, SheetsError> {
    match text {
        None | Some("DIMENSION_UNSPECIFIED") => Ok(Dimension::Rows),
        Some(text) => Dimension::parse(text).ok_or_else(|| enum_error(field, "Dimension", text)),
    }
}

fn render_options(
    value: Option<&str>,
    date_time: Option<&str>,
    prefix: &str,
) -> Result<Render, SheetsError> {
    let value = match value {
        None => ValueRender::Formatted,
        Some(text) => ValueRender::parse(text).ok_or_else(|| {
            enum_error(
                &format!("{prefix}value_render_option"),
                "ValueRenderOption",
                text,
            )
        })?,
    };
    let date_time = match date_time {
        None => DateTimeRender::SerialNumber,
        Some(text) => DateTimeRender::parse(text).ok_or_else(|| {
            enum_error(
                &format!("{prefix}date_time_render_option"),
                "DateTimeRenderOption",
                text,
            )
        })?,
    };
    Ok(Render { value, date_time })
}

fn input_option(text: Option<&str>) -> Result<InputOption, SheetsError> {
    match text {
        Some("RAW") => Ok(InputOption::Raw),
        Some("USER_ENTERED") => Ok(InputOption::UserEntered),
        Some("INPUT_VALUE_OPTION_UNSPECIFIED") | None => Err(SheetsError::invalid(
            "'valueInputOption' is required but not specified",
        )),
        Some(other) => Err(enum_error("value_input_option", "ValueInputOption", other)),
    }
}

/// A `ValueRange` being answered, borrowing the cells of a sheet snapshot.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ValueRangeOut<'a> {
    range: String,
    major_dimension: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    values: Vec<Vec<Rendered<'a>>>,
}

fn value_range<'a>(
    sheet: &'a Sheet,
    area: &Area,
    major: Dimension,
    render: Render,
) -> ValueRangeOut<'a> {
    let (row_start, row_end, col_start, col_end) = area.clamp(sheet.row_count, sheet.column_count);
    let cells = match major {
        Dimension::Rows => sheet.read_rows(area),
        Dimension::Columns => sheet.read_columns(area),
    };
    ValueRangeOut {
        range: a1::format_rect(&sheet.title, row_start, row_end, col_start, col_end),
        major_dimension: match major {
            Dimension::Rows => "ROWS",
            Dimension::Columns => "COLUMNS",
        },
        values: cells
            .into_iter()
            .map(|line| line.into_iter().map(|cell| cell.render(render)).collect())
            .collect(),
    }
}

/// Resolves read ranges to sheet snapshots; a range beyond the grid is refused.
fn snapshot_ranges(
    sandbox: &Sandbox,
    id: &str,
    ranges: &[&str],
) -> Result<Vec<(Arc<Sheet>, Area)>, SheetsError> {
    with_spreadsheet(sandbox, id, |spreadsheet, _| {
        ranges
            .iter()
            .map(|text| {
                let (index, area) = resolve(&spreadsheet.sheets, text)?;
                let sheet = &spreadsheet.sheets[index];
                if area.starts_outside(sheet.row_count, sheet.column_count) {
                    return Err(SheetsError::invalid(exceeds_message(sheet, &area)));
                }
                Ok((Arc::clone(sheet), area))
            })
            .collect()
    })
}

// ---------------------------------------------------------------------------------------------
// spreadsheets.get and spreadsheets.batchUpdate

pub(crate) async fn get_spreadsheet(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    let params = params(query);
    serve(
        &sandbox,
        &GET_SPREADSHEET,
        &id,
        &headers,
        &params,
        |sandbox| {
            with_spreadsheet(sandbox, &id, |spreadsheet, _| {
                let sheets: Vec<Value> = spreadsheet
                    .sheets
                    .iter()
                    .enumerate()
                    .map(|(index, sheet)| json!({ "properties": properties_json(sheet, index) }))
                    .collect();
                to_bytes(&json!({
                    "spreadsheetId": spreadsheet.id,
                    "properties": {
                        "title": spreadsheet.title,
                        "locale": "en_US",
                        "autoRecalc": "ON_CHANGE",
                        "timeZone": "Etc/GMT",
                    },
                    "sheets": sheets,
                    "spreadsheetUrl": format!("https://docs.google.com/spreadsheets/d/{}/edit", spreadsheet.id),
                }))
            })
        },
    )
    .await
}

pub(crate) async fn post_spreadsheet(
    State(sandbox): State<Sandbox>,
    Path(segment): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<Params>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(id) = segment.strip_suffix(":batchUpdate") else {
        return unknown_route(&sandbox, uri.path());
    };
    let params = params(query);
    serve(&sandbox, &BATCH_UPDATE, id, &headers, &params, |sandbox| {
        let batch: BatchUpdateBody = parse_body(&body)?;
        let replies = with_spreadsheet(sandbox, id, |spreadsheet, limit| {
            // One request changes nothing when it fails; more need a copy to fall back on.
            let single = batch.requests.len() == 1;
            let sheets = if single {
                std::mem::take(&mut spreadsheet.sheets)
            } else {
                spreadsheet.sheets.clone()
            };
            let mut draft = Draft {
                sheets,
                next_sheet_seed: &mut spreadsheet.next_sheet_seed,
                cell_limit: limit,
            };
            let result = draft.apply(batch.requests);
            if result.is_ok() || single {
                spreadsheet.sheets = draft.sheets;
            }
            result
        })?;
        to_bytes(&json!({ "spreadsheetId": id, "replies": replies }))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// values reads

pub(crate) async fn get_values(
    State(sandbox): State<Sandbox>,
    Path((id, range)): Path<(String, String)>,
    headers: HeaderMap,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    let params = params(query);
    serve(&sandbox, &GET_VALUES, &id, &headers, &params, |sandbox| {
        let major = major_dimension(param(&params, "majorDimension"), "major_dimension")?;
        let render = render_options(
            param(&params, "valueRenderOption"),
            param(&params, "dateTimeRenderOption"),
            "",
        )?;
        let snapshot = snapshot_ranges(sandbox, &id, &[range.as_str()])?;
        let (sheet, area) = &snapshot[0];
        to_bytes(&value_range(sheet, area, major, render))
    })
    .await
}

pub(crate) async fn get_action(
    State(sandbox): State<Sandbox>,
    Path((id, action)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    if action != "values:batchGet" {
        return unknown_route(&sandbox, uri.path());
    }
    let params = params(query);
    serve(&sandbox, &BATCH_GET, &id, &headers, &params, |sandbox| {
        let major = major_dimension(param(&params, "majorDimension"), "major_dimension")?;
        let render = render_options(
            param(&params, "valueRenderOption"),
            param(&params, "dateTimeRenderOption"),
            "",
        )?;
        let ranges: Vec<&str> = params
            .iter()
            .filter(|(name, _)| name == "ranges")
            .map(|(_, value)| value.as_str())
            .collect();
        let snapshot = snapshot_ranges(sandbox, &id, &ranges)?;
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct BatchGet<'a> {
            spreadsheet_id: &'a str,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            value_ranges: Vec<ValueRangeOut<'a>>,
        }
        to_bytes(&BatchGet {
            spreadsheet_id: &id,
            value_ranges: snapshot
                .iter()
                .map(|(sheet, area)| value_range(sheet, area, major, render))
                .collect(),
        })
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// values writes

/// A `ValueRange` as a client sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ValueRangeIn {
    range: Option<String>,
    major_dimension: Option<String>,
    #[serde(default)]
    values: Vec<Vec<Input>>,
}

/// What one write did, as `UpdateValuesResponse` reports it.
#[derive(Debug, Clone)]
struct Updated {
    sheet: usize,
    range: String,
    rows: u64,
    columns: u64,
    cells: u64,
    /// The rectangle written, for `includeValuesInResponse`.
    area: Area,
}

impl Updated {
    fn to_json(&self, id: &str) -> Value {
        let mut object = serde_json::Map::new();
        object.insert("spreadsheetId".to_owned(), json!(id));
        object.insert("updatedRange".to_owned(), json!(self.range));
        for (key, value) in [
            ("updatedRows", self.rows),
            ("updatedColumns", self.columns),
            ("updatedCells", self.cells),
        ] {
            if value > 0 {
                object.insert(key.to_owned(), json!(value));
            }
        }
        Value::Object(object)
    }
}

/// The block of values in row order (transposed from `COLUMNS`), checked: list or struct values
/// and over-long texts are refused with the position the client sent them at.
fn block_of(
    values: Vec<Vec<Input>>,
    major: Dimension,
    field: &str,
) -> Result<Vec<Vec<Input>>, SheetsError> {
    for (i, line) in values.iter().enumerate() {
        for (j, value) in line.iter().enumerate() {
            if let Input::Invalid(kind) = value {
                return Err(SheetsError::invalid(format!(
                    "Invalid {field}values[{i}][{j}]: {kind}"
                )));
            }
            if value.too_long() {
                return Err(SheetsError::invalid(format!(
                    "Your input contains more than the maximum of {} characters in a single cell.",
                    super::cells::MAX_CELL_CHARS
                )));
            }
        }
    }
    Ok(match major {
        Dimension::Rows => values,
        Dimension::Columns => {
            let height = values.iter().map(Vec::len).max().unwrap_or(0);
            let mut rows: Vec<Vec<Input>> = (0..height)
                .map(|_| Vec::with_capacity(values.len()))
                .collect();
            for column in values {
                let len = column.len();
                for (r, value) in column.into_iter().enumerate() {
                    rows[r].push(value);
                }
                for row in rows.iter_mut().skip(len) {
                    row.push(Input::Skip);
                }
            }
            rows
        }
    })
}

fn size_of(block: &[Vec<Input>]) -> (u32, u32) {
    let rows = u32::try_from(block.len()).unwrap_or(u32::MAX);
    let cols = u32::try_from(block.iter().map(Vec::len).max().unwrap_or(0)).unwrap_or(u32::MAX);
    (rows, cols)
}

/// Writes `block` at (`row`, `col`) of sheet `index`, growing the grid as needed.
fn put_block(
    sheets: &mut [Arc<Sheet>],
    index: usize,
    row: u32,
    col: u32,
    block: Vec<Vec<Input>>,
    option: InputOption,
    limit: u64,
) -> Result<Updated, SheetsError> {
    let (rows, cols) = size_of(&block);
    let area = Area::rect(row, col, rows.max(1), cols.max(1));
    let range = a1::format_range(&sheets[index].title, &area);
    if rows == 0 || cols == 0 {
        return Ok(Updated {
            sheet: index,
            range,
            rows: 0,
            columns: 0,
            cells: 0,
            area,
        });
    }
    ensure_size(
        sheets,
        index,
        row.saturating_add(rows),
        col.saturating_add(cols),
        limit,
    )
    .map_err(|error| SheetsError::invalid(error.message(limit)))?;
    let mut used_columns = vec![false; cols as usize];
    let (mut used_rows, mut cells) = (0u64, 0u64);
    for line in &block {
        let mut any = false;
        for (c, value) in line.iter().enumerate() {
            if !matches!(value, Input::Skip) {
                any = true;
                cells += 1;
                used_columns[c] = true;
            }
        }
        used_rows += u64::from(any);
    }
    let sheet = Arc::make_mut(&mut sheets[index]);
    sheet.write_block(
        row,
        col,
        block
            .iter()
            .map(|line| line.iter().map(|value| value.to_cell(option))),
    );
    Ok(Updated {
        sheet: index,
        range,
        rows: used_rows,
        columns: used_columns.iter().filter(|used| **used).count() as u64,
        cells,
        area,
    })
}

/// `values.update` of one range: the values must fit a bounded range (a single cell is an
/// anchor).
fn update_range(
    sheets: &mut [Arc<Sheet>],
    range_text: &str,
    block: Vec<Vec<Input>>,
    option: InputOption,
    limit: u64,
) -> Result<Updated, SheetsError> {
    let (index, area) = resolve(sheets, range_text)?;
    let (rows, cols) = size_of(&block);
    if !area.is_single_cell() {
        if let Some(end) = area.row_end
            && area.row_start.saturating_add(rows) > end
        {
            return Err(SheetsError::invalid(format!(
                "Requested writing within range [{range_text}], but tried writing to row [{}]",
                end + 1
            )));
        }
        if let Some(end) = area.col_end
            && area.col_start.saturating_add(cols) > end
        {
            return Err(SheetsError::invalid(format!(
                "Requested writing within range [{range_text}], but tried writing to column [{}]",
                a1::column_letters(end)
            )));
        }
    }
    put_block(
        sheets,
        index,
        area.row_start,
        area.col_start,
        block,
        option,
        limit,
    )
}

/// `updatedData` for `includeValuesInResponse`.
fn updated_data(sheets: &[Arc<Sheet>], updated: &Updated, render: Render) -> Value {
    let sheet = &sheets[updated.sheet];
    serde_json::to_value(value_range(sheet, &updated.area, Dimension::Rows, render))
        .unwrap_or(Value::Null)
}

fn flag(params: &[(String, String)], name: &str) -> bool {
    param(params, name).is_some_and(|value| value == "true")
}

pub(crate) async fn put_values(
    State(sandbox): State<Sandbox>,
    Path((id, range)): Path<(String, String)>,
    headers: HeaderMap,
    query: Result<Query<Params>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let params = params(query);
    serve(
        &sandbox,
        &UPDATE_VALUES,
        &id,
        &headers,
        &params,
        |sandbox| {
            let option = input_option(param(&params, "valueInputOption"))?;
            let render = render_options(
                param(&params, "responseValueRenderOption"),
                param(&params, "responseDateTimeRenderOption"),
                "response_",
            )?;
            let include = flag(&params, "includeValuesInResponse");
            let input: ValueRangeIn = parse_body(&body)?;
            let major = major_dimension(input.major_dimension.as_deref(), "major_dimension")?;
            let block = block_of(input.values, major, "")?;
            with_spreadsheet(sandbox, &id, |spreadsheet, limit| {
                if let Some(body_range) = &input.range {
                    let url = resolve(&spreadsheet.sheets, &range)?;
                    if resolve(&spreadsheet.sheets, body_range)? != url {
                        return Err(SheetsError::invalid(format!(
                            "Requested range [{body_range}] does not match the range in the URL [{range}]"
                        )));
                    }
                }
                // Everything is checked before anything changes: no copy is needed.
                let updated = update_range(&mut spreadsheet.sheets, &range, block, option, limit)?;
                let mut answer = updated.to_json(&id);
                if include {
                    answer["updatedData"] = updated_data(&spreadsheet.sheets, &updated, render);
                }
                to_bytes(&answer)
            })
        },
    )
    .await
}

pub(crate) async fn post_values(
    State(sandbox): State<Sandbox>,
    Path((id, segment)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<Params>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let params = params(query);
    if let Some(range) = segment.strip_suffix(":append") {
        serve(
            &sandbox,
            &APPEND_VALUES,
            &id,
            &headers,
            &params,
            |sandbox| append(sandbox, &id, range, &params, &body),
        )
        .await
    } else if let Some(range) = segment.strip_suffix(":clear") {
        serve(&sandbox, &CLEAR_VALUES, &id, &headers, &params, |sandbox| {
            let cleared = clear(sandbox, &id, &[range])?;
            to_bytes(&json!({ "spreadsheetId": id, "clearedRange": cleared[0] }))
        })
        .await
    } else {
        unknown_route(&sandbox, uri.path())
    }
}

fn clear(sandbox: &Sandbox, id: &str, ranges: &[&str]) -> Result<Vec<String>, SheetsError> {
    with_spreadsheet(sandbox, id, |spreadsheet, _| {
        // Every range is checked before any is cleared.
        let mut areas = Vec::with_capacity(ranges.len());
        for text in ranges {
            let (index, area) = resolve(&spreadsheet.sheets, text)?;
            let sheet = &spreadsheet.sheets[index];
            if area.starts_outside(sheet.row_count, sheet.column_count) {
                return Err(SheetsError::invalid(exceeds_message(sheet, &area)));
            }
            areas.push((index, area));
        }
        let mut cleared = Vec::with_capacity(areas.len());
        for (index, area) in areas {
            let sheet = &spreadsheet.sheets[index];
            let (row_start, row_end, col_start, col_end) =
                area.clamp(sheet.row_count, sheet.column_count);
            cleared.push(a1::format_rect(
                &sheet.title,
                row_start,
                row_end,
                col_start,
                col_end,
            ));
            if sheet.stored_rows() > row_start {
                Arc::make_mut(&mut spreadsheet.sheets[index]).clear(&area);
            }
        }
        Ok(cleared)
    })
}

fn append(
    sandbox: &Sandbox,
    id: &str,
    range: &str,
    params: &[(String, String)],
    body: &Result<Bytes, BytesRejection>,
) -> Result<Vec<u8>, SheetsError> {
    let option = input_option(param(params, "valueInputOption"))?;
    let insert_rows = match param(params, "insertDataOption") {
        None | Some("OVERWRITE") => false,
        Some("INSERT_ROWS") => true,
        Some(other) => return Err(enum_error("insert_data_option", "InsertDataOption", other)),
    };
    let render = render_options(
        param(params, "responseValueRenderOption"),
        param(params, "responseDateTimeRenderOption"),
        "response_",
    )?;
    let include = flag(params, "includeValuesInResponse");
    let input: ValueRangeIn = parse_body(body)?;
    let major = major_dimension(input.major_dimension.as_deref(), "major_dimension")?;
    let block = block_of(input.values, major, "")?;
    let (rows, width) = size_of(&block);
    with_spreadsheet(sandbox, id, |spreadsheet, limit| {
        let sheets = &mut spreadsheet.sheets;
        let (index, area) = resolve(sheets, range)?;
        let sheet = &sheets[index];
        let (row_start, _, col_start, col_end) = area.clamp(sheet.row_count, sheet.column_count);
        let col_end = if area.is_single_cell() {
            sheet.column_count
        } else {
            col_end
        };
        let last = sheet.last_used_row(row_start, col_start, col_end);
        let table_range = last.map(|last| {
            let width = sheet.used_width(row_start, last + 1, col_start, col_end);
            a1::format_rect(
                &sheet.title,
                row_start,
                last + 1,
                col_start,
                col_start + width.max(1),
            )
        });
        let start = last.map_or(row_start, |last| last + 1);
        let inserted = if insert_rows && width > 0 && start < sheet.row_count {
            rows
        } else {
            0
        };
        // The final grid is checked before anything changes: a refused append changes nothing.
        let final_rows = (sheet.row_count.saturating_add(inserted)).max(start.saturating_add(rows));
        let final_cols = sheet.column_count.max(col_start.saturating_add(width));
        check_size(sheets, index, final_rows, final_cols, limit)
            .map_err(|error| SheetsError::invalid(error.message(limit)))?;
        if inserted > 0 {
            Arc::make_mut(&mut sheets[index]).insert(Dimension::Rows, start, inserted);
        }
        let updated = put_block(sheets, index, start, col_start, block, option, limit)?;
        let mut updates = updated.to_json(id);
        if include {
            updates["updatedData"] = updated_data(&spreadsheet.sheets, &updated, render);
        }
        let mut answer = json!({ "spreadsheetId": id });
        if let Some(table_range) = table_range {
            answer["tableRange"] = json!(table_range);
        }
        answer["updates"] = updates;
        to_bytes(&answer)
    })
}

/// The body of `values:batchUpdate`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchValuesBody {
    value_input_option: Option<String>,
    #[serde(default)]
    data: Vec<ValueRangeIn>,
    #[serde(default)]
    include_values_in_response: bool,
    response_value_render_option: Option<String>,
    response_date_time_render_option: Option<String>,
}

/// The body of `values:batchClear`.
#[derive(Debug, Deserialize)]
struct BatchClearBody {
    #[serde(default)]
    ranges: Vec<String>,
}

pub(crate) async fn post_action(
    State(sandbox): State<Sandbox>,
    Path((id, action)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<Params>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let params = params(query);
    match action.as_str() {
        "values:batchUpdate" => {
            serve(
                &sandbox,
                &BATCH_UPDATE_VALUES,
                &id,
                &headers,
                &params,
                |sandbox| batch_update_values(sandbox, &id, &body),
            )
            .await
        }
        "values:batchClear" => {
            serve(
                &sandbox,
                &BATCH_CLEAR_VALUES,
                &id,
                &headers,
                &params,
                |sandbox| {
                    let input: BatchClearBody = parse_body(&body)?;
                    let ranges: Vec<&str> = input.ranges.iter().map(String::as_str).collect();
                    let cleared = clear(sandbox, &id, &ranges)?;
                    to_bytes(&json!({ "spreadsheetId": id, "clearedRanges": cleared }))
                },
            )
            .await
        }
        _ => unknown_route(&sandbox, uri.path()),
    }
}

fn batch_update_values(
    sandbox: &Sandbox,
    id: &str,
    body: &Result<Bytes, BytesRejection>,
) -> Result<Vec<u8>, SheetsError> {
    let input: BatchValuesBody = parse_body(body)?;
    let option = input_option(input.value_input_option.as_deref())?;
    let render = render_options(
        input.response_value_render_option.as_deref(),
        input.response_date_time_render_option.as_deref(),
        "response_",
    )?;
    let mut blocks = Vec::with_capacity(input.data.len());
    for (i, data) in input.data.into_iter().enumerate() {
        let range = data.range.ok_or_else(|| {
            SheetsError::invalid(format!("Invalid data[{i}]: range must be specified"))
        })?;
        let major = major_dimension(
            data.major_dimension.as_deref(),
            &format!("data[{i}].major_dimension"),
        )?;
        blocks.push((range, block_of(data.values, major, &format!("data[{i}]."))?));
    }
    with_spreadsheet(sandbox, id, |spreadsheet, limit| {
        // One range changes nothing when it fails; more need a copy to fall back on.
        let mut updates = Vec::with_capacity(blocks.len());
        if blocks.len() == 1 {
            for (range, block) in blocks {
                updates.push(update_range(
                    &mut spreadsheet.sheets,
                    &range,
                    block,
                    option,
                    limit,
                )?);
            }
        } else {
            let mut sheets = spreadsheet.sheets.clone();
            for (range, block) in blocks {
                updates.push(update_range(&mut sheets, &range, block, option, limit)?);
            }
            spreadsheet.sheets = sheets;
        }
        let mut touched: Vec<usize> = updates
            .iter()
            .filter(|u| u.cells > 0)
            .map(|u| u.sheet)
            .collect();
        touched.sort_unstable();
        touched.dedup();
        let mut answer = serde_json::Map::new();
        answer.insert("spreadsheetId".to_owned(), json!(id));
        for (key, value) in [
            (
                "totalUpdatedRows",
                updates.iter().map(|u| u.rows).sum::<u64>(),
            ),
            (
                "totalUpdatedColumns",
                updates.iter().map(|u| u.columns).sum(),
            ),
            ("totalUpdatedCells", updates.iter().map(|u| u.cells).sum()),
            ("totalUpdatedSheets", touched.len() as u64),
        ] {
            if value > 0 {
                answer.insert(key.to_owned(), json!(value));
            }
        }
        let responses: Vec<Value> = updates
            .iter()
            .map(|updated| {
                let mut response = updated.to_json(id);
                if input.include_values_in_response {
                    response["updatedData"] = updated_data(&spreadsheet.sheets, updated, render);
                }
                response
            })
            .collect();
        if !responses.is_empty() {
            answer.insert("responses".to_owned(), Value::Array(responses));
        }
        to_bytes(&answer)
    })
}
