//! `/v1/tenants`: the operator creates tenants; each starts with one API key, shown once.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::db::{api_keys, tenants};
use shared::domain::{InvalidField, Plan, TenantId};

use super::{check_name, db};
use crate::auth::{Caller, generate_key, hash_key};
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::routes::api_keys::CreatedKey;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    name: String,
    #[serde(default)]
    plan: Option<String>,
    /// Most of the tenant's jobs running at once; 20 when absent.
    #[serde(default)]
    max_running_jobs: Option<i32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TenantView {
    #[schema(value_type = uuid::Uuid)]
    id: TenantId,
    name: String,
    #[schema(value_type = String)]
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
    tag = "tenants",
    request_body = CreateTenant,
    responses(
        (status = 201, description = "the tenant and its first API key (shown once)", body = CreatedTenant),
        (status = 401, description = "missing or invalid API key, or bad signature", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden for this caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field (the problem names it)", body = crate::error::Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateTenant>,
) -> Result<(StatusCode, ApiJson<CreatedTenant>), ApiError> {
    caller.require_operator()?;
    check_name("name", &body.name)?;
    let plan = match body.plan.as_deref() {
        Some(plan) => plan.parse()?,
        None => Plan::Free,
    };
    let max_running_jobs = body
        .max_running_jobs
        .unwrap_or(tenants::DEFAULT_MAX_RUNNING_JOBS);
    if !(1..=10_000).contains(&max_running_jobs) {
        return Err(InvalidField::new("max_running_jobs", "must be between 1 and 10000").into());
    }
    let mut client = db(&state).await?;
    let transaction = client
        .transaction()
        .await
        .map_err(shared::db::DbError::from)?;
    let tenant = tenants::insert(&transaction, body.name.trim(), plan, max_running_jobs).await?;
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
    tag = "tenants",
    responses(
        (status = 200, description = "every tenant (operator only)", body = Vec<TenantView>),
        (status = 401, description = "missing or invalid API key, or bad signature", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden for this caller", body = crate::error::Problem, content_type = "application/problem+json")
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
    tag = "tenants",
    params(("id" = uuid::Uuid, Path, description = "tenant id")),
    responses(
        (status = 200, description = "the tenant", body = TenantView),
        (status = 401, description = "missing or invalid API key, or bad signature", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "not found (or another tenant's)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field (the problem names it)", body = crate::error::Problem, content_type = "application/problem+json")
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
    /// `free`, `pro` or `enterprise`.
    #[serde(default)]
    plan: Option<String>,
    #[serde(default)]
    max_running_jobs: Option<i32>,
}

/// Changes a tenant's plan or running-job cap (operator only).
#[utoipa::path(
    patch,
    path = "/v1/tenants/{id}",
    tag = "tenants",
    params(("id" = uuid::Uuid, Path, description = "tenant id")),
    request_body = UpdateTenant,
    responses(
        (status = 200, description = "the tenant, changed (operator only)", body = TenantView),
        (status = 401, description = "missing or invalid API key, or bad signature", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden for this caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "not found (or another tenant's)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field (the problem names it)", body = crate::error::Problem, content_type = "application/problem+json")
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
    if let Some(cap) = body.max_running_jobs
        && !(1..=10_000).contains(&cap)
    {
        return Err(InvalidField::new("max_running_jobs", "must be between 1 and 10000").into());
    }
    let client = db(&state).await?;
    tenants::update(&client, id, plan, body.max_running_jobs)
        .await?
        .map(|tenant| ApiJson(tenant.into()))
        .ok_or(ApiError::NotFound("tenant"))
}
