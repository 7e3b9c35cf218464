//! The APIs the sandbox imitates, named exactly as everywhere else in adsync (`meta_ads`, ...):
//! the ad platforms, and Google Sheets as a destination; [`for_each_api!`] is the one list.
//!
//! The name is also the route prefix: Meta's `https://graph.facebook.com/v24.0/...` is served at
//! `/meta_ads/v24.0/...`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// **The sandbox's registry**: every API the sandbox imitates, once: its variant, its name (the
/// route prefix and the module, `crate::<name>`), and the module's configuration and state
/// types. The list is handed to `$callback!`, so the [`Connector`] enum (here), the routers and
/// dispatch (`platforms`) and the per-platform configuration and state (`state`) all come from
/// it; a platform cannot be half-mounted. It is the sandbox's own list, kept apart from
/// adsync's (the sandbox depends on no crate of ours).
macro_rules! for_each_api {
    ($callback:ident) => {
        $callback! {
            /// Meta (Facebook) Marketing API.
            MetaAds meta_ads MetaAdsConfig MetaAdsState,
            /// Google Ads API (REST).
            GoogleAds google_ads GoogleAdsConfig GoogleAdsState,
            /// TikTok Marketing API (API for Business).
            TiktokAds tiktok_ads TiktokAdsConfig TiktokAdsState,
            /// Snapchat Marketing API.
            SnapchatAds snapchat_ads SnapchatAdsConfig SnapchatAdsState,
            /// AppsFlyer Pull API.
            Appsflyer appsflyer AppsflyerConfig AppsflyerState,
            /// Google Sheets API v4 (a destination, imitated like the platforms).
            GoogleSheets google_sheets GoogleSheetsConfig GoogleSheetsState,
        }
    };
}
pub(crate) use for_each_api;

/// Declares [`Connector`] from [`for_each_api!`]'s list.
macro_rules! connector {
    ($($(#[$doc:meta])* $variant:ident $name:ident $config:ident $state:ident,)*) => {
        /// One imitated API.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum Connector {
            $($(#[$doc])* $variant,)*
        }

        impl Connector {
            /// Every connector, in a fixed order.
            pub const ALL: &'static [Connector] = &[$(Connector::$variant),*];

            /// The snake_case name, e.g. `meta_ads`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Connector::$variant => stringify!($name),)*
                }
            }

            /// The path prefix under which this platform is served, e.g. `/meta_ads`.
            pub const fn prefix(self) -> &'static str {
                match self {
                    $(Connector::$variant => concat!("/", stringify!($name)),)*
                }
            }
        }
    };
}

for_each_api!(connector);

impl Connector {
    /// The connector whose prefix `path` is under, if any.
    pub fn for_path(path: &str) -> Option<Connector> {
        Connector::ALL.iter().copied().find(|connector| {
            path.strip_prefix(connector.prefix())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }
}

impl fmt::Display for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a name that is not a connector of the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownConnector(pub String);

impl fmt::Display for UnknownConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = Connector::ALL.iter().map(|c| c.as_str()).collect();
        write!(
            f,
            "unknown connector '{}', expected one of: {}",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownConnector {}

impl FromStr for Connector {
    type Err = UnknownConnector;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Connector::ALL
            .iter()
            .copied()
            .find(|connector| connector.as_str() == name)
            .ok_or_else(|| UnknownConnector(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_attributed_to_the_connector_whose_prefix_they_start_with() {
        assert_eq!(
            Connector::for_path("/meta_ads/v24.0/act_1"),
            Some(Connector::MetaAds)
        );
        assert_eq!(Connector::for_path("/meta_ads"), Some(Connector::MetaAds));
        assert_eq!(Connector::for_path("/meta_adsx/v24.0"), None);
        assert_eq!(Connector::for_path("/v24.0/act_1/insights"), None);
    }

    #[test]
    fn names_round_trip() {
        for connector in Connector::ALL {
            assert_eq!(connector.as_str().parse::<Connector>(), Ok(*connector));
        }
        assert!("tiktok".parse::<Connector>().is_err());
    }
}
