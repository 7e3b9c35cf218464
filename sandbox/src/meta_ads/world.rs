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

use chrono::{Datelike, Days, NaiveDate, Weekday};
use chrono_tz::Tz;

use super::breakdowns::{self};
use super::vocabulary::*;
use crate::facts::{AccountSummary, CampaignStart, Currency};
use crate::restatement::restated;
use crate::rng::Seed;
use crate::state::AccountTimeZone;

/// The ad accounts every sandbox login reaches (`/me/adaccounts`) by default.
pub const REACHABLE_ACCOUNT_IDS: &[&str] = &["1001", "1002", "1100", EMPTY_ACCOUNT_ID];

/// The accounts of [`REACHABLE_ACCOUNT_IDS`].
pub fn reachable_accounts() -> Vec<AccountFacts> {
    REACHABLE_ACCOUNT_IDS
        .iter()
        .filter_map(|id| account(id))
        .collect()
}

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

/// One in five objects is paused, the rest active.
pub(super) fn status(seed: Seed) -> Status {
    if seed.below(5) == 0 {
        Status::Paused
    } else {
        Status::Active
    }
}

/// A daily budget (two in three) or a lifetime budget, in whole budget steps.
pub(super) fn budget(seed: Seed, _currency: Currency) -> Budget {
    let step = BUDGET_STEP;
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
    let currency = seed.with_u64(2).pick(CURRENCIES)?.0;
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
        countries: breakdowns::countries_for(pricing(currency).home_country),
        campaigns,
    })
}

crate::facts::metrics! {
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
}

impl Metrics {
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
pub(super) const fn weekday_factor(weekday: Weekday) -> u64 {
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
    let (cpm_low, cpm_high) = pricing(currency).cpm_range;
    let cpm_minor =
        ad.with_u64(3).between(cpm_low, cpm_high) * day.with_u64(4).between(850, 1_150) / 1_000;
    let spend_minor = impressions * cpm_minor / 1_000;
    // Conversion rate per click in units of 1/10 000 (1 % to about 10 %), and an average order
    // value of 15 to 200 budget steps (dollars; hundreds of yen).
    let cvr = ad.with_u64(4).between(100, 800) * day.with_u64(6).between(600, 1_400) / 1_000;
    let purchases = clicks * cvr / 10_000;
    let order_value = ad.with_u64(5).between(1_500, 20_000) * BUDGET_STEP / 100;
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

/// The `n`th of a range of accounts with delivery, for benchmarks and tests that need many.
pub fn numbered_account(n: usize) -> Option<AccountSummary> {
    account(&format!("{}", 20_000 + n)).map(|facts| AccountSummary {
        id: facts.id,
        time_zone: facts.time_zone,
        currency: facts.currency.code().to_owned(),
    })
}
