//! PostgreSQL: the connection pool, the embedded migrations, and one repository module per
//! table. Repositories take a `&impl GenericClient` so callers choose the transaction.

pub mod accounts;
pub mod api_keys;
pub mod connections;
pub mod destinations;
pub mod jobs;
pub mod key_rotation;
pub mod leader;
pub mod oauth_states;
pub mod rate_budgets;
pub mod stats;
pub mod syncs;
pub mod tenant_data;
pub mod tenants;
pub mod webhooks;

use std::time::Duration;

use deadpool_postgres::{ManagerConfig, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::config::DatabaseConfig;

pub use deadpool_postgres::{GenericClient, Object, Pool, Transaction};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// A database failure. The message never contains connection strings or secrets.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database query failed: {}", describe(.0))]
    Query(#[from] tokio_postgres::Error),
    #[error("no database connection available: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("database migration failed: {0}")]
    Migration(#[from] refinery::Error),
    #[error("invalid database configuration: {0}")]
    Config(String),
    #[error("stored row is invalid: {0}")]
    Corrupt(String),
    #[error("a batched statement failed: {0}")]
    Batch(String),
}

/// A query error with the server's message: `tokio_postgres::Error` alone shows only
/// "db error". The server's detail (which may quote row values) is left out.
pub fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{error}: {} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

impl DbError {
    /// Whether the database could not be reached or went away — no connection to be had, the
    /// connection closed or broken under the statement, or the server shutting down, starting
    /// up or refusing connections (SQLSTATE classes 08 and 57P) — rather than refusing the
    /// statement: worth trying again later, and not the fault of the request.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Pool(_) => true,
            DbError::Query(error) => {
                let connection_lost = error.is_closed()
                    || std::error::Error::source(error)
                        .is_some_and(|source| source.is::<std::io::Error>());
                let server_going = error.code().is_some_and(|code| {
                    let code = code.code();
                    code.starts_with("08") || code.starts_with("57P")
                });
                connection_lost || server_going
            }
            DbError::Migration(_)
            | DbError::Config(_)
            | DbError::Corrupt(_)
            | DbError::Batch(_) => false,
        }
    }

    /// The SQLSTATE of a query error, if the server sent one.
    pub fn code(&self) -> Option<&tokio_postgres::error::SqlState> {
        match self {
            DbError::Query(error) => error.code(),
            DbError::Pool(_)
            | DbError::Migration(_)
            | DbError::Config(_)
            | DbError::Corrupt(_)
            | DbError::Batch(_) => None,
        }
    }
}

/// Builds a pool for `config.url`. Connections are opened lazily, on first use.
pub fn pool(config: &DatabaseConfig) -> Result<Pool, DbError> {
    let mut pg: tokio_postgres::Config = config
        .url
        .expose()
        .parse()
        .map_err(|_| DbError::Config("database.url is not a valid PostgreSQL URL".into()))?;
    pg.connect_timeout(Duration::from_millis(config.connect_timeout_ms));
    if pg.get_application_name().is_none() {
        pg.application_name("adsync");
    }
    // Notices ("already exists, skipping") are expected from idempotent DDL; keep them out of
    // the logs.
    pg.options("-c client_min_messages=warning");
    let manager = deadpool_postgres::Manager::from_config(
        pg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        // A pooled connection found closed (its server went away, or a standby was promoted
        // and the old primary is gone) is replaced by a new one, which finds the writable host
        // of a multi-host URL with `target_session_attrs=read-write`.
        .pre_recycle(deadpool_postgres::Hook::sync_fn(|client, _| {
            if client.is_closed() {
                crate::telemetry::count_reconnect(crate::telemetry::Backend::Postgres);
            }
            Ok(())
        }))
        .max_size(usize::from(config.pool_size))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_millis(config.connect_timeout_ms)))
        .create_timeout(Some(Duration::from_millis(config.connect_timeout_ms)))
        .build()
        .map_err(|error| DbError::Config(error.to_string()))
}

/// Applies every migration not yet applied. Safe to call from several processes at once:
/// an advisory lock serialises them.
pub async fn migrate(pool: &Pool) -> Result<(), DbError> {
    let mut client = pool.get().await?;
    client
        .execute("SELECT pg_advisory_lock(7236001)", &[])
        .await?;
    let client: &mut tokio_postgres::Client = &mut client;
    let result = embedded::migrations::runner()
        .run_async(client)
        .await
        .map(|_| ())
        .map_err(DbError::from);
    client
        .execute("SELECT pg_advisory_unlock(7236001)", &[])
        .await?;
    result
}

/// A fingerprint of the embedded migrations (names and SQL), used by the test harness to name
/// its template database.
pub fn migrations_fingerprint() -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for migration in embedded::migrations::runner().get_migrations() {
        hasher.update(migration.to_string().as_bytes());
        hasher.update(migration.checksum().to_le_bytes());
    }
    let digest = hasher.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// `url` (a `postgres://` URL) with its database name replaced by `database`.
pub fn with_database_name(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[authority_end..]
        .find('/')
        .map(|i| i + authority_end)
        .unwrap_or(base.len());
    let mut result = format!("{}/{}", &base[..path_start], database);
    if !query.is_empty() {
        result.push('?');
        result.push_str(query);
    }
    result
}

/// Checks that the database answers.
pub async fn ping(pool: &Pool) -> Result<(), DbError> {
    pool.get().await?.simple_query("SELECT 1").await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::with_database_name;

    #[test]
    fn database_names_are_replaced_in_urls() {
        assert_eq!(
            with_database_name("postgres://u@h:5/postgres", "x"),
            "postgres://u@h:5/x"
        );
        assert_eq!(
            with_database_name("postgres://u@h:5/postgres?sslmode=disable", "x"),
            "postgres://u@h:5/x?sslmode=disable"
        );
        assert_eq!(
            with_database_name("postgres://u@h:5", "x"),
            "postgres://u@h:5/x"
        );
    }
}
