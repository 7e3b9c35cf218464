//! A benchmark's world: its own database on the local PostgreSQL (dropped and migrated
//! afresh), its own queue prefix, a configuration pointing at both, and fixture rows.

use anyhow::Context as _;
use chrono::Utc;
use shared::Config;
use shared::crypto::KeyRing;
use shared::db::connections::{self, NewConnection, OAuthTokens};
use shared::db::{Pool, accounts, destinations, syncs, tenants};
use shared::domain::{
    AccountId, ConnectionId, ConnectorKind, DestinationKind, Plan, SyncId, TenantId,
};
use tokio_postgres::NoTls;

/// A benchmark's database, configuration and pool.
pub(crate) struct BenchEnv {
    pub(crate) config: Config,
    /// The `ADSYNC__…` variables of `config`, for processes the benchmark starts.
    pub(crate) vars: Vec<(String, String)>,
    pub(crate) pool: Pool,
    admin_url: String,
    database: String,
}

/// The rows every benchmark job hangs off: one tenant, account, destination and sync.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fixture {
    pub(crate) tenant: TenantId,
    pub(crate) account: AccountId,
    pub(crate) sync: SyncId,
}

impl BenchEnv {
    /// Creates database `adsync_bench_p<pid>_<scenario>` next to the configured one and a
    /// queue prefix `bench_<scenario>_<pid>`, so two runs at once (say, two checkouts' test
    /// suites) never share them; `overrides` are extra `ADSYNC__…` settings (an
    /// `ADSYNC__DATABASE__URL` among them names the server the database is made on). A database
    /// left by a run that was killed is dropped by `scripts/test.sh`, which knows its process
    /// is gone.
    pub(crate) async fn create(
        scenario: &str,
        overrides: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let base = Config::load_from(
            None,
            std::env::vars().chain(overrides.iter().map(|(k, v)| (k.to_string(), v.clone()))),
        )
        .context("loading configuration from the environment")?;
        let database = format!("adsync_bench_p{}_{scenario}", std::process::id());
        let admin_url = shared::db::with_database_name(base.database.url.expose(), "postgres");
        let (admin, connection) = tokio_postgres::connect(&admin_url, NoTls)
            .await
            .context("connecting to PostgreSQL (is scripts/services.sh up?)")?;
        tokio::spawn(connection);
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            .await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {database}"))
            .await?;
        let url = shared::db::with_database_name(base.database.url.expose(), &database);
        let prefix = format!("bench_{scenario}_{}", std::process::id());
        // Later entries win: the processes listen on any free port unless the scenario names
        // one, and the database, queue prefix and keys are always the run's own.
        let mut vars: Vec<(String, String)> = std::env::vars().collect();
        let any_port = ["WORKER", "SCHEDULER", "API"].map(|process| {
            (
                format!("ADSYNC__{process}__LISTEN"),
                "127.0.0.1:0".to_string(),
            )
        });
        vars.extend(any_port);
        vars.extend(overrides.iter().map(|(k, v)| (k.to_string(), v.clone())));
        vars.extend(
            [
                ("ADSYNC__DATABASE__URL", url),
                ("ADSYNC__RABBITMQ__PREFIX", prefix),
                ("ADSYNC__RABBITMQ__QUEUE_EXPIRES_MS", "600000".to_string()),
                ("ADSYNC__CRYPTO__ACTIVE_KEY_ID", "bench".to_string()),
                ("ADSYNC__CRYPTO__KEYS__BENCH", KeyRing::generate_key()),
            ]
            .into_iter()
            .map(|(key, value)| (key.to_string(), value)),
        );
        let vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(key, _)| key.starts_with("ADSYNC__"))
            .collect();
        let config = Config::load_from(None, vars.clone())?;
        let pool = shared::db::pool(&config.database)?;
        shared::db::migrate(&pool).await?;
        Ok(Self {
            config,
            vars,
            pool,
            admin_url,
            database,
        })
    }

    /// One tenant allowed `max_running_jobs` at once, with a Meta account, a warehouse and a
    /// sync.
    pub(crate) async fn fixture(&self, max_running_jobs: i32) -> anyhow::Result<Fixture> {
        let client = self.pool.get().await?;
        let keys = KeyRing::from_config(&self.config.crypto)?;
        let tenant = tenants::insert(&client, "Bench", Plan::Enterprise, max_running_jobs).await?;
        let id = ConnectionId::new();
        let tokens = OAuthTokens {
            access_token: "bench".into(),
            refresh_token: None,
        };
        let sealed = connections::seal_tokens(&keys, tenant.id, id, &tokens)?;
        let connection = connections::insert(
            &client,
            NewConnection {
                id,
                tenant_id: tenant.id,
                connector: ConnectorKind::MetaAds,
                name: "bench",
                sealed: &sealed,
                access_token_expires_at: None,
                settings: &serde_json::json!({}),
            },
        )
        .await?;
        let account = accounts::insert(
            &client,
            accounts::NewAccount {
                tenant_id: tenant.id,
                connection_id: connection.id,
                connector: ConnectorKind::MetaAds,
                external_id: "1",
                name: "bench",
                time_zone: "UTC",
                currency: "USD",
                reached_through: None,
            },
        )
        .await?
        .context("fresh account")?;
        let destination = destinations::insert(
            &client,
            destinations::NewDestination {
                id: shared::domain::DestinationId::new(),
                tenant_id: tenant.id,
                kind: DestinationKind::Warehouse,
                name: "bench",
                settings: &serde_json::json!({"schema": "warehouse"}),
                sealed: None,
                access_token_expires_at: None,
            },
        )
        .await?;
        let report =
            connectors::catalogue(ConnectorKind::MetaAds).performance("campaign", &["spend"])?;
        let sync = syncs::insert(
            &client,
            syncs::NewSync {
                tenant_id: tenant.id,
                account_id: account.id,
                destination_id: destination.id,
                connector: ConnectorKind::MetaAds,
                report: &report,
                cron: "0 6 * * *",
                time_zone: "UTC",
                fresh_days: 1,
                lookback_days: 1,
                enabled: false,
                next_run_at: Utc::now(),
            },
        )
        .await?;
        Ok(Fixture {
            tenant: tenant.id,
            account: account.id,
            sync: sync.id,
        })
    }

    /// Drops the benchmark's database.
    pub(crate) async fn drop_database(self) -> anyhow::Result<()> {
        self.pool.close();
        let (admin, connection) = tokio_postgres::connect(&self.admin_url, NoTls).await?;
        tokio::spawn(connection);
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.database
            ))
            .await?;
        Ok(())
    }
}

/// A sandbox serving every imitated platform on a loopback port, in this process.
pub(crate) struct SandboxServer {
    pub(crate) sandbox: sandbox::Sandbox,
    /// `http://127.0.0.1:<port>`, without a platform prefix.
    pub(crate) url: String,
    stop: tokio_util::sync::CancellationToken,
}

impl SandboxServer {
    pub(crate) async fn start(config: sandbox::SandboxConfig) -> anyhow::Result<Self> {
        let sandbox = sandbox::Sandbox::new(config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let stop = tokio_util::sync::CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(sandbox::serve(listener, sandbox.clone(), async move {
            stopped.cancelled().await
        }));
        Ok(Self { sandbox, url, stop })
    }

    /// A benchmark's world whose connectors and destinations all point at this sandbox.
    pub(crate) async fn bench_env(&self, scenario: &str) -> anyhow::Result<BenchEnv> {
        let overrides = testkit::world::platform_config(&self.url);
        let overrides: Vec<(&str, String)> = overrides
            .iter()
            .map(|(key, value)| (key.as_str(), value.clone()))
            .collect();
        BenchEnv::create(scenario, &overrides).await
    }
}

impl Drop for SandboxServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
