//! `/v1/destinations`: where syncs write. Settings and credentials are validated per kind at
//! creation; credentials are sealed and never shown again.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::db::connections::OAuthTokens;
use shared::db::destinations::{self, Credentials, Destination, NewDestination};
use shared::domain::destination::{SheetsSettings, WarehouseSettings};
use shared::domain::text::{TOKEN_MAX_BYTES, check_token};
use shared::domain::{DestinationId, DestinationKind, InvalidField, Name, Timestamp};

use super::db;
use super::openapi::{problems, schemas};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, from_object, optional_object};
use crate::state::AppState;

/// The longest warehouse URL taken.
pub const URL_MAX_BYTES: usize = 2000;

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

/// Parses and validates a kind's settings, returning them in canonical form.
fn validate_settings(
    kind: DestinationKind,
    settings: serde_json::Value,
) -> Result<serde_json::Value, ApiError> {
    let canonical = match kind {
        DestinationKind::Warehouse => {
            let parsed: WarehouseSettings = from_object("settings", settings)?;
            serde_json::to_value(parsed.validate()?)
        }
        DestinationKind::GoogleSheets => {
            let parsed: SheetsSettings = from_object("settings", settings)?;
            serde_json::to_value(parsed.validate()?)
        }
    };
    canonical.map_err(|error| ApiError::Internal(error.into()))
}

/// Credentials as posted, with the access token's expiry when they are OAuth tokens.
type PostedCredentials = (Credentials, Option<DateTime<Utc>>);

/// Checks a kind's credentials: what it needs, nothing it does not.
fn validate_credentials(
    kind: DestinationKind,
    credentials: Option<CredentialsBody>,
) -> Result<Option<PostedCredentials>, InvalidField> {
    let refuse = |field: &str, message: &str| {
        Err(InvalidField::new(
            format!("credentials.{field}"),
            message.to_owned(),
        ))
    };
    match (kind, credentials) {
        (DestinationKind::Warehouse, None) => Ok(None),
        (DestinationKind::Warehouse, Some(body)) => {
            if body.access_token.is_some()
                || body.refresh_token.is_some()
                || body.access_token_expires_at.is_some()
            {
                return refuse("access_token", "a warehouse takes only a url");
            }
            let Some(url) = body.url.filter(|url| !url.trim().is_empty()) else {
                return refuse("url", "is required: the PostgreSQL URL of the warehouse");
            };
            // The URL holds a password: the message must not repeat it.
            if !url.starts_with("postgres://") && !url.starts_with("postgresql://")
                || url.len() > URL_MAX_BYTES
                || !url.bytes().all(|b| b.is_ascii_graphic())
                || url.parse::<tokio_postgres::Config>().is_err()
            {
                return refuse(
                    "url",
                    "is not a PostgreSQL URL (postgres://user:password@host:port/database, at most 2000 visible ASCII characters, percent-encoded)",
                );
            }
            Ok(Some((Credentials::DatabaseUrl(url), None)))
        }
        (DestinationKind::GoogleSheets, None) => Err(InvalidField::new(
            "credentials",
            "a google_sheets destination needs the Google account's OAuth tokens",
        )),
        (DestinationKind::GoogleSheets, Some(body)) => {
            if body.url.is_some() {
                return refuse("url", "a google_sheets destination takes OAuth tokens");
            }
            let Some(access_token) = body.access_token else {
                return refuse("access_token", "is required");
            };
            check_token("credentials.access_token", &access_token, TOKEN_MAX_BYTES)?;
            if let Some(refresh) = &body.refresh_token {
                check_token("credentials.refresh_token", refresh, TOKEN_MAX_BYTES)?;
            }
            Ok(Some((
                Credentials::OAuth(OAuthTokens {
                    access_token,
                    refresh_token: body.refresh_token,
                }),
                body.access_token_expires_at.map(Timestamp::instant),
            )))
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
    let settings = validate_settings(kind, body.settings.unwrap_or_else(|| serde_json::json!({})))?;
    let credentials = validate_credentials(kind, body.credentials)?;
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
