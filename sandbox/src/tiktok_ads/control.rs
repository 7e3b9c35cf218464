//! Sandbox-only TikTok routes under `/_sandbox/tiktok_ads`: an advertiser's facts, the report
//! rows and entities a sync should have produced, the advertisers every token reaches, and the
//! app's current rate-limit usage, for demo scripts and tests that talk to the sandbox over HTTP.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use super::vocabulary::{Breakdown, Level};
use super::world::AdvertiserFacts;
use super::{truth, world};
use crate::control::{ControlError, control_error, date_param};
use crate::state::Sandbox;
use crate::wire;

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/advertisers/{advertiser_id}", get(advertiser))
        .route("/advertisers/{advertiser_id}/truth", get(truth))
        .route("/advertisers/{advertiser_id}/entities", get(entities))
        .route("/reachable", get(reachable))
        .route("/usage", get(usage))
}

#[derive(Serialize)]
struct AdvertiserView {
    id: String,
    name: String,
    time_zone: &'static str,
    currency: &'static str,
    currency_decimals: u32,
    today: NaiveDate,
    campaigns: Vec<CampaignView>,
}

#[derive(Serialize)]
struct CampaignView {
    id: String,
    name: String,
    objective_type: &'static str,
    operation_status: &'static str,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
    /// `[cycle_days, on_days]` for a flighted campaign.
    flight: Option<(u32, u32)>,
    adgroups: Vec<AdGroupView>,
}

#[derive(Serialize)]
struct AdGroupView {
    id: String,
    name: String,
    ads: Vec<AdView>,
}

#[derive(Serialize)]
struct AdView {
    id: String,
    name: String,
}

fn view(advertiser: &AdvertiserFacts, today: NaiveDate) -> AdvertiserView {
    AdvertiserView {
        id: advertiser.id.clone(),
        name: advertiser.name.clone(),
        time_zone: advertiser.time_zone.name(),
        currency: advertiser.currency.code(),
        currency_decimals: advertiser.currency.decimals(),
        today,
        campaigns: advertiser
            .campaigns
            .iter()
            .map(|campaign| CampaignView {
                id: campaign.id.clone(),
                name: campaign.name.clone(),
                objective_type: campaign.objective.name(),
                operation_status: if campaign.enabled {
                    "ENABLE"
                } else {
                    "DISABLE"
                },
                start_date: campaign.schedule.start,
                end_date: campaign.schedule.end,
                flight: campaign.schedule.flight,
                adgroups: campaign
                    .adgroups
                    .iter()
                    .map(|adgroup| AdGroupView {
                        id: adgroup.id.clone(),
                        name: adgroup.name.clone(),
                        ads: adgroup
                            .ads
                            .iter()
                            .map(|ad| AdView {
                                id: ad.id.clone(),
                                name: ad.name.clone(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn find_advertiser(advertiser_id: &str) -> Result<AdvertiserFacts, ControlError> {
    world::advertiser(advertiser_id).ok_or_else(|| {
        control_error(
            StatusCode::NOT_FOUND,
            "advertiser_id",
            format!("'{advertiser_id}' is not a TikTok advertiser id (digits)"),
        )
    })
}

async fn advertiser(State(sandbox): State<Sandbox>, Path(advertiser_id): Path<String>) -> Response {
    match find_advertiser(&advertiser_id) {
        Ok(advertiser) => {
            let today = sandbox.today_for(&advertiser);
            wire::json(StatusCode::OK, &view(&advertiser, today))
        }
        Err(error) => error.into_response(),
    }
}

fn level_param(params: &HashMap<String, String>) -> Result<Level, ControlError> {
    match params.get("data_level") {
        None => Ok(Level::Advertiser),
        Some(text) => text
            .parse()
            .map_err(|message| control_error(StatusCode::BAD_REQUEST, "data_level", message)),
    }
}

/// `GET …/truth?data_level=AUCTION_CAMPAIGN&since=…&until=…&breakdowns=age,gender`.
async fn truth(
    State(sandbox): State<Sandbox>,
    Path(advertiser_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let result = (|| {
        let advertiser = find_advertiser(&advertiser_id)?;
        let level = level_param(&params)?;
        let breakdowns = params
            .get("breakdowns")
            .map(|list| {
                list.split(',')
                    .filter(|name| !name.is_empty())
                    .map(|name| {
                        Breakdown::from_name(name).ok_or_else(|| {
                            control_error(
                                StatusCode::BAD_REQUEST,
                                "breakdowns",
                                format!(
                                    "unknown breakdown '{name}', expected age, gender, country_code or platform"
                                ),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let since = date_param(&params, "since")?;
        let until = date_param(&params, "until")?;
        let today = sandbox.today_for(&advertiser);
        Ok::<_, ControlError>(truth::rows(
            &advertiser,
            level,
            &breakdowns,
            since,
            until,
            today,
        ))
    })();
    match result {
        Ok(rows) => wire::json(StatusCode::OK, &rows),
        Err(error) => error.into_response(),
    }
}

/// `GET …/entities?data_level=AUCTION_AD`.
async fn entities(
    Path(advertiser_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let result = find_advertiser(&advertiser_id)
        .and_then(|_| level_param(&params))
        .map(|level| truth::entities_truth(&advertiser_id, level));
    match result {
        Ok(entities) => wire::json(StatusCode::OK, &entities),
        Err(error) => error.into_response(),
    }
}

/// The advertisers every token reaches, with today's date in each one's time zone.
async fn reachable(State(sandbox): State<Sandbox>) -> Response {
    let views: Vec<AdvertiserView> = world::reachable_advertisers()
        .iter()
        .map(|advertiser| view(advertiser, sandbox.today_for(advertiser)))
        .collect();
    wire::json(StatusCode::OK, &views)
}

async fn usage(State(sandbox): State<Sandbox>) -> Response {
    let (second, minute) = super::usage(&sandbox);
    let config = &sandbox.tiktok_ads().config;
    wire::json(
        StatusCode::OK,
        &json!({
            "app_calls_last_second": second,
            "app_calls_last_minute": minute,
            "app_calls_per_second": config.app_calls_per_second,
            "app_calls_per_minute": config.app_calls_per_minute,
            "advertiser_calls_per_second": config.advertiser_calls_per_second,
        }),
    )
}
