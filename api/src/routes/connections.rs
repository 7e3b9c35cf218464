//! `/v1/connections`: stored platform credentials. Tokens are sealed with AES-256-GCM before
//! they are stored and are never returned.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::db::connections::{self, Connection, NewConnection, OAuthTokens};
use shared::domain::{ConnectionId, ConnectorKind, InvalidField};

use super::{check_name, db};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;

/// Tokens posted directly (headless use). The OAuth flow comes later.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateConnection {
    connector: String,
    name: String,
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    access_token_expires_at: Option<DateTime<Utc>>,
    /// Platform settings, such as Google Ads' `login_customer_id`.
    #[serde(default)]
    settings: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub struct ConnectionView {
    id: ConnectionId,
    connector: ConnectorKind,
    name: String,
    status: String,
    status_reason: Option<String>,
    access_token_expires_at: Option<DateTime<Utc>>,
    settings: serde_json::Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Connection> for ConnectionView {
    fn from(connection: Connection) -> Self {
        Self {
            id: connection.id,
            connector: connection.connector,
            name: connection.name,
            status: connection.status,
            status_reason: connection.status_reason,
            access_token_expires_at: connection.access_token_expires_at,
            settings: connection.settings,
            created_at: connection.created_at,
            updated_at: connection.updated_at,
        }
    }
}

fn check_token(field: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() || value.len() > 8192 || value.chars().any(char::is_whitespace) {
        return Err(InvalidField::new(
            field,
            "must be a non-empty token of at most 8192 characters without spaces",
        )
        .into());
    }
    Ok(())
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateConnection>,
) -> Result<(StatusCode, ApiJson<ConnectionView>), ApiError> {
    let tenant = caller.tenant()?;
    let connector: ConnectorKind = body.connector.parse()?;
    check_name("name", &body.name)?;
    check_token("access_token", &body.access_token)?;
    if let Some(refresh) = &body.refresh_token {
        check_token("refresh_token", refresh)?;
    }
    let settings = connector
        .parse_connection_settings(&body.settings.unwrap_or_else(|| serde_json::json!({})))?;
    let id = ConnectionId::new();
    let tokens = OAuthTokens {
        access_token: body.access_token,
        refresh_token: body.refresh_token,
    };
    let sealed = connections::seal_tokens(&state.keys, tenant, id, &tokens)
        .map_err(|error| ApiError::Internal(error.into()))?;
    let client = db(&state).await?;
    let connection = connections::insert(
        &client,
        NewConnection {
            id,
            tenant_id: tenant,
            connector,
            name: body.name.trim(),
            sealed: &sealed,
            access_token_expires_at: body.access_token_expires_at,
            settings: &settings,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(connection.into())))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<Vec<ConnectionView>>, ApiError> {
    let tenant = caller.tenant()?;
    let client = db(&state).await?;
    let list = connections::list(&client, tenant).await?;
    Ok(ApiJson(
        list.into_iter().map(ConnectionView::from).collect(),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ConnectionId>,
) -> Result<ApiJson<ConnectionView>, ApiError> {
    let tenant = caller.tenant()?;
    let client = db(&state).await?;
    connections::get(&client, tenant, id)
        .await?
        .map(|connection| ApiJson(connection.into()))
        .ok_or(ApiError::NotFound("connection"))
}
