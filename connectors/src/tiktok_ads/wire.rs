//! TikTok's wire format: the `{code, message, request_id, data}` envelope, report and entity
//! pages with `page_info`, advertiser lists, and the mapping of a page to our [`Row`]s.
//!
//! Report values are JSON strings (`"1265.80"`, `"3840449"`), `"-"` where a value does not
//! apply, which becomes `None` (unknown), never 0. Days arrive as `"YYYY-MM-DD 00:00:00"`.
//! Money is in the advertiser's currency, major units, in reports and budgets alike.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Map, Value};
use shared::domain::{Breakdown, Metric, ReportLevel, ReportSpec};

use crate::rows::Row;

/// The envelope's head, read before `data` (whose shape depends on `code`).
#[derive(Debug, Deserialize)]
pub(super) struct Head {
    pub(super) code: i64,
    #[serde(default)]
    pub(super) message: String,
}

/// A successful envelope.
#[derive(Debug, Deserialize)]
pub(super) struct Envelope<T> {
    pub(super) data: T,
}

/// `data.page_info`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub(super) struct PageInfo {
    pub(super) total_page: u64,
}

/// A page of a report or entity list: objects by field name.
#[derive(Debug, Deserialize)]
pub(super) struct ListPage {
    pub(super) list: Vec<Map<String, Value>>,
    pub(super) page_info: PageInfo,
}

/// A report row: `{"dimensions": {...}, "metrics": {...}}`.
#[derive(Debug, Deserialize)]
pub(super) struct ReportRow {
    pub(super) dimensions: Map<String, Value>,
    pub(super) metrics: Map<String, Value>,
}

/// A report page.
#[derive(Debug, Deserialize)]
pub(super) struct ReportPage {
    pub(super) list: Vec<ReportRow>,
    pub(super) page_info: PageInfo,
}

/// An unpaged list (`oauth2/advertiser/get/`, `advertiser/info/`).
#[derive(Debug, Deserialize)]
pub(super) struct List<T> {
    pub(super) list: Vec<T>,
}

/// One advertiser a token reaches.
#[derive(Debug, Deserialize)]
pub(super) struct Authorized {
    #[serde(deserialize_with = "id_text")]
    pub(super) advertiser_id: String,
}

/// One advertiser's facts from `advertiser/info/`.
#[derive(Debug, Deserialize)]
pub(super) struct AdvertiserInfo {
    #[serde(deserialize_with = "id_text")]
    pub(super) advertiser_id: String,
    pub(super) name: String,
    pub(super) currency: String,
    pub(super) timezone: String,
}

/// Ids arrive as strings in v1.3, but some endpoints and older fixtures use numbers.
fn id_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) if !text.is_empty() => Ok(text),
        Value::Number(number) if number.is_u64() => Ok(number.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected an id, got {other}"
        ))),
    }
}

/// The `data_level` of a report level.
pub(super) fn data_level(level: ReportLevel) -> &'static str {
    match level {
        ReportLevel::Account => "AUCTION_ADVERTISER",
        ReportLevel::Campaign => "AUCTION_CAMPAIGN",
        ReportLevel::AdGroup => "AUCTION_ADGROUP",
        ReportLevel::Ad => "AUCTION_AD",
    }
}

/// The dimension identifying a row's object at `level`.
fn id_dimension(level: ReportLevel) -> &'static str {
    match level {
        ReportLevel::Account => "advertiser_id",
        ReportLevel::Campaign => "campaign_id",
        ReportLevel::AdGroup => "adgroup_id",
        ReportLevel::Ad => "ad_id",
    }
}

/// TikTok's audience dimension for a breakdown, if it has one.
pub(super) fn breakdown_dimension(breakdown: Breakdown) -> Option<&'static str> {
    match breakdown {
        Breakdown::Age => Some("age"),
        Breakdown::Gender => Some("gender"),
        Breakdown::Country => Some("country_code"),
        Breakdown::Platform => Some("platform"),
        Breakdown::Placement => None,
    }
}

/// TikTok's metric for one of ours, if it reports it (derived metrics are never fetched).
pub(super) fn metric_name(metric: Metric) -> Option<&'static str> {
    match metric {
        Metric::Impressions => Some("impressions"),
        Metric::Clicks => Some("clicks"),
        Metric::Spend => Some("spend"),
        Metric::Reach => Some("reach"),
        Metric::Conversions => Some("conversion"),
        Metric::ConversionValue
        | Metric::Ctr
        | Metric::Cpc
        | Metric::Cpm
        | Metric::Cpa
        | Metric::Roas => None,
    }
}

/// Where one of the level's text columns comes from: a dimension of the row, or an attribute
/// TikTok lists among the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Dimension(&'static str),
    Metric(&'static str),
}

/// The sources of `level`'s text columns, in `ReportLevel::dimensions` order.
fn level_sources(level: ReportLevel) -> &'static [Source] {
    use Source::{Dimension, Metric};
    match level {
        ReportLevel::Account => &[],
        ReportLevel::Campaign => &[Dimension("campaign_id"), Metric("campaign_name")],
        ReportLevel::AdGroup => &[
            Metric("campaign_id"),
            Metric("campaign_name"),
            Dimension("adgroup_id"),
            Metric("adgroup_name"),
        ],
        ReportLevel::Ad => &[
            Metric("campaign_id"),
            Metric("campaign_name"),
            Metric("adgroup_id"),
            Metric("adgroup_name"),
            Dimension("ad_id"),
            Metric("ad_name"),
        ],
    }
}

/// The report's `dimensions` parameter: the level's id, the day, the audience dimensions.
pub(super) fn report_dimensions(report: &ReportSpec) -> Result<Vec<&'static str>, Breakdown> {
    let mut dimensions = vec![id_dimension(report.level), "stat_time_day"];
    for breakdown in &report.breakdowns {
        dimensions.push(breakdown_dimension(*breakdown).ok_or(*breakdown)?);
    }
    Ok(dimensions)
}

/// The report's `metrics` parameter: the fetched metrics, then the attributes the level's text
/// columns need.
pub(super) fn report_metrics(report: &ReportSpec) -> Result<Vec<&'static str>, Metric> {
    let mut metrics = Vec::new();
    for metric in report.fetched_metrics() {
        metrics.push(metric_name(metric).ok_or(metric)?);
    }
    for source in level_sources(report.level) {
        if let Source::Metric(name) = source {
            metrics.push(name);
        }
    }
    Ok(metrics)
}

/// `"-"`, TikTok's "not applicable".
const NOT_APPLICABLE: &str = "-";

/// A text value: strings as they are, numbers as their digits, `"-"` as `None`.
fn text_value(value: &Value, field: &str) -> Result<Option<String>, String> {
    match value {
        Value::String(text) if text == NOT_APPLICABLE => Ok(None),
        Value::String(text) => Ok(Some(text.clone())),
        Value::Number(number) => Ok(Some(number.to_string())),
        Value::Null => Ok(None),
        other => Err(format!("{field}: {other} is not a string")),
    }
}

/// A numeric value: a decimal in a string (or a JSON number), `"-"` as `None`.
fn number_value(value: &Value, field: &str) -> Result<Option<Decimal>, String> {
    let text = match value {
        Value::String(text) if text == NOT_APPLICABLE => return Ok(None),
        Value::Null => return Ok(None),
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        other => return Err(format!("{field}: {other} is not a number")),
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map(Some)
        .map_err(|_| format!("{field}: {text:?} is not a number"))
}

fn required<'a>(object: &'a Map<String, Value>, field: &str) -> Result<&'a Value, String> {
    object.get(field).ok_or_else(|| format!("{field}: missing"))
}

/// `"2025-06-01 00:00:00"` → 2025-06-01.
fn stat_day(value: &Value) -> Result<NaiveDate, String> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("stat_time_day: {value} is not a string"))?;
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .map(|time| time.date())
        .map_err(|_| format!("stat_time_day: {text:?} is not \"YYYY-MM-DD 00:00:00\""))
}

/// Audience values in adsync's spelling: ages as `18-24` / `55+`, genders in lower case
/// (`unknown` for `NONE`), platforms in lower case, countries as upper-case codes.
fn normalise_breakdown(breakdown: Breakdown, value: String) -> String {
    match breakdown {
        Breakdown::Age => match value.strip_prefix("AGE_") {
            Some(range) => match range.split_once('_') {
                Some((low, "100")) => format!("{low}+"),
                Some((low, high)) => format!("{low}-{high}"),
                None => value,
            },
            None => value,
        },
        Breakdown::Gender => match value.as_str() {
            "NONE" => "unknown".to_owned(),
            _ => value.to_lowercase(),
        },
        Breakdown::Country => value.to_uppercase(),
        Breakdown::Platform | Breakdown::Placement => value.to_lowercase(),
    }
}

/// Maps a report page to rows in the fetched layout; a missing or malformed value is an error
/// naming its place (`data.list[3].metrics.spend: "1,265.80" is not a number`).
pub(super) fn report_rows(page: &ReportPage, report: &ReportSpec) -> Result<Vec<Row>, String> {
    let metrics = report.fetched_metrics();
    page.list
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let at = |detail: String, part: &str| format!("data.list[{index}].{part}.{detail}");
            let date = required(&row.dimensions, "stat_time_day")
                .and_then(stat_day)
                .map_err(|detail| at(detail, "dimensions"))?;
            let mut texts = Vec::new();
            for source in level_sources(report.level) {
                let (part, object, field) = match source {
                    Source::Dimension(field) => ("dimensions", &row.dimensions, *field),
                    Source::Metric(field) => ("metrics", &row.metrics, *field),
                };
                let value = required(object, field)
                    .and_then(|value| text_value(value, field))
                    .map_err(|detail| at(detail, part))?;
                texts.push(value);
            }
            for breakdown in &report.breakdowns {
                let field = breakdown_dimension(*breakdown).unwrap_or("placement");
                let value = required(&row.dimensions, field)
                    .and_then(|value| text_value(value, field))
                    .map_err(|detail| at(detail, "dimensions"))?;
                texts.push(value.map(|value| normalise_breakdown(*breakdown, value)));
            }
            let numbers = metrics
                .iter()
                .map(|metric| {
                    let field = metric_name(*metric).unwrap_or("unsupported");
                    required(&row.metrics, field)
                        .and_then(|value| number_value(value, field))
                        .map_err(|detail| at(detail, "metrics"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Row {
                date: Some(date),
                texts,
                numbers,
            })
        })
        .collect()
}

/// The entity endpoint of a level, if TikTok has one.
pub(super) fn entity_endpoint(level: ReportLevel) -> Option<&'static str> {
    match level {
        ReportLevel::Campaign => Some("/campaign/get/"),
        ReportLevel::AdGroup => Some("/adgroup/get/"),
        ReportLevel::Ad => Some("/ad/get/"),
        ReportLevel::Account => None,
    }
}

/// The fields asked of an entity endpoint.
pub(super) fn entity_fields(level: ReportLevel) -> &'static [&'static str] {
    match level {
        ReportLevel::Campaign | ReportLevel::Account => &[
            "campaign_id",
            "campaign_name",
            "objective_type",
            "operation_status",
            "budget_mode",
            "budget",
        ],
        ReportLevel::AdGroup => &[
            "adgroup_id",
            "adgroup_name",
            "campaign_id",
            "operation_status",
            "budget_mode",
            "budget",
        ],
        ReportLevel::Ad => &[
            "ad_id",
            "ad_name",
            "campaign_id",
            "adgroup_id",
            "operation_status",
            "video_id",
            "image_ids",
        ],
    }
}

/// Maps an entity page to rows in `ENTITY_TEXTS` / `ENTITY_NUMBERS` order. The status is the
/// `operation_status` (the switch, like Meta's `status`); a budget goes to the daily or the
/// lifetime column by its `budget_mode` (neither when infinite), in major units as sent. The
/// creative id of an ad is its video, or its first image; TikTok has no creative names.
pub(super) fn entity_rows(page: &ListPage, level: ReportLevel) -> Result<Vec<Row>, String> {
    page.list
        .iter()
        .enumerate()
        .map(|(index, object)| {
            let at = |detail: String| format!("data.list[{index}].{detail}");
            let text = |field: &str| -> Result<Option<String>, String> {
                match object.get(field) {
                    None => Ok(None),
                    Some(value) => text_value(value, field).map_err(at),
                }
            };
            let required_text = |field: &str| -> Result<Option<String>, String> {
                match text(field)? {
                    Some(value) => Ok(Some(value)),
                    None => Err(at(format!("{field}: missing"))),
                }
            };
            let (id, name) = match level {
                ReportLevel::Campaign | ReportLevel::Account => ("campaign_id", "campaign_name"),
                ReportLevel::AdGroup => ("adgroup_id", "adgroup_name"),
                ReportLevel::Ad => ("ad_id", "ad_name"),
            };
            let creative_id = match level {
                ReportLevel::Ad => match text("video_id")? {
                    Some(video) => Some(video),
                    None => match object.get("image_ids") {
                        None | Some(Value::Null) => None,
                        Some(Value::Array(images)) => match images.first() {
                            None => None,
                            Some(first) => text_value(first, "image_ids[0]").map_err(at)?,
                        },
                        Some(other) => {
                            return Err(at(format!("image_ids: {other} is not a list")));
                        }
                    },
                },
                ReportLevel::Account | ReportLevel::Campaign | ReportLevel::AdGroup => None,
            };
            let texts = vec![
                required_text(id)?,
                required_text(name)?,
                match level {
                    ReportLevel::Campaign | ReportLevel::Account => None,
                    ReportLevel::AdGroup | ReportLevel::Ad => required_text("campaign_id")?,
                },
                match level {
                    ReportLevel::Ad => required_text("adgroup_id")?,
                    ReportLevel::Account | ReportLevel::Campaign | ReportLevel::AdGroup => None,
                },
                text("operation_status")?,
                text("objective_type")?,
                creative_id,
                None,
            ];
            let numbers = match level {
                ReportLevel::Ad => vec![None, None],
                ReportLevel::Account | ReportLevel::Campaign | ReportLevel::AdGroup => {
                    let budget = match object.get("budget") {
                        None => None,
                        Some(value) => number_value(value, "budget").map_err(at)?,
                    };
                    match text("budget_mode")?.as_deref() {
                        Some("BUDGET_MODE_DAY" | "BUDGET_MODE_DYNAMIC_DAILY_BUDGET") => {
                            vec![budget, None]
                        }
                        Some("BUDGET_MODE_TOTAL") => vec![None, budget],
                        _ => vec![None, None],
                    }
                }
            };
            Ok(Row {
                date: None,
                texts,
                numbers,
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

    fn d(value: &str) -> Option<Decimal> {
        Some(value.parse().unwrap())
    }

    fn page(json: &str) -> ReportPage {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn requests_name_the_levels_id_the_day_audiences_and_attributes() {
        let report = report(
            "ad_group",
            &["spend", "conversions", "cpa"],
            &["gender", "age"],
        );
        assert_eq!(
            report_dimensions(&report).unwrap(),
            ["adgroup_id", "stat_time_day", "age", "gender"]
        );
        assert_eq!(
            report_metrics(&report).unwrap(),
            [
                "spend",
                "conversion",
                "campaign_id",
                "campaign_name",
                "adgroup_name"
            ]
        );
        assert_eq!(data_level(report.level), "AUCTION_ADGROUP");
    }

    #[test]
    fn rows_map_ids_attributes_audiences_and_string_metrics() {
        let page = page(
            r#"{"list":[{"dimensions":{"adgroup_id":"1700000000000000110","stat_time_day":"2025-06-02 00:00:00",
                "age":"AGE_55_100","gender":"NONE"},
                "metrics":{"spend":"1265.80","conversion":"-","campaign_id":"1700000000000000100",
                "campaign_name":"Été · Sale","adgroup_name":"Broad"}}],
                "page_info":{"page":1,"page_size":10,"total_number":1,"total_page":1}}"#,
        );
        let report = report("ad_group", &["spend", "conversions"], &["age", "gender"]);
        let rows = report_rows(&page, &report).unwrap();
        assert_eq!(rows[0].date, "2025-06-02".parse().ok());
        assert_eq!(
            rows[0].texts,
            [
                Some("1700000000000000100".into()),
                Some("Été · Sale".into()),
                Some("1700000000000000110".into()),
                Some("Broad".into()),
                Some("55+".into()),
                Some("unknown".into()),
            ]
        );
        assert_eq!(
            rows[0].numbers,
            [d("1265.80"), None],
            "\"-\" is unknown, not 0"
        );
    }

    #[test]
    fn breakdown_values_are_spelled_like_other_platforms() {
        assert_eq!(
            normalise_breakdown(Breakdown::Age, "AGE_18_24".into()),
            "18-24"
        );
        assert_eq!(
            normalise_breakdown(Breakdown::Gender, "FEMALE".into()),
            "female"
        );
        assert_eq!(
            normalise_breakdown(Breakdown::Platform, "IPHONE".into()),
            "iphone"
        );
        assert_eq!(normalise_breakdown(Breakdown::Country, "de".into()), "DE");
    }

    #[test]
    fn malformed_rows_name_the_row_and_field() {
        let bad = page(
            r#"{"list":[{"dimensions":{"campaign_id":"1","stat_time_day":"2025-06-02 00:00:00"},
                "metrics":{"spend":"1,265.80","campaign_name":"a"}}],"page_info":{"total_page":1}}"#,
        );
        let error = report_rows(&bad, &report("campaign", &["spend"], &[])).unwrap_err();
        assert_eq!(
            error,
            r#"data.list[0].metrics.spend: "1,265.80" is not a number"#
        );
        let no_day = page(
            r#"{"list":[{"dimensions":{"campaign_id":"1","stat_time_day":"2025-06-02"},
                "metrics":{"spend":"1","campaign_name":"a"}}],"page_info":{"total_page":1}}"#,
        );
        let error = report_rows(&no_day, &report("campaign", &["spend"], &[])).unwrap_err();
        assert!(
            error.starts_with("data.list[0].dimensions.stat_time_day"),
            "{error}"
        );
        let missing = page(
            r#"{"list":[{"dimensions":{"campaign_id":"1","stat_time_day":"2025-06-02 00:00:00"},
                "metrics":{"spend":"1"}}],"page_info":{"total_page":1}}"#,
        );
        let error = report_rows(&missing, &report("campaign", &["spend"], &[])).unwrap_err();
        assert_eq!(error, "data.list[0].metrics.campaign_name: missing");
    }

    #[test]
    fn entity_budgets_follow_the_budget_mode() {
        let page: ListPage = serde_json::from_str(
            r#"{"list":[
                {"campaign_id":"1","campaign_name":"Day","objective_type":"TRAFFIC","operation_status":"ENABLE","budget_mode":"BUDGET_MODE_DAY","budget":120.5},
                {"campaign_id":"2","campaign_name":"Total","objective_type":"REACH","operation_status":"DISABLE","budget_mode":"BUDGET_MODE_TOTAL","budget":3000.0},
                {"campaign_id":"3","campaign_name":"None","objective_type":"REACH","operation_status":"ENABLE","budget_mode":"BUDGET_MODE_INFINITE","budget":0.0}],
                "page_info":{"total_page":1}}"#,
        )
        .unwrap();
        let rows = entity_rows(&page, ReportLevel::Campaign).unwrap();
        assert_eq!(rows[0].numbers, [d("120.5"), None]);
        assert_eq!(rows[1].numbers, [None, d("3000")]);
        assert_eq!(rows[2].numbers, [None, None]);
        assert_eq!(rows[1].texts[4].as_deref(), Some("DISABLE"));
        assert_eq!(rows[1].texts[5].as_deref(), Some("REACH"));
    }

    #[test]
    fn ads_take_their_video_or_first_image_as_the_creative() {
        let page: ListPage = serde_json::from_str(
            r#"{"list":[
                {"ad_id":"9","ad_name":"Video","campaign_id":"1","adgroup_id":"5","operation_status":"ENABLE","video_id":"v100","image_ids":[]},
                {"ad_id":"10","ad_name":"Images","campaign_id":"1","adgroup_id":"5","operation_status":"ENABLE","video_id":null,"image_ids":["img-1","img-2"]}],
                "page_info":{"total_page":1}}"#,
        )
        .unwrap();
        let rows = entity_rows(&page, ReportLevel::Ad).unwrap();
        assert_eq!(rows[0].texts[6].as_deref(), Some("v100"));
        assert_eq!(rows[1].texts[6].as_deref(), Some("img-1"));
        assert_eq!(rows[1].texts[3].as_deref(), Some("5"));
        let broken: ListPage = serde_json::from_str(
            r#"{"list":[{"ad_id":"9","ad_name":["broken"],"campaign_id":"1","adgroup_id":"5"}],"page_info":{"total_page":1}}"#,
        )
        .unwrap();
        let error = entity_rows(&broken, ReportLevel::Ad).unwrap_err();
        assert!(error.starts_with("data.list[0].ad_name"), "{error}");
    }
}
