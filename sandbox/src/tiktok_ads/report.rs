//! `GET /open_api/v1.3/report/integrated/get/`: the synchronous integrated report, `BASIC` and
//! `AUDIENCE` (age, gender, country_code, platform; without `reach` or `frequency`, which TikTok
//! refuses there), daily (`stat_time_day`), with TikTok's parameter checks, page/page_size
//! paging and string-encoded metrics (`"-"` for not applicable).

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::errors::{self, TiktokError};
use super::params::{self, Paging, Params, param};
use super::truth::TruthRow;
use super::vocabulary::{Breakdown, Level};
use super::world::AdvertiserFacts;
use super::{Call, Prelude};
use super::{truth, world};
use crate::state::Sandbox;
use crate::wire::OrderedObject;

/// The templated route, as recorded in the request log.
pub(crate) const ROUTE: &str = "/report/integrated/get/";

/// The longest range of a daily report, in days (both ends included).
pub(crate) const MAX_DAYS: i64 = 30;

/// How many audience dimensions one report may combine.
const MAX_AUDIENCE_DIMENSIONS: usize = 2;

/// The report types the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReportType {
    Basic,
    Audience,
}

/// A metric (or attribute, which TikTok lists among the metrics) the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    Impressions,
    Clicks,
    Spend,
    Reach,
    Conversion,
    Ctr,
    Cpc,
    Cpm,
    Frequency,
    CostPerConversion,
    AdvertiserName,
    Currency,
    CampaignName,
    CampaignId,
    ObjectiveType,
    AdgroupName,
    AdgroupId,
    AdName,
    AdText,
}

impl Metric {
    const ALL: &'static [Metric] = &[
        Metric::Impressions,
        Metric::Clicks,
        Metric::Spend,
        Metric::Reach,
        Metric::Conversion,
        Metric::Ctr,
        Metric::Cpc,
        Metric::Cpm,
        Metric::Frequency,
        Metric::CostPerConversion,
        Metric::AdvertiserName,
        Metric::Currency,
        Metric::CampaignName,
        Metric::CampaignId,
        Metric::ObjectiveType,
        Metric::AdgroupName,
        Metric::AdgroupId,
        Metric::AdName,
        Metric::AdText,
    ];

    const fn name(self) -> &'static str {
        match self {
            Metric::Impressions => "impressions",
            Metric::Clicks => "clicks",
            Metric::Spend => "spend",
            Metric::Reach => "reach",
            Metric::Conversion => "conversion",
            Metric::Ctr => "ctr",
            Metric::Cpc => "cpc",
            Metric::Cpm => "cpm",
            Metric::Frequency => "frequency",
            Metric::CostPerConversion => "cost_per_conversion",
            Metric::AdvertiserName => "advertiser_name",
            Metric::Currency => "currency",
            Metric::CampaignName => "campaign_name",
            Metric::CampaignId => "campaign_id",
            Metric::ObjectiveType => "objective_type",
            Metric::AdgroupName => "adgroup_name",
            Metric::AdgroupId => "adgroup_id",
            Metric::AdName => "ad_name",
            Metric::AdText => "ad_text",
        }
    }

    /// The coarsest level at which the metric exists (attributes of an object need its level).
    const fn min_level(self) -> Level {
        match self {
            Metric::CampaignName | Metric::ObjectiveType => Level::Campaign,
            Metric::CampaignId | Metric::AdgroupName => Level::AdGroup,
            Metric::AdgroupId | Metric::AdName | Metric::AdText => Level::Ad,
            _ => Level::Advertiser,
        }
    }

    /// Whether an `AUDIENCE` report refuses it: TikTok cannot split unique people (and so the
    /// frequency derived from them) across audience segments, and answers 40002
    /// `Invalid metric fields: ['reach']`.
    const fn refused_by_audience_reports(self) -> bool {
        matches!(self, Metric::Reach | Metric::Frequency)
    }

    /// Whether the value is a number in a string (as opposed to an attribute).
    const fn numeric(self) -> bool {
        matches!(
            self,
            Metric::Impressions
                | Metric::Clicks
                | Metric::Spend
                | Metric::Reach
                | Metric::Conversion
                | Metric::Ctr
                | Metric::Cpc
                | Metric::Cpm
                | Metric::Frequency
                | Metric::CostPerConversion
        )
    }

    /// The value as TikTok renders it: numbers as strings, `"-"` where not applicable, ratios
    /// with two decimals (`"0.00"` for a zero denominator).
    fn value(self, row: &TruthRow, decimals: u32) -> String {
        let ratio = |numerator: u128, denominator: u128| -> String {
            if denominator == 0 {
                return "0.00".to_owned();
            }
            let hundredths = (numerator * 100 * 2 + denominator) / (denominator * 2);
            truth::money(u64::try_from(hundredths).unwrap_or(u64::MAX), 2)
        };
        let unit = 10u128.pow(decimals);
        let spend = u128::from(row.spend_minor);
        let dash = || "-".to_owned();
        match self {
            Metric::Impressions => row.impressions.to_string(),
            Metric::Clicks => row.clicks.to_string(),
            Metric::Spend => row.spend.clone(),
            Metric::Reach => row.reach.to_string(),
            Metric::Conversion => row.conversion.map_or_else(dash, |value| value.to_string()),
            Metric::Ctr => ratio(u128::from(row.clicks) * 100, u128::from(row.impressions)),
            Metric::Cpc => ratio(spend, u128::from(row.clicks) * unit),
            Metric::Cpm => ratio(spend * 1_000, u128::from(row.impressions) * unit),
            Metric::Frequency => ratio(u128::from(row.impressions), u128::from(row.reach)),
            Metric::CostPerConversion => match row.conversion {
                None => dash(),
                Some(conversion) => ratio(spend, u128::from(conversion) * unit),
            },
            Metric::AdvertiserName => row.advertiser_name.clone(),
            Metric::Currency => row.currency.clone(),
            Metric::CampaignName => row.campaign_name.clone().unwrap_or_else(dash),
            Metric::CampaignId => row.campaign_id.clone().unwrap_or_else(dash),
            Metric::ObjectiveType => row.objective_type.clone().unwrap_or_else(dash),
            Metric::AdgroupName => row.adgroup_name.clone().unwrap_or_else(dash),
            Metric::AdgroupId => row.adgroup_id.clone().unwrap_or_else(dash),
            Metric::AdName => row.ad_name.clone().unwrap_or_else(dash),
            Metric::AdText => row.ad_text.clone().unwrap_or_else(dash),
        }
    }
}

/// One requested dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dimension {
    Id,
    StatTimeDay,
    Audience(Breakdown),
}

/// The validated parameters of one report request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ReportQuery {
    advertiser_id: String,
    level: Level,
    dimensions: Vec<(String, Dimension)>,
    breakdowns: Vec<Breakdown>,
    metrics: Vec<Metric>,
    since: NaiveDate,
    until: NaiveDate,
    paging: Paging,
}

fn parse_date(params: &Params, name: &str) -> Result<NaiveDate, TiktokError> {
    let text = param(params, name).ok_or_else(|| TiktokError::missing(name))?;
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        TiktokError::invalid(
            name,
            format!("Not a valid date in the format YYYY-MM-DD: '{text}'."),
        )
    })
}

fn parse_query(params: &Params) -> Result<ReportQuery, TiktokError> {
    let advertiser_id = params::advertiser_id(params)?;
    let report_type = match param(params, "report_type") {
        None => return Err(TiktokError::missing("report_type")),
        Some("BASIC") => ReportType::Basic,
        Some("AUDIENCE") => ReportType::Audience,
        Some(other) => {
            return Err(TiktokError::invalid(
                "report_type",
                format!("'{other}' is not supported here; the sandbox serves BASIC and AUDIENCE."),
            ));
        }
    };
    match param(params, "service_type") {
        None | Some("AUCTION") => {}
        Some(other) => {
            return Err(TiktokError::invalid(
                "service_type",
                format!("'{other}' is not supported here; the sandbox serves AUCTION ads only."),
            ));
        }
    }
    let level: Level = param(params, "data_level")
        .ok_or_else(|| TiktokError::missing("data_level"))?
        .parse()
        .map_err(|message: String| TiktokError::invalid("data_level", message))?;
    let names = params::string_array(params, "dimensions")?
        .ok_or_else(|| TiktokError::missing("dimensions"))?;
    let mut dimensions = Vec::new();
    let mut breakdowns = Vec::new();
    for name in names {
        let dimension = if name == level.id_dimension() {
            Dimension::Id
        } else if name == "stat_time_day" {
            Dimension::StatTimeDay
        } else if let Some(breakdown) = Breakdown::from_name(&name) {
            if report_type != ReportType::Audience {
                return Err(TiktokError::invalid(
                    "dimensions",
                    format!("{name} is an audience dimension: use report_type AUDIENCE."),
                ));
            }
            breakdowns.push(breakdown);
            Dimension::Audience(breakdown)
        } else if name == "stat_time_hour" {
            return Err(TiktokError::invalid(
                "dimensions",
                "stat_time_hour is not served by the sandbox; use stat_time_day.",
            ));
        } else {
            return Err(TiktokError::invalid(
                "dimensions",
                format!("Invalid dimension '{name}' for data_level {level}."),
            ));
        };
        if dimensions.iter().any(|(_, seen)| *seen == dimension) {
            return Err(TiktokError::invalid(
                "dimensions",
                format!("'{name}' is listed twice."),
            ));
        }
        dimensions.push((name, dimension));
    }
    if !dimensions.iter().any(|(_, d)| *d == Dimension::StatTimeDay) {
        return Err(TiktokError::invalid(
            "dimensions",
            "The sandbox serves daily reports: include stat_time_day.",
        ));
    }
    if level != Level::Advertiser && !dimensions.iter().any(|(_, d)| *d == Dimension::Id) {
        return Err(TiktokError::invalid(
            "dimensions",
            format!("Include {} for data_level {level}.", level.id_dimension()),
        ));
    }
    if report_type == ReportType::Audience
        && !(1..=MAX_AUDIENCE_DIMENSIONS).contains(&breakdowns.len())
    {
        return Err(TiktokError::invalid(
            "dimensions",
            format!(
                "An AUDIENCE report needs one or two of age, gender, country_code, platform; got {}.",
                breakdowns.len()
            ),
        ));
    }
    let metric_names = params::string_array(params, "metrics")?
        .unwrap_or_else(|| vec!["spend".to_owned(), "impressions".to_owned()]);
    let unknown: Vec<&String> = metric_names
        .iter()
        .filter(|name| {
            !Metric::ALL
                .iter()
                .any(|metric| metric.name() == name.as_str())
        })
        .collect();
    if !unknown.is_empty() {
        return Err(TiktokError::invalid_metrics(&unknown));
    }
    if report_type == ReportType::Audience {
        let refused: Vec<&String> = metric_names
            .iter()
            .filter(|name| {
                Metric::ALL
                    .iter()
                    .any(|m| m.name() == name.as_str() && m.refused_by_audience_reports())
            })
            .collect();
        if !refused.is_empty() {
            return Err(TiktokError::invalid_metrics(&refused));
        }
    }
    let mut metrics = Vec::new();
    for name in &metric_names {
        let Some(metric) = Metric::ALL.iter().copied().find(|m| m.name() == name) else {
            continue;
        };
        if metric.min_level() > level {
            return Err(TiktokError::invalid(
                "metrics",
                format!("{name} is not supported with data_level {level}."),
            ));
        }
        if !metrics.contains(&metric) {
            metrics.push(metric);
        }
    }
    if param(params, "query_lifetime") == Some("true") || param(params, "lifetime") == Some("true")
    {
        return Err(TiktokError::invalid(
            "query_lifetime",
            "Lifetime reports are not served by the sandbox; pass start_date and end_date.",
        ));
    }
    let since = parse_date(params, "start_date")?;
    let until = parse_date(params, "end_date")?;
    if until < since {
        return Err(TiktokError::invalid(
            "end_date",
            "Must be later than or equal to start_date.",
        ));
    }
    if (until - since).num_days() + 1 > MAX_DAYS {
        return Err(TiktokError::span_too_long(MAX_DAYS));
    }
    params::json_value(params, "filtering")?;
    Ok(ReportQuery {
        advertiser_id,
        level,
        dimensions,
        breakdowns,
        metrics,
        since,
        until,
        paging: Paging::parse(params)?,
    })
}

fn render_row(row: &TruthRow, query: &ReportQuery, decimals: u32) -> Value {
    let mut dimensions = OrderedObject::default();
    for (name, dimension) in &query.dimensions {
        let key: &'static str = match dimension {
            Dimension::Id => query.level.id_dimension(),
            Dimension::StatTimeDay => "stat_time_day",
            Dimension::Audience(breakdown) => breakdown.name(),
        };
        let value = match dimension {
            Dimension::Id => match query.level {
                Level::Advertiser => Some(row.advertiser_id.clone()),
                Level::Campaign => row.campaign_id.clone(),
                Level::AdGroup => row.adgroup_id.clone(),
                Level::Ad => row.ad_id.clone(),
            },
            Dimension::StatTimeDay => Some(format!("{} 00:00:00", row.date)),
            Dimension::Audience(_) => row.segment.get(name.as_str()).cloned(),
        };
        dimensions.push(key, value.unwrap_or_else(|| "-".to_owned()));
    }
    let mut metrics = OrderedObject::default();
    for metric in &query.metrics {
        metrics.push(metric.name(), metric.value(row, decimals));
    }
    json!({ "dimensions": dimensions, "metrics": metrics })
}

/// Answers one report page for an admitted call.
fn page(
    advertiser: &AdvertiserFacts,
    query: &ReportQuery,
    today: NaiveDate,
    malformed: bool,
) -> Value {
    let rows = truth::rows(
        advertiser,
        query.level,
        &query.breakdowns,
        query.since,
        query.until,
        today,
    );
    let (slice, page_info) = query.paging.slice(&rows);
    let decimals = advertiser.currency.decimals();
    let mut list: Vec<Value> = slice
        .iter()
        .map(|row| render_row(row, query, decimals))
        .collect();
    let mut page_info = json!(page_info);
    if malformed {
        break_page(&mut list, &mut page_info, query);
    }
    json!({ "list": list, "page_info": page_info })
}

/// A malformed answer: the first row's `spend` (or, without it, its first numeric metric) is
/// not a number (it has a thousands separator); without rows or numeric metrics,
/// `page_info.total_page` is not a number.
fn break_page(list: &mut [Value], page_info: &mut Value, query: &ReportQuery) {
    let first_numeric = query
        .metrics
        .iter()
        .find(|metric| **metric == Metric::Spend)
        .or_else(|| query.metrics.iter().find(|metric| metric.numeric()));
    if let (Some(row), Some(metric)) = (list.first_mut(), first_numeric) {
        row["metrics"][metric.name()] = Value::String("1,265.80".to_owned());
    } else {
        page_info["total_page"] = Value::String("1 of 1".to_owned());
    }
}

/// The handler.
pub(crate) async fn handler(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let params = query.map(|Query(params)| params).unwrap_or_default();
    let account = param(&params, "advertiser_id").map(str::to_owned);
    let prelude = Prelude::begin(&sandbox, ROUTE, account).await;
    let call = match prelude.check(&sandbox, &headers) {
        Ok(call) => call,
        Err(rejection) => return prelude.reject(&sandbox, rejection),
    };
    let response = answer(&sandbox, &call, &params);
    prelude.finish(response)
}

fn answer(sandbox: &Sandbox, call: &Call, params: &Params) -> Response {
    let query = match parse_query(params) {
        Ok(query) => query,
        Err(error) => return error.into_response(sandbox),
    };
    let Some(advertiser) = world::advertiser(&query.advertiser_id) else {
        return TiktokError::no_permission(&query.advertiser_id).into_response(sandbox);
    };
    let today = sandbox.today_for(&advertiser);
    errors::ok(sandbox, page(&advertiser, &query, today, call.malformed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn campaign_query(extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut query = params(&[
            ("advertiser_id", "123"),
            ("report_type", "BASIC"),
            ("data_level", "AUCTION_CAMPAIGN"),
            ("dimensions", r#"["campaign_id","stat_time_day"]"#),
            ("metrics", r#"["spend","conversion","campaign_name"]"#),
            ("start_date", "2025-06-01"),
            ("end_date", "2025-06-30"),
        ]);
        query.extend(params(extra));
        query
    }

    #[test]
    fn a_thirty_day_campaign_report_parses() {
        let query = parse_query(&campaign_query(&[])).unwrap();
        assert_eq!(query.level, Level::Campaign);
        assert_eq!(
            query.metrics,
            [Metric::Spend, Metric::Conversion, Metric::CampaignName]
        );
        assert_eq!(
            query.paging,
            Paging {
                page: 1,
                page_size: 10
            }
        );
    }

    #[test]
    fn thirty_one_days_are_refused_with_an_explanation() {
        let error = parse_query(&campaign_query(&[("start_date", "2025-05-31")])).unwrap_err();
        assert_eq!(error.code, 40002);
        assert!(error.message.contains("30 days"), "{}", error.message);
    }

    #[test]
    fn parameters_are_checked_naming_the_field() {
        let cases: [(&[(&str, &str)], &str); 6] = [
            (
                &[("dimensions", r#"["ad_id","stat_time_day"]"#)],
                "dimensions",
            ),
            (
                &[("dimensions", r#"["campaign_id","age","stat_time_day"]"#)],
                "dimensions",
            ),
            (
                &[("metrics", r#"["spend","likes"]"#)],
                "Invalid metric fields: ['likes']",
            ),
            (&[("metrics", r#"["ad_name"]"#)], "metrics"),
            (&[("data_level", "CAMPAIGN")], "data_level"),
            (&[("end_date", "2025-05-01")], "end_date"),
        ];
        for (extra, field) in cases {
            let error = parse_query(&campaign_query(extra)).unwrap_err();
            assert!(
                error.message.starts_with(field),
                "{extra:?}: {}",
                error.message
            );
        }
    }

    #[test]
    fn audience_reports_refuse_reach_and_frequency_as_tiktok_does() {
        let audience = |metrics: &str| {
            campaign_query(&[
                ("report_type", "AUDIENCE"),
                ("dimensions", r#"["campaign_id","stat_time_day","gender"]"#),
                ("metrics", metrics),
            ])
        };
        let error =
            parse_query(&audience(r#"["spend","reach","clicks","frequency"]"#)).unwrap_err();
        assert_eq!(error.code, 40002);
        assert_eq!(
            error.message,
            "Invalid metric fields: ['reach', 'frequency']"
        );
        let served = parse_query(&audience(r#"["spend","clicks","ctr","conversion"]"#)).unwrap();
        assert_eq!(served.breakdowns.len(), 1);
        let basic =
            parse_query(&campaign_query(&[("metrics", r#"["reach","frequency"]"#)])).unwrap();
        assert_eq!(basic.metrics, [Metric::Reach, Metric::Frequency]);
    }

    #[test]
    fn rows_render_days_with_the_time_and_missing_values_as_a_dash() {
        let query = parse_query(&campaign_query(&[])).unwrap();
        let row = TruthRow {
            advertiser_id: "123".into(),
            advertiser_name: "A".into(),
            currency: "USD".into(),
            campaign_id: Some("1700".into()),
            campaign_name: Some("Été".into()),
            objective_type: Some("TRAFFIC".into()),
            adgroup_id: None,
            adgroup_name: None,
            ad_id: None,
            ad_name: None,
            ad_text: None,
            date: "2025-06-02".parse().unwrap(),
            segment: Default::default(),
            impressions: 1000,
            clicks: 10,
            reach: 800,
            spend_minor: 1_250,
            spend: "12.50".into(),
            conversion: None,
        };
        let rendered = render_row(&row, &query, 2);
        assert_eq!(
            rendered,
            json!({
                "dimensions": {"campaign_id": "1700", "stat_time_day": "2025-06-02 00:00:00"},
                "metrics": {"spend": "12.50", "conversion": "-", "campaign_name": "Été"}
            })
        );
        assert_eq!(Metric::Cpc.value(&row, 2), "1.25");
        assert_eq!(Metric::Ctr.value(&row, 2), "1.00");
        assert_eq!(Metric::CostPerConversion.value(&row, 2), "-");
    }
}
