//! `/v1/destinations`: where syncs write. Settings and credentials are validated per kind at
//! creation; credentials are sealed and never shown again.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::db::connections::OAuthTokens;
use shared::db::destinations::{self, Credentials, Destination, NewDestination};
use shared::domain::destination::{SheetsSettings, WarehouseSettings};
use shared::domain::{DestinationId, DestinationKind, InvalidField};

use super::{check_name, db};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, missing_field};
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

/// Parses and validates a kind's settings, returning them in canonical form.
fn validate_settings(
    kind: DestinationKind,
    settings: serde_json::Value,
) -> Result<serde_json::Value, ApiError> {
    let canonical = match kind {
        DestinationKind::Warehouse => {
            let parsed: WarehouseSettings = parse_settings(settings)?;
            serde_json::to_value(parsed.validate()?)
        }
        DestinationKind::GoogleSheets => {
            let parsed: SheetsSettings = parse_settings(settings)?;
            serde_json::to_value(parsed.validate()?)
        }
    };
    canonical.map_err(|error| ApiError::Internal(error.into()))
}

fn parse_settings<T: serde::de::DeserializeOwned>(
    settings: serde_json::Value,
) -> Result<T, InvalidField> {
    serde_path_to_error::deserialize(settings).map_err(|error| {
        let path = error.path().to_string();
        let mut field = if path == "." {
            "settings".to_owned()
        } else {
            format!("settings.{path}")
        };
        let message = error.inner().to_string();
        // The path of an unknown field names it; a missing one only its parent.
        if let Some(name) = missing_field(&message) {
            field = format!("{field}.{name}");
        }
        InvalidField::new(field, message)
    })
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
                || url.parse::<tokio_postgres::Config>().is_err()
            {
                return refuse(
                    "url",
                    "is not a PostgreSQL URL (postgres://user:password@host:port/database)",
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
            let Some(access_token) = body.access_token.filter(|token| !token.trim().is_empty())
            else {
                return refuse("access_token", "is required");
            };
            if body
                .refresh_token
                .as_ref()
                .is_some_and(|token| token.trim().is_empty())
            {
                return refuse("refresh_token", "must not be empty");
            }
            Ok(Some((
                Credentials::OAuth(OAuthTokens {
                    access_token,
                    refresh_token: body.refresh_token,
                }),
                body.access_token_expires_at,
            )))
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
