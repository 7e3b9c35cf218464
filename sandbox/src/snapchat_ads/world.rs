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

use chrono::{Datelike, Days, NaiveDate, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::vocabulary::*;
use crate::facts::{AccountSummary, CampaignStart, day_number};
use crate::restatement::restated;
use crate::rng::Seed;
use crate::state::AccountTimeZone;

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

/// A version-4-shaped UUID from a seed.
pub(super) fn uuid(seed: Seed) -> String {
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

/// A budget in micro-currency: a whole number of major units in `low..=high`, scaled for
/// currencies whose unit is worth little.
pub(super) fn budget_micro(seed: Seed, currency: &str, low: u64, high: u64) -> u64 {
    seed.between(low, high) * currency_scale(currency) * 1_000_000
}

/// How many units of the currency buy about one US dollar's worth of ads.
pub(super) fn currency_scale(currency: &str) -> u64 {
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

pub(super) fn campaign(
    account_id: &str,
    account: Seed,
    c: u64,
    currency: &str,
    large: bool,
) -> CampaignFacts {
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

crate::facts::metrics! {
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
}

/// Delivery factor per day of week, per mille.
pub(super) const fn weekday_factor(weekday: Weekday) -> u64 {
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

/// The `n`th of a range of accounts with delivery, for benchmarks and tests that need many.
pub fn numbered_account(n: usize) -> Option<AccountSummary> {
    account(&format!("00000000-0000-4000-8000-{n:012}")).map(|facts| AccountSummary {
        id: facts.id,
        time_zone: facts.time_zone,
        currency: facts.currency.to_owned(),
    })
}
