//! Google Ads's vocabulary in the sandbox: the words and constants its world is generated from
//! (levels, statuses, budgets, objectives, names, time zones, the currencies its accounts are
//! billed in, the ids with a fixed behaviour) and how long its numbers keep changing.

use std::fmt;

use chrono_tz::Tz;
use serde::Serialize;

use crate::facts::Currency;

/// A customer with campaigns that never delivered: every report on it is empty.
pub const NO_DELIVERY_CUSTOMER_ID: &str = "1000000000";

/// Conversions and conversion value keep changing until a day is this many days old.
pub const RESTATEMENT_HORIZON_DAYS: u32 = 30;

/// The currencies sandbox customers are billed in, in the order the hash picks from, each with
/// how many minor units buy roughly what one US cent buys (prices scale with it).
pub(super) const CURRENCIES: &[(Currency, u64)] = &[
    (Currency::Usd, 1),
    (Currency::Eur, 1),
    (Currency::Gbp, 1),
    (Currency::Jpy, 1),
    (Currency::Brl, 5),
    (Currency::Inr, 80),
];

/// How many minor units of `currency` (one of [`CURRENCIES`]) buy roughly what one US cent
/// buys.
pub(super) fn scale(currency: Currency) -> u64 {
    CURRENCIES
        .iter()
        .find(|(offered, _)| *offered == currency)
        .map_or(1, |(_, scale)| *scale)
}

/// Micros in one minor unit: costs are whole minor units, as Google bills them.
pub(super) fn micros_per_minor(currency: Currency) -> u64 {
    match currency.decimals() {
        0 => 1_000_000,
        _ => 10_000,
    }
}

/// One major unit (dollar, yen) in minor units, scaled like prices: the unit of budgets.
pub(super) fn budget_unit_minor(currency: Currency) -> u64 {
    match currency {
        Currency::Jpy => 150,
        _ => 100 * scale(currency),
    }
}

/// The time zones sandbox customers report in (one with a half-hour offset).
pub const TIME_ZONES: &[Tz] = &[
    Tz::America__Los_Angeles,
    Tz::America__New_York,
    Tz::Europe__Berlin,
    Tz::Europe__London,
    Tz::Asia__Tokyo,
    Tz::Australia__Sydney,
    Tz::America__Sao_Paulo,
    Tz::Asia__Kolkata,
];

/// How a customer is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerKind {
    /// An ordinary account the user has direct access to.
    Standalone,
    /// A manager (MCC) account: no campaigns of its own.
    Manager {
        /// The manager above it, for a sub-manager; `None` for a top-level manager.
        manager_id: Option<String>,
    },
    /// A client account the user reaches only through a manager above it.
    Client {
        /// The manager directly above it.
        manager_id: String,
    },
}

/// `customer.status` / `customer_client.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CustomerStatus {
    /// Able to serve ads, and to be queried.
    Enabled,
    /// Cancelled: serves nothing; queries on it are refused (`CUSTOMER_NOT_ENABLED`).
    Canceled,
}

impl CustomerStatus {
    /// The enum name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            CustomerStatus::Enabled => "ENABLED",
            CustomerStatus::Canceled => "CANCELED",
        }
    }
}

/// `ENABLED`, `PAUSED` or `REMOVED`, as Google spells entity statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Serving.
    Enabled,
    /// Stopped by the advertiser.
    Paused,
    /// Deleted (still reported for its past).
    Removed,
}

impl Status {
    /// The enum name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Enabled => "ENABLED",
            Status::Paused => "PAUSED",
            Status::Removed => "REMOVED",
        }
    }
}

/// `campaign.advertising_channel_type`: what kind of campaign it is (adsync's objective).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Channel {
    /// Search network text ads.
    Search,
    /// Display network.
    Display,
    /// YouTube video.
    Video,
    /// Shopping product ads.
    Shopping,
}

impl Channel {
    pub(super) const ALL: &'static [Channel] = &[
        Channel::Search,
        Channel::Search,
        Channel::Display,
        Channel::Video,
        Channel::Shopping,
    ];

    /// The enum name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::Search => "SEARCH",
            Channel::Display => "DISPLAY",
            Channel::Video => "VIDEO",
            Channel::Shopping => "SHOPPING",
        }
    }

    /// `ad_group.type` of this channel's ad groups.
    pub const fn ad_group_type(self) -> &'static str {
        match self {
            Channel::Search => "SEARCH_STANDARD",
            Channel::Display => "DISPLAY_STANDARD",
            Channel::Video => "VIDEO_RESPONSIVE",
            Channel::Shopping => "SHOPPING_PRODUCT_ADS",
        }
    }

    /// The devices this channel serves on, in the order rows list them.
    pub const fn devices(self) -> &'static [Device] {
        match self {
            Channel::Video => &[
                Device::Mobile,
                Device::Desktop,
                Device::Tablet,
                Device::ConnectedTv,
            ],
            Channel::Search | Channel::Display | Channel::Shopping => {
                &[Device::Mobile, Device::Desktop, Device::Tablet]
            }
        }
    }
}

/// `segments.device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Device {
    /// Phones.
    Mobile,
    /// Computers.
    Desktop,
    /// Tablets.
    Tablet,
    /// Smart TVs and streaming devices.
    ConnectedTv,
}

impl Device {
    /// Every device, in row order.
    pub const ALL: &'static [Device] = &[
        Device::Mobile,
        Device::Desktop,
        Device::Tablet,
        Device::ConnectedTv,
    ];

    /// The enum name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Device::Mobile => "MOBILE",
            Device::Desktop => "DESKTOP",
            Device::Tablet => "TABLET",
            Device::ConnectedTv => "CONNECTED_TV",
        }
    }

    pub(super) const fn index(self) -> usize {
        match self {
            Device::Mobile => 0,
            Device::Desktop => 1,
            Device::Tablet => 2,
            Device::ConnectedTv => 3,
        }
    }
}

/// Whether `id` is shaped like a customer id: ten digits, no hyphens.
pub(crate) fn is_valid_customer_id(id: &str) -> bool {
    id.len() == 10 && id.bytes().all(|b| b.is_ascii_digit())
}

pub(super) const BRANDS: &[&str] = &[
    "Acme Outdoor",
    "Bäckerei Müller",
    "Café São Jorge",
    "北海道トラベル",
    "Nordlys Ski",
    "Maison Étoile",
    "Ölmühle Öztürk",
    "Pixel Labs",
];

pub(super) const CAMPAIGN_THEMES: &[&str] = &[
    "Brand",
    "Generic – Shoes",
    "Été 2025",
    "Remarketing",
    "Black Friday",
    "Competitors",
    "Größen & Passform",
    "新商品",
    "Always-on",
    "Local – München",
];

pub(super) const AD_GROUP_THEMES: &[&str] = &[
    "Exact",
    "Broad",
    "Phrase – Sale",
    "In-market",
    "Custom Segment",
    "Lookalike ∙ Buyers",
];

pub(super) const DOMAINS: &[&str] = &[
    "example.com",
    "shop.example.org",
    "example.de",
    "example.co.jp",
    "example.com.br",
];

/// Ids are a base plus a per-customer part and a local index, so they look like Google's (11
/// to 13 digits), never collide within a customer and ascend in tree order.
pub(super) const CAMPAIGN_ID_BASE: u64 = 20_000_000_000;

pub(super) const AD_GROUP_ID_BASE: u64 = 130_000_000_000;

pub(super) const AD_ID_BASE: u64 = 600_000_000_000;

pub(super) const BUDGET_ID_BASE: u64 = 14_000_000_000;

pub(super) fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::Search => "Search",
        Channel::Display => "Display",
        Channel::Video => "YouTube",
        Channel::Shopping => "Shopping",
    }
}

/// The level a report row describes (the `FROM` resource of a metrics query).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// `FROM customer`: one row per customer.
    Customer,
    /// `FROM campaign`.
    Campaign,
    /// `FROM ad_group`.
    AdGroup,
    /// `FROM ad_group_ad`.
    AdGroupAd,
}

impl Level {
    /// The GAQL resource name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Customer => "customer",
            Level::Campaign => "campaign",
            Level::AdGroup => "ad_group",
            Level::AdGroupAd => "ad_group_ad",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Level {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        [
            Level::Customer,
            Level::Campaign,
            Level::AdGroup,
            Level::AdGroupAd,
        ]
        .into_iter()
        .find(|level| level.as_str() == name)
        .ok_or_else(|| {
            format!(
                "unknown level '{name}', expected one of: customer, campaign, ad_group, ad_group_ad"
            )
        })
    }
}
