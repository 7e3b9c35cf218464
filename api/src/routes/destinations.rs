//! `/v1/destinations`: where syncs write. Settings and credentials are validated per kind at
//! creation (`shared::domain::destination`, where the worker reads them too); credentials are
//! sealed and never shown again.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::db::destinations::{self, Destination, NewDestination};
use shared::domain::destination::{DestinationSettings, RawCredentials};
use shared::domain::{DestinationId, DestinationKind};

use super::{check_name, db};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDestination {
    kind: String,
    name: String,
    #[serde(default)]
    settings: Option<serde_json::Value>,
    /// google_sheets: the Google OAuth tokens; warehouse: optionally the `url` of a PostgreSQL
    /// database other than adsync's own.
    #[serde(default)]
    credentials: Option<CredentialsBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialsBody {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    access_token_expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DestinationView {
    #[schema(value_type = uuid::Uuid)]
    id: DestinationId,
    #[schema(value_type = String)]
    kind: DestinationKind,
    name: String,
    settings: serde_json::Value,
    /// Whether credentials are stored; they are never shown.
    has_credentials: bool,
    access_token_expires_at: Option<DateTime<Utc>>,
    status: String,
    status_reason: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<Destination> for DestinationView {
    fn from(destination: Destination) -> Self {
        Self {
            id: destination.id,
            kind: destination.kind,
            name: destination.name,
            settings: destination.settings,
            has_credentials: destination.has_credentials,
            access_token_expires_at: destination.access_token_expires_at,
            status: destination.status,
            status_reason: destination.status_reason,
            created_at: destination.created_at,
        }
    }
}

impl From<CredentialsBody> for RawCredentials {
    fn from(body: CredentialsBody) -> Self {
        Self {
            url: body.url,
            access_token: body.access_token,
            refresh_token: body.refresh_token,
            access_token_expires_at: body.access_token_expires_at,
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/destinations",
    tag = "destinations",
    request_body = CreateDestination,
    responses(
        (status = 201, description = "the destination (credentials are never returned)", body = DestinationView),
        (status = 401, description = "missing or invalid API key, or bad signature", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden for this caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field (the problem names it)", body = crate::error::Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateDestination>,
) -> Result<(StatusCode, ApiJson<DestinationView>), ApiError> {
    let tenant = caller.tenant()?;
    let kind: DestinationKind = body.kind.parse()?;
    check_name("name", &body.name)?;
    let settings =
        DestinationSettings::parse(kind, body.settings.unwrap_or_else(|| serde_json::json!({})))?
            .to_json();
    let credentials = kind.parse_credentials(body.credentials.map(RawCredentials::from))?;
    let id = DestinationId::new();
    let sealed = credentials
        .as_ref()
        .map(|(credentials, _)| {
            destinations::seal_credentials(&state.keys, tenant, id, credentials)
                .map_err(|error| ApiError::Internal(error.into()))
        })
        .transpose()?;
    let client = db(&state).await?;
    let destination = destinations::insert(
        &client,
        NewDestination {
            id,
            tenant_id: tenant,
            kind,
            name: body.name.trim(),
            settings: &settings,
            sealed: sealed.as_ref(),
            access_token_expires_at: credentials.and_then(|(_, expires_at)| expires_at),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(destination.into())))
}

#[utoipa::path(
    get,
    path = "/v1/destinations",
    tag = "destinations",
    responses(
        (status = 200, description = "the tenant's destinations", body = Vec<DestinationView>),
        (status = 401, description = "missing or invalid API key, or bad signature", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden for this caller", body = crate::error::Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = []))
)]
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

#[utoipa::path(
    get,
    path = "/v1/destinations/{id}",
    tag = "destinations",
    params(("id" = uuid::Uuid, Path, description = "destination id")),
    responses(
        (status = 200, description = "the destination", body = DestinationView),
        (status = 401, description = "missing or invalid API key, or bad signature", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden for this caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "not found (or another tenant's)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field (the problem names it)", body = crate::error::Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = []))
)]
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
