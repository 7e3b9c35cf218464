//! The truth of TikTok's world: the rows its endpoints answer, computed straight from the
//! generated world (`world`), which tests compare what a client synced with.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::vocabulary::*;
use super::world::*;

/// One report row as the platform knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthRow {
    /// The advertiser.
    pub advertiser_id: String,
    /// The advertiser's name.
    pub advertiser_name: String,
    /// The advertiser's currency code.
    pub currency: String,
    /// Present at campaign level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// Present at campaign level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_name: Option<String>,
    /// Present at campaign level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective_type: Option<String>,
    /// Present at ad group level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adgroup_id: Option<String>,
    /// Present at ad group level and below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adgroup_name: Option<String>,
    /// Present at ad level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_id: Option<String>,
    /// Present at ad level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_name: Option<String>,
    /// Present at ad level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_text: Option<String>,
    /// The day, in the advertiser's time zone.
    pub date: NaiveDate,
    /// The audience segment (`age`, `gender`, `country_code`, `platform` → value), empty for
    /// `BASIC` reports.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub segment: BTreeMap<String, String>,
    /// Impressions.
    pub impressions: u64,
    /// Clicks.
    pub clicks: u64,
    /// Reach (summed, not deduplicated).
    pub reach: u64,
    /// Spend in minor units.
    pub spend_minor: u64,
    /// Spend as the API renders it, e.g. `"1265.80"` (`"1266"` for yen).
    pub spend: String,
    /// Conversions as reported now; `None` is rendered `"-"` (not tracked).
    pub conversion: Option<u64>,
}

/// One object at a report level with the ads it sums over.
pub(super) struct Entity<'a> {
    campaign: Option<&'a CampaignFacts>,
    adgroup: Option<&'a AdGroupFacts>,
    ad: Option<&'a AdFacts>,
    ads: Vec<(&'a CampaignFacts, &'a AdFacts)>,
}

pub(super) fn campaign_ads(campaign: &CampaignFacts) -> Vec<(&CampaignFacts, &AdFacts)> {
    campaign
        .adgroups
        .iter()
        .flat_map(|adgroup| adgroup.ads.iter().map(move |ad| (campaign, ad)))
        .collect()
}

pub(super) fn entities(advertiser: &AdvertiserFacts, level: Level) -> Vec<Entity<'_>> {
    let all_ads = campaign_ads;
    match level {
        Level::Advertiser => vec![Entity {
            campaign: None,
            adgroup: None,
            ad: None,
            ads: advertiser.campaigns.iter().flat_map(all_ads).collect(),
        }],
        Level::Campaign => advertiser
            .campaigns
            .iter()
            .map(|campaign| Entity {
                campaign: Some(campaign),
                adgroup: None,
                ad: None,
                ads: all_ads(campaign),
            })
            .collect(),
        Level::AdGroup => advertiser
            .campaigns
            .iter()
            .flat_map(|campaign| {
                campaign.adgroups.iter().map(move |adgroup| Entity {
                    campaign: Some(campaign),
                    adgroup: Some(adgroup),
                    ad: None,
                    ads: adgroup.ads.iter().map(|ad| (campaign, ad)).collect(),
                })
            })
            .collect(),
        Level::Ad => advertiser
            .campaigns
            .iter()
            .flat_map(|campaign| {
                campaign.adgroups.iter().flat_map(move |adgroup| {
                    adgroup.ads.iter().map(move |ad| Entity {
                        campaign: Some(campaign),
                        adgroup: Some(adgroup),
                        ad: Some(ad),
                        ads: vec![(campaign, ad)],
                    })
                })
            })
            .collect(),
    }
}

/// Renders `minor` units with exactly the currency's decimals, as TikTok prints money.
pub(crate) fn money(minor: u64, decimals: u32) -> String {
    if decimals == 0 {
        return minor.to_string();
    }
    let scale = 10u64.pow(decimals);
    let width = usize::try_from(decimals).unwrap_or(2);
    format!("{}.{:0width$}", minor / scale, minor % scale)
}

/// The rows of a report at `level`, split by `breakdowns` (empty for `BASIC`), ordered by date,
/// then object id, then segment. `today` is the advertiser's today: later dates have no rows,
/// and conversions are restated by their age relative to it.
pub(crate) fn rows(
    advertiser: &AdvertiserFacts,
    level: Level,
    breakdowns: &[Breakdown],
    since: NaiveDate,
    until: NaiveDate,
    today: NaiveDate,
) -> Vec<TruthRow> {
    let entities = entities(advertiser, level);
    let last = until.min(today);
    let mut rows = Vec::new();
    for date in since.iter_days().take_while(|date| *date <= last) {
        let age = (today - date).num_days();
        for entity in &entities {
            let mut cells: BTreeMap<Segment, Metrics> = BTreeMap::new();
            for (campaign, ad) in &entity.ads {
                if !campaign.delivers_on(date) {
                    continue;
                }
                let Some(metrics) = ad_day_metrics(
                    &advertiser.id,
                    advertiser.currency,
                    &ad.id,
                    date,
                    age,
                    campaign.objective.tracks_conversions(),
                ) else {
                    continue;
                };
                for (segment, part) in segments_of(&advertiser.id, &ad.id, breakdowns, metrics) {
                    cells.entry(segment).or_default().add(part);
                }
            }
            let mut cells: Vec<_> = cells.into_iter().collect();
            // Segments in the order of the breakdowns' values, not alphabetically.
            cells.sort_by_key(|(segment, _)| segment_order(segment));
            for (segment, metrics) in cells {
                if metrics.impressions == 0 {
                    continue;
                }
                rows.push(truth_row(advertiser, entity, date, &segment, metrics));
            }
        }
    }
    rows
}

pub(super) fn segment_order(segment: &[(Breakdown, &'static str)]) -> Vec<usize> {
    segment
        .iter()
        .map(|(breakdown, value)| {
            breakdown
                .segments()
                .iter()
                .position(|(candidate, _)| candidate == value)
                .unwrap_or(usize::MAX)
        })
        .collect()
}

pub(super) fn truth_row(
    advertiser: &AdvertiserFacts,
    entity: &Entity<'_>,
    date: NaiveDate,
    segment: &[(Breakdown, &'static str)],
    metrics: Metrics,
) -> TruthRow {
    TruthRow {
        advertiser_id: advertiser.id.clone(),
        advertiser_name: advertiser.name.clone(),
        currency: advertiser.currency.code().to_owned(),
        campaign_id: entity.campaign.map(|c| c.id.clone()),
        campaign_name: entity.campaign.map(|c| c.name.clone()),
        objective_type: entity.campaign.map(|c| c.objective.name().to_owned()),
        adgroup_id: entity.adgroup.map(|g| g.id.clone()),
        adgroup_name: entity.adgroup.map(|g| g.name.clone()),
        ad_id: entity.ad.map(|a| a.id.clone()),
        ad_name: entity.ad.map(|a| a.name.clone()),
        ad_text: entity.ad.map(|a| a.ad_text.clone()),
        date,
        segment: segment
            .iter()
            .map(|(breakdown, value)| (breakdown.name().to_owned(), (*value).to_owned()))
            .collect(),
        impressions: metrics.impressions,
        clicks: metrics.clicks,
        reach: metrics.reach,
        spend_minor: metrics.spend_minor,
        spend: money(metrics.spend_minor, advertiser.currency.decimals()),
        conversion: metrics.conversion,
    }
}

/// The daily report rows (`stat_time_day`) of an advertiser, exactly as the report endpoint
/// pages through them. `breakdowns` empty is a `BASIC` report, otherwise `AUDIENCE`. `today` is
/// the advertiser's today (see [`crate::Sandbox::today_for`]). An invalid id gives no rows.
pub fn report_truth(
    advertiser_id: &str,
    level: Level,
    breakdowns: &[Breakdown],
    since: NaiveDate,
    until: NaiveDate,
    today: NaiveDate,
) -> Vec<TruthRow> {
    match advertiser(advertiser_id) {
        Some(advertiser) => rows(&advertiser, level, breakdowns, since, until, today),
        None => Vec::new(),
    }
}

/// One campaign, ad group or ad as the entity endpoints describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityTruth {
    /// The object's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The campaign (for ad groups and ads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// The ad group (for ads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adgroup_id: Option<String>,
    /// `operation_status`: `ENABLE` or `DISABLE`.
    pub operation_status: String,
    /// `secondary_status`, e.g. `CAMPAIGN_STATUS_ENABLE`, `AD_STATUS_CAMPAIGN_DISABLE`.
    pub secondary_status: String,
    /// `objective_type` (campaigns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective_type: Option<String>,
    /// `budget_mode` (campaigns and ad groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_mode: Option<String>,
    /// `budget` in minor units (campaigns and ad groups; 0 when infinite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_minor: Option<u64>,
    /// The creative's main asset id (ads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creative_id: Option<String>,
    /// `ad_text` (ads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_text: Option<String>,
    /// `ad_format` (ads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_format: Option<String>,
    /// `landing_page_url` (ads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing_page_url: Option<String>,
}

/// The secondary status of a campaign.
pub(crate) fn campaign_secondary_status(campaign: &CampaignFacts) -> &'static str {
    if campaign.enabled {
        "CAMPAIGN_STATUS_ENABLE"
    } else {
        "CAMPAIGN_STATUS_DISABLE"
    }
}

/// The secondary status of an ad group of `campaign`.
pub(crate) fn adgroup_secondary_status(campaign: &CampaignFacts) -> &'static str {
    if campaign.enabled {
        "ADGROUP_STATUS_DELIVERY_OK"
    } else {
        "ADGROUP_STATUS_CAMPAIGN_DISABLE"
    }
}

/// The secondary status of an ad of `campaign`.
pub(crate) fn ad_secondary_status(campaign: &CampaignFacts) -> &'static str {
    if campaign.enabled {
        "AD_STATUS_DELIVERY_OK"
    } else {
        "AD_STATUS_CAMPAIGN_DISABLE"
    }
}

/// The campaigns (`Level::Campaign`), ad groups (`Level::AdGroup`) or ads (`Level::Ad`) of an
/// advertiser, in the order the entity endpoints page through them. Other levels and invalid ids
/// give nothing.
pub fn entities_truth(advertiser_id: &str, level: Level) -> Vec<EntityTruth> {
    let Some(advertiser) = advertiser(advertiser_id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for campaign in &advertiser.campaigns {
        let operation = |enabled: bool| if enabled { "ENABLE" } else { "DISABLE" }.to_owned();
        match level {
            Level::Advertiser => {}
            Level::Campaign => out.push(EntityTruth {
                id: campaign.id.clone(),
                name: campaign.name.clone(),
                campaign_id: None,
                adgroup_id: None,
                operation_status: operation(campaign.enabled),
                secondary_status: campaign_secondary_status(campaign).to_owned(),
                objective_type: Some(campaign.objective.name().to_owned()),
                budget_mode: Some(campaign.budget.mode().to_owned()),
                budget_minor: Some(campaign.budget.minor()),
                creative_id: None,
                ad_text: None,
                ad_format: None,
                landing_page_url: None,
            }),
            Level::AdGroup => out.extend(campaign.adgroups.iter().map(|adgroup| EntityTruth {
                id: adgroup.id.clone(),
                name: adgroup.name.clone(),
                campaign_id: Some(campaign.id.clone()),
                adgroup_id: None,
                operation_status: operation(true),
                secondary_status: adgroup_secondary_status(campaign).to_owned(),
                objective_type: None,
                budget_mode: Some(adgroup.budget.mode().to_owned()),
                budget_minor: Some(adgroup.budget.minor()),
                creative_id: None,
                ad_text: None,
                ad_format: None,
                landing_page_url: None,
            })),
            Level::Ad => {
                for adgroup in &campaign.adgroups {
                    out.extend(adgroup.ads.iter().map(|ad| EntityTruth {
                        id: ad.id.clone(),
                        name: ad.name.clone(),
                        campaign_id: Some(campaign.id.clone()),
                        adgroup_id: Some(adgroup.id.clone()),
                        operation_status: operation(true),
                        secondary_status: ad_secondary_status(campaign).to_owned(),
                        objective_type: None,
                        budget_mode: None,
                        budget_minor: None,
                        creative_id: ad.creative_id().map(str::to_owned),
                        ad_text: Some(ad.ad_text.clone()),
                        ad_format: Some(ad.ad_format.to_owned()),
                        landing_page_url: Some(ad.landing_page_url.clone()),
                    }));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::facts::Currency;
    use chrono_tz::Tz;

    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    const TODAY: &str = "2025-06-30";

    #[test]
    fn advertisers_are_deterministic_and_well_formed() {
        for id in ["1", "123", "7012345678901234567"] {
            let advertiser = advertiser(id).unwrap();
            assert_eq!(advertiser, super::advertiser(id).unwrap());
            assert!((2..=5).contains(&advertiser.campaigns.len()));
            let mut ids = Vec::new();
            for campaign in &advertiser.campaigns {
                ids.push(campaign.id.parse::<u64>().unwrap());
                for adgroup in &campaign.adgroups {
                    ids.push(adgroup.id.parse::<u64>().unwrap());
                    ids.extend(adgroup.ads.iter().map(|ad| ad.id.parse::<u64>().unwrap()));
                }
            }
            assert!(ids.iter().all(|id| id.to_string().len() == 19));
            assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ids ascend");
            assert!(advertiser.campaigns[0].objective.tracks_conversions());
            assert!(!advertiser.campaigns[1].objective.tracks_conversions());
        }
        assert!(advertiser("x1").is_none());
    }

    #[test]
    fn the_no_delivery_advertiser_has_no_rows_and_no_entities() {
        let advertiser = advertiser(NO_DELIVERY_ADVERTISER_ID).unwrap();
        assert!(advertiser.campaigns.is_empty());
        let rows = report_truth(
            NO_DELIVERY_ADVERTISER_ID,
            Level::Advertiser,
            &[],
            date("2025-06-01"),
            date(TODAY),
            date(TODAY),
        );
        assert!(rows.is_empty());
        assert!(entities_truth(NO_DELIVERY_ADVERTISER_ID, Level::Ad).is_empty());
    }

    #[test]
    fn levels_agree_and_breakdowns_sum_to_the_basic_rows() {
        let today = date(TODAY);
        let since = date("2025-06-10");
        let total = |level, breakdowns: &[Breakdown]| {
            report_truth("4242", level, breakdowns, since, today, today)
                .iter()
                .fold((0, 0, 0, 0, 0), |acc, row| {
                    (
                        acc.0 + row.impressions,
                        acc.1 + row.clicks,
                        acc.2 + row.reach,
                        acc.3 + row.spend_minor,
                        acc.4 + row.conversion.unwrap_or(0),
                    )
                })
        };
        let basic = total(Level::Advertiser, &[]);
        assert!(basic.0 > 0);
        for level in [Level::Campaign, Level::AdGroup, Level::Ad] {
            assert_eq!(total(level, &[]), basic, "{level}");
        }
        for breakdowns in [
            &[Breakdown::Age][..],
            &[Breakdown::Age, Breakdown::Gender],
            &[Breakdown::CountryCode, Breakdown::Platform],
        ] {
            assert_eq!(total(Level::Ad, breakdowns), basic, "{breakdowns:?}");
            assert_eq!(
                total(Level::Advertiser, breakdowns),
                basic,
                "{breakdowns:?}"
            );
        }
    }

    #[test]
    fn segments_respect_the_metric_invariants() {
        let today = date(TODAY);
        let rows = report_truth(
            "99",
            Level::Ad,
            &[Breakdown::Gender, Breakdown::Age],
            date("2025-06-20"),
            today,
            today,
        );
        assert!(!rows.is_empty());
        for row in &rows {
            assert!(row.impressions > 0);
            assert!(row.clicks <= row.impressions && row.reach <= row.impressions);
            assert_eq!(row.segment.len(), 2);
        }
    }

    #[test]
    fn conversions_are_restated_for_seven_days_and_untracked_ones_stay_unknown() {
        let day = date("2025-06-20");
        let tracked = |age| {
            (0..200)
                .filter_map(|ad| {
                    ad_day_metrics("5", Currency::Usd, &ad.to_string(), day, age, true)
                })
                .map(|metrics| metrics.conversion.unwrap())
                .sum::<u64>()
        };
        assert!(tracked(0) < tracked(3));
        assert!(tracked(3) < tracked(7));
        assert_eq!(tracked(7), tracked(30));
        let untracked = ad_day_metrics("5", Currency::Usd, "1", day, 0, false)
            .or_else(|| ad_day_metrics("5", Currency::Usd, "2", day, 0, false))
            .unwrap();
        assert_eq!(untracked.conversion, None);
    }

    #[test]
    fn no_rows_after_today_or_outside_a_campaigns_schedule() {
        let today = date(TODAY);
        let advertiser = advertiser("555").unwrap();
        let rows = rows(
            &advertiser,
            Level::Campaign,
            &[],
            date("2025-01-01"),
            date("2025-12-31"),
            today,
        );
        assert!(rows.iter().all(|row| row.date <= today));
        for campaign in &advertiser.campaigns {
            assert!(
                rows.iter()
                    .filter(|row| row.campaign_id.as_deref() == Some(campaign.id.as_str()))
                    .all(|row| campaign.delivers_on(row.date))
            );
        }
    }

    #[test]
    fn splits_are_exact_and_bounded() {
        assert_eq!(split(10, &[1, 1, 1]), vec![3, 3, 4]);
        assert_eq!(split(0, &[1, 2]), vec![0, 0]);
        assert_eq!(split(5, &[0, 0]), vec![0, 0]);
        let impressions = split(3, &[1, 1, 1]);
        let clicks = split(2, &impressions);
        assert!(clicks.iter().zip(&impressions).all(|(c, i)| c <= i));
        assert_eq!(clicks.iter().sum::<u64>(), 2);
    }

    #[test]
    fn money_has_the_currencys_decimals() {
        assert_eq!(money(126_580, 2), "1265.80");
        assert_eq!(money(7, 2), "0.07");
        assert_eq!(money(0, 2), "0.00");
        assert_eq!(money(1_234, 0), "1234");
    }

    #[test]
    fn the_reachable_advertisers_differ_in_currency_and_time_zone() {
        let reachable = reachable_advertisers();
        assert_eq!(reachable.len(), REACHABLE_ADVERTISER_IDS.len());
        let currencies: std::collections::HashSet<_> =
            reachable.iter().map(|a| a.currency).collect();
        assert_eq!(currencies.len(), reachable.len());
        assert!(reachable.iter().all(|a| a.time_zone != Tz::UTC));
        assert!(reachable.iter().any(|a| !a.name.is_ascii()));
    }
}
