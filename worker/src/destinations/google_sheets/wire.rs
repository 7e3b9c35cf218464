//! The Google Sheets API v4 shapes adsync reads and writes: the spreadsheet's tabs, a column of
//! values, the error envelope, and a `spreadsheets.batchUpdate` body serialised straight from the
//! rows (no intermediate JSON tree, so a 100,000-row write costs its bytes, not ten times them).

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive as _;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};

use connectors::rows::Row;

/// `GET /v4/spreadsheets/{id}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Spreadsheet {
    #[serde(default)]
    pub(super) sheets: Vec<Sheet>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Sheet {
    pub(super) properties: SheetProperties,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SheetProperties {
    pub(super) sheet_id: i64,
    pub(super) title: String,
    #[serde(default)]
    pub(super) grid_properties: GridProperties,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GridProperties {
    #[serde(default)]
    pub(super) row_count: u64,
    #[serde(default)]
    pub(super) column_count: u64,
}

/// `GET …/values:batchGet`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BatchGet {
    #[serde(default)]
    pub(super) value_ranges: Vec<ValueRange>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ValueRange {
    /// Rows of cells; Google leaves out trailing empty cells and rows.
    #[serde(default)]
    pub(super) values: Vec<Vec<serde_json::Value>>,
}

/// `spreadsheets.batchUpdate`'s answer to an `addSheet`.
#[derive(Debug, Deserialize)]
pub(super) struct BatchUpdateReply {
    #[serde(default)]
    pub(super) replies: Vec<Reply>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Reply {
    #[serde(default)]
    pub(super) add_sheet: Option<Sheet>,
}

/// Google's error envelope.
#[derive(Debug, Deserialize)]
pub(super) struct ErrorEnvelope {
    pub(super) error: ApiError,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct ApiError {
    #[serde(default)]
    pub(super) message: String,
    #[serde(default)]
    pub(super) status: String,
}

/// One cell as written: text, an exact number, or nothing.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Cell<'a> {
    Empty,
    Text(&'a str),
    Date(chrono::NaiveDate),
    Number(Decimal),
}

impl Serialize for Cell<'_> {
    /// `{"userEnteredValue": {...}}` (and a date's `userEnteredFormat`); an empty cell is `{}`,
    /// which clears it.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut cell = serializer.serialize_map(None)?;
        match self {
            Cell::Empty => {}
            Cell::Text(text) => cell.serialize_entry("userEnteredValue", &Text(text))?,
            Cell::Date(date) => {
                // A date is a serial number with a date format, as Sheets stores one typed in:
                // charts, filters and formulas treat it as a date, not as text.
                cell.serialize_entry("userEnteredValue", &Number(f64::from(serial(*date))))?;
                cell.serialize_entry("userEnteredFormat", &DateFormat)?;
            }
            Cell::Number(number) => match exact_f64(*number) {
                Some(value) => cell.serialize_entry("userEnteredValue", &Number(value))?,
                // A number a double cannot carry exactly goes as text rather than altered.
                None => cell.serialize_entry("userEnteredValue", &Text(&number.to_string()))?,
            },
        }
        cell.end()
    }
}

/// Days since 1899-12-30: Sheets' serial number of a date.
pub(super) fn serial(date: chrono::NaiveDate) -> i32 {
    i32::try_from((date - SERIAL_EPOCH).num_days()).unwrap_or(i32::MAX)
}

/// The date of a Sheets serial number (whole days; a time of day is dropped).
pub(super) fn date_of_serial(serial: f64) -> Option<chrono::NaiveDate> {
    if !serial.is_finite() || serial.fract() != 0.0 || serial.abs() > 3_000_000.0 {
        return None;
    }
    SERIAL_EPOCH.checked_add_signed(chrono::TimeDelta::try_days(serial as i64)?)
}

/// The epoch of Sheets' date serial numbers.
const SERIAL_EPOCH: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(1899, 12, 30) {
    Some(date) => date,
    None => chrono::NaiveDate::MIN,
};

/// The number format of a date cell: `DATE`, shown as `yyyy-mm-dd`.
struct DateFormat;

impl Serialize for DateFormat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(
            "numberFormat",
            &serde_json::json!({"type": "DATE", "pattern": "yyyy-mm-dd"}),
        )?;
        map.end()
    }
}

struct Text<'a>(&'a str);

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("stringValue", self.0)?;
        map.end()
    }
}

struct Number(f64);

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("numberValue", &self.0)?;
        map.end()
    }
}

/// The double that prints back as exactly `number`, if there is one (up to 15 significant
/// digits there always is).
pub(super) fn exact_f64(number: Decimal) -> Option<f64> {
    let value = number.to_f64()?;
    let printed: Decimal = value.to_string().parse().ok()?;
    (printed == number).then_some(value)
}

/// The cells of a stored row, in the tab's column order: date (if dated), texts, numbers.
pub(super) fn cells(row: &Row) -> impl Iterator<Item = Cell<'_>> {
    row.date
        .map(Cell::Date)
        .into_iter()
        .chain(row.texts.iter().map(|text| match text {
            Some(text) => Cell::Text(text),
            None => Cell::Empty,
        }))
        .chain(row.numbers.iter().map(|number| match number {
            Some(number) => Cell::Number(*number),
            None => Cell::Empty,
        }))
}

/// One request of a `spreadsheets.batchUpdate`.
pub(super) enum Request<'a> {
    /// Widens the grid to at least this many columns.
    SetColumnCount {
        sheet_id: i64,
        columns: u64,
    },
    DeleteRows {
        sheet_id: i64,
        start: u64,
        end: u64,
    },
    InsertRows {
        sheet_id: i64,
        start: u64,
        end: u64,
    },
    /// Writes `rows` from row `start`, column A, overwriting what is there.
    UpdateCells {
        sheet_id: i64,
        start: u64,
        rows: RowsToWrite<'a>,
    },
}

/// Rows for an `updateCells`: the header, then rows of the report.
pub(super) struct RowsToWrite<'a> {
    pub(super) header: Option<&'a [String]>,
    pub(super) rows: &'a [Row],
}

impl Serialize for RowsToWrite<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let count = self.rows.len() + usize::from(self.header.is_some());
        let mut rows = serializer.serialize_seq(Some(count))?;
        if let Some(header) = self.header {
            rows.serialize_element(&RowData(
                header.iter().map(|name| Cell::Text(name)).collect(),
            ))?;
        }
        for row in self.rows {
            rows.serialize_element(&RowData(cells(row).collect()))?;
        }
        rows.end()
    }
}

struct RowData<'a>(Vec<Cell<'a>>);

impl Serialize for RowData<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("values", &self.0)?;
        map.end()
    }
}

impl Serialize for Request<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde_json::json;
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Request::SetColumnCount { sheet_id, columns } => map.serialize_entry(
                "updateSheetProperties",
                &json!({
                    "properties": {"sheetId": sheet_id, "gridProperties": {"columnCount": columns}},
                    "fields": "gridProperties.columnCount",
                }),
            )?,
            Request::DeleteRows {
                sheet_id,
                start,
                end,
            } => map.serialize_entry(
                "deleteDimension",
                &json!({"range": {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": start, "endIndex": end}}),
            )?,
            Request::InsertRows {
                sheet_id,
                start,
                end,
            } => map.serialize_entry(
                "insertDimension",
                &json!({
                    "range": {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": start, "endIndex": end},
                    "inheritFromBefore": false,
                }),
            )?,
            Request::UpdateCells {
                sheet_id,
                start,
                rows,
            } => map.serialize_entry(
                "updateCells",
                &UpdateCells {
                    sheet_id: *sheet_id,
                    start: *start,
                    rows,
                },
            )?,
        }
        map.end()
    }
}

struct UpdateCells<'a> {
    sheet_id: i64,
    start: u64,
    rows: &'a RowsToWrite<'a>,
}

impl Serialize for UpdateCells<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry(
            "start",
            &serde_json::json!({"sheetId": self.sheet_id, "rowIndex": self.start, "columnIndex": 0}),
        )?;
        map.serialize_entry("rows", self.rows)?;
        // The number format too: date cells get theirs, every other cell loses any it had.
        map.serialize_entry("fields", "userEnteredValue,userEnteredFormat.numberFormat")?;
        map.end()
    }
}

/// The body of a `spreadsheets.batchUpdate`.
pub(super) fn batch_update(requests: &[Request<'_>]) -> Result<Vec<u8>, serde_json::Error> {
    #[derive(Serialize)]
    struct Body<'a, 'b> {
        requests: &'a [Request<'b>],
    }
    serde_json::to_vec(&Body { requests })
}

/// A tab title in A1 notation: quoted, with `'` doubled.
pub(super) fn quoted(title: &str) -> String {
    format!("'{}'", title.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn numbers_go_as_doubles_only_when_they_come_back_exactly() {
        assert_eq!(exact_f64(d("1234.56")), Some(1234.56));
        assert_eq!(exact_f64(d("1096.015237")), Some(1096.015237));
        assert_eq!(exact_f64(d("0.1")), Some(0.1));
        assert_eq!(exact_f64(d("12345678901234567.89")), None);
        let cell = serde_json::to_string(&Cell::Number(d("12345678901234567.89"))).unwrap();
        assert_eq!(
            cell,
            r#"{"userEnteredValue":{"stringValue":"12345678901234567.89"}}"#
        );
    }

    #[test]
    fn a_batch_update_is_serialised_from_the_rows() {
        let row = Row {
            date: Some("2026-03-01".parse().unwrap()),
            texts: vec![Some("Été".into()), None],
            numbers: vec![Some(d("1.5")), None],
        };
        let header = vec!["date".to_string(), "name".to_string()];
        let body = batch_update(&[
            Request::DeleteRows {
                sheet_id: 7,
                start: 1,
                end: 3,
            },
            Request::UpdateCells {
                sheet_id: 7,
                start: 0,
                rows: RowsToWrite {
                    header: Some(&header),
                    rows: std::slice::from_ref(&row),
                },
            },
        ])
        .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            value["requests"][0]["deleteDimension"]["range"],
            serde_json::json!({"sheetId": 7, "dimension": "ROWS", "startIndex": 1, "endIndex": 3})
        );
        let rows = &value["requests"][1]["updateCells"]["rows"];
        assert_eq!(
            rows[0]["values"][1],
            serde_json::json!({"userEnteredValue": {"stringValue": "name"}})
        );
        assert_eq!(
            value["requests"][1]["updateCells"]["fields"],
            "userEnteredValue,userEnteredFormat.numberFormat"
        );
        assert_eq!(
            rows[1]["values"],
            serde_json::json!([
                {"userEnteredValue": {"numberValue": 46082.0},
                 "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}}},
                {"userEnteredValue": {"stringValue": "Été"}},
                {},
                {"userEnteredValue": {"numberValue": 1.5}},
                {},
            ])
        );
    }

    #[test]
    fn dates_are_sheets_serial_numbers() {
        let day = |text: &str| text.parse::<chrono::NaiveDate>().unwrap();
        assert_eq!(serial(day("1899-12-30")), 0);
        assert_eq!(serial(day("2025-06-01")), 45809);
        assert_eq!(date_of_serial(45809.0), Some(day("2025-06-01")));
        assert_eq!(date_of_serial(45809.5), None);
        assert_eq!(date_of_serial(f64::NAN), None);
    }

    #[test]
    fn tab_titles_are_quoted_for_a1() {
        assert_eq!(quoted("Meta daily"), "'Meta daily'");
        assert_eq!(quoted("Bob's"), "'Bob''s'");
    }
}
