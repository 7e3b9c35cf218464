//! The `tenants` table.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::{DbError, GenericClient};
use crate::domain::{Plan, TenantId};

#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub plan: Plan,
    /// Most jobs of this tenant running at once (fairness between tenants).
    pub max_running_jobs: i32,
    pub created_at: DateTime<Utc>,
}

fn from_row(row: &Row) -> Result<Tenant, DbError> {
    let plan: String = row.try_get("plan")?;
    Ok(Tenant {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        plan: plan
            .parse()
            .map_err(|e| DbError::Corrupt(format!("tenants.plan: {e}")))?,
        max_running_jobs: row.try_get("max_running_jobs")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The running-job cap of a tenant created without one.
pub const DEFAULT_MAX_RUNNING_JOBS: i32 = 20;

pub async fn insert(
    client: &impl GenericClient,
    name: &str,
    plan: Plan,
    max_running_jobs: i32,
) -> Result<Tenant, DbError> {
    let row = client
        .query_one(
            "INSERT INTO tenants (id, name, plan, max_running_jobs) VALUES ($1, $2, $3, $4)
             RETURNING *",
            &[&TenantId::new(), &name, &plan.as_str(), &max_running_jobs],
        )
        .await?;
    from_row(&row)
}

pub async fn get(client: &impl GenericClient, id: TenantId) -> Result<Option<Tenant>, DbError> {
    client
        .query_opt("SELECT * FROM tenants WHERE id = $1", &[&id])
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn list(client: &impl GenericClient) -> Result<Vec<Tenant>, DbError> {
    client
        .query("SELECT * FROM tenants ORDER BY created_at, id", &[])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Changes a tenant's plan and, when given, its running-job cap; `None` when it does not exist.
pub async fn update(
    client: &impl GenericClient,
    id: TenantId,
    plan: Option<Plan>,
    max_running_jobs: Option<i32>,
) -> Result<Option<Tenant>, DbError> {
    client
        .query_opt(
            "UPDATE tenants SET plan = coalesce($2, plan),
                 max_running_jobs = coalesce($3, max_running_jobs)
             WHERE id = $1 RETURNING *",
            &[&id, &plan.map(|plan| plan.as_str()), &max_running_jobs],
        )
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}
