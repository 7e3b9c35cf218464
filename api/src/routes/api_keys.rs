//! `/v1/api_keys`: more keys for the calling tenant. A key is shown once, at creation.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::db::api_keys::{self, ApiKey};
use shared::domain::{ApiKeyId, InvalidField, Name, TenantId};

use super::db;
use super::openapi::{problems, schemas};
use crate::auth::{Caller, generate_key, hash_key};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    #[schema(schema_with = schemas::name)]
    name: String,
}

/// A key as returned once at creation: the only time `key` is ever shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    #[schema(value_type = uuid::Uuid)]
    id: ApiKeyId,
    name: String,
    prefix: String,
    key: String,
    created_at: DateTime<Utc>,
}

impl CreatedKey {
    pub(crate) fn new(stored: ApiKey, key: String) -> Self {
        Self {
            id: stored.id,
            name: stored.name,
            prefix: stored.prefix,
            key,
            created_at: stored.created_at,
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/api_keys",
    operation_id = "create_api_key",
    tag = "api_keys",
    request_body = CreateKey,
    responses(
        (status = 201, description = "the key, shown this once", body = CreatedKey),
        (status = 403, response = problems::Forbidden)
    ),
    security(("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateKey>,
) -> Result<(StatusCode, ApiJson<CreatedKey>), ApiError> {
    let tenant = caller.tenant()?;
    let name = Name::parse("name", &body.name)?;
    let (key, prefix) = generate_key();
    let client = db(&state).await?;
    let stored = api_keys::insert(&client, tenant, name.as_str(), &hash_key(&key), &prefix).await?;
    Ok((StatusCode::CREATED, ApiJson(CreatedKey::new(stored, key))))
}

/// A key as listed: never the key itself, only the prefix people tell keys apart by.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    #[schema(value_type = uuid::Uuid)]
    id: ApiKeyId,
    #[schema(value_type = uuid::Uuid)]
    tenant_id: TenantId,
    name: String,
    prefix: String,
    created_at: DateTime<Utc>,
    /// When the key stopped working; `null` while it works.
    revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for KeyView {
    fn from(key: ApiKey) -> Self {
        Self {
            id: key.id,
            tenant_id: key.tenant_id,
            name: key.name,
            prefix: key.prefix,
            created_at: key.created_at,
            revoked_at: key.revoked_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KeyQuery {
    /// Operator only: the tenant whose keys to list (every tenant's when absent).
    #[serde(default)]
    #[param(value_type = Option<uuid::Uuid>)]
    tenant_id: Option<TenantId>,
}

/// The calling tenant's keys (the operator: every tenant's, or `tenant_id`'s), newest first,
/// revoked ones included.
#[utoipa::path(
    get,
    path = "/v1/api_keys",
    operation_id = "list_api_keys",
    tag = "api_keys",
    params(KeyQuery),
    responses(
        (status = 200, description = "the tenant's keys, without secrets", body = Vec<KeyView>)
    ),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<KeyQuery>,
) -> Result<ApiJson<Vec<KeyView>>, ApiError> {
    let scope = match (caller.scope(), query.tenant_id) {
        (Some(_), Some(_)) => {
            return Err(InvalidField::new(
                "tenant_id",
                "only the operator key chooses a tenant; a tenant's key lists its own keys",
            )
            .into());
        }
        (Some(tenant), None) => Some(tenant),
        (None, chosen) => chosen,
    };
    let client = db(&state).await?;
    let keys = api_keys::list(&client, scope).await?;
    Ok(ApiJson(keys.into_iter().map(KeyView::from).collect()))
}

/// Revokes one of the calling tenant's keys (the operator: any tenant's key, such as a leaked
/// one): it stops working with the next request.
#[utoipa::path(
    delete,
    path = "/v1/api_keys/{id}",
    operation_id = "revoke_api_key",
    tag = "api_keys",
    params(("id" = uuid::Uuid, Path, description = "API key id")),
    responses(
        (status = 200, description = "the key, revoked: it stops working at once", body = KeyView),
        (status = 404, response = problems::NotFound)
    ),
    security(("api_key" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ApiKeyId>,
) -> Result<ApiJson<KeyView>, ApiError> {
    let client = db(&state).await?;
    api_keys::revoke(&client, caller.scope(), id)
        .await?
        .map(|key| ApiJson(key.into()))
        .ok_or(ApiError::NotFound("api key"))
}
