//! Sandbox-only Google Ads routes under `/_sandbox/google_ads`: a customer's facts (kind,
//! manager, clients, campaign tree) and the report rows a sync should have produced, for demo
//! scripts and tests that talk to the sandbox over HTTP.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::Serialize;

use super::vocabulary::{CustomerKind, Level};
use super::world::CustomerFacts;
use super::{truth, world};
use crate::control::{ControlError, control_error, date_param};
use crate::state::Sandbox;
use crate::wire;

pub(super) fn router() -> Router<Sandbox> {
    Router::new()
        .route("/customers/{customer_id}", get(customer))
        .route("/customers/{customer_id}/truth", get(truth))
}

#[derive(Serialize)]
struct CustomerView {
    id: String,
    descriptive_name: String,
    time_zone: &'static str,
    currency: &'static str,
    /// `standalone`, `manager` or `client`.
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    manager_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    clients: Vec<String>,
    /// `ENABLED` or `CANCELED`.
    status: &'static str,
    /// Whether its link to its manager is hidden.
    hidden: bool,
    delivers: bool,
    today: NaiveDate,
    campaigns: Vec<CampaignView>,
}

#[derive(Serialize)]
struct CampaignView {
    id: String,
    name: String,
    status: &'static str,
    advertising_channel_type: &'static str,
    budget_amount_micros: String,
    start_date: NaiveDate,
    ad_groups: Vec<AdGroupView>,
}

#[derive(Serialize)]
struct AdGroupView {
    id: String,
    name: String,
    status: &'static str,
    ads: Vec<AdView>,
}

#[derive(Serialize)]
struct AdView {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(rename = "type")]
    ad_type: &'static str,
    status: &'static str,
    final_urls: Vec<String>,
}

fn view(customer: &CustomerFacts, today: NaiveDate) -> CustomerView {
    CustomerView {
        id: customer.id.clone(),
        descriptive_name: customer.descriptive_name.clone(),
        time_zone: customer.time_zone.name(),
        currency: customer.currency.code(),
        kind: match customer.kind {
            CustomerKind::Standalone => "standalone",
            CustomerKind::Manager { .. } => "manager",
            CustomerKind::Client { .. } => "client",
        },
        manager_id: customer.manager_id().map(str::to_owned),
        clients: customer.clients(),
        status: customer.status.as_str(),
        hidden: customer.hidden,
        delivers: customer.delivers,
        today,
        campaigns: customer
            .campaigns
            .iter()
            .map(|campaign| CampaignView {
                id: campaign.id.to_string(),
                name: campaign.name.clone(),
                status: campaign.status.as_str(),
                advertising_channel_type: campaign.channel.as_str(),
                budget_amount_micros: campaign.budget_amount_micros.to_string(),
                start_date: campaign.start.date(today),
                ad_groups: campaign
                    .ad_groups
                    .iter()
                    .map(|group| AdGroupView {
                        id: group.id.to_string(),
                        name: group.name.clone(),
                        status: group.status.as_str(),
                        ads: group
                            .ads
                            .iter()
                            .map(|ad| AdView {
                                id: ad.id.to_string(),
                                name: ad.name.clone(),
                                ad_type: ad.ad_type,
                                status: ad.status.as_str(),
                                final_urls: ad.final_urls.clone(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn find_customer(customer_id: &str) -> Result<CustomerFacts, ControlError> {
    world::customer(customer_id).ok_or_else(|| {
        control_error(
            StatusCode::NOT_FOUND,
            "customer_id",
            format!(
                "'{customer_id}' is not a sandbox Google Ads customer (10 digits, no hyphens, not starting with 0)"
            ),
        )
    })
}

async fn customer(State(sandbox): State<Sandbox>, Path(customer_id): Path<String>) -> Response {
    match find_customer(&customer_id) {
        Ok(customer) => {
            let today = sandbox.today_for(&customer);
            wire::json(StatusCode::OK, &view(&customer, today))
        }
        Err(error) => error.into_response(),
    }
}

/// `GET …/customers/{id}/truth?level=campaign&since=…&until=…&device=true`.
async fn truth(
    State(sandbox): State<Sandbox>,
    Path(customer_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let result = (|| {
        let customer = find_customer(&customer_id)?;
        let level: Level = match params.get("level") {
            None => Level::Customer,
            Some(text) => text
                .parse()
                .map_err(|message| control_error(StatusCode::BAD_REQUEST, "level", message))?,
        };
        let by_device = match params.get("device").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(control_error(
                    StatusCode::BAD_REQUEST,
                    "device",
                    format!("device must be true or false, got '{other}'"),
                ));
            }
        };
        let since = date_param(&params, "since")?;
        let until = date_param(&params, "until")?;
        let today = sandbox.today_for(&customer);
        Ok(truth::report_truth(
            &customer.id,
            level,
            since,
            until,
            today,
            by_device,
        ))
    })();
    match result {
        Ok(rows) => wire::json(StatusCode::OK, &rows),
        Err(error) => error.into_response(),
    }
}
