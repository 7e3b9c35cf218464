//! Sandbox-only AppsFlyer routes under `/_sandbox/appsflyer`: the listed apps, one app's facts,
//! and the rows a report holds, for demo scripts and tests that talk to the sandbox over HTTP.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::Serialize;

use super::truth::Selection;
use super::vocabulary::Report;
use super::world::{AppFacts, LISTED_APP_IDS};
use super::{truth, world};
use crate::control::{ControlError, control_error, date_param};
use crate::state::Sandbox;
use crate::wire;

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/apps", get(list))
        .route("/apps/{app_id}", get(one))
        .route("/apps/{app_id}/truth", get(truth))
}

#[derive(Serialize)]
struct AppView {
    id: String,
    name: String,
    platform: &'static str,
    time_zone: &'static str,
    currency: &'static str,
    currency_decimals: u32,
    retargeting: bool,
    has_delivery: bool,
    today: NaiveDate,
    campaigns: Vec<CampaignView>,
}

#[derive(Serialize)]
struct CampaignView {
    agency: Option<String>,
    media_source: String,
    campaign: Option<String>,
    retargeting: bool,
    start_date: NaiveDate,
    countries: Vec<&'static str>,
}

fn view(app: &AppFacts, today: NaiveDate) -> AppView {
    AppView {
        id: app.id.clone(),
        name: app.name.clone(),
        platform: app.platform.as_str(),
        time_zone: app.time_zone.name(),
        currency: app.currency.code(),
        currency_decimals: app.currency.decimals(),
        retargeting: app.retargeting,
        has_delivery: world::has_delivery(&app.id),
        today,
        campaigns: app
            .campaigns
            .iter()
            .map(|campaign| CampaignView {
                agency: campaign.agency.clone(),
                media_source: campaign.media_source.clone(),
                campaign: campaign.campaign.clone(),
                retargeting: campaign.retargeting,
                start_date: campaign.start.date(today),
                countries: campaign.countries.clone(),
            })
            .collect(),
    }
}

fn find_app(app_id: &str) -> Result<AppFacts, ControlError> {
    world::app(app_id).ok_or_else(|| {
        control_error(
            StatusCode::NOT_FOUND,
            "app_id",
            format!(
                "'{app_id}' is not a known AppsFlyer app id ({})",
                super::ACCOUNT_ID_SHAPE
            ),
        )
    })
}

async fn list(State(sandbox): State<Sandbox>) -> Response {
    let apps: Vec<AppView> = LISTED_APP_IDS
        .iter()
        .filter_map(|id| world::app(id))
        .map(|app| {
            let today = sandbox.today_for(&app);
            view(&app, today)
        })
        .collect();
    wire::json(StatusCode::OK, &apps)
}

async fn one(State(sandbox): State<Sandbox>, Path(app_id): Path<String>) -> Response {
    match find_app(&app_id) {
        Ok(app) => {
            let today = sandbox.today_for(&app);
            wire::json(StatusCode::OK, &view(&app, today))
        }
        Err(error) => error.into_response(),
    }
}

/// `GET /apps/{app_id}/truth?report=…&from=…&to=…[&reattr=true][&media_source=…]`: the rows the
/// report holds on the app's today (default report `partners_by_date_report`).
async fn truth(
    State(sandbox): State<Sandbox>,
    Path(app_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let result = (|| {
        let app = find_app(&app_id)?;
        let report = match params.get("report") {
            None => Report::PartnersByDateReport,
            Some(name) => Report::from_name(name).ok_or_else(|| {
                let known: Vec<&str> = Report::ALL.iter().map(|r| r.as_str()).collect();
                control_error(
                    StatusCode::BAD_REQUEST,
                    "report",
                    format!(
                        "unknown report '{name}', expected one of: {}",
                        known.join(", ")
                    ),
                )
            })?,
        };
        let mut selection =
            Selection::range(date_param(&params, "from")?, date_param(&params, "to")?);
        selection.reattr = params.get("reattr").is_some_and(|value| value == "true");
        selection.media_source = params.get("media_source").cloned();
        let today = sandbox.today_for(&app);
        Ok::<_, ControlError>(truth::report_rows(&app, report, &selection, today))
    })();
    match result {
        Ok(rows) => wire::json(StatusCode::OK, &rows),
        Err(error) => error.into_response(),
    }
}
