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

/// Declares a closed set of kinds as an enum with its snake_case names: `ALL` (in the list's
/// order) and `as_str`, both from the one list given.
macro_rules! kinds {
    ($(#[$meta:meta])* $kind:ident { $($(#[$doc:meta])* $variant:ident $name:ident,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $kind {
            $($(#[$doc])* $variant,)*
        }

        impl $kind {
            /// Every kind, in the list's order.
            pub const ALL: [$kind; [$(stringify!($name)),*].len()] = [$($kind::$variant),*];

            /// The snake_case name used everywhere: code, config, database, metrics, routes,
            /// queues.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($kind::$variant => stringify!($name),)*
                }
            }
        }
    };
}

/// Declares [`ConnectorKind`] from [`for_each_connector!`]'s list.
macro_rules! connector_kind {
    ($($list:tt)*) => {
        kinds! {
            /// A platform adsync reads from. The variants come from [`for_each_connector!`].
            ConnectorKind { $($list)* }
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

kinds! {
    /// A place rows are written to; what each kind's settings are is in
    /// `domain::destination`, the only other place that names them.
    DestinationKind {
        /// Typed tables in a PostgreSQL schema.
        Warehouse warehouse,
        /// One tab of a Google spreadsheet per sync.
        GoogleSheets google_sheets,
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
                let known: Vec<&str> = Self::ALL.into_iter().map(Self::as_str).collect();
                InvalidField::new(
                    "kind",
                    format!(
                        "unknown destination kind {s:?}; expected one of {}",
                        known.join(", ")
                    ),
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
