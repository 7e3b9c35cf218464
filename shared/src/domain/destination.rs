//! Destination settings, validated when a destination is created. Credentials (OAuth tokens, a
//! database URL with its password) are not settings: they are sealed apart
//! (`db::destinations::Credentials`) and never shown.

use serde::{Deserialize, Serialize};

use super::InvalidField;
use super::text::Name;

/// The longest tab title Google Sheets takes.
pub const TAB_MAX_CHARS: usize = 100;

/// Where the warehouse destination writes: a schema in adsync's own database, or in the
/// database whose URL the destination's credentials hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarehouseSettings {
    #[serde(default = "WarehouseSettings::default_schema")]
    pub schema: String,
}

impl WarehouseSettings {
    fn default_schema() -> String {
        "warehouse".to_string()
    }

    pub fn validate(self) -> Result<Self, InvalidField> {
        if !is_sql_identifier(&self.schema) {
            return Err(InvalidField::new(
                "settings.schema",
                format!(
                    "{:?} must be 1 to 63 lowercase letters, digits or '_', starting with a letter or '_'",
                    self.schema
                ),
            ));
        }
        Ok(self)
    }
}

/// Where a google_sheets destination writes: one tab of one spreadsheet, which receives the rows
/// of one sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SheetsSettings {
    /// The id in the spreadsheet's URL, `https://docs.google.com/spreadsheets/d/<id>/edit`.
    pub spreadsheet_id: String,
    /// The tab's title; created if missing.
    pub tab: String,
}

impl SheetsSettings {
    pub fn validate(self) -> Result<Self, InvalidField> {
        let id = &self.spreadsheet_id;
        if id.len() < 10
            || id.len() > 100
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(InvalidField::new(
                "settings.spreadsheet_id",
                format!(
                    "{id:?} is not a spreadsheet id (10 to 100 letters, digits, '-' or '_', as in the sheet's URL)"
                ),
            ));
        }
        let tab = Name::parse_max("settings.tab", &self.tab, TAB_MAX_CHARS)?;
        if let Some(bad) = tab.as_str().chars().find(|c| "[]*?/\\:".contains(*c)) {
            return Err(InvalidField::new(
                "settings.tab",
                format!("Google Sheets does not allow {bad:?} in a tab title"),
            ));
        }
        Ok(Self {
            spreadsheet_id: self.spreadsheet_id,
            tab: tab.into_string(),
        })
    }
}

/// A plain lowercase SQL identifier that needs no quoting.
pub fn is_sql_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_settings_name_the_field_at_fault() {
        let ok = SheetsSettings {
            spreadsheet_id: "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms".into(),
            tab: "  Meta – daily ".into(),
        }
        .validate()
        .unwrap();
        assert_eq!(ok.tab, "Meta – daily");
        for (id, tab, field) in [
            ("short", "x", "settings.spreadsheet_id"),
            ("1BxiMVs0XRA5nFMd/Kv", "x", "settings.spreadsheet_id"),
            ("1BxiMVs0XRA5nFMdKv", " ", "settings.tab"),
            ("1BxiMVs0XRA5nFMdKv", "\u{200B}", "settings.tab"),
            ("1BxiMVs0XRA5nFMdKv", "a\u{0}b", "settings.tab"),
            ("1BxiMVs0XRA5nFMdKv", "a/b", "settings.tab"),
            ("1BxiMVs0XRA5nFMdKv", &"x".repeat(101), "settings.tab"),
        ] {
            let error = SheetsSettings {
                spreadsheet_id: id.into(),
                tab: tab.into(),
            }
            .validate()
            .unwrap_err();
            assert_eq!(error.field, field, "{id} {tab}");
        }
    }

    #[test]
    fn schema_names_must_be_plain_identifiers() {
        for good in ["warehouse", "_w", "ads_2026"] {
            assert!(
                WarehouseSettings {
                    schema: good.into()
                }
                .validate()
                .is_ok(),
                "{good}"
            );
        }
        for bad in ["", "Warehouse", "2w", "a-b", "a;drop", &"x".repeat(64)] {
            let error = WarehouseSettings { schema: bad.into() }
                .validate()
                .unwrap_err();
            assert_eq!(error.field, "settings.schema", "{bad}");
        }
    }
}
