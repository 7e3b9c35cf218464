//! `spreadsheets.batchUpdate`: the structural requests and `updateCells`/`appendCells`, applied
//! atomically: every request is applied in order to a draft of the sheet list, and the draft
//! replaces the spreadsheet's sheets only when all of them succeeded. An invalid request is
//! answered `400 INVALID_ARGUMENT` "Invalid requests[<i>].<kind>: …" and nothing is applied.
//!
//! Modelled: `addSheet`, `updateSheetProperties` (`title`, `index`, `gridProperties.rowCount`,
//! `gridProperties.columnCount`, `gridProperties`, `*` in the `fields` mask; other masked fields
//! are accepted and ignored), `deleteSheet`, `insertDimension`, `appendDimension`,
//! `deleteDimension`, `updateCells` (`start` or `range`; the cell data's `userEnteredValue` is
//! stored, and a whole `numberValue` whose `userEnteredFormat.numberFormat` is `DATE` or
//! `DATE_TIME` — with the format in `fields` — becomes a date: its serial number, rendered as
//! `YYYY-MM-DD` whatever the pattern; other formats and notes are accepted and ignored, and a
//! format sent without a value leaves the cell as it is; a `formulaValue` is stored as its
//! text, not evaluated) and `appendCells` (after the last row with a value, adding grid rows as
//! needed). `updateCells` refuses cells beyond the grid, as Google does; add rows or columns
//! first. Any other request kind is refused as an unknown field of `requests[i]`.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Value, json};

use super::a1::{Area, MAX_COLUMNS};
use super::cells::{Cell, MAX_CELL_CHARS};
use super::errors::SheetsError;
use super::grid::{
    DEFAULT_COLUMNS, DEFAULT_ROWS, Dimension, GrowError, Sheet, ensure_size, exceeds_message,
};
use crate::rng::splitmix64;

/// The body of `spreadsheets.batchUpdate`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BatchUpdateBody {
    #[serde(default)]
    pub(crate) requests: Vec<Request>,
}

/// One request of a batch.
#[derive(Debug)]
pub(crate) enum Request {
    AddSheet(AddSheet),
    UpdateSheetProperties(UpdateSheetProperties),
    DeleteSheet(DeleteSheet),
    InsertDimension(InsertDimension),
    AppendDimension(AppendDimension),
    DeleteDimension(DeleteDimension),
    UpdateCells(UpdateCells),
    AppendCells(AppendCells),
    /// A request kind the sandbox does not know (or does not model).
    Unknown(String),
    /// No kind, or more than one.
    Invalid(String),
}

impl<'de> Deserialize<'de> for Request {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RequestVisitor;

        impl<'de> Visitor<'de> for RequestVisitor {
            type Value = Request;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a request object with one kind")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Request, A::Error> {
                let mut found: Option<Request> = None;
                while let Some(key) = map.next_key::<String>()? {
                    let request = match key.as_str() {
                        "addSheet" => Request::AddSheet(map.next_value()?),
                        "updateSheetProperties" => {
                            Request::UpdateSheetProperties(map.next_value()?)
                        }
                        "deleteSheet" => Request::DeleteSheet(map.next_value()?),
                        "insertDimension" => Request::InsertDimension(map.next_value()?),
                        "appendDimension" => Request::AppendDimension(map.next_value()?),
                        "deleteDimension" => Request::DeleteDimension(map.next_value()?),
                        "updateCells" => Request::UpdateCells(map.next_value()?),
                        "appendCells" => Request::AppendCells(map.next_value()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            Request::Unknown(key.clone())
                        }
                    };
                    found = Some(match found {
                        None => request,
                        Some(Request::Unknown(name)) => Request::Unknown(name),
                        Some(_) => Request::Invalid(format!(
                            "oneof field 'kind' is already set. Cannot set '{key}'"
                        )),
                    });
                }
                Ok(found.unwrap_or_else(|| {
                    Request::Invalid("oneof field 'kind' must be set".to_owned())
                }))
            }
        }

        deserializer.deserialize_map(RequestVisitor)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GridProperties {
    row_count: Option<u32>,
    column_count: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SheetProperties {
    sheet_id: Option<i32>,
    title: Option<String>,
    index: Option<u32>,
    grid_properties: Option<GridProperties>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AddSheet {
    #[serde(default)]
    properties: SheetProperties,
}

#[derive(Debug, Deserialize)]
pub(crate) struct UpdateSheetProperties {
    #[serde(default)]
    properties: SheetProperties,
    #[serde(default)]
    fields: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeleteSheet {
    #[serde(default)]
    sheet_id: i32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DimensionRange {
    #[serde(default)]
    sheet_id: i32,
    dimension: Option<String>,
    start_index: Option<u32>,
    end_index: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InsertDimension {
    range: Option<DimensionRange>,
    #[serde(default)]
    inherit_from_before: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppendDimension {
    #[serde(default)]
    sheet_id: i32,
    dimension: Option<String>,
    #[serde(default)]
    length: u32,
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeleteDimension {
    range: Option<DimensionRange>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GridCoordinate {
    #[serde(default)]
    sheet_id: i32,
    #[serde(default)]
    row_index: u32,
    #[serde(default)]
    column_index: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GridRange {
    #[serde(default)]
    sheet_id: i32,
    start_row_index: Option<u32>,
    end_row_index: Option<u32>,
    start_column_index: Option<u32>,
    end_column_index: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RowData {
    #[serde(default)]
    values: Vec<CellData>,
}

/// A `CellData`: its `userEnteredValue`, already as a stored cell (`None` when the cell data has
/// no value, which clears the cell when `fields` covers the value), and whether its
/// `userEnteredFormat.numberFormat` is a date (`DATE` or `DATE_TIME`); other formats and
/// notes are accepted and ignored.
#[derive(Debug)]
pub(crate) struct CellData {
    value: Option<Cell>,
    date_format: bool,
}

impl CellData {
    /// The cell to store: a whole number with a date format (when `fields` covers the format)
    /// is a date, as Sheets keeps it — its serial number, shown as a date.
    fn into_cell(self, formats: bool) -> Cell {
        let cell = self.value.unwrap_or(Cell::Empty);
        match cell {
            Cell::Number(serial) if formats && self.date_format && serial.fract() == 0.0 => {
                match i32::try_from(serial as i64) {
                    Ok(day) if f64::from(day) == serial => Cell::Date(day),
                    _ => cell,
                }
            }
            other => other,
        }
    }
}

/// A `CellFormat`: only its number format's type is read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CellFormat {
    number_format: Option<NumberFormat>,
}

#[derive(Debug, Deserialize)]
struct NumberFormat {
    #[serde(rename = "type", default)]
    kind: String,
}

impl<'de> Deserialize<'de> for CellData {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CellDataVisitor;

        impl<'de> Visitor<'de> for CellDataVisitor {
            type Value = CellData;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a CellData object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CellData, A::Error> {
                let mut value = None;
                let mut date_format = false;
                while let Some(key) = map.next_key::<CellDataField>()? {
                    match key {
                        CellDataField::UserEnteredValue => {
                            value = map.next_value::<Option<ExtendedValue>>()?.map(|v| v.0);
                        }
                        CellDataField::UserEnteredFormat => {
                            date_format = map
                                .next_value::<Option<CellFormat>>()?
                                .and_then(|format| format.number_format)
                                .is_some_and(|number| {
                                    matches!(number.kind.as_str(), "DATE" | "DATE_TIME")
                                });
                        }
                        CellDataField::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(CellData { value, date_format })
            }
        }

        deserializer.deserialize_map(CellDataVisitor)
    }
}

/// An `ExtendedValue`, read straight into a stored cell.
struct ExtendedValue(Cell);

impl<'de> Deserialize<'de> for ExtendedValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExtendedValueVisitor;

        impl<'de> Visitor<'de> for ExtendedValueVisitor {
            type Value = ExtendedValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ExtendedValue object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExtendedValue, A::Error> {
                let mut cell = Cell::Empty;
                while let Some(key) = map.next_key::<ValueField>()? {
                    cell = match key {
                        ValueField::Number => Cell::Number(map.next_value()?),
                        ValueField::Bool => Cell::Bool(map.next_value()?),
                        ValueField::Text | ValueField::Formula => map.next_value::<TextCell>()?.0,
                        ValueField::Error => {
                            map.next_value::<IgnoredAny>()?;
                            Cell::Empty
                        }
                    };
                }
                Ok(ExtendedValue(cell))
            }
        }

        deserializer.deserialize_map(ExtendedValueVisitor)
    }
}

/// The keys of a `CellData` (only the value is kept).
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum CellDataField {
    UserEnteredValue,
    UserEnteredFormat,
    #[serde(other)]
    Other,
}

/// The keys of an `ExtendedValue`; any other is refused.
#[derive(Deserialize)]
#[serde(field_identifier)]
enum ValueField {
    #[serde(rename = "numberValue")]
    Number,
    #[serde(rename = "stringValue")]
    Text,
    #[serde(rename = "boolValue")]
    Bool,
    #[serde(rename = "formulaValue")]
    Formula,
    #[serde(rename = "errorValue")]
    Error,
}

/// A text read straight into a stored cell, without an intermediate `String`.
struct TextCell(Cell);

impl<'de> Deserialize<'de> for TextCell {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl Visitor<'_> for TextVisitor {
            type Value = TextCell;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<TextCell, E> {
                if text.len() > MAX_CELL_CHARS && text.chars().count() > MAX_CELL_CHARS {
                    return Err(E::custom(format!(
                        "Your input contains more than the maximum of {MAX_CELL_CHARS} characters in a single cell."
                    )));
                }
                Ok(TextCell(Cell::text(text)))
            }
        }

        deserializer.deserialize_str(TextVisitor)
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct UpdateCells {
    #[serde(default)]
    rows: Vec<RowData>,
    fields: Option<String>,
    start: Option<GridCoordinate>,
    range: Option<GridRange>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppendCells {
    #[serde(default)]
    sheet_id: i32,
    #[serde(default)]
    rows: Vec<RowData>,
    fields: Option<String>,
}

/// A spreadsheet's sheets being changed by one batch. Each request checks everything before it
/// changes anything, so a batch of one request may work on the spreadsheet's own sheets; a
/// longer batch works on a copy of the sheet list (sheets are copied when first changed).
pub(crate) struct Draft<'a> {
    pub(crate) sheets: Vec<Arc<Sheet>>,
    pub(crate) next_sheet_seed: &'a mut u64,
    pub(crate) cell_limit: u64,
}

type Refusal = (&'static str, String);

impl Draft<'_> {
    /// Applies every request in order; the replies, or the first refusal as Google words it.
    pub(crate) fn apply(&mut self, requests: Vec<Request>) -> Result<Vec<Value>, SheetsError> {
        let mut replies = Vec::with_capacity(requests.len());
        for (index, request) in requests.into_iter().enumerate() {
            let reply = match request {
                Request::Unknown(name) => {
                    return Err(SheetsError::invalid_json(format!(
                        "Unknown name \"{name}\" at 'requests[{index}]': Cannot find field."
                    )));
                }
                Request::Invalid(message) => {
                    return Err(SheetsError::invalid(format!(
                        "Invalid value at 'requests[{index}]' (oneof), {message}"
                    )));
                }
                request => self.apply_one(request).map_err(|(kind, message)| {
                    SheetsError::invalid_request(index, kind, message)
                })?,
            };
            replies.push(reply);
        }
        Ok(replies)
    }

    fn apply_one(&mut self, request: Request) -> Result<Value, Refusal> {
        match request {
            Request::AddSheet(add) => self.add_sheet(add).map_err(|m| ("addSheet", m)),
            Request::UpdateSheetProperties(update) => self
                .update_properties(update)
                .map(|()| json!({}))
                .map_err(|m| ("updateSheetProperties", m)),
            Request::DeleteSheet(delete) => self
                .delete_sheet(delete.sheet_id)
                .map(|()| json!({}))
                .map_err(|m| ("deleteSheet", m)),
            Request::InsertDimension(insert) => self
                .insert_dimension(insert)
                .map(|()| json!({}))
                .map_err(|m| ("insertDimension", m)),
            Request::AppendDimension(append) => self
                .append_dimension(append)
                .map(|()| json!({}))
                .map_err(|m| ("appendDimension", m)),
            Request::DeleteDimension(delete) => self
                .delete_dimension(delete)
                .map(|()| json!({}))
                .map_err(|m| ("deleteDimension", m)),
            Request::UpdateCells(update) => self
                .update_cells(update)
                .map(|()| json!({}))
                .map_err(|m| ("updateCells", m)),
            Request::AppendCells(append) => self
                .append_cells(append)
                .map(|()| json!({}))
                .map_err(|m| ("appendCells", m)),
            Request::Unknown(_) | Request::Invalid(_) => Ok(json!({})),
        }
    }

    fn find(&self, sheet_id: i32) -> Result<usize, String> {
        self.sheets
            .iter()
            .position(|sheet| sheet.id == sheet_id)
            .ok_or_else(|| format!("No grid with id: {sheet_id}"))
    }

    fn title_taken(&self, title: &str, except: Option<usize>) -> bool {
        let wanted = title.to_lowercase();
        self.sheets
            .iter()
            .enumerate()
            .any(|(i, sheet)| Some(i) != except && sheet.title.to_lowercase() == wanted)
    }

    fn new_sheet_id(&mut self) -> i32 {
        loop {
            *self.next_sheet_seed = self.next_sheet_seed.wrapping_add(1);
            let candidate = i32::try_from(splitmix64(*self.next_sheet_seed) % 2_000_000_000)
                .unwrap_or(1)
                .max(1);
            if self.sheets.iter().all(|sheet| sheet.id != candidate) {
                return candidate;
            }
        }
    }

    fn grow_check(&self, index: usize, rows: u32, cols: u32) -> Result<(), String> {
        if cols > MAX_COLUMNS {
            return Err(GrowError::TooWide.message(self.cell_limit));
        }
        let others: u64 = self
            .sheets
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != index)
            .map(|(_, sheet)| sheet.cells())
            .sum();
        let current = self.sheets.get(index).map_or(0, |sheet| sheet.cells());
        let wanted = u64::from(rows) * u64::from(cols);
        if wanted > current && others + wanted > self.cell_limit {
            return Err(GrowError::CellLimit.message(self.cell_limit));
        }
        Ok(())
    }

    fn add_sheet(&mut self, add: AddSheet) -> Result<Value, String> {
        let properties = add.properties;
        let id = match properties.sheet_id {
            Some(id) if id < 0 => return Err(format!("Invalid sheetId: {id}")),
            Some(id) if self.sheets.iter().any(|sheet| sheet.id == id) => {
                return Err(format!("Sheet with id {id} already exists"));
            }
            Some(id) => id,
            None => self.new_sheet_id(),
        };
        let title = match properties.title {
            Some(title) if title.trim().is_empty() => {
                return Err("Sheet name cannot be empty.".to_owned());
            }
            Some(title) => {
                if self.title_taken(&title, None) {
                    return Err(format!(
                        "A sheet with the name \"{title}\" already exists. Please enter another name."
                    ));
                }
                title
            }
            None => (1..)
                .map(|n| format!("Sheet{n}"))
                .find(|title| !self.title_taken(title, None))
                .unwrap_or_default(),
        };
        let grid = properties.grid_properties.unwrap_or_default();
        let rows = grid.row_count.unwrap_or(DEFAULT_ROWS);
        let cols = grid.column_count.unwrap_or(DEFAULT_COLUMNS);
        if rows == 0 || cols == 0 {
            return Err("A sheet must have at least one row and one column.".to_owned());
        }
        self.grow_check(usize::MAX, rows, cols)?;
        let count = self.sheets.len();
        let index = properties
            .index
            .map_or(count, |index| (index as usize).min(count));
        self.sheets
            .insert(index, Arc::new(Sheet::new(id, title, rows, cols)));
        Ok(json!({ "addSheet": { "properties": properties_json(&self.sheets[index], index) } }))
    }

    fn update_properties(&mut self, update: UpdateSheetProperties) -> Result<(), String> {
        let properties = update.properties;
        let fields: Vec<&str> = update
            .fields
            .split(',')
            .map(str::trim)
            .filter(|field| !field.is_empty())
            .collect();
        if fields.is_empty() {
            return Err("At least one field must be specified in 'fields'.".to_owned());
        }
        let index = self.find(properties.sheet_id.unwrap_or(0))?;
        let masked = |name: &str| {
            fields.iter().any(|field| {
                *field == "*" || *field == name || name.starts_with(&format!("{field}."))
            })
        };
        // Everything is checked before anything changes, so a refused request leaves the
        // sheets as they were.
        let title = if masked("title") {
            let title = properties.title.clone().unwrap_or_default();
            if title.trim().is_empty() {
                return Err("Sheet name cannot be empty.".to_owned());
            }
            if self.title_taken(&title, Some(index)) {
                return Err(format!(
                    "A sheet with the name \"{title}\" already exists. Please enter another name."
                ));
            }
            Some(title)
        } else {
            None
        };
        let grid = properties.grid_properties.unwrap_or_default();
        let current = (
            self.sheets[index].row_count,
            self.sheets[index].column_count,
        );
        let (mut rows, mut cols) = current;
        if masked("gridProperties.rowCount") {
            rows = grid.row_count.unwrap_or(0);
        }
        if masked("gridProperties.columnCount") {
            cols = grid.column_count.unwrap_or(0);
        }
        if rows == 0 || cols == 0 {
            return Err("A sheet must have at least one row and one column.".to_owned());
        }
        if (rows, cols) != current {
            self.grow_check(index, rows, cols)?;
            Arc::make_mut(&mut self.sheets[index]).resize(rows, cols);
        }
        if let Some(title) = title {
            Arc::make_mut(&mut self.sheets[index]).title = title;
        }
        if masked("index") {
            let target = (properties.index.unwrap_or(0) as usize).min(self.sheets.len() - 1);
            let sheet = self.sheets.remove(index);
            self.sheets.insert(target, sheet);
        }
        Ok(())
    }

    fn delete_sheet(&mut self, sheet_id: i32) -> Result<(), String> {
        let index = self.find(sheet_id)?;
        if self.sheets.len() == 1 {
            return Err("You can't remove all the sheets in a document.".to_owned());
        }
        self.sheets.remove(index);
        Ok(())
    }

    fn dimension(text: Option<&str>) -> Result<Dimension, String> {
        match text {
            Some(text) => {
                Dimension::parse(text).ok_or_else(|| format!("Invalid dimension: {text}"))
            }
            None => Err("The dimension must be specified (ROWS or COLUMNS).".to_owned()),
        }
    }

    fn insert_dimension(&mut self, insert: InsertDimension) -> Result<(), String> {
        let range = insert.range.ok_or("range must be specified")?;
        let dimension = Self::dimension(range.dimension.as_deref())?;
        let index = self.find(range.sheet_id)?;
        let start = range.start_index.unwrap_or(0);
        let end = range.end_index.unwrap_or(0);
        if end <= start {
            return Err(format!(
                "endIndex ({end}) must be greater than startIndex ({start})"
            ));
        }
        let size = self.sheets[index].size(dimension);
        if start > size {
            return Err(format!(
                "startIndex ({start}) is beyond the end of the grid ({size})"
            ));
        }
        if insert.inherit_from_before && start == 0 {
            return Err(
                "Cannot inherit properties from before the first row or column.".to_owned(),
            );
        }
        self.grow_by(index, dimension, start, end - start)
    }

    fn grow_by(
        &mut self,
        index: usize,
        dimension: Dimension,
        at: u32,
        count: u32,
    ) -> Result<(), String> {
        let sheet = &self.sheets[index];
        let (rows, cols) = match dimension {
            Dimension::Rows => (sheet.row_count.saturating_add(count), sheet.column_count),
            Dimension::Columns => (sheet.row_count, sheet.column_count.saturating_add(count)),
        };
        self.grow_check(index, rows, cols)?;
        Arc::make_mut(&mut self.sheets[index]).insert(dimension, at, count);
        Ok(())
    }

    fn append_dimension(&mut self, append: AppendDimension) -> Result<(), String> {
        let dimension = Self::dimension(append.dimension.as_deref())?;
        let index = self.find(append.sheet_id)?;
        if append.length == 0 {
            return Err("length must be greater than 0".to_owned());
        }
        let at = self.sheets[index].size(dimension);
        self.grow_by(index, dimension, at, append.length)
    }

    fn delete_dimension(&mut self, delete: DeleteDimension) -> Result<(), String> {
        let range = delete.range.ok_or("range must be specified")?;
        let dimension = Self::dimension(range.dimension.as_deref())?;
        let index = self.find(range.sheet_id)?;
        let size = self.sheets[index].size(dimension);
        let start = range.start_index.unwrap_or(0);
        let end = range.end_index.unwrap_or(size);
        if end <= start {
            return Err(format!(
                "endIndex ({end}) must be greater than startIndex ({start})"
            ));
        }
        if end > size {
            return Err(format!(
                "Index {end} is out of bounds (the grid has {size})."
            ));
        }
        if start == 0 && end == size {
            return Err(match dimension {
                Dimension::Rows => "You can't delete all the rows on the sheet.".to_owned(),
                Dimension::Columns => "You can't delete all the columns on the sheet.".to_owned(),
            });
        }
        Arc::make_mut(&mut self.sheets[index]).delete(dimension, start, end);
        Ok(())
    }

    fn writes_values(fields: Option<&str>) -> Result<bool, String> {
        let fields = fields.unwrap_or_default();
        let list: Vec<&str> = fields
            .split(',')
            .map(str::trim)
            .filter(|field| !field.is_empty())
            .collect();
        if list.is_empty() {
            return Err("At least one field must be specified in 'fields'.".to_owned());
        }
        Ok(list.iter().any(|field| {
            *field == "*" || *field == "userEnteredValue" || field.starts_with("userEnteredValue.")
        }))
    }

    /// Whether the `fields` mask covers the cells' number format.
    fn writes_number_formats(fields: Option<&str>) -> bool {
        fields
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .any(|field| {
                matches!(
                    field,
                    "*" | "userEnteredFormat" | "userEnteredFormat.numberFormat"
                ) || field.starts_with("userEnteredFormat.numberFormat.")
            })
    }

    fn update_cells(&mut self, update: UpdateCells) -> Result<(), String> {
        let values = Self::writes_values(update.fields.as_deref())?;
        let formats = Self::writes_number_formats(update.fields.as_deref());
        let rows = u32::try_from(update.rows.len()).unwrap_or(u32::MAX);
        let width = u32::try_from(
            update
                .rows
                .iter()
                .map(|row| row.values.len())
                .max()
                .unwrap_or(0),
        )
        .unwrap_or(u32::MAX);
        let (index, area, origin) = match (update.start, update.range) {
            (Some(start), None) => {
                let index = self.find(start.sheet_id)?;
                let area = Area::rect(
                    start.row_index,
                    start.column_index,
                    rows.max(1),
                    width.max(1),
                );
                (index, area, (start.row_index, start.column_index, false))
            }
            (None, Some(range)) => {
                let index = self.find(range.sheet_id)?;
                let row_start = range.start_row_index.unwrap_or(0);
                let col_start = range.start_column_index.unwrap_or(0);
                let area = Area {
                    row_start,
                    row_end: range.end_row_index,
                    col_start,
                    col_end: range.end_column_index,
                };
                let (_, row_end, _, col_end) = area.clamp(
                    self.sheets[index].row_count,
                    self.sheets[index].column_count,
                );
                if row_start.saturating_add(rows) > row_end.max(row_start)
                    || col_start.saturating_add(width) > col_end.max(col_start)
                {
                    return Err(format!(
                        "Attempting to write {rows} rows and {width} columns into a range of {} rows and {} columns.",
                        row_end.saturating_sub(row_start),
                        col_end.saturating_sub(col_start)
                    ));
                }
                (index, area, (row_start, col_start, true))
            }
            _ => return Err("Exactly one of 'start' or 'range' must be specified.".to_owned()),
        };
        let sheet = &self.sheets[index];
        if area.exceeds(sheet.row_count, sheet.column_count) {
            return Err(exceeds_message(sheet, &area));
        }
        if !values {
            return Ok(());
        }
        let sheet = Arc::make_mut(&mut self.sheets[index]);
        if origin.2 {
            // A `range` write clears the cells of the range that the rows do not cover.
            sheet.clear(&area);
        }
        sheet.write_block(
            origin.0,
            origin.1,
            update.rows.into_iter().map(|row| {
                row.values
                    .into_iter()
                    .map(move |cell| Some(cell.into_cell(formats)))
            }),
        );
        Ok(())
    }

    fn append_cells(&mut self, append: AppendCells) -> Result<(), String> {
        let values = Self::writes_values(append.fields.as_deref())?;
        let formats = Self::writes_number_formats(append.fields.as_deref());
        let index = self.find(append.sheet_id)?;
        let sheet = &self.sheets[index];
        let start = sheet
            .last_used_row(0, 0, sheet.column_count)
            .map_or(0, |row| row + 1);
        let rows = u32::try_from(append.rows.len()).unwrap_or(u32::MAX);
        let width = u32::try_from(
            append
                .rows
                .iter()
                .map(|row| row.values.len())
                .max()
                .unwrap_or(0),
        )
        .unwrap_or(u32::MAX);
        let need_rows = start.saturating_add(rows);
        let need_cols = width.max(sheet.column_count);
        let limit = self.cell_limit;
        ensure_size(&mut self.sheets, index, need_rows, need_cols, limit)
            .map_err(|error| error.message(limit))?;
        if values {
            Arc::make_mut(&mut self.sheets[index]).write_block(
                start,
                0,
                append.rows.into_iter().map(|row| {
                    row.values
                        .into_iter()
                        .map(move |cell| Some(cell.into_cell(formats)))
                }),
            );
        }
        Ok(())
    }
}

/// A sheet's `properties` as Google answers them.
pub(crate) fn properties_json(sheet: &Sheet, index: usize) -> Value {
    json!({
        "sheetId": sheet.id,
        "title": sheet.title,
        "index": index,
        "sheetType": "GRID",
        "gridProperties": {
            "rowCount": sheet.row_count,
            "columnCount": sheet.column_count,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google_sheets::cells::CellValue;

    fn sheets() -> Vec<Arc<Sheet>> {
        vec![Arc::new(Sheet::new(0, "Sheet1", 1000, 26))]
    }

    fn run(
        sheets: &mut Vec<Arc<Sheet>>,
        body: Value,
        limit: u64,
    ) -> Result<Vec<Value>, SheetsError> {
        let body: BatchUpdateBody = serde_json::from_value(body).unwrap();
        let mut seed = 7;
        let mut draft = Draft {
            sheets: sheets.clone(),
            next_sheet_seed: &mut seed,
            cell_limit: limit,
        };
        let replies = draft.apply(body.requests)?;
        *sheets = draft.sheets;
        Ok(replies)
    }

    fn cells(rows: &[&[f64]]) -> Value {
        Value::Array(
            rows.iter()
                .map(|row| {
                    json!({ "values": row.iter().map(|n| json!({"userEnteredValue": {"numberValue": n}})).collect::<Vec<_>>() })
                })
                .collect(),
        )
    }

    #[test]
    fn add_sheet_replies_with_its_properties() {
        let mut sheets = sheets();
        let replies = run(
            &mut sheets,
            json!({"requests": [{"addSheet": {"properties": {"title": "Data", "gridProperties": {"rowCount": 5, "columnCount": 3}}}}]}),
            10_000_000,
        )
        .unwrap();
        let properties = &replies[0]["addSheet"]["properties"];
        assert_eq!(properties["title"], "Data");
        assert_eq!(properties["index"], 1);
        assert_eq!(properties["gridProperties"]["rowCount"], 5);
        assert!(properties["sheetId"].as_i64().unwrap() > 0);
        assert_eq!(sheets.len(), 2);
    }

    #[test]
    fn a_failing_request_applies_nothing_and_names_its_index() {
        let mut sheets = sheets();
        let before = sheets.clone();
        let error = run(
            &mut sheets,
            json!({"requests": [
                {"updateCells": {"start": {"sheetId": 0}, "rows": cells(&[&[1.0, 2.0]]), "fields": "userEnteredValue"}},
                {"addSheet": {"properties": {"title": "X"}}},
                {"deleteSheet": {"sheetId": 99}},
            ]}),
            10_000_000,
        )
        .unwrap_err();
        assert_eq!(
            error.message,
            "Invalid requests[2].deleteSheet: No grid with id: 99"
        );
        assert_eq!(error.status.as_u16(), 400);
        assert_eq!(sheets, before);
    }

    #[test]
    fn a_whole_number_with_a_date_format_is_stored_as_a_date() {
        let mut sheets = sheets();
        let date = json!({"userEnteredValue": {"numberValue": 46082},
                          "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}}});
        let text = json!({"userEnteredValue": {"stringValue": "46082"},
                          "userEnteredFormat": {"numberFormat": {"type": "DATE"}}});
        let plain = json!({"userEnteredValue": {"numberValue": 46082}});
        let write = |row: u32, fields: &str| {
            json!({"updateCells": {"start": {"sheetId": 0, "rowIndex": row},
                   "rows": [{"values": [date, text, plain]}], "fields": fields}})
        };
        run(
            &mut sheets,
            json!({"requests": [
                write(0, "userEnteredValue,userEnteredFormat.numberFormat"),
                write(1, "userEnteredValue"),
            ]}),
            10_000_000,
        )
        .unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(sheets[0].get(0, 0).value(), CellValue::Date(day));
        assert_eq!(
            sheets[0].get(0, 1).value(),
            CellValue::String("46082".into())
        );
        assert_eq!(sheets[0].get(0, 2).value(), CellValue::Number(46082.0));
        // Without the format in `fields`, the number stays a number.
        assert_eq!(sheets[0].get(1, 0).value(), CellValue::Number(46082.0));
    }

    #[test]
    fn update_cells_refuses_cells_beyond_the_grid_until_rows_are_added() {
        let mut sheets = vec![Arc::new(Sheet::new(0, "Sheet1", 2, 2))];
        let write = json!({"updateCells": {"start": {"sheetId": 0, "rowIndex": 1}, "rows": cells(&[&[1.0], &[2.0]]), "fields": "userEnteredValue"}});
        let error = run(&mut sheets, json!({"requests": [write.clone()]}), 100).unwrap_err();
        assert_eq!(
            error.message,
            "Invalid requests[0].updateCells: Range (Sheet1!A2:A3) exceeds grid limits. Max rows: 2, max columns: 2"
        );
        run(
            &mut sheets,
            json!({"requests": [{"appendDimension": {"sheetId": 0, "dimension": "ROWS", "length": 1}}, write]}),
            100,
        )
        .unwrap();
        assert_eq!(sheets[0].row_count, 3);
        assert_eq!(sheets[0].get(2, 0).value(), CellValue::Number(2.0));
    }

    #[test]
    fn growth_past_the_workbook_limit_is_refused() {
        let mut sheets = sheets();
        let error = run(
            &mut sheets,
            json!({"requests": [{"insertDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 0, "endIndex": 383_616}}}]}),
            10_000_000,
        )
        .unwrap_err();
        assert_eq!(
            error.message,
            "Invalid requests[0].insertDimension: This action would increase the number of cells in the workbook above the limit of 10000000 cells."
        );
        run(
            &mut sheets,
            json!({"requests": [{"insertDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 0, "endIndex": 383_615}}}]}),
            10_000_000,
        )
        .unwrap();
    }

    #[test]
    fn properties_update_only_masked_fields_and_dimensions_delete() {
        let mut sheets = sheets();
        run(
            &mut sheets,
            json!({"requests": [
                {"updateSheetProperties": {"properties": {"sheetId": 0, "title": "Renamed", "gridProperties": {"rowCount": 10, "columnCount": 4}}, "fields": "title,gridProperties.rowCount"}},
                {"updateCells": {"start": {"sheetId": 0, "rowIndex": 0}, "rows": cells(&[&[1.0], &[2.0], &[3.0]]), "fields": "userEnteredValue"}},
                {"deleteDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 0, "endIndex": 1}}},
            ]}),
            10_000_000,
        )
        .unwrap();
        assert_eq!(sheets[0].title, "Renamed");
        assert_eq!((sheets[0].row_count, sheets[0].column_count), (9, 26));
        assert_eq!(sheets[0].get(0, 0).value(), CellValue::Number(2.0));
        let error = run(
            &mut sheets,
            json!({"requests": [{"deleteDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 0, "endIndex": 9}}}]}),
            10_000_000,
        )
        .unwrap_err();
        assert!(
            error
                .message
                .ends_with("You can't delete all the rows on the sheet.")
        );
    }

    #[test]
    fn unknown_kinds_and_values_are_refused() {
        let mut sheets = sheets();
        let error = run(
            &mut sheets,
            json!({"requests": [{"repeatCell": {}}]}),
            100_000,
        )
        .unwrap_err();
        assert_eq!(
            error.message,
            "Invalid JSON payload received. Unknown name \"repeatCell\" at 'requests[0]': Cannot find field."
        );
        let error = run(
            &mut sheets,
            json!({"requests": [{"appendCells": {"sheetId": 0, "rows": [], "fields": ""}}]}),
            100_000,
        )
        .unwrap_err();
        assert!(
            error
                .message
                .starts_with("Invalid requests[0].appendCells: ")
        );
    }

    #[test]
    fn append_cells_writes_after_the_last_row_and_grows_the_grid() {
        let mut sheets = vec![Arc::new(Sheet::new(0, "Sheet1", 2, 2))];
        let append = json!({"appendCells": {"sheetId": 0, "rows": cells(&[&[1.0, 2.0, 3.0], &[4.0]]), "fields": "*"}});
        run(
            &mut sheets,
            json!({"requests": [append.clone(), append]}),
            100,
        )
        .unwrap();
        assert_eq!((sheets[0].row_count, sheets[0].column_count), (4, 3));
        assert_eq!(sheets[0].get(3, 0).value(), CellValue::Number(4.0));
        assert_eq!(sheets[0].get(2, 2).value(), CellValue::Number(3.0));
    }
}
