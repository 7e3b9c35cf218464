//! Spreadsheets and their sheets (tabs): a grid of `row_count` × `column_count` cells of which
//! only the used part is stored, row by row (`rows[r]` holds the cells of row `r` up to its last
//! written column). Inserting or deleting rows splices the row vector once (linear in the number
//! of stored rows, whatever the number of rows inserted); columns are spliced row by row.
//!
//! Sheets sit behind `Arc`s: a change works on a copy of the spreadsheet's sheet list, and
//! `Arc::make_mut` copies only the sheets it touches, so a failed batch is dropped without
//! having changed anything (atomicity) and reads can serialise a snapshot outside the lock.

use std::sync::Arc;

use super::a1::{self, Area, MAX_COLUMNS};
use super::cells::{Cell, CellValue};

/// A new sheet's grid when none is given, as in Sheets: 1000 rows, columns A to Z.
pub(crate) const DEFAULT_ROWS: u32 = 1000;
pub(crate) const DEFAULT_COLUMNS: u32 = 26;

static EMPTY: Cell = Cell::Empty;

/// One tab of a spreadsheet.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sheet {
    pub(crate) id: i32,
    pub(crate) title: String,
    pub(crate) row_count: u32,
    pub(crate) column_count: u32,
    rows: Vec<Vec<Cell>>,
}

/// A side of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dimension {
    Rows,
    Columns,
}

impl Dimension {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "ROWS" => Some(Self::Rows),
            "COLUMNS" => Some(Self::Columns),
            _ => None,
        }
    }
}

impl Sheet {
    pub(crate) fn new(
        id: i32,
        title: impl Into<String>,
        row_count: u32,
        column_count: u32,
    ) -> Self {
        Self {
            id,
            title: title.into(),
            row_count,
            column_count,
            rows: Vec::new(),
        }
    }

    pub(crate) fn cells(&self) -> u64 {
        u64::from(self.row_count) * u64::from(self.column_count)
    }

    pub(crate) fn size(&self, dimension: Dimension) -> u32 {
        match dimension {
            Dimension::Rows => self.row_count,
            Dimension::Columns => self.column_count,
        }
    }

    pub(crate) fn get(&self, row: u32, col: u32) -> &Cell {
        self.rows
            .get(row as usize)
            .and_then(|cells| cells.get(col as usize))
            .unwrap_or(&EMPTY)
    }

    /// Sets one cell inside the grid (the caller has checked the bounds).
    pub(crate) fn set(&mut self, row: u32, col: u32, cell: Cell) {
        let (row, col) = (row as usize, col as usize);
        if cell.is_empty() && self.rows.get(row).is_none_or(|cells| cells.len() <= col) {
            return;
        }
        if self.rows.len() <= row {
            self.rows.resize_with(row + 1, Vec::new);
        }
        let cells = &mut self.rows[row];
        if cells.len() <= col {
            cells.resize(col + 1, Cell::Empty);
        }
        cells[col] = cell;
    }

    /// Writes a block of values with its top-left corner at (`row`, `col`); `None` leaves a cell
    /// as it is. The block must lie inside the grid.
    pub(crate) fn write_block<I, R>(&mut self, row: u32, col: u32, block: I)
    where
        I: IntoIterator<Item = R>,
        R: IntoIterator<Item = Option<Cell>>,
    {
        for (r, values) in block.into_iter().enumerate() {
            let r = row + u32::try_from(r).unwrap_or(u32::MAX);
            for (c, value) in values.into_iter().enumerate() {
                if let Some(cell) = value {
                    self.set(r, col + u32::try_from(c).unwrap_or(u32::MAX), cell);
                }
            }
        }
    }

    /// Empties the cells of `area` (clamped to the grid).
    pub(crate) fn clear(&mut self, area: &Area) {
        let (row_start, row_end, col_start, col_end) =
            area.clamp(self.row_count, self.column_count);
        let stored = self.rows.len();
        for cells in self
            .rows
            .iter_mut()
            .take(row_end as usize)
            .skip(row_start as usize)
        {
            let end = (col_end as usize).min(cells.len());
            let start = (col_start as usize).min(end);
            if end == cells.len() {
                cells.truncate(start);
            } else {
                cells[start..end].fill(Cell::Empty);
            }
        }
        if row_end as usize >= stored {
            self.trim_rows();
        }
    }

    fn trim_rows(&mut self) {
        while self
            .rows
            .last()
            .is_some_and(|cells| cells.iter().all(Cell::is_empty))
        {
            self.rows.pop();
        }
    }

    /// Inserts `count` empty rows or columns before index `at` (`at` may equal the size).
    pub(crate) fn insert(&mut self, dimension: Dimension, at: u32, count: u32) {
        match dimension {
            Dimension::Rows => {
                self.row_count += count;
                let at = at as usize;
                if at < self.rows.len() {
                    self.rows.splice(
                        at..at,
                        std::iter::repeat_with(Vec::new).take(count as usize),
                    );
                }
            }
            Dimension::Columns => {
                self.column_count += count;
                let at = at as usize;
                for cells in &mut self.rows {
                    if at < cells.len() {
                        cells.splice(at..at, std::iter::repeat_n(Cell::Empty, count as usize));
                    }
                }
            }
        }
    }

    /// Deletes the rows or columns `start..end` (inside the grid).
    pub(crate) fn delete(&mut self, dimension: Dimension, start: u32, end: u32) {
        let (start, end) = (start as usize, end as usize);
        match dimension {
            Dimension::Rows => {
                self.row_count -= u32::try_from(end - start).unwrap_or(0);
                let stored = self.rows.len();
                self.rows.drain(start.min(stored)..end.min(stored));
                self.trim_rows();
            }
            Dimension::Columns => {
                self.column_count -= u32::try_from(end - start).unwrap_or(0);
                for cells in &mut self.rows {
                    let stored = cells.len();
                    cells.drain(start.min(stored)..end.min(stored));
                }
            }
        }
    }

    /// Sets the grid size, dropping the cells that fall outside.
    pub(crate) fn resize(&mut self, row_count: u32, column_count: u32) {
        self.row_count = row_count;
        self.column_count = column_count;
        self.rows.truncate(row_count as usize);
        for cells in &mut self.rows {
            cells.truncate(column_count as usize);
        }
        self.trim_rows();
    }

    /// The last row (0-based) at or after `from` with a value in columns `col_start..col_end`.
    pub(crate) fn last_used_row(&self, from: u32, col_start: u32, col_end: u32) -> Option<u32> {
        (from as usize..self.rows.len())
            .rev()
            .find(|&r| {
                let cells = &self.rows[r];
                let end = (col_end as usize).min(cells.len());
                let start = (col_start as usize).min(end);
                cells[start..end].iter().any(|cell| !cell.is_empty())
            })
            .and_then(|r| u32::try_from(r).ok())
    }

    /// How many columns from `col_start` the rows `row_start..row_end` use, within `col_end`.
    pub(crate) fn used_width(
        &self,
        row_start: u32,
        row_end: u32,
        col_start: u32,
        col_end: u32,
    ) -> u32 {
        let end = (row_end as usize).min(self.rows.len());
        let start = (row_start as usize).min(end);
        self.rows[start..end]
            .iter()
            .map(|cells| {
                let stop = (col_end as usize).min(cells.len());
                let begin = (col_start as usize).min(stop);
                cells[begin..stop]
                    .iter()
                    .rposition(|cell| !cell.is_empty())
                    .map_or(0, |p| p + 1)
            })
            .max()
            .and_then(|width| u32::try_from(width).ok())
            .unwrap_or(0)
    }

    /// The number of stored rows (an upper bound on the last used row + 1).
    pub(crate) fn stored_rows(&self) -> u32 {
        u32::try_from(self.rows.len()).unwrap_or(u32::MAX)
    }

    /// The cells of `area` (clamped to the grid) by rows, trailing empty cells of each row and
    /// trailing empty rows left out, as `values.get` answers.
    pub(crate) fn read_rows(&self, area: &Area) -> Vec<Vec<&Cell>> {
        let (row_start, row_end, col_start, col_end) =
            area.clamp(self.row_count, self.column_count);
        let stored_end = row_end.min(self.stored_rows());
        let mut out: Vec<Vec<&Cell>> = (row_start..stored_end.max(row_start))
            .map(|r| {
                let cells = &self.rows[r as usize];
                let end = (col_end as usize).min(cells.len());
                let start = (col_start as usize).min(end);
                let slice = &cells[start..end];
                let used = slice
                    .iter()
                    .rposition(|c| !c.is_empty())
                    .map_or(0, |p| p + 1);
                slice[..used].iter().collect()
            })
            .collect();
        while out.last().is_some_and(Vec::is_empty) {
            out.pop();
        }
        out
    }

    /// The cells of `area` by columns, trimmed the same way.
    pub(crate) fn read_columns(&self, area: &Area) -> Vec<Vec<&Cell>> {
        let (row_start, row_end, col_start, col_end) =
            area.clamp(self.row_count, self.column_count);
        let stored_end = row_end.min(self.stored_rows()).max(row_start);
        let mut out: Vec<Vec<&Cell>> = (col_start..col_end)
            .map(|c| {
                let mut column: Vec<&Cell> =
                    (row_start..stored_end).map(|r| self.get(r, c)).collect();
                while column.last().is_some_and(|cell| cell.is_empty()) {
                    column.pop();
                }
                column
            })
            .collect();
        while out.last().is_some_and(Vec::is_empty) {
            out.pop();
        }
        out
    }

    /// Every stored value by rows, trimmed, for tests and the control API.
    pub(crate) fn values(&self) -> Vec<Vec<CellValue>> {
        self.read_rows(&Area::ALL)
            .into_iter()
            .map(|row| row.into_iter().map(Cell::value).collect())
            .collect()
    }
}

/// One spreadsheet: its tabs, who may use it, and how many writes it served.
#[derive(Debug, Clone)]
pub(crate) struct Spreadsheet {
    pub(crate) id: String,
    pub(crate) title: String,
    /// Tokens the spreadsheet is shared with (each also admits every token of its grant);
    /// `None`: shared with everyone.
    pub(crate) shared_with: Option<Vec<String>>,
    pub(crate) sheets: Vec<Arc<Sheet>>,
    pub(crate) writes: u64,
    /// Seed of the ids of added sheets.
    pub(crate) next_sheet_seed: u64,
}

impl Spreadsheet {
    /// Total grid cells of `sheets`, the number the workbook limit applies to.
    pub(crate) fn total_cells(sheets: &[Arc<Sheet>]) -> u64 {
        sheets.iter().map(|sheet| sheet.cells()).sum()
    }

    /// The sheet titles in order, for A1 resolution.
    pub(crate) fn titles(sheets: &[Arc<Sheet>]) -> Vec<&str> {
        sheets.iter().map(|sheet| sheet.title.as_str()).collect()
    }
}

/// Grows `sheet`'s grid so that it holds `rows` × `cols` cells (never shrinks); `Err` with the
/// resulting workbook size when the workbook would pass `limit` or the sheet would pass the
/// widest grid.
pub(crate) fn ensure_size(
    sheets: &mut [Arc<Sheet>],
    index: usize,
    rows: u32,
    cols: u32,
    limit: u64,
) -> Result<(), GrowError> {
    let sheet = &sheets[index];
    if rows <= sheet.row_count && cols <= sheet.column_count {
        return Ok(());
    }
    let new_rows = rows.max(sheet.row_count);
    let new_cols = cols.max(sheet.column_count);
    check_size(sheets, index, new_rows, new_cols, limit)?;
    let sheet = Arc::make_mut(&mut sheets[index]);
    sheet.row_count = new_rows;
    sheet.column_count = new_cols;
    Ok(())
}

/// Whether sheet `index` may have a grid of `rows` × `cols` (within the widest grid and the
/// workbook limit).
pub(crate) fn check_size(
    sheets: &[Arc<Sheet>],
    index: usize,
    rows: u32,
    cols: u32,
    limit: u64,
) -> Result<(), GrowError> {
    if cols > MAX_COLUMNS {
        return Err(GrowError::TooWide);
    }
    let total = Spreadsheet::total_cells(sheets) - sheets[index].cells()
        + u64::from(rows) * u64::from(cols);
    if total > limit && u64::from(rows) * u64::from(cols) > sheets[index].cells() {
        return Err(GrowError::CellLimit);
    }
    Ok(())
}

/// Why a grid could not grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrowError {
    CellLimit,
    TooWide,
}

impl GrowError {
    pub(crate) fn message(self, limit: u64) -> String {
        match self {
            GrowError::CellLimit => super::errors::SheetsError::cell_limit_message(limit),
            GrowError::TooWide => format!(
                "This action would increase the number of columns in the sheet above the limit of {MAX_COLUMNS} columns."
            ),
        }
    }
}

/// `Range (Sheet1!A1001) exceeds grid limits. Max rows: 1000, max columns: 26`, Google's
/// answer to a range beyond the grid (the range as given; the title quoted only when needed,
/// as in `Range ('CO2'!CO2)`).
pub(crate) fn exceeds_message(sheet: &Sheet, area: &Area) -> String {
    format!(
        "Range ({}) exceeds grid limits. Max rows: {}, max columns: {}",
        a1::format_range(&sheet.title, area),
        sheet.row_count,
        sheet.column_count
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(sheet: &Sheet) -> Vec<Vec<String>> {
        sheet
            .values()
            .into_iter()
            .map(|row| row.into_iter().map(|v| v.to_string()).collect())
            .collect()
    }

    fn filled(rows: u32, cols: u32) -> Sheet {
        let mut sheet = Sheet::new(0, "S", rows, cols);
        for r in 0..rows {
            for c in 0..cols {
                sheet.set(
                    r,
                    c,
                    Cell::text(&format!("{}{}", a1::column_letters(c), r + 1)),
                );
            }
        }
        sheet
    }

    #[test]
    fn reads_trim_trailing_empty_cells_and_rows() {
        let mut sheet = Sheet::new(0, "S", 10, 5);
        sheet.set(0, 0, Cell::text("a"));
        sheet.set(2, 3, Cell::Number(1.0));
        sheet.set(4, 1, Cell::Empty);
        let rows = sheet.read_rows(&Area::ALL);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].len(), 1);
        assert!(rows[1].is_empty());
        assert_eq!(rows[2].len(), 4);
        let columns = sheet.read_columns(&Area::ALL);
        assert_eq!(columns.len(), 4);
        assert_eq!(columns[0].len(), 1);
        assert!(columns[1].is_empty());
        assert_eq!(columns[3].len(), 3);
        assert!(sheet.read_rows(&Area::rect(5, 0, 5, 5)).is_empty());
    }

    #[test]
    fn rows_and_columns_insert_and_delete_in_place() {
        let mut sheet = filled(3, 3);
        sheet.insert(Dimension::Rows, 1, 2);
        assert_eq!(sheet.row_count, 5);
        assert_eq!(text(&sheet)[3], vec!["A2", "B2", "C2"]);
        assert!(text(&sheet)[1].is_empty());
        sheet.delete(Dimension::Rows, 1, 3);
        assert_eq!(sheet, filled(3, 3));
        sheet.insert(Dimension::Columns, 0, 1);
        assert_eq!(text(&sheet)[0], vec!["", "A1", "B1", "C1"]);
        sheet.delete(Dimension::Columns, 0, 2);
        assert_eq!(text(&sheet)[2], vec!["B3", "C3"]);
        assert_eq!(sheet.column_count, 2);
        sheet.delete(Dimension::Rows, 1, 3);
        assert_eq!(text(&sheet), vec![vec!["B1", "C1"]]);
    }

    #[test]
    fn inserting_many_rows_into_a_big_sheet_is_one_splice() {
        let mut sheet = Sheet::new(0, "S", 200_000, 10);
        for r in 0..100_000 {
            sheet.set(r, 0, Cell::Number(f64::from(r)));
        }
        sheet.insert(Dimension::Rows, 0, 100_000);
        assert_eq!(sheet.get(100_000, 0), &Cell::Number(0.0));
        assert_eq!(sheet.row_count, 300_000);
        sheet.delete(Dimension::Rows, 0, 100_000);
        assert_eq!(sheet.get(99_999, 0), &Cell::Number(99_999.0));
    }

    #[test]
    fn clearing_and_shrinking_drop_cells() {
        let mut sheet = filled(4, 4);
        sheet.clear(&Area::rect(1, 1, 2, 2));
        assert_eq!(text(&sheet)[1], vec!["A2", "", "", "D2"]);
        sheet.clear(&Area {
            row_start: 2,
            row_end: None,
            col_start: 0,
            col_end: None,
        });
        assert_eq!(text(&sheet).len(), 2);
        sheet.resize(1, 2);
        assert_eq!(text(&sheet), vec![vec!["A1", "B1"]]);
        assert_eq!(sheet.last_used_row(0, 0, 2), Some(0));
        assert_eq!(sheet.last_used_row(1, 0, 2), None);
    }

    #[test]
    fn growth_respects_the_workbook_cell_limit() {
        let mut sheets = vec![
            Arc::new(Sheet::new(0, "A", 1000, 26)),
            Arc::new(Sheet::new(1, "B", 1000, 26)),
        ];
        assert_eq!(ensure_size(&mut sheets, 1, 2000, 26, 78_000), Ok(()));
        assert_eq!(sheets[1].row_count, 2000);
        assert_eq!(
            ensure_size(&mut sheets, 0, 1001, 26, 78_000),
            Err(GrowError::CellLimit)
        );
        assert_eq!(
            ensure_size(&mut sheets, 0, 10, MAX_COLUMNS + 1, u64::MAX),
            Err(GrowError::TooWide)
        );
        assert_eq!(sheets[0].row_count, 1000);
    }

    #[test]
    fn out_of_grid_ranges_are_named_as_google_names_them() {
        let sheet = Sheet::new(0, "Sheet1", 1000, 26);
        assert_eq!(
            exceeds_message(&sheet, &Area::cell(1000, 0)),
            "Range (Sheet1!A1001) exceeds grid limits. Max rows: 1000, max columns: 26"
        );
        let open = Area {
            row_start: 1,
            row_end: None,
            col_start: 0,
            col_end: Some(10),
        };
        let loans = Sheet::new(0, "Loans", 1, 15);
        assert_eq!(
            exceeds_message(&loans, &open),
            "Range (Loans!A2:J) exceeds grid limits. Max rows: 1, max columns: 15"
        );
    }
}
