//! What every platform's generated world is made of, defined once: the currencies accounts are
//! billed in, when a campaign starts, and the additive metrics a platform generates per entity
//! and day. Each platform picks from these in its own vocabulary (`<platform>/vocabulary.rs`:
//! which currencies, in which order, at what prices) and generates its world from them.

use std::fmt;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

/// A currency a sandbox account can be billed in. Which ones a platform offers, and in what
/// order its accounts pick them, is the platform's (`CURRENCIES` in its vocabulary).
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
    /// Japanese yen: no minor unit, so amounts are whole yen.
    #[serde(rename = "JPY")]
    Jpy,
    /// Australian dollar.
    #[serde(rename = "AUD")]
    Aud,
    /// Brazilian real.
    #[serde(rename = "BRL")]
    Brl,
    /// Indian rupee.
    #[serde(rename = "INR")]
    Inr,
}

impl Currency {
    /// The ISO 4217 code.
    pub const fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
            Currency::Jpy => "JPY",
            Currency::Aud => "AUD",
            Currency::Brl => "BRL",
            Currency::Inr => "INR",
        }
    }

    /// Decimal places of the minor unit (2 for cents, 0 for yen).
    pub const fn decimals(self) -> u32 {
        match self {
            Currency::Jpy => 0,
            Currency::Usd
            | Currency::Eur
            | Currency::Gbp
            | Currency::Aud
            | Currency::Brl
            | Currency::Inr => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An account as a benchmark or a test that needs many of them sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    pub id: String,
    pub time_zone: chrono_tz::Tz,
    /// ISO 4217 code.
    pub currency: String,
}

/// When a campaign starts.
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

/// A metric that adds up across entities, days and breakdown cells: a count, or a count that
/// may be unknown (`None` plus `None` stays unknown; a known count plus an unknown one is the
/// known count).
pub(crate) trait Additive: Copy {
    fn plus(self, other: Self) -> Self;
}

impl Additive for u64 {
    fn plus(self, other: Self) -> Self {
        self + other
    }
}

impl Additive for Option<u64> {
    fn plus(self, other: Self) -> Self {
        match (self, other) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        }
    }
}

/// Declares a platform's metrics: a struct of [`Additive`] fields, in the platform's own words
/// and units, with `add` (field by field) and `is_zero`.
macro_rules! metrics {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$doc:meta])* pub $field:ident: $ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$doc])* pub $field: $ty,)*
        }

        impl $name {
            /// Adds `other` to `self`, metric by metric.
            pub fn add(&mut self, other: $name) {
                use $crate::facts::Additive as _;
                $(self.$field = self.$field.plus(other.$field);)*
            }

            /// Whether every metric is zero (platforms leave such rows out).
            pub fn is_zero(&self) -> bool {
                *self == $name::default()
            }
        }
    };
}
pub(crate) use metrics;

/// The days since the common era of `date`, as the seed of a day's numbers.
pub(crate) fn day_number(date: NaiveDate) -> u64 {
    use chrono::Datelike as _;
    u64::try_from(date.num_days_from_ce()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_counts_stay_unknown_until_a_known_one_is_added() {
        assert_eq!(None::<u64>.plus(None), None);
        assert_eq!(Some(2).plus(None), Some(2));
        assert_eq!(Some(2).plus(Some(3)), Some(5));
        assert_eq!(2u64.plus(3), 5);
    }

    #[test]
    fn a_recent_start_stays_the_same_distance_before_today() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        assert_eq!(
            CampaignStart::DaysBeforeToday(9).date(today),
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
        );
        let fixed = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        assert_eq!(CampaignStart::On(fixed).date(today), fixed);
        assert_eq!(Currency::Jpy.decimals(), 0);
        assert_eq!(Currency::Inr.to_string(), "INR");
    }
}
