//! `GET /v{N}.0/act_{id}/insights`: the synchronous Ads Insights report, with Meta's parameters,
//! validation errors, cursor paging and string-encoded metrics.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use chrono::{Datelike, Days, Months, NaiveDate};
use serde::Serialize;

use super::data::{self, AccountFacts, Level, TimeIncrement, TruthRow};
use super::errors::{CONTENT_TYPE, MetaError};
use super::usage::{Admission, Usage};
use super::{Call, Prelude};
use crate::rng::Seed;
use crate::state::Sandbox;
use crate::wire::{self, OrderedObject};

/// The templated route, as recorded in the request log.
pub(crate) const ROUTE: &str = "/v{version}/act_{account_id}/insights";

/// Rows per page when `limit` is absent.
const DEFAULT_LIMIT: usize = 25;
/// The largest `limit` accepted.
const MAX_LIMIT: usize = 5_000;
/// The longest time range, and how far back it may start.
const MAX_RANGE_MONTHS: u32 = 37;

const FIELDS_DOCS: &str =
    "https://developers.facebook.com/docs/marketing-api/reference/ads-insights/";

/// The insights fields the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    AccountId,
    AccountName,
    AccountCurrency,
    CampaignId,
    CampaignName,
    AdsetId,
    AdsetName,
    AdId,
    AdName,
    DateStart,
    DateStop,
    Impressions,
    Clicks,
    Spend,
    Reach,
    Frequency,
    Cpm,
    Cpc,
    Ctr,
}

impl Field {
    const ALL: &'static [Field] = &[
        Field::AccountId,
        Field::AccountName,
        Field::AccountCurrency,
        Field::CampaignId,
        Field::CampaignName,
        Field::AdsetId,
        Field::AdsetName,
        Field::AdId,
        Field::AdName,
        Field::DateStart,
        Field::DateStop,
        Field::Impressions,
        Field::Clicks,
        Field::Spend,
        Field::Reach,
        Field::Frequency,
        Field::Cpm,
        Field::Cpc,
        Field::Ctr,
    ];

    const fn name(self) -> &'static str {
        match self {
            Field::AccountId => "account_id",
            Field::AccountName => "account_name",
            Field::AccountCurrency => "account_currency",
            Field::CampaignId => "campaign_id",
            Field::CampaignName => "campaign_name",
            Field::AdsetId => "adset_id",
            Field::AdsetName => "adset_name",
            Field::AdId => "ad_id",
            Field::AdName => "ad_name",
            Field::DateStart => "date_start",
            Field::DateStop => "date_stop",
            Field::Impressions => "impressions",
            Field::Clicks => "clicks",
            Field::Spend => "spend",
            Field::Reach => "reach",
            Field::Frequency => "frequency",
            Field::Cpm => "cpm",
            Field::Cpc => "cpc",
            Field::Ctr => "ctr",
        }
    }

    /// The coarsest level at which the field exists.
    const fn min_level(self) -> Level {
        match self {
            Field::CampaignId | Field::CampaignName => Level::Campaign,
            Field::AdsetId | Field::AdsetName => Level::AdSet,
            Field::AdId | Field::AdName => Level::Ad,
            _ => Level::Account,
        }
    }

    /// The field's value in `row`, as the JSON string Meta sends; `None` leaves it out.
    fn value(self, row: &TruthRow) -> Option<String> {
        match self {
            Field::AccountId => Some(row.account_id.clone()),
            Field::AccountName => Some(row.account_name.clone()),
            Field::AccountCurrency => Some(row.account_currency.clone()),
            Field::CampaignId => row.campaign_id.clone(),
            Field::CampaignName => row.campaign_name.clone(),
            Field::AdsetId => row.adset_id.clone(),
            Field::AdsetName => row.adset_name.clone(),
            Field::AdId => row.ad_id.clone(),
            Field::AdName => row.ad_name.clone(),
            Field::DateStart => Some(row.date_start.to_string()),
            Field::DateStop => Some(row.date_stop.to_string()),
            Field::Impressions => Some(row.impressions.to_string()),
            Field::Clicks => Some(row.clicks.to_string()),
            Field::Spend => Some(row.spend.clone()),
            Field::Reach => Some(row.reach.to_string()),
            Field::Frequency => row.frequency.clone(),
            Field::Cpm => row.cpm.clone(),
            Field::Cpc => row.cpc.clone(),
            Field::Ctr => row.ctr.clone(),
        }
    }
}

/// The validated parameters of one insights request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InsightsQuery {
    level: Level,
    since: NaiveDate,
    until: NaiveDate,
    increment: TimeIncrement,
    fields: Vec<Field>,
    limit: usize,
    offset: usize,
}

impl InsightsQuery {
    /// Identifies the row set a cursor points into. The page size and the fields may change
    /// between pages (clients shrink them after "reduce the amount of data"); the rows may not.
    fn fingerprint(&self, account_id: &str) -> u64 {
        Seed::new("meta_ads/cursor")
            .with_str(account_id)
            .with_str(self.level.as_str())
            .with_u64(u64::try_from(self.since.num_days_from_ce()).unwrap_or(0))
            .with_u64(u64::try_from(self.until.num_days_from_ce()).unwrap_or(0))
            .with_u64(match self.increment {
                TimeIncrement::Daily => 1,
                TimeIncrement::AllDays => 0,
            })
            .value()
    }
}

/// The last value of parameter `name`.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn parse_date(text: &str, which: &str) -> Result<NaiveDate, MetaError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        MetaError::invalid_parameter(format!(
            "time_range: {which} must be a date in the format YYYY-MM-DD, got '{text}'"
        ))
    })
}

/// The range of `time_range` (JSON or `time_range[since]`/`time_range[until]`), or of
/// `date_preset`, defaulting like Meta to the last 30 days.
fn parse_range(
    params: &[(String, String)],
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), MetaError> {
    let bracketed = (
        param(params, "time_range[since]"),
        param(params, "time_range[until]"),
    );
    let (since, until) = if let Some(text) = param(params, "time_range") {
        let invalid = || {
            MetaError::invalid_parameter(format!(
                "time_range must be a JSON object like {{\"since\":\"YYYY-MM-DD\",\"until\":\"YYYY-MM-DD\"}}, got '{text}'"
            ))
        };
        let value: serde_json::Value = serde_json::from_str(text).map_err(|_| invalid())?;
        let since = value
            .get("since")
            .and_then(|v| v.as_str())
            .ok_or_else(invalid)?;
        let until = value
            .get("until")
            .and_then(|v| v.as_str())
            .ok_or_else(invalid)?;
        (parse_date(since, "since")?, parse_date(until, "until")?)
    } else if let (Some(since), Some(until)) = bracketed {
        (parse_date(since, "since")?, parse_date(until, "until")?)
    } else {
        return date_preset(param(params, "date_preset").unwrap_or("last_30d"), today);
    };
    if until < since {
        return Err(MetaError::invalid_parameter(format!(
            "time_range is invalid: since ({since}) must not be after until ({until})"
        )));
    }
    if until
        .checked_sub_months(Months::new(MAX_RANGE_MONTHS))
        .is_some_and(|earliest| since < earliest)
    {
        return Err(MetaError::invalid_parameter(format!(
            "time_range is too long: it may span at most {MAX_RANGE_MONTHS} months"
        )));
    }
    if today
        .checked_sub_months(Months::new(MAX_RANGE_MONTHS))
        .is_some_and(|earliest| since < earliest)
    {
        return Err(MetaError::start_too_old());
    }
    Ok((since, until))
}

const DATE_PRESETS: &[&str] = &[
    "today",
    "yesterday",
    "last_3d",
    "last_7d",
    "last_14d",
    "last_28d",
    "last_30d",
    "last_90d",
    "this_month",
    "last_month",
    "maximum",
];

/// The range of a `date_preset` (the `last_Nd` presets end yesterday, like Meta's).
fn date_preset(preset: &str, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), MetaError> {
    let days_ago = |n: u64| today.checked_sub_days(Days::new(n)).unwrap_or(today);
    let yesterday = days_ago(1);
    let first_of_month = today.with_day(1).unwrap_or(today);
    let range = match preset {
        "today" => (today, today),
        "yesterday" => (yesterday, yesterday),
        "last_3d" => (days_ago(3), yesterday),
        "last_7d" => (days_ago(7), yesterday),
        "last_14d" => (days_ago(14), yesterday),
        "last_28d" => (days_ago(28), yesterday),
        "last_30d" => (days_ago(30), yesterday),
        "last_90d" => (days_ago(90), yesterday),
        "this_month" => (first_of_month, today),
        "last_month" => {
            let end = first_of_month.pred_opt().unwrap_or(first_of_month);
            (end.with_day(1).unwrap_or(end), end)
        }
        "maximum" => (
            today
                .checked_sub_months(Months::new(MAX_RANGE_MONTHS))
                .unwrap_or(today),
            today,
        ),
        other => {
            return Err(MetaError::invalid_parameter(format!(
                "date_preset must be one of the following values: {}; got '{other}'",
                DATE_PRESETS.join(", ")
            )));
        }
    };
    Ok(range)
}

fn parse_fields(params: &[(String, String)], level: Level) -> Result<Vec<Field>, MetaError> {
    let Some(list) = param(params, "fields") else {
        return Ok(vec![Field::Impressions, Field::Spend]);
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
            .ok_or_else(|| {
                MetaError::invalid_parameter(format!(
                    "{name} is not valid for fields param. please check {FIELDS_DOCS} for all valid values"
                ))
            })?;
        if field.min_level() > level {
            return Err(MetaError::invalid_parameter(format!(
                "{name} is not valid for fields param at level {level}: it needs level {} or finer",
                field.min_level()
            )));
        }
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    Ok(fields)
}

fn cursor_engine() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

fn encode_cursor(fingerprint: u64, offset: usize) -> String {
    cursor_engine().encode(format!("{fingerprint:016x}:{offset}"))
}

fn decode_cursor(cursor: &str, fingerprint: u64) -> Option<usize> {
    let bytes = cursor_engine().decode(cursor.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (print, offset) = text.split_once(':')?;
    (u64::from_str_radix(print, 16).ok()? == fingerprint).then_some(())?;
    offset.parse().ok()
}

fn parse_query(
    params: &[(String, String)],
    account_id: &str,
    today: NaiveDate,
) -> Result<InsightsQuery, MetaError> {
    let level = match param(params, "level") {
        None => Level::Account,
        Some(text) => text.parse().map_err(|_| {
            MetaError::invalid_parameter(format!(
                "param level must be one of {{ad, adset, campaign, account}}, got '{text}'"
            ))
        })?,
    };
    let fields = parse_fields(params, level)?;
    let (since, until) = parse_range(params, today)?;
    let increment = match param(params, "time_increment") {
        None | Some("all_days") => TimeIncrement::AllDays,
        Some("1") => TimeIncrement::Daily,
        Some(other) => {
            return Err(MetaError::invalid_parameter(format!(
                "time_increment must be 1 or all_days in the sandbox, got '{other}'"
            )));
        }
    };
    let limit = match param(params, "limit") {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
            _ => {
                return Err(MetaError::invalid_parameter(format!(
                    "param limit must be an integer between 1 and {MAX_LIMIT}, got '{text}'"
                )));
            }
        },
    };
    let mut query = InsightsQuery {
        level,
        since,
        until,
        increment,
        fields,
        limit,
        offset: 0,
    };
    if let Some(cursor) = param(params, "after") {
        query.offset = decode_cursor(cursor, query.fingerprint(account_id))
            .ok_or_else(MetaError::invalid_cursor)?;
    }
    Ok(query)
}

#[derive(Serialize)]
struct Page {
    data: Vec<OrderedObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paging: Option<Paging>,
}

#[derive(Serialize)]
struct Paging {
    cursors: Cursors,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

#[derive(Serialize)]
struct Cursors {
    before: String,
    after: String,
}

fn render_row(row: &TruthRow, fields: &[Field]) -> OrderedObject {
    let mut object = OrderedObject::default();
    for field in fields {
        if let Some(value) = field.value(row) {
            object.push(field.name(), value);
        }
    }
    for field in [Field::DateStart, Field::DateStop] {
        if !object.contains(field.name())
            && let Some(value) = field.value(row)
        {
            object.push(field.name(), value);
        }
    }
    object
}

/// Answers one insights page for an admitted call.
fn page(
    account: &AccountFacts,
    query: &InsightsQuery,
    today: NaiveDate,
    params: &[(String, String)],
    next_base: &str,
) -> Result<Page, MetaError> {
    let rows = data::rows(
        account,
        query.level,
        query.since,
        query.until,
        today,
        query.increment,
    );
    if query.offset > rows.len() {
        return Err(MetaError::invalid_cursor());
    }
    let end = (query.offset + query.limit).min(rows.len());
    let slice = rows.get(query.offset..end).unwrap_or_default();
    if slice.is_empty() {
        return Ok(Page {
            data: Vec::new(),
            paging: None,
        });
    }
    let fingerprint = query.fingerprint(&account.id);
    let after = encode_cursor(fingerprint, end);
    let next = (end < rows.len()).then(|| {
        let mut next_params: Vec<(String, String)> = params
            .iter()
            .filter(|(name, _)| name != "after" && name != "before")
            .cloned()
            .collect();
        next_params.push(("after".to_owned(), after.clone()));
        format!("{next_base}?{}", wire::build_query(&next_params))
    });
    Ok(Page {
        data: slice
            .iter()
            .map(|row| render_row(row, &query.fields))
            .collect(),
        paging: Some(Paging {
            cursors: Cursors {
                before: encode_cursor(fingerprint, query.offset),
                after,
            },
            next,
        }),
    })
}

/// Adds the usage headers to a response.
fn with_usage(mut response: Response, usage: Usage, account_id: &str) -> Response {
    usage.write_headers(account_id, response.headers_mut());
    response
}

/// The handler.
pub(crate) async fn handler(
    State(sandbox): State<Sandbox>,
    OriginalUri(uri): OriginalUri,
    Path((version, node)): Path<(String, String)>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let params = query.map(|Query(params)| params).unwrap_or_default();
    let prelude = Prelude::begin(&sandbox, ROUTE, &version, &node, &uri).await;
    let call = match prelude.check(&sandbox, &headers, &params) {
        Ok(call) => call,
        Err(rejection) => return prelude.reject(&sandbox, rejection),
    };
    let response = answer(&sandbox, &call, &params, &headers, &uri);
    prelude.finish(response)
}

fn answer(
    sandbox: &Sandbox,
    call: &Call,
    params: &[(String, String)],
    headers: &HeaderMap,
    uri: &axum::http::Uri,
) -> Response {
    let account = &call.account;
    let state = sandbox.meta_ads();
    let now = sandbox.now();
    let usage = match state.usage.admit(&account.id, now, &state.config) {
        Admission::Admitted(usage) => usage,
        Admission::AccountThrottled(usage) => {
            let response = MetaError::account_throttled().into_response(sandbox);
            return with_usage(response, usage, &account.id);
        }
        Admission::AppThrottled(usage) => {
            let response = MetaError::app_throttled().into_response(sandbox);
            return with_usage(response, usage, &account.id);
        }
    };
    let today = sandbox.today_for(account);
    let next_base = format!("{}{}", wire::origin(headers, uri), uri.path());
    let result = parse_query(params, &account.id, today)
        .and_then(|query| page(account, &query, today, params, &next_base));
    let response = match result {
        Ok(page) => wire::json_with_type(StatusCode::OK, &page, CONTENT_TYPE),
        Err(error) => error.into_response(sandbox),
    };
    with_usage(response, usage, &account.id)
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

    fn today() -> NaiveDate {
        "2025-06-30".parse().unwrap()
    }

    #[test]
    fn cursors_round_trip_and_reject_other_queries() {
        let cursor = encode_cursor(42, 75);
        assert_eq!(decode_cursor(&cursor, 42), Some(75));
        assert_eq!(decode_cursor(&cursor, 43), None);
        assert_eq!(decode_cursor("not a cursor!", 42), None);
        assert_eq!(decode_cursor("MAZDZD", 42), None);
    }

    #[test]
    fn defaults_are_account_level_all_days_over_the_last_30_days() {
        let query = parse_query(&[], "1", today()).unwrap();
        assert_eq!(query.level, Level::Account);
        assert_eq!(query.increment, TimeIncrement::AllDays);
        assert_eq!(query.limit, 25);
        assert_eq!(query.since, "2025-05-31".parse::<NaiveDate>().unwrap());
        assert_eq!(query.until, "2025-06-29".parse::<NaiveDate>().unwrap());
    }

    #[test]
    fn bracketed_time_ranges_are_accepted() {
        let query = parse_query(
            &params(&[
                ("time_range[since]", "2025-06-01"),
                ("time_range[until]", "2025-06-02"),
            ]),
            "1",
            today(),
        )
        .unwrap();
        assert_eq!(
            (query.since.to_string(), query.until.to_string()),
            ("2025-06-01".to_owned(), "2025-06-02".to_owned())
        );
    }

    #[test]
    fn ranges_starting_more_than_37_months_ago_are_refused_with_3018() {
        let error = parse_query(
            &params(&[(
                "time_range",
                r#"{"since":"2022-01-01","until":"2022-01-02"}"#,
            )]),
            "1",
            today(),
        )
        .unwrap_err();
        assert_eq!(error.code, 3018);
    }

    #[test]
    fn requested_dates_are_not_repeated() {
        let row = data::insights_truth("1", Level::Account, today(), today(), today())
            .into_iter()
            .next()
            .unwrap();
        let object = render_row(&row, &[Field::DateStart, Field::Spend]);
        let keys: Vec<&str> = object.0.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, vec!["date_start", "spend", "date_stop"]);
    }
}
