//! The `accounts` table: ad accounts reachable through a connection.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::{DbError, GenericClient};
use crate::domain::{AccountId, ConnectionId, ConnectorKind, TenantId};

#[derive(Debug, Clone)]
pub struct Account {
    pub id: AccountId,
    pub tenant_id: TenantId,
    pub connection_id: ConnectionId,
    pub connector: ConnectorKind,
    /// The platform's id for the account.
    pub external_id: String,
    pub name: String,
    /// IANA time zone the platform reports the account's days in.
    pub time_zone: String,
    /// ISO 4217 code of the account's currency.
    pub currency: String,
    /// The platform id of the account requests for this one go through (Google Ads: the
    /// manager sent as `login-customer-id`), as discovery found it; `None` when they name none.
    pub reached_through: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn from_row(row: &Row) -> Result<Account, DbError> {
    let connector: String = row.try_get("connector")?;
    Ok(Account {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        connection_id: row.try_get("connection_id")?,
        connector: connector
            .parse()
            .map_err(|e| DbError::Corrupt(format!("accounts.connector: {e}")))?,
        external_id: row.try_get("external_id")?,
        name: row.try_get("name")?,
        time_zone: row.try_get("time_zone")?,
        currency: row.try_get("currency")?,
        reached_through: row.try_get("reached_through")?,
        created_at: row.try_get("created_at")?,
    })
}

pub struct NewAccount<'a> {
    pub tenant_id: TenantId,
    pub connection_id: ConnectionId,
    pub connector: ConnectorKind,
    pub external_id: &'a str,
    pub name: &'a str,
    pub time_zone: &'a str,
    pub currency: &'a str,
    pub reached_through: Option<&'a str>,
}

/// Inserts an account; `None` if the connection already has an account with that external id.
pub async fn insert(
    client: &impl GenericClient,
    new: NewAccount<'_>,
) -> Result<Option<Account>, DbError> {
    client
        .query_opt(
            "INSERT INTO accounts (id, tenant_id, connection_id, connector, external_id, name,
                 time_zone, currency, reached_through)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (connection_id, external_id) DO NOTHING
             RETURNING *",
            &[
                &AccountId::new(),
                &new.tenant_id,
                &new.connection_id,
                &new.connector.as_str(),
                &new.external_id,
                &new.name,
                &new.time_zone,
                &new.currency,
                &new.reached_through,
            ],
        )
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Records what the platform now says an account is reached through; `false` when the tenant
/// has no such account.
pub async fn set_reached_through(
    client: &impl GenericClient,
    tenant_id: TenantId,
    id: AccountId,
    reached_through: Option<&str>,
) -> Result<bool, DbError> {
    let changed = client
        .execute(
            "UPDATE accounts SET reached_through = $3 WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &id, &reached_through],
        )
        .await?;
    Ok(changed == 1)
}

pub async fn get(
    client: &impl GenericClient,
    tenant_id: TenantId,
    id: AccountId,
) -> Result<Option<Account>, DbError> {
    client
        .query_opt(
            "SELECT * FROM accounts WHERE tenant_id = $1 AND id = $2",
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
) -> Result<Vec<Account>, DbError> {
    client
        .query(
            "SELECT * FROM accounts WHERE tenant_id = $1 ORDER BY created_at, id",
            &[&tenant_id],
        )
        .await?
        .iter()
        .map(from_row)
        .collect()
}
