//! Meta's vocabulary in the sandbox: the words and constants its world is generated from
//! (levels, statuses, budgets, objectives, names, time zones, the currencies its accounts are
//! billed in, the ids with a fixed behaviour) and how long its numbers keep changing.

use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::facts::Currency;

/// Days after which a day's conversions are final (Meta freezes insights after 28 days).
pub const RESTATEMENT_HORIZON_DAYS: u32 = 28;

/// An ad account that exists but has no campaigns, hence no entities and no insights rows.
pub const EMPTY_ACCOUNT_ID: &str = "1000000000";

/// An ad account whose name and campaign names hold U+0000 and other control characters, as
/// advertisers can type them into Ads Manager and the Graph API returns them (JSON-escaped).
pub const CONTROL_NAMES_ACCOUNT_ID: &str = "1000000001";

/// The aggregation level of an insights report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// One row per account.
    Account,
    /// One row per campaign.
    Campaign,
    /// One row per ad set.
    #[serde(rename = "adset")]
    AdSet,
    /// One row per ad.
    Ad,
}

impl Level {
    /// Every level, from the coarsest to the finest.
    pub const ALL: &'static [Level] = &[Level::Account, Level::Campaign, Level::AdSet, Level::Ad];

    /// The name Meta uses in the `level` parameter.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Account => "account",
            Level::Campaign => "campaign",
            Level::AdSet => "adset",
            Level::Ad => "ad",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .iter()
            .copied()
            .find(|level| level.as_str() == name)
            .ok_or_else(|| {
                format!("unknown level '{name}', expected one of: account, campaign, adset, ad")
            })
    }
}

/// What delivery costs in one of Meta's currencies.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pricing {
    /// The country most of the account's delivery is in.
    pub(super) home_country: &'static str,
    /// The range of the cost per thousand impressions, in minor units.
    pub(super) cpm_range: (u64, u64),
}

/// The currencies sandbox accounts are billed in, in the order the hash picks from, with their
/// pricing.
pub(super) const CURRENCIES: &[(Currency, Pricing)] = &[
    (
        Currency::Usd,
        Pricing {
            home_country: "US",
            cpm_range: (300, 2_500),
        },
    ),
    (
        Currency::Eur,
        Pricing {
            home_country: "DE",
            cpm_range: (300, 2_200),
        },
    ),
    (
        Currency::Gbp,
        Pricing {
            home_country: "GB",
            cpm_range: (250, 2_000),
        },
    ),
    (
        Currency::Jpy,
        Pricing {
            home_country: "JP",
            cpm_range: (400, 3_000),
        },
    ),
    (
        Currency::Aud,
        Pricing {
            home_country: "AU",
            cpm_range: (500, 3_000),
        },
    ),
    (
        Currency::Brl,
        Pricing {
            home_country: "BR",
            cpm_range: (1_000, 6_000),
        },
    ),
];

/// The pricing of `currency`, one of [`CURRENCIES`].
pub(super) fn pricing(currency: Currency) -> Pricing {
    CURRENCIES
        .iter()
        .find(|(offered, _)| *offered == currency)
        .map_or(CURRENCIES[0].1, |(_, pricing)| *pricing)
}

/// Budgets are whole multiples of this many minor units (one dollar; a hundred yen).
pub(super) const BUDGET_STEP: u64 = 100;

/// The time zones sandbox accounts live in.
pub const TIME_ZONES: &[Tz] = &[
    Tz::America__Los_Angeles,
    Tz::America__New_York,
    Tz::Europe__Berlin,
    Tz::Europe__London,
    Tz::Asia__Tokyo,
    Tz::Australia__Sydney,
    Tz::America__Sao_Paulo,
    Tz::UTC,
];

/// The configured status of a campaign, ad set or ad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Delivering (if its parents are).
    Active,
    /// Paused by the advertiser.
    Paused,
}

impl Status {
    /// The name Meta uses in `status` and `effective_status`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Active => "ACTIVE",
            Status::Paused => "PAUSED",
        }
    }
}

/// A budget, in the currency's minor units (cents; whole yen for JPY), as Meta sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Budget {
    /// `daily_budget`.
    Daily(u64),
    /// `lifetime_budget`.
    Lifetime(u64),
}

/// Whether `account_id` is a valid Meta ad account id (digits, without `act_`).
pub fn is_valid_account_id(account_id: &str) -> bool {
    !account_id.is_empty()
        && account_id.len() <= 20
        && account_id.bytes().all(|byte| byte.is_ascii_digit())
}

pub(super) const CAMPAIGN_THEMES: &[&str] = &[
    "Spring Sale",
    "Brand Awareness",
    "Retargeting – Cart",
    "Été 2025",
    "Black Friday",
    "Prospecting",
    "Ürün Lansmanı",
    "新春キャンペーン",
    "App Installs",
    "Always-on",
];

pub(super) const AUDIENCES: &[&str] = &[
    "Lookalike 1%",
    "Women 25–34",
    "Interests: Café",
    "Broad",
    "München Radius 10 km",
    "Remarketing 30d",
];

pub(super) const OBJECTIVES: &[&str] = &[
    "OUTCOME_SALES",
    "OUTCOME_TRAFFIC",
    "OUTCOME_AWARENESS",
    "OUTCOME_ENGAGEMENT",
    "OUTCOME_LEADS",
    "OUTCOME_APP_PROMOTION",
];

pub(super) const CREATIVES: &[&str] = &[
    "Video 15s",
    "Carousel – Shoes",
    "Static Image",
    "UGC “Testimonial”",
    "Story 9:16",
];

/// Entity ids are this base plus an account part and a local part, which keeps them above 2^53
/// like real Meta ids and in ascending order within an account.
pub(super) const ID_BASE: u64 = 120_200_000_000_000_000;

/// How rows are bucketed in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeIncrement {
    /// One row per day (`time_increment=1`).
    Daily,
    /// One row for the whole range (`time_increment=all_days`).
    AllDays,
}
