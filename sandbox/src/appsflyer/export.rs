//! `GET /api/agg-data/export/app/{app_id}/{report}/v5`: an aggregate report as one CSV, for
//! install dates `from` to `to` in the app's time zone, money in the app's currency.
//!
//! Parameters: `from`, `to` (`YYYY-MM-DD`, required), `timezone` (IANA; absent means the
//! app's), `currency` (`preferred` or `USD`: aggregate reports always use the app's currency),
//! `reattr` (`true` for retargeting), `media_source`, `category`; others are ignored. The sandbox
//! serves days of the app's own time zone only, so another `timezone` is refused with 400.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::NaiveDate;
use chrono_tz::Tz;

use super::errors::AppsflyerError;
use super::truth::Selection;
use super::vocabulary::Report;
use super::world::AppFacts;
use super::{Prelude, csv, param};
use super::{truth, world};
use crate::connector::Connector;
use crate::requests::UnknownRoute;
use crate::state::Sandbox;

/// The templated route, as recorded in the request log.
pub(crate) const ROUTE: &str = "/api/agg-data/export/app/{app_id}/{report}/v5";

fn bad_request(message: impl Into<String>) -> AppsflyerError {
    AppsflyerError::BadRequest(message.into())
}

fn date(params: &[(String, String)], name: &str) -> Result<NaiveDate, AppsflyerError> {
    let text = param(params, name)
        .filter(|text| !text.is_empty())
        .ok_or_else(|| bad_request(format!("Missing required parameter: {name}")))?;
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        bad_request(format!(
            "Invalid {name} date '{text}': the format is yyyy-mm-dd"
        ))
    })
}

/// The validated parameters of one report request.
fn parse(
    params: &[(String, String)],
    app: &AppFacts,
    max_range_days: u32,
) -> Result<Selection, AppsflyerError> {
    let from = date(params, "from")?;
    let to = date(params, "to")?;
    if from > to {
        return Err(bad_request(format!(
            "The from date ({from}) is after the to date ({to})"
        )));
    }
    let days = (to - from).num_days() + 1;
    if days > i64::from(max_range_days) {
        return Err(bad_request(format!(
            "The date range is too long: use from and to to limit it to {max_range_days} days or less"
        )));
    }
    if let Some(text) = param(params, "timezone").filter(|text| !text.is_empty()) {
        let zone: Tz = text
            .parse()
            .map_err(|_| bad_request(format!("Invalid timezone: {text}")))?;
        if zone != app.time_zone {
            return Err(bad_request(format!(
                "The timezone must be the app's time zone setting ({}); the sandbox does not serve other time zones",
                app.time_zone.name()
            )));
        }
    }
    match param(params, "currency") {
        None | Some("" | "preferred" | "USD") => {}
        Some(other) => {
            return Err(bad_request(format!(
                "Invalid currency: {other}; use preferred or USD"
            )));
        }
    }
    let reattr = match param(params, "reattr") {
        None | Some("" | "false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(bad_request(format!(
                "Invalid reattr: {other}; use true or false"
            )));
        }
    };
    match param(params, "category") {
        None | Some("" | "standard" | "facebook" | "organic") => {}
        Some(other) => {
            return Err(bad_request(format!(
                "Invalid category: {other}; use standard, facebook or organic"
            )));
        }
    }
    let media_source = param(params, "media_source")
        .filter(|text| !text.is_empty() && !text.eq_ignore_ascii_case("all"))
        .map(str::to_owned);
    Ok(Selection {
        from,
        to,
        reattr,
        media_source,
    })
}

/// The handler.
pub(crate) async fn handler(
    State(sandbox): State<Sandbox>,
    Path((app_id, report)): Path<(String, String)>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(report) = Report::from_name(&report) else {
        // Raw-data and unknown report names are not served.
        return UnknownRoute {
            connector: Some(Connector::Appsflyer),
        }
        .attach(AppsflyerError::AppNotFound.into_response());
    };
    let params = query.map(|Query(params)| params).unwrap_or_default();
    let prelude = Prelude::begin(&sandbox, ROUTE, Some(&app_id)).await;
    let result = match prelude.check(
        &sandbox,
        &headers,
        AppsflyerError::LimitReached(report.as_str()),
    ) {
        Ok(call) => {
            answer(
                &sandbox,
                &call.token,
                &app_id,
                report,
                &params,
                prelude.malformed(),
            )
            .await
        }
        Err(error) => Err(error),
    };
    let response = match result {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    prelude.finish(response)
}

async fn answer(
    sandbox: &Sandbox,
    token: &str,
    app_id: &str,
    report: Report,
    params: &[(String, String)],
    malformed: bool,
) -> Result<Response, AppsflyerError> {
    let app = world::app(app_id).ok_or(AppsflyerError::AppNotFound)?;
    let state = sandbox.appsflyer();
    let selection = parse(params, &app, state.config.max_range_days)?;
    let days = (selection.to - selection.from).num_days() + 1;
    state.quotas.admit_export(
        sandbox.limits_now(),
        &state.config,
        token,
        &app.id,
        report.as_str(),
        days,
    )?;
    let today = sandbox.today_for(&app);
    let rows = truth::report_rows(&app, report, &selection, today);
    let delay = state
        .config
        .delay_per_1000_rows
        .mul_f64(rows.len() as f64 / 1_000.0);
    if delay > Duration::ZERO {
        tokio::time::sleep(delay).await;
    }
    let body = csv::render(report, &rows, app.currency, malformed);
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename={}_{}_{}_{}.csv",
        app.id, report, selection.from, selection.to
    )) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
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

    fn utc_app() -> AppFacts {
        let mut app = world::app("com.example.app").unwrap();
        app.time_zone = Tz::Europe__Berlin;
        app
    }

    #[test]
    fn dates_are_required_ordered_and_bounded() {
        let app = utc_app();
        let error = |pairs: &[(&str, &str)]| match parse(&params(pairs), &app, 93) {
            Err(AppsflyerError::BadRequest(message)) => message,
            other => panic!("{other:?}"),
        };
        assert!(error(&[("to", "2025-06-01")]).contains("from"));
        assert!(error(&[("from", "2025-06-01"), ("to", "06/02/2025")]).contains("yyyy-mm-dd"));
        assert!(error(&[("from", "2025-06-02"), ("to", "2025-06-01")]).contains("after"));
        assert!(error(&[("from", "2025-01-01"), ("to", "2025-06-01")]).contains("93 days"));
        assert!(
            error(&[
                ("from", "2025-06-01"),
                ("to", "2025-06-01"),
                ("timezone", "Mars/Olympus")
            ])
            .contains("Invalid timezone")
        );
        assert!(
            error(&[
                ("from", "2025-06-01"),
                ("to", "2025-06-01"),
                ("timezone", "UTC")
            ])
            .contains("Europe/Berlin")
        );
    }

    #[test]
    fn the_apps_own_time_zone_and_known_options_are_accepted() {
        let app = utc_app();
        let selection = parse(
            &params(&[
                ("from", "2025-06-01"),
                ("to", "2025-06-30"),
                ("timezone", "Europe/Berlin"),
                ("currency", "preferred"),
                ("reattr", "true"),
                ("media_source", "all"),
                ("maximum_rows", "1000000"),
            ]),
            &app,
            93,
        )
        .unwrap();
        assert!(selection.reattr);
        assert_eq!(selection.media_source, None);
    }
}
