//! Insights breakdowns: `age`, `gender`, `country`, `publisher_platform` and `platform_position`,
//! the combinations Meta allows, and the deterministic split of an ad's day into breakdown cells.
//!
//! Meta stores breakdowns in a few families and only serves the permutations its "Combining
//! Breakdowns" table lists; the sandbox serves the ones made of these five: `age`, `gender`,
//! `age,gender` (the demographic family), `country` (geography), `publisher_platform` and
//! `publisher_platform,platform_position` (placement). `platform_position` alone is refused, as
//! Meta refuses it without `publisher_platform`.
//!
//! Each family has a fixed list of cells (18 age × gender pairs; the account's countries; 11
//! placements). An ad's metrics for a day are split over the cells of a family: impressions by
//! weights drawn per (ad, day, cell), every other metric in proportion to the cells'
//! impressions, each with the largest-remainder method, so the cells of a family always sum
//! exactly to the unbroken numbers and a cell without impressions has nothing else either (Meta
//! omits such rows). A breakdown set groups the cells of its family (e.g. `gender` sums the ages).

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::world::{AccountFacts, Metrics};
use crate::rng::Seed;

/// One insights breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Breakdown {
    /// Age bucket: `18-24` … `65+`.
    Age,
    /// `female`, `male` or `unknown`.
    Gender,
    /// Upper-case ISO 3166-1 alpha-2 code of where people were.
    Country,
    /// `facebook`, `instagram`, `audience_network` or `messenger`.
    PublisherPlatform,
    /// Position within the publisher platform (`feed`, `instagram_stories`, …).
    PlatformPosition,
}

impl Breakdown {
    /// Every breakdown the sandbox serves, in the order Meta's error message lists them.
    pub const ALL: &'static [Breakdown] = &[
        Breakdown::Age,
        Breakdown::Country,
        Breakdown::Gender,
        Breakdown::PublisherPlatform,
        Breakdown::PlatformPosition,
    ];

    /// The name in the `breakdowns` parameter and in response rows.
    pub const fn as_str(self) -> &'static str {
        match self {
            Breakdown::Age => "age",
            Breakdown::Gender => "gender",
            Breakdown::Country => "country",
            Breakdown::PublisherPlatform => "publisher_platform",
            Breakdown::PlatformPosition => "platform_position",
        }
    }

    const fn family(self) -> Family {
        match self {
            Breakdown::Age | Breakdown::Gender => Family::Demographic,
            Breakdown::Country => Family::Geography,
            Breakdown::PublisherPlatform | Breakdown::PlatformPosition => Family::Placement,
        }
    }
}

impl fmt::Display for Breakdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Breakdown {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Breakdown::ALL
            .iter()
            .copied()
            .find(|breakdown| breakdown.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Breakdown::ALL.iter().map(|b| b.as_str()).collect();
                format!("must be one of the following values: {}", names.join(", "))
            })
    }
}

/// The breakdown sets Meta accepts, made of the five breakdowns above (order-insensitive).
const ALLOWED: &[&[Breakdown]] = &[
    &[Breakdown::Age],
    &[Breakdown::Gender],
    &[Breakdown::Age, Breakdown::Gender],
    &[Breakdown::Country],
    &[Breakdown::PublisherPlatform],
    &[Breakdown::PublisherPlatform, Breakdown::PlatformPosition],
];

/// Whether Meta serves `breakdowns` together (no breakdown at all is always fine). Duplicates
/// must have been removed.
pub fn is_allowed_combination(breakdowns: &[Breakdown]) -> bool {
    breakdowns.is_empty()
        || ALLOWED.iter().any(|allowed| {
            allowed.len() == breakdowns.len() && allowed.iter().all(|b| breakdowns.contains(b))
        })
}

/// Age buckets, youngest first.
pub const AGES: &[&str] = &["18-24", "25-34", "35-44", "45-54", "55-64", "65+"];
/// Genders as Meta names them.
pub const GENDERS: &[&str] = &["female", "male", "unknown"];
/// `(publisher_platform, platform_position)` pairs, in the order rows list them.
pub const PLACEMENTS: &[(&str, &str)] = &[
    ("facebook", "feed"),
    ("facebook", "facebook_reels"),
    ("facebook", "facebook_stories"),
    ("facebook", "marketplace"),
    ("facebook", "video_feeds"),
    ("facebook", "right_hand_column"),
    ("instagram", "feed"),
    ("instagram", "instagram_reels"),
    ("instagram", "instagram_stories"),
    ("audience_network", "an_classic"),
    ("messenger", "messenger_inbox"),
];

/// Base weights of the age buckets and placements (per mille-ish; jittered per ad and day).
const AGE_WEIGHTS: &[u64] = &[150, 300, 250, 150, 100, 50];
const GENDER_WEIGHTS: &[u64] = &[480, 470, 50];
const PLACEMENT_WEIGHTS: &[u64] = &[300, 60, 80, 50, 40, 20, 200, 100, 120, 25, 5];

/// Countries an account delivers in: its home market first, then neighbours.
pub(crate) fn countries_for(home: &'static str) -> &'static [&'static str] {
    match home {
        "US" => &["US", "CA", "MX", "GB"],
        "DE" => &["DE", "AT", "CH", "FR", "NL"],
        "GB" => &["GB", "IE", "US"],
        "JP" => &["JP", "KR", "TW"],
        "AU" => &["AU", "NZ"],
        "BR" => &["BR", "AR", "PT", "CL"],
        _ => &["US"],
    }
}

/// A group of breakdowns that share cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Demographic,
    Geography,
    Placement,
}

/// The cells one breakdown set splits rows into, and how to split an ad's day over them.
#[derive(Debug, Clone)]
pub(crate) struct Cells {
    /// `None` without breakdowns: one cell, the whole.
    family: Option<Family>,
    countries: &'static [&'static str],
    /// The requested breakdowns, in request order.
    breakdowns: Vec<Breakdown>,
}

/// The breakdown values of one row, in request order.
pub(crate) type Key = Vec<(Breakdown, &'static str)>;

impl Cells {
    /// The cells of `breakdowns` (an allowed combination, checked by the caller) for `account`.
    pub(crate) fn new(account: &AccountFacts, breakdowns: &[Breakdown]) -> Self {
        Self {
            family: breakdowns.first().map(|b| b.family()),
            countries: account.countries,
            breakdowns: breakdowns.to_vec(),
        }
    }

    /// How many family cells there are.
    pub(crate) fn len(&self) -> usize {
        match self.family {
            None => 1,
            Some(Family::Demographic) => AGES.len() * GENDERS.len(),
            Some(Family::Geography) => self.countries.len(),
            Some(Family::Placement) => PLACEMENTS.len(),
        }
    }

    /// The value of `breakdown` in family cell `cell`.
    fn value(&self, cell: usize, breakdown: Breakdown) -> &'static str {
        let pick = |list: &[&'static str], index: usize| list.get(index).copied().unwrap_or("");
        match breakdown {
            Breakdown::Age => pick(AGES, cell / GENDERS.len()),
            Breakdown::Gender => pick(GENDERS, cell % GENDERS.len()),
            Breakdown::Country => pick(self.countries, cell),
            Breakdown::PublisherPlatform => PLACEMENTS.get(cell).map_or("", |p| p.0),
            Breakdown::PlatformPosition => PLACEMENTS.get(cell).map_or("", |p| p.1),
        }
    }

    /// The row key of family cell `cell`.
    pub(crate) fn key(&self, cell: usize) -> Key {
        self.breakdowns
            .iter()
            .map(|breakdown| (*breakdown, self.value(cell, *breakdown)))
            .collect()
    }

    /// The base weight of a family cell before the per-ad, per-day jitter.
    fn base_weight(&self, cell: usize) -> u64 {
        let at = |list: &[u64], index: usize| list.get(index).copied().unwrap_or(1);
        match self.family {
            None => 1,
            Some(Family::Demographic) => {
                at(AGE_WEIGHTS, cell / GENDERS.len()) * at(GENDER_WEIGHTS, cell % GENDERS.len())
            }
            // The home market takes most of the delivery.
            Some(Family::Geography) => {
                if cell == 0 {
                    600
                } else {
                    120
                }
            }
            Some(Family::Placement) => at(PLACEMENT_WEIGHTS, cell),
        }
    }

    /// Splits one ad's metrics for `date` over the family cells.
    pub(crate) fn split_ad_day(
        &self,
        account_id: &str,
        ad_id: &str,
        date: NaiveDate,
        metrics: Metrics,
    ) -> Vec<Metrics> {
        let Some(family) = self.family else {
            return vec![metrics];
        };
        let family_tag = match family {
            Family::Demographic => 1,
            Family::Geography => 2,
            Family::Placement => 3,
        };
        let ad = Seed::new("meta_ads/breakdown")
            .with_str(account_id)
            .with_str(ad_id)
            .with_u64(family_tag);
        let day = ad.with_u64(u64::try_from(date.num_days_from_ce()).unwrap_or(0));
        let weights: Vec<u64> = (0..self.len())
            .map(|cell| {
                let cell_tag = cell as u64;
                self.base_weight(cell)
                    * ad.with_u64(cell_tag).between(50, 150)
                    * day.with_u64(cell_tag).between(80, 120)
            })
            .collect();
        split_metrics(metrics, &weights)
    }
}

/// Splits `metrics` over cells: impressions by `weights`, delivery by the cells' impressions, link
/// clicks by their clicks and the purchases' value by their purchases (so no cell has more link
/// clicks than clicks, or a value without a purchase).
fn split_metrics(metrics: Metrics, weights: &[u64]) -> Vec<Metrics> {
    let impressions = split(metrics.impressions, weights);
    let by_impressions = |total| split(total, &impressions);
    let clicks = by_impressions(metrics.clicks);
    let link_clicks = split(metrics.link_clicks, &clicks);
    let reach = by_impressions(metrics.reach);
    let spend = by_impressions(metrics.spend_minor);
    let purchases = by_impressions(metrics.purchases);
    let value = split(metrics.purchase_value_minor, &purchases);
    (0..weights.len())
        .map(|i| {
            let at = |list: &[u64]| list.get(i).copied().unwrap_or(0);
            Metrics {
                impressions: at(&impressions),
                clicks: at(&clicks),
                link_clicks: at(&link_clicks),
                reach: at(&reach),
                spend_minor: at(&spend),
                purchases: at(&purchases),
                purchase_value_minor: at(&value),
            }
        })
        .collect()
}

/// Splits `total` over `weights` with the largest-remainder method: every share is the floor of
/// its exact share or one more, the shares sum to `total`, ties go to the earlier cell, and a
/// cell of weight 0 gets 0. All weights 0 put everything in no cell (only possible for a total of
/// 0 in practice, since impressions are split by positive weights).
pub(crate) fn split(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u128 = weights.iter().map(|w| u128::from(*w)).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let total_128 = u128::from(total);
    let mut shares: Vec<u64> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (index, weight) in weights.iter().enumerate() {
        let exact = total_128 * u128::from(*weight);
        shares.push(u64::try_from(exact / sum).unwrap_or(u64::MAX));
        remainders.push((exact % sum, index));
    }
    let given: u64 = shares.iter().sum();
    let deficit = usize::try_from(total.saturating_sub(given)).unwrap_or(usize::MAX);
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, index) in remainders.into_iter().take(deficit) {
        if let Some(share) = shares.get_mut(index) {
            *share += 1;
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_exact_and_proportional() {
        assert_eq!(split(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(split(0, &[5, 7]), vec![0, 0]);
        assert_eq!(split(7, &[0, 3, 0, 4]), vec![0, 3, 0, 4]);
        assert_eq!(split(5, &[0, 0]), vec![0, 0]);
        for total in [1, 2, 17, 999, 123_456] {
            let shares = split(total, &[3, 0, 11, 5, 1]);
            assert_eq!(shares.iter().sum::<u64>(), total);
            assert_eq!(shares[1], 0);
        }
    }

    #[test]
    fn only_metas_combinations_are_allowed() {
        use Breakdown::*;
        for ok in [
            vec![],
            vec![Age],
            vec![Gender, Age],
            vec![Country],
            vec![PublisherPlatform],
            vec![PlatformPosition, PublisherPlatform],
        ] {
            assert!(is_allowed_combination(&ok), "{ok:?}");
        }
        for bad in [
            vec![PlatformPosition],
            vec![Age, Country],
            vec![Gender, PublisherPlatform],
            vec![Age, Gender, Country],
        ] {
            assert!(!is_allowed_combination(&bad), "{bad:?}");
        }
    }

    #[test]
    fn cells_without_impressions_get_nothing_and_every_metric_sums() {
        let metrics = Metrics {
            impressions: 3,
            clicks: 2,
            link_clicks: 1,
            reach: 2,
            spend_minor: 99,
            purchases: 1,
            purchase_value_minor: 4_999,
        };
        let cells = split_metrics(metrics, &[5, 0, 1, 1, 1, 1]);
        assert_eq!(cells[1], Metrics::default());
        let mut sum = Metrics::default();
        for cell in &cells {
            if cell.impressions == 0 {
                assert_eq!(*cell, Metrics::default());
            }
            assert!(cell.clicks <= cell.impressions && cell.reach <= cell.impressions);
            sum.add(*cell);
        }
        assert_eq!(sum, metrics);
    }
}
