//! TikTok's vocabulary in the sandbox: the words and constants its world is generated from
//! (levels, statuses, budgets, objectives, names, time zones, the currencies its accounts are
//! billed in, the ids with a fixed behaviour) and how long its numbers keep changing.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::facts::{Currency, day_number};

/// Days after which a day's conversions stop changing (TikTok's default click attribution).
pub const RESTATEMENT_HORIZON_DAYS: u32 = 7;

/// An advertiser that exists but has no campaigns, so every report for it is empty.
pub const NO_DELIVERY_ADVERTISER_ID: &str = "7000000000000000000";

/// The `data_level` of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    /// `AUCTION_ADVERTISER`: one row per advertiser.
    #[serde(rename = "AUCTION_ADVERTISER")]
    Advertiser,
    /// `AUCTION_CAMPAIGN`: one row per campaign.
    #[serde(rename = "AUCTION_CAMPAIGN")]
    Campaign,
    /// `AUCTION_ADGROUP`: one row per ad group.
    #[serde(rename = "AUCTION_ADGROUP")]
    AdGroup,
    /// `AUCTION_AD`: one row per ad.
    #[serde(rename = "AUCTION_AD")]
    Ad,
}

impl Level {
    /// Every level, from the coarsest to the finest.
    pub const ALL: &'static [Level] = &[
        Level::Advertiser,
        Level::Campaign,
        Level::AdGroup,
        Level::Ad,
    ];

    /// The `data_level` parameter value.
    pub const fn data_level(self) -> &'static str {
        match self {
            Level::Advertiser => "AUCTION_ADVERTISER",
            Level::Campaign => "AUCTION_CAMPAIGN",
            Level::AdGroup => "AUCTION_ADGROUP",
            Level::Ad => "AUCTION_AD",
        }
    }

    /// The dimension that identifies a row's object at this level.
    pub const fn id_dimension(self) -> &'static str {
        match self {
            Level::Advertiser => "advertiser_id",
            Level::Campaign => "campaign_id",
            Level::AdGroup => "adgroup_id",
            Level::Ad => "ad_id",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.data_level())
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .iter()
            .copied()
            .find(|level| level.data_level() == name)
            .ok_or_else(|| {
                format!(
                    "data_level must be one of AUCTION_ADVERTISER, AUCTION_CAMPAIGN, AUCTION_ADGROUP, AUCTION_AD; got '{name}'"
                )
            })
    }
}

/// An audience dimension of an `AUDIENCE` report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Breakdown {
    /// `age`: `AGE_13_17` … `AGE_55_100`.
    Age,
    /// `gender`: `MALE`, `FEMALE`, `NONE`.
    Gender,
    /// `country_code`: ISO 3166-1 alpha-2.
    CountryCode,
    /// `platform`: `ANDROID`, `IPHONE`, `IPAD`, `PC`.
    Platform,
}

impl Breakdown {
    /// Every audience dimension the sandbox serves.
    pub const ALL: &'static [Breakdown] = &[
        Breakdown::Age,
        Breakdown::Gender,
        Breakdown::CountryCode,
        Breakdown::Platform,
    ];

    /// The dimension's name.
    pub const fn name(self) -> &'static str {
        match self {
            Breakdown::Age => "age",
            Breakdown::Gender => "gender",
            Breakdown::CountryCode => "country_code",
            Breakdown::Platform => "platform",
        }
    }

    /// The dimension's values with their base weights.
    pub(super) const fn segments(self) -> &'static [(&'static str, u64)] {
        match self {
            Breakdown::Age => &[
                ("AGE_13_17", 4),
                ("AGE_18_24", 30),
                ("AGE_25_34", 32),
                ("AGE_35_44", 18),
                ("AGE_45_54", 10),
                ("AGE_55_100", 6),
            ],
            Breakdown::Gender => &[("FEMALE", 48), ("MALE", 46), ("NONE", 6)],
            Breakdown::CountryCode => &[
                ("US", 40),
                ("GB", 14),
                ("DE", 12),
                ("FR", 10),
                ("JP", 9),
                ("BR", 8),
                ("AU", 7),
            ],
            Breakdown::Platform => &[("ANDROID", 52), ("IPHONE", 40), ("IPAD", 5), ("PC", 3)],
        }
    }

    /// The breakdown named `name`.
    pub fn from_name(name: &str) -> Option<Breakdown> {
        Breakdown::ALL
            .iter()
            .copied()
            .find(|breakdown| breakdown.name() == name)
    }
}

/// What delivery costs in one of TikTok's currencies.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pricing {
    /// The range of the cost per thousand impressions, in minor units.
    pub(super) cpm_range: (u64, u64),
    /// The range of a daily budget, in whole major units.
    pub(super) daily_budget_range: (u64, u64),
}

/// The currencies sandbox advertisers pay in, in the order the hash picks from, with their
/// pricing.
pub(super) const CURRENCIES: &[(Currency, Pricing)] = &[
    (
        Currency::Usd,
        Pricing {
            cpm_range: (200, 1_200),
            daily_budget_range: (50, 500),
        },
    ),
    (
        Currency::Eur,
        Pricing {
            cpm_range: (200, 1_100),
            daily_budget_range: (50, 500),
        },
    ),
    (
        Currency::Gbp,
        Pricing {
            cpm_range: (180, 1_000),
            daily_budget_range: (50, 500),
        },
    ),
    (
        Currency::Jpy,
        Pricing {
            cpm_range: (300, 1_800),
            daily_budget_range: (7_000, 70_000),
        },
    ),
    (
        Currency::Aud,
        Pricing {
            cpm_range: (300, 1_800),
            daily_budget_range: (75, 750),
        },
    ),
    (
        Currency::Brl,
        Pricing {
            cpm_range: (800, 4_000),
            daily_budget_range: (250, 2_500),
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

/// The time zones sandbox advertisers report in.
pub const TIME_ZONES: &[Tz] = &[
    Tz::America__Los_Angeles,
    Tz::America__New_York,
    Tz::Europe__Berlin,
    Tz::Europe__London,
    Tz::Asia__Tokyo,
    Tz::Australia__Sydney,
    Tz::America__Sao_Paulo,
    Tz::Asia__Singapore,
    Tz::UTC,
];

/// A campaign's advertising objective (`objective_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Objective {
    /// `TRAFFIC`.
    Traffic,
    /// `WEB_CONVERSIONS`.
    WebConversions,
    /// `APP_PROMOTION`.
    AppPromotion,
    /// `REACH`.
    Reach,
    /// `VIDEO_VIEWS`.
    VideoViews,
    /// `LEAD_GENERATION`.
    LeadGeneration,
    /// `PRODUCT_SALES`.
    ProductSales,
}

impl Objective {
    pub(super) const ALL: &'static [Objective] = &[
        Objective::Traffic,
        Objective::WebConversions,
        Objective::AppPromotion,
        Objective::Reach,
        Objective::VideoViews,
        Objective::LeadGeneration,
        Objective::ProductSales,
    ];

    /// The `objective_type` value.
    pub const fn name(self) -> &'static str {
        match self {
            Objective::Traffic => "TRAFFIC",
            Objective::WebConversions => "WEB_CONVERSIONS",
            Objective::AppPromotion => "APP_PROMOTION",
            Objective::Reach => "REACH",
            Objective::VideoViews => "VIDEO_VIEWS",
            Objective::LeadGeneration => "LEAD_GENERATION",
            Objective::ProductSales => "PRODUCT_SALES",
        }
    }

    /// The `optimization_goal` of the campaign's ad groups.
    pub const fn optimization_goal(self) -> &'static str {
        match self {
            Objective::Traffic => "CLICK",
            Objective::WebConversions | Objective::ProductSales => "CONVERT",
            Objective::AppPromotion => "INSTALL",
            Objective::Reach => "REACH",
            Objective::VideoViews => "ENGAGED_VIEW",
            Objective::LeadGeneration => "LEAD_GENERATION",
        }
    }

    /// Whether the ad groups optimise for a conversion event, and so report `conversion`.
    pub const fn tracks_conversions(self) -> bool {
        matches!(
            self,
            Objective::WebConversions
                | Objective::ProductSales
                | Objective::AppPromotion
                | Objective::LeadGeneration
        )
    }
}

/// A budget (`budget_mode` and `budget`), in the currency's minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Budget {
    /// `BUDGET_MODE_DAY`.
    Daily(u64),
    /// `BUDGET_MODE_TOTAL`.
    Total(u64),
    /// `BUDGET_MODE_INFINITE` (`budget` is `0.0`).
    Infinite,
}

impl Budget {
    /// The `budget_mode` value.
    pub const fn mode(self) -> &'static str {
        match self {
            Budget::Daily(_) => "BUDGET_MODE_DAY",
            Budget::Total(_) => "BUDGET_MODE_TOTAL",
            Budget::Infinite => "BUDGET_MODE_INFINITE",
        }
    }

    /// The amount in minor units (0 when infinite).
    pub const fn minor(self) -> u64 {
        match self {
            Budget::Daily(amount) | Budget::Total(amount) => amount,
            Budget::Infinite => 0,
        }
    }
}

/// When a campaign delivers: from `start`, until `end` if it was switched off, and, for a
/// flighted campaign, only on the "on" days of a repeating cycle. Every date is fixed, so the
/// delivery of a past day never changes as the clock moves (only its conversions settle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// First day with delivery.
    pub start: NaiveDate,
    /// Last day with delivery, for a campaign that was switched off.
    pub end: Option<NaiveDate>,
    /// `(cycle_days, on_days)`: delivers on the first `on_days` of every `cycle_days`-day cycle
    /// (counted from 0001-01-01), so every few weeks contain days with and without delivery.
    pub flight: Option<(u32, u32)>,
}

impl Schedule {
    /// Whether the campaign delivers on `date`.
    pub fn delivers_on(&self, date: NaiveDate) -> bool {
        date >= self.start
            && self.end.is_none_or(|end| date <= end)
            && self.flight.is_none_or(|(cycle, on)| {
                day_number(date) % u64::from(cycle.max(1)) < u64::from(on)
            })
    }
}

/// Whether `id` is a valid advertiser id (digits).
pub fn is_valid_account_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|byte| byte.is_ascii_digit())
}

pub(super) const BRANDS: &[&str] = &[
    "Café Lumière",
    "Nordlicht Outdoor",
    "さくら Cosmetics",
    "Pixel & Pine",
    "Müller Sportswear",
    "Casa Ipê",
    "Harbour Tea Co.",
];

pub(super) const CAMPAIGN_THEMES: &[&str] = &[
    "Summer Drop",
    "Always-on Prospecting",
    "Rétro Collection",
    "Back to School",
    "Black Friday",
    "Neujahr Angebote",
    "新生活キャンペーン",
    "App Launch",
    "Creator Collab",
    "Lançamento Verão",
];

pub(super) const AUDIENCES: &[&str] = &[
    "Broad 18-44",
    "Lookalike 2%",
    "Interest: Beauty & Care",
    "Retargeting 14d",
    "Gamers · Android",
    "Köln + 25 km",
];

pub(super) const CREATIVES: &[&str] = &[
    "UGC Unboxing",
    "Spark Ad · Creator",
    "Product Demo 9:16",
    "Carousel – Bestsellers",
    "Tutorial “How to”",
];

pub(super) const AD_TEXTS: &[&str] = &[
    "New drop is live — shop now",
    "Ton nouveau favori ✨",
    "Jetzt entdecken und sparen",
    "今だけ送料無料",
    "Download and get 20% off your first order",
];

pub(super) const CALLS_TO_ACTION: &[&str] = &[
    "SHOP_NOW",
    "LEARN_MORE",
    "DOWNLOAD_NOW",
    "SIGN_UP",
    "ORDER_NOW",
];

pub(super) const COUNTRIES: &[&str] = &["US", "GB", "DE", "JP", "BR", "AU", "SG"];

/// Entity ids are this base plus an advertiser part and a local part: 19 digits like TikTok's,
/// ascending within an advertiser.
pub(super) const ID_BASE: u64 = 1_700_000_000_000_000_000;

/// 2023-01-01 00:00:00 UTC.
pub(super) const EPOCH_SECONDS: i64 = 1_672_531_200;
