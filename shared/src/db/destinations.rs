//! The `destinations` table.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::{DbError, GenericClient};
use crate::domain::{DestinationId, DestinationKind, TenantId};

#[derive(Debug, Clone)]
pub struct Destination {
    pub id: DestinationId,
    pub tenant_id: TenantId,
    pub kind: DestinationKind,
    pub name: String,
    /// Kind-specific settings, validated on the way in (see `domain::destination`).
    pub settings: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

fn from_row(row: &Row) -> Result<Destination, DbError> {
    let kind: String = row.try_get("kind")?;
    Ok(Destination {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        kind: kind
            .parse()
            .map_err(|e| DbError::Corrupt(format!("destinations.kind: {e}")))?,
        name: row.try_get("name")?,
        settings: row.try_get("settings")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn insert(
    client: &impl GenericClient,
    tenant_id: TenantId,
    kind: DestinationKind,
    name: &str,
    settings: &serde_json::Value,
) -> Result<Destination, DbError> {
    let row = client
        .query_one(
            "INSERT INTO destinations (id, tenant_id, kind, name, settings)
             VALUES ($1, $2, $3, $4, $5) RETURNING *",
            &[
                &DestinationId::new(),
                &tenant_id,
                &kind.as_str(),
                &name,
                settings,
            ],
        )
        .await?;
    from_row(&row)
}

pub async fn get(
    client: &impl GenericClient,
    tenant_id: TenantId,
    id: DestinationId,
) -> Result<Option<Destination>, DbError> {
    client
        .query_opt(
            "SELECT * FROM destinations WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &id],
        )
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn list(
    client: &impl GenericClient,
    tenant_id: TenantId,
) -> Result<Vec<Destination>, DbError> {
    client
        .query(
            "SELECT * FROM destinations WHERE tenant_id = $1 ORDER BY created_at, id",
            &[&tenant_id],
        )
        .await?
        .iter()
        .map(from_row)
        .collect()
}
