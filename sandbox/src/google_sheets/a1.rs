//! A1 notation, as the Sheets API reads and writes it: `Sheet1!A1:D5`, `Sheet1!A:A`,
//! `Sheet1!1:2`, `Sheet1!A5:A`, `Sheet1`, `'My Sheet'!A1` (with `''` for a quote inside the
//! name), and ranges without a sheet name, which refer to the first sheet.
//!
//! Parsing needs the spreadsheet's sheet titles: a range without `!` is cells of the first sheet
//! if it reads as cells (even when a sheet has that title, as at Google), and a sheet name
//! otherwise. Unquoted names may contain spaces, as
//! in Google's own quickstart (`Class Data!A2:E`). Sheet titles match case-insensitively. Any
//! range that does not resolve is refused as `Unable to parse range: <range>`. R1C1 notation
//! and named ranges are not modelled.

use std::fmt;

/// The widest grid Sheets allows: column `ZZZ`.
pub(crate) const MAX_COLUMNS: u32 = 18_278;

/// A rectangle of a sheet, 0-based with exclusive ends; `None` ends are unbounded (to the edge
/// of the grid). Starts of unbounded sides are 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Area {
    pub(crate) row_start: u32,
    pub(crate) row_end: Option<u32>,
    pub(crate) col_start: u32,
    pub(crate) col_end: Option<u32>,
}

impl Area {
    /// The whole sheet.
    pub(crate) const ALL: Area = Area {
        row_start: 0,
        row_end: None,
        col_start: 0,
        col_end: None,
    };

    /// One cell.
    pub(crate) fn cell(row: u32, col: u32) -> Self {
        Area {
            row_start: row,
            row_end: Some(row + 1),
            col_start: col,
            col_end: Some(col + 1),
        }
    }

    /// A bounded rectangle (`rows` × `cols` cells from the top-left corner).
    pub(crate) fn rect(row: u32, col: u32, rows: u32, cols: u32) -> Self {
        Area {
            row_start: row,
            row_end: Some(row + rows),
            col_start: col,
            col_end: Some(col + cols),
        }
    }

    /// Whether the area is exactly one cell, which writes treat as the top-left anchor.
    pub(crate) fn is_single_cell(&self) -> bool {
        self.row_end == Some(self.row_start + 1) && self.col_end == Some(self.col_start + 1)
    }

    /// Whether any bound of the area lies outside a grid of `rows` × `cols`.
    pub(crate) fn exceeds(&self, rows: u32, cols: u32) -> bool {
        let beyond = |start: u32, end: Option<u32>, size: u32| match end {
            Some(end) => end > size,
            None => start > 0 && start >= size,
        };
        beyond(self.row_start, self.row_end, rows) || beyond(self.col_start, self.col_end, cols)
    }

    /// Whether the first cell of the area lies outside a grid of `rows` × `cols`: Google
    /// refuses such reads ("exceeds grid limits") and clamps ends beyond the grid.
    pub(crate) fn starts_outside(&self, rows: u32, cols: u32) -> bool {
        self.row_start >= rows || self.col_start >= cols
    }

    /// The area with unbounded ends clamped to a grid of `rows` × `cols`:
    /// `(row_start, row_end, col_start, col_end)`.
    pub(crate) fn clamp(&self, rows: u32, cols: u32) -> (u32, u32, u32, u32) {
        let row_end = self.row_end.unwrap_or(rows).min(rows);
        let col_end = self.col_end.unwrap_or(cols).min(cols);
        (
            self.row_start.min(row_end),
            row_end,
            self.col_start.min(col_end),
            col_end,
        )
    }
}

/// A range that could not be read; Google answers `Unable to parse range: <range>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unparsable(pub(crate) String);

impl fmt::Display for Unparsable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unable to parse range: {}", self.0)
    }
}

/// Resolves `text` against the sheet titles (in sheet order): the index of the sheet and the area.
pub(crate) fn resolve(text: &str, titles: &[&str]) -> Result<(usize, Area), Unparsable> {
    let fail = || Unparsable(text.to_owned());
    let find = |name: &str| {
        let wanted = name.to_lowercase();
        titles
            .iter()
            .position(|title| title.to_lowercase() == wanted)
    };
    if let Some(quoted) = text.strip_prefix('\'') {
        let (name, rest) = unquote(quoted).ok_or_else(fail)?;
        let sheet = find(&name).ok_or_else(fail)?;
        if rest.is_empty() {
            return Ok((sheet, Area::ALL));
        }
        let cells = rest.strip_prefix('!').ok_or_else(fail)?;
        return Ok((sheet, parse_area(cells).ok_or_else(fail)?));
    }
    match text.split_once('!') {
        Some((name, cells)) => {
            let sheet = find(name).ok_or_else(fail)?;
            Ok((sheet, parse_area(cells).ok_or_else(fail)?))
        }
        None => {
            // Cells win over a sheet of the same name: Google reads `CO2` as the cell CO2 of
            // the first sheet even when a sheet is called "CO2" ("Range ('CO2'!CO2) exceeds
            // grid limits").
            if let Some(area) = parse_area(text)
                && !titles.is_empty()
            {
                return Ok((0, area));
            }
            find(text).map(|sheet| (sheet, Area::ALL)).ok_or_else(fail)
        }
    }
}

/// Reads a quoted sheet name after its opening quote: the name (with `''` turned into `'`) and
/// what follows the closing quote.
fn unquote(text: &str) -> Option<(String, &str)> {
    let mut name = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().is_some_and(|(_, next)| *next == '\'') {
                chars.next();
                name.push('\'');
            } else {
                return Some((name, &text[at + 1..]));
            }
        } else {
            name.push(c);
        }
    }
    None
}

/// One side of a cell range: `A1`, `A` or `1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ref {
    Cell { col: u32, row: u32 },
    Col(u32),
    Row(u32),
}

fn parse_ref(text: &str) -> Option<Ref> {
    let letters = text.bytes().take_while(u8::is_ascii_alphabetic).count();
    let (col_text, row_text) = text.split_at(letters);
    if !row_text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let col = if col_text.is_empty() {
        None
    } else {
        Some(column_index(col_text)?)
    };
    let row = if row_text.is_empty() {
        None
    } else {
        let number: u32 = row_text.parse().ok()?;
        Some(number.checked_sub(1)?)
    };
    match (col, row) {
        (Some(col), Some(row)) => Some(Ref::Cell { col, row }),
        (Some(col), None) => Some(Ref::Col(col)),
        (None, Some(row)) => Some(Ref::Row(row)),
        (None, None) => None,
    }
}

/// `A` → 0, `Z` → 25, `AA` → 26, … `ZZZ` → 18277 (case-insensitive).
pub(crate) fn column_index(letters: &str) -> Option<u32> {
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let mut value: u32 = 0;
    for byte in letters.bytes() {
        if !byte.is_ascii_alphabetic() {
            return None;
        }
        value = value * 26 + u32::from(byte.to_ascii_uppercase() - b'A') + 1;
    }
    (value <= MAX_COLUMNS).then(|| value - 1)
}

/// 0 → `A`, 25 → `Z`, 26 → `AA`.
pub(crate) fn column_letters(index: u32) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + u8::try_from(rem).unwrap_or(0));
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// The cells part of a range: `A1`, `A1:B2`, `A:B`, `1:2`, `A5:A`. Reversed corners are
/// normalised (`B2:A1` is `A1:B2`).
fn parse_area(text: &str) -> Option<Area> {
    let (first, second) = match text.split_once(':') {
        Some((first, second)) => (parse_ref(first)?, Some(parse_ref(second)?)),
        None => (parse_ref(text)?, None),
    };
    let span = |a: u32, b: u32| (a.min(b), a.max(b) + 1);
    match (first, second) {
        (Ref::Cell { col, row }, None) => Some(Area::cell(row, col)),
        (Ref::Col(_) | Ref::Row(_), None) => None,
        (Ref::Cell { col: c1, row: r1 }, Some(Ref::Cell { col: c2, row: r2 })) => {
            let (row_start, row_end) = span(r1, r2);
            let (col_start, col_end) = span(c1, c2);
            Some(Area {
                row_start,
                row_end: Some(row_end),
                col_start,
                col_end: Some(col_end),
            })
        }
        (Ref::Col(c1), Some(Ref::Col(c2))) => {
            let (col_start, col_end) = span(c1, c2);
            Some(Area {
                row_start: 0,
                row_end: None,
                col_start,
                col_end: Some(col_end),
            })
        }
        (Ref::Row(r1), Some(Ref::Row(r2))) => {
            let (row_start, row_end) = span(r1, r2);
            Some(Area {
                row_start,
                row_end: Some(row_end),
                col_start: 0,
                col_end: None,
            })
        }
        // `A5:B` and `A:B5` run from row 5 to the end of the grid.
        (Ref::Cell { col: c1, row }, Some(Ref::Col(c2)))
        | (Ref::Col(c2), Some(Ref::Cell { col: c1, row })) => {
            let (col_start, col_end) = span(c1, c2);
            Some(Area {
                row_start: row,
                row_end: None,
                col_start,
                col_end: Some(col_end),
            })
        }
        // `A5:10` and `5:A10` run from column A to the end of the grid.
        (Ref::Cell { col, row: r1 }, Some(Ref::Row(r2)))
        | (Ref::Row(r2), Some(Ref::Cell { col, row: r1 })) => {
            let (row_start, row_end) = span(r1, r2);
            Some(Area {
                row_start,
                row_end: Some(row_end),
                col_start: col,
                col_end: None,
            })
        }
        (Ref::Col(_), Some(Ref::Row(_))) | (Ref::Row(_), Some(Ref::Col(_))) => None,
    }
}

/// A sheet title as Google writes it in ranges: bare when it is a plain identifier that cannot
/// be mistaken for a cell, otherwise in single quotes with `'` doubled.
pub(crate) fn quote_title(title: &str) -> String {
    let plain = !title.is_empty()
        && title
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !title.as_bytes()[0].is_ascii_digit()
        && parse_area(title).is_none()
        && !looks_like_r1c1(title);
    if plain {
        title.to_owned()
    } else {
        format!("'{}'", title.replace('\'', "''"))
    }
}

fn looks_like_r1c1(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    let Some(rest) = upper.strip_prefix('R') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &rest[digits..];
    match rest.strip_prefix('C') {
        Some(tail) => tail.bytes().all(|b| b.is_ascii_digit()),
        None => rest.is_empty() && digits > 0,
    }
}

/// The cells part of `area` in A1 notation, in the shape it was given: `A1`, `A1:B2`, `A:B`,
/// `1:2`, `A5:B`; `None` for the whole sheet.
pub(crate) fn format_area(area: &Area) -> Option<String> {
    let col = column_letters;
    match (area.row_end, area.col_end) {
        (None, None) if area.row_start == 0 && area.col_start == 0 => None,
        (Some(row_end), Some(col_end)) => {
            let first = format!("{}{}", col(area.col_start), area.row_start + 1);
            if area.is_single_cell() {
                Some(first)
            } else {
                Some(format!("{first}:{}{}", col(col_end - 1), row_end))
            }
        }
        (Some(row_end), None) if area.col_start == 0 => {
            Some(format!("{}:{}", area.row_start + 1, row_end))
        }
        (Some(row_end), None) => Some(format!(
            "{}{}:{}",
            col(area.col_start),
            area.row_start + 1,
            row_end
        )),
        (None, Some(col_end)) if area.row_start == 0 => {
            Some(format!("{}:{}", col(area.col_start), col(col_end - 1)))
        }
        (None, Some(col_end)) => Some(format!(
            "{}{}:{}",
            col(area.col_start),
            area.row_start + 1,
            col(col_end - 1)
        )),
        (None, None) => Some(format!(
            "{}{}:{}",
            col(area.col_start),
            area.row_start + 1,
            col(MAX_COLUMNS - 1)
        )),
    }
}

/// `title` and `area` as one range, e.g. `Sheet1!A1:B2` or `'My Sheet'!A:A`.
pub(crate) fn format_range(title: &str, area: &Area) -> String {
    match format_area(area) {
        Some(cells) => format!("{}!{cells}", quote_title(title)),
        None => quote_title(title),
    }
}

/// A bounded rectangle of `title` in A1 notation (`Sheet1!A1:C3`, or `Sheet1!A1` for one cell).
pub(crate) fn format_rect(
    title: &str,
    row_start: u32,
    row_end: u32,
    col_start: u32,
    col_end: u32,
) -> String {
    format_range(
        title,
        &Area {
            row_start,
            row_end: Some(row_end.max(row_start + 1)),
            col_start,
            col_end: Some(col_end.max(col_start + 1)),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TITLES: &[&str] = &["Sheet1", "My Sheet", "It's", "Data", "A1"];

    fn ok(text: &str) -> (usize, Area) {
        resolve(text, TITLES).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn area(row_start: u32, row_end: Option<u32>, col_start: u32, col_end: Option<u32>) -> Area {
        Area {
            row_start,
            row_end,
            col_start,
            col_end,
        }
    }

    #[test]
    fn bounded_ranges_are_zero_based_and_half_open() {
        assert_eq!(ok("Sheet1!A1:D5"), (0, area(0, Some(5), 0, Some(4))));
        assert_eq!(ok("Data!B2"), (3, Area::cell(1, 1)));
        assert_eq!(ok("data!b2:c3"), (3, area(1, Some(3), 1, Some(3))));
        assert_eq!(ok("Sheet1!D5:A1"), (0, area(0, Some(5), 0, Some(4))));
    }

    #[test]
    fn whole_columns_rows_and_open_ended_ranges_are_unbounded() {
        assert_eq!(ok("Sheet1!A:A"), (0, area(0, None, 0, Some(1))));
        assert_eq!(ok("Sheet1!B:D"), (0, area(0, None, 1, Some(4))));
        assert_eq!(ok("Sheet1!1:2"), (0, area(0, Some(2), 0, None)));
        assert_eq!(ok("Sheet1!A5:A"), (0, area(4, None, 0, Some(1))));
        assert_eq!(ok("Sheet1!A5:C"), (0, area(4, None, 0, Some(3))));
        assert_eq!(ok("Sheet1!B3:7"), (0, area(2, Some(7), 1, None)));
        assert_eq!(ok("Sheet1"), (0, Area::ALL));
        assert_eq!(ok("Data"), (3, Area::ALL));
    }

    #[test]
    fn quoted_names_may_hold_spaces_quotes_and_bangs() {
        assert_eq!(ok("'My Sheet'!A1"), (1, Area::cell(0, 0)));
        assert_eq!(ok("'It''s'!A1:B2"), (2, area(0, Some(2), 0, Some(2))));
        assert_eq!(ok("'My Sheet'"), (1, Area::ALL));
        assert_eq!(ok("'Sheet1'!A:B"), (0, area(0, None, 0, Some(2))));
        let titles = ["a!b"];
        assert_eq!(resolve("'a!b'!C3", &titles), Ok((0, Area::cell(2, 2))));
    }

    #[test]
    fn unquoted_names_may_hold_spaces_as_in_googles_quickstart() {
        assert_eq!(ok("My Sheet!A2:E"), (1, area(1, None, 0, Some(5))));
        assert_eq!(ok("My Sheet"), (1, Area::ALL));
    }

    #[test]
    fn an_omitted_sheet_means_the_first_sheet_unless_a_sheet_has_that_name() {
        assert_eq!(ok("A1:B2"), (0, area(0, Some(2), 0, Some(2))));
        assert_eq!(ok("C:C"), (0, area(0, None, 2, Some(3))));
        assert_eq!(ok("3:4"), (0, area(2, Some(4), 0, None)));
        // The cell A1 of the first sheet wins over a sheet called "A1", as at Google.
        assert_eq!(ok("A1"), (0, Area::cell(0, 0)));
        assert_eq!(ok("'A1'"), (4, Area::ALL));
        assert_eq!(ok("B1"), (0, Area::cell(0, 1)));
    }

    #[test]
    fn bad_ranges_are_unable_to_parse() {
        for text in [
            "",
            "Nope!A1",
            "Nope",
            "Sheet1!",
            "Sheet1!A0",
            "Sheet1!A1:",
            "Sheet1!:A1",
            "Sheet1!AAAA1",
            "Sheet1!A1B",
            "Sheet1!A:1",
            "Sheet1!1",
            "Sheet1!A",
            "Sheet1!A1:B2:C3",
            "'My Sheet'A1",
            "'My Sheet!A1",
            "'Nope'!A1",
            "Sheet1!R1C1",
            "Sheet1!A-1",
            "Sheet1! A1",
        ] {
            assert_eq!(
                resolve(text, TITLES),
                Err(Unparsable(text.to_owned())),
                "{text:?} should not parse"
            );
        }
        assert_eq!(
            Unparsable("Nope!A1".into()).to_string(),
            "Unable to parse range: Nope!A1"
        );
        assert!(resolve("A1", &[]).is_err());
    }

    #[test]
    fn columns_run_from_a_to_zzz() {
        assert_eq!(column_index("A"), Some(0));
        assert_eq!(column_index("z"), Some(25));
        assert_eq!(column_index("AA"), Some(26));
        assert_eq!(column_index("AZ"), Some(51));
        assert_eq!(column_index("ZZZ"), Some(MAX_COLUMNS - 1));
        assert_eq!(column_index("AAAA"), None);
        for index in [0, 1, 25, 26, 51, 52, 701, 702, 18_277] {
            assert_eq!(column_index(&column_letters(index)), Some(index));
        }
        assert_eq!(column_letters(702), "AAA");
    }

    #[test]
    fn titles_are_quoted_only_when_needed() {
        assert_eq!(quote_title("Sheet1"), "Sheet1");
        assert_eq!(quote_title("raw_data"), "raw_data");
        assert_eq!(quote_title("My Sheet"), "'My Sheet'");
        assert_eq!(quote_title("It's"), "'It''s'");
        assert_eq!(quote_title("A1"), "'A1'");
        assert_eq!(quote_title("R1C1"), "'R1C1'");
        assert_eq!(quote_title("2025"), "'2025'");
        assert_eq!(quote_title("Données"), "'Données'");
    }

    #[test]
    fn ranges_render_in_the_shape_they_were_given() {
        for text in [
            "Sheet1!A1:D5",
            "Sheet1!A1",
            "Sheet1!A:C",
            "Sheet1!2:3",
            "Sheet1!A5:B",
            "Sheet1!B3:7",
            "Sheet1",
            "'My Sheet'!A1:B2",
            "'It''s'!C:C",
        ] {
            let (sheet, area) = ok(text);
            assert_eq!(format_range(TITLES[sheet], &area), text);
        }
        assert_eq!(format_rect("Sheet1", 0, 3, 0, 3), "Sheet1!A1:C3");
        assert_eq!(format_rect("Sheet1", 4, 5, 1, 2), "Sheet1!B5");
    }

    #[test]
    fn grid_limits_apply_to_explicit_bounds() {
        let (_, within) = ok("Sheet1!A1:Z1000");
        assert!(!within.exceeds(1000, 26));
        let (_, below) = ok("Sheet1!A1001");
        assert!(below.exceeds(1000, 26));
        let (_, right) = ok("Sheet1!AA1");
        assert!(right.exceeds(1000, 26));
        let (_, open) = ok("Sheet1!A5:A");
        assert!(!open.exceeds(1000, 26));
        assert!(open.exceeds(4, 26));
        assert!(!Area::ALL.exceeds(1, 1));
        assert_eq!(open.clamp(1000, 26), (4, 1000, 0, 1));
        assert_eq!(Area::ALL.clamp(1000, 26), (0, 1000, 0, 26));
    }
}
