//! `/v1/accounts`: ad accounts reachable through a connection, posted directly (or created by
//! `POST /v1/connections/{id}/accounts/discover`).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::db::accounts::{self, Account, NewAccount};
use shared::db::connections;
use shared::domain::schedule::parse_time_zone;
use shared::domain::{AccountId, ConnectionId, ConnectorKind, InvalidField, Name};

use super::db;
use super::openapi::{problems, schemas};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;

/// The longest platform account id any platform takes (an AppsFlyer app id).
pub const EXTERNAL_ID_MAX_CHARS: usize = 100;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    #[schema(value_type = uuid::Uuid)]
    connection_id: ConnectionId,
    #[schema(schema_with = schemas::external_id)]
    external_id: String,
    #[schema(schema_with = schemas::name)]
    name: String,
    #[schema(schema_with = schemas::time_zone)]
    time_zone: String,
    #[schema(schema_with = schemas::currency)]
    currency: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    #[schema(value_type = uuid::Uuid)]
    id: AccountId,
    #[schema(value_type = uuid::Uuid)]
    connection_id: ConnectionId,
    #[schema(schema_with = schemas::connector)]
    connector: ConnectorKind,
    external_id: String,
    name: String,
    time_zone: String,
    currency: String,
    /// The platform account requests for this one go through, as discovery found it (Google
    /// Ads: the manager sent as `login-customer-id`); `null` when none, or when the connection's
    /// settings name it.
    reached_through: Option<String>,
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
            reached_through: account.reached_through,
            created_at: account.created_at,
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/accounts",
    operation_id = "create_account",
    tag = "accounts",
    request_body = CreateAccount,
    responses(
        (status = 201, description = "the account", body = AccountView),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        (status = 409, response = problems::Conflict)
    ),
    security(("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateAccount>,
) -> Result<(StatusCode, ApiJson<AccountView>), ApiError> {
    let tenant = caller.tenant()?;
    if body.external_id.chars().count() > EXTERNAL_ID_MAX_CHARS {
        return Err(InvalidField::new(
            "external_id",
            format!("must be at most {EXTERNAL_ID_MAX_CHARS} characters"),
        )
        .into());
    }
    let name = Name::parse("name", &body.name)?;
    parse_time_zone(&body.time_zone, "time_zone")?;
    shared::domain::currency::check_code("currency", &body.currency)?;
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
            name: name.as_str(),
            time_zone: &body.time_zone,
            currency: &body.currency,
            reached_through: None,
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
    operation_id = "list_accounts",
    tag = "accounts",
    responses(
        (status = 200, description = "the tenant's accounts", body = Vec<AccountView>),
        (status = 403, response = problems::Forbidden)
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
    operation_id = "get_account",
    tag = "accounts",
    params(("id" = uuid::Uuid, Path, description = "account id")),
    responses(
        (status = 200, description = "the account", body = AccountView),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound)
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
