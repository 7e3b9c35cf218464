//! Configuration: one struct for every process, loaded from `config/default.toml` (compiled in),
//! an optional file, then `ADSYNC__SECTION__KEY` environment variables.
//!
//! Unknown keys and values of the wrong shape are startup errors whose message names the key
//! (for example `database.pool_size: invalid digit found in string`). Secrets are wrapped in
//! [`Secret`] so that `Debug` output never shows them.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The defaults, compiled into every binary so no process depends on its working directory.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// Prefix of the environment variables that override configuration keys.
pub const ENV_PREFIX: &str = "ADSYNC";

/// Environment variable naming an optional configuration file loaded after the defaults.
pub const CONFIG_FILE_ENV: &str = "ADSYNC_CONFIG";

/// The whole configuration of an adsync process.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub database: DatabaseConfig,
    pub rabbitmq: RabbitmqConfig,
    pub crypto: CryptoConfig,
    pub telemetry: TelemetryConfig,
    pub jobs: JobsConfig,
    pub api: ApiConfig,
    pub scheduler: SchedulerConfig,
    pub worker: WorkerConfig,
    pub connectors: ConnectorsConfig,
    pub destinations: DestinationsConfig,
    pub retention: RetentionConfig,
}

/// How long finished job history and warehouse rows are kept, by plan, and when an erased
/// tenant's data is purged. The scheduler leader applies it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days kept on each plan; 0 keeps everything.
    pub free_days: u32,
    pub pro_days: u32,
    pub enterprise_days: u32,
    /// Days between `DELETE /v1/tenant` and the purge of everything the tenant owned.
    pub erasure_grace_days: u32,
    /// How often the leader runs the purge.
    pub purge_interval_secs: u64,
    /// Rows deleted per statement, so a purge never holds long locks.
    pub purge_batch: u32,
}

impl RetentionConfig {
    /// How long `plan`'s history is kept; `None` for ever.
    pub fn days(&self, plan: crate::domain::Plan) -> Option<u32> {
        let days = match plan {
            crate::domain::Plan::Free => self.free_days,
            crate::domain::Plan::Pro => self.pro_days,
            crate::domain::Plan::Enterprise => self.enterprise_days,
        };
        (days > 0).then_some(days)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: Secret,
    pub pool_size: u16,
    pub connect_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RabbitmqConfig {
    /// One AMQP URL, or the URLs of a cluster's nodes separated by commas (a comma inside a
    /// password is written `%2C`).
    pub url: Secret,
    pub prefix: String,
    pub prefetch: u16,
    pub queue_expires_ms: u32,
    pub queue_type: QueueType,
    pub delivery_limit: u32,
}

impl RabbitmqConfig {
    /// The broker URLs, in the order given (a client connects to any one of them).
    pub fn urls(&self) -> Vec<&str> {
        self.url
            .expose()
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .collect()
    }
}

/// RabbitMQ queue type: classic (one node; message priorities) or quorum (a cluster).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueType {
    Classic,
    Quorum,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CryptoConfig {
    pub active_key_id: String,
    pub keys: BTreeMap<String, Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    pub log_format: LogFormat,
    pub log_filter: String,
    pub otlp_endpoint: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    pub max_attempts: u16,
    pub lease_secs: u32,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    pub tenant_cap_defer_ms: u64,
    pub queued_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    pub listen: SocketAddr,
    pub operator_key: Secret,
    /// Key of the HMAC-SHA256 that signs OAuth `state` values (not an encryption key); empty
    /// disables the OAuth flow.
    pub oauth_state_key: Secret,
    /// How long an OAuth `state` stays valid.
    pub oauth_state_ttl_secs: u64,
    /// How far a webhook's `X-Adsync-Timestamp` may be from now, either way.
    pub webhook_tolerance_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerConfig {
    pub listen: SocketAddr,
    pub tick_interval_ms: u64,
    pub tick_batch: u32,
    pub leader_lease_secs: u32,
    pub relay_batch: u32,
    pub relay_concurrency: u16,
    pub relay_sweep_ms: u64,
    pub rescue_interval_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    pub listen: SocketAddr,
    pub concurrency: u16,
    pub id: String,
    pub batch_size: u16,
    pub batch_linger_ms: u64,
    pub shutdown_grace_secs: u64,
    /// A warehouse window up to this size (encoded for binary COPY) is kept in memory and
    /// copied straight into its table at commit; a larger one goes through the staging table.
    pub warehouse_buffer_mb: u32,
}

/// What the connectors share, and each platform's own section as the file and the environment
/// give it. A platform's section (`connectors.<platform>.*`) has its defaults in the platform's
/// folder (`connectors/src/<platform>/config.toml`); the `connectors` crate merges the two and
/// checks the result when a process that calls platforms starts.
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectorsConfig {
    /// A rate-budget wait up to this long is slept in place; a longer one snoozes the job.
    pub max_inline_wait_ms: u64,
    /// Above this share of a platform's usage header, requests slow down.
    pub slow_down_at_usage_percent: f64,
    /// Overrides of each platform's section, by platform (a name that is no platform is an
    /// error naming it).
    #[serde(flatten)]
    pub platforms: BTreeMap<crate::domain::ConnectorKind, PlatformSection>,
}

/// One platform's configuration section as given, before the platform's defaults are merged
/// in. `Debug` shows only its keys: values may be secrets.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct PlatformSection(pub config::Value);

impl fmt::Debug for PlatformSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.clone().into_table() {
            Ok(table) => f.debug_set().entries(table.keys()).finish(),
            Err(_) => f.write_str("[not a table]"),
        }
    }
}

/// Destinations that reach an external API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationsConfig {
    pub google_sheets: SheetsConfig,
}

/// How to reach the Google Sheets API, and how fast adsync may call it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SheetsConfig {
    pub base_url: String,
    pub api_version: String,
    pub token_url: String,
    /// Google's token information endpoint: which Google login (`sub`) a destination's token
    /// belongs to, so destinations on one Google account share its per-user quota.
    pub tokeninfo_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub timeout_ms: u64,
    /// Google's quotas for reads and for writes apiece, per user and per project.
    pub requests_per_minute_per_user: u32,
    pub requests_per_minute_per_project: u32,
    /// Cells a spreadsheet may hold, over all its tabs.
    pub max_cells: u64,
}

/// A configuration value that must never be printed: `Debug` shows `[redacted]`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A configuration that could not be loaded; the message names the key and, where known, the source.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Loads the defaults, then `file` (or the file named by `ADSYNC_CONFIG`) if any, then the
    /// process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env_file = std::env::var_os(CONFIG_FILE_ENV).map(PathBuf::from);
        let file = file.map(Path::to_path_buf).or(env_file);
        Self::load_from(file.as_deref(), std::env::vars())
    }

    /// Loads the defaults, an optional file and the given environment variables (only those
    /// starting with `ADSYNC__` are read). Tests pass their own variables here.
    pub fn load_from(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder().add_source(config::File::from_str(
            DEFAULT_TOML,
            config::FileFormat::Toml,
        ));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError(format!(
                    "configuration file {} does not exist",
                    path.display()
                )));
            }
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
        }
        let env: config::Map<String, String> = vars
            .into_iter()
            .filter(|(key, _)| key.starts_with(&format!("{ENV_PREFIX}__")))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .source(Some(env)),
        );
        let merged = builder
            .build()
            .map_err(|error| ConfigError(error.to_string()))?;
        let config: Config = serde_path_to_error::deserialize(merged).map_err(|error| {
            let key = error.path().to_string();
            ConfigError(format!("{key}: {}", error.into_inner()))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// A connection string naming several hosts must ask for the writable one: without
    /// `target_session_attrs=read-write` a pool could land on a standby, or on the old primary's
    /// address once a standby has been promoted. The URL itself is never quoted (it may hold a
    /// password).
    fn validate_database_url(&self) -> Result<(), ConfigError> {
        let key = "database.url";
        let parsed: tokio_postgres::Config = self.database.url.expose().parse().map_err(|_| {
            ConfigError(format!(
                "{key}: not a valid PostgreSQL connection string (postgres://user@host:port/database)"
            ))
        })?;
        let hosts = parsed.get_hosts().len();
        if hosts > 1
            && parsed.get_target_session_attrs()
                != tokio_postgres::config::TargetSessionAttrs::ReadWrite
        {
            return Err(ConfigError(format!(
                "{key}: lists {hosts} hosts but not target_session_attrs=read-write, so connections \
                 could land on a read-only standby; add ?target_session_attrs=read-write"
            )));
        }
        Ok(())
    }

    /// Every entry of the comma-separated list must be an AMQP URL; the message names the entry
    /// by position, never by its text (it holds a password).
    fn validate_rabbitmq_urls(&self) -> Result<(), ConfigError> {
        let key = "rabbitmq.url";
        let entries: Vec<&str> = self
            .rabbitmq
            .url
            .expose()
            .split(',')
            .map(str::trim)
            .collect();
        for (index, entry) in entries.iter().enumerate() {
            let position = index + 1;
            if entry.is_empty() {
                return Err(ConfigError(format!(
                    "{key}: entry {position} of {} is empty (URLs are separated by single commas)",
                    entries.len()
                )));
            }
            if !(entry.starts_with("amqp://") || entry.starts_with("amqps://"))
                || entry.parse::<lapin::uri::AMQPUri>().is_err()
            {
                return Err(ConfigError(format!(
                    "{key}: entry {position} of {} is not an AMQP URL (amqp://user:password@host:port/vhost)",
                    entries.len()
                )));
            }
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: &str| Err(ConfigError(format!("{key}: {why}")));
        if self.database.pool_size == 0 {
            return fail("database.pool_size", "must be at least 1");
        }
        self.validate_database_url()?;
        self.validate_rabbitmq_urls()?;
        if self.rabbitmq.prefix.is_empty()
            || !self
                .rabbitmq
                .prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return fail(
                "rabbitmq.prefix",
                "must be non-empty and use only letters, digits, '_', '-' and '.'",
            );
        }
        if self.rabbitmq.prefetch == 0 {
            return fail("rabbitmq.prefetch", "must be at least 1");
        }
        let sheets = &self.destinations.google_sheets;
        if sheets.requests_per_minute_per_user == 0 || sheets.requests_per_minute_per_project == 0 {
            return fail(
                "destinations.google_sheets.requests_per_minute_per_user",
                "the per-user and per-project quotas must be at least 1",
            );
        }
        if self.api.oauth_state_ttl_secs == 0 || self.api.oauth_state_ttl_secs > 86_400 {
            return fail("api.oauth_state_ttl_secs", "must be between 1 and 86400");
        }
        if self.api.webhook_tolerance_secs == 0 || self.api.webhook_tolerance_secs > 86_400 {
            return fail("api.webhook_tolerance_secs", "must be between 1 and 86400");
        }
        if self.jobs.max_attempts == 0 {
            return fail("jobs.max_attempts", "must be at least 1");
        }
        if self.jobs.queued_timeout_secs == 0 {
            return fail("jobs.queued_timeout_secs", "must be at least 1");
        }
        if self.jobs.lease_secs < 3 {
            return fail("jobs.lease_secs", "must be at least 3");
        }
        if self.jobs.retry_base_ms == 0 || self.jobs.retry_max_ms < self.jobs.retry_base_ms {
            return fail(
                "jobs.retry_max_ms",
                "must be at least jobs.retry_base_ms, which must be positive",
            );
        }
        if self.scheduler.leader_lease_secs < 3 {
            return fail("scheduler.leader_lease_secs", "must be at least 3");
        }
        if self.scheduler.tick_batch == 0 || self.scheduler.relay_batch == 0 {
            return fail(
                "scheduler.tick_batch",
                "tick_batch and relay_batch must be at least 1",
            );
        }
        if self.retention.purge_interval_secs == 0 || self.retention.purge_batch == 0 {
            return fail(
                "retention.purge_interval_secs",
                "purge_interval_secs and purge_batch must be at least 1",
            );
        }
        if self.worker.concurrency == 0 {
            return fail("worker.concurrency", "must be at least 1");
        }
        if self.worker.batch_size == 0 {
            return fail("worker.batch_size", "must be at least 1");
        }
        if self.rabbitmq.delivery_limit == 0 {
            return fail("rabbitmq.delivery_limit", "must be at least 1");
        }
        if self.scheduler.relay_concurrency == 0 {
            return fail("scheduler.relay_concurrency", "must be at least 1");
        }
        if self.scheduler.relay_sweep_ms == 0 || self.scheduler.rescue_interval_ms == 0 {
            return fail(
                "scheduler.relay_sweep_ms",
                "relay_sweep_ms and rescue_interval_ms must be positive",
            );
        }
        if !(0.0..=100.0).contains(&self.connectors.slow_down_at_usage_percent) {
            return fail(
                "connectors.slow_down_at_usage_percent",
                "must be between 0 and 100",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::load_from(
            None,
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn defaults_load_without_any_environment() {
        let config = load(&[]).unwrap();
        assert_eq!(config.rabbitmq.prefix, "adsync");
        assert_eq!(config.jobs.max_attempts, 5);
        assert!(config.crypto.keys.is_empty());
    }

    #[test]
    fn environment_overrides_nested_keys_and_parses_numbers() {
        let config = load(&[
            ("ADSYNC__DATABASE__POOL_SIZE", "3"),
            ("ADSYNC__CRYPTO__KEYS__K1", "abc"),
            (
                "ADSYNC__CONNECTORS__META_ADS__BASE_URL",
                "http://127.0.0.1:9/meta_ads",
            ),
            ("OTHER__DATABASE__POOL_SIZE", "9"),
        ])
        .unwrap();
        assert_eq!(config.database.pool_size, 3);
        assert_eq!(config.crypto.keys["k1"].expose(), "abc");
        let meta = &config.connectors.platforms[&crate::domain::ConnectorKind::MetaAds];
        assert_eq!(
            meta.0.clone().into_table().unwrap()["base_url"].to_string(),
            "http://127.0.0.1:9/meta_ads"
        );
    }

    #[test]
    fn api_access_keys_have_defaults_and_are_checked() {
        let config = load(&[]).unwrap();
        assert!(config.api.oauth_state_key.is_empty());
        assert_eq!(config.api.oauth_state_ttl_secs, 600);
        assert_eq!(config.api.webhook_tolerance_secs, 300);
        for (key, value, named) in [
            (
                "ADSYNC__API__WEBHOOK_TOLERANCE_SECS",
                "0",
                "api.webhook_tolerance_secs",
            ),
            (
                "ADSYNC__API__OAUTH_STATE_TTL_SECS",
                "0",
                "api.oauth_state_ttl_secs",
            ),
        ] {
            let error = load(&[(key, value)]).unwrap_err().to_string();
            assert!(error.contains(named), "{error}");
        }
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let error = load(&[("ADSYNC__DATABASE__POOL_SIZZLE", "3")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("pool_sizzle"), "{error}");
        assert!(error.contains("database"), "{error}");
    }

    #[test]
    fn a_section_for_no_platform_is_an_error_naming_it() {
        let error = load(&[("ADSYNC__CONNECTORS__MYSPACE__BASE_URL", "http://x")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("myspace"), "{error}");
    }

    #[test]
    fn secrets_of_platform_sections_do_not_show_in_debug_output() {
        let config = load(&[(
            "ADSYNC__CONNECTORS__META_ADS__CLIENT_SECRET",
            "super-secret",
        )])
        .unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("super-secret"), "{printed}");
        assert!(printed.contains("client_secret"), "{printed}");
    }

    #[test]
    fn unknown_section_is_an_error_naming_it() {
        let error = load(&[("ADSYNC__DATABAS__URL", "x")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("databas"), "{error}");
    }

    #[test]
    fn bad_value_is_an_error_naming_the_key() {
        let error = load(&[("ADSYNC__DATABASE__POOL_SIZE", "many")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("database.pool_size"), "{error}");
    }

    #[test]
    fn bad_enum_value_is_an_error_naming_the_key() {
        let error = load(&[("ADSYNC__TELEMETRY__LOG_FORMAT", "xml")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("telemetry.log_format"), "{error}");
    }

    #[test]
    fn out_of_range_value_is_an_error_naming_the_key() {
        let error = load(&[("ADSYNC__WORKER__CONCURRENCY", "0")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("worker.concurrency"), "{error}");
        let error = load(&[("ADSYNC__RABBITMQ__PREFIX", "a b")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("rabbitmq.prefix"), "{error}");
    }

    #[test]
    fn several_broker_urls_are_a_comma_separated_list() {
        let config = load(&[(
            "ADSYNC__RABBITMQ__URL",
            "amqp://u:p@10.0.0.1:5672/%2f, amqp://u:p@10.0.0.2:5672/%2f,amqp://u:p@10.0.0.3:5672/%2f",
        )])
        .unwrap();
        assert_eq!(
            config.rabbitmq.urls(),
            [
                "amqp://u:p@10.0.0.1:5672/%2f",
                "amqp://u:p@10.0.0.2:5672/%2f",
                "amqp://u:p@10.0.0.3:5672/%2f"
            ]
        );
        assert_eq!(load(&[]).unwrap().rabbitmq.urls().len(), 1);
    }

    #[test]
    fn a_bad_broker_url_is_named_by_position_without_its_secret() {
        for (value, says) in [
            (
                "amqp://u:hunter2@a:5672/%2f,,amqp://u:hunter2@c/%2f",
                "entry 2 of 3 is empty",
            ),
            (
                "amqp://u:hunter2@a:5672/%2f,http://u:hunter2@b/",
                "entry 2 of 2 is not an AMQP URL",
            ),
            (
                "amqp://u:hunter2@a:notaport/%2f",
                "entry 1 of 1 is not an AMQP URL",
            ),
            ("", "entry 1 of 1 is empty"),
        ] {
            let error = load(&[("ADSYNC__RABBITMQ__URL", value)])
                .unwrap_err()
                .to_string();
            assert!(error.contains("rabbitmq.url"), "{error}");
            assert!(error.contains(says), "{error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn a_multi_host_database_url_must_ask_for_the_writable_host() {
        let config = load(&[(
            "ADSYNC__DATABASE__URL",
            "postgres://postgres:pw@10.0.0.1:5432,10.0.0.2:5432/adsync?target_session_attrs=read-write",
        )])
        .unwrap();
        assert!(config.database.url.expose().contains("10.0.0.2"));
        for (value, says) in [
            (
                "postgres://postgres:hunter2@10.0.0.1:5432,10.0.0.2:5432/adsync",
                "lists 2 hosts but not target_session_attrs=read-write",
            ),
            (
                "postgres://postgres:hunter2@10.0.0.1:5432,10.0.0.2:5432/adsync?target_session_attrs=any",
                "lists 2 hosts",
            ),
            (
                "postgres://postgres:hunter2@10.0.0.1:5432/adsync?target_session_attrs=primary-ish",
                "not a valid PostgreSQL connection string",
            ),
            (
                "mysql://hunter2@x/y",
                "not a valid PostgreSQL connection string",
            ),
        ] {
            let error = load(&[("ADSYNC__DATABASE__URL", value)])
                .unwrap_err()
                .to_string();
            assert!(error.contains("database.url"), "{error}");
            assert!(error.contains(says), "{error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn a_missing_config_file_is_an_error_naming_it() {
        let error = Config::load_from(Some(Path::new("/nonexistent/adsync.toml")), Vec::new())
            .unwrap_err()
            .to_string();
        assert!(error.contains("/nonexistent/adsync.toml"), "{error}");
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let config = load(&[
            ("ADSYNC__API__OPERATOR_KEY", "super-secret-operator"),
            ("ADSYNC__CRYPTO__KEYS__K1", "super-secret-key"),
        ])
        .unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("super-secret"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }
}
