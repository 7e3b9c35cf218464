//! `/v1/destinations`: where syncs write. Settings are validated per kind at creation.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::db::destinations::{self, Destination};
use shared::domain::destination::WarehouseSettings;
use shared::domain::{DestinationId, DestinationKind, InvalidField};

use super::{check_name, db};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateDestination {
    kind: String,
    name: String,
    #[serde(default)]
    settings: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub struct DestinationView {
    id: DestinationId,
    kind: DestinationKind,
    name: String,
    settings: serde_json::Value,
    created_at: DateTime<Utc>,
}

impl From<Destination> for DestinationView {
    fn from(destination: Destination) -> Self {
        Self {
            id: destination.id,
            kind: destination.kind,
            name: destination.name,
            settings: destination.settings,
            created_at: destination.created_at,
        }
    }
}

/// Parses and validates a kind's settings, returning them in canonical form.
fn validate_settings(
    kind: DestinationKind,
    settings: serde_json::Value,
) -> Result<serde_json::Value, ApiError> {
    match kind {
        DestinationKind::Warehouse => {
            let parsed: WarehouseSettings = serde_json::from_value(settings)
                .map_err(|error| InvalidField::new("settings", error.to_string()))?;
            let valid = parsed.validate()?;
            serde_json::to_value(valid).map_err(|error| ApiError::Internal(error.into()))
        }
        DestinationKind::GoogleSheets => Err(InvalidField::new(
            "kind",
            "google_sheets destinations are not supported yet",
        )
        .into()),
    }
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateDestination>,
) -> Result<(StatusCode, ApiJson<DestinationView>), ApiError> {
    let tenant = caller.tenant()?;
    let kind: DestinationKind = body.kind.parse()?;
    check_name("name", &body.name)?;
    let settings = validate_settings(kind, body.settings.unwrap_or_else(|| serde_json::json!({})))?;
    let client = db(&state).await?;
    let destination =
        destinations::insert(&client, tenant, kind, body.name.trim(), &settings).await?;
    Ok((StatusCode::CREATED, ApiJson(destination.into())))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<Vec<DestinationView>>, ApiError> {
    let tenant = caller.tenant()?;
    let client = db(&state).await?;
    let list = destinations::list(&client, tenant).await?;
    Ok(ApiJson(
        list.into_iter().map(DestinationView::from).collect(),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<DestinationId>,
) -> Result<ApiJson<DestinationView>, ApiError> {
    let tenant = caller.tenant()?;
    let client = db(&state).await?;
    destinations::get(&client, tenant, id)
        .await?
        .map(|destination| ApiJson(destination.into()))
        .ok_or(ApiError::NotFound("destination"))
}
