//! `GET /v{N}.0/oauth/access_token?grant_type=fb_exchange_token&client_id=…&client_secret=…&fb_exchange_token=…`:
//! exchanges a still-valid token for a long-lived one (about 60 days). Meta has no refresh
//! grant: an expired or invalidated token cannot be exchanged (code 190), and the user must log
//! in again. Without `grant_type`, `code=…` (with `client_id`, `client_secret`, `redirect_uri`)
//! exchanges a login redirect's code for a short-lived token (2 hours here); a code works once
//! (code 100, subcode 36009 after that).

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::json;

use super::errors::{CONTENT_TYPE, MetaError};
use super::{LATEST_VERSION, OLDEST_VERSION, parse_version};
use crate::connector::Connector;
use crate::requests::Handled;
use crate::state::Sandbox;
use crate::tokens::TokenStatus;
use crate::wire;

/// The templated route, as recorded in the request log.
pub(crate) const ROUTE: &str = "/v{version}/oauth/access_token";

/// How long an exchanged token lives (Meta answers `expires_in` ≈ 5,184,000 s).
pub(crate) const LONG_LIVED: Duration = Duration::from_secs(60 * 24 * 3600);

/// How long the user token from a code exchange lives (a short-lived token, to be exchanged for
/// a long-lived one).
pub(crate) const SHORT_LIVED: Duration = Duration::from_secs(2 * 3600);

/// The handler.
pub(crate) async fn handler(
    State(sandbox): State<Sandbox>,
    Path(version): Path<String>,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let params = query.map(|Query(params)| params).unwrap_or_default();
    let response = match exchange(&sandbox, &version, &params) {
        Ok(body) => wire::json_with_type(StatusCode::OK, &body, CONTENT_TYPE),
        Err(error) => error.into_response(&sandbox),
    };
    Handled {
        connector: Connector::MetaAds,
        route: ROUTE,
        account_id: None,
        fault: None,
    }
    .attach(response)
}

fn exchange(
    sandbox: &Sandbox,
    version: &str,
    params: &[(String, String)],
) -> Result<serde_json::Value, MetaError> {
    match parse_version(version) {
        Some((major, 0)) if (OLDEST_VERSION..=LATEST_VERSION).contains(&major) => {}
        _ => {
            return Err(MetaError::deprecated_version(&format!(
                "v{LATEST_VERSION}.0"
            )));
        }
    }
    let param = |name: &str| {
        params
            .iter()
            .rev()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    };
    if param("grant_type").is_none()
        && let Some(code) = param("code")
    {
        return exchange_code(sandbox, code, param);
    }
    for required in [
        "grant_type",
        "client_id",
        "client_secret",
        "fb_exchange_token",
    ] {
        if param(required).is_none() {
            return Err(MetaError::invalid_parameter(format!(
                "Missing parameter: {required}"
            )));
        }
    }
    if param("grant_type") != Some("fb_exchange_token") {
        return Err(MetaError::invalid_parameter(
            "Unsupported grant_type: use fb_exchange_token",
        ));
    }
    let token = param("fb_exchange_token").unwrap_or_default();
    match sandbox.token_status(Connector::MetaAds, token) {
        TokenStatus::Valid => {}
        TokenStatus::Expired => return Err(MetaError::expired_token(sandbox.now())),
        TokenStatus::Revoked => return Err(MetaError::revoked_token()),
    }
    let issued = sandbox
        .exchange_token(Connector::MetaAds, token, Some(LONG_LIVED))
        .map_err(|_| MetaError::revoked_token())?;
    Ok(json!({
        "access_token": issued.access_token,
        "token_type": "bearer",
        "expires_in": issued.expires_in,
    }))
}

/// `GET /oauth/access_token?client_id=…&redirect_uri=…&client_secret=…&code=…`: the login
/// redirect's code for a short-lived user token. Any non-empty code works once.
fn exchange_code<'a>(
    sandbox: &Sandbox,
    code: &str,
    param: impl Fn(&str) -> Option<&'a str>,
) -> Result<serde_json::Value, MetaError> {
    for required in ["client_id", "client_secret", "redirect_uri"] {
        if param(required).is_none() {
            return Err(MetaError::invalid_parameter(format!(
                "Missing parameter: {required}"
            )));
        }
    }
    if !sandbox.meta_ads().use_code(code) {
        return Err(MetaError::code_used());
    }
    let issued = sandbox.issue_tokens(Connector::MetaAds, Some(SHORT_LIVED), false);
    Ok(json!({
        "access_token": issued.access_token,
        "token_type": "bearer",
        "expires_in": issued.expires_in,
    }))
}

/// The templated route of the permissions edge, as recorded in the request log.
pub(crate) const REVOKE_ROUTE: &str = "/v{version}/me/permissions";

/// `DELETE /v{N}/me/permissions?access_token=…` (or a bearer token): the user withdraws the
/// app's permissions, so every token of the grant stops working. Answers `{"success": true}`.
pub(crate) fn revoke(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Response {
    let token = params
        .iter()
        .rev()
        .find(|(key, value)| key == "access_token" && !value.is_empty())
        .map(|(_, value)| value.clone())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("Bearer "))
                .map(str::to_owned)
        });
    let response = match token {
        Some(token) => {
            sandbox.revoke_token(Connector::MetaAds, &token);
            wire::json_with_type(StatusCode::OK, &json!({"success": true}), CONTENT_TYPE)
        }
        None => MetaError::invalid_parameter(
            "An active access token must be used to query information about the current user.",
        )
        .into_response(sandbox),
    };
    Handled {
        connector: Connector::MetaAds,
        route: REVOKE_ROUTE,
        account_id: None,
        fault: None,
    }
    .attach(response)
}
