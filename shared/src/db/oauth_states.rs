//! The `oauth_states` table: the nonce of every OAuth `state` handed out, so the callback
//! accepts each state once.

use chrono::{DateTime, Utc};

use super::{DbError, GenericClient};
use crate::domain::TenantId;

pub async fn insert(
    client: &impl GenericClient,
    nonce: &[u8],
    tenant_id: TenantId,
    expires_at: DateTime<Utc>,
) -> Result<(), DbError> {
    client
        .execute(
            "DELETE FROM oauth_states WHERE expires_at < now() - interval '1 day'",
            &[],
        )
        .await?;
    client
        .execute(
            "INSERT INTO oauth_states (nonce, tenant_id, expires_at) VALUES ($1, $2, $3)",
            &[&nonce, &tenant_id, &expires_at],
        )
        .await?;
    Ok(())
}

/// Marks the state used; `false` when it is unknown, expired or was used already.
pub async fn consume(
    client: &impl GenericClient,
    nonce: &[u8],
    tenant_id: TenantId,
) -> Result<bool, DbError> {
    Ok(client
        .execute(
            "UPDATE oauth_states SET used_at = now()
             WHERE nonce = $1 AND tenant_id = $2 AND used_at IS NULL AND expires_at > now()",
            &[&nonce, &tenant_id],
        )
        .await?
        == 1)
}
