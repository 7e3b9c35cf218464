//! The tokens of a connection (or of a destination that has its own, such as a Google Sheet)
//! during a job: opened from the database, refreshed shortly before they expire and once when
//! the platform rejects them as expired, and stored again encrypted. Jobs of one owner refresh
//! in turn (its row is locked), so a platform that rotates refresh tokens never sees one used
//! twice.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use shared::crypto::KeyRing;
use shared::db::connections::{self, OAuthTokens, StoredTokens, TokensError};
use shared::db::destinations::{self, CredentialsError};
use shared::db::{DbError, GenericClient, Pool};
use shared::domain::{ConnectionId, DestinationId, TenantId};
use shared::error::{Classify, ErrorClass};
use tokio::sync::Mutex;

/// New tokens from a platform's token endpoint.
#[derive(Debug, Clone)]
pub struct Refreshed {
    pub access_token: String,
    /// A new refresh token, when the platform rotates them.
    pub refresh_token: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Why no usable token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Stored(#[from] TokensError),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Db(#[from] DbError),
    /// The platform refused the refresh: the user must authorise again.
    #[error("the platform refused to refresh the connection's token: {0}")]
    Revoked(String),
    /// The token expired and this platform cannot refresh it.
    #[error("the connection's token expired and {0} cannot refresh tokens")]
    NotRefreshable(&'static str),
    /// The token endpoint failed in a way worth retrying later.
    #[error("refreshing the connection's token failed: {0}")]
    Unavailable(String),
}

impl Classify for TokenError {
    fn class(&self) -> ErrorClass {
        match self {
            TokenError::Stored(error) => match error {
                TokensError::Db(_) => ErrorClass::Transient { retry_after: None },
                TokensError::Missing(_)
                | TokensError::Crypto { .. }
                | TokensError::Malformed(_) => ErrorClass::Permanent,
            },
            TokenError::Credentials(error) => match error {
                CredentialsError::Db(_) => ErrorClass::Transient { retry_after: None },
                CredentialsError::Missing(_)
                | CredentialsError::Crypto { .. }
                | CredentialsError::Malformed(_) => ErrorClass::Permanent,
            },
            TokenError::Db(_) | TokenError::Unavailable(_) => {
                ErrorClass::Transient { retry_after: None }
            }
            TokenError::Revoked(_) | TokenError::NotRefreshable(_) => ErrorClass::Auth,
        }
    }
}

/// Calls a platform's token endpoint with the current tokens.
pub type RefreshFn = Box<
    dyn Fn(OAuthTokens) -> Pin<Box<dyn Future<Output = Result<Refreshed, TokenError>> + Send>>
        + Send
        + Sync,
>;

/// Whose tokens they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOwner {
    Connection(ConnectionId),
    Destination(DestinationId),
}

impl TokenOwner {
    async fn read(
        self,
        client: &impl GenericClient,
        keys: &KeyRing,
        tenant_id: TenantId,
        lock: bool,
    ) -> Result<StoredTokens, TokenError> {
        Ok(match self {
            TokenOwner::Connection(id) => {
                connections::read_tokens(client, keys, tenant_id, id, lock).await?
            }
            TokenOwner::Destination(id) => {
                destinations::read_tokens(client, keys, tenant_id, id, lock).await?
            }
        })
    }

    async fn store(
        self,
        client: &impl GenericClient,
        keys: &KeyRing,
        tenant_id: TenantId,
        stored: &StoredTokens,
    ) -> Result<(), TokenError> {
        match self {
            TokenOwner::Connection(id) => {
                connections::store_tokens(client, keys, tenant_id, id, stored).await?;
            }
            TokenOwner::Destination(id) => {
                destinations::store_tokens(client, keys, tenant_id, id, stored).await?;
            }
        }
        Ok(())
    }
}

/// One job's view of a connection's (or destination's) tokens.
pub struct TokenSource {
    pool: Pool,
    keys: KeyRing,
    tenant_id: TenantId,
    owner: TokenOwner,
    current: Mutex<StoredTokens>,
    refresh: Option<RefreshFn>,
    /// Refresh when the access token expires within this.
    margin: Duration,
    platform: &'static str,
}

impl TokenSource {
    /// Opens the owner's tokens. `refresh` is `None` for platforms without refresh; tokens
    /// expiring within `margin` are refreshed before use.
    pub async fn open(
        pool: Pool,
        keys: KeyRing,
        tenant_id: TenantId,
        owner: impl Into<TokenOwner>,
        platform: &'static str,
        refresh: Option<RefreshFn>,
        margin: Duration,
    ) -> Result<Self, TokenError> {
        let owner = owner.into();
        let client = pool.get().await.map_err(DbError::from)?;
        let stored = owner.read(&client, &keys, tenant_id, false).await?;
        drop(client);
        Ok(Self {
            pool,
            keys,
            tenant_id,
            owner,
            current: Mutex::new(stored),
            refresh,
            margin,
            platform,
        })
    }

    /// A token to use now, refreshed first if it expires soon.
    pub async fn access_token(&self) -> Result<String, TokenError> {
        let current = self.current.lock().await.clone();
        let expiring = current.expires_at.is_some_and(|at| {
            at - Utc::now() < chrono::Duration::from_std(self.margin).unwrap_or_default()
        });
        if expiring && self.refresh.is_some() {
            return self.refresh(&current.tokens.access_token).await;
        }
        Ok(current.tokens.access_token)
    }

    /// The platform rejected `rejected` as expired: refresh once (or take the token another job
    /// refreshed meanwhile).
    pub async fn refresh_rejected(&self, rejected: &str) -> Result<String, TokenError> {
        if self.refresh.is_none() {
            return Err(TokenError::NotRefreshable(self.platform));
        }
        self.refresh(rejected).await
    }

    async fn refresh(&self, stale: &str) -> Result<String, TokenError> {
        let Some(refresh) = &self.refresh else {
            return Err(TokenError::NotRefreshable(self.platform));
        };
        let mut current = self.current.lock().await;
        let mut client = self.pool.get().await.map_err(DbError::from)?;
        let transaction = client.transaction().await.map_err(DbError::from)?;
        let stored = self
            .owner
            .read(&transaction, &self.keys, self.tenant_id, true)
            .await?;
        if stored.tokens.access_token != stale {
            // Another job refreshed this connection while we waited for the lock.
            *current = stored;
            return Ok(current.tokens.access_token.clone());
        }
        let refreshed = match refresh(stored.tokens.clone()).await {
            Ok(refreshed) => refreshed,
            Err(error) => {
                crate::metrics::record_token_refresh(self.platform, false);
                return Err(error);
            }
        };
        let renewed = StoredTokens {
            tokens: OAuthTokens {
                access_token: refreshed.access_token,
                refresh_token: refreshed.refresh_token.or(stored.tokens.refresh_token),
            },
            expires_at: refreshed.expires_at,
        };
        self.owner
            .store(&transaction, &self.keys, self.tenant_id, &renewed)
            .await?;
        transaction.commit().await.map_err(DbError::from)?;
        crate::metrics::record_token_refresh(self.platform, true);
        tracing::info!(owner = ?self.owner, "refreshed the access token");
        *current = renewed;
        Ok(current.tokens.access_token.clone())
    }
}

impl From<ConnectionId> for TokenOwner {
    fn from(id: ConnectionId) -> Self {
        TokenOwner::Connection(id)
    }
}

impl From<DestinationId> for TokenOwner {
    fn from(id: DestinationId) -> Self {
        TokenOwner::Destination(id)
    }
}
