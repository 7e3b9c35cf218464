//! `GET /v1/{adaccounts|campaigns|adsquads|ads}/{id}/stats`: Snapchat's measurement endpoint.
//!
//! Parameters: `granularity` (`DAY` or `TOTAL`; `HOUR` and `LIFETIME` are not modelled),
//! `start_time`/`end_time` in ISO 8601 with an offset (DAY: both required and at the start of a
//! day in the account's time zone, end exclusive, at most 31 days; TOTAL: at the start of an
//! hour, optional), `fields` (`impressions`, `swipes`, `spend`, `conversion_purchases`,
//! `conversion_purchases_value`; default the first three), `breakdown` (`campaign`, `adsquad`,
//! `ad`: a finer level than the entity's), `report_dimension` (or `dimension`) `COUNTRY` (within
//! 31 × 24 hours at DAY, so 30 days across a DST fall-back), `swipe_up_attribution_window`,
//! `view_attribution_window` and `omit_empty` (default false: every day up to today, zeros
//! included). Ad account stats without a breakdown support only `spend`, as on Snapchat.
//!
//! Days after the account's today are never part of a timeseries. Money is micro-currency and
//! every number is a JSON number. TOTAL sums the days that start inside the range.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Days, FixedOffset, NaiveDate, Timelike};
use chrono_tz::Tz;

use super::errors::{CONTENT_TYPE, SnapError};
use super::json::Json;
use super::truth;
use super::truth::{Entity, day_start, render_time};
use super::vocabulary::{Attribution, Level};
use super::world::{AccountFacts, Metrics};
use super::{Call, Prelude, param, readable_account, request_id};
use crate::state::Sandbox;
use crate::wire;

type Params = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

/// The longest DAY range, in days (and, with a dimension, in 24-hour periods).
const MAX_DAYS: i64 = 31;

/// Report dimensions Snapchat knows; only `COUNTRY` is modelled.
const OTHER_DIMENSIONS: &[&str] = &[
    "REGION",
    "DMA",
    "DEVICE_OS",
    "DEVICE_MAKE",
    "DEMOGRAPHIC",
    "INTEREST",
    "COUNTRY_OS",
];

/// A stats field the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Impressions,
    Swipes,
    Spend,
    ConversionPurchases,
    ConversionPurchasesValue,
}

impl Field {
    const ALL: &'static [Field] = &[
        Field::Impressions,
        Field::Swipes,
        Field::Spend,
        Field::ConversionPurchases,
        Field::ConversionPurchasesValue,
    ];

    const fn name(self) -> &'static str {
        match self {
            Field::Impressions => "impressions",
            Field::Swipes => "swipes",
            Field::Spend => "spend",
            Field::ConversionPurchases => "conversion_purchases",
            Field::ConversionPurchasesValue => "conversion_purchases_value",
        }
    }

    const fn value(self, metrics: &Metrics) -> u64 {
        match self {
            Field::Impressions => metrics.impressions,
            Field::Swipes => metrics.swipes,
            Field::Spend => metrics.spend_micro,
            Field::ConversionPurchases => metrics.conversion_purchases,
            Field::ConversionPurchasesValue => metrics.conversion_purchases_value_micro,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Granularity {
    Total,
    Day,
}

/// A validated stats query.
#[derive(Debug, Clone, PartialEq)]
struct StatsQuery {
    granularity: Granularity,
    start: DateTime<Tz>,
    end: DateTime<Tz>,
    /// Whether the request named the times (TOTAL may leave them out).
    explicit_times: bool,
    fields: Vec<Field>,
    breakdown: Option<Level>,
    by_country: bool,
    attribution: Attribution,
    omit_empty: bool,
}

fn parse_time(text: &str, name: &str) -> Result<DateTime<FixedOffset>, SnapError> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map_err(|_| {
            SnapError::bad_request(format!(
                "Invalid {name}: '{text}'. Expected ISO 8601 with a UTC offset, e.g. 2025-06-01T00:00:00.000-07:00"
            ))
        })
}

fn parse_fields(params: &[(String, String)]) -> Result<Vec<Field>, SnapError> {
    let Some(list) = param(params, "fields") else {
        return Ok(vec![Field::Impressions, Field::Swipes, Field::Spend]);
    };
    let mut fields = Vec::new();
    for name in list
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        let field = Field::ALL
            .iter()
            .copied()
            .find(|field| field.name() == name)
            .ok_or_else(|| SnapError::bad_request(format!("Invalid stats field: {name}")))?;
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    if fields.is_empty() {
        return Err(SnapError::bad_request(
            "fields must name at least one stats field",
        ));
    }
    Ok(fields)
}

fn parse_breakdown(params: &[(String, String)], level: Level) -> Result<Option<Level>, SnapError> {
    let Some(name) = param(params, "breakdown") else {
        return Ok(None);
    };
    let breakdown = match name.to_ascii_lowercase().as_str() {
        "campaign" => Level::Campaign,
        "adsquad" | "ad_squad" => Level::AdSquad,
        "ad" => Level::Ad,
        _ => {
            return Err(SnapError::bad_request(format!(
                "Invalid breakdown: {name}. Expected one of campaign, adsquad, ad"
            )));
        }
    };
    if breakdown <= level {
        return Err(SnapError::unsupported_stats_query(format!(
            "breakdown {} is not supported for {} stats",
            breakdown.breakdown_name(),
            level.entity_type()
        )));
    }
    Ok(Some(breakdown))
}

fn parse_dimension(params: &[(String, String)]) -> Result<bool, SnapError> {
    let Some(name) = param(params, "report_dimension").or_else(|| param(params, "dimension"))
    else {
        return Ok(false);
    };
    match name.to_ascii_uppercase().as_str() {
        "COUNTRY" => Ok(true),
        other if OTHER_DIMENSIONS.contains(&other) => Err(SnapError::bad_request(format!(
            "report_dimension {other} is not modelled by the sandbox; use COUNTRY"
        ))),
        _ => Err(SnapError::bad_request(format!(
            "Invalid report_dimension: {name}"
        ))),
    }
}

fn parse_attribution(params: &[(String, String)]) -> Result<Attribution, SnapError> {
    let mut attribution = Attribution::default();
    if let Some(text) = param(params, "swipe_up_attribution_window") {
        attribution.swipe_up = text.parse().map_err(|()| {
            SnapError::bad_request(format!(
                "Invalid swipe_up_attribution_window: {text}. Expected one of 1_DAY, 7_DAY, 28_DAY"
            ))
        })?;
    }
    if let Some(text) = param(params, "view_attribution_window") {
        attribution.view = text.parse().map_err(|()| {
            SnapError::bad_request(format!(
                "Invalid view_attribution_window: {text}. Expected one of 1_HOUR, 3_HOUR, 6_HOUR, 1_DAY, 7_DAY, 28_DAY"
            ))
        })?;
    }
    Ok(attribution)
}

fn day_misaligned(which: &str, time_zone: Tz) -> SnapError {
    SnapError::unsupported_stats_query(format!(
        "Timeseries queries with DAY granularity must have {which} that is the start of day (00:00:00) for the account's timezone. This account's timezone is: {}",
        time_zone.name()
    ))
}

fn is_day_start(time: DateTime<Tz>) -> bool {
    time == day_start(time.timezone(), time.date_naive())
}

fn is_hour_start(time: DateTime<Tz>) -> bool {
    time.minute() == 0 && time.second() == 0 && time.nanosecond() == 0
}

/// The local days whose start lies in `[start, end)`.
fn days(start: DateTime<Tz>, end: DateTime<Tz>) -> Vec<NaiveDate> {
    let time_zone = start.timezone();
    let mut date = start.date_naive();
    if day_start(time_zone, date) < start {
        date = date.succ_opt().unwrap_or(date);
    }
    let mut out = Vec::new();
    while day_start(time_zone, date) < end {
        out.push(date);
        match date.succ_opt() {
            Some(next) => date = next,
            None => break,
        }
    }
    out
}

fn parse_query(
    params: &[(String, String)],
    account: &AccountFacts,
    level: Level,
    today: NaiveDate,
) -> Result<StatsQuery, SnapError> {
    let granularity = match param(params, "granularity").map(str::to_ascii_uppercase) {
        None => Granularity::Total,
        Some(text) => match text.as_str() {
            "TOTAL" => Granularity::Total,
            "DAY" => Granularity::Day,
            "HOUR" | "LIFETIME" => {
                return Err(SnapError::bad_request(format!(
                    "granularity {text} is not modelled by the sandbox; use DAY or TOTAL"
                )));
            }
            _ => {
                return Err(SnapError::bad_request(format!(
                    "Invalid granularity: {text}. Expected one of TOTAL, DAY, HOUR, LIFETIME"
                )));
            }
        },
    };
    let fields = parse_fields(params)?;
    let breakdown = parse_breakdown(params, level)?;
    if level == Level::AdAccount
        && breakdown.is_none()
        && let Some(other) = fields.iter().find(|field| **field != Field::Spend)
    {
        return Err(SnapError::unsupported_stats_query(format!(
            "Stats for an ad account support only the spend field unless a breakdown is given; {} was requested",
            other.name()
        )));
    }
    let by_country = parse_dimension(params)?;
    let attribution = parse_attribution(params)?;
    let omit_empty = match param(params, "omit_empty") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(SnapError::bad_request(format!(
                "Invalid omit_empty: {other}. Expected true or false"
            )));
        }
    };
    let time_zone = account.time_zone;
    let times = (param(params, "start_time"), param(params, "end_time"));
    let explicit_times = times.0.is_some() || times.1.is_some();
    let (start, end) = match times {
        (Some(start), Some(end)) => (
            parse_time(start, "start_time")?.with_timezone(&time_zone),
            parse_time(end, "end_time")?.with_timezone(&time_zone),
        ),
        (None, None) if granularity == Granularity::Total => {
            let first = account
                .campaigns
                .iter()
                .map(|campaign| campaign.start_date(today))
                .min()
                .unwrap_or(today);
            let tomorrow = today.checked_add_days(Days::new(1)).unwrap_or(today);
            (day_start(time_zone, first), day_start(time_zone, tomorrow))
        }
        _ => {
            return Err(SnapError::bad_request(
                "start_time and end_time are required for DAY granularity and must be given together",
            ));
        }
    };
    match granularity {
        Granularity::Day => {
            if !is_day_start(start) {
                return Err(day_misaligned("a start time", time_zone));
            }
            if !is_day_start(end) {
                return Err(day_misaligned("an end time", time_zone));
            }
        }
        Granularity::Total => {
            if !is_hour_start(start) {
                return Err(SnapError::bad_request(
                    "Start time should start at the beginning of an hour.",
                ));
            }
            if !is_hour_start(end) {
                return Err(SnapError::bad_request(
                    "End time should start at the beginning of an hour.",
                ));
            }
        }
    }
    if end <= start {
        return Err(SnapError::unsupported_stats_query(
            "end_time must be after start_time",
        ));
    }
    if granularity == Granularity::Day {
        if by_country && end - start > chrono::Duration::hours(24 * MAX_DAYS) {
            return Err(SnapError::unsupported_stats_query(format!(
                "Queries with a report_dimension and DAY granularity can span at most {} hours ({MAX_DAYS} days)",
                24 * MAX_DAYS
            )));
        }
        if days(start, end).len() > usize::try_from(MAX_DAYS).unwrap_or(usize::MAX) {
            return Err(SnapError::unsupported_stats_query(format!(
                "Timeseries queries with DAY granularity can span at most {MAX_DAYS} days"
            )));
        }
    }
    Ok(StatsQuery {
        granularity,
        start,
        end,
        explicit_times,
        fields,
        breakdown,
        by_country,
        attribution,
        omit_empty,
    })
}

/// `{"impressions":1,"swipes":0,...}` in the requested field order.
fn stats_object(fields: &[Field], metrics: &Metrics) -> Json {
    let mut object = Json::object();
    for field in fields {
        object.push(field.name(), field.value(metrics));
    }
    object
}

/// `[{"country":"us","impressions":...}, ...]`, empty countries left out with `omit_empty`.
fn dimension_list(fields: &[Field], parts: &[(&str, Metrics)], omit_empty: bool) -> Vec<Json> {
    parts
        .iter()
        .filter(|(_, metrics)| !(omit_empty && metrics.is_zero()))
        .map(|(country, metrics)| {
            let mut object = Json::object();
            object.push("country", *country);
            if let Json::Object(stats) = stats_object(fields, metrics) {
                for (key, value) in stats {
                    object.push(key, value);
                }
            }
            object
        })
        .collect()
}

/// Puts an entity's numbers (`stats`, or `dimension_stats` with a country dimension) into
/// `object`; returns whether they are all zero.
fn put_numbers(object: &mut Json, query: &StatsQuery, parts: &[(&str, Metrics)]) -> bool {
    let empty = parts.iter().all(|(_, metrics)| metrics.is_zero());
    if query.by_country {
        object.push(
            "dimension_stats",
            dimension_list(&query.fields, parts, query.omit_empty),
        );
    } else {
        let total = parts
            .first()
            .map(|(_, metrics)| *metrics)
            .unwrap_or_default();
        object.push("stats", stats_object(&query.fields, &total));
    }
    empty
}

/// One entity's timeseries: a point per day up to today.
fn timeseries(
    account: &AccountFacts,
    entity: &Entity<'_>,
    query: &StatsQuery,
    today: NaiveDate,
) -> Vec<Json> {
    let time_zone = account.time_zone;
    days(query.start, query.end)
        .into_iter()
        .filter(|date| *date <= today)
        .filter_map(|date| {
            let parts = entity.day(account, date, today, query.attribution, query.by_country);
            let next = date.succ_opt().unwrap_or(date);
            let mut point = Json::object();
            point.push("start_time", render_time(day_start(time_zone, date)));
            point.push("end_time", render_time(day_start(time_zone, next)));
            let empty = put_numbers(&mut point, query, &parts);
            (!(query.omit_empty && empty)).then_some(point)
        })
        .collect()
}

/// The entity's (or a breakdown child's) totals over the range, per country with a dimension.
fn totals(
    account: &AccountFacts,
    entity: &Entity<'_>,
    query: &StatsQuery,
    today: NaiveDate,
) -> Vec<(&'static str, Metrics)> {
    let mut sums: Vec<(&'static str, Metrics)> = Vec::new();
    for date in days(query.start, query.end) {
        for (country, metrics) in
            entity.day(account, date, today, query.attribution, query.by_country)
        {
            match sums.iter_mut().find(|(known, _)| *known == country) {
                Some((_, sum)) => sum.add(metrics),
                None => sums.push((country, metrics)),
            }
        }
    }
    if sums.is_empty() {
        sums = if query.by_country {
            account
                .countries
                .iter()
                .map(|country| (*country, Metrics::default()))
                .collect()
        } else {
            vec![("", Metrics::default())]
        };
    }
    sums
}

/// Whether `child` lies under `parent` in the account's tree.
fn descends_from(child: &Entity<'_>, parent: &Entity<'_>) -> bool {
    match parent.level {
        Level::AdAccount => true,
        Level::Campaign => child.campaign.is_some_and(|c| c.id == parent.id),
        Level::AdSquad => child.adsquad.is_some_and(|s| s.id == parent.id),
        Level::Ad => false,
    }
}

/// The answer to a validated query about `entity`.
fn answer(
    account: &AccountFacts,
    entity: &Entity<'_>,
    query: &StatsQuery,
    today: NaiveDate,
    request_id: String,
) -> Json {
    let time_zone = account.time_zone;
    let children: Vec<Entity<'_>> = match query.breakdown {
        Some(level) => truth::entities(account, level)
            .into_iter()
            .filter(|child| descends_from(child, entity))
            .collect(),
        None => Vec::new(),
    };
    let mut stat = Json::object();
    stat.push("id", entity.id);
    stat.push("type", entity.level.entity_type());
    let conversions_final_until = today.checked_sub_days(Days::new(27)).unwrap_or(today);
    match query.granularity {
        Granularity::Day => {
            stat.push("granularity", "DAY");
            stat.push("start_time", render_time(query.start));
            stat.push("end_time", render_time(query.end));
            stat.push(
                "finalized_data_end_time",
                render_time(day_start(time_zone, today)),
            );
            stat.push(
                "conversion_data_processed_end_time",
                render_time(day_start(time_zone, conversions_final_until)),
            );
            match query.breakdown {
                None => stat.push("timeseries", timeseries(account, entity, query, today)),
                Some(level) => {
                    let list: Vec<Json> = children
                        .iter()
                        .filter_map(|child| {
                            let series = timeseries(account, child, query, today);
                            if query.omit_empty && series.is_empty() {
                                return None;
                            }
                            let mut object = Json::object();
                            object.push("id", child.id);
                            object.push("type", child.level.entity_type());
                            object.push("timeseries", series);
                            Some(object)
                        })
                        .collect();
                    let mut breakdown = Json::object();
                    breakdown.push(level.breakdown_name(), list);
                    stat.push("breakdown_stats", breakdown);
                }
            }
        }
        Granularity::Total => {
            stat.push("granularity", "TOTAL");
            if query.explicit_times {
                stat.push("start_time", render_time(query.start));
                stat.push("end_time", render_time(query.end));
            }
            stat.push(
                "finalized_data_end_time",
                render_time(day_start(time_zone, today)),
            );
            match query.breakdown {
                None => {
                    put_numbers(&mut stat, query, &totals(account, entity, query, today));
                }
                Some(level) => {
                    let list: Vec<Json> = children
                        .iter()
                        .filter_map(|child| {
                            let mut object = Json::object();
                            object.push("id", child.id);
                            object.push("type", child.level.entity_type());
                            let empty = put_numbers(
                                &mut object,
                                query,
                                &totals(account, child, query, today),
                            );
                            (!(query.omit_empty && empty)).then_some(object)
                        })
                        .collect();
                    let mut breakdown = Json::object();
                    breakdown.push(level.breakdown_name(), list);
                    stat.push("breakdown_stats", breakdown);
                }
            }
        }
    }
    let (list_key, item_key) = match query.granularity {
        Granularity::Day => ("timeseries_stats", "timeseries_stat"),
        Granularity::Total => ("total_stats", "total_stat"),
    };
    let mut item = Json::object();
    item.push("sub_request_status", "SUCCESS");
    item.push(item_key, stat);
    let mut body = Json::object();
    body.push("request_status", "SUCCESS");
    body.push("request_id", request_id);
    body.push(list_key, vec![item]);
    body
}

/// Breaks one field for a malformed fault: the first metric becomes a string; without any
/// metric, the first series or list becomes a string.
fn break_body(body: &mut Json) {
    fn first_metric(json: &mut Json) -> bool {
        match json {
            Json::Object(entries) => {
                for (key, value) in entries.iter_mut() {
                    if Field::ALL.iter().any(|field| field.name() == *key)
                        && let Json::Value(serde_json::Value::Number(number)) = value
                    {
                        *value = Json::from(format!("{number}"));
                        return true;
                    }
                    if first_metric(value) {
                        return true;
                    }
                }
                false
            }
            Json::Array(items) => items.iter_mut().any(first_metric),
            Json::Value(_) => false,
        }
    }
    fn first_list(json: &mut Json) -> bool {
        match json {
            Json::Object(entries) => {
                for (key, value) in entries.iter_mut() {
                    let is_list = matches!(
                        *key,
                        "timeseries" | "dimension_stats" | "stats" | "campaign" | "adsquad" | "ad"
                    );
                    if is_list {
                        *value = Json::from("unavailable");
                        return true;
                    }
                    if first_list(value) {
                        return true;
                    }
                }
                false
            }
            Json::Array(items) => items.iter_mut().any(first_list),
            Json::Value(_) => false,
        }
    }
    if !first_metric(body) {
        first_list(body);
    }
}

/// Serves a query about the entity `entity_id` of `level` in `account`.
fn serve(
    sandbox: &Sandbox,
    account: &AccountFacts,
    level: Level,
    entity_id: &str,
    params: &[(String, String)],
    call: &Call,
) -> Result<Json, SnapError> {
    let entities = truth::entities(account, level);
    let entity = entities
        .iter()
        .find(|entity| entity.id.eq_ignore_ascii_case(entity_id))
        .ok_or_else(|| SnapError::not_found(level.breakdown_name(), entity_id))?;
    let today = sandbox.today_for(account);
    let query = parse_query(params, account, level, today)?;
    let mut body = answer(account, entity, &query, today, request_id(sandbox));
    if call.malformed {
        break_body(&mut body);
    }
    Ok(body)
}

async fn handle(
    sandbox: Sandbox,
    level: Level,
    route: &'static str,
    entity_id: String,
    headers: HeaderMap,
    params: Params,
) -> Response {
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let state = sandbox.snapchat_ads();
    let owner = match level {
        Level::AdAccount => super::normalised(&entity_id),
        Level::Campaign | Level::AdSquad | Level::Ad => state.owner_of(&entity_id, level),
    };
    let prelude = Prelude::begin(&sandbox, route, owner.clone()).await;
    let result = prelude.check(&sandbox, &headers).and_then(|call| {
        let account_id = match (level, owner) {
            (_, Some(owner)) => owner,
            (Level::AdAccount, None) => {
                return Err(SnapError::bad_request(format!(
                    "Invalid ad account id: {entity_id}"
                )));
            }
            (_, None) => {
                return Err(SnapError::not_found(level.breakdown_name(), &entity_id));
            }
        };
        let account = readable_account(&sandbox, &account_id, "READ_STATS")?;
        serve(&sandbox, &account, level, &entity_id, &params, &call)
    });
    match result {
        Ok(body) => prelude.finish(wire::json_with_type(StatusCode::OK, &body, CONTENT_TYPE)),
        Err(error) => prelude.reject(&sandbox, error),
    }
}

/// `GET /v1/adaccounts/{id}/stats`.
pub(crate) async fn ad_account(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    let route = "/v1/adaccounts/{ad_account_id}/stats";
    handle(sandbox, Level::AdAccount, route, id, headers, params).await
}

/// `GET /v1/campaigns/{id}/stats`.
pub(crate) async fn campaign(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    let route = "/v1/campaigns/{campaign_id}/stats";
    handle(sandbox, Level::Campaign, route, id, headers, params).await
}

/// `GET /v1/adsquads/{id}/stats`.
pub(crate) async fn adsquad(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    let route = "/v1/adsquads/{adsquad_id}/stats";
    handle(sandbox, Level::AdSquad, route, id, headers, params).await
}

/// `GET /v1/ads/{id}/stats`.
pub(crate) async fn ad(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    let route = "/v1/ads/{ad_id}/stats";
    handle(sandbox, Level::Ad, route, id, headers, params).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapchat_ads::world;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn la() -> AccountFacts {
        world::account(world::KNOWN_ACCOUNTS[0].0).unwrap()
    }

    fn today() -> NaiveDate {
        "2025-06-30".parse().unwrap()
    }

    #[test]
    fn day_queries_must_start_and_end_at_local_midnight() {
        let account = la();
        let ok = parse_query(
            &params(&[
                ("granularity", "DAY"),
                ("start_time", "2025-06-01T00:00:00.000-07:00"),
                ("end_time", "2025-06-03T07:00:00Z"),
            ]),
            &account,
            Level::Campaign,
            today(),
        )
        .unwrap();
        assert_eq!(days(ok.start, ok.end).len(), 2);
        let error = parse_query(
            &params(&[
                ("granularity", "DAY"),
                ("start_time", "2025-06-01T00:00:00Z"),
                ("end_time", "2025-06-03T00:00:00-07:00"),
            ]),
            &account,
            Level::Campaign,
            today(),
        )
        .unwrap_err();
        assert_eq!(
            error.debug_message,
            "Unsupported Stats Query: Timeseries queries with DAY granularity must have a start time that is the start of day (00:00:00) for the account's timezone. This account's timezone is: America/Los_Angeles"
        );
    }

    #[test]
    fn offsets_without_a_colon_are_accepted() {
        let time = parse_time("2025-06-01T00:00:00-0700", "start_time").unwrap();
        assert_eq!(time.offset().local_minus_utc(), -7 * 3600);
        assert!(parse_time("2025-06-01T00:00:00", "start_time").is_err());
        assert!(parse_time("2025-06-01T00:00:00 07:00", "start_time").is_err());
    }

    #[test]
    fn ad_account_stats_without_breakdown_serve_only_spend() {
        let account = la();
        let day = |fields| {
            params(&[
                ("granularity", "DAY"),
                ("fields", fields),
                ("start_time", "2025-06-01T00:00:00-07:00"),
                ("end_time", "2025-06-02T00:00:00-07:00"),
            ])
        };
        assert!(parse_query(&day("spend"), &account, Level::AdAccount, today()).is_ok());
        let error = parse_query(
            &day("spend,impressions"),
            &account,
            Level::AdAccount,
            today(),
        )
        .unwrap_err();
        assert!(error.debug_message.contains("only the spend field"));
        let mut with_breakdown = day("spend,impressions");
        with_breakdown.push(("breakdown".into(), "campaign".into()));
        assert!(parse_query(&with_breakdown, &account, Level::AdAccount, today()).is_ok());
    }

    #[test]
    fn country_queries_span_at_most_744_hours() {
        // 2024-10-06 .. 2024-11-06 in Los Angeles is 31 days across the fall-back: 745 hours.
        let account = la();
        let query = |end: &str| {
            params(&[
                ("granularity", "DAY"),
                ("report_dimension", "COUNTRY"),
                ("start_time", "2024-10-06T00:00:00-07:00"),
                ("end_time", end),
            ])
        };
        assert!(
            parse_query(
                &query("2024-11-06T00:00:00-08:00"),
                &account,
                Level::Campaign,
                today()
            )
            .is_err()
        );
        assert!(
            parse_query(
                &query("2024-11-05T00:00:00-08:00"),
                &account,
                Level::Campaign,
                today()
            )
            .is_ok()
        );
    }

    #[test]
    fn malformed_bodies_break_the_first_metric() {
        let mut body = Json::object();
        let mut stats = Json::object();
        stats.push("impressions", 12u64);
        body.push("timeseries", vec![stats]);
        break_body(&mut body);
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"timeseries":[{"impressions":"12"}]}"#
        );
        let mut empty = Json::object();
        empty.push("timeseries", Vec::<Json>::new());
        break_body(&mut empty);
        assert_eq!(
            serde_json::to_string(&empty).unwrap(),
            r#"{"timeseries":"unavailable"}"#
        );
    }
}
