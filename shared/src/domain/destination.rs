//! Destinations by kind: the one place each kind's settings and credentials are parsed and
//! checked ([`DestinationSettings::parse`], [`DestinationKind::parse_credentials`]), used by the
//! api when a destination is created and by the worker before it writes to one. Credentials
//! (OAuth tokens, a database URL with its password) are not settings: they are sealed apart
//! (`db::destinations::Credentials`) and never shown.
//!
//! The database stores a kind as text without a list of kinds, so a new kind is this module, a
//! variant of [`DestinationKind`] and the worker's writer: no migration.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::text::{Name, TOKEN_MAX_BYTES, check_token};
use super::{DestinationKind, InvalidField};
use crate::db::connections::OAuthTokens;
use crate::db::destinations::Credentials;

/// A destination's settings, parsed and checked for its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestinationSettings {
    Warehouse(WarehouseSettings),
    GoogleSheets(SheetsSettings),
}

impl DestinationSettings {
    /// Parses and checks `settings` for `kind`; the error names the field at fault
    /// (`settings.<path>`).
    pub fn parse(kind: DestinationKind, settings: serde_json::Value) -> Result<Self, InvalidField> {
        match kind {
            DestinationKind::Warehouse => Ok(Self::Warehouse(
                parse_settings::<WarehouseSettings>(settings)?.validate()?,
            )),
            DestinationKind::GoogleSheets => Ok(Self::GoogleSheets(
                parse_settings::<SheetsSettings>(settings)?.validate()?,
            )),
        }
    }

    pub fn kind(&self) -> DestinationKind {
        match self {
            Self::Warehouse(_) => DestinationKind::Warehouse,
            Self::GoogleSheets(_) => DestinationKind::GoogleSheets,
        }
    }

    /// The settings in canonical form, as stored.
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            Self::Warehouse(settings) => serde_json::to_value(settings),
            Self::GoogleSheets(settings) => serde_json::to_value(settings),
        };
        match value {
            Ok(value) => value,
            Err(_) => unreachable!("settings are plain strings"),
        }
    }
}

fn parse_settings<T: serde::de::DeserializeOwned>(
    settings: serde_json::Value,
) -> Result<T, InvalidField> {
    // serde's derived structs also take an array of their fields in order, which no one means.
    if !settings.is_object() {
        return Err(InvalidField::new(
            "settings",
            format!(
                "invalid type: {}, expected a JSON object",
                json_type(&settings)
            ),
        ));
    }
    serde_path_to_error::deserialize(settings).map_err(|error| {
        let path = error.path().to_string();
        let mut field = if path == "." {
            "settings".to_owned()
        } else {
            format!("settings.{path}")
        };
        let message = error.inner().to_string();
        // The path of an unknown field names it; a missing one only its parent.
        if let Some(name) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name)
        {
            field = format!("{field}.{name}");
        }
        InvalidField::new(field, message)
    })
}

/// What a JSON value is, as serde names it in errors.
fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "sequence",
        serde_json::Value::Object(_) => "map",
    }
}

/// Credentials as a caller posts them, before they are checked against the kind. Not `Debug`:
/// they are secrets.
#[derive(Default)]
pub struct RawCredentials {
    pub url: Option<String>,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
}

/// Checked credentials, with the access token's expiry when they are OAuth tokens.
pub type PostedCredentials = (Credentials, Option<DateTime<Utc>>);

impl DestinationKind {
    /// Checks a kind's credentials: what it needs, nothing it does not. A message never repeats
    /// a credential.
    pub fn parse_credentials(
        self,
        credentials: Option<RawCredentials>,
    ) -> Result<Option<PostedCredentials>, InvalidField> {
        let refuse = |field: &str, message: &str| {
            Err(InvalidField::new(
                format!("credentials.{field}"),
                message.to_owned(),
            ))
        };
        match (self, credentials) {
            (DestinationKind::Warehouse, None) => Ok(None),
            (DestinationKind::Warehouse, Some(body)) => {
                if body.access_token.is_some()
                    || body.refresh_token.is_some()
                    || body.access_token_expires_at.is_some()
                {
                    return refuse("access_token", "a warehouse takes only a url");
                }
                let Some(url) = body.url.filter(|url| !url.trim().is_empty()) else {
                    return refuse("url", "is required: the PostgreSQL URL of the warehouse");
                };
                // The URL holds a password: the message must not repeat it.
                if !url.starts_with("postgres://") && !url.starts_with("postgresql://")
                    || url.len() > URL_MAX_BYTES
                    || !url.bytes().all(|b| b.is_ascii_graphic())
                    || url.parse::<tokio_postgres::Config>().is_err()
                {
                    return refuse(
                        "url",
                        "is not a PostgreSQL URL (postgres://user:password@host:port/database, at most 2000 visible ASCII characters, percent-encoded)",
                    );
                }
                Ok(Some((Credentials::DatabaseUrl(url), None)))
            }
            (DestinationKind::GoogleSheets, None) => Err(InvalidField::new(
                "credentials",
                "a google_sheets destination needs the Google account's OAuth tokens",
            )),
            (DestinationKind::GoogleSheets, Some(body)) => {
                if body.url.is_some() {
                    return refuse("url", "a google_sheets destination takes OAuth tokens");
                }
                let Some(access_token) = body.access_token else {
                    return refuse("access_token", "is required");
                };
                check_token("credentials.access_token", &access_token, TOKEN_MAX_BYTES)?;
                if let Some(refresh) = &body.refresh_token {
                    check_token("credentials.refresh_token", refresh, TOKEN_MAX_BYTES)?;
                }
                Ok(Some((
                    Credentials::OAuth(OAuthTokens {
                        access_token,
                        refresh_token: body.refresh_token,
                    }),
                    body.access_token_expires_at,
                )))
            }
        }
    }

    /// Whether a destination of this kind receives the rows of one sync only (a spreadsheet
    /// tab holds one table).
    pub fn takes_one_sync(self) -> bool {
        match self {
            DestinationKind::Warehouse => false,
            DestinationKind::GoogleSheets => true,
        }
    }
}

/// The longest tab title Google Sheets takes.
pub const TAB_MAX_CHARS: usize = 100;

/// The longest warehouse URL taken.
pub const URL_MAX_BYTES: usize = 2000;

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
    fn settings_parse_by_kind_to_canonical_form_and_name_the_field_at_fault() {
        let sheets = DestinationSettings::parse(
            DestinationKind::GoogleSheets,
            serde_json::json!({"spreadsheet_id": "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms", "tab": " t "}),
        )
        .unwrap();
        assert_eq!(sheets.kind(), DestinationKind::GoogleSheets);
        assert_eq!(sheets.to_json()["tab"], "t");
        let warehouse =
            DestinationSettings::parse(DestinationKind::Warehouse, serde_json::json!({})).unwrap();
        assert_eq!(
            warehouse.to_json(),
            serde_json::json!({"schema": "warehouse"})
        );
        for (kind, settings, field) in [
            (
                DestinationKind::GoogleSheets,
                serde_json::json!({"tab": "t"}),
                "settings.spreadsheet_id",
            ),
            (
                DestinationKind::Warehouse,
                serde_json::json!({"schema": 3}),
                "settings.schema",
            ),
            (
                DestinationKind::Warehouse,
                serde_json::json!({"schma": "w"}),
                "settings.schma",
            ),
            (
                DestinationKind::Warehouse,
                serde_json::json!(["warehouse"]),
                "settings",
            ),
        ] {
            let error = DestinationSettings::parse(kind, settings).unwrap_err();
            assert_eq!(error.field, field, "{error}");
        }
    }

    #[test]
    fn credentials_are_what_the_kind_needs_and_errors_never_repeat_them() {
        let warehouse = DestinationKind::Warehouse;
        assert!(warehouse.parse_credentials(None).unwrap().is_none());
        let url = RawCredentials {
            url: Some("postgres://u:hunter2@db.example/w".into()),
            ..RawCredentials::default()
        };
        assert!(warehouse.parse_credentials(Some(url)).unwrap().is_some());
        let bad = RawCredentials {
            url: Some("mysql://u:hunter2@db.example/w".into()),
            ..RawCredentials::default()
        };
        let error = warehouse.parse_credentials(Some(bad)).unwrap_err();
        assert_eq!(error.field, "credentials.url");
        assert!(!error.to_string().contains("hunter2"), "{error}");
        let sheets = DestinationKind::GoogleSheets;
        assert_eq!(
            sheets.parse_credentials(None).unwrap_err().field,
            "credentials"
        );
        let tokens = RawCredentials {
            access_token: Some("ya29.x".into()),
            ..RawCredentials::default()
        };
        assert!(sheets.parse_credentials(Some(tokens)).unwrap().is_some());
        assert!(sheets.takes_one_sync() && !warehouse.takes_one_sync());
    }

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
