//! Cell values: how they are stored (compactly, 24 bytes a cell), how input is turned into them
//! (`RAW` keeps strings verbatim, `USER_ENTERED` parses them as if typed into the UI), and how
//! they are rendered on reads (`FORMATTED_VALUE`, `UNFORMATTED_VALUE`, `FORMULA`).
//!
//! Numbers are IEEE doubles, as in Sheets: any decimal with at most 15 significant digits reads
//! back exactly as written (`5339.5` stays `5339.5`); longer ones come back as the nearest double
//! (an 18-digit id typed with `USER_ENTERED` loses its last digits, as it does at Google).
//!
//! `USER_ENTERED` recognises: a leading `'` (forces text; the quote is dropped), `TRUE`/`FALSE`
//! (any case), decimal numbers (sign, `1,234.5` grouping, exponent; surrounding spaces ignored)
//! and ISO dates `YYYY-MM-DD` (stored as a date serial number, shown as `YYYY-MM-DD`). Anything
//! else, formulas included, is stored as text: percentages, currencies, times and formulas are
//! not interpreted by the sandbox.

use std::borrow::Cow;
use std::fmt;

use chrono::NaiveDate;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Longest text stored inline, without a heap allocation.
const SHORT: usize = 22;

/// One stored cell. Kept at 24 bytes so that a million-cell sheet stays small.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Empty,
    Number(f64),
    Bool(bool),
    /// A date (typed with `USER_ENTERED`, or a serial number written with a date format):
    /// days since 1899-12-30, Sheets' serial number.
    Date(i32),
    ShortText {
        len: u8,
        bytes: [u8; SHORT],
    },
    Text(Box<str>),
}

impl Cell {
    /// A text cell; the empty string is an empty cell, as Sheets stores it.
    pub(crate) fn text(text: &str) -> Cell {
        if text.is_empty() {
            return Cell::Empty;
        }
        if text.len() <= SHORT {
            let mut bytes = [0u8; SHORT];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            Cell::ShortText {
                len: u8::try_from(text.len()).unwrap_or(0),
                bytes,
            }
        } else {
            Cell::Text(text.into())
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Cell::Empty)
    }

    /// The text of a text cell.
    pub(crate) fn as_text(&self) -> Option<&str> {
        match self {
            Cell::ShortText { len, bytes } => std::str::from_utf8(&bytes[..usize::from(*len)]).ok(),
            Cell::Text(text) => Some(text),
            Cell::Empty | Cell::Number(_) | Cell::Bool(_) | Cell::Date(_) => None,
        }
    }

    /// The public view of the cell.
    pub(crate) fn value(&self) -> CellValue {
        match self {
            Cell::Empty => CellValue::Empty,
            Cell::Number(number) => CellValue::Number(*number),
            Cell::Bool(flag) => CellValue::Bool(*flag),
            Cell::Date(serial) => CellValue::Date(date_of_serial(*serial)),
            Cell::ShortText { .. } | Cell::Text(_) => {
                CellValue::String(self.as_text().unwrap_or_default().to_owned())
            }
        }
    }

    /// The cell as a `values.get` answer renders it.
    pub(crate) fn render(&self, render: Render) -> Rendered<'_> {
        match self {
            Cell::Empty => Rendered::Text(Cow::Borrowed("")),
            Cell::ShortText { .. } | Cell::Text(_) => {
                Rendered::Text(Cow::Borrowed(self.as_text().unwrap_or_default()))
            }
            Cell::Bool(flag) => match render.value {
                ValueRender::Formatted => {
                    Rendered::Text(Cow::Borrowed(if *flag { "TRUE" } else { "FALSE" }))
                }
                ValueRender::Unformatted | ValueRender::Formula => Rendered::Bool(*flag),
            },
            Cell::Number(number) => match render.value {
                ValueRender::Formatted => Rendered::Text(Cow::Owned(format_general(*number))),
                ValueRender::Unformatted | ValueRender::Formula => Rendered::Number(*number),
            },
            Cell::Date(serial) => match (render.value, render.date_time) {
                (ValueRender::Formatted, _) | (_, DateTimeRender::FormattedString) => {
                    Rendered::Text(Cow::Owned(date_of_serial(*serial).to_string()))
                }
                (ValueRender::Unformatted | ValueRender::Formula, DateTimeRender::SerialNumber) => {
                    Rendered::Number(f64::from(*serial))
                }
            },
        }
    }
}

/// A cell's value, as tests see it.
///
/// Numbers are `f64`, the way Sheets stores them: a number written with up to 15 significant
/// digits (a JSON `numberValue` such as `5339.5`, or the text `"5339.5"` with `USER_ENTERED`)
/// compares equal to the same literal here (`CellValue::Number(5339.5)`); `Display` prints the
/// shortest decimal that reads back as the same double, never in exponent form.
#[derive(Debug, Clone, PartialEq)]
pub enum CellValue {
    /// No value.
    Empty,
    /// Text, stored verbatim.
    String(String),
    /// A number (an IEEE double).
    Number(f64),
    /// `TRUE` or `FALSE`.
    Bool(bool),
    /// A date: typed as `YYYY-MM-DD` with `USER_ENTERED`, or written as a serial number with a
    /// `DATE` number format (`updateCells`); Sheets keeps it as a serial number with a date
    /// format (`UNFORMATTED_VALUE` reads give the serial number, formatted reads the date).
    Date(NaiveDate),
}

impl fmt::Display for CellValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CellValue::Empty => Ok(()),
            CellValue::String(text) => f.write_str(text),
            CellValue::Number(number) => write!(f, "{number}"),
            CellValue::Bool(flag) => f.write_str(if *flag { "TRUE" } else { "FALSE" }),
            CellValue::Date(date) => write!(f, "{date}"),
        }
    }
}

impl Serialize for CellValue {
    /// Typed JSON for the control API: `null`, a string, a number, a boolean, or
    /// `{"date": "YYYY-MM-DD"}`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            CellValue::Empty => serializer.serialize_none(),
            CellValue::String(text) => serializer.serialize_str(text),
            CellValue::Number(number) => serialize_number(*number, serializer),
            CellValue::Bool(flag) => serializer.serialize_bool(*flag),
            CellValue::Date(date) => {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("date", &date.to_string())?;
                map.end()
            }
        }
    }
}

/// A number as Google writes it in JSON: integers without a fraction (`45809`, not `45809.0`).
pub(crate) fn serialize_number<S: Serializer>(
    number: f64,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if number.fract() == 0.0 && number.abs() < EXACT {
        // Exact: the value is an integer below 2^53.
        #[allow(clippy::cast_possible_truncation)]
        let integer = number as i64;
        serializer.serialize_i64(integer)
    } else {
        serializer.serialize_f64(number)
    }
}

/// One rendered cell of a read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rendered<'a> {
    Text(Cow<'a, str>),
    Number(f64),
    Bool(bool),
}

impl Serialize for Rendered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Rendered::Text(text) => serializer.serialize_str(text),
            Rendered::Number(number) => serialize_number(*number, serializer),
            Rendered::Bool(flag) => serializer.serialize_bool(*flag),
        }
    }
}

/// `valueRenderOption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueRender {
    Formatted,
    Unformatted,
    Formula,
}

/// `dateTimeRenderOption` (ignored for `FORMATTED_VALUE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateTimeRender {
    SerialNumber,
    FormattedString,
}

/// How a read renders cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Render {
    pub(crate) value: ValueRender,
    pub(crate) date_time: DateTimeRender,
}

impl Default for Render {
    fn default() -> Self {
        Self {
            value: ValueRender::Formatted,
            date_time: DateTimeRender::SerialNumber,
        }
    }
}

impl ValueRender {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "FORMATTED_VALUE" => Some(Self::Formatted),
            "UNFORMATTED_VALUE" => Some(Self::Unformatted),
            "FORMULA" => Some(Self::Formula),
            _ => None,
        }
    }
}

impl DateTimeRender {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "SERIAL_NUMBER" => Some(Self::SerialNumber),
            "FORMATTED_STRING" => Some(Self::FormattedString),
            _ => None,
        }
    }
}

/// `valueInputOption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputOption {
    Raw,
    UserEntered,
}

/// One value of a `ValueRange` as the client sent it; `null` means "leave the cell alone".
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Input {
    Skip,
    Bool(bool),
    Number(f64),
    Text(String),
    /// A list or an object where a value belongs; refused with Google's message.
    Invalid(&'static str),
}

impl<'de> Deserialize<'de> for Input {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InputVisitor;

        impl<'de> Visitor<'de> for InputVisitor {
            type Value = Input;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a number, a boolean or null")
            }

            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Input, E> {
                Ok(Input::Bool(value))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Input, E> {
                #[allow(clippy::cast_precision_loss)]
                Ok(Input::Number(value as f64))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Input, E> {
                #[allow(clippy::cast_precision_loss)]
                Ok(Input::Number(value as f64))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Input, E> {
                Ok(Input::Number(value))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Input, E> {
                Ok(Input::Text(value.to_owned()))
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<Input, E> {
                Ok(Input::Text(value))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Input, E> {
                Ok(Input::Skip)
            }

            fn visit_none<E: de::Error>(self) -> Result<Input, E> {
                Ok(Input::Skip)
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Input, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Input::Invalid("list_value"))
            }

            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Input, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Input::Invalid("struct_value"))
            }
        }

        deserializer.deserialize_any(InputVisitor)
    }
}

/// Google's limit on the length of one cell's text.
pub(crate) const MAX_CELL_CHARS: usize = 50_000;

impl Input {
    /// The cell this input stores, `None` to leave the cell as it is.
    pub(crate) fn to_cell(&self, option: InputOption) -> Option<Cell> {
        match self {
            Input::Skip | Input::Invalid(_) => None,
            Input::Bool(flag) => Some(Cell::Bool(*flag)),
            Input::Number(number) => Some(Cell::Number(*number)),
            Input::Text(text) => Some(match option {
                InputOption::Raw => Cell::text(text),
                InputOption::UserEntered => user_entered(text),
            }),
        }
    }

    /// Whether the text is longer than Sheets accepts in a cell.
    pub(crate) fn too_long(&self) -> bool {
        matches!(self, Input::Text(text) if text.len() > MAX_CELL_CHARS && text.chars().count() > MAX_CELL_CHARS)
    }
}

/// Parses text the way the Sheets UI parses what a user types.
pub(crate) fn user_entered(text: &str) -> Cell {
    if let Some(forced) = text.strip_prefix('\'') {
        return Cell::text(forced);
    }
    let trimmed = text.trim();
    if trimmed.eq_ignore_ascii_case("true") {
        return Cell::Bool(true);
    }
    if trimmed.eq_ignore_ascii_case("false") {
        return Cell::Bool(false);
    }
    if let Some(number) = parse_number(trimmed) {
        return Cell::Number(number);
    }
    if let Some(serial) = parse_iso_date(trimmed) {
        return Cell::Date(serial);
    }
    Cell::text(text)
}

/// A decimal number as typed: optional sign, digits (optionally grouped by commas in threes),
/// optional fraction, optional exponent. Returns `None` for anything else or for overflow.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let mut i = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    let mut digits = 0;
    let mut grouped = false;
    let mut group_len = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'0'..=b'9' => {
                digits += 1;
                group_len += 1;
            }
            b',' => {
                // The first group has 1-3 digits, later groups exactly 3.
                if (grouped && group_len != 3) || group_len == 0 || group_len > 3 {
                    return None;
                }
                grouped = true;
                group_len = 0;
            }
            _ => break,
        }
        i += 1;
    }
    if grouped && group_len != 3 {
        return None;
    }
    let int_part = &text[int_start..i];
    let mut fraction_digits = 0;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            fraction_digits += 1;
            i += 1;
        }
    }
    if digits + fraction_digits == 0 {
        return None;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exponent_start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exponent_start {
            return None;
        }
    }
    if i != bytes.len() {
        return None;
    }
    let plain: String = if int_part.contains(',') {
        text.replace(',', "")
    } else {
        text.to_owned()
    };
    let number: f64 = plain.parse().ok()?;
    number.is_finite().then_some(number)
}

/// The epoch of Sheets' date serial numbers.
fn serial_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default()
}

/// `YYYY-MM-DD` (month and day may have one digit) → the date's serial number.
fn parse_iso_date(text: &str) -> Option<i32> {
    let mut parts = text.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || year.len() != 4
        || !(1..=2).contains(&month.len())
        || !(1..=2).contains(&day.len())
        || ![year, month, day]
            .iter()
            .all(|part| part.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)?;
    i32::try_from((date - serial_epoch()).num_days()).ok()
}

fn date_of_serial(serial: i32) -> NaiveDate {
    serial_epoch() + chrono::Duration::days(i64::from(serial))
}

/// A number in the Automatic format, approximately as Sheets shows it: at most 15 significant
/// digits, no trailing zeros, plain notation between 1e-9 and 1e15 and otherwise `1.23457E+16`.
pub(crate) fn format_general(number: f64) -> String {
    if number == 0.0 {
        return "0".to_owned();
    }
    let (negative, digits, exponent) = decompose(number, 15);
    let sign = if negative { "-" } else { "" };
    if !(-9..15).contains(&exponent) {
        let (_, short, short_exponent) = decompose(number, 6);
        let mantissa = if short.len() > 1 {
            format!("{}.{}", &short[..1], &short[1..])
        } else {
            short
        };
        let exp_sign = if short_exponent < 0 { '-' } else { '+' };
        return format!("{sign}{mantissa}E{exp_sign}{:02}", short_exponent.abs());
    }
    let point = exponent + 1; // digits before the decimal point
    let text = if point <= 0 {
        let zeros = "0".repeat(usize::try_from(-point).unwrap_or(0));
        format!("0.{zeros}{digits}")
    } else {
        let point = usize::try_from(point).unwrap_or(0);
        if digits.len() <= point {
            format!("{digits}{}", "0".repeat(point - digits.len()))
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    };
    format!("{sign}{text}")
}

/// `number` rounded to `significant` digits: (negative, digits without trailing zeros, decimal
/// exponent of the first digit).
fn decompose(number: f64, significant: usize) -> (bool, String, i32) {
    let text = format!("{:.*e}", significant.saturating_sub(1), number.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    (number < 0.0, digits.to_owned(), exponent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formatted(cell: &Cell) -> String {
        match cell.render(Render::default()) {
            Rendered::Text(text) => text.into_owned(),
            other => panic!("formatted reads give text, got {other:?}"),
        }
    }

    fn unformatted(cell: &Cell) -> serde_json::Value {
        serde_json::to_value(cell.render(Render {
            value: ValueRender::Unformatted,
            date_time: DateTimeRender::SerialNumber,
        }))
        .unwrap()
    }

    #[test]
    fn cells_stay_at_24_bytes() {
        assert_eq!(std::mem::size_of::<Cell>(), 24);
    }

    #[test]
    fn short_and_long_texts_round_trip() {
        for text in [
            "a",
            "exactly twenty-two by",
            "a much longer text that does not fit inline",
            "Café ☕",
        ] {
            assert_eq!(Cell::text(text).as_text(), Some(text));
        }
        assert_eq!(Cell::text(""), Cell::Empty);
    }

    #[test]
    fn raw_keeps_strings_verbatim() {
        for text in [
            "5339.5",
            "'quoted",
            "=SUM(A1:A2)",
            "TRUE",
            "2025-06-01",
            "007",
        ] {
            let cell = Input::Text(text.to_owned())
                .to_cell(InputOption::Raw)
                .unwrap();
            assert_eq!(cell.value(), CellValue::String(text.to_owned()));
        }
        assert_eq!(Input::Skip.to_cell(InputOption::Raw), None);
        assert_eq!(
            Input::Number(1.5).to_cell(InputOption::Raw),
            Some(Cell::Number(1.5))
        );
    }

    #[test]
    fn user_entered_parses_like_the_ui() {
        let parse = |text: &str| user_entered(text).value();
        assert_eq!(parse("5339.5"), CellValue::Number(5339.5));
        assert_eq!(parse(" -12 "), CellValue::Number(-12.0));
        assert_eq!(parse("1,234.5"), CellValue::Number(1234.5));
        assert_eq!(parse("1.5e3"), CellValue::Number(1500.0));
        assert_eq!(parse(".25"), CellValue::Number(0.25));
        assert_eq!(parse("007"), CellValue::Number(7.0));
        assert_eq!(parse("true"), CellValue::Bool(true));
        assert_eq!(parse("FALSE"), CellValue::Bool(false));
        assert_eq!(
            parse("2025-06-01"),
            CellValue::Date(NaiveDate::from_ymd_opt(2025, 6, 1).unwrap())
        );
        assert_eq!(parse("'007"), CellValue::String("007".into()));
        assert_eq!(parse("'"), CellValue::Empty);
        for text in [
            "12,34",
            "1,2345",
            "1e",
            "--1",
            "abc",
            "12%",
            "$5",
            "2025-13-01",
            "=1+1",
            "NaN",
            "inf",
            "1e999",
        ] {
            assert_eq!(parse(text), CellValue::String(text.to_owned()), "{text}");
        }
    }

    #[test]
    fn decimals_of_up_to_15_digits_read_back_exactly() {
        for text in [
            "5339.5",
            "0.1",
            "123456789.123456",
            "0.000123",
            "99999999999999.9",
            "-0.07",
        ] {
            let number: f64 = text.parse().unwrap();
            assert_eq!(format_general(number), text);
            assert_eq!(CellValue::Number(number).to_string(), text);
        }
        assert_eq!(format_general(0.1 + 0.2), "0.3");
        assert_eq!(format_general(45809.0), "45809");
    }

    #[test]
    fn huge_and_tiny_numbers_use_exponent_form() {
        assert_eq!(format_general(120_212_345_678_901_234.0), "1.20212E+17");
        assert_eq!(format_general(1e15), "1E+15");
        assert_eq!(format_general(-2.5e-12), "-2.5E-12");
    }

    #[test]
    fn reads_render_each_type_in_both_modes() {
        assert_eq!(formatted(&Cell::Number(1234.5)), "1234.5");
        assert_eq!(
            unformatted(&Cell::Number(1234.5)),
            serde_json::json!(1234.5)
        );
        assert_eq!(unformatted(&Cell::Number(42.0)).to_string(), "42");
        assert_eq!(formatted(&Cell::Bool(true)), "TRUE");
        assert_eq!(unformatted(&Cell::Bool(false)), serde_json::json!(false));
        assert_eq!(formatted(&Cell::text("x")), "x");
        assert_eq!(unformatted(&Cell::text("x")), serde_json::json!("x"));
        let date = user_entered("2025-06-01");
        assert_eq!(formatted(&date), "2025-06-01");
        assert_eq!(unformatted(&date), serde_json::json!(45809));
        let as_string = date.render(Render {
            value: ValueRender::Unformatted,
            date_time: DateTimeRender::FormattedString,
        });
        assert_eq!(as_string, Rendered::Text(Cow::Borrowed("2025-06-01")));
    }

    #[test]
    fn input_values_deserialize_from_any_json_scalar() {
        let values: Vec<Input> =
            serde_json::from_str(r#"["a", 1, 2.5, -3, true, null, [1], {"a": 1}]"#).unwrap();
        assert_eq!(
            values,
            vec![
                Input::Text("a".into()),
                Input::Number(1.0),
                Input::Number(2.5),
                Input::Number(-3.0),
                Input::Bool(true),
                Input::Skip,
                Input::Invalid("list_value"),
                Input::Invalid("struct_value"),
            ]
        );
    }
}
