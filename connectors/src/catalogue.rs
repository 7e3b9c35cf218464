//! What one platform can report, declared in its folder: the levels, the metrics it reads
//! (derived metrics are computed for every platform alike), the breakdowns, the report types
//! that decide which metrics combine with which breakdowns, the entity levels, the most days
//! one request may cover and the days it restates. A report is checked against the catalogue
//! when a sync is created ([`Catalogue::parse_report`]), so a report the platform would refuse
//! on every run is refused at the API door, and a connector only ever reads what its catalogue
//! offers ([`Catalogue::check`] before it sends anything).

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
    /// The kinds of report the platform serves, where they differ in what they accept
    /// (TikTok's `BASIC` and `AUDIENCE`); empty when every metric combines with every
    /// breakdown of the catalogue.
    pub report_types: &'static [ReportType],
    /// Levels whose entities can be synced.
    pub entity_levels: &'static [ReportLevel],
    /// Days re-read by the daily lookback run because the platform restates them.
    pub default_lookback_days: u32,
    /// Most days one platform request may cover; longer windows are split.
    pub max_days_per_request: u32,
}

/// A kind of report a platform serves, chosen by the breakdowns a report uses, and the
/// metrics the platform accepts in it. A report is of the first of the catalogue's types whose
/// breakdowns include all of its own (so a type without breakdowns, listed first, is the type
/// of reports without any).
#[derive(Debug)]
pub struct ReportType {
    /// The platform's name for it (TikTok's `report_type`), quoted when a report is refused.
    pub name: &'static str,
    /// The breakdowns a report of this type may use.
    pub breakdowns: &'static [Breakdown],
    /// The metrics read from the platform that it accepts in a report of this type (derived
    /// metrics follow their inputs).
    pub metrics: &'static [Metric],
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
        let spec = ReportSpec {
            stream,
            level,
            metrics,
            breakdowns,
        };
        self.check(&spec)?;
        Ok(spec)
    }

    /// The report type `report` is of, by its breakdowns; `None` when the catalogue declares no
    /// types, or when no type takes all the report's breakdowns together.
    pub fn report_type(&self, report: &ReportSpec) -> Option<&'static ReportType> {
        self.report_types.iter().find(|kind| {
            report
                .breakdowns
                .iter()
                .all(|breakdown| kind.breakdowns.contains(breakdown))
        })
    }

    /// Checks that the platform accepts `report` as a whole: its breakdowns make a report type
    /// the platform serves, and that type takes every metric read from the platform. A
    /// connector checks the report again before it sends anything, so a report stored before
    /// its platform's rules were known fails without a request the platform would refuse.
    pub fn check(&self, report: &ReportSpec) -> Result<(), InvalidField> {
        if report.stream == Stream::Entities || self.report_types.is_empty() {
            return Ok(());
        }
        let connector = self.connector;
        let Some(kind) = self.report_type(report) else {
            let names: Vec<&str> = report.breakdowns.iter().map(|b| b.as_str()).collect();
            return Err(InvalidField::new(
                "report.breakdowns",
                format!(
                    "{connector} has no report that breaks down by {} together",
                    names.join(" and ")
                ),
            ));
        };
        let refused: Vec<Metric> = report
            .fetched_metrics()
            .into_iter()
            .filter(|metric| !kind.metrics.contains(metric))
            .collect();
        if refused.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = refused.iter().map(|metric| metric.as_str()).collect();
        let by: Vec<&str> = kind.breakdowns.iter().map(|b| b.as_str()).collect();
        let which = if by.is_empty() {
            "those without breakdowns".to_owned()
        } else {
            format!("those broken down by {}", by.join(", "))
        };
        let elsewhere = self
            .report_types
            .iter()
            .filter(|other| refused.iter().all(|metric| other.metrics.contains(metric)))
            .map(|other| {
                if other.breakdowns.is_empty() {
                    "without breakdowns".to_owned()
                } else {
                    let by: Vec<&str> = other.breakdowns.iter().map(|b| b.as_str()).collect();
                    format!("broken down by {}", by.join(", "))
                }
            })
            .next();
        let hint = match elsewhere {
            Some(where_) => format!("; it reports {} in reports {where_}", names.join(", ")),
            None => String::new(),
        };
        Err(InvalidField::new(
            "report.metrics",
            format!(
                "{connector} does not report {} in its {} reports ({which}){hint}",
                names.join(", "),
                kind.name
            ),
        ))
    }

    /// A performance report without breakdowns.
    pub fn performance(&self, level: &str, metrics: &[&str]) -> Result<ReportSpec, InvalidField> {
        self.performance_by(level, metrics, &[])
    }

    /// A performance report broken down by `breakdowns`.
    pub fn performance_by(
        &self,
        level: &str,
        metrics: &[&str],
        breakdowns: &[&str],
    ) -> Result<ReportSpec, InvalidField> {
        let owned =
            |names: &[&str]| -> Vec<String> { names.iter().map(|n| n.to_string()).collect() };
        self.parse_report(RawReport {
            stream: None,
            level,
            metrics: &owned(metrics),
            breakdowns: &owned(breakdowns),
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
            for kind in catalogue.report_types {
                assert!(
                    kind.metrics.iter().all(|m| catalogue.metrics.contains(m)),
                    "{connector} {}: metrics outside the catalogue",
                    kind.name
                );
                assert!(
                    kind.breakdowns
                        .iter()
                        .all(|b| catalogue.breakdowns.contains(b)),
                    "{connector} {}: breakdowns outside the catalogue",
                    kind.name
                );
            }
            if !catalogue.report_types.is_empty() {
                for breakdown in catalogue.breakdowns {
                    assert!(
                        catalogue
                            .report_types
                            .iter()
                            .any(|kind| kind.breakdowns.contains(breakdown)),
                        "{connector}: no report type takes {breakdown}"
                    );
                }
                assert!(
                    catalogue.report_types[0].breakdowns.is_empty(),
                    "{connector}: the first type is the one without breakdowns"
                );
            }
        }
    }

    #[test]
    fn a_report_type_refuses_the_metrics_its_platform_refuses_naming_the_field() {
        // An AUDIENCE report (any audience breakdown) with reach: TikTok answers 40002.
        for breakdown in ["age", "gender", "country", "platform"] {
            let error = parse(
                ConnectorKind::TiktokAds,
                "ad_group",
                &["impressions", "reach", "ctr", "clicks"],
                &[breakdown],
            )
            .unwrap_err();
            assert_eq!(error.field, "report.metrics", "{breakdown}");
            assert!(
                error.message.contains("reach") && error.message.contains("AUDIENCE"),
                "{error}"
            );
            assert!(
                error.message.contains("without breakdowns"),
                "says where reach is reported: {error}"
            );
        }
        let basic = parse(
            ConnectorKind::TiktokAds,
            "campaign",
            &["impressions", "reach", "spend", "cpm"],
            &[],
        )
        .unwrap();
        let tiktok = crate::catalogue(ConnectorKind::TiktokAds);
        assert_eq!(
            tiktok.report_type(&basic).map(|kind| kind.name),
            Some("BASIC")
        );
        let audience = parse(
            ConnectorKind::TiktokAds,
            "campaign",
            &[
                "impressions",
                "clicks",
                "spend",
                "conversions",
                "ctr",
                "cpa",
            ],
            &["age", "country"],
        )
        .unwrap();
        assert_eq!(
            tiktok.report_type(&audience).map(|kind| kind.name),
            Some("AUDIENCE")
        );
        assert!(
            crate::catalogue(ConnectorKind::MetaAds)
                .report_type(&audience)
                .is_none(),
            "a platform without report types"
        );
    }
}
