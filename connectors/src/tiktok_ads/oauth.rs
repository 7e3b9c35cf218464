//! TikTok's OAuth, where it departs from plain OAuth 2: the authorisation page names the app
//! `app_id` (and takes no `response_type`); the code arrives as `auth_code` and is exchanged by
//! posting JSON (`app_id`, `secret`, `auth_code`) to `/oauth2/access_token/` under the API,
//! whose answer is wrapped in TikTok's envelope (`code` 0, tokens in `data`). Marketing API
//! tokens never expire on a timer and cannot be refreshed.

use futures_util::future::BoxFuture;
use reqwest::Client;

use super::TiktokAds;
use crate::config::PlatformConfig;
use crate::oauth::{self, Exchanged, OAuth, OAuthError};

impl OAuth for TiktokAds {
    fn client_params<'a>(&self, settings: &'a PlatformConfig) -> Vec<(&'static str, &'a str)> {
        vec![("app_id", settings.client_id.as_str())]
    }

    /// The exchange has a home under the API when `token_url` is empty.
    fn can_exchange(&self, _settings: &PlatformConfig) -> bool {
        true
    }

    fn exchange_code<'a>(
        &'a self,
        client: &'a Client,
        settings: &'a PlatformConfig,
        code: &'a str,
        _redirect_uri: &'a str,
    ) -> BoxFuture<'a, Result<Exchanged, OAuthError>> {
        let request = client.post(token_url(settings)).json(&serde_json::json!({
            "app_id": settings.client_id,
            "secret": settings.client_secret.expose(),
            "auth_code": code,
        }));
        Box::pin(oauth::exchange(request, settings, |body| {
            if body.get("code").and_then(serde_json::Value::as_i64) != Some(0) {
                return Err(());
            }
            Ok(body.get("data").cloned().unwrap_or_default())
        }))
    }

    fn renews(&self) -> bool {
        false
    }
}

/// The URL of the auth-code exchange: `token_url` when set, otherwise under the API.
fn token_url(settings: &PlatformConfig) -> String {
    if settings.token_url.is_empty() {
        format!(
            "{}/{}/oauth2/access_token/",
            settings.base_url.trim_end_matches('/'),
            settings.api_version
        )
    } else {
        settings.token_url.clone()
    }
}
