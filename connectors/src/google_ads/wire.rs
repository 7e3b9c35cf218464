//! Google Ads' REST wire format: `searchStream` batches of `GoogleAdsRow`s (camelCase objects
//! per resource, int64 values as JSON strings, doubles as numbers, zero metrics left out), the
//! `google.rpc.Status` error envelope with its `GoogleAdsFailure`, accessible customers, token
//! answers, and the mapping of rows to our [`Row`]s.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::Value;
use shared::domain::currency::micros_to_major;
use shared::domain::{Breakdown, Metric, ReportLevel, ReportSpec};

use crate::rows::Row;

/// An int64 field: Google sends a JSON string of digits (a number is accepted too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Int64(pub(super) i64);

impl<'de> Deserialize<'de> for Int64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Int64Visitor;
        impl Visitor<'_> for Int64Visitor {
            type Value = Int64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an int64 as a string of digits")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Int64, E> {
                text.parse().map(Int64).map_err(|_| {
                    E::custom(format!("{text:?} is not an int64 (a string of digits)"))
                })
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Int64, E> {
                Ok(Int64(value))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Int64, E> {
                i64::try_from(value)
                    .map(Int64)
                    .map_err(|_| E::custom(format!("{value} does not fit an int64")))
            }
        }
        deserializer.deserialize_any(Int64Visitor)
    }
}

/// A double field (conversions, conversion value), kept exact: the shortest decimal that reads
/// back as the same double, which is the decimal the platform computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Double(pub(super) Decimal);

fn double_from_f64<E: de::Error>(value: f64) -> Result<Double, E> {
    if !value.is_finite() {
        return Err(E::custom(format!("{value} is not a finite number")));
    }
    Decimal::from_str(&value.to_string())
        .map(Double)
        .map_err(|_| E::custom(format!("{value} does not fit a decimal")))
}

impl<'de> Deserialize<'de> for Double {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DoubleVisitor;
        impl Visitor<'_> for DoubleVisitor {
            type Value = Double;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Double, E> {
                double_from_f64(value)
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Double, E> {
                Ok(Double(Decimal::from(value)))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Double, E> {
                Ok(Double(Decimal::from(value)))
            }
            // Proto3 JSON also allows doubles as strings.
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Double, E> {
                let value: f64 = text
                    .parse()
                    .map_err(|_| E::custom(format!("{text:?} is not a number")))?;
                double_from_f64(value)
            }
        }
        deserializer.deserialize_any(DoubleVisitor)
    }
}

/// A `YYYY-MM-DD` date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Date(pub(super) NaiveDate);

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map(Date)
            .map_err(|_| de::Error::custom(format!("{text:?} is not a date (YYYY-MM-DD)")))
    }
}

/// One element of the `searchStream` array: a batch of rows, or (mid-stream) an error.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StreamElement {
    #[serde(default)]
    pub(super) results: Vec<GoogleAdsRow>,
    #[serde(default)]
    pub(super) error: Option<Status>,
    #[serde(default)]
    pub(super) request_id: Option<String>,
}

/// A `GoogleAdsRow`, with the resources and fields adsync selects.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GoogleAdsRow {
    #[serde(default)]
    pub(super) customer: Option<CustomerObject>,
    #[serde(default)]
    pub(super) customer_client: Option<CustomerObject>,
    #[serde(default)]
    pub(super) campaign: Option<CampaignObject>,
    #[serde(default)]
    pub(super) campaign_budget: Option<BudgetObject>,
    #[serde(default)]
    pub(super) ad_group: Option<AdGroupObject>,
    #[serde(default)]
    pub(super) ad_group_ad: Option<AdGroupAdObject>,
    #[serde(default)]
    pub(super) metrics: Option<MetricsObject>,
    #[serde(default)]
    pub(super) segments: Option<SegmentsObject>,
}

/// `customer` and `customer_client` share these fields.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CustomerObject {
    #[serde(default)]
    pub(super) id: Option<Int64>,
    #[serde(default)]
    pub(super) descriptive_name: Option<String>,
    #[serde(default)]
    pub(super) currency_code: Option<String>,
    #[serde(default)]
    pub(super) time_zone: Option<String>,
    #[serde(default)]
    pub(super) manager: Option<bool>,
    #[serde(default)]
    pub(super) level: Option<Int64>,
    /// `customer_client.status` (`ENABLED`, `CANCELED`, `SUSPENDED`, `CLOSED`).
    #[serde(default)]
    pub(super) status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CampaignObject {
    #[serde(default)]
    pub(super) id: Option<Int64>,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) advertising_channel_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BudgetObject {
    #[serde(default)]
    pub(super) amount_micros: Option<Int64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AdGroupObject {
    #[serde(default)]
    pub(super) id: Option<Int64>,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AdGroupAdObject {
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) ad: Option<AdObject>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AdObject {
    #[serde(default)]
    pub(super) id: Option<Int64>,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default, rename = "type")]
    pub(super) ad_type: Option<String>,
}

/// Metrics; Google leaves zero values out.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MetricsObject {
    #[serde(default)]
    pub(super) impressions: Option<Int64>,
    #[serde(default)]
    pub(super) clicks: Option<Int64>,
    #[serde(default)]
    pub(super) cost_micros: Option<Int64>,
    #[serde(default)]
    pub(super) conversions: Option<Double>,
    #[serde(default)]
    pub(super) conversions_value: Option<Double>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SegmentsObject {
    #[serde(default)]
    pub(super) date: Option<Date>,
    #[serde(default)]
    pub(super) device: Option<String>,
}

/// `{"resourceNames":["customers/1234567890",…]}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AccessibleCustomers {
    #[serde(default)]
    pub(super) resource_names: Vec<String>,
}

/// The `google.rpc.Status` of an error answer, in either of the forms Google sends: the plain
/// `{"error": Status}` object, or — on `searchStream`, which frames every answer as a JSON
/// array — `[{"error": Status}]`. `None` when the body is neither (an HTML page from a proxy,
/// a truncated body): serde's derive would read an array as a sequence of a struct's fields,
/// so the shape is checked by hand before the status is read.
pub(super) fn error_status(body: &[u8]) -> Option<Status> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let envelope = match value {
        Value::Array(elements) => elements.into_iter().find(|element| {
            element
                .as_object()
                .is_some_and(|object| object.contains_key("error"))
        })?,
        object @ Value::Object(_) => object,
        _ => return None,
    };
    let status = envelope.get("error")?;
    if !status.is_object() {
        return None;
    }
    serde_json::from_value(status.clone()).ok()
}

/// A `google.rpc.Status`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Status {
    #[serde(default)]
    pub(super) code: Option<i64>,
    #[serde(default)]
    pub(super) message: Option<String>,
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) details: Vec<Value>,
}

/// The `errorCode` of a `GoogleAdsError`: which error family, and the enum value. Only the
/// families adsync acts on are told apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    Quota(String),
    Authentication(String),
    Authorization(String),
    Internal(String),
    Query(String),
    Request(String),
    Header(String),
    Other { family: String, value: String },
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (family, value) = match self {
            ErrorCode::Quota(value) => ("quotaError", value),
            ErrorCode::Authentication(value) => ("authenticationError", value),
            ErrorCode::Authorization(value) => ("authorizationError", value),
            ErrorCode::Internal(value) => ("internalError", value),
            ErrorCode::Query(value) => ("queryError", value),
            ErrorCode::Request(value) => ("requestError", value),
            ErrorCode::Header(value) => ("headerError", value),
            ErrorCode::Other { family, value } => (family.as_str(), value),
        };
        write!(f, "{family} {value}")
    }
}

/// One `GoogleAdsError` of a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdsError {
    pub code: ErrorCode,
    pub message: String,
    /// `trigger.stringValue`: the part of the request Google refused (a query's bad field).
    pub trigger: Option<String>,
    /// `quotaErrorDetails.rateScope` (`ACCOUNT`, `DEVELOPER`).
    pub rate_scope: Option<String>,
    /// `quotaErrorDetails.retryDelay`.
    pub retry_delay: Option<Duration>,
}

/// A failed call as Google describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The canonical status, e.g. `RESOURCE_EXHAUSTED`.
    pub status: String,
    pub message: String,
    /// The `GoogleAdsFailure` errors; empty when the front end answered.
    pub errors: Vec<AdsError>,
    /// The `retryDelay` of a `google.rpc.RetryInfo` detail, when the status carries one.
    pub retry_info: Option<Duration>,
    pub request_id: Option<String>,
}

impl Failure {
    /// The first error's code, which decides how the failure is handled.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.errors.first().map(|error| &error.code)
    }

    /// How long Google asks to wait: the first error's `quotaErrorDetails.retryDelay`, else a
    /// `RetryInfo` detail's.
    pub fn retry_delay(&self) -> Option<Duration> {
        self.errors
            .first()
            .and_then(|error| error.retry_delay)
            .or(self.retry_info)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        if self.errors.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        for (index, error) in self.errors.iter().enumerate() {
            let separator = if index == 0 { " " } else { "; " };
            write!(f, "{separator}({}): {}", error.code, error.message)?;
            if let Some(trigger) = &error.trigger {
                write!(f, " (at {trigger:?})")?;
            }
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request-id {id})")?;
        }
        Ok(())
    }
}

/// `"30s"`, `"1.5s"` → a duration.
pub(super) fn parse_duration(text: &str) -> Option<Duration> {
    let seconds: f64 = text.strip_suffix('s')?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

fn error_code(value: &Value) -> ErrorCode {
    let Some((family, code)) = value.as_object().and_then(|object| object.iter().next()) else {
        return ErrorCode::Other {
            family: String::new(),
            value: value.to_string(),
        };
    };
    let code = code.as_str().unwrap_or_default().to_owned();
    match family.as_str() {
        "quotaError" => ErrorCode::Quota(code),
        "authenticationError" => ErrorCode::Authentication(code),
        "authorizationError" => ErrorCode::Authorization(code),
        "internalError" => ErrorCode::Internal(code),
        "queryError" => ErrorCode::Query(code),
        "requestError" => ErrorCode::Request(code),
        "headerError" => ErrorCode::Header(code),
        other => ErrorCode::Other {
            family: other.to_owned(),
            value: code,
        },
    }
}

impl Status {
    /// The failure this status describes, with its `GoogleAdsFailure` errors if any.
    pub(super) fn failure(&self, request_id: Option<String>) -> Failure {
        let mut errors = Vec::new();
        let mut failure_request_id = None;
        let mut retry_info = None;
        for detail in &self.details {
            let kind = detail
                .get("@type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if kind.ends_with("/google.rpc.RetryInfo") {
                retry_info = detail
                    .get("retryDelay")
                    .and_then(Value::as_str)
                    .and_then(parse_duration);
                continue;
            }
            if !kind.ends_with(".errors.GoogleAdsFailure") {
                continue;
            }
            failure_request_id = detail
                .get("requestId")
                .and_then(Value::as_str)
                .map(str::to_owned);
            for error in detail
                .get("errors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let quota = error.pointer("/details/quotaErrorDetails");
                errors.push(AdsError {
                    code: error.get("errorCode").map_or(
                        ErrorCode::Other {
                            family: String::new(),
                            value: String::new(),
                        },
                        error_code,
                    ),
                    message: error
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    trigger: error
                        .pointer("/trigger/stringValue")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    rate_scope: quota
                        .and_then(|q| q.get("rateScope"))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    retry_delay: quota
                        .and_then(|q| q.get("retryDelay"))
                        .and_then(Value::as_str)
                        .and_then(parse_duration),
                });
            }
        }
        Failure {
            status: self
                .status
                .clone()
                .unwrap_or_else(|| format!("HTTP {}", self.code.unwrap_or_default())),
            message: self.message.clone().unwrap_or_default(),
            errors,
            retry_info,
            request_id: request_id.or(failure_request_id),
        }
    }
}

/// The GAQL resource a report level reads.
pub(super) fn resource(level: ReportLevel) -> &'static str {
    match level {
        ReportLevel::Account => "customer",
        ReportLevel::Campaign => "campaign",
        ReportLevel::AdGroup => "ad_group",
        ReportLevel::Ad => "ad_group_ad",
    }
}

/// The GAQL fields of a level's dimensions, in `ReportLevel::dimensions` order.
pub(super) fn dimension_fields(level: ReportLevel) -> &'static [&'static str] {
    match level {
        ReportLevel::Account => &[],
        ReportLevel::Campaign => &["campaign.id", "campaign.name"],
        ReportLevel::AdGroup => &[
            "campaign.id",
            "campaign.name",
            "ad_group.id",
            "ad_group.name",
        ],
        ReportLevel::Ad => &[
            "campaign.id",
            "campaign.name",
            "ad_group.id",
            "ad_group.name",
            "ad_group_ad.ad.id",
            "ad_group_ad.ad.name",
        ],
    }
}

/// The GAQL segment of a breakdown (the catalogue allows only these).
pub(super) fn breakdown_field(breakdown: Breakdown) -> Option<&'static str> {
    match breakdown {
        Breakdown::Platform => Some("segments.device"),
        Breakdown::Age | Breakdown::Gender | Breakdown::Country | Breakdown::Placement => None,
    }
}

/// The GAQL field a metric is read from.
pub(super) fn metric_field(metric: Metric) -> Option<&'static str> {
    match metric {
        Metric::Impressions => Some("metrics.impressions"),
        Metric::Clicks => Some("metrics.clicks"),
        Metric::Spend => Some("metrics.cost_micros"),
        Metric::Conversions => Some("metrics.conversions"),
        Metric::ConversionValue => Some("metrics.conversions_value"),
        Metric::Reach | Metric::Ctr | Metric::Cpc | Metric::Cpm | Metric::Cpa | Metric::Roas => {
            None
        }
    }
}

/// The performance query of `report` over `since..=until`.
pub(super) fn performance_query(report: &ReportSpec, since: NaiveDate, until: NaiveDate) -> String {
    let mut fields: Vec<&str> = dimension_fields(report.level).to_vec();
    fields.push("segments.date");
    fields.extend(report.breakdowns.iter().filter_map(|b| breakdown_field(*b)));
    fields.extend(
        report
            .fetched_metrics()
            .iter()
            .filter_map(|metric| metric_field(*metric)),
    );
    format!(
        "SELECT {} FROM {} WHERE segments.date BETWEEN '{since}' AND '{until}'",
        fields.join(", "),
        resource(report.level)
    )
}

/// The entities query of a level.
pub(super) fn entity_query(level: ReportLevel) -> &'static str {
    match level {
        ReportLevel::Campaign | ReportLevel::Account => {
            "SELECT campaign.id, campaign.name, campaign.status, campaign.advertising_channel_type, campaign_budget.amount_micros FROM campaign"
        }
        ReportLevel::AdGroup => {
            "SELECT campaign.id, ad_group.id, ad_group.name, ad_group.status FROM ad_group"
        }
        ReportLevel::Ad => {
            "SELECT campaign.id, ad_group.id, ad_group_ad.ad.id, ad_group_ad.ad.name, ad_group_ad.ad.type, ad_group_ad.status FROM ad_group_ad"
        }
    }
}

/// The customer's own facts.
pub(super) const CUSTOMER_QUERY: &str = "SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone, customer.manager FROM customer";

/// Everything below a manager: `customer_client` lists the manager itself (level 0) and every
/// client and sub-manager under it, direct (level 1) or not (levels 2 and more).
pub(super) const CLIENTS_QUERY: &str = "SELECT customer_client.id, customer_client.descriptive_name, customer_client.currency_code, customer_client.time_zone, customer_client.manager, customer_client.level, customer_client.status FROM customer_client";

/// A row that does not have what its query selected: `(row index, field path, problem)`.
pub(super) type RowProblem = (usize, &'static str, &'static str);

fn id(value: Option<Int64>) -> Option<String> {
    value.map(|Int64(id)| id.to_string())
}

fn required(
    index: usize,
    path: &'static str,
    value: Option<String>,
) -> Result<Option<String>, RowProblem> {
    value.map(Some).ok_or((index, path, "missing"))
}

/// Maps a batch of performance rows to our rows in the fetched layout. Ids, the date and the
/// breakdowns must be present; metrics Google left out are zero.
pub(super) fn performance_rows(
    rows: Vec<GoogleAdsRow>,
    report: &ReportSpec,
) -> Result<Vec<Row>, RowProblem> {
    let metrics = report.fetched_metrics();
    rows.into_iter()
        .enumerate()
        .map(|(index, row)| {
            let date = row
                .segments
                .as_ref()
                .and_then(|segments| segments.date)
                .ok_or((index, "segments.date", "missing"))?;
            let campaign = row.campaign.unwrap_or_default();
            let group = row.ad_group.unwrap_or_default();
            let ad = row.ad_group_ad.and_then(|a| a.ad).unwrap_or_default();
            let mut texts = Vec::new();
            if report.level != ReportLevel::Account {
                texts.push(required(index, "campaign.id", id(campaign.id))?);
                texts.push(campaign.name);
            }
            if matches!(report.level, ReportLevel::AdGroup | ReportLevel::Ad) {
                texts.push(required(index, "adGroup.id", id(group.id))?);
                texts.push(group.name);
            }
            if report.level == ReportLevel::Ad {
                texts.push(required(index, "adGroupAd.ad.id", id(ad.id))?);
                texts.push(ad.name);
            }
            for breakdown in &report.breakdowns {
                let value = match breakdown {
                    Breakdown::Platform => row.segments.as_ref().and_then(|s| s.device.clone()),
                    Breakdown::Age
                    | Breakdown::Gender
                    | Breakdown::Country
                    | Breakdown::Placement => None,
                };
                let path = breakdown_field(*breakdown).unwrap_or("segments");
                texts.push(required(index, path, value)?);
            }
            let values = row.metrics.unwrap_or_default();
            let numbers = metrics
                .iter()
                .map(|metric| {
                    let int = |value: Option<Int64>| Decimal::from(value.map_or(0, |Int64(n)| n));
                    let double = |value: Option<Double>| value.map_or(Decimal::ZERO, |Double(d)| d);
                    match metric {
                        Metric::Impressions => Some(int(values.impressions)),
                        Metric::Clicks => Some(int(values.clicks)),
                        Metric::Spend => Some(micros_to_major(int(values.cost_micros))),
                        Metric::Conversions => Some(double(values.conversions).normalize()),
                        Metric::ConversionValue => {
                            Some(double(values.conversions_value).normalize())
                        }
                        Metric::Reach
                        | Metric::Ctr
                        | Metric::Cpc
                        | Metric::Cpm
                        | Metric::Cpa
                        | Metric::Roas => None,
                    }
                })
                .collect();
            Ok(Row {
                date: Some(date.0),
                texts,
                numbers,
            })
        })
        .collect()
}

/// Maps a batch of entity rows to our rows in `ENTITY_TEXTS` / `ENTITY_NUMBERS` order. The
/// campaign and ad group columns name the entity's parents only (`ENTITY_TEXTS`); the objective is the campaign's advertising channel type; the daily budget
/// arrives in micros; ads are their own creatives (`creative_id` is the ad id,
/// `creative_name` its type).
pub(super) fn entity_rows(
    rows: Vec<GoogleAdsRow>,
    level: ReportLevel,
) -> Result<Vec<Row>, RowProblem> {
    rows.into_iter()
        .enumerate()
        .map(|(index, row)| {
            let campaign = row.campaign.unwrap_or_default();
            let group = row.ad_group.unwrap_or_default();
            let ad_group_ad = row.ad_group_ad.unwrap_or_default();
            let (texts, daily_budget) = match level {
                ReportLevel::Campaign | ReportLevel::Account => (
                    vec![
                        required(index, "campaign.id", id(campaign.id))?,
                        campaign.name,
                        None,
                        None,
                        campaign.status,
                        campaign.advertising_channel_type,
                        None,
                        None,
                    ],
                    row.campaign_budget
                        .and_then(|budget| budget.amount_micros)
                        .map(|Int64(micros)| micros_to_major(Decimal::from(micros))),
                ),
                ReportLevel::AdGroup => (
                    vec![
                        required(index, "adGroup.id", id(group.id))?,
                        group.name,
                        required(index, "campaign.id", id(campaign.id))?,
                        None,
                        group.status,
                        None,
                        None,
                        None,
                    ],
                    None,
                ),
                ReportLevel::Ad => {
                    let ad = ad_group_ad.ad.unwrap_or_default();
                    let ad_id = required(index, "adGroupAd.ad.id", id(ad.id))?;
                    (
                        vec![
                            ad_id.clone(),
                            ad.name,
                            required(index, "campaign.id", id(campaign.id))?,
                            required(index, "adGroup.id", id(group.id))?,
                            ad_group_ad.status,
                            None,
                            ad_id,
                            ad.ad_type,
                        ],
                        None,
                    )
                }
            };
            Ok(Row {
                date: None,
                texts,
                numbers: vec![daily_budget, None],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(level: &str, metrics: &[&str], breakdowns: &[&str]) -> ReportSpec {
        super::super::CATALOGUE
            .performance_by(level, metrics, breakdowns)
            .unwrap()
    }

    fn d(text: &str) -> Option<Decimal> {
        Some(text.parse().unwrap())
    }

    fn batch(json: &str) -> StreamElement {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn queries_select_dimensions_date_breakdowns_and_metrics() {
        let report = report(
            "ad_group",
            &["impressions", "spend", "conversion_value", "roas"],
            &["platform"],
        );
        assert_eq!(
            performance_query(
                &report,
                "2025-06-01".parse().unwrap(),
                "2025-06-30".parse().unwrap()
            ),
            "SELECT campaign.id, campaign.name, ad_group.id, ad_group.name, segments.date, segments.device, metrics.impressions, metrics.cost_micros, metrics.conversions_value FROM ad_group WHERE segments.date BETWEEN '2025-06-01' AND '2025-06-30'"
        );
    }

    #[test]
    fn rows_map_ids_names_devices_micros_doubles_and_omitted_zeros() {
        let report = report(
            "ad",
            &[
                "impressions",
                "clicks",
                "spend",
                "conversions",
                "conversion_value",
            ],
            &["platform"],
        );
        let element = batch(
            r#"{"results":[{"campaign":{"resourceName":"customers/1/campaigns/20","id":"20","name":"Été · Search"},
                "adGroup":{"resourceName":"customers/1/adGroups/130","id":"130","name":"Exact"},
                "adGroupAd":{"resourceName":"customers/1/adGroupAds/130~600","ad":{"resourceName":"customers/1/ads/600","id":"600"}},
                "metrics":{"impressions":"1000","costMicros":"2500000000","conversions":4.0,"conversionsValue":120.5},
                "segments":{"date":"2025-01-15","device":"MOBILE"}}],
                "fieldMask":"campaign.id","requestId":"r"}"#,
        );
        let rows = performance_rows(element.results, &report).unwrap();
        assert_eq!(
            rows,
            vec![Row {
                date: "2025-01-15".parse().ok(),
                texts: vec![
                    Some("20".into()),
                    Some("Été · Search".into()),
                    Some("130".into()),
                    Some("Exact".into()),
                    Some("600".into()),
                    None,
                    Some("MOBILE".into()),
                ],
                numbers: vec![d("1000"), d("0"), d("2500"), d("4"), d("120.5")],
            }]
        );
    }

    #[test]
    fn doubles_keep_the_decimal_the_platform_meant() {
        let element = batch(
            r#"{"results":[{"metrics":{"conversions":0.1,"conversionsValue":"1234567.89"},"segments":{"date":"2025-01-01"}}]}"#,
        );
        let report = report("account", &["conversions", "conversion_value"], &[]);
        let rows = performance_rows(element.results, &report).unwrap();
        assert_eq!(rows[0].numbers, vec![d("0.1"), d("1234567.89")]);
        assert!(rows[0].texts.is_empty());
    }

    #[test]
    fn broken_numbers_and_missing_ids_are_named() {
        let deserializer = &mut serde_json::Deserializer::from_str(
            r#"{"results":[{"metrics":{"impressions":"n/a"},"segments":{"date":"2025-01-01"}}]}"#,
        );
        let error = serde_path_to_error::deserialize::<_, StreamElement>(deserializer).unwrap_err();
        assert_eq!(error.path().to_string(), "results[0].metrics.impressions");
        assert!(
            error
                .inner()
                .to_string()
                .contains("\"n/a\" is not an int64")
        );
        let element =
            batch(r#"{"results":[{"campaign":{"name":"x"},"segments":{"date":"2025-01-01"}}]}"#);
        let report = report("campaign", &["clicks"], &[]);
        assert_eq!(
            performance_rows(element.results, &report).unwrap_err(),
            (0, "campaign.id", "missing")
        );
    }

    #[test]
    fn entity_rows_carry_status_channel_budget_and_creative() {
        let element = batch(
            r#"{"results":[{"campaign":{"resourceName":"customers/1/campaigns/20","id":"20","name":"Brand","status":"PAUSED","advertisingChannelType":"SEARCH"},"campaignBudget":{"resourceName":"customers/1/campaignBudgets/14","amountMicros":"150000000"}}]}"#,
        );
        let rows = entity_rows(element.results, ReportLevel::Campaign).unwrap();
        assert_eq!(rows[0].texts[2], None, "a campaign has no parent campaign");
        assert_eq!(rows[0].texts[4].as_deref(), Some("PAUSED"));
        assert_eq!(rows[0].texts[5].as_deref(), Some("SEARCH"));
        assert_eq!(rows[0].numbers, vec![d("150"), None]);
        let groups = batch(
            r#"{"results":[{"campaign":{"id":"20"},"adGroup":{"id":"130","name":"Exact","status":"ENABLED"}}]}"#,
        );
        let rows = entity_rows(groups.results, ReportLevel::AdGroup).unwrap();
        assert_eq!(
            rows[0].texts,
            vec![
                Some("130".into()),
                Some("Exact".into()),
                Some("20".into()),
                None,
                Some("ENABLED".into()),
                None,
                None,
                None,
            ]
        );
        let ads = batch(
            r#"{"results":[{"campaign":{"id":"20"},"adGroup":{"id":"130"},"adGroupAd":{"status":"ENABLED","ad":{"id":"600","type":"RESPONSIVE_SEARCH_AD"}}}]}"#,
        );
        let rows = entity_rows(ads.results, ReportLevel::Ad).unwrap();
        assert_eq!(
            rows[0].texts,
            vec![
                Some("600".into()),
                None,
                Some("20".into()),
                Some("130".into()),
                Some("ENABLED".into()),
                None,
                Some("600".into()),
                Some("RESPONSIVE_SEARCH_AD".into()),
            ]
        );
    }

    #[test]
    fn failures_are_read_from_the_google_ads_failure_details() {
        let status = error_status(
            br#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED",
              "details":[{"@type":"type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure",
                "errors":[{"errorCode":{"quotaError":"RESOURCE_TEMPORARILY_EXHAUSTED"},"message":"Too many requests. Retry in 30 seconds.",
                  "details":{"quotaErrorDetails":{"rateScope":"ACCOUNT","rateName":"Requests per account","retryDelay":"30s"}}}],
                "requestId":"abc"}]}}"#,
        )
        .unwrap();
        let failure = status.failure(None);
        assert_eq!(failure.status, "RESOURCE_EXHAUSTED");
        assert_eq!(
            failure.code(),
            Some(&ErrorCode::Quota("RESOURCE_TEMPORARILY_EXHAUSTED".into()))
        );
        assert_eq!(failure.errors[0].retry_delay, Some(Duration::from_secs(30)));
        assert_eq!(failure.errors[0].rate_scope.as_deref(), Some("ACCOUNT"));
        assert_eq!(failure.request_id.as_deref(), Some("abc"));
        assert_eq!(
            failure.to_string(),
            "RESOURCE_EXHAUSTED (quotaError RESOURCE_TEMPORARILY_EXHAUSTED): Too many requests. Retry in 30 seconds. (request-id abc)"
        );
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("30"), None);
    }

    #[test]
    fn the_stream_s_array_form_of_an_error_is_read_like_the_object_form() {
        let inner = r#"{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED",
            "details":[{"@type":"type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure",
              "errors":[{"errorCode":{"authorizationError":"USER_PERMISSION_DENIED"},"message":"User doesn't have permission to access customer."}],
              "requestId":"r1"}]}}"#;
        let array = format!("[{inner}]");
        for body in [
            inner.to_owned(),
            array,
            format!("[ {inner} ,{{\"requestId\":\"r1\"}}]"),
        ] {
            let failure = error_status(body.as_bytes()).unwrap().failure(None);
            assert_eq!(failure.status, "PERMISSION_DENIED", "{body}");
            assert_eq!(
                failure.code(),
                Some(&ErrorCode::Authorization("USER_PERMISSION_DENIED".into()))
            );
            assert_eq!(failure.request_id.as_deref(), Some("r1"));
        }
        // Neither form: no status rather than an empty one.
        for body in [
            &b"[]"[..],
            b"[1]",
            b"[{\"results\":[]}]",
            b"{\"error\":\"invalid_grant\"}",
            b"{\"error\":[{\"code\":1}]}",
            b"<html>",
        ] {
            assert!(
                error_status(body).is_none(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_retry_info_detail_gives_the_delay_and_query_errors_keep_message_and_trigger() {
        let status = error_status(
            br#"[{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED",
              "details":[{"@type":"type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure",
                "errors":[{"errorCode":{"quotaError":"RESOURCE_TEMPORARILY_EXHAUSTED"},"message":"Too many requests.",
                  "details":{"quotaErrorDetails":{"rateScope":"DEVELOPER","rateName":"Requests per developer token"}}}]},
                {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"4s"}]}}]"#,
        )
        .unwrap();
        let failure = status.failure(None);
        assert_eq!(failure.retry_delay(), Some(Duration::from_secs(4)));
        assert_eq!(failure.errors[0].rate_scope.as_deref(), Some("DEVELOPER"));
        let query = error_status(
            br#"[{"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT",
              "details":[{"@type":"type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure",
                "errors":[{"errorCode":{"queryError":"UNRECOGNIZED_FIELD"},"message":"Unrecognized field in the query: 'campaign.nonsense'.","trigger":{"stringValue":"campaign.nonsense"}},
                          {"errorCode":{"queryError":"PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE"},"message":"Metrics cannot be requested here."}]}]}}]"#,
        )
        .unwrap()
        .failure(Some("req".into()));
        assert_eq!(
            query.to_string(),
            "INVALID_ARGUMENT (queryError UNRECOGNIZED_FIELD): Unrecognized field in the query: 'campaign.nonsense'. (at \"campaign.nonsense\"); (queryError PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE): Metrics cannot be requested here. (request-id req)"
        );
    }
}
