//! `POST /open_api/v1.3/oauth2/access_token/` with JSON `{"app_id", "secret", "auth_code"}`:
//! exchanges the auth code from the advertiser authorisation redirect for a long-term access
//! token. Marketing API tokens never expire and cannot be refreshed; each auth code works once.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::{self, TiktokError};
use super::world::REACHABLE_ADVERTISER_IDS;
use crate::connector::Connector;
use crate::requests::Handled;
use crate::state::Sandbox;

/// The templated route, as recorded in the request log.
pub(crate) const ROUTE: &str = "/oauth2/access_token/";

/// The scopes (permission ids) every sandbox token is granted.
const SCOPE: &[u32] = &[1, 2, 3, 4, 5, 6, 7, 8];

/// The handler.
pub(crate) async fn handler(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let response = match exchange(&sandbox, &body) {
        Ok(data) => errors::ok(&sandbox, data),
        Err(error) => error.into_response(&sandbox),
    };
    Handled {
        connector: Connector::TiktokAds,
        route: ROUTE,
        account_id: None,
        fault: None,
    }
    .attach(response)
}

fn exchange(sandbox: &Sandbox, body: &[u8]) -> Result<Value, TiktokError> {
    let Ok(fields) = serde_json::from_slice::<HashMap<String, Value>>(body) else {
        return Err(TiktokError::invalid(
            "body",
            "The request body must be a JSON object.",
        ));
    };
    for name in ["app_id", "secret", "auth_code"] {
        let present = match fields.get(name) {
            Some(Value::String(text)) => !text.is_empty(),
            Some(Value::Number(_)) => true,
            _ => false,
        };
        if !present {
            return Err(TiktokError::missing(name));
        }
    }
    let code = match fields.get("auth_code") {
        Some(Value::String(code)) => code.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    if !sandbox.tiktok_ads().use_auth_code(&code) {
        return Err(TiktokError::auth_code_invalid());
    }
    let issued = sandbox.issue_tokens(Connector::TiktokAds, None, false);
    Ok(json!({
        "access_token": issued.access_token,
        "advertiser_ids": REACHABLE_ADVERTISER_IDS,
        "scope": SCOPE,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::TokenStatus;

    #[test]
    fn a_code_is_exchanged_once_for_a_token_that_never_expires() {
        let sandbox = Sandbox::default();
        let body = br#"{"app_id":"1","secret":"s","auth_code":"abc"}"#;
        let data = exchange(&sandbox, body).unwrap();
        let token = data["access_token"].as_str().unwrap();
        assert_eq!(
            sandbox.token_status(Connector::TiktokAds, token),
            TokenStatus::Valid
        );
        assert!(!data["advertiser_ids"].as_array().unwrap().is_empty());
        assert_eq!(exchange(&sandbox, body).unwrap_err().code, 40110);
        let missing = exchange(&sandbox, br#"{"app_id":"1","secret":"s"}"#).unwrap_err();
        assert_eq!(
            missing.message,
            "auth_code: Missing data for required field."
        );
    }
}
