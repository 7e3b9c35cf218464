//! Meta's wire format: insights pages, error envelopes and usage headers, and the mapping from
//! an insights row to our [`ReportRow`].

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::header::HeaderMap;
use rust_decimal::Decimal;
use serde::Deserialize;
use shared::domain::{ReportLevel, ReportSpec};

use super::MetaError;
use crate::connectors::ReportRow;

#[derive(Debug, Deserialize)]
pub(super) struct InsightsPage {
    pub(super) data: Vec<InsightsRow>,
    #[serde(default)]
    pub(super) paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Paging {
    #[serde(default)]
    pub(super) cursors: Option<Cursors>,
    #[serde(default)]
    pub(super) next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Cursors {
    #[serde(default)]
    pub(super) after: Option<String>,
}

/// One insights row. Every value is a string on the wire; fields not requested are absent.
#[derive(Debug, Deserialize)]
pub(super) struct InsightsRow {
    date_start: String,
    account_id: Option<String>,
    campaign_id: Option<String>,
    campaign_name: Option<String>,
    adset_id: Option<String>,
    adset_name: Option<String>,
    ad_id: Option<String>,
    ad_name: Option<String>,
    impressions: Option<String>,
    clicks: Option<String>,
    spend: Option<String>,
    reach: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ErrorEnvelope {
    pub(super) error: ApiError,
}

/// The Graph API error object.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiError {
    pub message: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub code: i64,
    pub error_subcode: Option<i64>,
    pub is_transient: Option<bool>,
}

/// The Meta fields that carry the dimensions of `level`, in `ReportLevel::dimensions` order.
pub(super) fn dimension_fields(level: ReportLevel) -> &'static [&'static str] {
    match level {
        ReportLevel::Account => &["account_id"],
        ReportLevel::Campaign => &["campaign_id", "campaign_name"],
        ReportLevel::AdGroup => &["campaign_id", "campaign_name", "adset_id", "adset_name"],
        ReportLevel::Ad => &[
            "campaign_id",
            "campaign_name",
            "adset_id",
            "adset_name",
            "ad_id",
            "ad_name",
        ],
    }
}

impl InsightsRow {
    fn field(&self, name: &str) -> Option<&str> {
        match name {
            "account_id" => self.account_id.as_deref(),
            "campaign_id" => self.campaign_id.as_deref(),
            "campaign_name" => self.campaign_name.as_deref(),
            "adset_id" => self.adset_id.as_deref(),
            "adset_name" => self.adset_name.as_deref(),
            "ad_id" => self.ad_id.as_deref(),
            "ad_name" => self.ad_name.as_deref(),
            "impressions" => self.impressions.as_deref(),
            "clicks" => self.clicks.as_deref(),
            "spend" => self.spend.as_deref(),
            "reach" => self.reach.as_deref(),
            _ => None,
        }
    }
}

/// Maps a page to report rows; a missing dimension or a metric that is not a decimal is an
/// error naming the row and field. A metric Meta leaves out is `None` (unknown, not zero).
pub(super) fn rows(
    page: &InsightsPage,
    report: &ReportSpec,
    page_number: u32,
) -> Result<Vec<ReportRow>, MetaError> {
    let malformed = |index: usize, detail: String| MetaError::Malformed {
        page: page_number,
        detail: format!("data[{index}].{detail}"),
    };
    // The account level has no dimension columns; its `account_id` field is only checked.
    let dimension_fields = match report.level {
        ReportLevel::Account => &[][..],
        level => dimension_fields(level),
    };
    page.data
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let date = NaiveDate::from_str(&row.date_start).map_err(|_| {
                malformed(
                    index,
                    format!("date_start: {:?} is not a date", row.date_start),
                )
            })?;
            let dimensions = dimension_fields
                .iter()
                .map(|name| {
                    row.field(name)
                        .map(str::to_string)
                        .ok_or_else(|| malformed(index, format!("{name}: missing")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let metrics = report
                .metrics
                .iter()
                .map(|metric| {
                    row.field(metric.as_str())
                        .map(|value| {
                            Decimal::from_str(value).map_err(|_| {
                                malformed(index, format!("{metric}: {value:?} is not a number"))
                            })
                        })
                        .transpose()
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ReportRow {
                date,
                dimensions,
                metrics,
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct BusinessUseCase {
    #[serde(default)]
    estimated_time_to_regain_access: Option<f64>,
}

#[derive(Deserialize)]
struct AdAccountUsage {
    #[serde(default)]
    reset_time_duration: Option<f64>,
}

/// When a throttled budget becomes available again, from `X-Business-Use-Case-Usage`
/// (`estimated_time_to_regain_access`, minutes) or `X-Ad-Account-Usage`
/// (`reset_time_duration`, seconds); the later of the two wins.
pub(super) fn regain_at(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let business_minutes = header("x-business-use-case-usage")
        .and_then(|value| {
            serde_json::from_str::<std::collections::HashMap<String, Vec<BusinessUseCase>>>(value)
                .ok()
        })
        .into_iter()
        .flat_map(|usage| usage.into_values().flatten())
        .filter_map(|case| case.estimated_time_to_regain_access)
        .fold(0.0_f64, f64::max);
    let account_seconds = header("x-ad-account-usage")
        .and_then(|value| serde_json::from_str::<AdAccountUsage>(value).ok())
        .and_then(|usage| usage.reset_time_duration)
        .unwrap_or(0.0);
    let seconds = (business_minutes * 60.0).max(account_seconds);
    (seconds > 0.0).then(|| now + chrono::Duration::milliseconds((seconds * 1000.0) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use shared::domain::{ConnectorKind, Metric};

    fn page(json: &str) -> InsightsPage {
        serde_json::from_str(json).unwrap()
    }

    fn campaign_report() -> ReportSpec {
        ReportSpec::parse(
            ConnectorKind::MetaAds,
            "campaign",
            &["impressions".into(), "spend".into(), "reach".into()],
        )
        .unwrap()
    }

    #[test]
    fn rows_map_dimensions_and_string_metrics_to_decimals() {
        let page = page(
            r#"{"data":[{"campaign_id":"120200000000000001","campaign_name":"Été · Sale",
                "date_start":"2026-03-14","date_stop":"2026-03-14",
                "impressions":"361324","spend":"5339.5"}]}"#,
        );
        let rows = rows(&page, &campaign_report(), 1).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].date.to_string(), "2026-03-14");
        assert_eq!(rows[0].dimensions, ["120200000000000001", "Été · Sale"]);
        assert_eq!(
            rows[0].metrics,
            [
                Some(Decimal::from(361324)),
                Some(Decimal::from_str("5339.5").unwrap()),
                None
            ]
        );
        assert_eq!(campaign_report().metrics[2], Metric::Reach);
    }

    #[test]
    fn malformed_rows_name_the_row_and_field() {
        let bad_metric = page(
            r#"{"data":[{"campaign_id":"1","campaign_name":"a","date_start":"2026-03-14"},
                        {"campaign_id":"2","campaign_name":"b","date_start":"2026-03-14","spend":"12,5"}]}"#,
        );
        let error = rows(&bad_metric, &campaign_report(), 3)
            .unwrap_err()
            .to_string();
        assert!(error.contains("page 3"), "{error}");
        assert!(error.contains("data[1].spend"), "{error}");

        let missing_id = page(r#"{"data":[{"campaign_name":"a","date_start":"2026-03-14"}]}"#);
        let error = rows(&missing_id, &campaign_report(), 1)
            .unwrap_err()
            .to_string();
        assert!(error.contains("data[0].campaign_id: missing"), "{error}");
    }

    #[test]
    fn regain_time_comes_from_the_later_usage_header() {
        let now: DateTime<Utc> = "2026-03-14T10:00:00Z".parse().unwrap();
        let mut headers = HeaderMap::new();
        assert_eq!(regain_at(&headers, now), None);
        headers.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(
                r#"{"42":[{"type":"ads_insights","call_count":100,"estimated_time_to_regain_access":3}]}"#,
            ),
        );
        headers.insert(
            "x-ad-account-usage",
            HeaderValue::from_static(r#"{"acc_id_util_pct":100,"reset_time_duration":100}"#),
        );
        assert_eq!(
            regain_at(&headers, now),
            Some("2026-03-14T10:03:00Z".parse().unwrap())
        );
    }
}
