//! Rows as connectors read them and destinations store them.
//!
//! A connector fills, for a performance report, the date, the level's dimensions followed by the
//! report's breakdowns (`texts`), and the metrics read from the platform in
//! `ReportSpec::fetched_metrics` order (`numbers`); [`derive`] then adds the derived metrics so
//! the numbers follow `ReportSpec::metrics`. For an entities stream it fills `texts` and
//! `numbers` as [`ENTITY_TEXTS`] and [`ENTITY_NUMBERS`] list them, without a date.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use shared::domain::report::{ENTITY_NUMBERS, ENTITY_TEXTS};
use shared::domain::text::make_storable;
use shared::domain::{Metric, ReportSpec, Stream};

/// One row: a day (performance only), text columns and numeric columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub date: Option<NaiveDate>,
    pub texts: Vec<Option<String>>,
    pub numbers: Vec<Option<Decimal>>,
}

/// The columns of a report's rows, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub dated: bool,
    pub texts: Vec<&'static str>,
    pub numbers: Vec<&'static str>,
}

impl Layout {
    /// The columns of stored rows (after [`derive`]).
    pub fn stored(report: &ReportSpec) -> Self {
        match report.stream {
            Stream::Performance => Self {
                dated: true,
                texts: performance_texts(report),
                numbers: report
                    .metrics
                    .iter()
                    .map(|metric| metric.as_str())
                    .collect(),
            },
            Stream::Entities => Self {
                dated: false,
                texts: ENTITY_TEXTS.to_vec(),
                numbers: ENTITY_NUMBERS.to_vec(),
            },
        }
    }

    /// The columns a connector fills.
    pub fn fetched(report: &ReportSpec) -> Self {
        match report.stream {
            Stream::Performance => Self {
                dated: true,
                texts: performance_texts(report),
                numbers: report
                    .fetched_metrics()
                    .iter()
                    .map(|metric| metric.as_str())
                    .collect(),
            },
            Stream::Entities => Self::stored(report),
        }
    }
}

fn performance_texts(report: &ReportSpec) -> Vec<&'static str> {
    let mut texts = report.level.dimensions().to_vec();
    texts.extend(report.breakdowns.iter().map(|breakdown| breakdown.as_str()));
    texts
}

/// Turns fetched rows into stored rows: the numbers in `report.metrics` order, derived metrics
/// computed from the fetched ones the same way for every platform, and texts storable in every
/// destination: a U+0000 a platform sent (PostgreSQL text cannot hold it) becomes U+FFFD, the
/// rest of the text and the row are kept.
pub fn derive(report: &ReportSpec, mut rows: Vec<Row>) -> Vec<Row> {
    for text in rows
        .iter_mut()
        .flat_map(|row| row.texts.iter_mut().flatten())
    {
        make_storable(text);
    }
    if report.stream == Stream::Entities {
        return rows;
    }
    let fetched = report.fetched_metrics();
    let position = |metric: Metric| fetched.iter().position(|m| *m == metric);
    rows.into_iter()
        .map(|row| {
            let value = |metric: Metric| {
                position(metric).and_then(|i| row.numbers.get(i).copied().flatten())
            };
            let numbers = report
                .metrics
                .iter()
                .map(|metric| match metric.derivation() {
                    None => value(*metric),
                    Some((numerator, denominator, factor)) => {
                        Metric::derive(value(numerator), value(denominator), factor)
                    }
                })
                .collect();
            Row {
                date: row.date,
                texts: row.texts,
                numbers,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::ConnectorKind;

    #[test]
    fn derived_metrics_follow_the_report_order() {
        let report = crate::catalogue(ConnectorKind::MetaAds)
            .performance(
                "campaign",
                &["cpc", "spend", "clicks", "impressions", "ctr"],
            )
            .unwrap();
        assert_eq!(
            Layout::fetched(&report).numbers,
            ["spend", "clicks", "impressions"]
        );
        assert_eq!(
            Layout::stored(&report).numbers,
            ["cpc", "spend", "clicks", "impressions", "ctr"]
        );
        let d = |s: &str| Some(s.parse::<Decimal>().unwrap());
        let fetched = Row {
            date: "2026-01-02".parse().ok(),
            texts: vec![Some("1".into()), Some("c".into())],
            numbers: vec![d("10"), d("4"), d("400")],
        };
        let stored = derive(&report, vec![fetched]);
        assert_eq!(
            stored[0].numbers,
            [d("2.5"), d("10"), d("4"), d("400"), d("1")]
        );
    }

    #[test]
    fn a_nul_from_a_platform_is_replaced_in_every_text_and_the_row_kept() {
        let entities = crate::catalogue(ConnectorKind::MetaAds)
            .parse_report(shared::domain::RawReport {
                stream: Some("entities"),
                level: "campaign",
                metrics: &[],
                breakdowns: &[],
            })
            .unwrap();
        let performance = crate::catalogue(ConnectorKind::MetaAds)
            .performance("campaign", &["spend"])
            .unwrap();
        for report in [entities, performance] {
            let row = Row {
                date: None,
                texts: vec![Some("1".into()), Some("Sale\u{0} 50%\u{1}".into()), None],
                numbers: vec![Some(Decimal::ONE)],
            };
            let stored = derive(&report, vec![row]);
            assert_eq!(
                stored[0].texts,
                [Some("1".into()), Some("Sale\u{FFFD} 50%\u{1}".into()), None]
            );
        }
    }

    #[test]
    fn a_missing_input_leaves_the_derived_metric_unknown() {
        let report = crate::catalogue(ConnectorKind::MetaAds)
            .performance("account", &["spend", "clicks", "cpc"])
            .unwrap();
        let row = Row {
            date: None,
            texts: vec![],
            numbers: vec![Some(Decimal::ONE), None],
        };
        assert_eq!(
            derive(&report, vec![row])[0].numbers,
            [Some(Decimal::ONE), None, None]
        );
    }
}
