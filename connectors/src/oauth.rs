//! The one OAuth helper every platform's authorisation goes through: the authorisation URL, the
//! code exchange, the refresh and the revocation. [`OAuth`]'s default methods are plain OAuth 2
//! (RFC 6749 form posts to the token endpoint, RFC 7009 revocation); a platform that departs
//! from it overrides only the step it does differently, in its own folder, with the building
//! blocks here ([`exchange`], [`token_answer`]), so every platform reads token answers, reports
//! failures and keeps secrets out of errors the same way.
//!
//! Failures never carry a URL or a body: a token endpoint's URL may carry the client secret in
//! its query (Meta), and its body the tokens.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use reqwest::{Client, RequestBuilder};
use serde::Deserialize;
use shared::db::connections::OAuthTokens;
use shared::domain::text::{TOKEN_MAX_BYTES, check_token};

use crate::config::PlatformConfig;
use crate::tokens::{Refreshed, TokenError};

/// Tokens from a code exchange.
#[derive(Debug, Clone)]
pub struct Exchanged {
    pub tokens: OAuthTokens,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Why a code exchange or a revocation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The platform refused: the code is used, expired or not its own (or, revoking, the grant
    /// is unknown). The caller's to fix.
    #[error("the platform refused (HTTP {status})")]
    Refused { status: u16 },
    /// The platform failed, or answered in a shape we do not know.
    #[error("{0}")]
    Failed(String),
    /// The request could not even be built, so nothing was sent: adsync's fault, not the
    /// platform's.
    #[error("the request could not be built, so nothing was sent: {0}")]
    NotSent(String),
}

/// How a platform authorises connections. Implement it on the platform's unit struct, override
/// what the platform does differently from plain OAuth 2, and return it from
/// `Connector::oauth`.
pub trait OAuth: Send + Sync {
    /// The authorisation page's parameters that name the app: `client_id` and
    /// `response_type=code` in OAuth 2.
    fn client_params<'a>(&self, settings: &'a PlatformConfig) -> Vec<(&'static str, &'a str)> {
        vec![
            ("client_id", settings.client_id.as_str()),
            ("response_type", "code"),
        ]
    }

    /// Parameters the platform wants after the scope (Google: offline access, with consent).
    fn extra_params(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// Whether `settings` say where to exchange a code: `token_url` is set.
    fn can_exchange(&self, settings: &PlatformConfig) -> bool {
        !settings.token_url.is_empty()
    }

    /// Exchanges an authorisation code for tokens: an `authorization_code` grant posted as a
    /// form to `token_url`.
    fn exchange_code<'a>(
        &'a self,
        client: &'a Client,
        settings: &'a PlatformConfig,
        code: &'a str,
        redirect_uri: &'a str,
    ) -> BoxFuture<'a, Result<Exchanged, OAuthError>> {
        let request = client.post(&settings.token_url).form(&[
            ("grant_type", "authorization_code"),
            ("client_id", settings.client_id.as_str()),
            ("client_secret", settings.client_secret.expose()),
            ("redirect_uri", redirect_uri),
            ("code", code),
        ]);
        Box::pin(exchange(request, settings, Ok))
    }

    /// Whether the platform's tokens can be renewed at `token_url`; `false` when they do not
    /// expire (or cannot be renewed), so an expired token means authorising again.
    fn renews(&self) -> bool {
        true
    }

    /// Renews the access token: a `refresh_token` grant posted as a form to `token_url`.
    fn refresh<'a>(
        &'a self,
        client: &'a Client,
        settings: &'a PlatformConfig,
        tokens: OAuthTokens,
    ) -> BoxFuture<'a, Result<Refreshed, TokenError>> {
        Box::pin(refresh_grant(client, TokenEndpoint::of(settings), tokens))
    }

    /// Revokes the grant at `revoke_url`: the refresh token (or the access token when there is
    /// none) posted as a form (RFC 7009).
    fn revoke<'a>(
        &'a self,
        client: &'a Client,
        settings: &'a PlatformConfig,
        tokens: &'a OAuthTokens,
    ) -> BoxFuture<'a, Result<(), OAuthError>> {
        let token = tokens
            .refresh_token
            .as_deref()
            .unwrap_or(&tokens.access_token);
        let request = client.post(&settings.revoke_url).form(&[("token", token)]);
        Box::pin(revoke(request, settings))
    }
}

/// The authorisation page of `oauth` for one attempt: the app's parameters, the redirect URI,
/// the scope (when the platform takes one), the platform's extras, and the signed state.
pub fn authorize_url(
    oauth: &dyn OAuth,
    settings: &PlatformConfig,
    redirect_uri: &str,
    state: &str,
) -> Result<String, OAuthError> {
    let mut params = oauth.client_params(settings);
    params.push(("redirect_uri", redirect_uri));
    if !settings.scope.is_empty() {
        params.push(("scope", settings.scope.as_str()));
    }
    params.extend(oauth.extra_params().iter().copied());
    params.push(("state", state));
    reqwest::Url::parse_with_params(&settings.authorize_url, &params)
        .map(String::from)
        .map_err(|_| OAuthError::Failed("authorize_url is not a valid URL".into()))
}

/// A token endpoint's answer, as OAuth 2 (and every platform here) spells it.
#[derive(Debug, Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<i64>,
}

/// Sends a code exchange and reads the answer: a refusal (HTTP 4xx, or what `unwrap` refuses)
/// is [`OAuthError::Refused`]; `unwrap` takes the token fields out of a platform's envelope
/// (`Ok` when the body is the token answer itself).
pub async fn exchange(
    request: RequestBuilder,
    settings: &PlatformConfig,
    unwrap: impl FnOnce(serde_json::Value) -> Result<serde_json::Value, ()>,
) -> Result<Exchanged, OAuthError> {
    let response = request
        .timeout(Duration::from_millis(settings.timeout_ms))
        .send()
        .await
        .map_err(not_answered)?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|_| OAuthError::Failed(format!("HTTP {} without a JSON body", status.as_u16())))?;
    let refused = OAuthError::Refused {
        status: status.as_u16(),
    };
    if !status.is_success() {
        return Err(refused);
    }
    let answer = unwrap(body).map_err(|()| refused)?;
    let answer: TokenAnswer = serde_json::from_value(answer)
        .map_err(|_| OAuthError::Failed("the token answer has an unexpected shape".into()))?;
    let access_token = answer
        .access_token
        .filter(|token| !token.is_empty())
        .ok_or_else(|| OAuthError::Failed("the token answer has no access_token".into()))?;
    let refresh_token = answer.refresh_token.filter(|token| !token.is_empty());
    // Tokens adsync could not send back in a request are the platform's answer at fault.
    for (name, token) in [
        ("access_token", Some(&access_token)),
        ("refresh_token", refresh_token.as_ref()),
    ] {
        if let Some(token) = token
            && check_token(name, token, TOKEN_MAX_BYTES).is_err()
        {
            return Err(OAuthError::Failed(format!(
                "the token answer's {name} is not a token adsync can use"
            )));
        }
    }
    Ok(Exchanged {
        tokens: OAuthTokens {
            access_token,
            refresh_token,
        },
        expires_at: expires_at(answer.expires_in.filter(|seconds| *seconds > 0)),
    })
}

/// A request that got no answer: not sent at all when it could not be built (adsync's fault),
/// otherwise a transport failure. Neither names the URL.
fn not_answered(error: reqwest::Error) -> OAuthError {
    if error.is_builder() {
        OAuthError::NotSent(error.without_url().to_string())
    } else {
        OAuthError::Failed(error.without_url().to_string())
    }
}

/// When a token that lives `expires_in` seconds from now expires.
pub fn expires_at(expires_in: Option<i64>) -> Option<DateTime<Utc>> {
    expires_in.map(|seconds| Utc::now() + chrono::Duration::seconds(seconds))
}

/// A token endpoint's error, as OAuth 2 spells it.
#[derive(Debug, Default, Deserialize)]
struct TokenRefusal {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// A token endpoint and the OAuth client that calls it.
#[derive(Clone, Copy)]
pub struct TokenEndpoint<'a> {
    pub url: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub timeout: Duration,
}

impl<'a> TokenEndpoint<'a> {
    /// A platform's token endpoint (`token_url`) and client.
    pub fn of(settings: &'a PlatformConfig) -> Self {
        Self {
            url: &settings.token_url,
            client_id: &settings.client_id,
            client_secret: settings.client_secret.expose(),
            timeout: Duration::from_millis(settings.timeout_ms),
        }
    }
}

/// The `refresh_token` grant (RFC 6749, section 6), for a platform's connections or a
/// destination's own login (Google Sheets). A refused grant (`invalid_grant`: revoked, expired,
/// or unused for months) means the user must authorise again; anything else (429, 5xx, a
/// network failure, an answer that does not parse) is worth trying again later.
pub async fn refresh_grant(
    client: &Client,
    endpoint: TokenEndpoint<'_>,
    tokens: OAuthTokens,
) -> Result<Refreshed, TokenError> {
    let Some(refresh_token) = tokens.refresh_token else {
        return Err(TokenError::Revoked(
            "the connection has no refresh token".to_owned(),
        ));
    };
    let request = client.post(endpoint.url).form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
        ("client_id", endpoint.client_id),
        ("client_secret", endpoint.client_secret),
    ]);
    let (status, body) = send_for_tokens(request, endpoint.timeout).await?;
    if status != 200 {
        let refused: TokenRefusal = serde_json::from_slice(&body).unwrap_or_default();
        let description = refused
            .error_description
            .clone()
            .or(refused.error.clone())
            .unwrap_or_else(|| "no error description".to_owned());
        return Err(match (status, refused.error.as_deref()) {
            (400 | 401, Some("invalid_grant")) => TokenError::Revoked(description),
            _ => TokenError::Unavailable(format!(
                "the token endpoint answered HTTP {status}: {description}"
            )),
        });
    }
    token_answer(&body)
}

/// Sends a request to a token endpoint within `timeout`; its status and body.
pub async fn send_for_tokens(
    request: RequestBuilder,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), TokenError> {
    let unavailable =
        |error: reqwest::Error| TokenError::Unavailable(error.without_url().to_string());
    let response = request.timeout(timeout).send().await.map_err(unavailable)?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(unavailable)?;
    Ok((status, body.to_vec()))
}

/// Reads a successful token answer (`access_token`, and optionally a new `refresh_token` and
/// `expires_in`).
pub fn token_answer(body: &[u8]) -> Result<Refreshed, TokenError> {
    #[derive(Deserialize)]
    struct Answer {
        access_token: String,
        #[serde(default)]
        refresh_token: Option<String>,
        #[serde(default)]
        expires_in: Option<i64>,
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let answer: Answer = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        TokenError::Unavailable(format!(
            "the token endpoint's answer is malformed: {}: {}",
            error.path(),
            error.inner()
        ))
    })?;
    Ok(Refreshed {
        access_token: answer.access_token,
        refresh_token: answer.refresh_token,
        expires_at: expires_at(answer.expires_in),
    })
}

/// Sends a revocation: any 2xx is done; otherwise the platform refused, or could not be reached.
pub async fn revoke(request: RequestBuilder, settings: &PlatformConfig) -> Result<(), OAuthError> {
    let response = request
        .timeout(Duration::from_millis(settings.timeout_ms))
        .send()
        .await
        .map_err(not_answered)?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(OAuthError::Refused {
            status: status.as_u16(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Plain;
    impl OAuth for Plain {}

    fn settings() -> PlatformConfig {
        let config = shared::Config::load_from(None, Vec::new()).unwrap();
        crate::Settings::load(&config.connectors)
            .unwrap()
            .platform(shared::domain::ConnectorKind::SnapchatAds)
            .clone()
    }

    #[test]
    fn the_authorisation_url_carries_app_redirect_scope_and_state_in_order() {
        let url = authorize_url(&Plain, &settings(), "https://a.example/cb?x=1", "s.t").unwrap();
        let parsed = reqwest::Url::parse(&url).unwrap();
        let names: Vec<String> = parsed
            .query_pairs()
            .map(|(name, _)| name.into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "client_id",
                "response_type",
                "redirect_uri",
                "scope",
                "state"
            ]
        );
        assert!(
            url.contains("redirect_uri=https%3A%2F%2Fa.example%2Fcb%3Fx%3D1"),
            "{url}"
        );
    }

    #[test]
    fn token_answers_are_read_and_a_malformed_one_names_the_field() {
        let refreshed =
            token_answer(br#"{"access_token":"a","expires_in":60,"refresh_token":"r"}"#).unwrap();
        assert_eq!(refreshed.access_token, "a");
        assert_eq!(refreshed.refresh_token.as_deref(), Some("r"));
        assert!(refreshed.expires_at.is_some());
        let error = token_answer(br#"{"access_token":7}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("access_token"), "{error}");
    }
}
