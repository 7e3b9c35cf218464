//! OAuth tokens, per platform: the sandbox's token endpoints issue them here, platform
//! handlers check the tokens they are sent, and tests expire or revoke them.
//!
//! Tokens belong to a *grant* (one user's consent to one app): a refresh or exchange issues a
//! new access token in the same grant, and revoking any token of a grant revokes all of it, so
//! the next refresh fails with `invalid_grant`. Each grant belongs to a *login* (the platform
//! account that consented): one person consenting twice (two adsync destinations on the same
//! Google account) makes two grants of one login, and per-user quotas count per login. Tokens the sandbox never issued are accepted as
//! valid (fixtures and the demo may use any string); revoking one registers it as revoked.
//! Issued access tokens expire on the sandbox clock.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::connector::Connector;
use crate::control::{ControlError, control_error};
use crate::state::Sandbox;
use crate::wire;

/// What a platform handler should do with a presented access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    /// Issued and unexpired, or never seen (unknown tokens are accepted).
    Valid,
    /// Issued by the sandbox and past its expiry.
    Expired,
    /// Its grant was revoked.
    Revoked,
}

/// Tokens handed out by a token endpoint or the control API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedTokens {
    pub access_token: String,
    /// Present when the grant has a refresh token.
    pub refresh_token: Option<String>,
    /// Seconds until the access token expires; `None` when it does not expire.
    pub expires_in: Option<u64>,
}

/// A refresh or exchange the sandbox refused: the token is revoked, expired, or was replaced
/// by a rotated one. Platforms answer it as `invalid_grant` (or their equivalent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshRefused;

#[derive(Debug)]
struct AccessToken {
    grant: u64,
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
pub(crate) struct TokenRegistry {
    next_grant: u64,
    /// Grant id → revoked.
    grants: HashMap<u64, bool>,
    /// Grant id → the login that consented.
    logins: HashMap<u64, String>,
    access: HashMap<(Connector, String), AccessToken>,
    refresh: HashMap<(Connector, String), u64>,
}

impl TokenRegistry {
    /// A grant of `login`, or of a login of its own (`user-<grant>`).
    fn new_grant_of(&mut self, login: Option<&str>) -> u64 {
        self.next_grant += 1;
        let grant = self.next_grant;
        self.grants.insert(grant, false);
        let login = login.map_or_else(|| format!("user-{grant}"), str::to_owned);
        self.logins.insert(grant, login);
        grant
    }

    fn new_grant(&mut self) -> u64 {
        self.new_grant_of(None)
    }

    fn revoked(&self, grant: u64) -> bool {
        self.grants.get(&grant).copied().unwrap_or(false)
    }
}

impl Sandbox {
    /// Issues tokens for a new grant: an access token living `lifetime` (`None`: forever) on the
    /// sandbox clock, and a refresh token if `with_refresh`.
    pub fn issue_tokens(
        &self,
        connector: Connector,
        lifetime: Option<Duration>,
        with_refresh: bool,
    ) -> IssuedTokens {
        self.issue_tokens_for(connector, None, lifetime, with_refresh)
    }

    /// [`Sandbox::issue_tokens`] for a grant of `login` (a login of its own when `None`): two
    /// grants of one login are one user for per-user quotas.
    pub fn issue_tokens_for(
        &self,
        connector: Connector,
        login: Option<&str>,
        lifetime: Option<Duration>,
        with_refresh: bool,
    ) -> IssuedTokens {
        let mut registry = self.token_registry();
        let grant = registry.new_grant_of(login);
        let refresh_token = with_refresh.then(|| {
            let token = self.new_token(connector, "refresh");
            registry.refresh.insert((connector, token.clone()), grant);
            token
        });
        let (access_token, expires_in) =
            self.issue_access(&mut registry, connector, grant, lifetime);
        IssuedTokens {
            access_token,
            refresh_token,
            expires_in,
        }
    }

    /// The state of an access token presented to a platform.
    pub fn token_status(&self, connector: Connector, access_token: &str) -> TokenStatus {
        let registry = self.token_registry();
        match registry.access.get(&(connector, access_token.to_owned())) {
            None => TokenStatus::Valid,
            Some(token) if registry.revoked(token.grant) => TokenStatus::Revoked,
            Some(token) if token.expires_at.is_some_and(|at| at <= self.now()) => {
                TokenStatus::Expired
            }
            Some(_) => TokenStatus::Valid,
        }
    }

    /// A refresh grant: a new access token in the refresh token's grant, and with `rotate` a
    /// new refresh token that replaces the old one. An unknown refresh token starts a grant.
    pub fn refresh_tokens(
        &self,
        connector: Connector,
        refresh_token: &str,
        lifetime: Option<Duration>,
        rotate: bool,
    ) -> Result<IssuedTokens, RefreshRefused> {
        let mut registry = self.token_registry();
        let key = (connector, refresh_token.to_owned());
        let grant = match registry.refresh.get(&key) {
            Some(grant) if registry.revoked(*grant) => return Err(RefreshRefused),
            Some(grant) => *grant,
            None => {
                let grant = registry.new_grant();
                registry.refresh.insert(key.clone(), grant);
                grant
            }
        };
        let refresh_token = if rotate {
            // The old refresh token stays registered, in a revoked grant of its own.
            let dead = registry.new_grant();
            registry.grants.insert(dead, true);
            registry.refresh.insert(key, dead);
            let token = self.new_token(connector, "refresh");
            registry.refresh.insert((connector, token.clone()), grant);
            token
        } else {
            refresh_token.to_owned()
        };
        let (access_token, expires_in) =
            self.issue_access(&mut registry, connector, grant, lifetime);
        Ok(IssuedTokens {
            access_token,
            refresh_token: Some(refresh_token),
            expires_in,
        })
    }

    /// An exchange of a still-valid access token for a new one in the same grant (Meta's
    /// `fb_exchange_token`). Expired and revoked tokens cannot be exchanged.
    pub fn exchange_token(
        &self,
        connector: Connector,
        access_token: &str,
        lifetime: Option<Duration>,
    ) -> Result<IssuedTokens, RefreshRefused> {
        if self.token_status(connector, access_token) != TokenStatus::Valid {
            return Err(RefreshRefused);
        }
        let mut registry = self.token_registry();
        let grant = match registry.access.get(&(connector, access_token.to_owned())) {
            Some(token) => token.grant,
            None => registry.new_grant(),
        };
        let (access_token, expires_in) =
            self.issue_access(&mut registry, connector, grant, lifetime);
        Ok(IssuedTokens {
            access_token,
            refresh_token: None,
            expires_in,
        })
    }

    /// Revokes the grant `token` (an access or refresh token) belongs to; a token the sandbox
    /// never issued is registered as revoked.
    pub fn revoke_token(&self, connector: Connector, token: &str) {
        let mut registry = self.token_registry();
        let key = (connector, token.to_owned());
        let grant = registry
            .access
            .get(&key)
            .map(|access| access.grant)
            .or_else(|| registry.refresh.get(&key).copied());
        match grant {
            Some(grant) => {
                registry.grants.insert(grant, true);
            }
            None => {
                let grant = registry.new_grant();
                registry.grants.insert(grant, true);
                registry.access.insert(
                    key,
                    AccessToken {
                        grant,
                        expires_at: None,
                    },
                );
            }
        }
    }

    /// The grant (one user's consent) an issued access or refresh token belongs to; `None` for
    /// a token the sandbox never issued. Platforms that scope quotas or sharing per user use it
    /// to treat every token of one grant as the same user.
    pub(crate) fn token_grant(&self, connector: Connector, token: &str) -> Option<u64> {
        let registry = self.token_registry();
        let key = (connector, token.to_owned());
        registry
            .access
            .get(&key)
            .map(|access| access.grant)
            .or_else(|| registry.refresh.get(&key).copied())
    }

    /// The login whose grant an issued access or refresh token belongs to; `None` for a token
    /// the sandbox never issued.
    pub(crate) fn token_login(&self, connector: Connector, token: &str) -> Option<String> {
        let registry = self.token_registry();
        let key = (connector, token.to_owned());
        let grant = registry
            .access
            .get(&key)
            .map(|access| access.grant)
            .or_else(|| registry.refresh.get(&key).copied())?;
        registry.logins.get(&grant).cloned()
    }

    /// When an issued access token expires (`None`: never, or never issued).
    pub(crate) fn token_expiry(&self, connector: Connector, token: &str) -> Option<DateTime<Utc>> {
        self.token_registry()
            .access
            .get(&(connector, token.to_owned()))
            .and_then(|access| access.expires_at)
    }

    fn issue_access(
        &self,
        registry: &mut TokenRegistry,
        connector: Connector,
        grant: u64,
        lifetime: Option<Duration>,
    ) -> (String, Option<u64>) {
        let token = self.new_token(connector, "access");
        let expires_at = lifetime
            .and_then(|lifetime| chrono::Duration::from_std(lifetime).ok())
            .map(|lifetime| self.now() + lifetime);
        registry.access.insert(
            (connector, token.clone()),
            AccessToken { grant, expires_at },
        );
        (token, lifetime.map(|lifetime| lifetime.as_secs()))
    }

    fn new_token(&self, connector: Connector, kind: &str) -> String {
        format!("{connector}.{kind}.{}", self.trace_id())
    }
}

/// The control routes under `/_sandbox/tokens`.
pub(crate) fn control_router() -> Router<Sandbox> {
    Router::new()
        .route("/", post(issue))
        .route("/revoke", post(revoke))
}

fn bad_request(field: &str, message: impl Into<String>) -> ControlError {
    control_error(StatusCode::BAD_REQUEST, field, message)
}

fn object(body: &[u8], allowed: &[&str]) -> Result<serde_json::Map<String, Value>, ControlError> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return Err(bad_request("body", "the body must be a JSON object"));
    };
    if let Some(unknown) = object.keys().find(|key| !allowed.contains(&key.as_str())) {
        return Err(bad_request(
            unknown,
            format!(
                "unknown field '{unknown}', expected one of: {}",
                allowed.join(", ")
            ),
        ));
    }
    Ok(object)
}

fn connector(object: &serde_json::Map<String, Value>) -> Result<Connector, ControlError> {
    object
        .get("connector")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request("connector", "connector is required and must be a string"))?
        .parse()
        .map_err(|error: crate::connector::UnknownConnector| {
            bad_request("connector", error.to_string())
        })
}

/// `POST /_sandbox/tokens {"connector", "expires_in": seconds|null, "refresh_token": bool,
/// "login": name}`: issues tokens for a new grant (default: an hour, with a refresh token, by a
/// login of its own; grants of the same `login` are one user for per-user quotas).
async fn issue(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let parsed = (|| {
        let object = object(
            &body,
            &["connector", "expires_in", "refresh_token", "login"],
        )?;
        let connector = connector(&object)?;
        let lifetime = match object.get("expires_in") {
            None => Some(Duration::from_secs(3600)),
            Some(Value::Null) => None,
            Some(value) => Some(Duration::from_secs(value.as_u64().ok_or_else(|| {
                bad_request(
                    "expires_in",
                    "expires_in must be seconds, or null for never",
                )
            })?)),
        };
        let with_refresh = match object.get("refresh_token") {
            None => true,
            Some(value) => value
                .as_bool()
                .ok_or_else(|| bad_request("refresh_token", "refresh_token must be a boolean"))?,
        };
        let login = match object.get("login") {
            None | Some(Value::Null) => None,
            Some(Value::String(login)) if !login.trim().is_empty() => Some(login.clone()),
            Some(_) => {
                return Err(bad_request(
                    "login",
                    "login must be a non-empty string naming the account that consents",
                ));
            }
        };
        Ok::<_, ControlError>((connector, login, lifetime, with_refresh))
    })();
    match parsed {
        Ok((connector, login, lifetime, with_refresh)) => wire::json(
            StatusCode::CREATED,
            &sandbox.issue_tokens_for(connector, login.as_deref(), lifetime, with_refresh),
        ),
        Err(error) => error.into_response(),
    }
}

/// `POST /_sandbox/tokens/revoke {"connector", "token"}`: revokes the token's grant.
async fn revoke(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let parsed = object(&body, &["connector", "token"]).and_then(|object| {
        let connector = connector(&object)?;
        let token = object
            .get("token")
            .and_then(Value::as_str)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| bad_request("token", "token is required and must be a string"))?;
        Ok((connector, token.to_owned()))
    });
    match parsed {
        Ok((connector, token)) => {
            sandbox.revoke_token(connector, &token);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Option<Duration> = Some(Duration::from_secs(3600));

    fn frozen() -> Sandbox {
        Sandbox::new(crate::SandboxConfig {
            now: Some("2026-03-01T12:00:00Z".parse().unwrap()),
            ..Default::default()
        })
    }

    #[test]
    fn issued_tokens_expire_on_the_sandbox_clock() {
        let sandbox = frozen();
        let tokens = sandbox.issue_tokens(Connector::GoogleAds, HOUR, true);
        assert_eq!(tokens.expires_in, Some(3600));
        let status = || sandbox.token_status(Connector::GoogleAds, &tokens.access_token);
        assert_eq!(status(), TokenStatus::Valid);
        sandbox.set_now(Some("2026-03-01T13:00:00Z".parse().unwrap()));
        assert_eq!(status(), TokenStatus::Expired);
        // Tokens are per platform, and unknown tokens are accepted.
        assert_eq!(
            sandbox.token_status(Connector::SnapchatAds, &tokens.access_token),
            TokenStatus::Valid
        );
    }

    #[test]
    fn refreshing_issues_a_new_token_in_the_same_grant_until_it_is_revoked() {
        let sandbox = frozen();
        let first = sandbox.issue_tokens(Connector::SnapchatAds, HOUR, true);
        let refresh = first.refresh_token.clone().unwrap();
        let second = sandbox
            .refresh_tokens(Connector::SnapchatAds, &refresh, HOUR, false)
            .unwrap();
        assert_ne!(second.access_token, first.access_token);
        assert_eq!(second.refresh_token.as_deref(), Some(refresh.as_str()));
        sandbox.revoke_token(Connector::SnapchatAds, &second.access_token);
        for token in [&first.access_token, &second.access_token] {
            assert_eq!(
                sandbox.token_status(Connector::SnapchatAds, token),
                TokenStatus::Revoked
            );
        }
        assert_eq!(
            sandbox.refresh_tokens(Connector::SnapchatAds, &refresh, HOUR, false),
            Err(RefreshRefused)
        );
    }

    #[test]
    fn a_rotated_refresh_token_cannot_be_used_again() {
        let sandbox = frozen();
        let old = sandbox
            .issue_tokens(Connector::TiktokAds, None, true)
            .refresh_token
            .unwrap();
        let rotated = sandbox
            .refresh_tokens(Connector::TiktokAds, &old, None, true)
            .unwrap();
        assert_ne!(rotated.refresh_token.as_deref(), Some(old.as_str()));
        assert_eq!(
            sandbox.refresh_tokens(Connector::TiktokAds, &old, None, true),
            Err(RefreshRefused)
        );
    }

    #[test]
    fn only_valid_tokens_can_be_exchanged() {
        let sandbox = frozen();
        let tokens = sandbox.issue_tokens(Connector::MetaAds, HOUR, false);
        let exchanged = sandbox
            .exchange_token(Connector::MetaAds, &tokens.access_token, None)
            .unwrap();
        assert_eq!(exchanged.expires_in, None);
        sandbox.set_now(Some("2026-03-02T12:00:00Z".parse().unwrap()));
        assert_eq!(
            sandbox.exchange_token(Connector::MetaAds, &tokens.access_token, HOUR),
            Err(RefreshRefused)
        );
        sandbox.revoke_token(Connector::MetaAds, "never-issued");
        assert_eq!(
            sandbox.token_status(Connector::MetaAds, "never-issued"),
            TokenStatus::Revoked
        );
    }
}
