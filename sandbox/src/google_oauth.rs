//! `POST /oauth2/token` (form-encoded): Google's OAuth 2.0 token endpoint, one endpoint for
//! every Google API the sandbox imitates (Google Ads and Sheets each mount it under their
//! prefix, so each keeps its own token registry and request log entries).
//!
//! - `grant_type=refresh_token&client_id&client_secret&refresh_token` →
//!   `{"access_token","expires_in":3599,"scope","token_type":"Bearer"}`; Google does not return a
//!   new refresh token. A revoked grant answers 400 `invalid_grant` "Token has been expired or
//!   revoked.".
//! - `grant_type=authorization_code&client_id&client_secret&code&redirect_uri` → the same plus a
//!   `refresh_token`; any non-empty code works once, a reused one is `invalid_grant`.
//!
//! And `GET /oauth2/tokeninfo?access_token=…`, or `POST` with the token in a form body
//! (Google's `https://oauth2.googleapis.com/tokeninfo`, Sheets only): who an access token belongs to — `sub`, the login's stable numeric id, which
//! is the same for every grant of the login — with `azp`, `aud`, `scope`, `exp`, `expires_in`
//! and `access_type` (numbers as strings, as Google sends them). An expired, revoked or missing
//! token is 400 `invalid_token` "Invalid Value". A token the sandbox never issued is its own
//! login.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use crate::connector::Connector;
use crate::requests::Handled;
use crate::state::{Sandbox, lock};
use crate::wire;

/// The templated route, as recorded in the request log.
pub(crate) const ROUTE: &str = "/oauth2/token";

/// Google access tokens live an hour, give or take a second.
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(3599);

/// The Google API a token is asked for.
#[derive(Debug, Clone, Copy)]
enum GoogleApi {
    Ads,
    Sheets,
}

impl GoogleApi {
    /// The connector whose tokens these are.
    fn connector(self) -> Connector {
        match self {
            GoogleApi::Ads => Connector::GoogleAds,
            GoogleApi::Sheets => Connector::GoogleSheets,
        }
    }

    /// The scope Google grants.
    fn scope(self) -> &'static str {
        match self {
            GoogleApi::Ads => "https://www.googleapis.com/auth/adwords",
            GoogleApi::Sheets => "https://www.googleapis.com/auth/spreadsheets",
        }
    }

    /// The authorisation codes already exchanged for this API.
    fn used_codes(self, sandbox: &Sandbox) -> &Mutex<HashSet<String>> {
        match self {
            GoogleApi::Ads => &sandbox.google_ads().used_codes,
            GoogleApi::Sheets => &sandbox.google_sheets().used_codes,
        }
    }
}

const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// An OAuth error: HTTP status, `error` and `error_description`.
type OAuthError = (StatusCode, &'static str, String);

fn invalid_request(description: impl Into<String>) -> OAuthError {
    (
        StatusCode::BAD_REQUEST,
        "invalid_request",
        description.into(),
    )
}

/// The token endpoint as the Google Ads API's client sees it.
pub(crate) async fn ads_token(
    State(sandbox): State<Sandbox>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    token(&sandbox, GoogleApi::Ads, form)
}

/// The token endpoint as the Sheets API's client sees it.
pub(crate) async fn sheets_token(
    State(sandbox): State<Sandbox>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    token(&sandbox, GoogleApi::Sheets, form)
}

fn token(
    sandbox: &Sandbox,
    api: GoogleApi,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let response = match form {
        Ok(Form(params)) => grant(sandbox, api, &params),
        Err(_) => Err(invalid_request(
            "The request must be form-encoded (application/x-www-form-urlencoded).",
        )),
    };
    let response = match response {
        Ok(body) => wire::json_with_type(StatusCode::OK, &body, CONTENT_TYPE),
        Err((status, error, description)) => wire::json_with_type(
            status,
            &json!({ "error": error, "error_description": description }),
            CONTENT_TYPE,
        ),
    };
    Handled {
        connector: api.connector(),
        route: ROUTE,
        account_id: None,
        fault: None,
    }
    .attach(response)
}

fn grant(
    sandbox: &Sandbox,
    api: GoogleApi,
    params: &[(String, String)],
) -> Result<serde_json::Value, OAuthError> {
    let connector = api.connector();
    let param = |name: &str| {
        params
            .iter()
            .rev()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    };
    if param("client_id").is_none() {
        return Err(invalid_request(
            "Could not determine client ID from request.",
        ));
    }
    if param("client_secret").is_none() {
        return Err((
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The OAuth client was not found.".to_owned(),
        ));
    }
    match param("grant_type") {
        Some("refresh_token") => {
            let refresh_token = param("refresh_token")
                .ok_or_else(|| invalid_request("Missing required parameter: refresh_token"))?;
            let issued = sandbox
                .refresh_tokens(connector, refresh_token, Some(ACCESS_TOKEN_LIFETIME), false)
                .map_err(|_| {
                    (
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Token has been expired or revoked.".to_owned(),
                    )
                })?;
            Ok(json!({
                "access_token": issued.access_token,
                "expires_in": ACCESS_TOKEN_LIFETIME.as_secs(),
                "scope": api.scope(),
                "token_type": "Bearer",
            }))
        }
        Some("authorization_code") => {
            let code =
                param("code").ok_or_else(|| invalid_request("Missing required parameter: code"))?;
            if param("redirect_uri").is_none() {
                return Err(invalid_request("Missing required parameter: redirect_uri"));
            }
            let fresh = lock(api.used_codes(sandbox)).insert(code.to_owned());
            if !fresh {
                return Err((
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Bad Request".to_owned(),
                ));
            }
            let issued = sandbox.issue_tokens(connector, Some(ACCESS_TOKEN_LIFETIME), true);
            Ok(json!({
                "access_token": issued.access_token,
                "expires_in": ACCESS_TOKEN_LIFETIME.as_secs(),
                "refresh_token": issued.refresh_token,
                "scope": api.scope(),
                "token_type": "Bearer",
            }))
        }
        Some(other) => Err((
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("Invalid grant_type: {other}"),
        )),
        None => Err(invalid_request("Missing required parameter: grant_type")),
    }
}

/// The templated route of the token information endpoint, as recorded in the request log.
pub(crate) const TOKENINFO_ROUTE: &str = "/oauth2/tokeninfo";

/// The client id the sandbox reports as a token's `azp` and `aud`.
const SANDBOX_CLIENT: &str = "sandbox-client.apps.googleusercontent.com";

/// A login's `sub`: 21 digits, stable for the login, as Google's user ids look.
pub(crate) fn subject_of(login: &str) -> String {
    let hash = crate::rng::splitmix64(crate::rng::fnv1a64(login.as_bytes()));
    format!("1{hash:020}")
}

/// `GET /oauth2/tokeninfo?access_token=…` for the Sheets API's tokens.
pub(crate) async fn sheets_tokeninfo_get(
    State(sandbox): State<Sandbox>,
    query: Result<
        axum::extract::Query<Vec<(String, String)>>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Response {
    let params = query.map(|query| query.0).unwrap_or_default();
    tokeninfo(&sandbox, params)
}

/// `POST /oauth2/tokeninfo` with a form-encoded `access_token` (keeps the token out of URLs).
pub(crate) async fn sheets_tokeninfo_post(
    State(sandbox): State<Sandbox>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let params = form.map(|form| form.0).unwrap_or_default();
    tokeninfo(&sandbox, params)
}

fn tokeninfo(sandbox: &Sandbox, params: Vec<(String, String)>) -> Response {
    let api = GoogleApi::Sheets;
    let connector = api.connector();
    let token = params
        .into_iter()
        .rev()
        .find(|(key, value)| key == "access_token" && !value.is_empty())
        .map(|(_, value)| value);
    let valid = token.filter(|token| {
        sandbox.token_status(connector, token) == crate::tokens::TokenStatus::Valid
    });
    let response = match valid {
        Some(token) => {
            let login = sandbox
                .token_login(connector, &token)
                .unwrap_or_else(|| format!("token:{token}"));
            let now = sandbox.now();
            let expires_at = sandbox
                .token_expiry(connector, &token)
                .unwrap_or(now + chrono::Duration::seconds(3599));
            wire::json_with_type(
                StatusCode::OK,
                &json!({
                    "azp": SANDBOX_CLIENT,
                    "aud": SANDBOX_CLIENT,
                    "sub": subject_of(&login),
                    "scope": api.scope(),
                    "exp": expires_at.timestamp().to_string(),
                    "expires_in": (expires_at - now).num_seconds().max(0).to_string(),
                    "access_type": "offline",
                }),
                CONTENT_TYPE,
            )
        }
        None => wire::json_with_type(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_token", "error_description": "Invalid Value"}),
            CONTENT_TYPE,
        ),
    };
    Handled {
        connector,
        route: TOKENINFO_ROUTE,
        account_id: None,
        fault: None,
    }
    .attach(response)
}

/// The templated route of the revocation endpoint, as recorded in the request log.
pub(crate) const REVOKE_ROUTE: &str = "/oauth2/revoke";

/// `POST /oauth2/revoke` (form `token`, an access or refresh token): revokes the grant, as
/// `https://oauth2.googleapis.com/revoke` does. 200 with `{}`, or 400 `invalid_token`.
pub(crate) async fn revoke_handler(
    State(sandbox): State<Sandbox>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let token = form.ok().and_then(|Form(params)| {
        params
            .into_iter()
            .rev()
            .find(|(key, value)| key == "token" && !value.is_empty())
            .map(|(_, value)| value)
    });
    let response = match token {
        Some(token) => {
            sandbox.revoke_token(Connector::GoogleAds, &token);
            wire::json_with_type(StatusCode::OK, &json!({}), CONTENT_TYPE)
        }
        None => wire::json_with_type(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_token", "error_description": "Bad Request"}),
            CONTENT_TYPE,
        ),
    };
    Handled {
        connector: Connector::GoogleAds,
        route: REVOKE_ROUTE,
        account_id: None,
        fault: None,
    }
    .attach(response)
}
