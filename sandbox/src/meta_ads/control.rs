//! Sandbox-only Meta routes under `/_sandbox/meta_ads`: an account's facts, the truth rows a
//! sync should have produced (`/truth?level=&since=&until=&time_increment=&breakdowns=`, rows as
//! reported on the account's today) and the entities an entity sync should have
//! (`/entities?kind=campaign|adset|ad`), for demo scripts and tests that talk to the sandbox
//! over HTTP.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::Serialize;

use super::breakdowns::{Breakdown, is_allowed_combination};
use super::entities::{EntityKind, entities_truth};
use super::truth::RowsQuery;
use super::vocabulary::{Level, TimeIncrement};
use super::world::AccountFacts;
use super::{truth, world};
use crate::control::{ControlError, control_error, date_param};
use crate::state::Sandbox;
use crate::wire;

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/accounts/{account_id}", get(account))
        .route("/accounts/{account_id}/truth", get(truth))
        .route("/accounts/{account_id}/entities", get(entities))
}

#[derive(Serialize)]
struct AccountView {
    id: String,
    name: String,
    time_zone: &'static str,
    currency: &'static str,
    currency_decimals: u32,
    today: NaiveDate,
    countries: &'static [&'static str],
    active_ads: usize,
    campaigns: Vec<CampaignView>,
}

#[derive(Serialize)]
struct CampaignView {
    id: String,
    name: String,
    start_date: NaiveDate,
    adsets: Vec<AdSetView>,
}

#[derive(Serialize)]
struct AdSetView {
    id: String,
    name: String,
    ads: Vec<AdView>,
}

#[derive(Serialize)]
struct AdView {
    id: String,
    name: String,
}

fn view(account: &AccountFacts, today: NaiveDate) -> AccountView {
    AccountView {
        id: account.id.clone(),
        name: account.name.clone(),
        time_zone: account.time_zone.name(),
        currency: account.currency.code(),
        currency_decimals: account.currency.decimals(),
        today,
        countries: account.countries,
        active_ads: account.active_ads(),
        campaigns: account
            .campaigns
            .iter()
            .map(|campaign| CampaignView {
                id: campaign.id.clone(),
                name: campaign.name.clone(),
                start_date: campaign.start_date(today),
                adsets: campaign
                    .adsets
                    .iter()
                    .map(|adset| AdSetView {
                        id: adset.id.clone(),
                        name: adset.name.clone(),
                        ads: adset
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

fn find_account(account_id: &str) -> Result<AccountFacts, ControlError> {
    world::account(account_id).ok_or_else(|| {
        control_error(
            StatusCode::NOT_FOUND,
            "account_id",
            format!("'{account_id}' is not a Meta ad account id (digits, without act_)"),
        )
    })
}

async fn account(State(sandbox): State<Sandbox>, Path(account_id): Path<String>) -> Response {
    match find_account(&account_id) {
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
        let account = find_account(&account_id)?;
        let level = match params.get("level") {
            None => Level::Account,
            Some(text) => text
                .parse()
                .map_err(|message| control_error(StatusCode::BAD_REQUEST, "level", message))?,
        };
        let increment = match params.get("time_increment").map(String::as_str) {
            None | Some("1") => TimeIncrement::Daily,
            Some("all_days") => TimeIncrement::AllDays,
            Some(other) => {
                return Err(control_error(
                    StatusCode::BAD_REQUEST,
                    "time_increment",
                    format!("time_increment must be 1 or all_days, got '{other}'"),
                ));
            }
        };
        let breakdowns = match params.get("breakdowns") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .filter(|name| !name.is_empty())
                .map(|name| {
                    name.trim().parse::<Breakdown>().map_err(|expected| {
                        control_error(
                            StatusCode::BAD_REQUEST,
                            "breakdowns",
                            format!("'{name}' {expected}"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        if !is_allowed_combination(&breakdowns) {
            return Err(control_error(
                StatusCode::BAD_REQUEST,
                "breakdowns",
                "Meta does not serve this combination of breakdowns",
            ));
        }
        let since = date_param(&params, "since")?;
        let until = date_param(&params, "until")?;
        let today = sandbox.today_for(&account);
        Ok(truth::rows(
            &account,
            &RowsQuery {
                level,
                breakdowns,
                since,
                until,
                today,
                increment,
            },
        ))
    })();
    match result {
        Ok(rows) => wire::json(StatusCode::OK, &rows),
        Err(error) => error.into_response(),
    }
}

async fn entities(
    State(sandbox): State<Sandbox>,
    Path(account_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let result = (|| {
        let account = find_account(&account_id)?;
        let kind = match params.get("kind").map(String::as_str) {
            None | Some("campaign") => EntityKind::Campaign,
            Some("adset") => EntityKind::AdSet,
            Some("ad") => EntityKind::Ad,
            Some(other) => {
                return Err(control_error(
                    StatusCode::BAD_REQUEST,
                    "kind",
                    format!("kind must be campaign, adset or ad, got '{other}'"),
                ));
            }
        };
        let today = sandbox.today_for(&account);
        Ok(entities_truth(&account.id, kind, today))
    })();
    match result {
        Ok(rows) => wire::json(StatusCode::OK, &rows),
        Err(error) => error.into_response(),
    }
}
