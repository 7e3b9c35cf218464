//! The `sync_webhooks` and `webhook_signatures` tables: a sync's webhook secret, sealed with the
//! key ring (verifying an HMAC needs the secret in clear, so it is encrypted, not hashed), and
//! the signatures accepted recently, remembered so a request cannot be replayed.

use chrono::{DateTime, Utc};

use super::{DbError, GenericClient};
use crate::crypto::{CryptoError, KeyRing, Sealed};
use crate::domain::{SyncId, TenantId};

/// Binds a webhook secret's ciphertext to its tenant and sync.
fn associated_data(tenant_id: TenantId, sync_id: SyncId) -> Vec<u8> {
    format!("sync_webhooks:{tenant_id}:{sync_id}").into_bytes()
}

/// Why a webhook secret could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("webhook secret of sync {sync_id}: {source}")]
    Crypto {
        sync_id: SyncId,
        #[source]
        source: CryptoError,
    },
}

/// Stores (or replaces) a sync's webhook secret, sealed with the active key. Returns when it was
/// created (the first time) and rotated (now).
pub async fn store_secret(
    client: &impl GenericClient,
    keys: &KeyRing,
    tenant_id: TenantId,
    sync_id: SyncId,
    secret: &str,
) -> Result<(DateTime<Utc>, DateTime<Utc>), WebhookError> {
    let sealed = keys
        .seal(secret.as_bytes(), &associated_data(tenant_id, sync_id))
        .map_err(|source| WebhookError::Crypto { sync_id, source })?;
    let row = client
        .query_one(
            "INSERT INTO sync_webhooks (sync_id, tenant_id, key_id, secret_nonce, secret_ciphertext)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (sync_id) DO UPDATE SET key_id = excluded.key_id,
                 secret_nonce = excluded.secret_nonce,
                 secret_ciphertext = excluded.secret_ciphertext, rotated_at = now()
             RETURNING created_at, rotated_at",
            &[
                &sync_id,
                &tenant_id,
                &sealed.key_id,
                &sealed.nonce,
                &sealed.ciphertext,
            ],
        )
        .await
        .map_err(DbError::from)?;
    Ok((
        row.try_get("created_at").map_err(DbError::from)?,
        row.try_get("rotated_at").map_err(DbError::from)?,
    ))
}

/// A sync's webhook secret, opened, with the sync's tenant; `None` when the sync has no webhook.
pub async fn open_secret(
    client: &impl GenericClient,
    keys: &KeyRing,
    sync_id: SyncId,
) -> Result<Option<(TenantId, Vec<u8>)>, WebhookError> {
    let Some(row) = client
        .query_opt(
            "SELECT tenant_id, key_id, secret_nonce, secret_ciphertext FROM sync_webhooks
             WHERE sync_id = $1",
            &[&sync_id],
        )
        .await
        .map_err(DbError::from)?
    else {
        return Ok(None);
    };
    let tenant_id: TenantId = row.try_get("tenant_id").map_err(DbError::from)?;
    let sealed = Sealed {
        key_id: row.try_get("key_id").map_err(DbError::from)?,
        nonce: row.try_get("secret_nonce").map_err(DbError::from)?,
        ciphertext: row.try_get("secret_ciphertext").map_err(DbError::from)?,
    };
    let secret = keys
        .open(&sealed, &associated_data(tenant_id, sync_id))
        .map_err(|source| WebhookError::Crypto { sync_id, source })?;
    Ok(Some((tenant_id, secret)))
}

/// Remembers an accepted signature until `expires_at`. Returns `false` when it was already
/// remembered (a replay). Forgets every signature that has expired on the way.
pub async fn remember_signature(
    client: &impl GenericClient,
    sync_id: SyncId,
    signature: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<bool, DbError> {
    client
        .execute(
            "DELETE FROM webhook_signatures WHERE expires_at < now()",
            &[],
        )
        .await?;
    let inserted = client
        .execute(
            "INSERT INTO webhook_signatures (sync_id, signature, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&sync_id, &signature, &expires_at],
        )
        .await?;
    Ok(inserted == 1)
}
