//! Snapchat's vocabulary in the sandbox: the words and constants its world is generated from
//! (levels, statuses, budgets, objectives, names, time zones, the currencies its accounts are
//! billed in, the ids with a fixed behaviour) and how long its numbers keep changing.

use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Days for which purchases keep changing (Snapchat's longest attribution window).
pub const RESTATEMENT_DAYS: u32 = 28;

/// An ad account with entities that never delivered: every stats query is empty.
pub const NO_DELIVERY_ACCOUNT_ID: &str = "00000000-0000-4000-8000-000000000000";

/// An ad account with more than 50 campaigns, ad squads and ads, so every entity list pages at
/// `limit=50`. All its campaigns but the first started recently (3 to 40 days before today).
pub const LARGE_ACCOUNT_ID: &str = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";

/// An ad account that exists but that the sandbox user may not read: HTTP 403.
pub const FORBIDDEN_ACCOUNT_ID: &str = "ffffffff-ffff-4fff-bfff-ffffffffffff";

/// The organizations of the sandbox user (`GET /v1/me/organizations`), each with its ad account
/// ids.
pub const ORGANIZATIONS: &[(&str, &str, &[&str])] = &[
    (
        "9c7a5b3e-1d2f-4e6a-8b0c-1d2e3f4a5b6c",
        "Sandbox Organization",
        &[
            "8b1e2c3d-4f5a-4b6c-9d7e-0f1a2b3c4d5e",
            "3f6e9d2c-7b4a-4c1d-8e5f-6a7b8c9d0e1f",
            "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
            NO_DELIVERY_ACCOUNT_ID,
        ],
    ),
    (
        "2e4f6a8c-0b1d-4c3e-9f5a-7b9c1d3e5f7a",
        "Agentur Müller & Söhne",
        &[LARGE_ACCOUNT_ID, "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"],
    ),
];

/// The time zones hashed accounts live in.
pub const TIME_ZONES: &[Tz] = &[
    Tz::America__Los_Angeles,
    Tz::America__New_York,
    Tz::America__Chicago,
    Tz::Europe__Berlin,
    Tz::Europe__London,
    Tz::Asia__Tokyo,
    Tz::Australia__Sydney,
    Tz::America__Sao_Paulo,
    Tz::UTC,
];

/// The currencies hashed accounts are billed in.
pub const CURRENCIES: &[&str] = &["USD", "EUR", "GBP", "CAD", "AUD", "JPY"];

/// Whether `id` is a UUID (8-4-4-4-12 hex digits, either case).
pub fn is_valid_account_id(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

/// The entity statuses Snapchat reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Delivering (or ready to).
    Active,
    /// Stopped by the advertiser.
    Paused,
}

impl Status {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Active => "ACTIVE",
            Status::Paused => "PAUSED",
        }
    }
}

/// Campaign objectives.
pub const OBJECTIVES: &[&str] = &[
    "BRAND_AWARENESS",
    "WEB_CONVERSION",
    "APP_INSTALL",
    "VIDEO_VIEW",
    "LEAD_GENERATION",
    "ENGAGEMENT",
];

pub(super) const CAMPAIGN_THEMES: &[&str] = &[
    "Summer Sale",
    "Brand Lift",
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
    "Women 18–24",
    "Interests: Café",
    "Broad",
    "Zürich Radius 10 km",
    "Retargeting 30d",
];

pub(super) const CREATIVE_KINDS: &[&str] = &[
    "Video 10s",
    "Collection – Shoes",
    "Story Ad",
    "Lens “Try-on”",
    "Single Image",
];

pub(super) const CALLS_TO_ACTION: &[&str] =
    &["SHOP_NOW", "INSTALL_NOW", "WATCH", "SIGN_UP", "MORE"];

pub(super) const COUNTRIES: &[&str] = &["us", "gb", "de", "fr", "ca", "au", "jp", "br", "nl", "se"];

/// How long after a swipe-up (`swipe_up_attribution_window`) a purchase still counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SwipeWindow {
    /// `1_DAY`.
    #[serde(rename = "1_DAY")]
    OneDay,
    /// `7_DAY`.
    #[serde(rename = "7_DAY")]
    SevenDays,
    /// `28_DAY`, Snapchat's default.
    #[serde(rename = "28_DAY")]
    TwentyEightDays,
}

impl SwipeWindow {
    /// Every window.
    pub const ALL: &'static [SwipeWindow] = &[
        SwipeWindow::OneDay,
        SwipeWindow::SevenDays,
        SwipeWindow::TwentyEightDays,
    ];

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            SwipeWindow::OneDay => "1_DAY",
            SwipeWindow::SevenDays => "7_DAY",
            SwipeWindow::TwentyEightDays => "28_DAY",
        }
    }

    /// Share of swipe-attributed purchases counted, per mille.
    pub(super) const fn per_mille(self) -> u64 {
        match self {
            SwipeWindow::OneDay => 600,
            SwipeWindow::SevenDays => 850,
            SwipeWindow::TwentyEightDays => 1_000,
        }
    }
}

impl FromStr for SwipeWindow {
    type Err = ();
    fn from_str(text: &str) -> Result<Self, ()> {
        Self::ALL
            .iter()
            .copied()
            .find(|window| window.as_str() == text)
            .ok_or(())
    }
}

/// How long after a view (`view_attribution_window`) a purchase still counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ViewWindow {
    /// `1_HOUR`.
    #[serde(rename = "1_HOUR")]
    OneHour,
    /// `3_HOUR`.
    #[serde(rename = "3_HOUR")]
    ThreeHours,
    /// `6_HOUR`.
    #[serde(rename = "6_HOUR")]
    SixHours,
    /// `1_DAY`, Snapchat's default.
    #[serde(rename = "1_DAY")]
    OneDay,
    /// `7_DAY`.
    #[serde(rename = "7_DAY")]
    SevenDays,
    /// `28_DAY`.
    #[serde(rename = "28_DAY")]
    TwentyEightDays,
}

impl ViewWindow {
    /// Every window.
    pub const ALL: &'static [ViewWindow] = &[
        ViewWindow::OneHour,
        ViewWindow::ThreeHours,
        ViewWindow::SixHours,
        ViewWindow::OneDay,
        ViewWindow::SevenDays,
        ViewWindow::TwentyEightDays,
    ];

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ViewWindow::OneHour => "1_HOUR",
            ViewWindow::ThreeHours => "3_HOUR",
            ViewWindow::SixHours => "6_HOUR",
            ViewWindow::OneDay => "1_DAY",
            ViewWindow::SevenDays => "7_DAY",
            ViewWindow::TwentyEightDays => "28_DAY",
        }
    }

    /// Share of view-attributed purchases counted, per mille.
    pub(super) const fn per_mille(self) -> u64 {
        match self {
            ViewWindow::OneHour => 300,
            ViewWindow::ThreeHours => 450,
            ViewWindow::SixHours => 550,
            ViewWindow::OneDay => 700,
            ViewWindow::SevenDays => 900,
            ViewWindow::TwentyEightDays => 1_000,
        }
    }
}

impl FromStr for ViewWindow {
    type Err = ();
    fn from_str(text: &str) -> Result<Self, ()> {
        Self::ALL
            .iter()
            .copied()
            .find(|window| window.as_str() == text)
            .ok_or(())
    }
}

/// The attribution windows of a stats query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attribution {
    /// `swipe_up_attribution_window`.
    pub swipe_up: SwipeWindow,
    /// `view_attribution_window`.
    pub view: ViewWindow,
}

impl Default for Attribution {
    /// Snapchat's defaults: 28 days after a swipe-up, 1 day after a view.
    fn default() -> Self {
        Self {
            swipe_up: SwipeWindow::TwentyEightDays,
            view: ViewWindow::OneDay,
        }
    }
}

/// The level a stats row describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The whole ad account.
    AdAccount,
    /// One campaign.
    Campaign,
    /// One ad squad.
    #[serde(rename = "adsquad")]
    AdSquad,
    /// One ad.
    Ad,
}

impl Level {
    /// Every level, coarsest first.
    pub const ALL: &'static [Level] =
        &[Level::AdAccount, Level::Campaign, Level::AdSquad, Level::Ad];

    /// The `type` Snapchat gives entities of this level (`AD_ACCOUNT`, `CAMPAIGN`, ...).
    pub const fn entity_type(self) -> &'static str {
        match self {
            Level::AdAccount => "AD_ACCOUNT",
            Level::Campaign => "CAMPAIGN",
            Level::AdSquad => "AD_SQUAD",
            Level::Ad => "AD",
        }
    }

    /// The name used in `breakdown=` and as the key of `breakdown_stats`.
    pub const fn breakdown_name(self) -> &'static str {
        match self {
            Level::AdAccount => "adaccount",
            Level::Campaign => "campaign",
            Level::AdSquad => "adsquad",
            Level::Ad => "ad",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.breakdown_name())
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "account" | "adaccount" | "ad_account" => Ok(Level::AdAccount),
            "campaign" => Ok(Level::Campaign),
            "adsquad" | "ad_squad" | "ad_group" => Ok(Level::AdSquad),
            "ad" => Ok(Level::Ad),
            other => Err(format!(
                "unknown level '{other}', expected one of: account, campaign, adsquad, ad"
            )),
        }
    }
}
