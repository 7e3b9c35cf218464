//! `/v1/accounts`: ad accounts reachable through a connection. Posted directly for now;
//! discovery through the connection comes with the OAuth flow.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::db::accounts::{self, Account, NewAccount};
use shared::db::connections;
use shared::domain::schedule::parse_time_zone;
use shared::domain::{AccountId, ConnectionId, ConnectorKind, InvalidField};

use super::{check_name, db};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    #[schema(value_type = uuid::Uuid)]
    connection_id: ConnectionId,
    external_id: String,
    name: String,
    time_zone: String,
    currency: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    #[schema(value_type = uuid::Uuid)]
    id: AccountId,
    #[schema(value_type = uuid::Uuid)]
    connection_id: ConnectionId,
    #[schema(value_type = String)]
    connector: ConnectorKind,
    external_id: String,
    name: String,
    time_zone: String,
    currency: String,
    created_at: DateTime<Utc>,
}

impl From<Account> for AccountView {
    fn from(account: Account) -> Self {
        Self {
            id: account.id,
            connection_id: account.connection_id,
            connector: account.connector,
            external_id: account.external_id,
            name: account.name,
            time_zone: account.time_zone,
            currency: account.currency,
            created_at: account.created_at,
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/accounts",
    tag = "accounts",
    request_body = CreateAccount,
    responses(
        (status = 201, description = "the account", body = AccountView),
        (status = 401, description = "missing or invalid API key, or bad signature", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden for this caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "not found (or another tenant's)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field (the problem names it)", body = crate::error::Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateAccount>,
) -> Result<(StatusCode, ApiJson<AccountView>), ApiError> {
    let tenant = caller.tenant()?;
    check_name("name", &body.name)?;
    parse_time_zone(&body.time_zone, "time_zone")?;
    if body.currency.len() != 3 || !body.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(InvalidField::new(
            "currency",
            format!(
                "{:?} is not an ISO 4217 code such as \"EUR\"",
                body.currency
            ),
        )
        .into());
    }
    let client = db(&state).await?;
    let connection = connections::get(&client, tenant, body.connection_id)
        .await?
        .ok_or(ApiError::NotFound("connection"))?;
    let external_id = connectors::get(connection.connector).parse_account_id(&body.external_id)?;
    let account = accounts::insert(
        &client,
        NewAccount {
            tenant_id: tenant,
            connection_id: connection.id,
            connector: connection.connector,
            external_id: &external_id,
            name: body.name.trim(),
            time_zone: &body.time_zone,
            currency: &body.currency,
        },
    )
    .await?
    .ok_or_else(|| {
        ApiError::Conflict(format!(
            "the connection already has an account with external_id {external_id}"
        ))
    })?;
    Ok((StatusCode::CREATED, ApiJson(account.into())))
}

#[utoipa::path(
    get,
    path = "/v1/accounts",
    tag = "accounts",
    responses(
        (status = 200, description = "the tenant's accounts", body = Vec<AccountView>),
        (status = 401, description = "missing or invalid API key, or bad signature", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden for this caller", body = crate::error::Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<Vec<AccountView>>, ApiError> {
    let tenant = caller.tenant()?;
    let client = db(&state).await?;
    let list = accounts::list(&client, tenant).await?;
    Ok(ApiJson(list.into_iter().map(AccountView::from).collect()))
}

#[utoipa::path(
    get,
    path = "/v1/accounts/{id}",
    tag = "accounts",
    params(("id" = uuid::Uuid, Path, description = "account id")),
    responses(
        (status = 200, description = "the account", body = AccountView),
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
    ApiPath(id): ApiPath<AccountId>,
) -> Result<ApiJson<AccountView>, ApiError> {
    let tenant = caller.tenant()?;
    let client = db(&state).await?;
    accounts::get(&client, tenant, id)
        .await?
        .map(|account| ApiJson(account.into()))
        .ok_or(ApiError::NotFound("account"))
}
