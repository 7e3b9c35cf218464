//! The OAuth flow that creates connections: `POST /v1/connections/{platform}/authorize` answers
//! the platform's authorisation URL with a signed, expiring, one-time `state`;
//! `GET|POST /v1/connections/callback` verifies the state, exchanges the code at the platform's
//! token endpoint, and stores the tokens sealed.
//!
//! The callback needs no API key: the platform redirects the user's browser with `code` and
//! `state`, and the state (an HMAC-SHA256 under `api.oauth_state_key`, never an encryption key)
//! names the tenant. Its nonce is stored at authorisation and consumed by the callback, so a
//! state works once.

use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use connectors::oauth::{OAuth, OAuthError};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use shared::db::connections::{self, NewConnection};
use shared::db::oauth_states;
use shared::domain::text::check_token;
use shared::domain::{ConnectionId, ConnectorKind, InvalidField, Name, TenantId};

use super::connections::ConnectionView;
use super::db;
use super::openapi::{problems, schemas};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ProblemCode};
use crate::state::AppState;

/// The longest authorisation code taken.
pub const CODE_MAX_BYTES: usize = 4096;

/// The longest redirect URI taken.
pub const REDIRECT_URI_MAX_CHARS: usize = 2000;

/// Whether connections to `connector` are authorised through OAuth (the others post their
/// API token to `/v1/connections`).
pub fn has_oauth(connector: ConnectorKind) -> bool {
    connectors::get(connector).oauth().is_some()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeBody {
    /// The new connection's name.
    #[schema(schema_with = schemas::name)]
    name: String,
    /// Where the platform sends the user back (with `code` and `state`); an absolute http(s)
    /// URL registered with the platform app, of visible ASCII characters.
    #[schema(schema_with = schemas::redirect_uri)]
    redirect_uri: String,
}

/// The platform of `POST /v1/connections/{platform}/authorize`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AuthorizePath {
    /// A platform with an OAuth flow.
    #[param(schema_with = schemas::oauth_platform)]
    platform: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthorizeAnswer {
    /// The platform's authorisation page, to send the user to.
    url: String,
    /// The signed state carried through the redirect; valid once, until `expires_at`.
    state: String,
    expires_at: DateTime<Utc>,
}

/// What the state carries, signed.
#[derive(Debug, Serialize, Deserialize)]
struct StatePayload {
    #[serde(rename = "t")]
    tenant: TenantId,
    #[serde(rename = "p")]
    platform: ConnectorKind,
    #[serde(rename = "n")]
    name: String,
    #[serde(rename = "r")]
    redirect_uri: String,
    /// Expiry, unix seconds.
    #[serde(rename = "e")]
    expires: i64,
    /// Random; stored, and consumed by the callback.
    #[serde(rename = "k")]
    nonce: String,
}

fn state_mac(key: &[u8], payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(b"adsync-oauth-state.");
    mac.update(payload);
    mac
}

/// A signed state: the payload (JSON with `t` tenant, `p` platform, `n` name, `r` redirect_uri,
/// `e` expiry in unix seconds, `k` nonce) and its HMAC, each base64url, joined by a dot.
pub fn encode_state(key: &[u8], payload: &[u8]) -> String {
    let signature = state_mac(key, payload).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

fn state_key(state: &AppState) -> Result<&[u8], ApiError> {
    let key = state.config.api.oauth_state_key.expose().as_bytes();
    if key.is_empty() {
        return Err(ApiError::Unavailable(
            "the OAuth flow is disabled: api.oauth_state_key is empty".into(),
        ));
    }
    Ok(key)
}

fn bad_state(detail: &str) -> ApiError {
    ApiError::Refused {
        code: ProblemCode::InvalidState,
        field: Some("state"),
        detail: detail.to_owned(),
    }
}

/// The platform named in the path, and its OAuth if it has one.
fn parse_platform(platform: &str) -> Result<(ConnectorKind, Option<&'static dyn OAuth>), ApiError> {
    let connector: ConnectorKind = platform
        .parse()
        .map_err(|error: InvalidField| InvalidField::new("platform", error.message))?;
    Ok((connector, connectors::get(connector).oauth()))
}

/// Starts the OAuth flow for a new connection to `platform`.
#[utoipa::path(
    post,
    path = "/v1/connections/{platform}/authorize",
    operation_id = "authorize_connection",
    tag = "connections",
    params(AuthorizePath),
    request_body = AuthorizeBody,
    responses(
        (status = 200, description = "the platform's authorisation URL and the signed state", body = AuthorizeAnswer),
        (status = 403, response = problems::Forbidden)
    ),
    security(("api_key" = []))
)]
pub async fn authorize(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(AuthorizePath { platform }): ApiPath<AuthorizePath>,
    ApiJson(body): ApiJson<AuthorizeBody>,
) -> Result<ApiJson<AuthorizeAnswer>, ApiError> {
    let tenant = caller.tenant()?;
    let (connector, oauth) = parse_platform(&platform)?;
    let settings = state.connectors.platform(connector);
    let Some(oauth) = oauth.filter(|_| !settings.authorize_url.is_empty()) else {
        return Err(InvalidField::new(
            "platform",
            format!("{connector} has no OAuth: post its API token to /v1/connections"),
        )
        .into());
    };
    // Everything the callback will store is checked now, so the callback cannot fail on it
    // after it has spent the code at the platform.
    let name = Name::parse("name", &body.name)?;
    let redirect_ok = body.redirect_uri.chars().count() <= REDIRECT_URI_MAX_CHARS
        && body.redirect_uri.bytes().all(|b| b.is_ascii_graphic())
        && reqwest::Url::parse(&body.redirect_uri).is_ok_and(|url| {
            matches!(url.scheme(), "http" | "https")
                && url.host().is_some()
                && url.fragment().is_none()
        });
    if !redirect_ok {
        return Err(InvalidField::new(
            "redirect_uri",
            format!(
                "must be an absolute http(s) URL without a fragment, at most {REDIRECT_URI_MAX_CHARS} visible ASCII characters (percent-encode the rest)"
            ),
        )
        .into());
    }
    let key = state_key(&state)?;
    let ttl = i64::try_from(state.config.api.oauth_state_ttl_secs).unwrap_or(600);
    let expires_at = Utc::now() + chrono::Duration::seconds(ttl);
    let nonce: [u8; 24] = rand::random();
    let payload = StatePayload {
        tenant,
        platform: connector,
        name: name.into_string(),
        redirect_uri: body.redirect_uri.clone(),
        expires: expires_at.timestamp(),
        nonce: URL_SAFE_NO_PAD.encode(nonce),
    };
    let payload = serde_json::to_vec(&payload).map_err(|error| ApiError::Internal(error.into()))?;
    let signed = encode_state(key, &payload);
    let url = connectors::oauth::authorize_url(oauth, settings, &body.redirect_uri, &signed)
        .map_err(|_| {
            ApiError::Internal(anyhow::anyhow!(
                "connectors.{connector}.authorize_url is not a valid URL"
            ))
        })?;
    let client = db(&state).await?;
    oauth_states::insert(&client, &nonce, tenant, expires_at).await?;
    Ok(ApiJson(AuthorizeAnswer {
        url,
        state: signed,
        expires_at,
    }))
}

/// The redirect's parameters. Platforms add their own (`scope`, `authuser`…), so unknown ones
/// are ignored; TikTok names the code `auth_code`. A missing `state` is read as absent so that
/// it answers `invalid_state` like a wrong one.
#[derive(Debug, Deserialize)]
pub struct CallbackParams {
    #[serde(default, alias = "auth_code")]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// What the platform's redirect carries back: `state`, and `code` or `error`.
// Documents [`CallbackParams`], which is parsed leniently.
#[derive(utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[schema(as = CallbackParams)]
// Only its schema is used: the fields document the parameters for OpenAPI.
#[allow(dead_code)]
pub struct CallbackDoc {
    /// The authorisation code (TikTok's redirect names it `auth_code`, also taken); required
    /// unless `error` is given.
    #[param(schema_with = schemas::code)]
    #[schema(schema_with = schemas::code)]
    code: Option<String>,
    /// The `state` answered by `authorize`, as the platform passed it back.
    #[param(min_length = 1)]
    #[schema(min_length = 1)]
    state: String,
    /// Set by the platform when the user declined.
    #[schema(nullable = false)]
    error: Option<String>,
}

/// Verifies a state: signature, expiry; returns its payload and raw nonce.
fn verify_state(key: &[u8], state: &str) -> Result<(StatePayload, Vec<u8>), ApiError> {
    let (payload, signature) = state
        .split_once('.')
        .ok_or_else(|| bad_state("the state is malformed"))?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| bad_state("the state is malformed"))?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| bad_state("the state is malformed"))?;
    state_mac(key, &payload)
        .verify_slice(&signature)
        .map_err(|_| bad_state("the state's signature is not valid"))?;
    let payload: StatePayload =
        serde_json::from_slice(&payload).map_err(|_| bad_state("the state is malformed"))?;
    if payload.expires <= Utc::now().timestamp() {
        return Err(bad_state(
            "the state has expired: start the authorisation again",
        ));
    }
    let nonce = URL_SAFE_NO_PAD
        .decode(&payload.nonce)
        .map_err(|_| bad_state("the state is malformed"))?;
    Ok((payload, nonce))
}

/// `GET /v1/connections/callback?code=…&state=…`: where the platform's redirect lands.
#[utoipa::path(
    get,
    path = "/v1/connections/callback",
    operation_id = "oauth_callback_get",
    tag = "connections",
    params(CallbackDoc),
    responses(
        (status = 201, description = "the new connection (no API key needed: the state names the tenant)", body = ConnectionView),
        (status = 400, description = "the state is missing, malformed, expired or used, or the platform refused the code (code `invalid_state` or `invalid_code`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 502, response = problems::PlatformError)
    ),
    security(())
)]
pub async fn callback_get(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<CallbackParams>,
) -> Result<(StatusCode, ApiJson<ConnectionView>), ApiError> {
    callback(state, params).await
}

/// `POST /v1/connections/callback {code, state}`: the same, for a front end relaying them.
#[utoipa::path(
    post,
    path = "/v1/connections/callback",
    operation_id = "oauth_callback_post",
    tag = "connections",
    request_body = CallbackDoc,
    responses(
        (status = 201, description = "the new connection (no API key needed: the state names the tenant)", body = ConnectionView),
        (status = 400, description = "the body cannot be read, the state is missing, malformed, expired or used, or the platform refused the code (code `invalid_request`, `invalid_state` or `invalid_code`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 502, response = problems::PlatformError)
    ),
    security(())
)]
pub async fn callback_post(
    State(state): State<AppState>,
    ApiJson(params): ApiJson<CallbackParams>,
) -> Result<(StatusCode, ApiJson<ConnectionView>), ApiError> {
    callback(state, params).await
}

async fn callback(
    state: AppState,
    params: CallbackParams,
) -> Result<(StatusCode, ApiJson<ConnectionView>), ApiError> {
    let key = state_key(&state)?;
    let signed = params
        .state
        .as_deref()
        .filter(|value| !value.is_empty())
        .ok_or_else(|| bad_state("the state is missing"))?;
    let (payload, nonce) = verify_state(key, signed)?;
    if let Some(error) = params.error {
        let said: String = error
            .chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect();
        return Err(InvalidField::new(
            "error",
            format!("the platform refused the authorisation: {said}"),
        )
        .into());
    }
    let Some(code) = params.code.filter(|code| !code.is_empty()) else {
        return Err(InvalidField::new("code", "the authorisation code is missing").into());
    };
    check_token("code", &code, CODE_MAX_BYTES)?;
    // The exchange spends the code: whatever could still fail afterwards is checked first.
    // The state is signed by adsync, but one minted before a rule tightened could carry a name
    // that no longer passes.
    let name = Name::parse("name", &payload.name)
        .map_err(|_| bad_state("the state's name is not valid: start the authorisation again"))?;
    let connector = payload.platform;
    let settings = state.connectors.platform(connector);
    let oauth = match connectors::get(connector).oauth() {
        Some(oauth) if oauth.can_exchange(settings) => oauth,
        _ => {
            return Err(ApiError::Unavailable(format!(
                "connectors.{connector}.token_url is not configured"
            )));
        }
    };
    let client = db(&state).await?;
    if !oauth_states::consume(&client, &nonce, payload.tenant).await? {
        return Err(bad_state(
            "the state was used already or has expired: start the authorisation again",
        ));
    }
    let exchanged = oauth
        .exchange_code(&state.http, settings, &code, &payload.redirect_uri)
        .await
        .map_err(|error| match error {
            OAuthError::Refused { status } => refused_code(connector, status),
            OAuthError::Failed(why) => {
                ApiError::Platform(format!("{connector} code exchange failed: {why}"))
            }
            // Nothing was sent: adsync's request was wrong, not the platform.
            OAuthError::NotSent(why) => ApiError::Internal(anyhow::anyhow!(
                "building the {connector} code exchange: {why}"
            )),
        })?;
    let id = ConnectionId::new();
    let sealed = connections::seal_tokens(&state.keys, payload.tenant, id, &exchanged.tokens)
        .map_err(|error| ApiError::Internal(error.into()))?;
    let connection = connections::insert(
        &client,
        NewConnection {
            id,
            tenant_id: payload.tenant,
            connector: payload.platform,
            name: name.as_str(),
            sealed: &sealed,
            access_token_expires_at: exchanged.expires_at,
            settings: &serde_json::json!({}),
        },
    )
    .await?;
    tracing::info!(connection_id = %id, connector = %payload.platform, "connection authorised");
    Ok((StatusCode::CREATED, ApiJson(connection.into())))
}

/// The platform refused the code (used, expired, or not its own): the caller's to fix.
fn refused_code(connector: ConnectorKind, status: u16) -> ApiError {
    ApiError::Refused {
        code: ProblemCode::InvalidCode,
        field: Some("code"),
        detail: format!(
            "{connector} refused the authorisation code (HTTP {status}): it may be used or expired; start the authorisation again"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(expires: i64) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "t": TenantId::new(), "p": "meta_ads", "n": "x", "r": "https://a.example/cb",
            "e": expires, "k": URL_SAFE_NO_PAD.encode([7u8; 24]),
        }))
        .unwrap_or_default()
    }

    #[test]
    fn states_verify_under_their_key_only_and_until_they_expire() {
        let fresh = payload(Utc::now().timestamp() + 60);
        let state = encode_state(b"key-one", &fresh);
        let (decoded, nonce) = verify_state(b"key-one", &state).expect("a good state");
        assert_eq!(decoded.platform, ConnectorKind::MetaAds);
        assert_eq!(nonce, vec![7u8; 24]);
        for (key, state) in [
            (&b"key-two"[..], state.clone()),
            (
                b"key-one",
                encode_state(b"key-one", &payload(Utc::now().timestamp() - 1)),
            ),
            (b"key-one", state.replace('.', "")),
            (b"key-one", format!("{state}x")),
        ] {
            let error = verify_state(key, &state)
                .err()
                .map(|error| error.to_string());
            assert!(error.is_some(), "{state}");
        }
    }

    #[test]
    fn a_plain_platform_name_in_the_path_names_the_platform_field() {
        let error = parse_platform("myspace").err().map(|error| match error {
            ApiError::InvalidField(invalid) => invalid.field,
            other => other.to_string(),
        });
        assert_eq!(error.as_deref(), Some("platform"));
    }
}
