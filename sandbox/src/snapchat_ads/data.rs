//! Deterministic Snapchat organizations, ad accounts, their campaign → ad squad → ad trees with
//! creatives, and delivery per (ad, day, country).
//!
//! Every UUID is an ad account. Its name, time zone, currency and entity tree come from a
//! stable hash of the id; a few documented accounts have fixed facts (see [`KNOWN_ACCOUNTS`]),
//! [`NO_DELIVERY_ACCOUNT_ID`] has entities but never delivers, [`LARGE_ACCOUNT_ID`] has more
//! than one page of every entity kind at the smallest page size, and [`FORBIDDEN_ACCOUNT_ID`]
//! exists but the sandbox user may not read it (HTTP 403).
//!
//! Metrics are generated per (ad, day) in the account's time zone, split over the account's
//! countries, and summed up the tree, so every level and the country breakdown agree. Money is
//! in micro-currency (millionths of a major unit) whatever the currency, as Snapchat sends it.
//! Purchases depend on the attribution windows and are restated for 28 days (see
//! [`crate::restatement`]); impressions, swipes and spend are final at once.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::restatement::restated;
use crate::rng::Seed;
use crate::state::AccountTimeZone;

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

/// Accounts with fixed facts: id, name, time zone, currency.
pub const KNOWN_ACCOUNTS: &[(&str, &str, Tz, &str)] = &[
    (
        "8b1e2c3d-4f5a-4b6c-9d7e-0f1a2b3c4d5e",
        "Sandbox US Store",
        Tz::America__Los_Angeles,
        "USD",
    ),
    (
        "3f6e9d2c-7b4a-4c1d-8e5f-6a7b8c9d0e1f",
        "Sandbox Café Berlin",
        Tz::Europe__Berlin,
        "EUR",
    ),
    (
        "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
        "サンドボックス 東京",
        Tz::Asia__Tokyo,
        "JPY",
    ),
    (
        NO_DELIVERY_ACCOUNT_ID,
        "Sandbox Paused Account",
        Tz::America__New_York,
        "USD",
    ),
    (
        LARGE_ACCOUNT_ID,
        "Sandbox Large Account",
        Tz::Europe__London,
        "GBP",
    ),
    (
        "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f",
        "Sandbox Sydney",
        Tz::Australia__Sydney,
        "AUD",
    ),
    (
        FORBIDDEN_ACCOUNT_ID,
        "Somebody Else's Account",
        Tz::UTC,
        "USD",
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

/// A version-4-shaped UUID from a seed.
fn uuid(seed: Seed) -> String {
    let high = seed.with_u64(1).value();
    let low = seed.with_u64(2).value();
    let high = (high & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let low = (low & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    let hex = format!("{high:016x}{low:016x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
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

/// Everything fixed about one ad account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFacts {
    /// The account id, a lower-case UUID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The organization that owns it (the first listed one for hashed accounts).
    pub organization_id: String,
    /// IANA time zone; reporting days are days in this zone.
    pub time_zone: Tz,
    /// ISO 4217 currency code.
    pub currency: &'static str,
    /// Lower-case ISO country codes the account delivers in, in a fixed order.
    pub countries: Vec<&'static str>,
    /// Whether the account ever delivers.
    pub delivers: bool,
    /// Whether the sandbox user may read it.
    pub readable: bool,
    /// The campaigns, in listing order.
    pub campaigns: Vec<CampaignFacts>,
}

impl AccountTimeZone for AccountFacts {
    fn account_time_zone(&self) -> Tz {
        self.time_zone
    }
}

/// One campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignFacts {
    /// UUID.
    pub id: String,
    /// Display name, sometimes with non-ASCII characters.
    pub name: String,
    /// Current status.
    pub status: Status,
    /// The objective, e.g. `WEB_CONVERSION`.
    pub objective: &'static str,
    /// When it started delivering.
    pub start: CampaignStart,
    /// Daily budget in micro-currency, if it has one.
    pub daily_budget_micro: Option<u64>,
    /// Lifetime spend cap in micro-currency, if it has one.
    pub lifetime_spend_cap_micro: Option<u64>,
    /// The ad squads, in listing order.
    pub adsquads: Vec<AdSquadFacts>,
}

impl CampaignFacts {
    /// The first day with delivery, given the account's today.
    pub fn start_date(&self, today: NaiveDate) -> NaiveDate {
        self.start.date(today)
    }
}

/// When a campaign started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignStart {
    /// A fixed date, long ago.
    On(NaiveDate),
    /// A recent start this many days before the account's today, so recent windows contain a
    /// campaign that begins inside them.
    DaysBeforeToday(u32),
}

impl CampaignStart {
    /// The start date, given the account's today.
    pub fn date(self, today: NaiveDate) -> NaiveDate {
        match self {
            CampaignStart::On(date) => date,
            CampaignStart::DaysBeforeToday(days) => today
                .checked_sub_days(Days::new(u64::from(days)))
                .unwrap_or(NaiveDate::MIN),
        }
    }
}

/// One ad squad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdSquadFacts {
    /// UUID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Current status.
    pub status: Status,
    /// Daily budget in micro-currency, if it has one.
    pub daily_budget_micro: Option<u64>,
    /// Lifetime budget in micro-currency, if it has one.
    pub lifetime_budget_micro: Option<u64>,
    /// The ads, in listing order.
    pub ads: Vec<AdFacts>,
}

/// One ad and its creative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdFacts {
    /// UUID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Current status.
    pub status: Status,
    /// The creative it shows.
    pub creative: CreativeFacts,
}

/// One creative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreativeFacts {
    /// UUID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The headline shown on the Snap.
    pub headline: String,
    /// The call to action, e.g. `SHOP_NOW`.
    pub call_to_action: &'static str,
}

const CAMPAIGN_THEMES: &[&str] = &[
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

const AUDIENCES: &[&str] = &[
    "Lookalike 1%",
    "Women 18–24",
    "Interests: Café",
    "Broad",
    "Zürich Radius 10 km",
    "Retargeting 30d",
];

const CREATIVE_KINDS: &[&str] = &[
    "Video 10s",
    "Collection – Shoes",
    "Story Ad",
    "Lens “Try-on”",
    "Single Image",
];

const CALLS_TO_ACTION: &[&str] = &["SHOP_NOW", "INSTALL_NOW", "WATCH", "SIGN_UP", "MORE"];

const COUNTRIES: &[&str] = &["us", "gb", "de", "fr", "ca", "au", "jp", "br", "nl", "se"];

/// A budget in micro-currency: a whole number of major units in `low..=high`, scaled for
/// currencies whose unit is worth little.
fn budget_micro(seed: Seed, currency: &str, low: u64, high: u64) -> u64 {
    seed.between(low, high) * currency_scale(currency) * 1_000_000
}

/// How many units of the currency buy about one US dollar's worth of ads.
fn currency_scale(currency: &str) -> u64 {
    match currency {
        "JPY" => 150,
        _ => 1,
    }
}

/// The account facts for `account_id`, or `None` if it is not a UUID. Upper-case ids name the
/// same account as their lower-case form.
pub fn account(account_id: &str) -> Option<AccountFacts> {
    if !is_valid_account_id(account_id) {
        return None;
    }
    let id = account_id.to_ascii_lowercase();
    let seed = Seed::new("snapchat_ads/account").with_str(&id);
    let known = KNOWN_ACCOUNTS.iter().find(|known| known.0 == id);
    let (name, time_zone, currency) = match known {
        Some((_, name, time_zone, currency)) => ((*name).to_owned(), *time_zone, *currency),
        None => (
            format!("Sandbox Ad Account {}", &id[..8]),
            seed.with_u64(1).pick(TIME_ZONES)?,
            seed.with_u64(2).pick(CURRENCIES)?,
        ),
    };
    let organization_id = ORGANIZATIONS
        .iter()
        .find(|(_, _, accounts)| accounts.contains(&id.as_str()))
        .map_or(ORGANIZATIONS[0].0, |(org, _, _)| *org)
        .to_owned();
    let country_count = usize::try_from(seed.with_u64(3).between(2, 4)).unwrap_or(2);
    let first = usize::try_from(seed.with_u64(4).below(COUNTRIES.len() as u64)).unwrap_or(0);
    let countries = (0..country_count)
        .map(|i| COUNTRIES[(first + i) % COUNTRIES.len()])
        .collect();
    let large = id == LARGE_ACCOUNT_ID;
    let campaign_count = if large {
        55
    } else {
        seed.with_u64(5).between(2, 5)
    };
    let campaigns = (1..=campaign_count)
        .map(|c| campaign(&id, seed, c, currency, large))
        .collect();
    Some(AccountFacts {
        id: id.clone(),
        name,
        organization_id,
        time_zone,
        currency,
        countries,
        delivers: id != NO_DELIVERY_ACCOUNT_ID,
        readable: id != FORBIDDEN_ACCOUNT_ID,
        campaigns,
    })
}

fn campaign(account_id: &str, account: Seed, c: u64, currency: &str, large: bool) -> CampaignFacts {
    let cs = account.with_u64(100 + c);
    let theme = cs.with_u64(1).pick(CAMPAIGN_THEMES).unwrap_or("Campaign");
    // The first campaign is always old and the second always recent, so every account has both.
    // The large account is a fast-growing one: all its other campaigns are recent.
    let recent = match c {
        1 => false,
        2 => true,
        _ => large || cs.with_u64(2).below(2) == 0,
    };
    let start = if recent {
        CampaignStart::DaysBeforeToday(u32::try_from(cs.with_u64(3).between(3, 40)).unwrap_or(20))
    } else {
        let epoch = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or(NaiveDate::MIN);
        CampaignStart::On(
            epoch
                .checked_add_days(Days::new(cs.with_u64(4).below(700)))
                .unwrap_or(epoch),
        )
    };
    let status = if cs.with_u64(5).below(5) == 0 {
        Status::Paused
    } else {
        Status::Active
    };
    let daily_budget_micro =
        (cs.with_u64(6).below(3) != 0).then(|| budget_micro(cs.with_u64(7), currency, 50, 500));
    let lifetime_spend_cap_micro = (cs.with_u64(8).below(3) == 0)
        .then(|| budget_micro(cs.with_u64(9), currency, 5_000, 50_000));
    let squad_count = if large {
        1
    } else {
        cs.with_u64(10).between(1, 3)
    };
    let adsquads = (1..=squad_count)
        .map(|a| {
            let ss = cs.with_u64(200 + a);
            let audience = ss.with_u64(1).pick(AUDIENCES).unwrap_or("Broad");
            let daily = ss.with_u64(2).below(2) == 0;
            let ad_count = if large {
                1 + (c % 2)
            } else {
                ss.with_u64(3).between(1, 3)
            };
            let ads = (1..=ad_count)
                .map(|d| {
                    let ds = ss.with_u64(300 + d);
                    let kind = ds.with_u64(1).pick(CREATIVE_KINDS).unwrap_or("Creative");
                    AdFacts {
                        id: uuid(
                            Seed::new("snapchat_ads/ad")
                                .with_str(account_id)
                                .with_u64(c * 10_000 + a * 100 + d),
                        ),
                        name: format!("Ad {c}.{a}.{d} · {kind}"),
                        status: if ds.with_u64(2).below(6) == 0 {
                            Status::Paused
                        } else {
                            Status::Active
                        },
                        creative: CreativeFacts {
                            id: uuid(
                                Seed::new("snapchat_ads/creative")
                                    .with_str(account_id)
                                    .with_u64(c * 10_000 + a * 100 + d),
                            ),
                            name: format!("Creative {c}.{a}.{d} · {kind}"),
                            headline: format!("{theme} – {kind}"),
                            call_to_action: ds.with_u64(3).pick(CALLS_TO_ACTION).unwrap_or("MORE"),
                        },
                    }
                })
                .collect();
            AdSquadFacts {
                id: uuid(
                    Seed::new("snapchat_ads/adsquad")
                        .with_str(account_id)
                        .with_u64(c * 100 + a),
                ),
                name: format!("Ad Squad {c}.{a} · {audience}"),
                status: if ss.with_u64(4).below(5) == 0 {
                    Status::Paused
                } else {
                    Status::Active
                },
                daily_budget_micro: daily.then(|| budget_micro(ss.with_u64(5), currency, 20, 300)),
                lifetime_budget_micro: (!daily)
                    .then(|| budget_micro(ss.with_u64(6), currency, 1_000, 20_000)),
                ads,
            }
        })
        .collect();
    CampaignFacts {
        id: uuid(
            Seed::new("snapchat_ads/campaign")
                .with_str(account_id)
                .with_u64(c),
        ),
        name: format!("Campaign {c} · {theme}"),
        status,
        objective: cs.with_u64(11).pick(OBJECTIVES).unwrap_or("WEB_CONVERSION"),
        start,
        daily_budget_micro,
        lifetime_spend_cap_micro,
        adsquads,
    }
}

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
    const fn per_mille(self) -> u64 {
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
    const fn per_mille(self) -> u64 {
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

/// Additive delivery metrics; money in micro-currency.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Metrics {
    /// Times an ad was shown.
    pub impressions: u64,
    /// Swipe-ups (Snapchat's clicks), never more than impressions.
    pub swipes: u64,
    /// Amount spent, micro-currency.
    pub spend_micro: u64,
    /// Purchases attributed under the query's windows, as restated so far.
    pub conversion_purchases: u64,
    /// Value of those purchases, micro-currency.
    pub conversion_purchases_value_micro: u64,
}

impl Metrics {
    /// Adds `other` to `self`.
    pub fn add(&mut self, other: Metrics) {
        self.impressions += other.impressions;
        self.swipes += other.swipes;
        self.spend_micro += other.spend_micro;
        self.conversion_purchases += other.conversion_purchases;
        self.conversion_purchases_value_micro += other.conversion_purchases_value_micro;
    }

    /// Whether every number is zero (Snapchat's `omit_empty` drops such entries).
    pub fn is_empty(&self) -> bool {
        *self == Metrics::default()
    }
}

/// Delivery factor per day of week, per mille.
const fn weekday_factor(weekday: Weekday) -> u64 {
    match weekday {
        Weekday::Mon => 1_000,
        Weekday::Tue => 970,
        Weekday::Wed => 990,
        Weekday::Thu => 1_030,
        Weekday::Fri => 1_100,
        Weekday::Sat => 1_180,
        Weekday::Sun => 1_140,
    }
}

fn day_number(date: NaiveDate) -> u64 {
    u64::try_from(date.num_days_from_ce()).unwrap_or(0)
}

/// The delivery of one ad on one day over all countries, or `None` without delivery. `age_days`
/// is how old the day is (the account's today minus the date) and drives the restatement of
/// purchases. Does not know about campaign starts; callers check those.
pub fn ad_day_metrics(
    account: &AccountFacts,
    ad_id: &str,
    date: NaiveDate,
    age_days: i64,
    attribution: Attribution,
) -> Option<Metrics> {
    if !account.delivers {
        return None;
    }
    let ad = Seed::new("snapchat_ads/ad_metrics")
        .with_str(&account.id)
        .with_str(ad_id);
    let day = ad.with_u64(day_number(date));
    // About one ad-day in nine has no delivery at all.
    if day.with_u64(0).below(100) < 11 {
        return None;
    }
    let impressions = ad.with_u64(1).between(300, 40_000)
        * weekday_factor(date.weekday())
        * day.with_u64(1).between(600, 1_400)
        / 1_000_000;
    if impressions == 0 {
        return None;
    }
    // Swipe-up rate in units of 1/10 000 (0.2 % to about 2.6 %).
    let swipe_rate = ad.with_u64(2).between(20, 200) * day.with_u64(2).between(700, 1_300) / 1_000;
    let swipes = impressions * swipe_rate / 10_000;
    // Cost per thousand impressions, micro-currency.
    let cpm_micro = ad.with_u64(3).between(2_000_000, 12_000_000)
        * currency_scale(account.currency)
        * day.with_u64(3).between(850, 1_150)
        / 1_000;
    let spend_micro = impressions * cpm_micro / 1_000;
    // Purchases after a swipe-up and after a view, before the attribution windows.
    let swipe_purchases = swipes * day.with_u64(4).between(10, 80) / 1_000;
    let view_purchases = impressions * day.with_u64(5).between(0, 3) / 10_000;
    let purchases = swipe_purchases * attribution.swipe_up.per_mille() / 1_000
        + view_purchases * attribution.view.per_mille() / 1_000;
    let order_value_micro = ad.with_u64(6).between(15, 120)
        * currency_scale(account.currency)
        * 1_000_000
        * day.with_u64(6).between(800, 1_200)
        / 1_000;
    let purchases = restated(purchases, age_days, RESTATEMENT_DAYS);
    Some(Metrics {
        impressions,
        swipes,
        spend_micro,
        conversion_purchases: purchases,
        conversion_purchases_value_micro: purchases * order_value_micro,
    })
}

/// Splits an ad-day's metrics over the account's countries: each metric is shared by weight, the
/// first country taking the rounding remainder, so the parts add up to the whole exactly; the
/// purchase value is shared like the purchases.
pub fn split_by_country(
    account: &AccountFacts,
    ad_id: &str,
    date: NaiveDate,
    total: Metrics,
) -> Vec<(&'static str, Metrics)> {
    let seed = Seed::new("snapchat_ads/country_split")
        .with_str(&account.id)
        .with_str(ad_id)
        .with_u64(day_number(date));
    let weights: Vec<u64> = (0..account.countries.len())
        .map(|i| seed.with_u64(i as u64).between(1, 10) * (10 - i.min(9) as u64))
        .collect();
    let sum: u64 = weights.iter().sum::<u64>().max(1);
    let share = |value: u64| -> Vec<u64> {
        let mut parts: Vec<u64> = weights
            .iter()
            .map(|weight| {
                u64::try_from(u128::from(value) * u128::from(*weight) / u128::from(sum))
                    .unwrap_or(0)
            })
            .collect();
        let given: u64 = parts.iter().sum();
        if let Some(first) = parts.first_mut() {
            *first += value - given;
        }
        parts
    };
    let impressions = share(total.impressions);
    let swipes = share(total.swipes);
    let spend = share(total.spend_micro);
    let purchases = share(total.conversion_purchases);
    // The value follows the purchases, so a country without purchases has no purchase value.
    let value = {
        let all: u64 = purchases.iter().sum();
        let mut parts: Vec<u64> = purchases
            .iter()
            .map(|count| {
                u64::try_from(
                    u128::from(total.conversion_purchases_value_micro) * u128::from(*count)
                        / u128::from(all.max(1)),
                )
                .unwrap_or(0)
            })
            .collect();
        let given: u64 = parts.iter().sum();
        let first = purchases.iter().position(|count| *count > 0).unwrap_or(0);
        if let Some(part) = parts.get_mut(first) {
            *part += total.conversion_purchases_value_micro - given;
        }
        parts
    };
    account
        .countries
        .iter()
        .enumerate()
        .map(|(i, country)| {
            (
                *country,
                Metrics {
                    impressions: impressions[i],
                    swipes: swipes[i],
                    spend_micro: spend[i],
                    conversion_purchases: purchases[i],
                    conversion_purchases_value_micro: value[i],
                },
            )
        })
        .collect()
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

/// One entity of an account at some level, with the ads (and their start dates) it sums.
#[derive(Debug, Clone)]
pub(crate) struct Entity<'a> {
    pub(crate) level: Level,
    pub(crate) id: &'a str,
    pub(crate) campaign: Option<&'a CampaignFacts>,
    pub(crate) adsquad: Option<&'a AdSquadFacts>,
    pub(crate) ad: Option<&'a AdFacts>,
    pub(crate) ads: Vec<(&'a AdFacts, &'a CampaignFacts)>,
}

/// Every entity of `level` in the account, in listing order.
pub(crate) fn entities(account: &AccountFacts, level: Level) -> Vec<Entity<'_>> {
    fn all_ads(campaign: &CampaignFacts) -> Vec<(&AdFacts, &CampaignFacts)> {
        campaign
            .adsquads
            .iter()
            .flat_map(|squad| squad.ads.iter())
            .map(|ad| (ad, campaign))
            .collect()
    }
    match level {
        Level::AdAccount => vec![Entity {
            level,
            id: &account.id,
            campaign: None,
            adsquad: None,
            ad: None,
            ads: account.campaigns.iter().flat_map(all_ads).collect(),
        }],
        Level::Campaign => account
            .campaigns
            .iter()
            .map(|campaign| Entity {
                level,
                id: &campaign.id,
                campaign: Some(campaign),
                adsquad: None,
                ad: None,
                ads: all_ads(campaign),
            })
            .collect(),
        Level::AdSquad => account
            .campaigns
            .iter()
            .flat_map(|campaign| {
                campaign.adsquads.iter().map(move |squad| Entity {
                    level,
                    id: &squad.id,
                    campaign: Some(campaign),
                    adsquad: Some(squad),
                    ad: None,
                    ads: squad.ads.iter().map(|ad| (ad, campaign)).collect(),
                })
            })
            .collect(),
        Level::Ad => account
            .campaigns
            .iter()
            .flat_map(|campaign| {
                campaign.adsquads.iter().flat_map(move |squad| {
                    squad.ads.iter().map(move |ad| Entity {
                        level,
                        id: &ad.id,
                        campaign: Some(campaign),
                        adsquad: Some(squad),
                        ad: Some(ad),
                        ads: vec![(ad, campaign)],
                    })
                })
            })
            .collect(),
    }
}

impl Entity<'_> {
    /// The entity's delivery on `date`, per country (in the account's country order) or, with
    /// `by_country` false, as one total under the empty country.
    pub(crate) fn day(
        &self,
        account: &AccountFacts,
        date: NaiveDate,
        today: NaiveDate,
        attribution: Attribution,
        by_country: bool,
    ) -> Vec<(&'static str, Metrics)> {
        let age = (today - date).num_days();
        let mut total = Metrics::default();
        let mut countries: Vec<(&'static str, Metrics)> = account
            .countries
            .iter()
            .map(|country| (*country, Metrics::default()))
            .collect();
        for (ad, campaign) in &self.ads {
            if date < campaign.start_date(today) || date > today {
                continue;
            }
            let Some(metrics) = ad_day_metrics(account, &ad.id, date, age, attribution) else {
                continue;
            };
            total.add(metrics);
            if by_country {
                for (slot, (_, part)) in countries
                    .iter_mut()
                    .zip(split_by_country(account, &ad.id, date, metrics))
                {
                    slot.1.add(part);
                }
            }
        }
        if by_country {
            countries
        } else {
            vec![("", total)]
        }
    }
}

/// One stats row as the platform knows it: a day, an entity (and its parents), a country if
/// the query broke down by country, and exact metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthRow {
    /// The reporting day in the account's time zone.
    pub date: NaiveDate,
    /// Present at campaign level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// Present at campaign level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_name: Option<String>,
    /// Present at ad squad level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adsquad_id: Option<String>,
    /// Present at ad squad level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adsquad_name: Option<String>,
    /// Present at ad level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_id: Option<String>,
    /// Present at ad level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_name: Option<String>,
    /// Lower-case ISO country code, with a country breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The metrics.
    #[serde(flatten)]
    pub metrics: Metrics,
}

/// The stats rows of `account_id` at `level` for the days `since..=until` (in the account's
/// time zone), as the DAY-granularity stats endpoint serves them with `omit_empty=true`: days
/// (and countries) without delivery are left out, and so are days after `today` (the account's
/// today, see [`crate::Sandbox::today_for`]). Rows are ordered by entity in listing order, then
/// by date, then by country in the account's order. An id that is not a UUID gives no rows.
pub fn stats_truth(
    account_id: &str,
    level: Level,
    since: NaiveDate,
    until: NaiveDate,
    today: NaiveDate,
    attribution: Attribution,
    by_country: bool,
) -> Vec<TruthRow> {
    let Some(account) = account(account_id) else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for entity in entities(&account, level) {
        let mut date = since;
        while date <= until.min(today) {
            for (country, metrics) in entity.day(&account, date, today, attribution, by_country) {
                if metrics.is_empty() {
                    continue;
                }
                rows.push(TruthRow {
                    date,
                    campaign_id: entity.campaign.map(|c| c.id.clone()),
                    campaign_name: entity.campaign.map(|c| c.name.clone()),
                    adsquad_id: entity.adsquad.map(|s| s.id.clone()),
                    adsquad_name: entity.adsquad.map(|s| s.name.clone()),
                    ad_id: entity.ad.map(|a| a.id.clone()),
                    ad_name: entity.ad.map(|a| a.name.clone()),
                    country: by_country.then(|| country.to_owned()),
                    metrics,
                });
            }
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
    }
    rows
}

/// The instant a day starts in `time_zone` (local midnight; where midnight falls in a DST gap,
/// the first instant after the gap).
pub fn day_start(time_zone: Tz, date: NaiveDate) -> DateTime<Tz> {
    let midnight = date.and_time(NaiveTime::MIN);
    if let Some(start) = time_zone.from_local_datetime(&midnight).earliest() {
        return start;
    }
    (1..=4)
        .find_map(|hours| {
            time_zone
                .from_local_datetime(&(midnight + Duration::hours(hours)))
                .earliest()
        })
        .unwrap_or_else(|| time_zone.from_utc_datetime(&midnight))
}

/// An instant as Snapchat writes it: milliseconds and the account's offset, `Z` for UTC
/// (`2025-06-01T00:00:00.000-07:00`, `2025-01-01T00:00:00.000Z`).
pub fn render_time(time: DateTime<Tz>) -> String {
    use chrono::Offset as _;
    let fixed = time.offset().fix();
    if fixed.local_minus_utc() == 0 {
        format!("{}Z", time.format("%Y-%m-%dT%H:%M:%S%.3f"))
    } else {
        time.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn accounts_are_deterministic_and_well_formed() {
        for (id, _, _) in [
            (LARGE_ACCOUNT_ID, 0, 0),
            ("0a1b2c3d-0000-4000-8000-000000000001", 0, 0),
        ] {
            let account = account(id).unwrap();
            assert_eq!(Some(account.clone()), super::account(&id.to_uppercase()));
            let mut ids = vec![account.id.clone()];
            for campaign in &account.campaigns {
                ids.push(campaign.id.clone());
                for squad in &campaign.adsquads {
                    ids.push(squad.id.clone());
                    for ad in &squad.ads {
                        ids.push(ad.id.clone());
                        ids.push(ad.creative.id.clone());
                    }
                }
            }
            assert!(ids.iter().all(|id| is_valid_account_id(id)));
            let unique: std::collections::HashSet<_> = ids.iter().collect();
            assert_eq!(unique.len(), ids.len(), "ids are unique");
            assert!(matches!(account.campaigns[0].start, CampaignStart::On(_)));
            assert!(matches!(
                account.campaigns[1].start,
                CampaignStart::DaysBeforeToday(_)
            ));
        }
        let large = account(LARGE_ACCOUNT_ID).unwrap();
        let ads: usize = large
            .campaigns
            .iter()
            .flat_map(|c| &c.adsquads)
            .map(|s| s.ads.len())
            .sum();
        assert!(large.campaigns.len() > 50 && ads > 50);
        assert!(account("not-a-uuid").is_none());
    }

    #[test]
    fn known_accounts_have_their_documented_facts() {
        let tokyo = account("5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d").unwrap();
        assert_eq!((tokyo.time_zone, tokyo.currency), (Tz::Asia__Tokyo, "JPY"));
        assert!(!account(FORBIDDEN_ACCOUNT_ID).unwrap().readable);
        assert_eq!(
            account(LARGE_ACCOUNT_ID).unwrap().organization_id,
            ORGANIZATIONS[1].0
        );
    }

    #[test]
    fn levels_and_countries_add_up() {
        let today = date("2025-06-30");
        let since = date("2025-06-01");
        let id = KNOWN_ACCOUNTS[0].0;
        let total = |level, by_country| {
            stats_truth(
                id,
                level,
                since,
                today,
                today,
                Attribution::default(),
                by_country,
            )
            .iter()
            .fold(Metrics::default(), |mut sum, row| {
                sum.add(row.metrics);
                sum
            })
        };
        let account_total = total(Level::AdAccount, false);
        assert!(account_total.impressions > 0 && account_total.conversion_purchases > 0);
        for level in Level::ALL {
            assert_eq!(total(*level, false), account_total, "{level}");
            assert_eq!(total(*level, true), account_total, "{level} by country");
        }
    }

    #[test]
    fn the_no_delivery_account_has_no_rows() {
        let today = date("2025-06-30");
        assert!(
            stats_truth(
                NO_DELIVERY_ACCOUNT_ID,
                Level::Ad,
                date("2025-01-01"),
                today,
                today,
                Attribution::default(),
                false
            )
            .is_empty()
        );
    }

    #[test]
    fn purchases_settle_over_28_days_and_depend_on_the_windows() {
        let account = account(KNOWN_ACCOUNTS[0].0).unwrap();
        let ad = &account.campaigns[0].adsquads[0].ads[0].id;
        let day = (0..60)
            .map(|n| date("2025-03-01") + Duration::days(n))
            .find(|day| {
                ad_day_metrics(&account, ad, *day, 40, Attribution::default())
                    .is_some_and(|m| m.conversion_purchases > 10)
            })
            .unwrap();
        let at = |age| {
            ad_day_metrics(&account, ad, day, age, Attribution::default())
                .unwrap()
                .conversion_purchases
        };
        assert!(at(0) < at(10) && at(10) < at(28));
        assert_eq!(at(28), at(100));
        let narrow = Attribution {
            swipe_up: SwipeWindow::OneDay,
            view: ViewWindow::OneHour,
        };
        let narrow = ad_day_metrics(&account, ad, day, 40, narrow).unwrap();
        assert!(narrow.conversion_purchases < at(40));
        assert_eq!(
            narrow.impressions,
            ad_day_metrics(&account, ad, day, 40, Attribution::default())
                .unwrap()
                .impressions
        );
    }

    #[test]
    fn days_start_at_local_midnight_across_dst() {
        let la = Tz::America__Los_Angeles;
        assert_eq!(
            render_time(day_start(la, date("2025-03-09"))),
            "2025-03-09T00:00:00.000-08:00"
        );
        assert_eq!(
            render_time(day_start(la, date("2025-03-10"))),
            "2025-03-10T00:00:00.000-07:00"
        );
        assert_eq!(
            render_time(day_start(Tz::Europe__London, date("2025-01-01"))),
            "2025-01-01T00:00:00.000Z"
        );
        // Midnight does not exist in Santiago on the day DST starts; the day starts at 01:00.
        let santiago = Tz::America__Santiago;
        assert_eq!(
            render_time(day_start(santiago, date("2024-09-08"))),
            "2024-09-08T01:00:00.000-03:00"
        );
    }
}
