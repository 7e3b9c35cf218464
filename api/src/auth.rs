//! Bearer API keys. Tenant keys are random, shown once, and stored as SHA-256 hashes; the
//! operator key comes from configuration and sees every tenant.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use shared::db::api_keys;
use shared::domain::TenantId;

use crate::error::ApiError;
use crate::state::AppState;

/// Prefix of every tenant API key, so leaked keys are easy to recognise.
const KEY_PREFIX: &str = "adsk_";

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Operator,
    Tenant(TenantId),
}

impl Caller {
    /// The tenant whose objects a tenant-scoped route acts on.
    pub fn tenant(self) -> Result<TenantId, ApiError> {
        match self {
            Caller::Tenant(tenant) => Ok(tenant),
            Caller::Operator => Err(ApiError::Forbidden(
                "this route acts on one tenant's objects: use that tenant's API key",
            )),
        }
    }

    /// `None` for the operator (every tenant), the tenant otherwise.
    pub fn scope(self) -> Option<TenantId> {
        match self {
            Caller::Operator => None,
            Caller::Tenant(tenant) => Some(tenant),
        }
    }

    pub fn require_operator(self) -> Result<(), ApiError> {
        match self {
            Caller::Operator => Ok(()),
            Caller::Tenant(_) => Err(ApiError::Forbidden("this route needs the operator key")),
        }
    }
}

pub fn hash_key(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// A new tenant API key and the prefix shown in listings.
pub fn generate_key() -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let key = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let prefix = key.chars().take(KEY_PREFIX.len() + 6).collect();
    (key, prefix)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let hash = hash_key(key);
        if let Some(operator) = &state.operator_key_hash
            && *operator == hash
        {
            return Ok(Caller::Operator);
        }
        if !key.starts_with(KEY_PREFIX) {
            return Err(ApiError::Unauthorized);
        }
        let client = state.pool.get().await.map_err(shared::db::DbError::from)?;
        api_keys::tenant_for_hash(&client, &hash)
            .await?
            .map(Caller::Tenant)
            .ok_or(ApiError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_unique_prefixed_and_hash_differently() {
        let (a, prefix) = generate_key();
        let (b, _) = generate_key();
        assert!(a.starts_with(KEY_PREFIX) && a.len() > 40);
        assert!(a.starts_with(&prefix));
        assert_ne!(a, b);
        assert_ne!(hash_key(&a), hash_key(&b));
    }
}
