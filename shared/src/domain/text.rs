//! Text that people and platforms hand adsync, checked by one rule wherever it enters: names,
//! tokens, calendar days and instants. Parsing returns the checked value, so a route holding a
//! [`Name`] cannot store an unchecked one.
//!
//! PostgreSQL `text` cannot hold U+0000, so every input rule here refuses it (with the other
//! control characters), and [`storable`] replaces it in text that comes from a platform and
//! must be stored anyway (report rows, error messages).

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::InvalidField;

/// The most characters a name may have (tenants, API keys, connections, accounts,
/// destinations).
pub const NAME_MAX_CHARS: usize = 200;

/// The most bytes a token may have (access and refresh tokens).
pub const TOKEN_MAX_BYTES: usize = 8192;

/// What replaces U+0000 in text read from a platform: U+FFFD REPLACEMENT CHARACTER, which
/// marks a character that could not be kept.
pub const NUL_REPLACEMENT: char = '\u{FFFD}';

/// A human-readable name: surrounding spaces and invisible characters removed, then 1 to
/// `max` characters on one line, no control characters, and at least one visible character
/// (a name of zero-width spaces is blank).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    /// A name of at most [`NAME_MAX_CHARS`] characters; `field` names it in the error.
    pub fn parse(field: &str, raw: &str) -> Result<Self, InvalidField> {
        Self::parse_max(field, raw, NAME_MAX_CHARS)
    }

    /// A name of at most `max` characters.
    pub fn parse_max(field: &str, raw: &str, max: usize) -> Result<Self, InvalidField> {
        let rule = || {
            format!(
                "must be 1 to {max} characters on one line, not blank, without control characters"
            )
        };
        if let Some(bad) = raw.chars().find(|c| c.is_control() || is_line_break(*c)) {
            return Err(InvalidField::new(
                field,
                format!("{} (found {})", rule(), describe(bad)),
            ));
        }
        let trimmed = raw.trim_matches(|c: char| c.is_whitespace() || is_invisible(c));
        let length = trimmed.chars().count();
        if length == 0 || length > max {
            return Err(InvalidField::new(field, rule()));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// An opaque credential adsync sends back to a platform (in a header, a query or a form):
/// 1 to `max` bytes of visible ASCII, no spaces or control characters. Platforms issue tokens
/// in this alphabet; anything else could not be put in a request.
pub fn check_token(field: &str, raw: &str, max: usize) -> Result<(), InvalidField> {
    if raw.is_empty() || raw.len() > max || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(InvalidField::new(
            field,
            format!(
                "must be 1 to {max} visible ASCII characters (letters, digits, punctuation), without spaces or control characters"
            ),
        ));
    }
    Ok(())
}

/// A calendar day written `YYYY-MM-DD` (four-digit year, two-digit month and day), the one
/// date format of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "NaiveDate")]
pub struct Day(NaiveDate);

impl Day {
    pub fn parse(field: &str, raw: &str) -> Result<Self, InvalidField> {
        parse_day(raw)
            .map(Self)
            .ok_or_else(|| InvalidField::new(field, DAY_RULE))
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }
}

const DAY_RULE: &str = "must be a date written YYYY-MM-DD, such as 2026-01-31";

fn parse_day(raw: &str) -> Option<NaiveDate> {
    let shape = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    shape
        .then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
        .flatten()
}

impl TryFrom<String> for Day {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        parse_day(&raw)
            .map(Self)
            .ok_or_else(|| format!("{raw:?} {DAY_RULE}"))
    }
}

impl From<Day> for NaiveDate {
    fn from(day: Day) -> Self {
        day.0
    }
}

/// An instant written in RFC 3339 with a four-digit year (`2026-01-31T00:00:00Z`,
/// `2026-01-31T09:30:00+02:00`), the one timestamp format of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "DateTime<Utc>")]
pub struct Timestamp(DateTime<Utc>);

const TIMESTAMP_RULE: &str =
    "must be an RFC 3339 timestamp with a time zone, such as 2026-01-31T00:00:00Z";

fn parse_timestamp(raw: &str) -> Option<DateTime<Utc>> {
    // RFC 3339 itself: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`; chrono also takes a space or a
    // lowercase `t` for the `T`, which the API does not.
    let shaped = raw.as_bytes().get(10) == Some(&b'T') && parse_day(raw.get(..10)?).is_some();
    shaped
        .then(|| DateTime::parse_from_rfc3339(raw).ok())
        .flatten()
        .map(|time| time.with_timezone(&Utc))
}

impl Timestamp {
    pub fn parse(field: &str, raw: &str) -> Result<Self, InvalidField> {
        parse_timestamp(raw)
            .map(Self)
            .ok_or_else(|| InvalidField::new(field, TIMESTAMP_RULE))
    }

    pub fn instant(self) -> DateTime<Utc> {
        self.0
    }
}

impl TryFrom<String> for Timestamp {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        parse_timestamp(&raw)
            .map(Self)
            .ok_or_else(|| format!("{raw:?} {TIMESTAMP_RULE}"))
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(timestamp: Timestamp) -> Self {
        timestamp.0
    }
}

/// Text from outside adsync (a platform's report rows, an error message) made storable in
/// PostgreSQL `text`: each U+0000 is replaced by [`NUL_REPLACEMENT`]; everything else is kept.
/// Borrows when there is nothing to replace.
pub fn storable(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', &NUL_REPLACEMENT.to_string()))
    } else {
        Cow::Borrowed(text)
    }
}

/// Replaces U+0000 in `text` in place, as [`storable`] does.
pub fn make_storable(text: &mut String) {
    if text.contains('\0') {
        *text = text.replace('\0', &NUL_REPLACEMENT.to_string());
    }
}

/// Line and paragraph separators: whitespace that breaks a line.
fn is_line_break(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

/// Characters that show nothing: Unicode's default-ignorable code points (zero-width spaces
/// and joiners, direction marks, variation selectors, the byte order mark, Hangul fillers,
/// tags) and the blank Braille pattern.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// A character for an error message, as its code point (it may not show).
fn describe(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_refused_when_blank_long_or_with_control_characters() {
        assert_eq!(
            Name::parse("name", "  Acme GmbH\u{200B} ")
                .unwrap()
                .as_str(),
            "Acme GmbH"
        );
        assert_eq!(
            Name::parse("name", "Café · ☕").unwrap().as_str(),
            "Café · ☕"
        );
        assert_eq!(
            Name::parse("name", "👨\u{200D}👩\u{200D}👧")
                .unwrap()
                .as_str(),
            "👨\u{200D}👩\u{200D}👧",
            "a joiner inside a name is kept"
        );
        let exactly = "x".repeat(NAME_MAX_CHARS);
        assert!(Name::parse("name", &exactly).is_ok());
        for bad in [
            String::new(),
            "   ".into(),
            "\u{200B}\u{200B}\u{200B}".into(),
            "\u{FEFF}\u{2060} \u{3164}\u{2800}".into(),
            "a\u{0}b".into(),
            "a\u{1}b".into(),
            "line\nbreak".into(),
            "tab\there".into(),
            "a\u{2028}b".into(),
            "a\u{85}b".into(),
            "x".repeat(NAME_MAX_CHARS + 1),
        ] {
            let error = Name::parse("name", &bad).unwrap_err();
            assert_eq!(error.field, "name", "{bad:?}");
        }
        assert!(
            Name::parse("name", "a\u{0}b")
                .unwrap_err()
                .message
                .contains("U+0000")
        );
        assert!(Name::parse_max("settings.tab", &"x".repeat(101), 100).is_err());
    }

    #[test]
    fn tokens_are_visible_ascii() {
        assert!(check_token("access_token", "EAAB.x-y_z~+/=", TOKEN_MAX_BYTES).is_ok());
        for bad in [
            "",
            "EAAB\u{1}x",
            "EAAB\u{0}x",
            "has space",
            "tab\t",
            "é",
            "\u{7f}",
        ] {
            assert_eq!(
                check_token("access_token", bad, TOKEN_MAX_BYTES)
                    .unwrap_err()
                    .field,
                "access_token",
                "{bad:?}"
            );
        }
        assert!(check_token("code", &"a".repeat(11), 10).is_err());
    }

    #[test]
    fn days_are_written_yyyy_mm_dd_only() {
        assert_eq!(
            Day::parse("from", "2026-01-31").unwrap().date(),
            NaiveDate::from_ymd_opt(2026, 1, 31).unwrap()
        );
        for bad in [
            "2026-1-1",
            "2026-01-1",
            "26-01-01",
            "+2026-01-01",
            "2026-02-30",
            "2026/01/01",
            "2026-01-01T00:00:00Z",
            " 2026-01-01",
            "",
        ] {
            assert_eq!(Day::parse("from", bad).unwrap_err().field, "from", "{bad}");
            let json = serde_json::to_string(bad).unwrap();
            assert!(serde_json::from_str::<Day>(&json).is_err(), "{bad}");
        }
        let day: Day = serde_json::from_str("\"2026-03-01\"").unwrap();
        assert_eq!(serde_json::to_string(&day).unwrap(), "\"2026-03-01\"");
    }

    #[test]
    fn timestamps_are_rfc_3339_with_a_four_digit_year() {
        let at = Timestamp::parse("at", "2026-01-31T09:30:00+02:00").unwrap();
        assert_eq!(at.instant().to_rfc3339(), "2026-01-31T07:30:00+00:00");
        assert!(Timestamp::parse("at", "2026-01-31T00:00:00.123456Z").is_ok());
        for bad in [
            "2026-1-31T00:00:00Z",
            "2026-01-31 00:00:00Z",
            "2026-01-31t00:00:00Z",
            "2026-01-31T00:00:00",
            "+202026-01-31T00:00:00Z",
            "-200000-01-01T00:00:00Z",
            "tomorrow",
        ] {
            assert!(Timestamp::parse("at", bad).is_err(), "{bad}");
            let json = serde_json::to_string(bad).unwrap();
            assert!(serde_json::from_str::<Timestamp>(&json).is_err(), "{bad}");
        }
    }

    #[test]
    fn storable_text_has_no_nul_and_keeps_everything_else() {
        assert!(matches!(storable("Campaign 1"), Cow::Borrowed(_)));
        assert_eq!(storable("Cam\u{0}paign\u{1}"), "Cam\u{FFFD}paign\u{1}");
        let mut text = String::from("\u{0}\u{0}");
        make_storable(&mut text);
        assert_eq!(text, "\u{FFFD}\u{FFFD}");
    }
}
