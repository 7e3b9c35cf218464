//! Meta's wire format: insights and entity pages, error envelopes, usage headers, accounts and
//! exchanged tokens, and the mapping of a page to our [`Row`]s.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::header::HeaderMap;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Map, Value};
use shared::domain::currency::minor_units_to_major;
use shared::domain::{Breakdown, Metric, ReportLevel, ReportSpec};

use super::{MetaError, breakdown_name};
use crate::rows::Row;

/// A row of any edge: Meta's fields by name.
type Fields = Map<String, Value>;

#[derive(Debug, Deserialize)]
pub(super) struct InsightsPage {
    pub(super) data: Vec<Fields>,
    #[serde(default)]
    pub(super) paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
pub(super) struct EntityPage {
    pub(super) data: Vec<Fields>,
    #[serde(default)]
    pub(super) paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Paging {
    #[serde(default)]
    cursors: Option<Cursors>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Cursors {
    #[serde(default)]
    after: Option<String>,
}

/// The cursor of the next page, if the page says there is one.
pub(super) fn next_cursor(paging: Option<&Paging>) -> Option<String> {
    paging
        .filter(|paging| paging.next.is_some())
        .and_then(|paging| paging.cursors.as_ref())
        .and_then(|cursors| cursors.after.clone())
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

#[derive(Debug, Deserialize)]
pub(super) struct AccountsPage {
    pub(super) data: Vec<AdAccount>,
    #[serde(default)]
    pub(super) paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
pub(super) struct AdAccount {
    pub(super) account_id: String,
    pub(super) name: String,
    pub(super) currency: String,
    pub(super) timezone_name: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct ExchangedToken {
    pub(super) access_token: String,
    #[serde(default)]
    pub(super) expires_in: Option<i64>,
}

/// The Meta fields that carry the dimensions of `level`, in `ReportLevel::dimensions` order.
pub(super) fn dimension_fields(level: ReportLevel) -> &'static [&'static str] {
    match level {
        ReportLevel::Account => &[],
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

/// The insights field a metric is read from.
pub(super) fn metric_field(metric: Metric) -> &'static str {
    match metric {
        Metric::Impressions => "impressions",
        Metric::Clicks => "clicks",
        Metric::Spend => "spend",
        Metric::Reach => "reach",
        Metric::Conversions => "actions",
        Metric::ConversionValue => "action_values",
        // Derived metrics are never requested (see `ReportSpec::fetched_metrics`).
        Metric::Ctr | Metric::Cpc | Metric::Cpm | Metric::Cpa | Metric::Roas => "",
    }
}

/// The action type counted as a conversion.
const CONVERSION_ACTION: &str = "purchase";

fn malformed(what: &'static str, page: u32, index: usize, detail: String) -> MetaError {
    MetaError::Malformed {
        what,
        page,
        detail: format!("data[{index}].{detail}"),
    }
}

fn text(row: &Fields, name: &str) -> Option<String> {
    match row.get(name)? {
        Value::String(value) => Some(value.clone()),
        Value::Number(value) => Some(value.to_string()),
        _ => None,
    }
}

fn decimal(value: &str) -> Option<Decimal> {
    Decimal::from_str(value).ok()
}

/// Maps an insights page to rows; a missing dimension or a metric that is not a decimal is an
/// error naming the row and field. A metric Meta leaves out is `None` (unknown, not zero).
pub(super) fn insights_rows(
    page: &InsightsPage,
    report: &ReportSpec,
    page_number: u32,
) -> Result<Vec<Row>, MetaError> {
    let fail = |index, detail| malformed("insights", page_number, index, detail);
    let metrics = report.fetched_metrics();
    page.data
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let date_text =
                text(row, "date_start").ok_or_else(|| fail(index, "date_start: missing".into()))?;
            let date = NaiveDate::from_str(&date_text)
                .map_err(|_| fail(index, format!("date_start: {date_text:?} is not a date")))?;
            let mut texts = Vec::new();
            for field in dimension_fields(report.level) {
                let value =
                    text(row, field).ok_or_else(|| fail(index, format!("{field}: missing")))?;
                texts.push(Some(value));
            }
            for breakdown in &report.breakdowns {
                let field = breakdown_name(*breakdown);
                let value =
                    text(row, field).ok_or_else(|| fail(index, format!("{field}: missing")))?;
                texts.push(Some(normalise_breakdown(*breakdown, value)));
            }
            let numbers = metrics
                .iter()
                .map(|metric| metric_value(row, *metric).map_err(|detail| fail(index, detail)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Row {
                date: Some(date),
                texts,
                numbers,
            })
        })
        .collect()
}

/// Countries are upper-case codes everywhere in adsync; other values are kept as Meta sends them.
fn normalise_breakdown(breakdown: Breakdown, value: String) -> String {
    match breakdown {
        Breakdown::Country => value.to_uppercase(),
        Breakdown::Age | Breakdown::Gender | Breakdown::Platform | Breakdown::Placement => value,
    }
}

fn metric_value(row: &Fields, metric: Metric) -> Result<Option<Decimal>, String> {
    let field = metric_field(metric);
    match metric {
        Metric::Conversions | Metric::ConversionValue => action_value(row, field),
        _ => match row.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(value)) => decimal(value)
                .map(Some)
                .ok_or_else(|| format!("{field}: {value:?} is not a number")),
            Some(other) => Err(format!("{field}: {other} is not a string")),
        },
    }
}

/// The `purchase` entry of an `actions`-style list; no list means no conversions that day.
fn action_value(row: &Fields, field: &str) -> Result<Option<Decimal>, String> {
    let Some(list) = row.get(field) else {
        return Ok(Some(Decimal::ZERO));
    };
    let list = list
        .as_array()
        .ok_or_else(|| format!("{field}: not a list of actions"))?;
    for (position, action) in list.iter().enumerate() {
        let kind = action.get("action_type").and_then(Value::as_str);
        if kind == Some(CONVERSION_ACTION) {
            let value = action
                .get("value")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{field}[{position}].value: missing"))?;
            return decimal(value)
                .map(Some)
                .ok_or_else(|| format!("{field}[{position}].value: {value:?} is not a number"));
        }
    }
    Ok(Some(Decimal::ZERO))
}

/// The ad account's edge listing entities of `level`.
pub(super) fn entity_edge(level: ReportLevel) -> &'static str {
    match level {
        ReportLevel::Campaign | ReportLevel::Account => "campaigns",
        ReportLevel::AdGroup => "adsets",
        ReportLevel::Ad => "ads",
    }
}

/// The fields asked of an entity edge.
pub(super) fn entity_fields(level: ReportLevel) -> &'static str {
    match level {
        ReportLevel::Campaign | ReportLevel::Account => {
            "id,name,status,objective,daily_budget,lifetime_budget"
        }
        ReportLevel::AdGroup => "id,name,campaign_id,status,daily_budget,lifetime_budget",
        ReportLevel::Ad => "id,name,campaign_id,adset_id,status,creative{id,name}",
    }
}

/// Maps an entity page to rows in `ENTITY_TEXTS` / `ENTITY_NUMBERS` order. Budgets arrive in the
/// currency's minor units (cents) and are stored in major units.
pub(super) fn entity_rows(
    page: &EntityPage,
    level: ReportLevel,
    currency: &str,
    page_number: u32,
) -> Result<Vec<Row>, MetaError> {
    let fail = |index, detail| malformed(entity_edge(level), page_number, index, detail);
    page.data
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let id = text(row, "id").ok_or_else(|| fail(index, "id: missing".into()))?;
            let creative = row.get("creative").and_then(Value::as_object);
            let texts = vec![
                Some(id),
                text(row, "name"),
                match level {
                    ReportLevel::Campaign | ReportLevel::Account => None,
                    ReportLevel::AdGroup | ReportLevel::Ad => text(row, "campaign_id"),
                },
                text(row, "adset_id"),
                text(row, "status"),
                text(row, "objective"),
                creative.and_then(|c| text(c, "id")),
                creative.and_then(|c| text(c, "name")),
            ];
            let budget = |field: &str| -> Result<Option<Decimal>, MetaError> {
                match text(row, field) {
                    None => Ok(None),
                    Some(value) => {
                        let minor = decimal(&value).ok_or_else(|| {
                            fail(index, format!("{field}: {value:?} is not a number"))
                        })?;
                        Ok(Some(minor_units_to_major(minor, currency)))
                    }
                }
            };
            let numbers = vec![budget("daily_budget")?, budget("lifetime_budget")?];
            Ok(Row {
                date: None,
                texts,
                numbers,
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct BusinessUseCase {
    #[serde(default)]
    call_count: Option<f64>,
    #[serde(default)]
    total_cputime: Option<f64>,
    #[serde(default)]
    total_time: Option<f64>,
    #[serde(default)]
    estimated_time_to_regain_access: Option<f64>,
}

#[derive(Deserialize)]
struct AdAccountUsage {
    #[serde(default)]
    acc_id_util_pct: Option<f64>,
    #[serde(default)]
    reset_time_duration: Option<f64>,
}

#[derive(Deserialize)]
struct AppUsage {
    #[serde(default)]
    call_count: Option<f64>,
    #[serde(default)]
    total_cputime: Option<f64>,
    #[serde(default)]
    total_time: Option<f64>,
}

/// What the usage headers say.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Usage {
    /// The ad account's highest usage, in percent (`X-Ad-Account-Usage`,
    /// `X-Business-Use-Case-Usage`).
    pub(super) account_percent: Option<f64>,
    /// The app's highest usage, in percent (`X-App-Usage`).
    pub(super) app_percent: Option<f64>,
    /// When a throttled budget is available again: `estimated_time_to_regain_access` (minutes)
    /// or `reset_time_duration` (seconds), whichever is later.
    pub(super) regain_at: Option<DateTime<Utc>>,
}

fn max_of(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    values.into_iter().flatten().fold(None, |max, value| {
        Some(max.map_or(value, |m: f64| m.max(value)))
    })
}

impl Usage {
    pub(super) fn from_headers(headers: &HeaderMap, now: DateTime<Utc>) -> Self {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        let business: Vec<BusinessUseCase> = header("x-business-use-case-usage")
            .and_then(|value| {
                serde_json::from_str::<HashMap<String, Vec<BusinessUseCase>>>(value).ok()
            })
            .map(|usage| usage.into_values().flatten().collect())
            .unwrap_or_default();
        let account: Option<AdAccountUsage> =
            header("x-ad-account-usage").and_then(|value| serde_json::from_str(value).ok());
        let app: Option<AppUsage> =
            header("x-app-usage").and_then(|value| serde_json::from_str(value).ok());
        let account_percent = max_of(
            business
                .iter()
                .flat_map(|case| [case.call_count, case.total_cputime, case.total_time])
                .chain([account.as_ref().and_then(|usage| usage.acc_id_util_pct)]),
        );
        let app_percent =
            app.and_then(|usage| max_of([usage.call_count, usage.total_cputime, usage.total_time]));
        let regain_minutes = max_of(
            business
                .iter()
                .map(|case| case.estimated_time_to_regain_access),
        )
        .unwrap_or(0.0);
        let reset_seconds = account
            .and_then(|usage| usage.reset_time_duration)
            .unwrap_or(0.0);
        let seconds = (regain_minutes * 60.0).max(reset_seconds);
        Self {
            account_percent,
            app_percent,
            regain_at: (seconds > 0.0)
                .then(|| now + chrono::Duration::milliseconds((seconds * 1000.0) as i64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn page(json: &str) -> InsightsPage {
        serde_json::from_str(json).unwrap()
    }

    fn report(metrics: &[&str], breakdowns: &[&str]) -> ReportSpec {
        super::super::CATALOGUE
            .performance_by("campaign", metrics, breakdowns)
            .unwrap()
    }

    fn d(value: &str) -> Option<Decimal> {
        Some(value.parse().unwrap())
    }

    #[test]
    fn rows_map_dimensions_breakdowns_string_metrics_and_purchases() {
        let page = page(
            r#"{"data":[{"campaign_id":"120200000000000001","campaign_name":"Été · Sale",
                "date_start":"2026-03-14","date_stop":"2026-03-14","country":"de",
                "impressions":"361324","spend":"5339.5",
                "actions":[{"action_type":"link_click","value":"12"},{"action_type":"purchase","value":"3"}],
                "action_values":[{"action_type":"purchase","value":"89.97"}]}]}"#,
        );
        let report = report(
            &[
                "impressions",
                "spend",
                "reach",
                "conversions",
                "conversion_value",
            ],
            &["country"],
        );
        let rows = insights_rows(&page, &report, 1).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].date.unwrap().to_string(), "2026-03-14");
        assert_eq!(
            rows[0].texts,
            [
                Some("120200000000000001".into()),
                Some("Été · Sale".into()),
                Some("DE".into())
            ]
        );
        assert_eq!(
            rows[0].numbers,
            [d("361324"), d("5339.5"), None, d("3"), d("89.97")]
        );
    }

    #[test]
    fn a_day_without_purchase_actions_has_zero_conversions() {
        let page =
            page(r#"{"data":[{"campaign_id":"1","campaign_name":"a","date_start":"2026-03-14"}]}"#);
        let rows = insights_rows(&page, &report(&["conversions"], &[]), 1).unwrap();
        assert_eq!(rows[0].numbers, [Some(Decimal::ZERO)]);
    }

    #[test]
    fn malformed_rows_name_the_row_and_field() {
        let bad_metric = page(
            r#"{"data":[{"campaign_id":"1","campaign_name":"a","date_start":"2026-03-14"},
                        {"campaign_id":"2","campaign_name":"b","date_start":"2026-03-14","spend":"12,5"}]}"#,
        );
        let error = insights_rows(&bad_metric, &report(&["spend"], &[]), 3)
            .unwrap_err()
            .to_string();
        assert!(error.contains("page 3"), "{error}");
        assert!(error.contains("data[1].spend"), "{error}");

        let missing_id = page(r#"{"data":[{"campaign_name":"a","date_start":"2026-03-14"}]}"#);
        let error = insights_rows(&missing_id, &report(&["spend"], &[]), 1)
            .unwrap_err()
            .to_string();
        assert!(error.contains("data[0].campaign_id: missing"), "{error}");
    }

    #[test]
    fn entity_budgets_are_converted_from_minor_units() {
        let page: EntityPage = serde_json::from_str(
            r#"{"data":[{"id":"9","name":"Spring","status":"ACTIVE","objective":"OUTCOME_SALES",
                "daily_budget":"5000"}]}"#,
        )
        .unwrap();
        let usd = entity_rows(&page, ReportLevel::Campaign, "USD", 1).unwrap();
        assert_eq!(usd[0].numbers, [d("50"), None]);
        assert_eq!(usd[0].texts[0].as_deref(), Some("9"));
        assert_eq!(usd[0].texts[5].as_deref(), Some("OUTCOME_SALES"));
        let yen = entity_rows(&page, ReportLevel::Campaign, "JPY", 1).unwrap();
        assert_eq!(yen[0].numbers, [d("5000"), None]);
    }

    #[test]
    fn usage_headers_give_percentages_and_the_later_regain_time() {
        let now: DateTime<Utc> = "2026-03-14T10:00:00Z".parse().unwrap();
        let mut headers = HeaderMap::new();
        assert_eq!(Usage::from_headers(&headers, now), Usage::default());
        headers.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(
                r#"{"42":[{"type":"ads_insights","call_count":100,"total_cputime":20,"estimated_time_to_regain_access":3}]}"#,
            ),
        );
        headers.insert(
            "x-ad-account-usage",
            HeaderValue::from_static(r#"{"acc_id_util_pct":61.5,"reset_time_duration":100}"#),
        );
        headers.insert(
            "x-app-usage",
            HeaderValue::from_static(r#"{"call_count":7,"total_time":12}"#),
        );
        let usage = Usage::from_headers(&headers, now);
        assert_eq!(usage.account_percent, Some(100.0));
        assert_eq!(usage.app_percent, Some(12.0));
        assert_eq!(
            usage.regain_at,
            Some("2026-03-14T10:03:00Z".parse().unwrap())
        );
    }
}
