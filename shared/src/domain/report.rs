//! What a sync reads: either a **performance** report (a level, metrics and
//! optional breakdowns, one row per day and entity) or an **entities** stream (the account's
//! campaigns, ad groups or ads with their names, status, budgets and creative metadata). A report
//! is checked against the connector's catalogue (`connectors::Catalogue::parse_report`) when the
//! sync is created, so a bad report is refused at the API door.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::InvalidField;

/// Parses one of a closed set of snake_case names, naming `field` and the choices on failure.
pub fn parse_name<T: Copy>(
    all: &[T],
    name: &str,
    field: &str,
    as_str: impl Fn(T) -> &'static str,
) -> Result<T, InvalidField> {
    all.iter()
        .copied()
        .find(|item| as_str(*item) == name)
        .ok_or_else(|| {
            let known: Vec<&str> = all.iter().map(|item| as_str(*item)).collect();
            InvalidField::new(
                field,
                format!(
                    "unknown value {name:?}; expected one of {}",
                    known.join(", ")
                ),
            )
        })
}

/// The entity a report row describes. Platforms name the middle level differently (Meta "ad
/// set", Google and TikTok "ad group", Snapchat "ad squad"); adsync calls it `ad_group`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportLevel {
    Account,
    Campaign,
    AdGroup,
    Ad,
}

impl ReportLevel {
    pub const ALL: [ReportLevel; 4] = [
        ReportLevel::Account,
        ReportLevel::Campaign,
        ReportLevel::AdGroup,
        ReportLevel::Ad,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportLevel::Account => "account",
            ReportLevel::Campaign => "campaign",
            ReportLevel::AdGroup => "ad_group",
            ReportLevel::Ad => "ad",
        }
    }

    /// The dimension columns of a performance row at this level, outermost entity first.
    pub fn dimensions(self) -> &'static [&'static str] {
        match self {
            ReportLevel::Account => &[],
            ReportLevel::Campaign => &["campaign_id", "campaign_name"],
            ReportLevel::AdGroup => &[
                "campaign_id",
                "campaign_name",
                "ad_group_id",
                "ad_group_name",
            ],
            ReportLevel::Ad => &[
                "campaign_id",
                "campaign_name",
                "ad_group_id",
                "ad_group_name",
                "ad_id",
                "ad_name",
            ],
        }
    }
}

impl fmt::Display for ReportLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReportLevel {
    type Err = InvalidField;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_name(&Self::ALL, s, "report.level", Self::as_str)
    }
}

/// A numeric measure on a performance row, stored as an exact decimal. The first six are read
/// from the platform; the last five are derived from them the same way for every platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Impressions,
    Clicks,
    /// Money in the account's currency, major units (dollars, not micros).
    Spend,
    Reach,
    Conversions,
    /// Money: the value of the conversions, in the account's currency.
    ConversionValue,
    /// Click-through rate, percent: clicks / impressions × 100.
    Ctr,
    /// Cost per click: spend / clicks.
    Cpc,
    /// Cost per thousand impressions: spend / impressions × 1000.
    Cpm,
    /// Cost per conversion (acquisition): spend / conversions.
    Cpa,
    /// Return on ad spend: conversion value / spend.
    Roas,
}

impl Metric {
    pub const ALL: [Metric; 11] = [
        Metric::Impressions,
        Metric::Clicks,
        Metric::Spend,
        Metric::Reach,
        Metric::Conversions,
        Metric::ConversionValue,
        Metric::Ctr,
        Metric::Cpc,
        Metric::Cpm,
        Metric::Cpa,
        Metric::Roas,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Impressions => "impressions",
            Metric::Clicks => "clicks",
            Metric::Spend => "spend",
            Metric::Reach => "reach",
            Metric::Conversions => "conversions",
            Metric::ConversionValue => "conversion_value",
            Metric::Ctr => "ctr",
            Metric::Cpc => "cpc",
            Metric::Cpm => "cpm",
            Metric::Cpa => "cpa",
            Metric::Roas => "roas",
        }
    }

    /// For a derived metric, the (numerator, denominator, factor) it is computed from.
    pub fn derivation(self) -> Option<(Metric, Metric, u32)> {
        match self {
            Metric::Ctr => Some((Metric::Clicks, Metric::Impressions, 100)),
            Metric::Cpc => Some((Metric::Spend, Metric::Clicks, 1)),
            Metric::Cpm => Some((Metric::Spend, Metric::Impressions, 1000)),
            Metric::Cpa => Some((Metric::Spend, Metric::Conversions, 1)),
            Metric::Roas => Some((Metric::ConversionValue, Metric::Spend, 1)),
            Metric::Impressions
            | Metric::Clicks
            | Metric::Spend
            | Metric::Reach
            | Metric::Conversions
            | Metric::ConversionValue => None,
        }
    }

    /// Computes a derived metric from its inputs: `None` if an input is missing or the
    /// denominator is zero. Six decimal places.
    pub fn derive(
        numerator: Option<Decimal>,
        denominator: Option<Decimal>,
        factor: u32,
    ) -> Option<Decimal> {
        let (numerator, denominator) = (numerator?, denominator?);
        if denominator.is_zero() {
            return None;
        }
        let value = numerator
            .checked_mul(Decimal::from(factor))?
            .checked_div(denominator)?;
        Some(value.round_dp(6).normalize())
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A split of a performance report's rows, one more text column each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Breakdown {
    Age,
    Gender,
    /// ISO 3166-1 alpha-2 country code.
    Country,
    /// Where the ad ran or was seen: publisher platform, device or OS, as the platform reports.
    Platform,
    /// Position within the platform (feed, stories, search, …).
    Placement,
}

impl Breakdown {
    pub const ALL: [Breakdown; 5] = [
        Breakdown::Age,
        Breakdown::Gender,
        Breakdown::Country,
        Breakdown::Platform,
        Breakdown::Placement,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Breakdown::Age => "age",
            Breakdown::Gender => "gender",
            Breakdown::Country => "country",
            Breakdown::Platform => "platform",
            Breakdown::Placement => "placement",
        }
    }
}

impl fmt::Display for Breakdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a sync reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Metrics per day and entity.
    #[default]
    Performance,
    /// The entities of a level as they are now: names, status, budgets, creative metadata.
    Entities,
}

impl Stream {
    pub const ALL: [Stream; 2] = [Stream::Performance, Stream::Entities];

    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Performance => "performance",
            Stream::Entities => "entities",
        }
    }
}

/// The text columns of an entities row, in order. `campaign_id` and `ad_group_id` name the
/// entity's parents: a campaign has neither, an ad group only its campaign.
pub const ENTITY_TEXTS: [&str; 8] = [
    "id",
    "name",
    "campaign_id",
    "ad_group_id",
    "status",
    "objective",
    "creative_id",
    "creative_name",
];

/// The numeric columns of an entities row (money in the account's currency, major units).
pub const ENTITY_NUMBERS: [&str; 2] = ["daily_budget", "lifetime_budget"];

/// A validated report request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportSpec {
    #[serde(default)]
    pub stream: Stream,
    pub level: ReportLevel,
    #[serde(default)]
    pub metrics: Vec<Metric>,
    #[serde(default)]
    pub breakdowns: Vec<Breakdown>,
}

/// A report as a caller writes it, before validation.
#[derive(Debug, Clone, Default)]
pub struct RawReport<'a> {
    pub stream: Option<&'a str>,
    pub level: &'a str,
    pub metrics: &'a [String],
    pub breakdowns: &'a [String],
}

impl ReportSpec {
    /// The metrics read from the platform, in the order they were asked for.
    pub fn fetched_metrics(&self) -> Vec<Metric> {
        self.metrics
            .iter()
            .copied()
            .filter(|metric| metric.derivation().is_none())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_metrics_are_computed_one_way() {
        let d = |s: &str| Some(s.parse::<Decimal>().unwrap());
        assert_eq!(Metric::derive(d("5"), d("200"), 100), d("2.5"), "ctr");
        assert_eq!(Metric::derive(d("10"), d("3"), 1), d("3.333333"), "cpc");
        assert_eq!(
            Metric::derive(d("10"), d("0"), 1),
            None,
            "no division by zero"
        );
        assert_eq!(Metric::derive(None, d("3"), 1), None);
    }
}
