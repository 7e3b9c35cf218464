//! `POST /login/oauth2/access_token` (form-encoded): Snapchat's token endpoint.
//!
//! `grant_type=refresh_token` with `refresh_token`, `client_id`, `client_secret` issues a new
//! access token in the refresh token's grant; the refresh token stays valid and is sent back.
//! `grant_type=authorization_code` with `code` (and `redirect_uri`) starts a grant; any non-empty
//! code works once. Answers `{"access_token","token_type":"Bearer","expires_in",
//! "refresh_token","scope"}`; access tokens live `access_token_lifetime` on the sandbox clock
//! (30 minutes by default). A revoked grant or a reused code is `invalid_grant` (HTTP 400).
//!
//! The token endpoint takes faults like the API: a throttle is a bare HTTP 429, a server error
//! an HTTP 500 (both worth retrying), an expired-token or revoked-token fault makes the refresh
//! token unusable (`invalid_grant`; a revoked one stays revoked), reduce-data is a 500, a
//! malformed fault a 200 whose `expires_in` is a string, and a slow fault delays the answer.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::errors::{CONTENT_TYPE, OAuthError};
use super::json::Json;
use crate::connector::Connector;
use crate::faults::FaultKind;
use crate::requests::Handled;
use crate::state::{Sandbox, lock};
use crate::tokens::IssuedTokens;
use crate::wire;

/// The templated route, as recorded in the request log.
pub(crate) const ROUTE: &str = "/login/oauth2/access_token";

/// The scope every sandbox grant has.
const SCOPE: &str = "snapchat-marketing-api";

/// Decodes an `application/x-www-form-urlencoded` body (`+` is a space, `%XX` a byte).
fn form(body: &[u8]) -> Vec<(String, String)> {
    fn decode(part: &str) -> String {
        let bytes = part.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(byte) => {
                            out.push(byte);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                byte => out.push(byte),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .rev()
        .find(|(key, value)| key == name && !value.is_empty())
        .map(|(_, value)| value.as_str())
}

fn answer(issued: IssuedTokens, malformed: bool) -> Json {
    let mut body = Json::object();
    body.push("access_token", issued.access_token);
    body.push("token_type", "Bearer");
    match (malformed, issued.expires_in) {
        (true, Some(seconds)) => body.push("expires_in", format!("{seconds}s")),
        (true, None) => body.push("expires_in", "never"),
        (false, Some(seconds)) => body.push("expires_in", seconds),
        (false, None) => {}
    }
    if let Some(refresh_token) = issued.refresh_token {
        body.push("refresh_token", refresh_token);
    }
    body.push("scope", SCOPE);
    body
}

fn exchange(
    sandbox: &Sandbox,
    form: &[(String, String)],
    fault: Option<FaultKind>,
) -> Result<Json, OAuthError> {
    let grant_type = field(form, "grant_type")
        .ok_or_else(|| OAuthError::invalid_request("Missing grant_type"))?;
    if field(form, "client_id").is_none() || field(form, "client_secret").is_none() {
        return Err(OAuthError::invalid_client());
    }
    let state = sandbox.snapchat_ads();
    let lifetime = Some(state.config.access_token_lifetime);
    let malformed = fault == Some(FaultKind::Malformed);
    match grant_type {
        "refresh_token" => {
            let refresh_token = field(form, "refresh_token")
                .ok_or_else(|| OAuthError::invalid_request("Missing refresh_token"))?;
            match fault {
                Some(FaultKind::RevokedToken) => {
                    sandbox.revoke_token(Connector::SnapchatAds, refresh_token);
                    return Err(OAuthError::invalid_grant("Invalid refresh token"));
                }
                Some(FaultKind::ExpiredToken) => {
                    return Err(OAuthError::invalid_grant("Refresh token expired"));
                }
                _ => {}
            }
            let issued = sandbox
                .refresh_tokens(Connector::SnapchatAds, refresh_token, lifetime, false)
                .map_err(|_| OAuthError::invalid_grant("Invalid refresh token"))?;
            Ok(answer(issued, malformed))
        }
        "authorization_code" => {
            let code =
                field(form, "code").ok_or_else(|| OAuthError::invalid_request("Missing code"))?;
            if matches!(
                fault,
                Some(FaultKind::RevokedToken | FaultKind::ExpiredToken)
            ) || !lock(&state.used_codes).insert(code.to_owned())
            {
                return Err(OAuthError::invalid_grant(
                    "Invalid authorization code: it was already used or has expired",
                ));
            }
            let issued = sandbox.issue_tokens(Connector::SnapchatAds, lifetime, true);
            Ok(answer(issued, malformed))
        }
        other => Err(OAuthError::unsupported_grant_type(other)),
    }
}

/// The handler.
pub(crate) async fn handler(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let fired = sandbox.take_fault(Connector::SnapchatAds, None);
    if let Some(fired) = fired
        && fired.kind == FaultKind::Slow
    {
        tokio::time::sleep(fired.delay).await;
    }
    let fault = fired.map(|fired| fired.kind);
    let response = match fault {
        Some(FaultKind::Throttle) => wire::json_with_type(
            StatusCode::TOO_MANY_REQUESTS,
            &serde_json::json!({ "error": "too_many_requests", "error_description": "Too many requests" }),
            CONTENT_TYPE,
        ),
        Some(FaultKind::ServerError | FaultKind::ReduceData) => wire::json_with_type(
            StatusCode::INTERNAL_SERVER_ERROR,
            &serde_json::json!({ "error": "server_error", "error_description": "Internal server error" }),
            CONTENT_TYPE,
        ),
        _ => match exchange(&sandbox, &form(&body), fault) {
            Ok(body) => wire::json_with_type(StatusCode::OK, &body, CONTENT_TYPE),
            Err(error) => error.into_response(),
        },
    };
    Handled {
        connector: Connector::SnapchatAds,
        route: ROUTE,
        account_id: None,
        fault,
    }
    .attach(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode_pluses_and_percent_escapes() {
        let pairs = form(b"grant_type=refresh_token&refresh_token=a%2Bb%3D&note=two+words&x=%zz");
        assert_eq!(
            pairs,
            vec![
                ("grant_type".to_owned(), "refresh_token".to_owned()),
                ("refresh_token".to_owned(), "a+b=".to_owned()),
                ("note".to_owned(), "two words".to_owned()),
                ("x".to_owned(), "%zz".to_owned()),
            ]
        );
    }
}
