//! Deterministic TikTok advertisers, their campaign → ad group → ad trees, and their delivery.
//!
//! Every advertiser id made of digits exists. Its name, time zone, currency and campaign tree come
//! from a stable hash of the id, except [`NO_DELIVERY_ADVERTISER_ID`], which has no campaigns and
//! so never delivers. Metrics are generated per (advertiser, ad, date) and summed up the tree, so
//! every data level agrees with the others; audience breakdowns split each ad-day into segments
//! whose sums are the ad-day's totals. The report endpoint renders exactly these rows, and tests
//! compare what a client synced against [`report_truth`] and [`entities_truth`].
//!
//! Conversions are restated: a day's `conversion` grows until it is [`RESTATEMENT_HORIZON_DAYS`]
//! old in the advertiser's time zone (see `crate::restatement`). Ad groups that do not optimise
//! for a conversion event report `conversion` as `"-"` (not applicable), which is `None` here.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use chrono_tz::Tz;

use super::vocabulary::*;
use crate::facts::{AccountSummary, Currency, day_number};
use crate::restatement::restated;
use crate::rng::Seed;
use crate::state::AccountTimeZone;

/// Everything fixed about one sandbox advertiser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertiserFacts {
    /// The advertiser id (digits).
    pub id: String,
    /// Display name.
    pub name: String,
    /// The advertiser's time zone; report dates are days in this zone.
    pub time_zone: Tz,
    /// The advertiser's currency.
    pub currency: Currency,
    /// The country the advertiser is registered in.
    pub country: &'static str,
    /// When the advertiser was created, seconds since the epoch.
    pub create_time: i64,
    /// The campaigns, in ascending id order.
    pub campaigns: Vec<CampaignFacts>,
}

impl AccountTimeZone for AdvertiserFacts {
    fn account_time_zone(&self) -> Tz {
        self.time_zone
    }
}

/// One campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignFacts {
    /// 19-digit id as a string.
    pub id: String,
    /// Display name, sometimes with non-ASCII characters.
    pub name: String,
    /// `objective_type`.
    pub objective: Objective,
    /// Campaign budget.
    pub budget: Budget,
    /// `operation_status` ENABLE (true) or DISABLE (false).
    pub enabled: bool,
    /// When it delivers.
    pub schedule: Schedule,
    /// When the campaign was created (`create_time`, advertiser time).
    pub create_time: String,
    /// The ad groups, in ascending id order.
    pub adgroups: Vec<AdGroupFacts>,
}

impl CampaignFacts {
    /// Whether the campaign delivers on `date`.
    pub fn delivers_on(&self, date: NaiveDate) -> bool {
        self.schedule.delivers_on(date)
    }
}

/// One ad group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdGroupFacts {
    /// 19-digit id as a string.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Ad group budget.
    pub budget: Budget,
    /// `placement_type`.
    pub placement_type: &'static str,
    /// The ads, in ascending id order.
    pub ads: Vec<AdFacts>,
}

/// One ad and its creative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdFacts {
    /// 19-digit id as a string.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `ad_format`: `SINGLE_VIDEO`, `SINGLE_IMAGE` or `CAROUSEL_ADS`.
    pub ad_format: &'static str,
    /// The caption.
    pub ad_text: String,
    /// `call_to_action`.
    pub call_to_action: &'static str,
    /// `landing_page_url`.
    pub landing_page_url: String,
    /// `video_id` for video ads.
    pub video_id: Option<String>,
    /// `image_ids` for image and carousel ads.
    pub image_ids: Vec<String>,
}

impl AdFacts {
    /// The id of the ad's main creative asset: the video, or the first image.
    pub fn creative_id(&self) -> Option<&str> {
        self.video_id
            .as_deref()
            .or_else(|| self.image_ids.first().map(String::as_str))
    }
}

pub(super) fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or(NaiveDate::MIN)
}

pub(super) fn budget_minor(currency: Currency, seed: Seed, multiplier: u64) -> u64 {
    let (low, high) = pricing(currency).daily_budget_range;
    // Budgets are whole tens of major units, as people type them.
    let major = seed.between(low / 10, high / 10) * 10 * multiplier;
    major * 10u64.pow(currency.decimals())
}

/// The advertiser facts for `advertiser_id`, or `None` if it is not a valid id.
pub fn advertiser(advertiser_id: &str) -> Option<AdvertiserFacts> {
    if !is_valid_account_id(advertiser_id) {
        return None;
    }
    let seed = Seed::new("tiktok_ads/advertiser").with_str(advertiser_id);
    let time_zone = seed.with_u64(1).pick(TIME_ZONES)?;
    let currency = seed.with_u64(2).pick(CURRENCIES)?.0;
    let brand = seed.with_u64(3).pick(BRANDS).unwrap_or("Sandbox");
    let country = seed.with_u64(4).pick(COUNTRIES).unwrap_or("US");
    let id_prefix = ID_BASE + seed.with_u64(5).below(100_000_000_000_000) * 1_000;
    let create_time =
        EPOCH_SECONDS + i64::try_from(seed.with_u64(6).below(300 * 86_400)).unwrap_or(0);
    let campaign_count = if advertiser_id == NO_DELIVERY_ADVERTISER_ID {
        0
    } else {
        seed.with_u64(7).between(2, 5)
    };
    let campaigns = (1..=campaign_count)
        .map(|c| {
            campaign(
                advertiser_id,
                currency,
                id_prefix,
                seed.with_u64(100 + c),
                c,
            )
        })
        .collect();
    Some(AdvertiserFacts {
        id: advertiser_id.to_owned(),
        name: format!("{brand} · Sandbox {advertiser_id}"),
        time_zone,
        currency,
        country,
        create_time,
        campaigns,
    })
}

pub(super) fn campaign(
    advertiser_id: &str,
    currency: Currency,
    id_prefix: u64,
    cs: Seed,
    c: u64,
) -> CampaignFacts {
    let theme = cs.with_u64(1).pick(CAMPAIGN_THEMES).unwrap_or("Campaign");
    // The first campaign is always on and converting; the second is flighted (two or three weeks
    // on, one or two off) without conversion tracking, so every advertiser has both kinds and
    // every few weeks have gaps; the rest are drawn.
    let objective = match c {
        1 => Objective::WebConversions,
        2 => Objective::Traffic,
        _ => cs
            .with_u64(2)
            .pick(Objective::ALL)
            .unwrap_or(Objective::Traffic),
    };
    let start = epoch()
        .checked_add_days(Days::new(cs.with_u64(5).below(600)))
        .unwrap_or(epoch());
    let flight = (c == 2 || cs.with_u64(3).below(3) == 0).then(|| {
        let on = u32::try_from(cs.with_u64(4).between(14, 21)).unwrap_or(14);
        (
            on + u32::try_from(cs.with_u64(14).between(7, 14)).unwrap_or(7),
            on,
        )
    });
    // Some campaigns were switched off a while after they started and stopped delivering.
    let enabled = c <= 2 || cs.with_u64(6).below(4) != 0;
    let end = (!enabled).then(|| {
        start
            .checked_add_days(Days::new(cs.with_u64(7).between(60, 400)))
            .unwrap_or(start)
    });
    let budget = match c {
        1 => Budget::Daily(budget_minor(currency, cs.with_u64(8), 1)),
        2 => Budget::Infinite,
        _ => match cs.with_u64(9).below(3) {
            0 => Budget::Daily(budget_minor(currency, cs.with_u64(8), 1)),
            1 => Budget::Total(budget_minor(currency, cs.with_u64(8), 20)),
            _ => Budget::Infinite,
        },
    };
    let created = start;
    let create_time = format!(
        "{} {:02}:{:02}:{:02}",
        created.checked_sub_days(Days::new(1)).unwrap_or(created),
        cs.with_u64(10).below(24),
        cs.with_u64(11).below(60),
        cs.with_u64(12).below(60)
    );
    let adgroup_count = cs.with_u64(13).between(1, 3);
    let adgroups = (1..=adgroup_count)
        .map(|a| {
            let gs = cs.with_u64(200 + a);
            let audience = gs.with_u64(1).pick(AUDIENCES).unwrap_or("Broad");
            let budget = match (budget, gs.with_u64(2).below(3)) {
                (Budget::Infinite, 0) | (_, 1) => {
                    Budget::Total(budget_minor(currency, gs.with_u64(3), 15))
                }
                (Budget::Infinite, _) | (_, 0) => {
                    Budget::Daily(budget_minor(currency, gs.with_u64(3), 1))
                }
                _ => Budget::Infinite,
            };
            let placement_type = if gs.with_u64(4).below(3) == 0 {
                "PLACEMENT_TYPE_NORMAL"
            } else {
                "PLACEMENT_TYPE_AUTOMATIC"
            };
            let ad_count = gs.with_u64(5).between(1, 3);
            let ads = (1..=ad_count)
                .map(|d| {
                    ad(
                        advertiser_id,
                        gs.with_u64(300 + d),
                        id_prefix + c * 100 + a * 10 + d,
                        (c, a, d),
                    )
                })
                .collect();
            AdGroupFacts {
                id: (id_prefix + c * 100 + a * 10).to_string(),
                name: format!("Ad Group {c}.{a} · {audience}"),
                budget,
                placement_type,
                ads,
            }
        })
        .collect();
    CampaignFacts {
        id: (id_prefix + c * 100).to_string(),
        name: format!("Campaign {c} · {theme}"),
        objective,
        budget,
        enabled,
        schedule: Schedule { start, end, flight },
        create_time,
        adgroups,
    }
}

pub(super) fn ad(advertiser_id: &str, ds: Seed, id: u64, (c, a, d): (u64, u64, u64)) -> AdFacts {
    let creative = ds.with_u64(1).pick(CREATIVES).unwrap_or("Ad");
    let (ad_format, video_id, image_ids) = match ds.with_u64(2).below(6) {
        0 => (
            "SINGLE_IMAGE",
            None,
            vec![format!("ad-site-i18n-sg/{:016x}", ds.with_u64(3).value())],
        ),
        1 => (
            "CAROUSEL_ADS",
            None,
            (0..3)
                .map(|i| format!("ad-site-i18n-sg/{:016x}", ds.with_u64(10 + i).value()))
                .collect(),
        ),
        _ => (
            "SINGLE_VIDEO",
            Some(format!("v10033g50000{:016x}", ds.with_u64(3).value())),
            Vec::new(),
        ),
    };
    AdFacts {
        id: id.to_string(),
        name: format!("Ad {c}.{a}.{d} · {creative}"),
        ad_format,
        ad_text: ds
            .with_u64(4)
            .pick(AD_TEXTS)
            .unwrap_or("Shop now")
            .to_owned(),
        call_to_action: ds.with_u64(5).pick(CALLS_TO_ACTION).unwrap_or("LEARN_MORE"),
        landing_page_url: format!(
            "https://shop.example.com/{advertiser_id}/c{c}?utm_source=tiktok&utm_content=ad{d}"
        ),
        video_id,
        image_ids,
    }
}

/// The advertisers every access token reaches (`oauth2/advertiser/get/`, and the
/// `advertiser_ids` of a token exchange): an Australian-dollar account in Singapore time with a
/// non-ASCII name and a switched-off campaign, a yen account in Berlin time, and a euro account.
/// Reports and entities can be read for any advertiser id, reachable or not.
pub const REACHABLE_ADVERTISER_IDS: &[&str] = &[
    "7100000000000000001",
    "7100000000000000003",
    "7100000000000000007",
];

/// The facts of [`REACHABLE_ADVERTISER_IDS`].
pub fn reachable_advertisers() -> Vec<AdvertiserFacts> {
    REACHABLE_ADVERTISER_IDS
        .iter()
        .filter_map(|id| advertiser(id))
        .collect()
}

crate::facts::metrics! {
    /// Additive delivery metrics of one ad-day (or one segment of it); money in minor units.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct Metrics {
        /// Times an ad was shown.
        pub impressions: u64,
        /// Clicks, never more than impressions.
        pub clicks: u64,
        /// People reached (summed across children, not deduplicated), never more than impressions.
        pub reach: u64,
        /// Amount spent, minor units.
        pub spend_minor: u64,
        /// Conversions as reported at the time (restated), or `None` where not tracked.
        pub conversion: Option<u64>,
    }
}

pub(super) const fn weekday_factor(weekday: Weekday) -> u64 {
    match weekday {
        Weekday::Mon => 960,
        Weekday::Tue => 980,
        Weekday::Wed => 1_000,
        Weekday::Thu => 1_030,
        Weekday::Fri => 1_090,
        Weekday::Sat => 1_160,
        Weekday::Sun => 1_140,
    }
}

/// The delivery of one ad on one date as reported when the date is `age_days` old, or `None`
/// when it had none (TikTok omits such rows). Does not know about campaign schedules; callers
/// check those. `tracks_conversions` decides whether `conversion` is a number or `"-"`.
pub fn ad_day_metrics(
    advertiser_id: &str,
    currency: Currency,
    ad_id: &str,
    date: NaiveDate,
    age_days: i64,
    tracks_conversions: bool,
) -> Option<Metrics> {
    let ad = Seed::new("tiktok_ads/ad")
        .with_str(advertiser_id)
        .with_str(ad_id);
    let day = Seed::new("tiktok_ads/ad_day")
        .with_str(advertiser_id)
        .with_str(ad_id)
        .with_u64(day_number(date));
    // About one ad-day in ten has no delivery at all.
    if day.with_u64(0).below(100) < 10 {
        return None;
    }
    let base = ad.with_u64(1).between(500, 60_000);
    let impressions =
        base * weekday_factor(date.weekday()) * day.with_u64(1).between(600, 1_400) / 1_000_000;
    if impressions == 0 {
        return None;
    }
    // Click-through rate in units of 1/10 000 (0.4 % to about 2.6 %).
    let ctr = ad.with_u64(2).between(40, 200) * day.with_u64(2).between(700, 1_300) / 1_000;
    let clicks = impressions * ctr / 10_000;
    let reach = (impressions * day.with_u64(3).between(600, 950) / 1_000).max(1);
    let (cpm_low, cpm_high) = pricing(currency).cpm_range;
    let cpm_minor =
        ad.with_u64(3).between(cpm_low, cpm_high) * day.with_u64(4).between(850, 1_150) / 1_000;
    let spend_minor = impressions * cpm_minor / 1_000;
    let conversion = tracks_conversions.then(|| {
        // Conversion rate per click in units of 1/10 000 (1 % to 9 %).
        let rate = ad.with_u64(4).between(100, 600) * day.with_u64(5).between(700, 1_500) / 1_000;
        restated(clicks * rate / 10_000, age_days, RESTATEMENT_HORIZON_DAYS)
    });
    Some(Metrics {
        impressions,
        clicks,
        reach,
        spend_minor,
        conversion,
    })
}

/// A segment of an audience report: one value per requested breakdown, in request order.
pub(super) type Segment = Vec<(Breakdown, &'static str)>;

/// `total` split into parts proportional to `weights`: each part is the difference of the
/// rounded-down cumulative shares, so the parts sum to `total` exactly and a part never exceeds
/// its weight's share rounded up.
pub(super) fn split(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u128 = weights.iter().map(|weight| u128::from(*weight)).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let mut cumulative: u128 = 0;
    let mut previous: u128 = 0;
    weights
        .iter()
        .map(|weight| {
            cumulative += u128::from(*weight);
            let share = u128::from(total) * cumulative / sum;
            let part = share - previous;
            previous = share;
            u64::try_from(part).unwrap_or(0)
        })
        .collect()
}

/// One ad-day split into the segments of `breakdowns` (the cross product of their values, in
/// order). Impressions are split by per-ad segment weights; every other metric is split in
/// proportion to the segments' impressions, so clicks and reach never exceed impressions and
/// every metric's segments sum to the ad-day's total. Segments without impressions are left out.
pub(super) fn segments_of(
    advertiser_id: &str,
    ad_id: &str,
    breakdowns: &[Breakdown],
    metrics: Metrics,
) -> Vec<(Segment, Metrics)> {
    let mut cells: Vec<(Segment, u64)> = vec![(Vec::new(), 1)];
    for breakdown in breakdowns {
        let seed = Seed::new("tiktok_ads/segment")
            .with_str(advertiser_id)
            .with_str(ad_id)
            .with_str(breakdown.name());
        cells = cells
            .into_iter()
            .flat_map(|(segment, weight)| {
                breakdown.segments().iter().map(move |(value, base)| {
                    let jitter = seed.with_str(value).between(50, 150);
                    let mut segment = segment.clone();
                    segment.push((*breakdown, *value));
                    (segment, weight * base * jitter)
                })
            })
            .collect();
    }
    let weights: Vec<u64> = cells.iter().map(|(_, weight)| *weight).collect();
    let impressions = split(metrics.impressions, &weights);
    let clicks = split(metrics.clicks, &impressions);
    let reach = split(metrics.reach, &impressions);
    let spend = split(metrics.spend_minor, &impressions);
    let conversion = metrics.conversion.map(|total| split(total, &impressions));
    cells
        .into_iter()
        .enumerate()
        .filter(|(index, _)| impressions[*index] > 0)
        .map(|(index, (segment, _))| {
            (
                segment,
                Metrics {
                    impressions: impressions[index],
                    clicks: clicks[index],
                    reach: reach[index],
                    spend_minor: spend[index],
                    conversion: conversion.as_ref().map(|parts| parts[index]),
                },
            )
        })
        .collect()
}

/// The `n`th of a range of accounts with delivery, for benchmarks and tests that need many.
pub fn numbered_account(n: usize) -> Option<AccountSummary> {
    let n = u64::try_from(n).ok()?;
    advertiser(&format!("{}", 7_200_000_000_000_000_000u64 + n)).map(|facts| AccountSummary {
        id: facts.id,
        time_zone: facts.time_zone,
        currency: facts.currency.code().to_owned(),
    })
}
