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
#[derive(Deserialize, utoipa::ToSchema)]
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionView {
    #[schema(value_type = uuid::Uuid)]
    id: ConnectionId,
    #[schema(value_type = String)]
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

#[utoipa::path(
    post,
    path = "/v1/connections",
    tag = "connections",
    request_body = CreateConnection,
    responses(
        (status = 201, description = "the connection (tokens are never returned)", body = ConnectionView),
        (status = 401, description = "missing or invalid API key, or bad signature", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden for this caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field (the problem names it)", body = crate::error::Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = []))
)]
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
    let settings = connectors::get(connector)
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

#[utoipa::path(
    get,
    path = "/v1/connections",
    tag = "connections",
    responses(
        (status = 200, description = "the tenant's connections", body = Vec<ConnectionView>),
        (status = 401, description = "missing or invalid API key, or bad signature", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden for this caller", body = crate::error::Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = []))
)]
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

#[utoipa::path(
    get,
    path = "/v1/connections/{id}",
    tag = "connections",
    params(("id" = uuid::Uuid, Path, description = "connection id")),
    responses(
        (status = 200, description = "the connection", body = ConnectionView),
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
    ApiPath(id): ApiPath<ConnectionId>,
) -> Result<ApiJson<ConnectionView>, ApiError> {
    let tenant = caller.tenant()?;
    let client = db(&state).await?;
    connections::get(&client, tenant, id)
        .await?
        .map(|connection| ApiJson(connection.into()))
        .ok_or(ApiError::NotFound("connection"))
}

/// Deletes a connection's access: revokes its grant at the platform where the platform has a
/// revocation endpoint (`connectors.<platform>.revoke_url`; best effort: a failure is logged and
/// the deletion goes on), erases its sealed tokens, marks it `revoked` and pauses every sync
/// reading through it. The row stays, for the accounts and job history that name it. Deleting a
/// revoked connection answers it again.
#[utoipa::path(
    delete,
    path = "/v1/connections/{id}",
    tag = "connections",
    params(("id" = uuid::Uuid, Path, description = "connection id")),
    responses(
        (status = 200, description = "the connection, revoked: grant revoked at the platform where it can be, tokens erased, syncs paused", body = ConnectionView),
        (status = 401, description = "missing or invalid API key", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden for this caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "not found (or another tenant's)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field (the problem names it)", body = crate::error::Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ConnectionId>,
) -> Result<ApiJson<ConnectionView>, ApiError> {
    let tenant = caller.tenant()?;
    let mut client = db(&state).await?;
    let existing = connections::get(&client, tenant, id)
        .await?
        .ok_or(ApiError::NotFound("connection"))?;
    match connections::open_tokens(&client, &state.keys, tenant, id).await {
        Ok(tokens) => revocation::revoke(&state, existing.connector, &tokens).await,
        Err(connections::TokensError::Missing(_)) => {}
        Err(error) => {
            tracing::warn!(connection_id = %id, %error, "the tokens could not be opened to revoke them at the platform");
        }
    }
    let transaction = client
        .transaction()
        .await
        .map_err(shared::db::DbError::from)?;
    let connection = connections::revoke(&transaction, tenant, id)
        .await?
        .ok_or(ApiError::NotFound("connection"))?;
    transaction
        .commit()
        .await
        .map_err(shared::db::DbError::from)?;
    tracing::info!(connection_id = %id, "connection revoked; its tokens are erased");
    Ok(ApiJson(connection.into()))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscoverBody {
    /// Also create the accounts not created yet (default false: only list them).
    #[serde(default)]
    create: bool,
}

/// An account the connection reaches, and the adsync account for it if there is one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DiscoveredAccount {
    external_id: String,
    name: String,
    time_zone: String,
    currency: String,
    /// The adsync account for it; `null` when none exists.
    #[schema(value_type = Option<uuid::Uuid>)]
    account_id: Option<shared::domain::AccountId>,
    /// Whether this request created that account.
    created: bool,
}

/// Lists the accounts the connection reaches, through the platform's connector, and with
/// `{"create": true}` creates those not created yet.
#[utoipa::path(
    post,
    path = "/v1/connections/{id}/accounts/discover",
    tag = "connections",
    params(("id" = uuid::Uuid, Path, description = "connection id")),
    request_body(content = DiscoverBody, description = "optional", content_type = "application/json"),
    responses(
        (status = 200, description = "the accounts the connection reaches", body = Vec<DiscoveredAccount>),
        (status = 401, description = "missing or invalid API key, or bad signature", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden for this caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "not found (or another tenant's)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field (the problem names it)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 502, description = "the platform failed", body = crate::error::Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = []))
)]
pub async fn discover(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ConnectionId>,
    body: axum::body::Bytes,
) -> Result<ApiJson<Vec<DiscoveredAccount>>, ApiError> {
    let tenant = caller.tenant()?;
    let create = if body.iter().all(u8::is_ascii_whitespace) {
        false
    } else {
        crate::error::parse_json::<DiscoverBody>(&body)?.create
    };
    let client = db(&state).await?;
    let connection = connections::get(&client, tenant, id)
        .await?
        .ok_or(ApiError::NotFound("connection"))?;
    if connection.status != "active" {
        return Err(ApiError::Conflict(format!(
            "the connection is {}: authorise it again",
            connection.status
        )));
    }
    drop(client);
    let found = discovery::list_accounts(&state, &connection).await?;
    let client = db(&state).await?;
    let existing = shared::db::accounts::list(&client, tenant).await?;
    let mut answer = Vec::with_capacity(found.len());
    for info in found {
        let mut account_id = existing
            .iter()
            .find(|account| account.connection_id == id && account.external_id == info.external_id)
            .map(|account| account.id);
        let mut created = false;
        let name: String = info.name.trim().chars().take(200).collect();
        if create
            && account_id.is_none()
            && !name.is_empty()
            && let Ok(external_id) =
                connectors::get(connection.connector).parse_account_id(&info.external_id)
            && let Some(account) = shared::db::accounts::insert(
                &client,
                shared::db::accounts::NewAccount {
                    tenant_id: tenant,
                    connection_id: id,
                    connector: connection.connector,
                    external_id: &external_id,
                    name: &name,
                    time_zone: &info.time_zone,
                    currency: &info.currency,
                },
            )
            .await?
        {
            account_id = Some(account.id);
            created = true;
        }
        answer.push(DiscoveredAccount {
            external_id: info.external_id,
            name: info.name,
            time_zone: info.time_zone,
            currency: info.currency,
            account_id,
            created,
        });
    }
    Ok(ApiJson(answer))
}

/// The platform's connector, driven from the API: a [`Platform`](connectors::platform::Platform)
/// opened the way the worker opens one for a job.
mod discovery {
    use std::sync::Arc;
    use std::sync::atomic::AtomicU32;

    use connectors::AccountInfo;
    use connectors::budget::Budgets;
    use connectors::platform::Platform;
    use shared::db::connections::Connection;
    use shared::error::{Classify, ErrorClass};

    use crate::error::ApiError;
    use crate::state::AppState;

    pub(super) async fn list_accounts(
        state: &AppState,
        connection: &Connection,
    ) -> Result<Vec<AccountInfo>, ApiError> {
        let connector = connection.connector;
        let platform = Platform::open(
            state.http.clone(),
            &state.connectors,
            state.pool.clone(),
            state.keys.clone(),
            connection,
            Budgets::new(state.pool.clone(), &state.config.connectors),
            Arc::new(AtomicU32::new(0)),
        )
        .await
        .map_err(|error| ApiError::Platform(format!("{connector}: {error}")))?;
        connectors::list_accounts(&platform)
            .await
            .map_err(|error| match error.class() {
                ErrorClass::Auth => ApiError::Conflict(format!(
                    "{connector} refused the connection's token: authorise it again"
                )),
                _ => ApiError::Platform(format!("{connector}: {error}")),
            })
    }
}

/// Revoking a grant at the platform, best effort.
mod revocation {
    use connectors::oauth::OAuthError;
    use shared::db::connections::OAuthTokens;
    use shared::domain::ConnectorKind;

    use crate::state::AppState;

    /// Asks the platform to revoke the grant, where it has OAuth and a revocation endpoint;
    /// logs (without URL or token) when it cannot.
    pub(super) async fn revoke(state: &AppState, connector: ConnectorKind, tokens: &OAuthTokens) {
        let settings = state.connectors.platform(connector);
        let Some(oauth) = connectors::get(connector).oauth() else {
            return;
        };
        if settings.revoke_url.is_empty() {
            return;
        }
        match oauth.revoke(&state.http, settings, tokens).await {
            Ok(()) => {
                tracing::info!(%connector, "grant revoked at the platform");
            }
            Err(OAuthError::Refused { status }) => {
                tracing::warn!(%connector, status, "the platform refused to revoke the grant; its tokens are erased anyway");
            }
            Err(OAuthError::Failed(error)) => {
                tracing::warn!(%connector, %error, "revoking the grant at the platform failed; its tokens are erased anyway");
            }
        }
    }
}
