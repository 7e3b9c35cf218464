//! One test's world: its own database and queue prefix, a configuration pointing at them, an
//! in-process sandbox on a free port, and the api, worker and scheduler started in-process on
//! demand. Everything stops when the world is dropped.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lapin::Connection;
use reqwest::Method;
use sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;
use shared::Config;
use shared::crypto::KeyRing;
use shared::db::Pool;
use shared::domain::ConnectorKind;
use shared::queue::Publisher;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::logs::{ExpectedLog, Level};
use crate::postgres::{TestDatabase, required_env};

/// The environment variable naming the test RabbitMQ.
pub const AMQP_URL_ENV: &str = "ADSYNC_TEST_AMQP_URL";

/// The operator key every test world's API accepts.
pub const OPERATOR_KEY: &str = "test-operator-key";

/// The key signing OAuth `state` values in every test world.
pub const OAUTH_STATE_KEY: &str = "test-oauth-state-key-0123456789abcdef";

/// How long the broker keeps a test's queues after their last use.
const TEST_QUEUE_EXPIRES_MS: &str = "300000";

pub struct TestWorld {
    pub database: TestDatabase,
    pub config: Config,
    pub pool: Pool,
    pub keys: KeyRing,
    pub sandbox: Sandbox,
    /// Base URL of the sandbox, for example `http://127.0.0.1:41234`.
    pub sandbox_url: String,
    shutdown: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
    publisher: Option<Publisher>,
    connections: Vec<Connection>,
    vars: Vec<(String, String)>,
}

impl TestWorld {
    /// A world with the sandbox on the real clock and the default configuration.
    pub async fn start() -> Self {
        Self::start_with(SandboxConfig::default(), &[]).await
    }

    /// A world with a sandbox configured as given and extra `ADSYNC__…` configuration.
    pub async fn start_with(sandbox_config: SandboxConfig, overrides: &[(&str, &str)]) -> Self {
        Self::start_in(TestDatabase::create().await, sandbox_config, overrides).await
    }

    /// A world in `database` (for example on a private PostgreSQL), with a sandbox configured
    /// as given and extra `ADSYNC__…` configuration (`ADSYNC__RABBITMQ__URL` picks another
    /// broker).
    pub async fn start_in(
        database: TestDatabase,
        sandbox_config: SandboxConfig,
        overrides: &[(&str, &str)],
    ) -> Self {
        let amqp_url = required_env(AMQP_URL_ENV);
        let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);

        let sandbox = Sandbox::new(sandbox_config);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the sandbox");
        let sandbox_url = format!("http://{}", listener.local_addr().expect("sandbox address"));
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let served = sandbox.clone();
        let sandbox_task = tokio::spawn(async move {
            sandbox::serve(listener, served, async move { stop.cancelled().await }).await?;
            Ok(())
        });

        let key = KeyRing::generate_key();
        let platform_config = platform_config(&sandbox_url);
        let mut vars: Vec<(String, String)> = [
            ("ADSYNC__DATABASE__URL", database.url()),
            ("ADSYNC__DATABASE__POOL_SIZE", "8"),
            ("ADSYNC__RABBITMQ__URL", amqp_url.as_str()),
            ("ADSYNC__RABBITMQ__PREFIX", prefix.as_str()),
            ("ADSYNC__RABBITMQ__QUEUE_EXPIRES_MS", TEST_QUEUE_EXPIRES_MS),
            ("ADSYNC__CRYPTO__ACTIVE_KEY_ID", "test"),
            ("ADSYNC__CRYPTO__KEYS__TEST", key.as_str()),
            ("ADSYNC__API__LISTEN", "127.0.0.1:0"),
            ("ADSYNC__API__OPERATOR_KEY", OPERATOR_KEY),
            ("ADSYNC__API__OAUTH_STATE_KEY", OAUTH_STATE_KEY),
            ("ADSYNC__WORKER__LISTEN", "127.0.0.1:0"),
            ("ADSYNC__SCHEDULER__LISTEN", "127.0.0.1:0"),
            ("ADSYNC__SCHEDULER__TICK_INTERVAL_MS", "50"),
            ("ADSYNC__JOBS__RETRY_BASE_MS", "50"),
            ("ADSYNC__JOBS__RETRY_MAX_MS", "200"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain(platform_config)
        .collect();
        vars.extend(
            overrides
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let config = Config::load_from(None, vars.clone()).expect("test configuration is valid");
        let pool = shared::db::pool(&config.database).expect("test database pool");
        let keys = KeyRing::from_config(&config.crypto).expect("test key ring");
        shared::telemetry::install_tls_provider();

        Self {
            database,
            config,
            pool,
            keys,
            sandbox,
            sandbox_url,
            shutdown,
            tasks: vec![("sandbox", sandbox_task)],
            publisher: None,
            connections: Vec::new(),
            vars,
        }
    }

    /// Declares a WARN or ERROR record whose message contains `message` as an expected
    /// outcome of the test's scenario (it must appear at least once, from the test process or
    /// a child process). Anything else at WARN or ERROR fails the test ([`crate::logs`]).
    pub fn expect_log(&self, level: Level, message: &str) {
        self.database.expect_log(level, message);
    }

    /// Declares an expected record, narrowed by target and fields, or optional (see
    /// [`ExpectedLog`]).
    pub fn expect(&self, expected: ExpectedLog) {
        self.database.expect(expected);
    }

    /// Declares each of `expected` (for example [`crate::logs::during_broker_outage`]).
    pub fn expect_all(&self, expected: impl IntoIterator<Item = ExpectedLog>) {
        for expected in expected {
            self.database.expect(expected);
        }
    }

    /// The `ADSYNC__…` variables of this world's configuration, for processes it spawns.
    pub fn env(&self) -> &[(String, String)] {
        &self.vars
    }

    /// Starts the API in-process and returns a client for it.
    pub async fn spawn_api(&mut self) -> ApiClient {
        let application = api::Application::build(self.config.clone())
            .await
            .expect("building the api");
        let base = format!("http://{}", application.local_addr().expect("api address"));
        let shutdown = self.shutdown.clone();
        self.tasks
            .push(("api", tokio::spawn(application.serve(shutdown))));
        ApiClient::new(base)
    }

    /// Starts a worker in-process, consuming this world's queues.
    pub fn spawn_worker(&mut self) {
        let config = self.config.clone();
        let shutdown = self.shutdown.clone();
        self.tasks
            .push(("worker", tokio::spawn(worker::run(config, shutdown))));
    }

    /// Starts the scheduler loop in-process (leader election, ticks and relay).
    pub fn spawn_scheduler(&mut self) {
        let config = self.config.clone();
        let shutdown = self.shutdown.clone();
        self.tasks
            .push(("scheduler", tokio::spawn(scheduler::run(config, shutdown))));
    }

    /// A worker engine that executes jobs when the test asks, without consuming messages.
    pub fn worker(&self) -> Arc<worker::Engine<worker::SyncJob>> {
        let executor = worker::SyncJob::new(self.pool.clone(), self.keys.clone(), &self.config)
            .expect("building the sync executor");
        worker::Engine::start(
            self.pool.clone(),
            executor,
            worker::worker_id(&self.config),
            worker::EngineSettings::from_config(&self.config),
        )
    }

    /// One scheduler tick at `now`.
    pub async fn tick(&self, now: DateTime<Utc>) -> scheduler::TickReport {
        let settings = scheduler::TickSettings {
            batch: self.config.scheduler.tick_batch,
            max_attempts: self.config.jobs.max_attempts,
        };
        scheduler::tick(&self.pool, settings, now)
            .await
            .expect("scheduler tick")
    }

    /// One relay pass: publishes due pending jobs. Returns how many.
    pub async fn relay(&mut self) -> usize {
        let batch = self.config.scheduler.relay_batch;
        let publisher = self.publisher().await.clone();
        scheduler::relay(&self.pool, &publisher, batch, 1)
            .await
            .expect("relay pass")
    }

    /// A publisher on this world's topology (declared on first use).
    pub async fn publisher(&mut self) -> &Publisher {
        if self.publisher.is_none() {
            let publisher =
                Publisher::connect(&self.config.rabbitmq, "testkit", Duration::from_secs(10))
                    .await
                    .expect("connecting to the test rabbitmq");
            self.publisher = Some(publisher);
        }
        match &self.publisher {
            Some(publisher) => publisher,
            None => unreachable!("the publisher was connected above"),
        }
    }

    /// A channel on a connection of its own to this world's broker (topology declared).
    pub async fn channel(&mut self) -> lapin::Channel {
        self.publisher().await;
        let connection =
            shared::queue::connect(&self.config.rabbitmq, "testkit", Duration::from_secs(10))
                .await
                .expect("connecting to the test rabbitmq");
        let channel = connection.create_channel().await.expect("amqp channel");
        self.connections.push(connection);
        channel
    }

    /// Stops every service of this world and checks that each stopped cleanly and that no
    /// request reached a route the sandbox does not know.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        for (name, task) in self.tasks.drain(..) {
            match tokio::time::timeout(Duration::from_secs(30), task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(error))) => panic!("{name} stopped with an error: {error:#}"),
                Ok(Err(join_error)) => panic!("{name} panicked: {join_error}"),
                Err(_) => panic!("{name} did not stop within 30 s of shutdown"),
            }
        }
        let unknown = self.sandbox.unknown_routes();
        assert!(
            unknown.is_empty(),
            "requests reached routes the sandbox does not know: {unknown:?}"
        );
    }
}

impl Drop for TestWorld {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A small JSON client for the API.
#[derive(Clone)]
pub struct ApiClient {
    pub base: String,
    http: reqwest::Client,
}

impl ApiClient {
    pub fn new(base: String) -> Self {
        Self {
            base,
            http: reqwest::Client::new(),
        }
    }

    /// Sends a request with `key` as bearer token; returns the status and the JSON body
    /// (`Value::Null` when the body is empty or not JSON).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("api request");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("api response body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn get(&self, path: &str, key: &str) -> (u16, Value) {
        self.request(Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: &Value) -> (u16, Value) {
        self.request(Method::POST, path, Some(key), Some(body))
            .await
    }

    /// Creates a tenant with the operator key and returns its id and first API key.
    pub async fn create_tenant(&self, name: &str) -> (String, String) {
        let (status, body) = self
            .post(
                "/v1/tenants",
                OPERATOR_KEY,
                &serde_json::json!({"name": name}),
            )
            .await;
        assert_eq!(status, 201, "creating tenant {name}: {body}");
        (
            body["tenant"]["id"]
                .as_str()
                .expect("tenant id")
                .to_string(),
            body["api_key"]["key"]
                .as_str()
                .expect("api key")
                .to_string(),
        )
    }
}

/// The configuration that points every connector's API and token endpoint, and the Google
/// Sheets destination's, at a sandbox served at `sandbox_url` (each under its own prefix, as
/// the sandbox documents), with sandbox client credentials.
pub fn platform_config(sandbox_url: &str) -> Vec<(String, String)> {
    let s = sandbox_url.trim_end_matches('/');
    ConnectorKind::ALL
        .into_iter()
        .flat_map(|kind| {
            let urls = connectors::get(kind)
                .sandbox_urls()
                .iter()
                .map(move |(key, path)| (*key, format!("{s}{path}")));
            let credentials = [
                ("client_id", "sandbox-client".to_owned()),
                ("client_secret", "sandbox-secret".to_owned()),
            ];
            urls.chain(credentials).map(move |(key, value)| {
                (
                    format!(
                        "ADSYNC__CONNECTORS__{}__{}",
                        kind.as_str().to_ascii_uppercase(),
                        key.to_ascii_uppercase()
                    ),
                    value,
                )
            })
        })
        .chain(
            [
                ("BASE_URL", format!("{s}/google_sheets")),
                ("TOKEN_URL", format!("{s}/google_sheets/oauth2/token")),
                (
                    "TOKENINFO_URL",
                    format!("{s}/google_sheets/oauth2/tokeninfo"),
                ),
                ("CLIENT_ID", "sandbox-client".to_owned()),
                ("CLIENT_SECRET", "sandbox-secret".to_owned()),
            ]
            .map(|(key, value)| (format!("ADSYNC__DESTINATIONS__GOOGLE_SHEETS__{key}"), value)),
        )
        .collect()
}
