//! Per-test PostgreSQL databases, cloned from a template that has every migration applied.
//!
//! The template is named after a fingerprint of the migrations, created once per server (under
//! an advisory lock, so parallel test processes agree) and reused until the migrations change.
//! Each test then gets `CREATE DATABASE … TEMPLATE …`, which takes milliseconds, and the
//! database is dropped when the [`TestDatabase`] is.
//!
//! A test database also watches the test's logs ([`crate::logs`]): from its creation until it
//! is dropped, every WARN or ERROR the test did not declare fails the test.

use tokio_postgres::NoTls;

use crate::logs::{ExpectedLog, Level, LogRecord, LogScope};

/// The environment variable naming the test server (any database on it, usually `postgres`).
pub const DATABASE_URL_ENV: &str = "ADSYNC_TEST_DATABASE_URL";

/// A database of its own for one test.
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
    logs: LogScope,
}

impl TestDatabase {
    /// Creates a fresh, migrated database on the shared test server. Panics with instructions
    /// if the server is missing.
    pub async fn create() -> Self {
        Self::create_on(&required_env(DATABASE_URL_ENV)).await
    }

    /// Creates a fresh, migrated database on the server `admin_url` points at (any database on
    /// it), for example a test's private PostgreSQL.
    pub async fn create_on(admin_url: &str) -> Self {
        let admin_url = admin_url.to_string();
        let logs = LogScope::open();
        let template = ensure_template(&admin_url).await;
        // The creating process's id is in the name, so scripts/test.sh can drop the databases
        // of test processes that died without cleaning up, and only those.
        let name = format!(
            "adsync_test_p{}_{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        let admin = connect(&admin_url).await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .unwrap_or_else(|error| panic!("creating test database {name}: {error}"));
        let url = shared::db::with_database_name(&admin_url, &name);
        Self {
            name,
            url,
            admin_url,
            logs,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Declares a WARN or ERROR record whose message contains `message` as an expected
    /// outcome of the test (it must appear at least once).
    pub fn expect_log(&self, level: Level, message: &str) {
        self.logs.expect(ExpectedLog::new(level, message));
    }

    /// Declares an expected record, narrowed by target and fields (see [`ExpectedLog`]).
    pub fn expect(&self, expected: ExpectedLog) {
        self.logs.expect(expected);
    }

    /// The WARN and ERROR records captured since the database was created.
    pub fn log_records(&self) -> Vec<LogRecord> {
        self.logs.records()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // The window closes before the database goes: whatever services still running log
        // when their connections are cut is not the test's doing.
        let findings = self.logs.close();
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; use a thread with its own runtime to finish the
        // cleanup before the test process exits.
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok((client, connection)) = tokio_postgres::connect(&admin_url, NoTls).await {
                    tokio::spawn(connection);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        });
        let _ = cleanup.join();
        crate::logs::fail_with(findings);
    }
}

pub(crate) fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: start the local services and export their URLs with\n  \
             scripts/services.sh up && eval \"$(scripts/services.sh env)\"\n\
             (scripts/test.sh does both)"
        )
    })
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to the test PostgreSQL at {url}: {error}"));
    tokio::spawn(connection);
    client
}

/// Creates the migrated template database if this server does not have it yet.
async fn ensure_template(admin_url: &str) -> String {
    let template = format!("adsync_template_{}", shared::db::migrations_fingerprint());
    let admin = connect(admin_url).await;
    admin
        .batch_execute("SELECT pg_advisory_lock(7236002)")
        .await
        .expect("taking the template lock");
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
        .await
        .expect("looking for the template database")
        .is_some();
    if !exists {
        // Build under a temporary name and rename, so a crash never leaves a half-migrated
        // template behind under the real name.
        let building = format!("{template}_building");
        for statement in [
            format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
            format!("CREATE DATABASE {building}"),
        ] {
            admin
                .batch_execute(&statement)
                .await
                .expect("creating the template database");
        }
        {
            let config = shared::config::DatabaseConfig {
                url: shared::config::Secret::new(shared::db::with_database_name(
                    admin_url, &building,
                )),
                pool_size: 1,
                connect_timeout_ms: 5000,
            };
            let pool = shared::db::pool(&config).expect("template pool");
            shared::db::migrate(&pool)
                .await
                .expect("migrating the template database");
            pool.close();
        }
        for statement in [
            format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{building}'"
            ),
            format!("ALTER DATABASE {building} RENAME TO {template}"),
        ] {
            admin
                .batch_execute(&statement)
                .await
                .expect("renaming the template database");
        }
    }
    admin
        .batch_execute("SELECT pg_advisory_unlock(7236002)")
        .await
        .expect("releasing the template lock");
    template
}
