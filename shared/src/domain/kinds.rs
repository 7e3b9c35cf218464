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
    /// paths: Meta ad account digits (the `act_` prefix people copy from Ads Manager is
    /// removed), Google Ads 10-digit customer ids (hyphens as the UI shows them are removed),
    /// TikTok advertiser digits, Snapchat ad account UUIDs (lower-cased), AppsFlyer app ids
    /// (`id` + digits for iOS, a package name for Android).
    pub fn parse_account_id(self, raw: &str) -> Result<String, InvalidField> {
        let invalid = |why: &str| InvalidField::new("external_id", format!("{raw:?} {why}"));
        let digits = |text: &str, min: usize, max: usize| {
            (min..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
        };
        match self {
            ConnectorKind::MetaAds => {
                let id = raw.strip_prefix("act_").unwrap_or(raw);
                if !digits(id, 1, 20) {
                    return Err(invalid(
                        "is not a Meta ad account id (digits, optionally after \"act_\")",
                    ));
                }
                Ok(id.to_string())
            }
            ConnectorKind::GoogleAds => {
                let id = raw.replace('-', "");
                if !digits(&id, 10, 10) {
                    return Err(invalid(
                        "is not a Google Ads customer id (10 digits, e.g. 123-456-7890)",
                    ));
                }
                Ok(id)
            }
            ConnectorKind::TiktokAds => {
                if !digits(raw, 1, 20) {
                    return Err(invalid("is not a TikTok advertiser id (digits)"));
                }
                Ok(raw.to_string())
            }
            ConnectorKind::SnapchatAds => {
                let id = raw.to_ascii_lowercase();
                if uuid::Uuid::try_parse(&id).map(|parsed| parsed.hyphenated().to_string())
                    != Ok(id.clone())
                {
                    return Err(invalid(
                        "is not a Snapchat ad account id (a UUID such as 8b1e2c3d-4f5a-4b6c-9d7e-0f1a2b3c4d5e)",
                    ));
                }
                Ok(id)
            }
            ConnectorKind::Appsflyer => {
                let ios = raw
                    .strip_prefix("id")
                    .is_some_and(|rest| digits(rest, 1, 15));
                let android = raw.split('.').count() >= 2
                    && raw.split('.').all(|part| {
                        part.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                            && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    });
                if !(ios || android) || raw.len() > 100 {
                    return Err(invalid(
                        "is not an AppsFlyer app id (\"id\" and digits for iOS, a package name such as com.example.app for Android)",
                    ));
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
    fn every_platform_checks_and_normalises_its_own_account_ids() {
        use ConnectorKind::*;
        for (kind, raw, normalised) in [
            (GoogleAds, "123-456-7890", "1234567890"),
            (GoogleAds, "1234567890", "1234567890"),
            (TiktokAds, "7012345678901234567", "7012345678901234567"),
            (
                SnapchatAds,
                "8B1E2C3D-4F5A-4B6C-9D7E-0F1A2B3C4D5E",
                "8b1e2c3d-4f5a-4b6c-9d7e-0f1a2b3c4d5e",
            ),
            (Appsflyer, "id1234567", "id1234567"),
            (Appsflyer, "com.example.game", "com.example.game"),
        ] {
            assert_eq!(
                kind.parse_account_id(raw).unwrap(),
                normalised,
                "{kind} {raw}"
            );
        }
        for (kind, bad) in [
            (GoogleAds, "123456789"),
            (GoogleAds, "12345678901"),
            (GoogleAds, "customers/1234567890"),
            (TiktokAds, "adv-1"),
            (SnapchatAds, "8b1e2c3d4f5a4b6c9d7e0f1a2b3c4d5e"),
            (SnapchatAds, "not-a-uuid"),
            (Appsflyer, "id"),
            (Appsflyer, "com..example"),
            (Appsflyer, "example"),
        ] {
            let error = kind.parse_account_id(bad).unwrap_err();
            assert_eq!(error.field, "external_id", "{kind} {bad}");
            assert!(error.message.contains(bad), "{}", error.message);
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
