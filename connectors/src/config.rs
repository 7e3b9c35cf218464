//! Each platform's configuration section, `connectors.<platform>`: its defaults live in the
//! platform's folder (`connectors/src/<platform>/config.toml`), and whatever the configuration
//! file or the environment gives for the section is merged over them. [`Settings::load`] does
//! that for every platform of the registry and checks the result, so a process that calls
//! platforms (the api, the worker) refuses to start with a message naming the bad key.

use std::collections::BTreeMap;

use serde::Deserialize;
use shared::config::{ConnectorsConfig, Secret};
use shared::domain::ConnectorKind;

/// How to reach one platform's API, and how fast adsync may call it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformConfig {
    pub base_url: String,
    /// The API version in paths (`v24.0`, `v21`, `v1.3`, `v1`, `v5`), as the platform spells it.
    pub api_version: String,
    /// The OAuth token endpoint for refreshing tokens; empty when the platform has none.
    pub token_url: String,
    /// The platform's OAuth authorisation page users are sent to; empty when the platform has
    /// no OAuth (tokens are posted directly).
    #[serde(default)]
    pub authorize_url: String,
    /// The read-only scopes asked for at authorisation, separated by spaces (or commas, as the
    /// platform spells them); empty when the platform takes none in the URL.
    #[serde(default)]
    pub scope: String,
    /// Where a deleted connection's grant is revoked (best effort); empty when the platform has
    /// no revocation endpoint.
    #[serde(default)]
    pub revoke_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Rows per page, where the platform lets the client choose.
    pub page_size: u32,
    pub timeout_ms: u64,
    /// Requests per second the whole app may make (every worker, every tenant), and the burst.
    pub app_requests_per_sec: f64,
    pub app_burst: u32,
    /// Requests per second one ad account may take, and the burst.
    pub account_requests_per_sec: f64,
    pub account_burst: u32,
    /// The keys only this platform takes (`Connector::extra_keys`), such as Google Ads'
    /// `developer_token`; always secrets.
    #[serde(skip)]
    pub extra: BTreeMap<String, Secret>,
}

impl PlatformConfig {
    /// One of the platform's own keys (`Connector::extra_keys`); empty when not set.
    pub fn extra(&self, key: &str) -> &str {
        self.extra.get(key).map(Secret::expose).unwrap_or_default()
    }

    fn check(&self, connector: ConnectorKind) -> Result<(), ConfigError> {
        let fail = |field: &str, why: &str| {
            Err(ConfigError(format!(
                "connectors.{connector}.{field}: {why}"
            )))
        };
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return fail("base_url", "must start with http:// or https://");
        }
        let url_or_empty =
            |url: &str| url.is_empty() || url.starts_with("http://") || url.starts_with("https://");
        for (field, url) in [
            ("revoke_url", &self.revoke_url),
            ("authorize_url", &self.authorize_url),
            ("token_url", &self.token_url),
        ] {
            if !url_or_empty(url) {
                return fail(field, "must be empty or start with http:// or https://");
            }
        }
        if self.page_size == 0 || self.page_size > 1_000_000 {
            return fail("page_size", "must be between 1 and 1000000");
        }
        if self.timeout_ms == 0 {
            return fail("timeout_ms", "must be positive");
        }
        let positive = |value: f64| value.is_finite() && value > 0.0;
        if !positive(self.app_requests_per_sec) || self.app_burst == 0 {
            return fail(
                "app_requests_per_sec",
                "app_requests_per_sec and app_burst must be positive",
            );
        }
        if !positive(self.account_requests_per_sec) || self.account_burst == 0 {
            return fail(
                "account_requests_per_sec",
                "account_requests_per_sec and account_burst must be positive",
            );
        }
        Ok(())
    }
}

/// A platform section that could not be loaded; the message names the key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

/// Every platform's settings, loaded once when a process starts.
#[derive(Debug, Clone)]
pub struct Settings {
    platforms: BTreeMap<ConnectorKind, PlatformConfig>,
}

impl Settings {
    /// Merges each platform's section of `config` over the platform's defaults and checks it.
    pub fn load(config: &ConnectorsConfig) -> Result<Self, ConfigError> {
        let mut platforms = BTreeMap::new();
        for kind in ConnectorKind::ALL {
            let connector = crate::get(kind);
            let given = config.platforms.get(&kind).map(|section| &section.0);
            platforms.insert(kind, load_section(connector, given)?);
        }
        Ok(Self { platforms })
    }

    /// The settings of one platform.
    pub fn platform(&self, connector: ConnectorKind) -> &PlatformConfig {
        match self.platforms.get(&connector) {
            Some(platform) => platform,
            None => unreachable!("Settings::load loads every connector"),
        }
    }
}

fn load_section(
    connector: &dyn crate::Connector,
    given: Option<&config::Value>,
) -> Result<PlatformConfig, ConfigError> {
    let kind = connector.kind();
    let fail = |why: String| ConfigError(format!("connectors.{kind}{why}"));
    let mut builder = config::Config::builder().add_source(config::File::from_str(
        connector.config_defaults(),
        config::FileFormat::Toml,
    ));
    if let Some(given) = given {
        let table = given
            .clone()
            .into_table()
            .map_err(|_| fail(": must be a table of keys".into()))?;
        for (key, value) in table {
            builder = builder
                .set_override(key.as_str(), value)
                .map_err(|error| fail(format!(".{key}: {error}")))?;
        }
    }
    let mut table = builder
        .build()
        .and_then(|merged| merged.try_deserialize::<config::Map<String, config::Value>>())
        .map_err(|error| fail(format!(": {error}")))?;
    let mut extra = BTreeMap::new();
    for key in connector.extra_keys() {
        if let Some(value) = table.remove(*key) {
            let value = value
                .into_string()
                .map_err(|error| fail(format!(".{key}: {error}")))?;
            extra.insert((*key).to_owned(), Secret::new(value));
        }
    }
    let value = config::Value::new(None, config::ValueKind::Table(table));
    let mut platform: PlatformConfig =
        serde_path_to_error::deserialize(value).map_err(|error| {
            let path = error.path().to_string();
            let at = if path == "." {
                String::new()
            } else {
                format!(".{path}")
            };
            fail(format!("{at}: {}", error.into_inner()))
        })?;
    platform.extra = extra;
    platform.check(kind)?;
    Ok(platform)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, String> {
        let config = shared::Config::load_from(
            None,
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .map_err(|error| error.to_string())?;
        Settings::load(&config.connectors).map_err(|error| error.to_string())
    }

    #[test]
    fn every_platform_loads_its_defaults_from_its_folder() {
        let settings = load(&[]).unwrap();
        let meta = settings.platform(ConnectorKind::MetaAds);
        assert_eq!(meta.base_url, "https://graph.facebook.com");
        assert_eq!(
            meta.authorize_url,
            "https://www.facebook.com/v24.0/dialog/oauth"
        );
        assert_eq!(meta.scope, "ads_read");
        assert!(
            settings
                .platform(ConnectorKind::Appsflyer)
                .authorize_url
                .is_empty()
        );
        for kind in ConnectorKind::ALL {
            assert!(settings.platform(kind).timeout_ms > 0, "{kind}");
        }
    }

    #[test]
    fn the_environment_overrides_a_platform_and_numbers_parse() {
        let settings = load(&[
            (
                "ADSYNC__CONNECTORS__META_ADS__BASE_URL",
                "http://127.0.0.1:9/meta_ads",
            ),
            ("ADSYNC__CONNECTORS__META_ADS__PAGE_SIZE", "25"),
            ("ADSYNC__CONNECTORS__META_ADS__APP_REQUESTS_PER_SEC", "1.5"),
            (
                "ADSYNC__CONNECTORS__GOOGLE_ADS__DEVELOPER_TOKEN",
                "dev-token",
            ),
        ])
        .unwrap();
        let meta = settings.platform(ConnectorKind::MetaAds);
        assert_eq!(meta.base_url, "http://127.0.0.1:9/meta_ads");
        assert_eq!(meta.page_size, 25);
        assert!((meta.app_requests_per_sec - 1.5).abs() < f64::EPSILON);
        assert_eq!(meta.api_version, "v24.0", "the rest keeps its default");
        assert_eq!(
            settings
                .platform(ConnectorKind::GoogleAds)
                .extra("developer_token"),
            "dev-token"
        );
    }

    #[test]
    fn bad_keys_and_values_are_errors_naming_the_key() {
        for (key, value, named) in [
            (
                "ADSYNC__CONNECTORS__TIKTOK_ADS__AUTHORIZE_URL",
                "ftp://x",
                "connectors.tiktok_ads.authorize_url",
            ),
            (
                "ADSYNC__CONNECTORS__META_ADS__PAGE_SIZE",
                "many",
                "connectors.meta_ads.page_size",
            ),
            (
                "ADSYNC__CONNECTORS__META_ADS__PAGE_SIZZLE",
                "3",
                "page_sizzle",
            ),
            (
                "ADSYNC__CONNECTORS__META_ADS__DEVELOPER_TOKEN",
                "x",
                "developer_token",
            ),
            (
                "ADSYNC__CONNECTORS__SNAPCHAT_ADS__BASE_URL",
                "adsapi.snapchat.com",
                "connectors.snapchat_ads.base_url",
            ),
        ] {
            let error = load(&[(key, value)]).unwrap_err();
            assert!(error.contains(named), "{key}: {error}");
        }
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let settings = load(&[
            (
                "ADSYNC__CONNECTORS__META_ADS__CLIENT_SECRET",
                "super-secret-1",
            ),
            (
                "ADSYNC__CONNECTORS__GOOGLE_ADS__DEVELOPER_TOKEN",
                "super-secret-2",
            ),
        ])
        .unwrap();
        let printed = format!("{settings:?}");
        assert!(!printed.contains("super-secret"), "{printed}");
    }
}
