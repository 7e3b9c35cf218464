//! The `connections` table. OAuth tokens are sealed with the key ring before they reach this
//! module and are only opened by the worker; no function here returns them in clear.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;

use super::{DbError, GenericClient};
use crate::crypto::{CryptoError, KeyRing, Sealed};
use crate::domain::{ConnectionId, ConnectorKind, TenantId};

#[derive(Debug, Clone)]
pub struct Connection {
    pub id: ConnectionId,
    pub tenant_id: TenantId,
    pub connector: ConnectorKind,
    pub name: String,
    /// `active`, `needs_reauth`, or `revoked` (deleted: its tokens are erased).
    pub status: String,
    pub status_reason: Option<String>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    /// Platform-specific settings, such as Google Ads' `login_customer_id`.
    pub settings: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The tokens of one platform login. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthTokens {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl fmt::Debug for OAuthTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OAuthTokens([redacted])")
    }
}

/// Binds a connection's ciphertext to its tenant and row.
fn associated_data(tenant_id: TenantId, id: ConnectionId) -> Vec<u8> {
    format!("connections:{tenant_id}:{id}").into_bytes()
}

pub fn seal_tokens(
    keys: &KeyRing,
    tenant_id: TenantId,
    id: ConnectionId,
    tokens: &OAuthTokens,
) -> Result<Sealed, CryptoError> {
    let plaintext = serde_json::to_vec(tokens).map_err(|_| CryptoError::Encrypt)?;
    keys.seal(&plaintext, &associated_data(tenant_id, id))
}

fn from_row(row: &Row) -> Result<Connection, DbError> {
    let connector: String = row.try_get("connector")?;
    Ok(Connection {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        connector: connector
            .parse()
            .map_err(|e| DbError::Corrupt(format!("connections.connector: {e}")))?,
        name: row.try_get("name")?,
        status: row.try_get("status")?,
        status_reason: row.try_get("status_reason")?,
        access_token_expires_at: row.try_get("access_token_expires_at")?,
        settings: row.try_get("settings")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const COLUMNS: &str = "id, tenant_id, connector, name, status, status_reason, \
                       access_token_expires_at, settings, created_at, updated_at";

pub struct NewConnection<'a> {
    pub id: ConnectionId,
    pub tenant_id: TenantId,
    pub connector: ConnectorKind,
    pub name: &'a str,
    pub sealed: &'a Sealed,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub settings: &'a serde_json::Value,
}

pub async fn insert(
    client: &impl GenericClient,
    new: NewConnection<'_>,
) -> Result<Connection, DbError> {
    let row = client
        .query_one(
            &format!(
                "INSERT INTO connections (id, tenant_id, connector, name, key_id, token_nonce,
                     token_ciphertext, access_token_expires_at, settings)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 RETURNING {COLUMNS}"
            ),
            &[
                &new.id,
                &new.tenant_id,
                &new.connector.as_str(),
                &new.name,
                &new.sealed.key_id,
                &new.sealed.nonce,
                &new.sealed.ciphertext,
                &new.access_token_expires_at,
                new.settings,
            ],
        )
        .await?;
    from_row(&row)
}

pub async fn get(
    client: &impl GenericClient,
    tenant_id: TenantId,
    id: ConnectionId,
) -> Result<Option<Connection>, DbError> {
    client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM connections WHERE tenant_id = $1 AND id = $2"),
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
) -> Result<Vec<Connection>, DbError> {
    client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM connections WHERE tenant_id = $1 ORDER BY created_at, id"
            ),
            &[&tenant_id],
        )
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Why a connection's tokens could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("connection {0} does not exist")]
    Missing(ConnectionId),
    #[error("tokens of connection {id}: {source}")]
    Crypto {
        id: ConnectionId,
        #[source]
        source: CryptoError,
    },
    #[error("tokens of connection {0} are not valid JSON after decryption")]
    Malformed(ConnectionId),
}

/// A connection's tokens, opened, and when the access token expires (if it does).
#[derive(Debug, Clone)]
pub struct StoredTokens {
    pub tokens: OAuthTokens,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Opens a connection's tokens. With `lock`, the row stays locked until the transaction ends,
/// so concurrent refreshes of one connection take turns.
pub async fn open_tokens(
    client: &impl GenericClient,
    keys: &KeyRing,
    tenant_id: TenantId,
    id: ConnectionId,
) -> Result<OAuthTokens, TokensError> {
    Ok(read_tokens(client, keys, tenant_id, id, false)
        .await?
        .tokens)
}

/// Reads and opens a connection's tokens and their expiry; see [`open_tokens`].
pub async fn read_tokens(
    client: &impl GenericClient,
    keys: &KeyRing,
    tenant_id: TenantId,
    id: ConnectionId,
    lock: bool,
) -> Result<StoredTokens, TokensError> {
    let row = client
        .query_opt(
            &format!(
                "SELECT key_id, token_nonce, token_ciphertext, access_token_expires_at
                 FROM connections WHERE tenant_id = $1 AND id = $2{}",
                if lock { " FOR UPDATE" } else { "" }
            ),
            &[&tenant_id, &id],
        )
        .await
        .map_err(DbError::from)?
        .ok_or(TokensError::Missing(id))?;
    // A revoked connection's tokens are erased: as good as missing.
    let key_id: Option<String> = row.try_get("key_id").map_err(DbError::from)?;
    let nonce: Option<Vec<u8>> = row.try_get("token_nonce").map_err(DbError::from)?;
    let ciphertext: Option<Vec<u8>> = row.try_get("token_ciphertext").map_err(DbError::from)?;
    let (Some(key_id), Some(nonce), Some(ciphertext)) = (key_id, nonce, ciphertext) else {
        return Err(TokensError::Missing(id));
    };
    let sealed = Sealed {
        key_id,
        nonce,
        ciphertext,
    };
    let plaintext = keys
        .open(&sealed, &associated_data(tenant_id, id))
        .map_err(|source| TokensError::Crypto { id, source })?;
    Ok(StoredTokens {
        tokens: serde_json::from_slice(&plaintext).map_err(|_| TokensError::Malformed(id))?,
        expires_at: row
            .try_get("access_token_expires_at")
            .map_err(DbError::from)?,
    })
}

/// Stores refreshed tokens, sealed with the active key.
pub async fn store_tokens(
    client: &impl GenericClient,
    keys: &KeyRing,
    tenant_id: TenantId,
    id: ConnectionId,
    stored: &StoredTokens,
) -> Result<(), TokensError> {
    let sealed = seal_tokens(keys, tenant_id, id, &stored.tokens)
        .map_err(|source| TokensError::Crypto { id, source })?;
    client
        .execute(
            "UPDATE connections SET key_id = $3, token_nonce = $4, token_ciphertext = $5,
                 access_token_expires_at = $6, updated_at = now()
             WHERE tenant_id = $1 AND id = $2",
            &[
                &tenant_id,
                &id,
                &sealed.key_id,
                &sealed.nonce,
                &sealed.ciphertext,
                &stored.expires_at,
            ],
        )
        .await
        .map_err(DbError::from)?;
    Ok(())
}

/// Marks a connection as needing re-authorisation and pauses every sync that reads through it.
/// Returns the number of syncs paused.
pub async fn mark_needs_reauth(
    client: &impl GenericClient,
    tenant_id: TenantId,
    id: ConnectionId,
    reason: &str,
) -> Result<u64, DbError> {
    // The reason quotes the platform, whose text may hold a U+0000.
    let reason = crate::domain::text::storable(reason).into_owned();
    client
        .execute(
            "UPDATE connections SET status = 'needs_reauth', status_reason = $3, updated_at = now()
             WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &id, &reason],
        )
        .await?;
    Ok(client
        .execute(
            "UPDATE syncs SET enabled = false, paused_reason = $3, updated_at = now()
             WHERE tenant_id = $1 AND enabled
               AND account_id IN (SELECT id FROM accounts WHERE tenant_id = $1 AND connection_id = $2)",
            &[&tenant_id, &id, &"connection needs re-authorisation"],
        )
        .await?)
}

/// Deletes a connection's access: erases its sealed tokens, marks it `revoked` and pauses every
/// sync reading through it, in one statement batch the caller runs in a transaction. Returns the
/// connection as it is now, or `None` when the tenant has no such connection.
pub async fn revoke(
    client: &impl GenericClient,
    tenant_id: TenantId,
    id: ConnectionId,
) -> Result<Option<Connection>, DbError> {
    let Some(row) = client
        .query_opt(
            &format!(
                "UPDATE connections SET status = 'revoked', status_reason = 'deleted by the tenant',
                     key_id = NULL, token_nonce = NULL, token_ciphertext = NULL,
                     access_token_expires_at = NULL, updated_at = now()
                 WHERE tenant_id = $1 AND id = $2
                 RETURNING {COLUMNS}"
            ),
            &[&tenant_id, &id],
        )
        .await?
    else {
        return Ok(None);
    };
    client
        .execute(
            "UPDATE syncs SET enabled = false, paused_reason = $3, updated_at = now()
             WHERE tenant_id = $1
               AND account_id IN (SELECT id FROM accounts WHERE tenant_id = $1 AND connection_id = $2)",
            &[&tenant_id, &id, &"connection deleted"],
        )
        .await?;
    from_row(&row).map(Some)
}

/// Per connector, how many connections (of every tenant) need re-authorisation.
pub async fn count_needing_reauth(
    client: &impl GenericClient,
) -> Result<Vec<(ConnectorKind, i64)>, DbError> {
    client
        .query(
            "SELECT connector, count(*) AS n FROM connections
             WHERE status = 'needs_reauth' GROUP BY connector",
            &[],
        )
        .await?
        .iter()
        .map(|row| {
            let connector: String = row.try_get("connector")?;
            Ok((
                connector
                    .parse()
                    .map_err(|e| DbError::Corrupt(format!("connections.connector: {e}")))?,
                row.try_get("n")?,
            ))
        })
        .collect()
}
