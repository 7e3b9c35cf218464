//! What one platform can report, declared in its folder: the levels, the metrics it reads
//! (derived metrics are computed for every platform alike), the breakdowns, the entity levels,
//! the most days one request may cover and the days it restates. A report is checked against
//! the catalogue when a sync is created ([`Catalogue::parse_report`]), so a bad report is
//! refused at the API door and a connector only ever reads what its catalogue offers.

use shared::domain::report::parse_name;
use shared::domain::{
    Breakdown, ConnectorKind, InvalidField, Metric, RawReport, ReportLevel, ReportSpec, Stream,
};

/// What one connector can report.
#[derive(Debug)]
pub struct Catalogue {
    /// Whose catalogue this is (named in error messages).
    pub connector: ConnectorKind,
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

/// Every report level, for platforms that report at each.
pub const ALL_LEVELS: &[ReportLevel] = &[
    ReportLevel::Account,
    ReportLevel::Campaign,
    ReportLevel::AdGroup,
    ReportLevel::Ad,
];

/// The levels below the account, for platforms whose entities can be synced at each.
pub const ENTITY_LEVELS: &[ReportLevel] =
    &[ReportLevel::Campaign, ReportLevel::AdGroup, ReportLevel::Ad];

impl Catalogue {
    /// Checks a report against this catalogue.
    pub fn parse_report(&self, raw: RawReport<'_>) -> Result<ReportSpec, InvalidField> {
        let connector = self.connector;
        let stream = match raw.stream {
            Some(name) => parse_name(&Stream::ALL, name, "report.stream", Stream::as_str)?,
            None => Stream::Performance,
        };
        let level: ReportLevel = raw.level.parse()?;
        match stream {
            Stream::Entities => {
                if !self.entity_levels.contains(&level) {
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
                return Ok(ReportSpec {
                    stream,
                    level,
                    metrics: Vec::new(),
                    breakdowns: Vec::new(),
                });
            }
            Stream::Performance => {}
        }
        if !self.levels.contains(&level) {
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
                None if !self.metrics.contains(metric) => {
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
            if !self.breakdowns.contains(&breakdown) {
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
        if breakdowns.len() > self.max_breakdowns {
            return Err(InvalidField::new(
                "report.breakdowns",
                format!(
                    "{connector} allows at most {} breakdowns in one report",
                    self.max_breakdowns
                ),
            ));
        }
        breakdowns.sort();
        Ok(ReportSpec {
            stream,
            level,
            metrics,
            breakdowns,
        })
    }

    /// A performance report without breakdowns.
    pub fn performance(&self, level: &str, metrics: &[&str]) -> Result<ReportSpec, InvalidField> {
        let metrics: Vec<String> = metrics.iter().map(|m| m.to_string()).collect();
        self.parse_report(RawReport {
            stream: None,
            level,
            metrics: &metrics,
            breakdowns: &[],
        })
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
        crate::catalogue(connector).parse_report(RawReport {
            stream: None,
            level,
            metrics: &metrics,
            breakdowns: &breakdowns,
        })
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
        let entities = crate::catalogue(ConnectorKind::TiktokAds)
            .parse_report(RawReport {
                stream: Some("entities"),
                level: "ad_group",
                ..RawReport::default()
            })
            .unwrap();
        assert_eq!(
            (entities.stream, entities.level),
            (Stream::Entities, ReportLevel::AdGroup)
        );
        let error = crate::catalogue(ConnectorKind::Appsflyer)
            .parse_report(RawReport {
                stream: Some("entities"),
                level: "campaign",
                ..RawReport::default()
            })
            .unwrap_err();
        assert_eq!(error.field, "report.level");
    }

    #[test]
    fn every_connector_has_a_sensible_catalogue() {
        for connector in ConnectorKind::ALL {
            let catalogue = crate::catalogue(connector);
            assert_eq!(catalogue.connector, connector);
            assert!(!catalogue.levels.is_empty() && !catalogue.metrics.is_empty());
            assert!(catalogue.metrics.iter().all(|m| m.derivation().is_none()));
            assert!(catalogue.max_days_per_request >= 1);
        }
    }
}
