//! `GET /v{N}.0/act_{id}/insights`: the synchronous Ads Insights report, with Meta's parameters,
//! validation errors, breakdowns, cursor paging, string-encoded metrics and `actions` /
//! `action_values` arrays. The parsing and rendering here is shared with report runs
//! (`report_runs`), which take the same parameters.
//!
//! A synchronous request whose result would have more than `max_sync_rows` rows is refused with
//! HTTP 500 code 1 ("Please reduce the amount of data you're asking for"), the way Meta refuses
//! heavy synchronous queries; report runs have no such limit.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, Days, Months, NaiveDate};
use serde_json::{Value, json};

use super::breakdowns::{Breakdown, is_allowed_combination};
use super::errors::{CONTENT_TYPE, MetaError};
use super::paging::{self, Window};
use super::truth;
use super::truth::{RowsQuery, TruthRow};
use super::usage::UseCase;
use super::vocabulary::{Level, TimeIncrement};
use super::world::AccountFacts;
use super::{Request, RouteKind, param};
use crate::faults::FaultKind;
use crate::rng::Seed;
use crate::wire::{self, OrderedObject};

/// The templated route, as recorded in the request log.
pub(crate) const ROUTE: &str = "/v{version}/act_{account_id}/insights";

/// The longest time range, and how far back it may start.
const MAX_RANGE_MONTHS: u32 = 37;

const FIELDS_DOCS: &str =
    "https://developers.facebook.com/docs/marketing-api/reference/ads-insights/";

/// The text a malformed fault puts where a number belongs.
pub(crate) const MALFORMED_NUMBER: &str = "12,34x";

/// The insights fields the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
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
    InlineLinkClicks,
    Spend,
    Reach,
    Frequency,
    Cpm,
    Cpc,
    Ctr,
    Actions,
    ActionValues,
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
        Field::InlineLinkClicks,
        Field::Spend,
        Field::Reach,
        Field::Frequency,
        Field::Cpm,
        Field::Cpc,
        Field::Ctr,
        Field::Actions,
        Field::ActionValues,
    ];

    /// The numeric fields a malformed fault breaks, most likely first.
    const BREAKABLE: &'static [Field] = &[
        Field::Spend,
        Field::Impressions,
        Field::Clicks,
        Field::Reach,
        Field::InlineLinkClicks,
        Field::Cpm,
        Field::Cpc,
        Field::Ctr,
        Field::Frequency,
        Field::Actions,
        Field::ActionValues,
    ];

    pub(crate) const fn name(self) -> &'static str {
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
            Field::InlineLinkClicks => "inline_link_clicks",
            Field::Spend => "spend",
            Field::Reach => "reach",
            Field::Frequency => "frequency",
            Field::Cpm => "cpm",
            Field::Cpc => "cpc",
            Field::Ctr => "ctr",
            Field::Actions => "actions",
            Field::ActionValues => "action_values",
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

    /// The field's value in `row`, as Meta sends it (numbers as strings, actions as lists);
    /// `None` leaves it out.
    fn value(self, row: &TruthRow) -> Option<Value> {
        let text = |value: &str| Some(Value::String(value.to_owned()));
        match self {
            Field::AccountId => text(&row.account_id),
            Field::AccountName => text(&row.account_name),
            Field::AccountCurrency => text(&row.account_currency),
            Field::CampaignId => row.campaign_id.as_deref().and_then(text),
            Field::CampaignName => row.campaign_name.as_deref().and_then(text),
            Field::AdsetId => row.adset_id.as_deref().and_then(text),
            Field::AdsetName => row.adset_name.as_deref().and_then(text),
            Field::AdId => row.ad_id.as_deref().and_then(text),
            Field::AdName => row.ad_name.as_deref().and_then(text),
            Field::DateStart => text(&row.date_start.to_string()),
            Field::DateStop => text(&row.date_stop.to_string()),
            Field::Impressions => text(&row.impressions.to_string()),
            Field::Clicks => text(&row.clicks.to_string()),
            Field::InlineLinkClicks => text(&row.link_clicks.to_string()),
            Field::Spend => text(&row.spend),
            Field::Reach => text(&row.reach.to_string()),
            Field::Frequency => row.frequency.as_deref().and_then(text),
            Field::Cpm => row.cpm.as_deref().and_then(text),
            Field::Cpc => row.cpc.as_deref().and_then(text),
            Field::Ctr => row.ctr.as_deref().and_then(text),
            Field::Actions => {
                let purchases = row.purchases.to_string();
                actions(&[
                    ("link_click", row.link_clicks, &row.link_clicks.to_string()),
                    (PIXEL_PURCHASE, row.purchases, &purchases),
                    ("omni_purchase", row.purchases, &purchases),
                    ("purchase", row.purchases, &purchases),
                ])
            }
            Field::ActionValues => actions(&[
                (
                    PIXEL_PURCHASE,
                    row.purchase_value_minor,
                    &row.purchase_value,
                ),
                (
                    "omni_purchase",
                    row.purchase_value_minor,
                    &row.purchase_value,
                ),
                ("purchase", row.purchase_value_minor, &row.purchase_value),
            ]),
        }
    }
}

/// The pixel's purchase action, which Meta reports next to the deduplicated `purchase`.
const PIXEL_PURCHASE: &str = "offsite_conversion.fb_pixel_purchase";

/// An `actions`-style list of the entries with a non-zero amount; `None` (the field is left out,
/// as Meta does) when there are none.
fn actions(entries: &[(&str, u64, &str)]) -> Option<Value> {
    let list: Vec<Value> = entries
        .iter()
        .filter(|(_, amount, _)| *amount > 0)
        .map(|(kind, _, value)| json!({"action_type": kind, "value": value}))
        .collect();
    (!list.is_empty()).then_some(Value::Array(list))
}

/// The validated parameters of one insights request (sync or report run), without paging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InsightsQuery {
    pub(crate) rows: RowsQuery,
    pub(crate) fields: Vec<Field>,
}

impl InsightsQuery {
    /// Identifies the row set a cursor points into. The page size and the fields may change
    /// between pages (clients shrink them after "reduce the amount of data"); the rows may not.
    pub(crate) fn fingerprint(&self, account_id: &str) -> u64 {
        let day = |date: NaiveDate| u64::try_from(date.num_days_from_ce()).unwrap_or(0);
        let mut seed = Seed::new("meta_ads/cursor")
            .with_str(account_id)
            .with_str(self.rows.level.as_str())
            .with_u64(day(self.rows.since))
            .with_u64(day(self.rows.until))
            .with_u64(match self.rows.increment {
                TimeIncrement::Daily => 1,
                TimeIncrement::AllDays => 0,
            });
        for breakdown in &self.rows.breakdowns {
            seed = seed.with_str(breakdown.as_str());
        }
        seed.value()
    }
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
        let value: Value = serde_json::from_str(text).map_err(|_| invalid())?;
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

/// `breakdowns` as a comma list (or a JSON array, as some SDKs send it), checked against Meta's
/// allowed combinations.
fn parse_breakdowns(params: &[(String, String)]) -> Result<Vec<Breakdown>, MetaError> {
    let Some(text) = param(params, "breakdowns") else {
        return Ok(Vec::new());
    };
    let names: Vec<String> = match serde_json::from_str::<Vec<String>>(text) {
        Ok(list) => list,
        Err(_) => text
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    let mut breakdowns = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let breakdown: Breakdown = name.parse().map_err(|expected| {
            MetaError::invalid_parameter(format!("breakdowns[{index}] {expected}"))
        })?;
        if !breakdowns.contains(&breakdown) {
            breakdowns.push(breakdown);
        }
    }
    if !is_allowed_combination(&breakdowns) {
        let names: Vec<&str> = breakdowns.iter().map(|b| b.as_str()).collect();
        return Err(MetaError::invalid_breakdown_combination(&names));
    }
    Ok(breakdowns)
}

/// Validates the report parameters of an insights request (sync or report run).
pub(crate) fn parse_query(
    params: &[(String, String)],
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
    let breakdowns = parse_breakdowns(params)?;
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
    Ok(InsightsQuery {
        rows: RowsQuery {
            level,
            breakdowns,
            since,
            until,
            today,
            increment,
        },
        fields,
    })
}

/// One row as Meta renders it: the requested fields in order, then the dates, then the
/// breakdown values in request order.
pub(crate) fn render_row(row: &TruthRow, query: &InsightsQuery) -> OrderedObject {
    let mut object = OrderedObject::default();
    for field in &query.fields {
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
    for breakdown in &query.rows.breakdowns {
        if let Some(value) = row.breakdown(*breakdown) {
            object.push(breakdown.as_str(), value.to_owned());
        }
    }
    object
}

/// Breaks one numeric field of a rendered row (for a malformed fault): the first requested
/// metric the row has becomes [`MALFORMED_NUMBER`] (in an action list, the first entry's
/// value); without any, `date_start` stops being a date.
pub(crate) fn break_row(object: &mut OrderedObject, fields: &[Field]) {
    for field in Field::BREAKABLE {
        if !fields.contains(field) {
            continue;
        }
        let Some((_, value)) = object.0.iter_mut().find(|(key, _)| *key == field.name()) else {
            continue;
        };
        match value {
            Value::Array(entries) => {
                if let Some(Value::Object(entry)) = entries.first_mut() {
                    entry.insert("value".to_owned(), MALFORMED_NUMBER.into());
                }
            }
            other => *other = MALFORMED_NUMBER.into(),
        }
        return;
    }
    if let Some((_, value)) = object.0.iter_mut().find(|(key, _)| *key == "date_start") {
        *value = "2025-13-45".into();
    }
}

/// Renders a page of `rows`, breaking the first row if `malformed`.
pub(crate) fn render_page(
    rows: &[TruthRow],
    query: &InsightsQuery,
    window: Window,
    fingerprint: u64,
    params: &[(String, String)],
    next_base: &str,
    malformed: bool,
) -> Result<paging::Page, MetaError> {
    let mut page = paging::page(rows, window, fingerprint, params, next_base, |row| {
        render_row(row, query)
    })?;
    if malformed && let Some(first) = page.data.first_mut() {
        break_row(first, &query.fields);
    }
    Ok(page)
}

/// The absolute URL of the request's path, for `paging.next`.
pub(crate) fn next_base(request: &Request<'_>) -> String {
    format!(
        "{}{}",
        wire::origin(request.headers, request.uri),
        request.uri.path()
    )
}

/// Answers one synchronous insights page for an admitted call.
fn answer(
    request: &Request<'_>,
    account: &AccountFacts,
    malformed: bool,
) -> Result<paging::Page, MetaError> {
    let sandbox = request.sandbox;
    let today = sandbox.today_for(account);
    let query = parse_query(request.params, today)?;
    let fingerprint = query.fingerprint(&account.id);
    let window = Window::parse(request.params, fingerprint)?;
    let rows = truth::rows(account, &query.rows);
    if rows.len() > sandbox.meta_ads().config.max_sync_rows {
        return Err(MetaError::reduce_data());
    }
    render_page(
        &rows,
        &query,
        window,
        fingerprint,
        request.params,
        &next_base(request),
        malformed,
    )
}

/// The handler of `GET /v{N}/act_{id}/insights`.
pub(crate) async fn sync_handler(request: Request<'_>) -> Response {
    let sandbox = request.sandbox;
    let kind = RouteKind {
        route: ROUTE,
        use_case: Some(UseCase::AdsInsights),
        run_poll: false,
    };
    let (prelude, call) = match super::Prelude::enter(sandbox, kind, &request).await {
        Ok(entered) => entered,
        Err(response) => return response,
    };
    let result = match &call.account {
        Some(account) => answer(&request, account, call.fault == Some(FaultKind::Malformed)),
        None => Err(MetaError::unknown_object(request.node)),
    };
    let response = match result {
        Ok(page) => wire::json_with_type(StatusCode::OK, &page, CONTENT_TYPE),
        Err(error) => error.into_response(sandbox),
    };
    prelude.finish(sandbox, response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta_ads::world;

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
    fn defaults_are_account_level_all_days_over_the_last_30_days() {
        let query = parse_query(&[], today()).unwrap();
        assert_eq!(query.rows.level, Level::Account);
        assert_eq!(query.rows.increment, TimeIncrement::AllDays);
        assert!(query.rows.breakdowns.is_empty());
        assert_eq!(query.rows.since, "2025-05-31".parse::<NaiveDate>().unwrap());
        assert_eq!(query.rows.until, "2025-06-29".parse::<NaiveDate>().unwrap());
        let window = Window::parse(&[], query.fingerprint("1")).unwrap();
        assert_eq!(window.limit, 25);
    }

    #[test]
    fn bracketed_time_ranges_are_accepted() {
        let query = parse_query(
            &params(&[
                ("time_range[since]", "2025-06-01"),
                ("time_range[until]", "2025-06-02"),
            ]),
            today(),
        )
        .unwrap();
        assert_eq!(
            (query.rows.since.to_string(), query.rows.until.to_string()),
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
            today(),
        )
        .unwrap_err();
        assert_eq!(error.code, 3018);
    }

    #[test]
    fn breakdowns_are_validated_by_name_and_combination() {
        let ok = parse_query(
            &params(&[("breakdowns", "publisher_platform,platform_position")]),
            today(),
        )
        .unwrap();
        assert_eq!(
            ok.rows.breakdowns,
            vec![Breakdown::PublisherPlatform, Breakdown::PlatformPosition]
        );
        let json = parse_query(&params(&[("breakdowns", r#"["age","gender"]"#)]), today());
        assert_eq!(
            json.unwrap().rows.breakdowns,
            vec![Breakdown::Age, Breakdown::Gender]
        );
        let unknown = parse_query(&params(&[("breakdowns", "age,region")]), today()).unwrap_err();
        assert_eq!(unknown.code, 100);
        assert!(
            unknown.message.starts_with(
                "(#100) breakdowns[1] must be one of the following values: age, country"
            ),
            "{}",
            unknown.message
        );
        let combination =
            parse_query(&params(&[("breakdowns", "age,country")]), today()).unwrap_err();
        assert_eq!(
            combination.message,
            "(#100) Current combination of data breakdown columns (age, country) is invalid"
        );
    }

    #[test]
    fn rows_render_fields_then_dates_then_breakdowns_and_actions_as_lists() {
        let today = today();
        let query = parse_query(
            &params(&[
                ("fields", "spend,actions,action_values"),
                ("breakdowns", "country"),
                ("time_increment", "1"),
                (
                    "time_range",
                    r#"{"since":"2025-06-01","until":"2025-06-30"}"#,
                ),
            ]),
            today,
        )
        .unwrap();
        let account = world::account("4242").unwrap();
        let rows = truth::rows(&account, &query.rows);
        let row = rows.iter().find(|row| row.purchases > 0).unwrap();
        let object = render_row(row, &query);
        let keys: Vec<&str> = object.0.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            vec![
                "spend",
                "actions",
                "action_values",
                "date_start",
                "date_stop",
                "country"
            ]
        );
        let actions = &object.0[1].1;
        assert!(
            actions
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["action_type"] == "purchase"
                    && a["value"].as_str() == Some(row.purchases.to_string().as_str()))
        );
        let values = &object.0[2].1;
        assert_eq!(values[0]["action_type"], PIXEL_PURCHASE);
        assert_eq!(values[0]["value"], row.purchase_value.as_str());

        let mut broken = object.clone();
        break_row(&mut broken, &query.fields);
        assert_eq!(broken.0[0].1, MALFORMED_NUMBER);
        let mut only_actions = object;
        break_row(&mut only_actions, &[Field::Actions]);
        assert_eq!(only_actions.0[1].1[0]["value"], MALFORMED_NUMBER);
    }
}
