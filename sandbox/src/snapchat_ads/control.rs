//! Sandbox-only Snapchat routes under `/_sandbox/snapchat_ads`: an account's facts (entity tree,
//! time zone, currency, countries) and the stats rows a sync should have produced.
//!
//! `GET /accounts/{id}` and `GET /accounts/{id}/truth?level=account|campaign|adsquad|ad&since=
//! YYYY-MM-DD&until=YYYY-MM-DD[&country=true][&swipe_up_attribution_window=…]
//! [&view_attribution_window=…]`.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::Serialize;

use super::truth;
use super::vocabulary::{Attribution, Level};
use super::world::AccountFacts;
use crate::control::{ControlError, control_error, date_param};
use crate::state::Sandbox;
use crate::wire;

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/accounts/{account_id}", get(account))
        .route("/accounts/{account_id}/truth", get(truth))
}

#[derive(Serialize)]
struct AccountView {
    id: String,
    name: String,
    organization_id: String,
    time_zone: &'static str,
    currency: &'static str,
    countries: Vec<&'static str>,
    delivers: bool,
    readable: bool,
    today: NaiveDate,
    campaigns: Vec<CampaignView>,
}

#[derive(Serialize)]
struct CampaignView {
    id: String,
    name: String,
    status: &'static str,
    objective: &'static str,
    start_date: NaiveDate,
    daily_budget_micro: Option<u64>,
    lifetime_spend_cap_micro: Option<u64>,
    adsquads: Vec<AdSquadView>,
}

#[derive(Serialize)]
struct AdSquadView {
    id: String,
    name: String,
    status: &'static str,
    daily_budget_micro: Option<u64>,
    lifetime_budget_micro: Option<u64>,
    ads: Vec<AdView>,
}

#[derive(Serialize)]
struct AdView {
    id: String,
    name: String,
    status: &'static str,
    creative_id: String,
    creative_name: String,
}

fn view(account: &AccountFacts, today: NaiveDate) -> AccountView {
    AccountView {
        id: account.id.clone(),
        name: account.name.clone(),
        organization_id: account.organization_id.clone(),
        time_zone: account.time_zone.name(),
        currency: account.currency,
        countries: account.countries.clone(),
        delivers: account.delivers,
        readable: account.readable,
        today,
        campaigns: account
            .campaigns
            .iter()
            .map(|campaign| CampaignView {
                id: campaign.id.clone(),
                name: campaign.name.clone(),
                status: campaign.status.as_str(),
                objective: campaign.objective,
                start_date: campaign.start_date(today),
                daily_budget_micro: campaign.daily_budget_micro,
                lifetime_spend_cap_micro: campaign.lifetime_spend_cap_micro,
                adsquads: campaign
                    .adsquads
                    .iter()
                    .map(|squad| AdSquadView {
                        id: squad.id.clone(),
                        name: squad.name.clone(),
                        status: squad.status.as_str(),
                        daily_budget_micro: squad.daily_budget_micro,
                        lifetime_budget_micro: squad.lifetime_budget_micro,
                        ads: squad
                            .ads
                            .iter()
                            .map(|ad| AdView {
                                id: ad.id.clone(),
                                name: ad.name.clone(),
                                status: ad.status.as_str(),
                                creative_id: ad.creative.id.clone(),
                                creative_name: ad.creative.name.clone(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn find_account(sandbox: &Sandbox, account_id: &str) -> Result<AccountFacts, ControlError> {
    sandbox.snapchat_ads().resolve(account_id).ok_or_else(|| {
        control_error(
            StatusCode::NOT_FOUND,
            "account_id",
            format!("'{account_id}' is not a Snapchat ad account id (a UUID)"),
        )
    })
}

async fn account(State(sandbox): State<Sandbox>, Path(account_id): Path<String>) -> Response {
    match find_account(&sandbox, &account_id) {
        Ok(account) => {
            let today = sandbox.today_for(&account);
            wire::json(StatusCode::OK, &view(&account, today))
        }
        Err(error) => error.into_response(),
    }
}

async fn truth(
    State(sandbox): State<Sandbox>,
    Path(account_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let result = (|| {
        let account = find_account(&sandbox, &account_id)?;
        let level = match params.get("level") {
            None => Level::AdAccount,
            Some(text) => text
                .parse()
                .map_err(|message| control_error(StatusCode::BAD_REQUEST, "level", message))?,
        };
        let by_country = match params.get("country").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(control_error(
                    StatusCode::BAD_REQUEST,
                    "country",
                    format!("country must be true or false, got '{other}'"),
                ));
            }
        };
        let mut attribution = Attribution::default();
        if let Some(text) = params.get("swipe_up_attribution_window") {
            attribution.swipe_up = text.parse().map_err(|()| {
                control_error(
                    StatusCode::BAD_REQUEST,
                    "swipe_up_attribution_window",
                    format!("unknown window '{text}', expected 1_DAY, 7_DAY or 28_DAY"),
                )
            })?;
        }
        if let Some(text) = params.get("view_attribution_window") {
            attribution.view = text.parse().map_err(|()| {
                control_error(
                    StatusCode::BAD_REQUEST,
                    "view_attribution_window",
                    format!(
                        "unknown window '{text}', expected 1_HOUR, 3_HOUR, 6_HOUR, 1_DAY, 7_DAY or 28_DAY"
                    ),
                )
            })?;
        }
        let since = date_param(&params, "since")?;
        let until = date_param(&params, "until")?;
        let today = sandbox.today_for(&account);
        Ok(truth::stats_truth(
            &account.id,
            level,
            since,
            until,
            today,
            attribution,
            by_country,
        ))
    })();
    match result {
        Ok(rows) => wire::json(StatusCode::OK, &rows),
        Err(error) => error.into_response(),
    }
}
