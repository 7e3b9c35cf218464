//! Meta's OAuth, where it departs from plain OAuth 2: the code exchange is a `GET` with the
//! client secret in the query (so no error ever carries its URL); there is no refresh grant, so
//! a long-lived token is re-exchanged (`grant_type=fb_exchange_token`) while it is still valid
//! and an expired one means logging in again; revoking deletes the user's permissions edge
//! (`DELETE /me/permissions`), which kills every token of the grant.

use futures_util::future::BoxFuture;
use reqwest::Client;
use shared::db::connections::OAuthTokens;

use super::MetaAds;
use super::wire::{ErrorEnvelope, ExchangedToken};
use crate::config::PlatformConfig;
use crate::oauth::{self, Exchanged, OAuth, OAuthError};
use crate::tokens::{Refreshed, TokenError};

impl OAuth for MetaAds {
    fn exchange_code<'a>(
        &'a self,
        client: &'a Client,
        settings: &'a PlatformConfig,
        code: &'a str,
        redirect_uri: &'a str,
    ) -> BoxFuture<'a, Result<Exchanged, OAuthError>> {
        let request = client.get(&settings.token_url).query(&[
            ("client_id", settings.client_id.as_str()),
            ("client_secret", settings.client_secret.expose()),
            ("redirect_uri", redirect_uri),
            ("code", code),
        ]);
        Box::pin(oauth::exchange(request, settings, Ok))
    }

    fn refresh<'a>(
        &'a self,
        client: &'a Client,
        settings: &'a PlatformConfig,
        tokens: OAuthTokens,
    ) -> BoxFuture<'a, Result<Refreshed, TokenError>> {
        Box::pin(async move {
            let request = client.get(&settings.token_url).query(&[
                ("grant_type", "fb_exchange_token"),
                ("client_id", settings.client_id.as_str()),
                ("client_secret", settings.client_secret.expose()),
                ("fb_exchange_token", tokens.access_token.as_str()),
            ]);
            let timeout = std::time::Duration::from_millis(settings.timeout_ms);
            let (status, body) = oauth::send_for_tokens(request, timeout).await?;
            if status != 200 {
                return Err(match serde_json::from_slice::<ErrorEnvelope>(&body) {
                    Ok(envelope) if envelope.error.code == 190 => {
                        TokenError::Revoked(envelope.error.message)
                    }
                    Ok(envelope) => TokenError::Unavailable(envelope.error.message),
                    Err(_) => TokenError::Unavailable(format!("HTTP {status}")),
                });
            }
            let exchanged: ExchangedToken = serde_json::from_slice(&body)
                .map_err(|error| TokenError::Unavailable(format!("token answer: {error}")))?;
            Ok(Refreshed {
                access_token: exchanged.access_token,
                refresh_token: None,
                expires_at: oauth::expires_at(exchanged.expires_in),
            })
        })
    }

    fn revoke<'a>(
        &'a self,
        client: &'a Client,
        settings: &'a PlatformConfig,
        tokens: &'a OAuthTokens,
    ) -> BoxFuture<'a, Result<(), OAuthError>> {
        let request = client
            .delete(&settings.revoke_url)
            .query(&[("access_token", tokens.access_token.as_str())]);
        Box::pin(oauth::revoke(request, settings))
    }
}
