//! The truth of Snapchat's world: the rows its endpoints answer, computed straight from the
//! generated world (`world`), which tests compare what a client synced with.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::vocabulary::*;
use super::world::*;

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
                if metrics.is_zero() {
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
    use crate::facts::CampaignStart;

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
