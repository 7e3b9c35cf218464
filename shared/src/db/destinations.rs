//! The `destinations` table, and the sealed credentials of destinations that need them (a
//! google_sheets destination's OAuth tokens, a remote warehouse's URL).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;

use super::connections::{OAuthTokens, StoredTokens};
use super::{DbError, GenericClient};
use crate::crypto::{CryptoError, KeyRing, Sealed};
use crate::domain::{DestinationId, DestinationKind, TenantId};

#[derive(Debug, Clone)]
pub struct Destination {
    pub id: DestinationId,
    pub tenant_id: TenantId,
    pub kind: DestinationKind,
    pub name: String,
    /// Kind-specific settings, validated on the way in (see `domain::destination`).
    pub settings: serde_json::Value,
    /// Whether sealed credentials are stored (never the credentials themselves).
    pub has_credentials: bool,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    /// `active`, or `needs_reauth` once its credentials stopped working.
    pub status: String,
    pub status_reason: Option<String>,
    /// A google_sheets destination's Google login (Google's `sub` for its tokens), once a
    /// worker has asked Google; destinations with the same login share its quota.
    pub google_subject: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A destination's credentials, as sealed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credentials {
    /// A google_sheets destination's Google OAuth tokens.
    OAuth(OAuthTokens),
    /// A warehouse outside adsync's own database: its PostgreSQL URL (with the password).
    DatabaseUrl(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials([redacted])")
    }
}

/// Why a destination's credentials could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("destination {0} has no credentials")]
    Missing(DestinationId),
    #[error("destination {id}'s credentials cannot be opened: {source}")]
    Crypto {
        id: DestinationId,
        #[source]
        source: CryptoError,
    },
    #[error("destination {0}'s credentials are not what its kind needs")]
    Malformed(DestinationId),
}

/// Binds a destination's ciphertext to its tenant and row.
fn associated_data(tenant_id: TenantId, id: DestinationId) -> Vec<u8> {
    format!("destinations:{tenant_id}:{id}").into_bytes()
}

pub fn seal_credentials(
    keys: &KeyRing,
    tenant_id: TenantId,
    id: DestinationId,
    credentials: &Credentials,
) -> Result<Sealed, CryptoError> {
    let plaintext = serde_json::to_vec(credentials).map_err(|_| CryptoError::Encrypt)?;
    keys.seal(&plaintext, &associated_data(tenant_id, id))
}

fn from_row(row: &Row) -> Result<Destination, DbError> {
    let kind: String = row.try_get("kind")?;
    let key_id: Option<String> = row.try_get("key_id")?;
    Ok(Destination {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        kind: kind
            .parse()
            .map_err(|e| DbError::Corrupt(format!("destinations.kind: {e}")))?,
        name: row.try_get("name")?,
        settings: row.try_get("settings")?,
        has_credentials: key_id.is_some(),
        access_token_expires_at: row.try_get("access_token_expires_at")?,
        status: row.try_get("status")?,
        status_reason: row.try_get("status_reason")?,
        google_subject: row.try_get("google_subject")?,
        created_at: row.try_get("created_at")?,
    })
}

pub struct NewDestination<'a> {
    pub id: DestinationId,
    pub tenant_id: TenantId,
    pub kind: DestinationKind,
    pub name: &'a str,
    pub settings: &'a serde_json::Value,
    /// From [`seal_credentials`] with the same tenant and id.
    pub sealed: Option<&'a Sealed>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
}

pub async fn insert(
    client: &impl GenericClient,
    new: NewDestination<'_>,
) -> Result<Destination, DbError> {
    let row = client
        .query_one(
            "INSERT INTO destinations (id, tenant_id, kind, name, settings, key_id, secret_nonce,
                 secret_ciphertext, access_token_expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
            &[
                &new.id,
                &new.tenant_id,
                &new.kind.as_str(),
                &new.name,
                new.settings,
                &new.sealed.map(|sealed| sealed.key_id.clone()),
                &new.sealed.map(|sealed| sealed.nonce.clone()),
                &new.sealed.map(|sealed| sealed.ciphertext.clone()),
                &new.access_token_expires_at,
            ],
        )
        .await?;
    from_row(&row)
}

/// Reads and opens a destination's credentials. With `lock`, the row stays locked until the
/// transaction ends, so concurrent token refreshes take turns.
pub async fn read_credentials(
    client: &impl GenericClient,
    keys: &KeyRing,
    tenant_id: TenantId,
    id: DestinationId,
    lock: bool,
) -> Result<(Credentials, Option<DateTime<Utc>>), CredentialsError> {
    let row = client
        .query_opt(
            &format!(
                "SELECT key_id, secret_nonce, secret_ciphertext, access_token_expires_at
                 FROM destinations WHERE tenant_id = $1 AND id = $2 AND key_id IS NOT NULL{}",
                if lock { " FOR UPDATE" } else { "" }
            ),
            &[&tenant_id, &id],
        )
        .await
        .map_err(DbError::from)?
        .ok_or(CredentialsError::Missing(id))?;
    let sealed = Sealed {
        key_id: row.try_get("key_id").map_err(DbError::from)?,
        nonce: row.try_get("secret_nonce").map_err(DbError::from)?,
        ciphertext: row.try_get("secret_ciphertext").map_err(DbError::from)?,
    };
    let plaintext = keys
        .open(&sealed, &associated_data(tenant_id, id))
        .map_err(|source| CredentialsError::Crypto { id, source })?;
    let credentials =
        serde_json::from_slice(&plaintext).map_err(|_| CredentialsError::Malformed(id))?;
    let expires_at = row
        .try_get("access_token_expires_at")
        .map_err(DbError::from)?;
    Ok((credentials, expires_at))
}

/// Reads a google_sheets destination's OAuth tokens.
pub async fn read_tokens(
    client: &impl GenericClient,
    keys: &KeyRing,
    tenant_id: TenantId,
    id: DestinationId,
    lock: bool,
) -> Result<StoredTokens, CredentialsError> {
    match read_credentials(client, keys, tenant_id, id, lock).await? {
        (Credentials::OAuth(tokens), expires_at) => Ok(StoredTokens { tokens, expires_at }),
        (Credentials::DatabaseUrl(_), _) => Err(CredentialsError::Malformed(id)),
    }
}

/// Stores refreshed tokens, sealed with the active key.
pub async fn store_tokens(
    client: &impl GenericClient,
    keys: &KeyRing,
    tenant_id: TenantId,
    id: DestinationId,
    stored: &StoredTokens,
) -> Result<(), CredentialsError> {
    let sealed = seal_credentials(
        keys,
        tenant_id,
        id,
        &Credentials::OAuth(stored.tokens.clone()),
    )
    .map_err(|source| CredentialsError::Crypto { id, source })?;
    client
        .execute(
            "UPDATE destinations SET key_id = $3, secret_nonce = $4, secret_ciphertext = $5,
                 access_token_expires_at = $6
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

/// Records the Google login a google_sheets destination's tokens belong to.
pub async fn set_google_subject(
    client: &impl GenericClient,
    tenant_id: TenantId,
    id: DestinationId,
    subject: &str,
) -> Result<(), DbError> {
    client
        .execute(
            "UPDATE destinations SET google_subject = $3 WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &id, &subject],
        )
        .await?;
    Ok(())
}

/// Marks a destination as needing re-authorisation and pauses every sync writing to it.
/// Returns the number of syncs paused.
pub async fn mark_needs_reauth(
    client: &impl GenericClient,
    tenant_id: TenantId,
    id: DestinationId,
    reason: &str,
) -> Result<u64, DbError> {
    // The reason quotes the platform, whose text may hold a U+0000.
    let reason = crate::domain::text::storable(reason).into_owned();
    client
        .execute(
            "UPDATE destinations SET status = 'needs_reauth', status_reason = $3
             WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &id, &reason],
        )
        .await?;
    Ok(client
        .execute(
            "UPDATE syncs SET enabled = false, paused_reason = $3, updated_at = now()
             WHERE tenant_id = $1 AND destination_id = $2 AND enabled",
            &[&tenant_id, &id, &"destination needs re-authorisation"],
        )
        .await?)
}

/// The syncs writing to a destination.
pub async fn sync_count(
    client: &impl GenericClient,
    tenant_id: TenantId,
    id: DestinationId,
) -> Result<i64, DbError> {
    Ok(client
        .query_one(
            "SELECT count(*) FROM syncs WHERE tenant_id = $1 AND destination_id = $2",
            &[&tenant_id, &id],
        )
        .await?
        .get(0))
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
