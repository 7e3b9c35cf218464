//! `/v1/connections`: stored platform credentials. Tokens are sealed with AES-256-GCM before
//! they are stored and are never returned.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::db::connections::{self, Connection, NewConnection, OAuthTokens};
use shared::domain::text::{TOKEN_MAX_BYTES, check_token};
use shared::domain::{ConnectionId, ConnectorKind, Name, Timestamp};

use super::db;
use super::openapi::{problems, schemas};
use crate::auth::Caller;
use crate::error::{ApiBody, ApiError, ApiJson, ApiPath};
use crate::state::AppState;

/// Tokens posted directly (headless use; AppsFlyer's API token). Platforms with OAuth can also
/// be connected through `/v1/connections/{platform}/authorize`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConnection {
    #[schema(schema_with = schemas::connector)]
    connector: String,
    #[schema(schema_with = schemas::name)]
    name: String,
    #[schema(schema_with = schemas::token)]
    access_token: String,
    #[serde(default)]
    #[schema(schema_with = schemas::optional_token)]
    refresh_token: Option<String>,
    #[serde(default)]
    #[schema(schema_with = schemas::optional_timestamp)]
    access_token_expires_at: Option<Timestamp>,
    /// Platform settings, such as Google Ads' `login_customer_id`.
    #[serde(default)]
    #[schema(schema_with = schemas::connection_settings)]
    settings: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionView {
    #[schema(value_type = uuid::Uuid)]
    id: ConnectionId,
    #[schema(schema_with = schemas::connector)]
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

#[utoipa::path(
    post,
    path = "/v1/connections",
    operation_id = "create_connection",
    tag = "connections",
    request_body = CreateConnection,
    responses(
        (status = 201, description = "the connection (tokens are never returned)", body = ConnectionView),
        (status = 403, response = problems::Forbidden)
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
    let name = Name::parse("name", &body.name)?;
    check_token("access_token", &body.access_token, TOKEN_MAX_BYTES)?;
    if let Some(refresh) = &body.refresh_token {
        check_token("refresh_token", refresh, TOKEN_MAX_BYTES)?;
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
            name: name.as_str(),
            sealed: &sealed,
            access_token_expires_at: body.access_token_expires_at.map(Timestamp::instant),
            settings: &settings,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(connection.into())))
}

#[utoipa::path(
    get,
    path = "/v1/connections",
    operation_id = "list_connections",
    tag = "connections",
    responses(
        (status = 200, description = "the tenant's connections", body = Vec<ConnectionView>),
        (status = 403, response = problems::Forbidden)
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
    operation_id = "get_connection",
    tag = "connections",
    params(("id" = uuid::Uuid, Path, description = "connection id")),
    responses(
        (status = 200, description = "the connection", body = ConnectionView),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound)
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
    operation_id = "delete_connection",
    tag = "connections",
    params(("id" = uuid::Uuid, Path, description = "connection id")),
    responses(
        (status = 200, description = "the connection, revoked: grant revoked at the platform where it can be, tokens erased, syncs paused", body = ConnectionView),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound)
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
    /// As the platform gives them.
    external_id: String,
    name: String,
    time_zone: String,
    currency: String,
    /// The platform account requests for it must go through (Google Ads: the manager sent as
    /// `login-customer-id`, found by walking the managers' hierarchies); `null` when none.
    reached_through: Option<String>,
    /// The adsync account for it; `null` when none exists.
    #[schema(value_type = Option<uuid::Uuid>)]
    account_id: Option<shared::domain::AccountId>,
    /// Whether this request created that account.
    created: bool,
    /// Why the account could not be created from what the platform says (an id, name, time
    /// zone or currency adsync does not accept); it can be posted to `/v1/accounts` instead.
    /// `null` when it can be created.
    #[serde(skip_serializing_if = "Option::is_none")]
    not_creatable: Option<String>,
}

/// Lists the accounts the connection reaches, through the platform's connector, and with
/// `{"create": true}` creates those not created yet.
#[utoipa::path(
    post,
    path = "/v1/connections/{id}/accounts/discover",
    operation_id = "discover_accounts",
    tag = "connections",
    params(("id" = uuid::Uuid, Path, description = "connection id")),
    request_body(content = DiscoverBody, description = "optional: without a body, discovery only lists", content_type = "application/json"),
    responses(
        (status = 200, description = "the accounts the connection reaches", body = Vec<DiscoveredAccount>),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        (status = 409, response = problems::Conflict),
        (status = 502, response = problems::PlatformError)
    ),
    security(("api_key" = []))
)]
pub async fn discover(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ConnectionId>,
    headers: axum::http::HeaderMap,
    ApiBody(body): ApiBody,
) -> Result<ApiJson<Vec<DiscoveredAccount>>, ApiError> {
    let tenant = caller.tenant()?;
    let create = if body.iter().all(u8::is_ascii_whitespace) {
        false
    } else if !crate::error::is_json(&headers) {
        return Err(crate::error::not_json());
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
        let known = existing
            .iter()
            .find(|account| account.connection_id == id && account.external_id == info.external_id);
        let mut account_id = known.map(|account| account.id);
        // An account created earlier learns where the platform now says it is reached through
        // (a client moved to another manager, or created before discovery recorded it).
        if create
            && let Some(account) = known
            && account.reached_through != info.reached_through
        {
            shared::db::accounts::set_reached_through(
                &client,
                tenant,
                account.id,
                info.reached_through.as_deref(),
            )
            .await?;
        }
        let mut created = false;
        let creatable = creatable(connection.connector, &info);
        if create
            && account_id.is_none()
            && let Ok((external_id, name)) = &creatable
            && let Some(account) = shared::db::accounts::insert(
                &client,
                shared::db::accounts::NewAccount {
                    tenant_id: tenant,
                    connection_id: id,
                    connector: connection.connector,
                    external_id,
                    name: name.as_str(),
                    time_zone: &info.time_zone,
                    currency: &info.currency,
                    reached_through: info.reached_through.as_deref(),
                },
            )
            .await?
        {
            account_id = Some(account.id);
            created = true;
        }
        answer.push(DiscoveredAccount {
            not_creatable: creatable.err().map(|invalid| invalid.to_string()),
            external_id: info.external_id,
            name: info.name,
            time_zone: info.time_zone,
            currency: info.currency,
            reached_through: info.reached_through,
            account_id,
            created,
        });
    }
    Ok(ApiJson(answer))
}

/// The id and name an account the platform listed would be created with, checked by the rules
/// of `POST /v1/accounts`. A display name the platform allows and adsync does not (control
/// characters, more than 200 characters) is cleaned rather than refused: controls become
/// spaces and the name is cut.
fn creatable(
    connector: ConnectorKind,
    info: &connectors::AccountInfo,
) -> Result<(String, Name), shared::domain::InvalidField> {
    let external_id = connectors::get(connector).parse_account_id(&info.external_id)?;
    let cleaned: String = info
        .name
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let cleaned: String = cleaned
        .trim()
        .chars()
        .take(shared::domain::text::NAME_MAX_CHARS)
        .collect();
    let name = Name::parse("name", &cleaned)?;
    shared::domain::schedule::parse_time_zone(&info.time_zone, "time_zone")?;
    shared::domain::currency::check_code("currency", &info.currency)?;
    Ok((external_id, name))
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
        // Opening the tokens reads and decrypts them here: nothing reaches the platform.
        .map_err(|error| match error {
            connectors::tokens::TokenError::Db(db) => ApiError::from(db),
            other => ApiError::Internal(
                anyhow::Error::new(other).context("opening the connection's tokens"),
            ),
        })?;
        connectors::list_accounts(&platform)
            .await
            .map_err(|error| match error.class() {
                ErrorClass::Auth => ApiError::Conflict(format!(
                    "{connector} refused the connection's token: authorise it again"
                )),
                ErrorClass::Transient { .. }
                | ErrorClass::Throttled { .. }
                | ErrorClass::Permanent
                | ErrorClass::Cancelled => {
                    if nothing_sent(&error) {
                        // Not the platform's fault: the request could not even be made.
                        ApiError::Internal(
                            anyhow::Error::new(error)
                                .context(format!("listing {connector} accounts")),
                        )
                    } else {
                        ApiError::Platform(format!("{connector}: {error}"))
                    }
                }
            })
    }

    /// Whether `error` is a request that could not be built, so nothing left adsync.
    fn nothing_sent(error: &(dyn std::error::Error + 'static)) -> bool {
        let mut cause = Some(error);
        while let Some(current) = cause {
            if current
                .downcast_ref::<reqwest::Error>()
                .is_some_and(reqwest::Error::is_builder)
            {
                return true;
            }
            cause = current.source();
        }
        false
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
            Err(OAuthError::Failed(error) | OAuthError::NotSent(error)) => {
                tracing::warn!(%connector, %error, "revoking the grant at the platform failed; its tokens are erased anyway");
            }
        }
    }
}
