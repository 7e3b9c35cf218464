//! The truth of Google Ads's world: the rows its endpoints answer, computed straight from the
//! generated world (`world`), which tests compare what a client synced with.

use chrono::NaiveDate;
use serde::Serialize;

use super::vocabulary::*;
use super::world::*;
use crate::restatement::restated;

/// One entity at a level: the indices of its campaign, ad group and ad in the customer's tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct EntityRef {
    pub(crate) campaign: Option<usize>,
    pub(crate) ad_group: Option<usize>,
    pub(crate) ad: Option<usize>,
}

impl EntityRef {
    /// The customer itself (no campaign, ad group or ad).
    pub(crate) const CUSTOMER: EntityRef = EntityRef {
        campaign: None,
        ad_group: None,
        ad: None,
    };
}

/// The entities of `level`, in tree (and id) order.
pub(crate) fn entities(customer: &CustomerFacts, level: Level) -> Vec<EntityRef> {
    let mut out = Vec::new();
    if level == Level::Customer {
        out.push(EntityRef::CUSTOMER);
        return out;
    }
    for (c, campaign) in customer.campaigns.iter().enumerate() {
        if level == Level::Campaign {
            out.push(EntityRef {
                campaign: Some(c),
                ad_group: None,
                ad: None,
            });
            continue;
        }
        for (g, group) in campaign.ad_groups.iter().enumerate() {
            if level == Level::AdGroup {
                out.push(EntityRef {
                    campaign: Some(c),
                    ad_group: Some(g),
                    ad: None,
                });
                continue;
            }
            for a in 0..group.ads.len() {
                out.push(EntityRef {
                    campaign: Some(c),
                    ad_group: Some(g),
                    ad: Some(a),
                });
            }
        }
    }
    out
}

/// The entity of `level` an ad belongs to.
pub(super) fn roll_up(level: Level, c: usize, g: usize, a: usize) -> EntityRef {
    match level {
        Level::Customer => EntityRef::CUSTOMER,
        Level::Campaign => EntityRef {
            campaign: Some(c),
            ad_group: None,
            ad: None,
        },
        Level::AdGroup => EntityRef {
            campaign: Some(c),
            ad_group: Some(g),
            ad: None,
        },
        Level::AdGroupAd => EntityRef {
            campaign: Some(c),
            ad_group: Some(g),
            ad: Some(a),
        },
    }
}

/// The delivery of every entity of `level` on `date`, as reported when the customer's today is
/// `today` (conversions restated by age), per device or summed over devices. Entities (and
/// devices) without impressions are left out; the rest come in tree order, then device order.
pub(crate) fn day_rows(
    customer: &CustomerFacts,
    level: Level,
    date: NaiveDate,
    today: NaiveDate,
    by_device: bool,
) -> Vec<(EntityRef, Option<Device>, Metrics)> {
    let mut rows: Vec<(EntityRef, Option<Device>, Metrics)> = Vec::new();
    if date > today || !customer.delivers {
        return rows;
    }
    let age = (today - date).num_days();
    for (c, campaign) in customer.campaigns.iter().enumerate() {
        if date < campaign.start.date(today) {
            continue;
        }
        for (g, group) in campaign.ad_groups.iter().enumerate() {
            for (a, ad) in group.ads.iter().enumerate() {
                let Some(per_device) = ad_day(customer, campaign.channel, ad, date) else {
                    continue;
                };
                let entity = roll_up(level, c, g, a);
                for device in campaign.channel.devices() {
                    let mut metrics = per_device[device.index()];
                    if metrics.impressions == 0 {
                        continue;
                    }
                    metrics.conversions_centi =
                        restated(metrics.conversions_centi, age, RESTATEMENT_HORIZON_DAYS);
                    metrics.conversions_value_centi = restated(
                        metrics.conversions_value_centi,
                        age,
                        RESTATEMENT_HORIZON_DAYS,
                    );
                    let key = (entity, by_device.then_some(*device));
                    // Ads of one entity are adjacent in tree order, so the entity's rows are
                    // at the end of the list.
                    match rows
                        .iter_mut()
                        .rev()
                        .take_while(|(e, _, _)| *e == entity)
                        .find(|(e, d, _)| (*e, *d) == key)
                    {
                        Some((_, _, total)) => total.add(metrics),
                        None => rows.push((entity, key.1, metrics)),
                    }
                }
            }
        }
    }
    if by_device {
        // Within an entity, rows follow device order whatever order the ads served in.
        rows.sort_by_key(|(entity, device, _)| (*entity, *device));
    }
    rows
}

/// One report row as the platform knows it, for tests to compare a sync with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TruthRow {
    /// The customer id.
    pub customer_id: String,
    /// Present at campaign level and below.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// Present at campaign level and below.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_name: Option<String>,
    /// Present at ad group level and below.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_group_id: Option<String>,
    /// Present at ad group level and below.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_group_name: Option<String>,
    /// Present at ad level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_id: Option<String>,
    /// Present at ad level, for ads that have a name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_name: Option<String>,
    /// `segments.date`.
    pub date: NaiveDate,
    /// `segments.device`, when the report is split by device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
    /// The metrics (conversions × 100).
    pub metrics: Metrics,
    /// `metrics.conversions` as the API renders it.
    pub conversions: String,
    /// `metrics.conversions_value` as the API renders it.
    pub conversions_value: String,
}

/// `centi / 100` as a decimal text without trailing zeros (`250` → `2.5`).
pub(crate) fn centi_text(centi: u64) -> String {
    crate::decimal::minor_units(centi, 2)
}

impl TruthRow {
    pub(crate) fn new(
        customer: &CustomerFacts,
        entity: EntityRef,
        date: NaiveDate,
        device: Option<Device>,
        metrics: Metrics,
    ) -> Self {
        let campaign = entity.campaign.and_then(|c| customer.campaigns.get(c));
        let group =
            campaign.and_then(|campaign| entity.ad_group.and_then(|g| campaign.ad_groups.get(g)));
        let ad = group.and_then(|group| entity.ad.and_then(|a| group.ads.get(a)));
        TruthRow {
            customer_id: customer.id.clone(),
            campaign_id: campaign.map(|c| c.id.to_string()),
            campaign_name: campaign.map(|c| c.name.clone()),
            ad_group_id: group.map(|g| g.id.to_string()),
            ad_group_name: group.map(|g| g.name.clone()),
            ad_id: ad.map(|a| a.id.to_string()),
            ad_name: ad.and_then(|a| a.name.clone()),
            date,
            device,
            metrics,
            conversions: centi_text(metrics.conversions_centi),
            conversions_value: centi_text(metrics.conversions_value_centi),
        }
    }
}

/// The daily rows a `segments.date` query at `level` returns for a customer over
/// `since..=until`, as seen when the customer's today is `today` (see
/// [`crate::Sandbox::today_for`]): ordered by date, then entity, then device. Days after today
/// and entities without impressions have no rows; an unknown customer has none.
pub fn report_truth(
    customer_id: &str,
    level: Level,
    since: NaiveDate,
    until: NaiveDate,
    today: NaiveDate,
    by_device: bool,
) -> Vec<TruthRow> {
    let Some(customer) = customer(customer_id) else {
        return Vec::new();
    };
    let last = until.min(today);
    since
        .iter_days()
        .take_while(|date| *date <= last)
        .flat_map(|date| {
            day_rows(&customer, level, date, today, by_device)
                .into_iter()
                .map(move |(entity, device, metrics)| (date, entity, device, metrics))
        })
        .map(|(date, entity, device, metrics)| {
            TruthRow::new(&customer, entity, date, device, metrics)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn customers_are_deterministic_and_well_formed() {
        for id in ["1234567890", "2345678901", "5555555555", "8123450001"] {
            let customer = customer(id).unwrap();
            assert_eq!(customer, super::customer(id).unwrap());
            assert!((2..=6).contains(&customer.campaigns.len()));
            let mut ids = Vec::new();
            for campaign in &customer.campaigns {
                ids.push(campaign.id);
                assert!((1..=3).contains(&campaign.ad_groups.len()));
                for group in &campaign.ad_groups {
                    ids.push(group.id);
                    assert!((1..=3).contains(&group.ads.len()));
                    for ad in &group.ads {
                        ids.push(ad.id);
                        assert_eq!(
                            ad.name.is_some(),
                            !matches!(ad.ad_type, "RESPONSIVE_SEARCH_AD" | "SHOPPING_PRODUCT_AD")
                        );
                    }
                }
                assert_eq!(
                    campaign.budget_amount_micros % micros_per_minor(customer.currency),
                    0
                );
            }
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), ids.len(), "ids are unique");
        }
    }

    #[test]
    fn the_first_digit_decides_the_kind_of_account() {
        assert!(customer("0123456789").is_none());
        assert!(customer("123-456-7890").is_none());
        let manager = customer("9123450000").unwrap();
        assert!(manager.is_manager() && manager.campaigns.is_empty());
        assert_eq!(manager.manager_id(), None);
        let clients = manager.clients();
        assert!((5..=7).contains(&clients.len()));
        for client in &clients {
            let client = customer(client).unwrap();
            assert_eq!(client.manager_id(), Some("9123450000"));
            assert_eq!(client.campaigns.is_empty(), client.is_manager());
        }
        let sub = customer("9123451000").unwrap();
        assert!(clients.contains(&sub.id) && sub.is_manager());
        let below_sub = sub.clients();
        assert!(!below_sub.is_empty());
        for client in &below_sub {
            let client = customer(client).unwrap();
            assert_eq!(client.managers_above(), ["9123451000", "9123450000"]);
        }
        let hierarchy = manager.hierarchy();
        assert_eq!(hierarchy.len(), clients.len() + below_sub.len());
        assert!(
            hierarchy
                .iter()
                .any(|(c, level)| *level == 2 && c.id == below_sub[0])
        );
        let cancelled = customer("8123450009").unwrap();
        assert_eq!(cancelled.status, CustomerStatus::Canceled);
        assert!(!cancelled.delivers);
        assert!(customer("8123450008").unwrap().hidden);
        let large = customer("7000000001").unwrap();
        let ads: usize = large
            .campaigns
            .iter()
            .flat_map(|c| &c.ad_groups)
            .map(|g| g.ads.len())
            .sum();
        assert_eq!(ads, 10_000);
        assert_eq!(
            customer("1234567890").unwrap().kind,
            CustomerKind::Standalone
        );
    }

    #[test]
    fn higher_levels_sum_the_lower_ones_and_devices_sum_to_the_day() {
        let today = date("2025-06-30");
        let since = date("2025-06-01");
        let total = |level, by_device| {
            report_truth("2345678901", level, since, today, today, by_device)
                .iter()
                .fold(Metrics::default(), |mut sum, row| {
                    sum.add(row.metrics);
                    sum
                })
        };
        let all = total(Level::Customer, false);
        assert!(all.impressions > 0 && all.conversions_centi > 0);
        for level in [Level::Campaign, Level::AdGroup, Level::AdGroupAd] {
            assert_eq!(total(level, false), all, "{level}");
            assert_eq!(total(level, true), all, "{level} by device");
        }
    }

    #[test]
    fn rows_respect_their_invariants_and_dates() {
        let today = date("2025-06-30");
        let rows = report_truth(
            "1234567890",
            Level::AdGroupAd,
            date("2025-05-01"),
            date("2025-12-31"),
            today,
            true,
        );
        assert!(!rows.is_empty());
        for row in &rows {
            assert!(row.date <= today);
            assert!(row.metrics.impressions > 0);
            assert!(row.metrics.clicks <= row.metrics.impressions);
        }
        assert!(rows.windows(2).all(|pair| pair[0].date <= pair[1].date));
    }

    #[test]
    fn conversions_settle_over_thirty_days() {
        // The first campaign started long ago, so its delivery does not depend on today.
        let day = date("2025-06-01");
        let old = customer("1234567890").unwrap().campaigns[0].id.to_string();
        let at = |today: &str| {
            report_truth("1234567890", Level::Campaign, day, day, date(today), false)
                .into_iter()
                .find(|row| row.campaign_id.as_deref() == Some(old.as_str()))
                .map(|row| row.metrics)
                .unwrap()
        };
        let young = at("2025-06-02");
        let older = at("2025-06-20");
        let settled = at("2025-07-01");
        assert_eq!(young.impressions, settled.impressions);
        assert_eq!(young.cost_micros, settled.cost_micros);
        assert!(young.conversions_centi < older.conversions_centi);
        assert!(older.conversions_centi < settled.conversions_centi);
        assert_eq!(settled, at("2025-09-01"));
    }

    #[test]
    fn the_no_delivery_customer_has_campaigns_but_no_rows() {
        let customer = customer(NO_DELIVERY_CUSTOMER_ID).unwrap();
        assert!(!customer.campaigns.is_empty());
        assert!(
            report_truth(
                NO_DELIVERY_CUSTOMER_ID,
                Level::AdGroupAd,
                date("2024-01-01"),
                date("2025-06-30"),
                date("2025-06-30"),
                true
            )
            .is_empty()
        );
    }
}
