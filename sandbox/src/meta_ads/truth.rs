//! The truth of Meta's world: the rows its endpoints answer, computed straight from the
//! generated world (`world`), which tests compare what a client synced with.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::breakdowns::{self, Breakdown, Cells, Key};
use super::vocabulary::*;
use super::world::*;
use crate::decimal;

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
pub(super) const RATIO_DECIMALS: u32 = 6;

impl TruthRow {
    pub(super) fn new(
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
pub(super) struct Entity<'a> {
    campaign: Option<&'a CampaignFacts>,
    adset: Option<&'a AdSetFacts>,
    ad: Option<&'a AdFacts>,
    ads: Vec<(&'a AdFacts, NaiveDate)>,
}

/// The objects of `level`, in ascending id order.
pub(super) fn entities(account: &AccountFacts, level: Level, today: NaiveDate) -> Vec<Entity<'_>> {
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
pub(super) fn add_entity_day(
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
pub(super) fn bucket_rows(
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
pub(super) fn dates(
    since: NaiveDate,
    until: NaiveDate,
    today: NaiveDate,
) -> impl Iterator<Item = NaiveDate> {
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
    use chrono_tz::Tz;

    use super::*;
    use crate::facts::{CampaignStart, Currency};

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
            assert_eq!(account.countries[0], pricing(account.currency).home_country);
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
