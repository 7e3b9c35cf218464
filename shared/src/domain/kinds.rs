//! The closed sets of connectors (platforms we read) and destinations (where rows go).
//!
//! Each has one snake_case name used everywhere: code, config, database, metrics, routes, queues.
//! What a platform *is* (its catalogue, account ids, settings, OAuth, client) lives in the
//! `connectors` crate, in the platform's folder; here is only the list of names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::InvalidField;

/// **The registry of platforms**: every platform adsync reads from, once, as its enum variant
/// and its snake_case name. This list is the only place that names every platform. It hands
/// the list to `$callback!` (the "x-macro" pattern), so each crate builds what it needs from
/// the same list: this module the [`ConnectorKind`] enum (with `ALL`, `as_str` and parsing);
/// the `connectors` crate its dispatch from a kind to the platform's folder
/// (`connectors/src/<name>/`), whose module has the same name.
///
/// Adding a platform is one line here; ARCHITECTURE.md, "Adding a connector", lists the rest.
#[macro_export]
macro_rules! for_each_connector {
    ($callback:ident) => {
        $callback! {
            /// Meta (Facebook and Instagram) Marketing API.
            MetaAds meta_ads,
            /// Google Ads API.
            GoogleAds google_ads,
            /// TikTok API for Business.
            TiktokAds tiktok_ads,
            /// Snapchat Marketing API.
            SnapchatAds snapchat_ads,
            /// AppsFlyer Pull API.
            Appsflyer appsflyer,
        }
    };
}

/// Declares [`ConnectorKind`] from [`for_each_connector!`]'s list.
macro_rules! connector_kind {
    ($($(#[$doc:meta])* $variant:ident $name:ident,)*) => {
        /// A platform adsync reads from. The variants come from [`for_each_connector!`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ConnectorKind {
            $($(#[$doc])* $variant,)*
        }

        impl ConnectorKind {
            /// Every connector, in the registry's order (queues are declared for each).
            pub const ALL: [ConnectorKind; [$(stringify!($name)),*].len()] =
                [$(ConnectorKind::$variant),*];

            /// The snake_case name used everywhere: code, config, database, metrics, routes,
            /// queues.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ConnectorKind::$variant => stringify!($name),)*
                }
            }
        }
    };
}

for_each_connector!(connector_kind);

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
                let known: Vec<&str> = Self::ALL.into_iter().map(Self::as_str).collect();
                InvalidField::new(
                    "connector",
                    format!(
                        "unknown connector {s:?}; expected one of {}",
                        known.join(", ")
                    ),
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
    fn unknown_connector_names_the_field_and_the_value() {
        let error = "facebook".parse::<ConnectorKind>().unwrap_err();
        assert_eq!(error.field, "connector");
        assert!(error.message.contains("facebook"));
    }
}
