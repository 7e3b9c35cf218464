//! AppsFlyer's wire format: the aggregate report's columns, found by their names in the CSV
//! header; the mapping of CSV records to our [`Row`]s; error bodies; and the management API's
//! app list.
//!
//! Our catalogue on AppsFlyer's columns: `impressions` ← `Impressions`, `clicks` ← `Clicks`,
//! `spend` ← `Total Cost`, `conversions` ← `Installs` (the cohort's installs), `conversion_value`
//! ← `Total Revenue` (all revenue events of the cohort), money in the app's currency and major
//! units as AppsFlyer writes it (`currency=preferred`). `N/A`, `NULL` and empty fields are
//! unknown (`None`), not zero.
//!
//! A campaign row is a media source and a campaign: `campaign_id` is
//! `<Media Source (pid)>|<Campaign (c)>` (just the media source for rows without a campaign, such
//! as `Organic`), so the same campaign name on two networks stays two campaigns, and
//! `campaign_name` is `Campaign (c)` (empty without a campaign). Rows that differ only by agency
//! (`Agency/PMD (af_prt)`) are summed. The account level is the app's total: every row of a date
//! (and country) summed, organic installs included. Text columns are part of the warehouse's key,
//! so a missing text (`N/A`) is empty rather than unknown.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use shared::domain::{Breakdown, Metric, ReportLevel, ReportSpec};

use crate::rows::Row;

/// The install date column.
pub(super) const DATE: &str = "Date";
/// The media source column.
pub(super) const MEDIA_SOURCE: &str = "Media Source (pid)";
/// The campaign column.
pub(super) const CAMPAIGN: &str = "Campaign (c)";
/// The country column of geo reports.
pub(super) const COUNTRY: &str = "Country";

/// Separates the media source from the campaign in `campaign_id`.
pub(super) const CAMPAIGN_ID_SEPARATOR: char = '|';

/// The column a metric is read from; `None` for metrics AppsFlyer does not report.
pub(super) fn metric_column(metric: Metric) -> Option<&'static str> {
    match metric {
        Metric::Impressions => Some("Impressions"),
        Metric::Clicks => Some("Clicks"),
        Metric::Spend => Some("Total Cost"),
        Metric::Conversions => Some("Installs"),
        Metric::ConversionValue => Some("Total Revenue"),
        // Derived metrics are never fetched (see `ReportSpec::fetched_metrics`).
        Metric::Reach | Metric::Ctr | Metric::Cpc | Metric::Cpm | Metric::Cpa | Metric::Roas => {
            None
        }
    }
}

/// The column of a breakdown; `None` for breakdowns AppsFlyer's aggregate reports lack.
pub(super) fn breakdown_column(breakdown: Breakdown) -> Option<&'static str> {
    match breakdown {
        Breakdown::Country => Some(COUNTRY),
        Breakdown::Age | Breakdown::Gender | Breakdown::Platform | Breakdown::Placement => None,
    }
}

/// Whether a value means "unknown".
fn is_missing(value: &str) -> bool {
    value.is_empty() || value == "N/A" || value == "NULL"
}

/// Where each column the report needs is in the CSV.
#[derive(Debug)]
pub(super) struct Columns {
    width: usize,
    date: usize,
    /// `Media Source (pid)` and `Campaign (c)`, at campaign level.
    campaign: Option<(usize, usize)>,
    breakdowns: Vec<usize>,
    metrics: Vec<(usize, &'static str)>,
}

impl Columns {
    /// Finds the report's columns in `header` by name; a missing one is an error naming it.
    pub(super) fn from_header(header: &[String], report: &ReportSpec) -> Result<Self, String> {
        let find = |name: &str| {
            header
                .iter()
                .position(|column| column.trim() == name)
                .ok_or_else(|| format!("the header has no column {name:?}"))
        };
        let campaign = match report.level {
            ReportLevel::Account => None,
            ReportLevel::Campaign => Some((find(MEDIA_SOURCE)?, find(CAMPAIGN)?)),
            ReportLevel::AdGroup | ReportLevel::Ad => {
                return Err(format!("aggregate reports have no {} level", report.level));
            }
        };
        let breakdowns = report
            .breakdowns
            .iter()
            .map(|breakdown| {
                breakdown_column(*breakdown)
                    .ok_or_else(|| format!("aggregate reports have no {breakdown} breakdown"))
                    .and_then(find)
            })
            .collect::<Result<_, _>>()?;
        let metrics = report
            .fetched_metrics()
            .iter()
            .map(|metric| {
                let name = metric_column(*metric)
                    .ok_or_else(|| format!("aggregate reports have no {metric}"))?;
                Ok((find(name)?, name))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            width: header.len(),
            date: find(DATE)?,
            campaign,
            breakdowns,
            metrics,
        })
    }
}

/// The key of one output row: the date and the text columns.
type Key = (NaiveDate, Vec<Option<String>>);

/// Sums CSV records into rows of the report's level.
#[derive(Debug)]
pub(super) struct Rows {
    columns: Columns,
    groups: BTreeMap<Key, Vec<Option<Decimal>>>,
}

/// `a + b` where either may be unknown: unknown only when both are.
fn add(a: Option<Decimal>, b: Option<Decimal>) -> Option<Decimal> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, None) => a,
        (None, b) => b,
    }
}

impl Rows {
    pub(super) fn new(columns: Columns) -> Self {
        Self {
            columns,
            groups: BTreeMap::new(),
        }
    }

    /// Adds one data record; an error names the line and the column.
    pub(super) fn add(&mut self, line: u64, fields: &[String]) -> Result<(), String> {
        let columns = &self.columns;
        if fields.len() != columns.width {
            return Err(format!(
                "line {line} has {} fields, the header {}",
                fields.len(),
                columns.width
            ));
        }
        let field = |index: usize| fields.get(index).map_or("", |value| value.trim());
        // Text columns are never unknown in the warehouse's key: a missing value is empty.
        let text = |index: usize| {
            let value = field(index);
            if is_missing(value) {
                String::new()
            } else {
                value.to_owned()
            }
        };
        let date_text = field(columns.date);
        let date = NaiveDate::parse_from_str(date_text, "%Y-%m-%d").map_err(|_| {
            format!("line {line}, column {DATE:?}: {date_text:?} is not a date (YYYY-MM-DD)")
        })?;
        let mut texts = Vec::new();
        if let Some((media_source, campaign)) = columns.campaign {
            let media_source = text(media_source);
            let campaign = text(campaign);
            let id = if campaign.is_empty() {
                media_source
            } else {
                format!("{media_source}{CAMPAIGN_ID_SEPARATOR}{campaign}")
            };
            texts.push(Some(id));
            texts.push(Some(campaign));
        }
        for index in &columns.breakdowns {
            texts.push(Some(text(*index).to_uppercase()));
        }
        let numbers = columns
            .metrics
            .iter()
            .map(|(index, name)| {
                let value = field(*index);
                if is_missing(value) {
                    return Ok(None);
                }
                Decimal::from_str(value)
                    .map(Some)
                    .map_err(|_| format!("line {line}, column {name:?}: {value:?} is not a number"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let sums = self
            .groups
            .entry((date, texts))
            .or_insert_with(|| vec![None; numbers.len()]);
        for (sum, value) in sums.iter_mut().zip(numbers) {
            *sum = add(*sum, value);
        }
        Ok(())
    }

    /// The rows, ordered by date and then text columns.
    pub(super) fn into_rows(self) -> Vec<Row> {
        self.groups
            .into_iter()
            .map(|((date, texts), numbers)| Row {
                date: Some(date),
                texts,
                numbers: numbers
                    .into_iter()
                    .map(|n| n.map(|n| n.normalize()))
                    .collect(),
            })
            .collect()
    }
}

/// A short description of an error body: its `message`, or its text, never a whole HTML page.
pub(super) fn error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
        if let Some(message) = value.get("message").and_then(|m| m.as_str()) {
            return message.to_owned();
        }
        if let Some(message) = value.as_str() {
            return message.to_owned();
        }
    }
    let text = text.trim();
    if text.starts_with('<') {
        return "an HTML page".to_owned();
    }
    if text.is_empty() {
        return "no details".to_owned();
    }
    text.chars().take(200).collect()
}

/// One page of `GET /mng/apps`.
#[derive(Debug, Deserialize)]
pub(super) struct AppsPage {
    pub(super) data: Vec<App>,
    #[serde(default)]
    pub(super) links: Option<Links>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Links {
    #[serde(default)]
    pub(super) next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct App {
    pub(super) id: String,
    pub(super) attributes: AppAttributes,
}

#[derive(Debug, Deserialize)]
pub(super) struct AppAttributes {
    pub(super) name: String,
    pub(super) currency: String,
    pub(super) time_zone: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(level: &str, metrics: &[&str], breakdowns: &[&str]) -> ReportSpec {
        super::super::CATALOGUE
            .performance_by(level, metrics, breakdowns)
            .unwrap()
    }

    fn strings(fields: &[&str]) -> Vec<String> {
        fields.iter().map(|f| f.to_string()).collect()
    }

    const HEADER: &[&str] = &[
        "Date",
        "Country",
        "Agency/PMD (af_prt)",
        "Media Source (pid)",
        "Campaign (c)",
        "Impressions",
        "Clicks",
        "Installs",
        "Total Revenue",
        "Total Cost",
        "af_purchase (Event counter)",
    ];

    fn d(text: &str) -> Option<Decimal> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn columns_are_found_by_name_in_any_order_and_missing_ones_are_named() {
        let report = report("campaign", &["spend", "conversions", "cpa"], &["country"]);
        let mut header = strings(HEADER);
        header.reverse();
        assert!(Columns::from_header(&header, &report).is_ok());
        header.retain(|column| column != "Total Cost");
        let error = Columns::from_header(&header, &report).unwrap_err();
        assert!(error.contains("\"Total Cost\""), "{error}");
    }

    #[test]
    fn campaign_rows_key_on_media_source_and_campaign_and_sum_agencies() {
        let report = report(
            "campaign",
            &["impressions", "spend", "conversions", "conversion_value"],
            &["country"],
        );
        let mut rows = Rows::new(Columns::from_header(&strings(HEADER), &report).unwrap());
        let records = [
            [
                "2025-06-02",
                "us",
                "",
                "Facebook Ads",
                "Brand, Always-on",
                "100",
                "5",
                "3",
                "1.5",
                "2.25",
                "1",
            ],
            [
                "2025-06-02",
                "us",
                "mobupps",
                "Facebook Ads",
                "Brand, Always-on",
                "50",
                "1",
                "1",
                "0.5",
                "0.75",
                "1",
            ],
            [
                "2025-06-01",
                "DE",
                "N/A",
                "Organic",
                "N/A",
                "N/A",
                "N/A",
                "7",
                "3",
                "NULL",
                "0",
            ],
        ];
        for (line, record) in records.iter().enumerate() {
            rows.add(line as u64 + 2, &strings(record)).unwrap();
        }
        let rows = rows.into_rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].date, "2025-06-01".parse().ok());
        assert_eq!(
            rows[0].texts,
            vec![
                Some("Organic".into()),
                Some(String::new()),
                Some("DE".into())
            ]
        );
        assert_eq!(rows[0].numbers, vec![None, None, d("7"), d("3")]);
        assert_eq!(
            rows[1].texts,
            vec![
                Some("Facebook Ads|Brand, Always-on".into()),
                Some("Brand, Always-on".into()),
                Some("US".into())
            ]
        );
        assert_eq!(rows[1].numbers, vec![d("150"), d("3"), d("4"), d("2")]);
    }

    #[test]
    fn the_account_level_sums_every_row_of_a_date() {
        let report = report("account", &["impressions", "conversions"], &[]);
        let mut rows = Rows::new(Columns::from_header(&strings(HEADER), &report).unwrap());
        rows.add(
            2,
            &strings(&[
                "2025-06-01",
                "US",
                "",
                "a",
                "c",
                "10",
                "1",
                "2",
                "0",
                "0",
                "0",
            ]),
        )
        .unwrap();
        rows.add(
            3,
            &strings(&[
                "2025-06-01",
                "DE",
                "",
                "Organic",
                "N/A",
                "N/A",
                "N/A",
                "5",
                "0",
                "NULL",
                "0",
            ]),
        )
        .unwrap();
        let rows = rows.into_rows();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].texts.is_empty());
        assert_eq!(rows[0].numbers, vec![d("10"), d("7")]);
    }

    #[test]
    fn bad_values_name_the_line_and_column() {
        let report = report("account", &["spend"], &[]);
        let mut rows = Rows::new(Columns::from_header(&strings(HEADER), &report).unwrap());
        let error = rows
            .add(
                2,
                &strings(&[
                    "2025-06-01",
                    "US",
                    "",
                    "a",
                    "c",
                    "10",
                    "1",
                    "2",
                    "0",
                    "1,234.56",
                    "0",
                ]),
            )
            .unwrap_err();
        assert!(
            error.contains("line 2") && error.contains("\"Total Cost\""),
            "{error}"
        );
        let error = rows
            .add(
                3,
                &strings(&[
                    "30/06/2025",
                    "US",
                    "",
                    "a",
                    "c",
                    "10",
                    "1",
                    "2",
                    "0",
                    "1",
                    "0",
                ]),
            )
            .unwrap_err();
        assert!(error.contains("\"Date\""), "{error}");
        let error = rows.add(4, &strings(&["2025-06-01", "US"])).unwrap_err();
        assert!(error.contains("line 4 has 2 fields"), "{error}");
    }

    #[test]
    fn error_bodies_are_summarised_without_html() {
        assert_eq!(
            error_message(br#"{"message":"Supplied API token is invalid"}"#),
            "Supplied API token is invalid"
        );
        assert_eq!(
            error_message(b"Limit reached for geo_by_date_report"),
            "Limit reached for geo_by_date_report"
        );
        assert_eq!(
            error_message(b"<html><body>404</body></html>"),
            "an HTML page"
        );
        assert_eq!(error_message(b""), "no details");
    }
}
