//! Deterministic Meta ad accounts and their delivery data.
//!
//! Every account id made of digits exists. Its name, time zone, currency and campaign tree
//! (campaigns with status, objective and budget; ad sets; ads with their creative) come from a
//! stable hash of the id, except [`EMPTY_ACCOUNT_ID`], which has no campaigns at all, and
//! [`CONTROL_NAMES_ACCOUNT_ID`], whose account and campaign names hold control characters. Metrics are
//! generated per (account, ad, date), split over breakdown cells per ad (see `breakdowns`), and
//! summed up the tree, so every level and every breakdown agrees with the others. The insights
//! endpoint renders exactly these rows, and tests compare what a client synced against
//! [`insights_truth`] and [`insights_truth_for`].
//!
//! Delivery numbers (impressions, clicks, reach, spend) for a date never change. Conversions
//! (`purchase` actions and their value) are restated: they grow with the age of the day until
//! [`RESTATEMENT_HORIZON_DAYS`] (see `crate::restatement`), so re-reading a window after the clock
//! moved gives new numbers, as Meta's attribution does.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::breakdowns::{self, Breakdown, Cells, Key};
use crate::decimal;
use crate::restatement::restated;
use crate::rng::Seed;
use crate::state::AccountTimeZone;

/// Days after which a day's conversions are final (Meta freezes insights after 28 days).
pub const RESTATEMENT_HORIZON_DAYS: u32 = 28;

/// An ad account that exists but has no campaigns, hence no entities and no insights rows.
pub const EMPTY_ACCOUNT_ID: &str = "1000000000";

/// An ad account whose name and campaign names hold U+0000 and other control characters, as
/// advertisers can type them into Ads Manager and the Graph API returns them (JSON-escaped).
pub const CONTROL_NAMES_ACCOUNT_ID: &str = "1000000001";

/// The ad accounts every sandbox login reaches (`/me/adaccounts`) by default.
pub const REACHABLE_ACCOUNT_IDS: &[&str] = &["1001", "1002", "1100", EMPTY_ACCOUNT_ID];

/// The accounts of [`REACHABLE_ACCOUNT_IDS`].
pub fn reachable_accounts() -> Vec<AccountFacts> {
    REACHABLE_ACCOUNT_IDS
        .iter()
        .filter_map(|id| account(id))
        .collect()
}

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

/// The currencies sandbox accounts are billed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    /// US dollar.
    #[serde(rename = "USD")]
    Usd,
    /// Euro.
    #[serde(rename = "EUR")]
    Eur,
    /// Pound sterling.
    #[serde(rename = "GBP")]
    Gbp,
    /// Japanese yen: no minor unit, so spend is whole yen.
    #[serde(rename = "JPY")]
    Jpy,
    /// Australian dollar.
    #[serde(rename = "AUD")]
    Aud,
    /// Brazilian real.
    #[serde(rename = "BRL")]
    Brl,
}

impl Currency {
    /// Every currency, in the order the hash picks from.
    pub const ALL: &'static [Currency] = &[
        Currency::Usd,
        Currency::Eur,
        Currency::Gbp,
        Currency::Jpy,
        Currency::Aud,
        Currency::Brl,
    ];

    /// The ISO 4217 code.
    pub const fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
            Currency::Jpy => "JPY",
            Currency::Aud => "AUD",
            Currency::Brl => "BRL",
        }
    }

    /// Decimal places of the minor unit (2 for cents, 0 for yen).
    pub const fn decimals(self) -> u32 {
        match self {
            Currency::Jpy => 0,
            _ => 2,
        }
    }

    /// The country most of the account's delivery is in.
    pub const fn home_country(self) -> &'static str {
        match self {
            Currency::Usd => "US",
            Currency::Eur => "DE",
            Currency::Gbp => "GB",
            Currency::Jpy => "JP",
            Currency::Aud => "AU",
            Currency::Brl => "BR",
        }
    }

    /// Budgets are whole multiples of this many minor units (one dollar; a hundred yen).
    const fn budget_step(self) -> u64 {
        100
    }

    /// The range of the cost per thousand impressions, in minor units.
    const fn cpm_range(self) -> (u64, u64) {
        match self {
            Currency::Usd => (300, 2_500),
            Currency::Eur => (300, 2_200),
            Currency::Gbp => (250, 2_000),
            Currency::Jpy => (400, 3_000),
            Currency::Aud => (500, 3_000),
            Currency::Brl => (1_000, 6_000),
        }
    }
}

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

/// Everything fixed about one sandbox ad account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFacts {
    /// The account id, digits only (no `act_`).
    pub id: String,
    /// `Sandbox Account <id>`.
    pub name: String,
    /// The account's time zone; its reporting days are days in this zone.
    pub time_zone: Tz,
    /// The account's currency.
    pub currency: Currency,
    /// The countries the account delivers in (`country` breakdown values), home market first.
    pub countries: &'static [&'static str],
    /// The campaigns, in ascending id order.
    pub campaigns: Vec<CampaignFacts>,
}

impl AccountFacts {
    /// Ads whose own, ad set and campaign status are all `ACTIVE` (Meta's rate limits grow with
    /// them).
    pub fn active_ads(&self) -> usize {
        self.campaigns
            .iter()
            .filter(|campaign| campaign.status == Status::Active)
            .flat_map(|campaign| &campaign.adsets)
            .filter(|adset| adset.status == Status::Active)
            .flat_map(|adset| &adset.ads)
            .filter(|ad| ad.status == Status::Active)
            .count()
    }
}

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

/// The creative an ad shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreativeFacts {
    /// Numeric id as a string; larger than 2^53.
    pub id: String,
    /// Display name.
    pub name: String,
}

impl AccountTimeZone for AccountFacts {
    fn account_time_zone(&self) -> Tz {
        self.time_zone
    }
}

/// One campaign of a sandbox account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignFacts {
    /// Numeric id as a string; larger than 2^53.
    pub id: String,
    /// Display name, sometimes with non-ASCII characters.
    pub name: String,
    /// `ACTIVE` or `PAUSED`.
    pub status: Status,
    /// The ODAX objective, e.g. `OUTCOME_SALES`.
    pub objective: &'static str,
    /// The campaign budget (Advantage campaign budget); `None` when the ad sets carry budgets.
    pub budget: Option<Budget>,
    /// When the campaign started delivering; no rows exist before it.
    pub start: CampaignStart,
    /// The ad sets, in ascending id order.
    pub adsets: Vec<AdSetFacts>,
}

impl CampaignFacts {
    /// The first date with delivery, given the account's today.
    pub fn start_date(&self, today: NaiveDate) -> NaiveDate {
        self.start.date(today)
    }
}

/// When a campaign started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignStart {
    /// A fixed date, long ago.
    On(NaiveDate),
    /// A recent start that stays this many days before the account's today, so a sync window of
    /// the last few weeks always contains a campaign that begins inside it. With a running
    /// clock this start moves forward one day per day.
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

/// One ad set of a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdSetFacts {
    /// Numeric id as a string; larger than 2^53.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `ACTIVE` or `PAUSED`.
    pub status: Status,
    /// The ad set's budget; `None` when its campaign has one.
    pub budget: Option<Budget>,
    /// The ads, in ascending id order.
    pub ads: Vec<AdFacts>,
}

/// One ad of an ad set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdFacts {
    /// Numeric id as a string; larger than 2^53.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `ACTIVE` or `PAUSED`.
    pub status: Status,
    /// The creative the ad shows.
    pub creative: CreativeFacts,
}

/// Whether `account_id` is a valid Meta ad account id (digits, without `act_`).
pub fn is_valid_account_id(account_id: &str) -> bool {
    !account_id.is_empty()
        && account_id.len() <= 20
        && account_id.bytes().all(|byte| byte.is_ascii_digit())
}

const CAMPAIGN_THEMES: &[&str] = &[
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

const AUDIENCES: &[&str] = &[
    "Lookalike 1%",
    "Women 25–34",
    "Interests: Café",
    "Broad",
    "München Radius 10 km",
    "Remarketing 30d",
];

const OBJECTIVES: &[&str] = &[
    "OUTCOME_SALES",
    "OUTCOME_TRAFFIC",
    "OUTCOME_AWARENESS",
    "OUTCOME_ENGAGEMENT",
    "OUTCOME_LEADS",
    "OUTCOME_APP_PROMOTION",
];

const CREATIVES: &[&str] = &[
    "Video 15s",
    "Carousel – Shoes",
    "Static Image",
    "UGC “Testimonial”",
    "Story 9:16",
];

/// Entity ids are this base plus an account part and a local part, which keeps them above 2^53
/// like real Meta ids and in ascending order within an account.
const ID_BASE: u64 = 120_200_000_000_000_000;

/// One in five objects is paused, the rest active.
fn status(seed: Seed) -> Status {
    if seed.below(5) == 0 {
        Status::Paused
    } else {
        Status::Active
    }
}

/// A daily budget (two in three) or a lifetime budget, in whole budget steps.
fn budget(seed: Seed, currency: Currency) -> Budget {
    let step = currency.budget_step();
    if seed.with_u64(1).below(3) < 2 {
        Budget::Daily(seed.with_u64(2).between(20, 500) * step)
    } else {
        Budget::Lifetime(seed.with_u64(3).between(500, 20_000) * step)
    }
}

/// The account facts for `account_id`, or `None` if it is not a valid id.
pub fn account(account_id: &str) -> Option<AccountFacts> {
    if !is_valid_account_id(account_id) {
        return None;
    }
    let seed = Seed::new("meta_ads/account").with_str(account_id);
    let time_zone = seed.with_u64(1).pick(TIME_ZONES)?;
    let currency = seed.with_u64(2).pick(Currency::ALL)?;
    let id_prefix = ID_BASE + seed.with_u64(3).below(100_000_000_000_000) * 1_000;
    let campaign_count = if account_id == EMPTY_ACCOUNT_ID {
        0
    } else {
        seed.with_u64(4).between(2, 6)
    };

    let campaigns = (1..=campaign_count)
        .map(|c| {
            let cs = seed.with_u64(100 + c);
            let theme = cs.with_u64(1).pick(CAMPAIGN_THEMES).unwrap_or("Campaign");
            // The first campaign is always old and the second always recent, so every account
            // has both kinds; the rest are drawn.
            let recent = match c {
                1 => false,
                2 => true,
                _ => cs.with_u64(2).below(2) == 0,
            };
            let start = if recent {
                CampaignStart::DaysBeforeToday(
                    u32::try_from(cs.with_u64(3).between(3, 45)).unwrap_or(30),
                )
            } else {
                let epoch = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or(NaiveDate::MIN);
                CampaignStart::On(
                    epoch
                        .checked_add_days(Days::new(cs.with_u64(4).below(700)))
                        .unwrap_or(epoch),
                )
            };
            // About half the campaigns use a campaign budget; the others budget their ad sets.
            let campaign_budget =
                (cs.with_u64(6).below(2) == 0).then(|| budget(cs.with_u64(7), currency));
            let adset_count = cs.with_u64(5).between(1, 3);
            let adsets = (1..=adset_count)
                .map(|a| {
                    let asd = cs.with_u64(200 + a);
                    let audience = asd.with_u64(1).pick(AUDIENCES).unwrap_or("Broad");
                    let ad_count = asd.with_u64(2).between(1, 3);
                    let ads = (1..=ad_count)
                        .map(|d| {
                            let creative = asd.with_u64(300 + d).pick(CREATIVES).unwrap_or("Ad");
                            let ad_id = id_prefix + c * 100 + a * 10 + d;
                            AdFacts {
                                id: ad_id.to_string(),
                                name: format!("Ad {c}.{a}.{d} · {creative}"),
                                status: status(asd.with_u64(400 + d)),
                                creative: CreativeFacts {
                                    // Creatives live in their own id range, above the ads'.
                                    id: (ad_id + 50_000_000_000_000).to_string(),
                                    name: format!("{creative} #{c}{a}{d}"),
                                },
                            }
                        })
                        .collect();
                    AdSetFacts {
                        id: (id_prefix + c * 100 + a * 10).to_string(),
                        name: format!("Ad Set {c}.{a} · {audience}"),
                        status: status(asd.with_u64(3)),
                        budget: campaign_budget
                            .is_none()
                            .then(|| budget(asd.with_u64(4), currency)),
                        ads,
                    }
                })
                .collect();
            CampaignFacts {
                id: (id_prefix + c * 100).to_string(),
                name: if account_id == CONTROL_NAMES_ACCOUNT_ID {
                    format!("Campaign {c}\u{0} · {theme}\u{1}")
                } else {
                    format!("Campaign {c} · {theme}")
                },
                // The first campaign always runs, so every account delivers today.
                status: if c == 1 {
                    Status::Active
                } else {
                    status(cs.with_u64(8))
                },
                objective: cs.with_u64(9).pick(OBJECTIVES).unwrap_or("OUTCOME_SALES"),
                budget: campaign_budget,
                start,
                adsets,
            }
        })
        .collect();

    Some(AccountFacts {
        id: account_id.to_owned(),
        name: if account_id == CONTROL_NAMES_ACCOUNT_ID {
            format!("Sandbox\u{0}Account\t{account_id}")
        } else {
            format!("Sandbox Account {account_id}")
        },
        time_zone,
        currency,
        countries: breakdowns::countries_for(currency.home_country()),
        campaigns,
    })
}

/// Additive delivery metrics; money in the currency's minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Times an ad was shown.
    pub impressions: u64,
    /// Clicks of any kind, never more than impressions.
    pub clicks: u64,
    /// Link clicks (`inline_link_clicks`, the `link_click` action), at most the clicks.
    pub link_clicks: u64,
    /// People reached (summed, not deduplicated, across children), never more than impressions.
    pub reach: u64,
    /// Amount spent in minor units (cents; whole yen for JPY).
    pub spend_minor: u64,
    /// Purchases attributed to the ad (the `purchase` and
    /// `offsite_conversion.fb_pixel_purchase` actions).
    pub purchases: u64,
    /// The value of those purchases, in minor units.
    pub purchase_value_minor: u64,
}

impl Metrics {
    pub(crate) fn add(&mut self, other: Metrics) {
        self.impressions += other.impressions;
        self.clicks += other.clicks;
        self.link_clicks += other.link_clicks;
        self.reach += other.reach;
        self.spend_minor += other.spend_minor;
        self.purchases += other.purchases;
        self.purchase_value_minor += other.purchase_value_minor;
    }

    /// The same delivery with conversions as reported on `today` for a day of `date`: the
    /// purchases grow until the day is [`RESTATEMENT_HORIZON_DAYS`] old, and their value with
    /// them (the purchases attributed so far, at the day's average order value).
    pub fn restated(self, date: NaiveDate, today: NaiveDate) -> Metrics {
        let age = (today - date).num_days();
        let purchases = restated(self.purchases, age, RESTATEMENT_HORIZON_DAYS);
        let value = u128::from(self.purchase_value_minor) * u128::from(purchases)
            / u128::from(self.purchases.max(1));
        Metrics {
            purchases,
            purchase_value_minor: u64::try_from(value).unwrap_or(self.purchase_value_minor),
            ..self
        }
    }
}

/// Delivery factor per day of week, per mille (weekends deliver more).
const fn weekday_factor(weekday: Weekday) -> u64 {
    match weekday {
        Weekday::Mon => 1_000,
        Weekday::Tue => 980,
        Weekday::Wed => 1_000,
        Weekday::Thu => 1_020,
        Weekday::Fri => 1_080,
        Weekday::Sat => 1_150,
        Weekday::Sun => 1_120,
    }
}

/// The final delivery of one ad on one date (conversions as they are once the day is settled;
/// see [`Metrics::restated`]), or `None` when it had none (Meta omits such rows). Does not know
/// about campaign start dates; callers check those.
pub fn ad_day_metrics(
    account_id: &str,
    currency: Currency,
    ad_id: &str,
    date: NaiveDate,
) -> Option<Metrics> {
    let ad = Seed::new("meta_ads/ad")
        .with_str(account_id)
        .with_str(ad_id);
    let day = Seed::new("meta_ads/ad_day")
        .with_str(account_id)
        .with_str(ad_id)
        .with_u64(u64::try_from(date.num_days_from_ce()).unwrap_or(0));

    // About one ad-day in eight has no delivery at all.
    if day.with_u64(0).below(100) < 12 {
        return None;
    }
    let base_impressions = ad.with_u64(1).between(200, 25_000);
    let impressions =
        base_impressions * weekday_factor(date.weekday()) * day.with_u64(1).between(600, 1_400)
            / 1_000_000;
    if impressions == 0 {
        return None;
    }
    // Click-through rate in units of 1/10 000 (0.3 % to about 3.9 %).
    let ctr = ad.with_u64(2).between(30, 300) * day.with_u64(2).between(700, 1_300) / 1_000;
    let clicks = impressions * ctr / 10_000;
    let link_clicks = clicks * day.with_u64(5).between(550, 900) / 1_000;
    let reach = (impressions * day.with_u64(3).between(550, 950) / 1_000).max(1);
    let (cpm_low, cpm_high) = currency.cpm_range();
    let cpm_minor =
        ad.with_u64(3).between(cpm_low, cpm_high) * day.with_u64(4).between(850, 1_150) / 1_000;
    let spend_minor = impressions * cpm_minor / 1_000;
    // Conversion rate per click in units of 1/10 000 (1 % to about 10 %), and an average order
    // value of 15 to 200 budget steps (dollars; hundreds of yen).
    let cvr = ad.with_u64(4).between(100, 800) * day.with_u64(6).between(600, 1_400) / 1_000;
    let purchases = clicks * cvr / 10_000;
    let order_value = ad.with_u64(5).between(1_500, 20_000) * currency.budget_step() / 100;
    let purchase_value_minor =
        purchases * order_value * day.with_u64(7).between(800, 1_200) / 1_000;
    Some(Metrics {
        impressions,
        clicks,
        link_clicks,
        reach,
        spend_minor,
        purchases,
        purchase_value_minor,
    })
}

/// How rows are bucketed in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeIncrement {
    /// One row per day (`time_increment=1`).
    Daily,
    /// One row for the whole range (`time_increment=all_days`).
    AllDays,
}

/// One insights row as the platform knows it: dimensions, breakdown values, dates, exact
/// metrics, and the text the API renders for each metric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthRow {
    /// The account id without `act_`.
    pub account_id: String,
    /// The account name.
    pub account_name: String,
    /// The account currency code.
    pub account_currency: String,
    /// Present at campaign level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// Present at campaign level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_name: Option<String>,
    /// Present at ad set level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adset_id: Option<String>,
    /// Present at ad set level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adset_name: Option<String>,
    /// Present at ad level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_id: Option<String>,
    /// Present at ad level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_name: Option<String>,
    /// Present with the `age` breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<String>,
    /// Present with the `gender` breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// Present with the `country` breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Present with the `publisher_platform` breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher_platform: Option<String>,
    /// Present with the `platform_position` breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_position: Option<String>,
    /// First day of the row's bucket.
    pub date_start: NaiveDate,
    /// Last day of the row's bucket.
    pub date_stop: NaiveDate,
    /// Impressions.
    pub impressions: u64,
    /// Clicks.
    pub clicks: u64,
    /// Link clicks (`inline_link_clicks` and the `link_click` action).
    #[serde(default)]
    pub link_clicks: u64,
    /// Reach.
    pub reach: u64,
    /// Spend in minor units (cents; whole yen for JPY).
    pub spend_minor: u64,
    /// Spend exactly as the API renders it, e.g. `"5339.5"`.
    pub spend: String,
    /// Purchases as reported on the sandbox's today (restated until the day is settled).
    #[serde(default)]
    pub purchases: u64,
    /// Their value in minor units.
    #[serde(default)]
    pub purchase_value_minor: u64,
    /// Their value exactly as the API renders it in `action_values`.
    #[serde(default)]
    pub purchase_value: String,
    /// Click-through rate in percent as rendered; `None` without impressions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctr: Option<String>,
    /// Cost per click as rendered; `None` without clicks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpc: Option<String>,
    /// Cost per thousand impressions as rendered; `None` without impressions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpm: Option<String>,
    /// Impressions per person reached as rendered; `None` without reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<String>,
}

/// Derived ratios are rendered with at most this many decimals, like Meta does.
const RATIO_DECIMALS: u32 = 6;

impl TruthRow {
    fn new(
        account: &AccountFacts,
        entity: &Entity<'_>,
        key: &Key,
        date_start: NaiveDate,
        date_stop: NaiveDate,
        metrics: Metrics,
    ) -> Self {
        let currency = account.currency;
        let unit = 10u128.pow(currency.decimals());
        let Metrics {
            impressions,
            clicks,
            link_clicks,
            reach,
            spend_minor,
            purchases,
            purchase_value_minor,
        } = metrics;
        let (impressions_128, clicks_128, reach_128, spend_128) = (
            u128::from(impressions),
            u128::from(clicks),
            u128::from(reach),
            u128::from(spend_minor),
        );
        let value_of = |breakdown: Breakdown| {
            key.iter()
                .find(|(b, _)| *b == breakdown)
                .map(|(_, value)| (*value).to_owned())
        };
        TruthRow {
            account_id: account.id.clone(),
            account_name: account.name.clone(),
            account_currency: currency.code().to_owned(),
            campaign_id: entity.campaign.map(|c| c.id.clone()),
            campaign_name: entity.campaign.map(|c| c.name.clone()),
            adset_id: entity.adset.map(|a| a.id.clone()),
            adset_name: entity.adset.map(|a| a.name.clone()),
            ad_id: entity.ad.map(|a| a.id.clone()),
            ad_name: entity.ad.map(|a| a.name.clone()),
            age: value_of(Breakdown::Age),
            gender: value_of(Breakdown::Gender),
            country: value_of(Breakdown::Country),
            publisher_platform: value_of(Breakdown::PublisherPlatform),
            platform_position: value_of(Breakdown::PlatformPosition),
            date_start,
            date_stop,
            impressions,
            clicks,
            link_clicks,
            reach,
            spend_minor,
            spend: decimal::minor_units(spend_minor, currency.decimals()),
            purchases,
            purchase_value_minor,
            purchase_value: decimal::minor_units(purchase_value_minor, currency.decimals()),
            ctr: decimal::ratio(clicks_128 * 100, impressions_128, RATIO_DECIMALS),
            cpc: decimal::ratio(spend_128, clicks_128 * unit, RATIO_DECIMALS),
            cpm: decimal::ratio(spend_128 * 1_000, impressions_128 * unit, RATIO_DECIMALS),
            frequency: decimal::ratio(impressions_128, reach_128, RATIO_DECIMALS),
        }
    }

    /// The value of one breakdown in this row.
    pub fn breakdown(&self, breakdown: Breakdown) -> Option<&str> {
        match breakdown {
            Breakdown::Age => self.age.as_deref(),
            Breakdown::Gender => self.gender.as_deref(),
            Breakdown::Country => self.country.as_deref(),
            Breakdown::PublisherPlatform => self.publisher_platform.as_deref(),
            Breakdown::PlatformPosition => self.platform_position.as_deref(),
        }
    }
}

/// One object at a report level, with the ads (and their start dates) it sums over.
struct Entity<'a> {
    campaign: Option<&'a CampaignFacts>,
    adset: Option<&'a AdSetFacts>,
    ad: Option<&'a AdFacts>,
    ads: Vec<(&'a AdFacts, NaiveDate)>,
}

/// The objects of `level`, in ascending id order.
fn entities(account: &AccountFacts, level: Level, today: NaiveDate) -> Vec<Entity<'_>> {
    fn ads_of<'a>(
        campaign: &CampaignFacts,
        adset: &'a AdSetFacts,
        today: NaiveDate,
    ) -> Vec<(&'a AdFacts, NaiveDate)> {
        let start = campaign.start_date(today);
        adset.ads.iter().map(|ad| (ad, start)).collect()
    }
    let ads_of_adset = |campaign: &CampaignFacts, adset| ads_of(campaign, adset, today);
    match level {
        Level::Account => vec![Entity {
            campaign: None,
            adset: None,
            ad: None,
            ads: account
                .campaigns
                .iter()
                .flat_map(|campaign| {
                    campaign
                        .adsets
                        .iter()
                        .flat_map(move |adset| ads_of_adset(campaign, adset))
                })
                .collect(),
        }],
        Level::Campaign => account
            .campaigns
            .iter()
            .map(|campaign| Entity {
                campaign: Some(campaign),
                adset: None,
                ad: None,
                ads: campaign
                    .adsets
                    .iter()
                    .flat_map(|adset| ads_of_adset(campaign, adset))
                    .collect(),
            })
            .collect(),
        Level::AdSet => account
            .campaigns
            .iter()
            .flat_map(|campaign| {
                campaign.adsets.iter().map(move |adset| Entity {
                    campaign: Some(campaign),
                    adset: Some(adset),
                    ad: None,
                    ads: ads_of_adset(campaign, adset),
                })
            })
            .collect(),
        Level::Ad => account
            .campaigns
            .iter()
            .flat_map(|campaign| {
                campaign.adsets.iter().flat_map(move |adset| {
                    let start = campaign.start_date(today);
                    adset.ads.iter().map(move |ad| Entity {
                        campaign: Some(campaign),
                        adset: Some(adset),
                        ad: Some(ad),
                        ads: vec![(ad, start)],
                    })
                })
            })
            .collect(),
    }
}

/// Adds the delivery of `entity` on `date` (as reported on `today`), per family cell, to `cells`.
fn add_entity_day(
    account: &AccountFacts,
    entity: &Entity<'_>,
    split: &Cells,
    date: NaiveDate,
    today: NaiveDate,
    cells: &mut [Metrics],
) {
    for (ad, start) in &entity.ads {
        if date < *start {
            continue;
        }
        let Some(metrics) = ad_day_metrics(&account.id, account.currency, &ad.id, date) else {
            continue;
        };
        let parts = split.split_ad_day(&account.id, &ad.id, date, metrics.restated(date, today));
        for (cell, part) in cells.iter_mut().zip(parts) {
            cell.add(part);
        }
    }
}

/// The rows of one entity for one bucket: the family cells grouped by row key (in cell order),
/// without the keys that had no impressions.
fn bucket_rows(
    account: &AccountFacts,
    entity: &Entity<'_>,
    split: &Cells,
    cells: &[Metrics],
    (date_start, date_stop): (NaiveDate, NaiveDate),
) -> Vec<TruthRow> {
    let mut grouped: Vec<(Key, Metrics)> = Vec::new();
    for (index, metrics) in cells.iter().enumerate() {
        let key = split.key(index);
        match grouped.iter_mut().find(|(known, _)| *known == key) {
            Some((_, total)) => total.add(*metrics),
            None => grouped.push((key, *metrics)),
        }
    }
    grouped
        .into_iter()
        .filter(|(_, metrics)| metrics.impressions > 0)
        .map(|(key, metrics)| TruthRow::new(account, entity, &key, date_start, date_stop, metrics))
        .collect()
}

/// The dates from `since` to the earlier of `until` and `today`, inclusive.
fn dates(since: NaiveDate, until: NaiveDate, today: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    let last = until.min(today);
    since.iter_days().take_while(move |date| *date <= last)
}

/// What an insights request asks for, as far as the rows are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowsQuery {
    /// The level of the rows.
    pub level: Level,
    /// The breakdowns (an allowed combination), in request order.
    pub breakdowns: Vec<Breakdown>,
    /// The first day.
    pub since: NaiveDate,
    /// The last day (days after the account's today have no rows).
    pub until: NaiveDate,
    /// The account's today, on which restated numbers are reported.
    pub today: NaiveDate,
    /// Daily rows or one row for the whole range.
    pub increment: TimeIncrement,
}

/// The rows the insights endpoint returns for `account` (already resolved): by date (for daily
/// rows), then object id, then breakdown cell.
pub(crate) fn rows(account: &AccountFacts, query: &RowsQuery) -> Vec<TruthRow> {
    let entities = entities(account, query.level, query.today);
    let split = Cells::new(account, &query.breakdowns);
    let (since, until, today) = (query.since, query.until, query.today);
    match query.increment {
        TimeIncrement::Daily => dates(since, until, today)
            .flat_map(|date| {
                let split = &split;
                entities.iter().flat_map(move |entity| {
                    let mut cells = vec![Metrics::default(); split.len()];
                    add_entity_day(account, entity, split, date, today, &mut cells);
                    bucket_rows(account, entity, split, &cells, (date, date))
                })
            })
            .collect(),
        TimeIncrement::AllDays => entities
            .iter()
            .flat_map(|entity| {
                let mut cells = vec![Metrics::default(); split.len()];
                for date in dates(since, until, today) {
                    add_entity_day(account, entity, &split, date, today, &mut cells);
                }
                bucket_rows(account, entity, &split, &cells, (since, until))
            })
            .collect(),
    }
}

/// The daily insights rows (`time_increment=1`, no breakdowns) for an account, ordered by date
/// and then by object id, exactly as the API pages through them. `today` is the account's today
/// (see [`crate::Sandbox::today_for`]); later dates have no rows, and conversions are as reported
/// on `today`. An invalid account id gives no rows.
pub fn insights_truth(
    account_id: &str,
    level: Level,
    since: NaiveDate,
    until: NaiveDate,
    today: NaiveDate,
) -> Vec<TruthRow> {
    insights_truth_with(account_id, level, since, until, today, TimeIncrement::Daily)
}

/// Like [`insights_truth`], with a choice of time increment (`AllDays` gives one row per object
/// for the whole range, ordered by object id).
pub fn insights_truth_with(
    account_id: &str,
    level: Level,
    since: NaiveDate,
    until: NaiveDate,
    today: NaiveDate,
    increment: TimeIncrement,
) -> Vec<TruthRow> {
    insights_truth_for(
        account_id,
        &RowsQuery {
            level,
            breakdowns: Vec::new(),
            since,
            until,
            today,
            increment,
        },
    )
}

/// The insights rows of any query, breakdowns included. An invalid account id, or a breakdown
/// combination Meta refuses, gives no rows.
pub fn insights_truth_for(account_id: &str, query: &RowsQuery) -> Vec<TruthRow> {
    match account(account_id) {
        Some(account) if breakdowns::is_allowed_combination(&query.breakdowns) => {
            rows(&account, query)
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn rows_of(
        account: &AccountFacts,
        level: Level,
        breakdowns: &[Breakdown],
        (since, until): (NaiveDate, NaiveDate),
        today: NaiveDate,
        increment: TimeIncrement,
    ) -> Vec<TruthRow> {
        rows(
            account,
            &RowsQuery {
                level,
                breakdowns: breakdowns.to_vec(),
                since,
                until,
                today,
                increment,
            },
        )
    }

    fn daily(account: &AccountFacts, level: Level, since: &str, today: &str) -> Vec<TruthRow> {
        let today = date(today);
        rows_of(
            account,
            level,
            &[],
            (date(since), today),
            today,
            TimeIncrement::Daily,
        )
    }

    /// (impressions, clicks, link clicks, reach, spend, purchases, purchase value) summed.
    fn totals(rows: &[TruthRow]) -> [u64; 7] {
        rows.iter().fold([0; 7], |acc, row| {
            [
                acc[0] + row.impressions,
                acc[1] + row.clicks,
                acc[2] + row.link_clicks,
                acc[3] + row.reach,
                acc[4] + row.spend_minor,
                acc[5] + row.purchases,
                acc[6] + row.purchase_value_minor,
            ]
        })
    }

    #[test]
    fn accounts_are_deterministic_and_well_formed() {
        for id in ["1", "123", "987654321", "100000000000001"] {
            let account = account(id).unwrap();
            assert_eq!(account, super::account(id).unwrap());
            assert_eq!(account.name, format!("Sandbox Account {id}"));
            assert!((2..=6).contains(&account.campaigns.len()));
            assert_eq!(account.countries[0], account.currency.home_country());
            let mut ids = Vec::new();
            for campaign in &account.campaigns {
                ids.push(campaign.id.parse::<u64>().unwrap());
                assert!((1..=3).contains(&campaign.adsets.len()));
                assert!(campaign.objective.starts_with("OUTCOME_"));
                for adset in &campaign.adsets {
                    ids.push(adset.id.parse::<u64>().unwrap());
                    assert!((1..=3).contains(&adset.ads.len()));
                    assert_ne!(
                        campaign.budget.is_some(),
                        adset.budget.is_some(),
                        "a budget at exactly one level"
                    );
                    ids.extend(adset.ads.iter().map(|ad| ad.id.parse::<u64>().unwrap()));
                    for ad in &adset.ads {
                        assert!(ad.creative.id.parse::<u64>().unwrap() > 1 << 53);
                    }
                }
            }
            assert!(ids.iter().all(|id| *id > 1 << 53));
            assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ids ascend");
            assert!(matches!(account.campaigns[0].start, CampaignStart::On(_)));
            assert_eq!(account.campaigns[0].status, Status::Active);
            assert!(matches!(
                account.campaigns[1].start,
                CampaignStart::DaysBeforeToday(_)
            ));
        }
    }

    #[test]
    fn the_control_names_account_has_control_characters_in_its_names_only() {
        let hostile = account(CONTROL_NAMES_ACCOUNT_ID).unwrap();
        assert!(hostile.name.contains('\0') && hostile.name.contains('\t'));
        assert!(!hostile.campaigns.is_empty());
        for campaign in &hostile.campaigns {
            assert!(campaign.name.contains('\0'), "{:?}", campaign.name);
            for adset in &campaign.adsets {
                assert!(!adset.name.chars().any(char::is_control));
            }
        }
        let plain = account("1001").unwrap();
        assert!(!plain.name.chars().any(char::is_control));
        assert!(
            plain
                .campaigns
                .iter()
                .all(|campaign| !campaign.name.chars().any(char::is_control))
        );
    }

    #[test]
    fn the_empty_account_exists_without_campaigns_or_rows() {
        let account = account(EMPTY_ACCOUNT_ID).unwrap();
        assert!(account.campaigns.is_empty());
        assert_eq!(account.active_ads(), 0);
        for level in Level::ALL {
            assert!(daily(&account, *level, "2025-01-01", "2025-06-30").is_empty());
        }
    }

    #[test]
    fn invalid_account_ids_do_not_exist() {
        assert!(account("").is_none());
        assert!(account("act_1").is_none());
        assert!(account("12a").is_none());
        assert!(
            insights_truth(
                "x",
                Level::Account,
                date("2025-01-01"),
                date("2025-01-02"),
                date("2025-02-01")
            )
            .is_empty()
        );
    }

    #[test]
    fn metrics_respect_their_invariants() {
        let account = account("123").unwrap();
        let rows = daily(&account, Level::Ad, "2025-05-01", "2025-06-30");
        assert!(!rows.is_empty());
        for row in &rows {
            assert!(row.impressions > 0);
            assert!(row.clicks <= row.impressions);
            assert!(row.link_clicks <= row.clicks);
            assert!(row.reach <= row.impressions && row.reach > 0);
        }
        assert!(rows.iter().any(|row| row.purchases > 0));
        assert!(
            rows.iter()
                .all(|row| (row.purchases == 0) == (row.purchase_value_minor == 0))
        );
    }

    #[test]
    fn higher_levels_are_sums_of_lower_levels() {
        let account = account("4242").unwrap();
        let account_total = totals(&daily(&account, Level::Account, "2025-06-01", "2025-06-30"));
        for level in [Level::Campaign, Level::AdSet, Level::Ad] {
            let total = totals(&daily(&account, level, "2025-06-01", "2025-06-30"));
            assert_eq!(total, account_total, "{level}");
        }
    }

    #[test]
    fn breakdown_rows_sum_to_the_unbroken_rows_and_carry_their_values() {
        use Breakdown::*;
        let account = account("4242").unwrap();
        let today = date("2025-06-30");
        let window = (date("2025-06-20"), today);
        for level in [Level::Account, Level::Campaign, Level::Ad] {
            let unbroken = rows_of(&account, level, &[], window, today, TimeIncrement::Daily);
            for set in [
                vec![Age],
                vec![Gender],
                vec![Age, Gender],
                vec![Country],
                vec![PublisherPlatform],
                vec![PublisherPlatform, PlatformPosition],
            ] {
                let broken = rows_of(&account, level, &set, window, today, TimeIncrement::Daily);
                assert!(broken.len() > unbroken.len(), "{level} {set:?}");
                for row in &unbroken {
                    let parts: Vec<TruthRow> = broken
                        .iter()
                        .filter(|part| {
                            part.date_start == row.date_start
                                && part.campaign_id == row.campaign_id
                                && part.ad_id == row.ad_id
                        })
                        .cloned()
                        .collect();
                    assert_eq!(
                        totals(&parts),
                        totals(std::slice::from_ref(row)),
                        "{level} {set:?}"
                    );
                    for part in &parts {
                        assert!(part.impressions > 0);
                        for breakdown in Breakdown::ALL {
                            assert_eq!(
                                part.breakdown(*breakdown).is_some(),
                                set.contains(breakdown),
                                "{breakdown}"
                            );
                        }
                    }
                }
            }
        }
        let countries = rows_of(
            &account,
            Level::Account,
            &[Country],
            window,
            today,
            TimeIncrement::AllDays,
        );
        let codes: Vec<&str> = countries
            .iter()
            .filter_map(|r| r.country.as_deref())
            .collect();
        assert_eq!(codes, account.countries);
    }

    #[test]
    fn conversions_are_restated_until_the_day_is_28_days_old_and_delivery_never() {
        let account = account("4242").unwrap();
        // The first campaign started long ago; recent ones start relative to today.
        let old = account.campaigns[0].id.clone();
        let day = date("2025-06-01");
        let seen = |today: &str| {
            let rows: Vec<TruthRow> = rows_of(
                &account,
                Level::Campaign,
                &[],
                (day, day),
                date(today),
                TimeIncrement::Daily,
            )
            .into_iter()
            .filter(|row| row.campaign_id.as_ref() == Some(&old))
            .collect();
            totals(&rows)
        };
        let (fresh, later, settled, final_) = (
            seen("2025-06-01"),
            seen("2025-06-15"),
            seen("2025-06-29"),
            seen("2025-09-01"),
        );
        assert_eq!(fresh[..5], final_[..5], "delivery is never restated");
        assert!(
            fresh[5] < later[5] && later[5] < settled[5],
            "purchases grow"
        );
        assert!(fresh[6] < later[6] && later[6] < settled[6], "value grows");
        assert_eq!(settled, final_, "settled after 28 days");
    }

    #[test]
    fn no_rows_before_a_campaign_starts_or_after_today() {
        let account = account("555").unwrap();
        let today = date("2025-06-30");
        let recent = &account.campaigns[1];
        let start = recent.start_date(today);
        let rows = rows_of(
            &account,
            Level::Campaign,
            &[],
            (date("2025-01-01"), date("2025-12-31")),
            today,
            TimeIncrement::Daily,
        );
        assert!(rows.iter().all(|row| row.date_start <= today));
        assert!(
            rows.iter()
                .filter(|row| row.campaign_id.as_deref() == Some(recent.id.as_str()))
                .all(|row| row.date_start >= start)
        );
    }

    #[test]
    fn all_days_rows_sum_the_daily_rows() {
        let account = account("77").unwrap();
        let today = date("2025-06-30");
        let since = date("2025-06-10");
        let daily = rows_of(
            &account,
            Level::Campaign,
            &[],
            (since, today),
            today,
            TimeIncrement::Daily,
        );
        let all = rows_of(
            &account,
            Level::Campaign,
            &[],
            (since, today),
            today,
            TimeIncrement::AllDays,
        );
        for total in &all {
            let days: Vec<TruthRow> = daily
                .iter()
                .filter(|row| row.campaign_id == total.campaign_id)
                .cloned()
                .collect();
            assert_eq!(totals(&days), totals(std::slice::from_ref(total)));
            assert_eq!((total.date_start, total.date_stop), (since, today));
        }
    }

    #[test]
    fn derived_metrics_are_rendered_from_the_exact_sums() {
        let account = AccountFacts {
            id: "1".into(),
            name: "n".into(),
            time_zone: Tz::UTC,
            currency: Currency::Usd,
            countries: &["US"],
            campaigns: Vec::new(),
        };
        let entity = Entity {
            campaign: None,
            adset: None,
            ad: None,
            ads: Vec::new(),
        };
        let metrics = Metrics {
            impressions: 3_000,
            clicks: 30,
            reach: 2_000,
            spend_minor: 4_550,
            purchase_value_minor: 12_345,
            ..Metrics::default()
        };
        let day = date("2025-01-01");
        let row = TruthRow::new(&account, &entity, &Vec::new(), day, day, metrics);
        assert_eq!(row.spend, "45.5");
        assert_eq!(row.purchase_value, "123.45");
        assert_eq!(row.ctr.as_deref(), Some("1"));
        assert_eq!(row.cpc.as_deref(), Some("1.516667"));
        assert_eq!(row.cpm.as_deref(), Some("15.166667"));
        assert_eq!(row.frequency.as_deref(), Some("1.5"));
        let no_clicks = TruthRow::new(
            &account,
            &entity,
            &Vec::new(),
            day,
            day,
            Metrics {
                clicks: 0,
                ..metrics
            },
        );
        assert_eq!(no_clicks.cpc, None);
    }
}
