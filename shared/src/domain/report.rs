//! What a sync reads, checked against the connector's catalogue when the sync is created, so a
//! bad report is refused at the API door: either a **performance** report (a level, metrics and
//! optional breakdowns, one row per day and entity) or an **entities** stream (the account's
//! campaigns, ad groups or ads with their names, status, budgets and creative metadata).

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{ConnectorKind, InvalidField};

/// Parses one of a closed set of snake_case names, naming `field` and the choices on failure.
fn parse_name<T: Copy>(
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

/// What one connector can report.
#[derive(Debug)]
pub struct Catalogue {
    pub levels: &'static [ReportLevel],
    /// Metrics read from the platform (derived metrics are allowed when their inputs are).
    pub metrics: &'static [Metric],
    pub breakdowns: &'static [Breakdown],
    /// At most this many breakdowns in one report.
    pub max_breakdowns: usize,
    /// Levels whose entities can be synced.
    pub entity_levels: &'static [ReportLevel],
    /// Days re-read by the daily lookback run because the platform restates them.
    pub default_lookback_days: u32,
    /// Most days one platform request may cover; longer windows are split.
    pub max_days_per_request: u32,
}

const ALL_LEVELS: &[ReportLevel] = &[
    ReportLevel::Account,
    ReportLevel::Campaign,
    ReportLevel::AdGroup,
    ReportLevel::Ad,
];
const ENTITY_LEVELS: &[ReportLevel] =
    &[ReportLevel::Campaign, ReportLevel::AdGroup, ReportLevel::Ad];

/// The report catalogue of a connector.
pub fn catalogue(connector: ConnectorKind) -> &'static Catalogue {
    use Breakdown::*;
    use Metric::*;
    static META_ADS: Catalogue = Catalogue {
        levels: ALL_LEVELS,
        metrics: &[
            Impressions,
            Clicks,
            Spend,
            Reach,
            Conversions,
            ConversionValue,
        ],
        breakdowns: &[Age, Gender, Country, Platform, Placement],
        max_breakdowns: 2,
        entity_levels: ENTITY_LEVELS,
        default_lookback_days: 28,
        max_days_per_request: 31,
    };
    static GOOGLE_ADS: Catalogue = Catalogue {
        levels: ALL_LEVELS,
        metrics: &[Impressions, Clicks, Spend, Conversions, ConversionValue],
        breakdowns: &[Platform],
        max_breakdowns: 1,
        entity_levels: ENTITY_LEVELS,
        default_lookback_days: 30,
        max_days_per_request: 31,
    };
    static TIKTOK_ADS: Catalogue = Catalogue {
        levels: ALL_LEVELS,
        metrics: &[Impressions, Clicks, Spend, Reach, Conversions],
        breakdowns: &[Age, Gender, Country, Platform],
        max_breakdowns: 2,
        entity_levels: ENTITY_LEVELS,
        default_lookback_days: 7,
        max_days_per_request: 30,
    };
    static SNAPCHAT_ADS: Catalogue = Catalogue {
        levels: ALL_LEVELS,
        metrics: &[Impressions, Clicks, Spend, Conversions, ConversionValue],
        breakdowns: &[Country],
        max_breakdowns: 1,
        entity_levels: ENTITY_LEVELS,
        default_lookback_days: 28,
        max_days_per_request: 30,
    };
    static APPSFLYER: Catalogue = Catalogue {
        levels: &[ReportLevel::Account, ReportLevel::Campaign],
        metrics: &[Impressions, Clicks, Spend, Conversions, ConversionValue],
        breakdowns: &[Country],
        max_breakdowns: 1,
        entity_levels: &[],
        default_lookback_days: 7,
        max_days_per_request: 31,
    };
    match connector {
        ConnectorKind::MetaAds => &META_ADS,
        ConnectorKind::GoogleAds => &GOOGLE_ADS,
        ConnectorKind::TiktokAds => &TIKTOK_ADS,
        ConnectorKind::SnapchatAds => &SNAPCHAT_ADS,
        ConnectorKind::Appsflyer => &APPSFLYER,
    }
}

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
    /// Checks a report against `connector`'s catalogue.
    pub fn parse(connector: ConnectorKind, raw: RawReport<'_>) -> Result<Self, InvalidField> {
        let catalogue = catalogue(connector);
        let stream = match raw.stream {
            Some(name) => parse_name(&Stream::ALL, name, "report.stream", Stream::as_str)?,
            None => Stream::Performance,
        };
        let level: ReportLevel = raw.level.parse()?;
        match stream {
            Stream::Entities => {
                if !catalogue.entity_levels.contains(&level) {
                    return Err(InvalidField::new(
                        "report.level",
                        format!("{connector} has no {level} entities to sync"),
                    ));
                }
                if !raw.metrics.is_empty() || !raw.breakdowns.is_empty() {
                    return Err(InvalidField::new(
                        "report.metrics",
                        "an entities stream takes no metrics or breakdowns",
                    ));
                }
                return Ok(Self {
                    stream,
                    level,
                    metrics: Vec::new(),
                    breakdowns: Vec::new(),
                });
            }
            Stream::Performance => {}
        }
        if !catalogue.levels.contains(&level) {
            return Err(InvalidField::new(
                "report.level",
                format!("{connector} does not report at level {level}"),
            ));
        }
        if raw.metrics.is_empty() {
            return Err(InvalidField::new(
                "report.metrics",
                "must name at least one metric",
            ));
        }
        let mut metrics = Vec::with_capacity(raw.metrics.len());
        for name in raw.metrics {
            let metric = parse_name(&Metric::ALL, name, "report.metrics", Metric::as_str)?;
            if metrics.contains(&metric) {
                return Err(InvalidField::new(
                    "report.metrics",
                    format!("{name:?} is listed twice"),
                ));
            }
            metrics.push(metric);
        }
        for metric in &metrics {
            match metric.derivation() {
                None if !catalogue.metrics.contains(metric) => {
                    return Err(InvalidField::new(
                        "report.metrics",
                        format!("{connector} does not report {metric}"),
                    ));
                }
                Some((numerator, denominator, _)) => {
                    for input in [numerator, denominator] {
                        if !metrics.contains(&input) {
                            return Err(InvalidField::new(
                                "report.metrics",
                                format!(
                                    "{metric} is computed from {numerator} and {denominator}: list {input} too"
                                ),
                            ));
                        }
                    }
                }
                None => {}
            }
        }
        let mut breakdowns = Vec::with_capacity(raw.breakdowns.len());
        for name in raw.breakdowns {
            let breakdown = parse_name(
                &Breakdown::ALL,
                name,
                "report.breakdowns",
                Breakdown::as_str,
            )?;
            if !catalogue.breakdowns.contains(&breakdown) {
                return Err(InvalidField::new(
                    "report.breakdowns",
                    format!("{connector} cannot break reports down by {breakdown}"),
                ));
            }
            if breakdowns.contains(&breakdown) {
                return Err(InvalidField::new(
                    "report.breakdowns",
                    format!("{name:?} is listed twice"),
                ));
            }
            breakdowns.push(breakdown);
        }
        if breakdowns.len() > catalogue.max_breakdowns {
            return Err(InvalidField::new(
                "report.breakdowns",
                format!(
                    "{connector} allows at most {} breakdowns in one report",
                    catalogue.max_breakdowns
                ),
            ));
        }
        breakdowns.sort();
        Ok(Self {
            stream,
            level,
            metrics,
            breakdowns,
        })
    }

    /// A performance report without breakdowns.
    pub fn performance(
        connector: ConnectorKind,
        level: &str,
        metrics: &[&str],
    ) -> Result<Self, InvalidField> {
        let metrics: Vec<String> = metrics.iter().map(|m| m.to_string()).collect();
        Self::parse(
            connector,
            RawReport {
                stream: None,
                level,
                metrics: &metrics,
                breakdowns: &[],
            },
        )
    }

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

    fn parse(
        connector: ConnectorKind,
        level: &str,
        metrics: &[&str],
        breakdowns: &[&str],
    ) -> Result<ReportSpec, InvalidField> {
        let metrics: Vec<String> = metrics.iter().map(|s| s.to_string()).collect();
        let breakdowns: Vec<String> = breakdowns.iter().map(|s| s.to_string()).collect();
        ReportSpec::parse(
            connector,
            RawReport {
                stream: None,
                level,
                metrics: &metrics,
                breakdowns: &breakdowns,
            },
        )
    }

    #[test]
    fn a_meta_campaign_report_with_breakdowns_parses() {
        let spec = parse(
            ConnectorKind::MetaAds,
            "campaign",
            &["impressions", "spend", "clicks", "cpc"],
            &["gender", "age"],
        )
        .unwrap();
        assert_eq!(spec.level, ReportLevel::Campaign);
        assert_eq!(
            spec.metrics,
            [
                Metric::Impressions,
                Metric::Spend,
                Metric::Clicks,
                Metric::Cpc
            ]
        );
        assert_eq!(
            spec.fetched_metrics(),
            [Metric::Impressions, Metric::Spend, Metric::Clicks]
        );
        assert_eq!(
            spec.breakdowns,
            [Breakdown::Age, Breakdown::Gender],
            "sorted"
        );
    }

    #[test]
    fn bad_reports_are_rejected_naming_the_field() {
        type Case<'a> = (
            ConnectorKind,
            &'a str,
            &'a [&'a str],
            &'a [&'a str],
            &'a str,
        );
        let cases: [Case; 9] = [
            (
                ConnectorKind::MetaAds,
                "campaign",
                &[],
                &[],
                "report.metrics",
            ),
            (
                ConnectorKind::MetaAds,
                "campaign",
                &["likes"],
                &[],
                "report.metrics",
            ),
            (
                ConnectorKind::MetaAds,
                "campaign",
                &["clicks", "clicks"],
                &[],
                "report.metrics",
            ),
            (
                ConnectorKind::MetaAds,
                "campaign",
                &["cpc", "spend"],
                &[],
                "report.metrics",
            ),
            (
                ConnectorKind::MetaAds,
                "keyword",
                &["clicks"],
                &[],
                "report.level",
            ),
            (
                ConnectorKind::GoogleAds,
                "campaign",
                &["reach"],
                &[],
                "report.metrics",
            ),
            (
                ConnectorKind::GoogleAds,
                "campaign",
                &["clicks"],
                &["age"],
                "report.breakdowns",
            ),
            (
                ConnectorKind::MetaAds,
                "campaign",
                &["clicks"],
                &["age", "gender", "country"],
                "report.breakdowns",
            ),
            (
                ConnectorKind::Appsflyer,
                "ad",
                &["clicks"],
                &[],
                "report.level",
            ),
        ];
        for (connector, level, metrics, breakdowns, field) in cases {
            let error = parse(connector, level, metrics, breakdowns).unwrap_err();
            assert_eq!(
                error.field, field,
                "{connector} {level} {metrics:?} {breakdowns:?}: {error}"
            );
        }
    }

    #[test]
    fn entity_streams_take_a_level_and_nothing_else() {
        let entities = ReportSpec::parse(
            ConnectorKind::TiktokAds,
            RawReport {
                stream: Some("entities"),
                level: "ad_group",
                ..RawReport::default()
            },
        )
        .unwrap();
        assert_eq!(
            (entities.stream, entities.level),
            (Stream::Entities, ReportLevel::AdGroup)
        );
        let error = ReportSpec::parse(
            ConnectorKind::Appsflyer,
            RawReport {
                stream: Some("entities"),
                level: "campaign",
                ..RawReport::default()
            },
        )
        .unwrap_err();
        assert_eq!(error.field, "report.level");
    }

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

    #[test]
    fn every_connector_has_a_sensible_catalogue() {
        for connector in ConnectorKind::ALL {
            let catalogue = catalogue(connector);
            assert!(!catalogue.levels.is_empty() && !catalogue.metrics.is_empty());
            assert!(catalogue.metrics.iter().all(|m| m.derivation().is_none()));
            assert!(catalogue.max_days_per_request >= 1);
        }
    }
}
