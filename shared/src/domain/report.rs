//! What a sync reads: a report level and a list of metrics, checked against the connector's
//! catalogue when the sync is created, so a bad report is refused at the API door.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{ConnectorKind, InvalidField};

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

    /// The dimension columns of a row at this level, outermost entity first.
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
        Self::ALL
            .into_iter()
            .find(|level| level.as_str() == s)
            .ok_or_else(|| {
                InvalidField::new(
                    "report.level",
                    format!("unknown level {s:?}; expected account, campaign, ad_group or ad"),
                )
            })
    }
}

/// A numeric measure on a report row. Every metric is stored as an exact decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Impressions,
    Clicks,
    /// Money in the account's currency (major units, for example dollars, not micros).
    Spend,
    Reach,
}

impl Metric {
    pub const ALL: [Metric; 4] = [
        Metric::Impressions,
        Metric::Clicks,
        Metric::Spend,
        Metric::Reach,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Impressions => "impressions",
            Metric::Clicks => "clicks",
            Metric::Spend => "spend",
            Metric::Reach => "reach",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one connector can report.
#[derive(Debug)]
pub struct Catalogue {
    pub levels: &'static [ReportLevel],
    pub metrics: &'static [Metric],
    /// Days re-read by the daily run because the platform restates them.
    pub default_lookback_days: u32,
}

/// The report catalogue of a connector.
pub fn catalogue(connector: ConnectorKind) -> Option<&'static Catalogue> {
    static META_ADS: Catalogue = Catalogue {
        levels: &[
            ReportLevel::Account,
            ReportLevel::Campaign,
            ReportLevel::AdGroup,
            ReportLevel::Ad,
        ],
        metrics: &[
            Metric::Impressions,
            Metric::Clicks,
            Metric::Spend,
            Metric::Reach,
        ],
        default_lookback_days: 28,
    };
    match connector {
        ConnectorKind::MetaAds => Some(&META_ADS),
        ConnectorKind::GoogleAds
        | ConnectorKind::TiktokAds
        | ConnectorKind::SnapchatAds
        | ConnectorKind::Appsflyer => None,
    }
}

/// A validated report request: a level and at least one metric, without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportSpec {
    pub level: ReportLevel,
    pub metrics: Vec<Metric>,
}

impl ReportSpec {
    /// Checks `level` and `metrics` against `connector`'s catalogue.
    pub fn parse(
        connector: ConnectorKind,
        level: &str,
        metrics: &[String],
    ) -> Result<Self, InvalidField> {
        let catalogue = catalogue(connector).ok_or_else(|| {
            InvalidField::new("connector", format!("{connector} is not supported yet"))
        })?;
        let level: ReportLevel = level.parse()?;
        if !catalogue.levels.contains(&level) {
            return Err(InvalidField::new(
                "report.level",
                format!("{connector} does not report at level {level}"),
            ));
        }
        if metrics.is_empty() {
            return Err(InvalidField::new(
                "report.metrics",
                "must name at least one metric",
            ));
        }
        let mut parsed = Vec::with_capacity(metrics.len());
        for name in metrics {
            let metric = catalogue
                .metrics
                .iter()
                .copied()
                .find(|metric| metric.as_str() == name)
                .ok_or_else(|| {
                    let known: Vec<&str> = catalogue.metrics.iter().map(|m| m.as_str()).collect();
                    InvalidField::new(
                        "report.metrics",
                        format!(
                            "{connector} has no metric {name:?}; expected some of {}",
                            known.join(", ")
                        ),
                    )
                })?;
            if parsed.contains(&metric) {
                return Err(InvalidField::new(
                    "report.metrics",
                    format!("{name:?} is listed twice"),
                ));
            }
            parsed.push(metric);
        }
        Ok(Self {
            level,
            metrics: parsed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_meta_campaign_report_parses() {
        let spec = ReportSpec::parse(
            ConnectorKind::MetaAds,
            "campaign",
            &names(&["impressions", "spend"]),
        )
        .unwrap();
        assert_eq!(spec.level, ReportLevel::Campaign);
        assert_eq!(spec.metrics, [Metric::Impressions, Metric::Spend]);
    }

    #[test]
    fn bad_reports_are_rejected_naming_the_field() {
        let cases = [
            ("campaign", vec![], "report.metrics"),
            ("campaign", vec!["likes"], "report.metrics"),
            ("campaign", vec!["clicks", "clicks"], "report.metrics"),
            ("keyword", vec!["clicks"], "report.level"),
        ];
        for (level, metrics, field) in cases {
            let error =
                ReportSpec::parse(ConnectorKind::MetaAds, level, &names(&metrics)).unwrap_err();
            assert_eq!(error.field, field, "{level} {metrics:?}: {error}");
        }
    }

    #[test]
    fn dimensions_grow_with_the_level() {
        assert!(ReportLevel::Account.dimensions().is_empty());
        assert_eq!(ReportLevel::Campaign.dimensions().len(), 2);
        assert_eq!(ReportLevel::Ad.dimensions().last(), Some(&"ad_name"));
    }
}
