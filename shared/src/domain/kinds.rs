//! The closed sets of connectors (platforms we read) and destinations (where rows go).
//!
//! Each has one snake_case name used everywhere: code, config, database, metrics, routes, queues.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::InvalidField;

/// A platform adsync reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    MetaAds,
    GoogleAds,
    TiktokAds,
    SnapchatAds,
    Appsflyer,
}

impl ConnectorKind {
    /// Every connector, in a stable order (queues are declared for each).
    pub const ALL: [ConnectorKind; 5] = [
        ConnectorKind::MetaAds,
        ConnectorKind::GoogleAds,
        ConnectorKind::TiktokAds,
        ConnectorKind::SnapchatAds,
        ConnectorKind::Appsflyer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorKind::MetaAds => "meta_ads",
            ConnectorKind::GoogleAds => "google_ads",
            ConnectorKind::TiktokAds => "tiktok_ads",
            ConnectorKind::SnapchatAds => "snapchat_ads",
            ConnectorKind::Appsflyer => "appsflyer",
        }
    }
}

impl ConnectorKind {
    /// Checks a platform account id and returns it in the form the platform's API uses in
    /// paths. Meta ad account ids are digits; the `act_` prefix people copy from Ads Manager
    /// is accepted and removed.
    pub fn parse_account_id(self, raw: &str) -> Result<String, InvalidField> {
        let invalid = |why: &str| InvalidField::new("external_id", format!("{raw:?} {why}"));
        match self {
            ConnectorKind::MetaAds => {
                let digits = raw.strip_prefix("act_").unwrap_or(raw);
                if digits.is_empty()
                    || digits.len() > 20
                    || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(invalid(
                        "is not a Meta ad account id (digits, optionally after \"act_\")",
                    ));
                }
                Ok(digits.to_string())
            }
            ConnectorKind::GoogleAds
            | ConnectorKind::TiktokAds
            | ConnectorKind::SnapchatAds
            | ConnectorKind::Appsflyer => {
                if raw.is_empty()
                    || raw.len() > 64
                    || !raw
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                {
                    return Err(invalid("must be 1 to 64 letters, digits, '-', '_' or '.'"));
                }
                Ok(raw.to_string())
            }
        }
    }
}

impl ConnectorKind {
    /// Checks a connection's platform settings and returns them in canonical form. Google Ads
    /// takes an optional `login_customer_id` (the manager account's 10-digit id, no hyphens);
    /// the other platforms take none.
    pub fn parse_connection_settings(
        self,
        settings: &serde_json::Value,
    ) -> Result<serde_json::Value, InvalidField> {
        let object = settings
            .as_object()
            .ok_or_else(|| InvalidField::new("settings", "must be a JSON object"))?;
        let allowed: &[&str] = match self {
            ConnectorKind::GoogleAds => &["login_customer_id"],
            ConnectorKind::MetaAds
            | ConnectorKind::TiktokAds
            | ConnectorKind::SnapchatAds
            | ConnectorKind::Appsflyer => &[],
        };
        for (key, value) in object {
            if !allowed.contains(&key.as_str()) {
                return Err(InvalidField::new(
                    format!("settings.{key}"),
                    format!("{self} connections have no setting {key:?}"),
                ));
            }
            let valid = value
                .as_str()
                .is_some_and(|id| id.len() == 10 && id.bytes().all(|b| b.is_ascii_digit()));
            if !valid {
                return Err(InvalidField::new(
                    format!("settings.{key}"),
                    "must be a 10-digit customer id without hyphens",
                ));
            }
        }
        Ok(settings.clone())
    }
}

impl fmt::Display for ConnectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConnectorKind {
    type Err = InvalidField;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| {
                InvalidField::new(
                    "connector",
                    format!("unknown connector {s:?}; expected one of meta_ads, google_ads, tiktok_ads, snapchat_ads, appsflyer"),
                )
            })
    }
}

/// A place rows are written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationKind {
    Warehouse,
    GoogleSheets,
}

impl DestinationKind {
    pub const ALL: [DestinationKind; 2] =
        [DestinationKind::Warehouse, DestinationKind::GoogleSheets];

    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::Warehouse => "warehouse",
            DestinationKind::GoogleSheets => "google_sheets",
        }
    }
}

impl fmt::Display for DestinationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DestinationKind {
    type Err = InvalidField;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| {
                InvalidField::new(
                    "kind",
                    format!("unknown destination kind {s:?}; expected warehouse or google_sheets"),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_names_round_trip_through_text_and_json() {
        for kind in ConnectorKind::ALL {
            assert_eq!(kind.as_str().parse::<ConnectorKind>().unwrap(), kind);
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        for kind in DestinationKind::ALL {
            assert_eq!(kind.as_str().parse::<DestinationKind>().unwrap(), kind);
        }
    }

    #[test]
    fn meta_account_ids_are_digits_with_an_optional_act_prefix() {
        let meta = ConnectorKind::MetaAds;
        assert_eq!(meta.parse_account_id("act_123").unwrap(), "123");
        assert_eq!(meta.parse_account_id("123").unwrap(), "123");
        for bad in ["", "act_", "12a", "act_-1", "1 2"] {
            assert_eq!(
                meta.parse_account_id(bad).unwrap_err().field,
                "external_id",
                "{bad}"
            );
        }
    }

    #[test]
    fn connection_settings_are_checked_per_platform() {
        let google = ConnectorKind::GoogleAds;
        let ok = serde_json::json!({"login_customer_id": "1234567890"});
        assert_eq!(google.parse_connection_settings(&ok).unwrap(), ok);
        let hyphens = serde_json::json!({"login_customer_id": "123-456-7890"});
        assert_eq!(
            google
                .parse_connection_settings(&hyphens)
                .unwrap_err()
                .field,
            "settings.login_customer_id"
        );
        let error = ConnectorKind::MetaAds
            .parse_connection_settings(&ok)
            .unwrap_err();
        assert_eq!(error.field, "settings.login_customer_id");
        assert!(
            ConnectorKind::MetaAds
                .parse_connection_settings(&serde_json::json!([]))
                .is_err()
        );
    }

    #[test]
    fn unknown_connector_names_the_field_and_the_value() {
        let error = "facebook".parse::<ConnectorKind>().unwrap_err();
        assert_eq!(error.field, "connector");
        assert!(error.message.contains("facebook"));
    }
}
