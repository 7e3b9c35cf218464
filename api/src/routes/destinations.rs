//! `/v1/destinations`: where syncs write. Settings and credentials are validated per kind at
//! creation (`shared::domain::destination`, where the worker reads them too); credentials are
//! sealed and never shown again.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::db::destinations::{self, Destination, NewDestination};
use shared::domain::destination::{DestinationSettings, RawCredentials};
use shared::domain::{DestinationId, DestinationKind, Name, Timestamp};

use super::db;
use super::openapi::{problems, schemas};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, optional_object};
use crate::state::AppState;

/// The longest warehouse URL taken.
pub use shared::domain::destination::URL_MAX_BYTES;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDestination {
    #[schema(schema_with = schemas::destination_kind)]
    kind: String,
    #[schema(schema_with = schemas::name)]
    name: String,
    #[serde(default)]
    #[schema(schema_with = schemas::destination_settings)]
    settings: Option<serde_json::Value>,
    /// google_sheets: the Google OAuth tokens; warehouse: optionally the `url` of a PostgreSQL
    /// database other than adsync's own.
    #[serde(default, deserialize_with = "optional_object")]
    credentials: Option<CredentialsBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialsBody {
    /// warehouse only: `postgres://user:password@host:port/database`.
    #[serde(default)]
    #[schema(schema_with = schemas::optional_database_url)]
    url: Option<String>,
    /// google_sheets only (required there).
    #[serde(default)]
    #[schema(schema_with = schemas::optional_token)]
    access_token: Option<String>,
    /// google_sheets only.
    #[serde(default)]
    #[schema(schema_with = schemas::optional_token)]
    refresh_token: Option<String>,
    /// google_sheets only.
    #[serde(default)]
    #[schema(schema_with = schemas::optional_timestamp)]
    access_token_expires_at: Option<Timestamp>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DestinationView {
    #[schema(value_type = uuid::Uuid)]
    id: DestinationId,
    #[schema(schema_with = schemas::destination_kind)]
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
            access_token_expires_at: body.access_token_expires_at.map(Timestamp::instant),
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/destinations",
    operation_id = "create_destination",
    tag = "destinations",
    request_body = CreateDestination,
    responses(
        (status = 201, description = "the destination (credentials are never returned)", body = DestinationView),
        (status = 403, response = problems::Forbidden)
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
    let name = Name::parse("name", &body.name)?;
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
            name: name.as_str(),
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
    operation_id = "list_destinations",
    tag = "destinations",
    responses(
        (status = 200, description = "the tenant's destinations", body = Vec<DestinationView>),
        (status = 403, response = problems::Forbidden)
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
    operation_id = "get_destination",
    tag = "destinations",
    params(("id" = uuid::Uuid, Path, description = "destination id")),
    responses(
        (status = 200, description = "the destination", body = DestinationView),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound)
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
