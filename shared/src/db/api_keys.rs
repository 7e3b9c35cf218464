//! The `api_keys` table: keys are stored as SHA-256 hashes, never in clear.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::{DbError, GenericClient};
use crate::domain::{ApiKeyId, TenantId};

#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn from_row(row: &Row) -> Result<ApiKey, DbError> {
    Ok(ApiKey {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub async fn insert(
    client: &impl GenericClient,
    tenant_id: TenantId,
    name: &str,
    key_hash: &[u8],
    prefix: &str,
) -> Result<ApiKey, DbError> {
    let row = client
        .query_one(
            "INSERT INTO api_keys (id, tenant_id, name, key_hash, prefix)
             VALUES ($1, $2, $3, $4, $5)
             RETURNING id, tenant_id, name, prefix, created_at, revoked_at",
            &[&ApiKeyId::new(), &tenant_id, &name, &key_hash, &prefix],
        )
        .await?;
    from_row(&row)
}

/// The tenant owning the unrevoked key with this hash.
pub async fn tenant_for_hash(
    client: &impl GenericClient,
    key_hash: &[u8],
) -> Result<Option<TenantId>, DbError> {
    Ok(client
        .query_opt(
            "SELECT tenant_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
            &[&key_hash],
        )
        .await?
        .map(|row| row.try_get("tenant_id"))
        .transpose()?)
}

/// The keys of one tenant (`Some`) or of every tenant (`None`), newest first, revoked ones
/// included (without hashes).
pub async fn list(
    client: &impl GenericClient,
    tenant_id: Option<TenantId>,
) -> Result<Vec<ApiKey>, DbError> {
    client
        .query(
            "SELECT id, tenant_id, name, prefix, created_at, revoked_at FROM api_keys
             WHERE ($1::uuid IS NULL OR tenant_id = $1) ORDER BY created_at DESC, id",
            &[&tenant_id],
        )
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Revokes a key of the tenant (`Some`) or of any tenant (`None`, the operator) at once;
/// `None` when there is no such key. Revoking a revoked key keeps its first revocation time.
pub async fn revoke(
    client: &impl GenericClient,
    tenant_id: Option<TenantId>,
    id: ApiKeyId,
) -> Result<Option<ApiKey>, DbError> {
    client
        .query_opt(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
             WHERE ($1::uuid IS NULL OR tenant_id = $1) AND id = $2
             RETURNING id, tenant_id, name, prefix, created_at, revoked_at",
            &[&tenant_id, &id],
        )
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}
