//! `/v1/tenants`: the operator creates tenants; each starts with one API key, shown once.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::db::{api_keys, tenants};
use shared::domain::{InvalidField, Name, Plan, TenantId};

use super::db;
use super::openapi::{problems, schemas};
use crate::auth::{Caller, generate_key, hash_key};
use crate::error::{ApiError, ApiJson, ApiPath, optional_int};
use crate::routes::api_keys::CreatedKey;
use crate::state::AppState;

/// The least and the most jobs of a tenant that may run at once.
pub const MAX_RUNNING_JOBS: (i32, i32) = (1, 10_000);

fn check_max_running_jobs(cap: i32) -> Result<i32, InvalidField> {
    let (min, max) = MAX_RUNNING_JOBS;
    if (min..=max).contains(&cap) {
        Ok(cap)
    } else {
        Err(InvalidField::new(
            "max_running_jobs",
            format!("must be between {min} and {max}"),
        ))
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    #[schema(schema_with = schemas::name)]
    name: String,
    #[serde(default)]
    #[schema(schema_with = schemas::plan)]
    plan: Option<String>,
    /// Most of the tenant's jobs running at once; 20 when absent.
    #[serde(default, deserialize_with = "optional_int")]
    #[schema(schema_with = schemas::max_running_jobs)]
    max_running_jobs: Option<i32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TenantView {
    #[schema(value_type = uuid::Uuid)]
    id: TenantId,
    name: String,
    #[schema(schema_with = schemas::plan_value)]
    plan: Plan,
    max_running_jobs: i32,
    created_at: DateTime<Utc>,
}

impl From<tenants::Tenant> for TenantView {
    fn from(tenant: tenants::Tenant) -> Self {
        Self {
            id: tenant.id,
            name: tenant.name,
            plan: tenant.plan,
            max_running_jobs: tenant.max_running_jobs,
            created_at: tenant.created_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedTenant {
    tenant: TenantView,
    api_key: CreatedKey,
}

#[utoipa::path(
    post,
    path = "/v1/tenants",
    operation_id = "create_tenant",
    tag = "tenants",
    request_body = CreateTenant,
    responses(
        (status = 201, description = "the tenant and its first API key (shown once)", body = CreatedTenant),
        (status = 403, response = problems::Forbidden)
    ),
    security(("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateTenant>,
) -> Result<(StatusCode, ApiJson<CreatedTenant>), ApiError> {
    caller.require_operator()?;
    let name = Name::parse("name", &body.name)?;
    let plan = match body.plan.as_deref() {
        Some(plan) => plan.parse()?,
        None => Plan::Free,
    };
    let max_running_jobs = check_max_running_jobs(
        body.max_running_jobs
            .unwrap_or(tenants::DEFAULT_MAX_RUNNING_JOBS),
    )?;
    let mut client = db(&state).await?;
    let transaction = client
        .transaction()
        .await
        .map_err(shared::db::DbError::from)?;
    let tenant = tenants::insert(&transaction, name.as_str(), plan, max_running_jobs).await?;
    let (key, prefix) = generate_key();
    let stored =
        api_keys::insert(&transaction, tenant.id, "initial", &hash_key(&key), &prefix).await?;
    transaction
        .commit()
        .await
        .map_err(shared::db::DbError::from)?;
    Ok((
        StatusCode::CREATED,
        ApiJson(CreatedTenant {
            tenant: tenant.into(),
            api_key: CreatedKey::new(stored, key),
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/tenants",
    operation_id = "list_tenants",
    tag = "tenants",
    responses(
        (status = 200, description = "every tenant (operator only)", body = Vec<TenantView>),
        (status = 403, response = problems::Forbidden)
    ),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<Vec<TenantView>>, ApiError> {
    caller.require_operator()?;
    let client = db(&state).await?;
    let tenants = tenants::list(&client).await?;
    Ok(ApiJson(tenants.into_iter().map(TenantView::from).collect()))
}

/// One tenant: the operator sees any, a tenant only itself (another tenant answers 404).
#[utoipa::path(
    get,
    path = "/v1/tenants/{id}",
    operation_id = "get_tenant",
    tag = "tenants",
    params(("id" = uuid::Uuid, Path, description = "tenant id")),
    responses(
        (status = 200, description = "the tenant", body = TenantView),
        (status = 404, response = problems::NotFound)
    ),
    security(("api_key" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<TenantId>,
) -> Result<ApiJson<TenantView>, ApiError> {
    if caller.scope().is_some_and(|tenant| tenant != id) {
        return Err(ApiError::NotFound("tenant"));
    }
    let client = db(&state).await?;
    tenants::get(&client, id)
        .await?
        .map(|tenant| ApiJson(tenant.into()))
        .ok_or(ApiError::NotFound("tenant"))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    /// Unchanged when absent.
    #[serde(default)]
    #[schema(schema_with = schemas::plan)]
    plan: Option<String>,
    /// Unchanged when absent.
    #[serde(default, deserialize_with = "optional_int")]
    #[schema(schema_with = schemas::max_running_jobs)]
    max_running_jobs: Option<i32>,
}

/// Changes a tenant's plan or running-job cap (operator only).
#[utoipa::path(
    patch,
    path = "/v1/tenants/{id}",
    operation_id = "update_tenant",
    tag = "tenants",
    params(("id" = uuid::Uuid, Path, description = "tenant id")),
    request_body = UpdateTenant,
    responses(
        (status = 200, description = "the tenant, changed (operator only)", body = TenantView),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound)
    ),
    security(("api_key" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<TenantId>,
    ApiJson(body): ApiJson<UpdateTenant>,
) -> Result<ApiJson<TenantView>, ApiError> {
    caller.require_operator()?;
    let plan: Option<Plan> = body.plan.as_deref().map(str::parse).transpose()?;
    let max_running_jobs = body
        .max_running_jobs
        .map(check_max_running_jobs)
        .transpose()?;
    let client = db(&state).await?;
    tenants::update(&client, id, plan, max_running_jobs)
        .await?
        .map(|tenant| ApiJson(tenant.into()))
        .ok_or(ApiError::NotFound("tenant"))
}
