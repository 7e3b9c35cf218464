//! The warehouse destination: one PostgreSQL table per connector and report level
//! (`<schema>.<connector>_<level>`: dates, ids, names, breakdowns, metrics as `numeric`), and
//! one per connector and entity level (`<schema>.<connector>_<level>_entities`).
//!
//! Each page is written with binary `COPY` into the table's unlogged staging table
//! (`<table>__staging`), tagged with the job and attempt, on whichever pooled connection is free:
//! no connection is held while the platform is paged, so a worker running hundreds of jobs needs
//! only a handful. The commit deletes the window's rows for the sync and account (all of them,
//! for entities) and moves the attempt's staged rows in, in one transaction, taking turns per
//! sync so overlapping windows (a fresh run and a lookback run) never interleave. A failure
//! before that leaves the previous rows intact; the next attempt (or [`WarehouseWriter::abort`])
//! clears what was staged.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use connectors::catalogue;
use deadpool_postgres::Object;
use futures_util::pin_mut;
use shared::db::Pool;
use shared::domain::destination::WarehouseSettings;
use shared::domain::report::{ENTITY_NUMBERS, ENTITY_TEXTS};
use shared::domain::{Metric, Stream};
use shared::error::{Classify, ErrorClass};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};

use super::{RowError, WriteTarget, check_rows};
use connectors::rows::{Layout, Row};

#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error("database error: {}", shared::db::describe(.0))]
    Database(#[from] tokio_postgres::Error),
    #[error("no database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(transparent)]
    Row(#[from] RowError),
    #[error("the report has two rows for the same day and entity: {0}")]
    DuplicateRow(String),
}

impl Classify for WarehouseError {
    fn class(&self) -> ErrorClass {
        match self {
            // Bad data (22), a violated constraint (23) or a statement the schema refuses (42)
            // fail the same way on every retry; anything else (connections, deadlocks,
            // restarts) may pass next time.
            WarehouseError::Database(error)
                if error
                    .code()
                    .is_some_and(|code| ["22", "23", "42"].contains(&&code.code()[..2])) =>
            {
                ErrorClass::Permanent
            }
            WarehouseError::Database(_) | WarehouseError::Pool(_) => {
                ErrorClass::Transient { retry_after: None }
            }
            WarehouseError::Row(_) | WarehouseError::DuplicateRow(_) => ErrorClass::Permanent,
        }
    }
}

/// The table for a connector, level and stream.
pub fn table_name(target: &WriteTarget) -> String {
    let suffix = match target.report.stream {
        Stream::Performance => "",
        Stream::Entities => "_entities",
    };
    format!(
        "{}_{}{suffix}",
        target.connector.as_str(),
        target.report.level.as_str()
    )
}

pub struct WarehouseWriter {
    pool: Pool,
    table: String,
    staging: String,
    layout: Layout,
    /// Columns written by this job, in COPY order (the staging table has `attempt` too).
    columns: Vec<String>,
    types: Vec<Type>,
    target: WriteTarget,
    synced_at: DateTime<Utc>,
}

impl WarehouseWriter {
    pub async fn open(
        pool: &Pool,
        settings: &WarehouseSettings,
        target: WriteTarget,
    ) -> Result<Self, WarehouseError> {
        let mut client = pool.get().await?;
        let table = format!("{}.{}", settings.schema, table_name(&target));
        let staging = format!("{table}__staging");
        // One process may write several databases (adsync's own, remote warehouses): each
        // gets its tables.
        let database: String = client
            .query_one(
                "SELECT concat(inet_server_addr(), ':', inet_server_port(), '/', current_database())",
                &[],
            )
            .await?
            .get(0);
        let ensured = (database, table.clone());
        ensure_tables(&mut client, ensured, &settings.schema, &staging, &target).await?;
        // Whatever an earlier attempt of this job staged is stale.
        client
            .execute(
                &format!("DELETE FROM {staging} WHERE job_id = $1"),
                &[&target.job_id],
            )
            .await?;

        let layout = Layout::stored(&target.report);
        let mut columns: Vec<String> = ["tenant_id", "sync_id", "account_id"]
            .iter()
            .map(|c| c.to_string())
            .collect();
        let mut types = vec![Type::UUID, Type::UUID, Type::TEXT];
        if layout.dated {
            columns.push("date".into());
            types.push(Type::DATE);
        }
        for column in &layout.texts {
            columns.push(column.to_string());
            types.push(Type::TEXT);
        }
        for column in &layout.numbers {
            columns.push(column.to_string());
            types.push(Type::NUMERIC);
        }
        for (column, ty) in [
            ("currency", Type::TEXT),
            ("time_zone", Type::TEXT),
            ("job_id", Type::UUID),
            ("synced_at", Type::TIMESTAMPTZ),
        ] {
            columns.push(column.to_string());
            types.push(ty);
        }
        Ok(Self {
            pool: pool.clone(),
            table,
            staging,
            layout,
            columns,
            types,
            target,
            synced_at: Utc::now(),
        })
    }

    /// Stages one page of rows.
    pub async fn write(&mut self, rows: &[Row]) -> Result<(), WarehouseError> {
        if rows.is_empty() {
            return Ok(());
        }
        check_rows(&self.layout, self.target.window, rows)?;
        let client = self.pool.get().await?;
        let mut types = self.types.clone();
        types.push(Type::INT4);
        let sink = client
            .copy_in(&format!(
                "COPY {} ({}, attempt) FROM STDIN (FORMAT binary)",
                self.staging,
                self.columns.join(", ")
            ))
            .await?;
        let writer = BinaryCopyInWriter::new(sink, &types);
        pin_mut!(writer);
        let target = &self.target;
        for row in rows {
            let mut values: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(types.len());
            values.push(&target.tenant_id);
            values.push(&target.sync_id);
            values.push(&target.account_id);
            if self.layout.dated {
                values.push(&row.date);
            }
            for text in &row.texts {
                values.push(text);
            }
            for number in &row.numbers {
                values.push(number);
            }
            values.push(&target.currency);
            values.push(&target.time_zone);
            values.push(&target.job_id);
            values.push(&self.synced_at);
            values.push(&target.attempt);
            writer.as_mut().write(&values).await?;
        }
        writer.finish().await?;
        Ok(())
    }

    /// Replaces the window's rows (all rows, for entities) with this attempt's staged rows,
    /// atomically. Writes of one sync take turns.
    pub async fn commit(self) -> Result<u64, WarehouseError> {
        let columns = self.columns.join(", ");
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        transaction
            .execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))",
                &[&self.target.sync_id.to_string()],
            )
            .await?;
        if self.layout.dated {
            transaction
                .execute(
                    &format!(
                        "DELETE FROM {} WHERE sync_id = $1 AND account_id = $2
                           AND date BETWEEN $3 AND $4",
                        self.table
                    ),
                    &[
                        &self.target.sync_id,
                        &self.target.account_id,
                        &self.target.window.start(),
                        &self.target.window.end(),
                    ],
                )
                .await?;
        } else {
            transaction
                .execute(
                    &format!(
                        "DELETE FROM {} WHERE sync_id = $1 AND account_id = $2",
                        self.table
                    ),
                    &[&self.target.sync_id, &self.target.account_id],
                )
                .await?;
        }
        let inserted = transaction
            .execute(
                &format!(
                    "INSERT INTO {} ({columns}) SELECT {columns} FROM {}
                     WHERE job_id = $1 AND attempt = $2",
                    self.table, self.staging
                ),
                &[&self.target.job_id, &self.target.attempt],
            )
            .await
            .map_err(|error| match error.code() {
                Some(code) if *code == SqlState::UNIQUE_VIOLATION => WarehouseError::DuplicateRow(
                    error
                        .as_db_error()
                        .and_then(|db| db.detail())
                        .unwrap_or("duplicate key")
                        .to_string(),
                ),
                _ => WarehouseError::Database(error),
            })?;
        transaction
            .execute(
                &format!("DELETE FROM {} WHERE job_id = $1", self.staging),
                &[&self.target.job_id],
            )
            .await?;
        transaction.commit().await?;
        Ok(inserted)
    }

    /// Drops what this attempt staged (best effort; the next attempt clears it anyway).
    pub async fn abort(self) {
        let cleared = match self.pool.get().await {
            Ok(client) => client
                .execute(
                    &format!(
                        "DELETE FROM {} WHERE job_id = $1 AND attempt = $2",
                        self.staging
                    ),
                    &[&self.target.job_id, &self.target.attempt],
                )
                .await
                .map(|_| ()),
            Err(_) => Ok(()),
        };
        if let Err(error) = cleared {
            tracing::warn!(%error, "clearing staged rows failed");
        }
    }
}

/// Tables this process has already created or checked; DDL runs once per table per process.
static ENSURED_TABLES: LazyLock<Mutex<HashSet<(String, String)>>> = LazyLock::new(Mutex::default);

/// A table's columns (with types and defaults) and primary key, for everything the connector's
/// catalogue can put in it, so any sync's rows fit.
fn table_shape(target: &WriteTarget) -> (Vec<String>, Vec<String>) {
    let catalogue = catalogue(target.connector);
    let mut columns = vec![
        "tenant_id uuid NOT NULL".to_string(),
        "sync_id uuid NOT NULL".to_string(),
        "account_id text NOT NULL".to_string(),
    ];
    let mut key = vec!["sync_id".to_string(), "account_id".to_string()];
    match target.report.stream {
        Stream::Performance => {
            columns.push("date date NOT NULL".into());
            key.push("date".into());
            let dimensions = target.report.level.dimensions();
            // Ids always come; names may not (Google Ads leaves most ads unnamed).
            columns.extend(dimensions.iter().map(|d| {
                let null = if d.ends_with("_id") { " NOT NULL" } else { "" };
                format!("{d} text{null}")
            }));
            key.extend(
                dimensions
                    .iter()
                    .filter(|d| d.ends_with("_id"))
                    .map(|d| d.to_string()),
            );
            for breakdown in catalogue.breakdowns {
                columns.push(format!("{breakdown} text NOT NULL DEFAULT ''"));
                key.push(breakdown.to_string());
            }
            columns.extend(
                Metric::ALL
                    .iter()
                    .filter(|m| m.derivation().is_some() || catalogue.metrics.contains(m))
                    .map(|m| format!("{m} numeric")),
            );
        }
        Stream::Entities => {
            columns.extend(ENTITY_TEXTS.iter().map(|c| match *c {
                "id" => "id text NOT NULL".to_string(),
                other => format!("{other} text"),
            }));
            key.push("id".into());
            columns.extend(ENTITY_NUMBERS.iter().map(|c| format!("{c} numeric")));
        }
    }
    columns.extend([
        "currency text NOT NULL".to_string(),
        "time_zone text NOT NULL".to_string(),
        "job_id uuid NOT NULL".to_string(),
        "synced_at timestamptz NOT NULL".to_string(),
    ]);
    (columns, key)
}

/// Creates the table and its staging table if missing, and adds any column the catalogue gained
/// since (existing rows keep their values; the new column is empty for them).
async fn ensure_tables(
    client: &mut Object,
    ensured: (String, String),
    schema: &str,
    staging: &str,
    target: &WriteTarget,
) -> Result<(), WarehouseError> {
    if ENSURED_TABLES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .contains(&ensured)
    {
        return Ok(());
    }
    let table = ensured.1.as_str();
    let (columns, key) = table_shape(target);
    let add_columns: String = columns
        .iter()
        .flat_map(|column| [table, staging].map(|t| (t, column)))
        .map(|(t, column)| format!("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS {column};"))
        .collect();
    // Two workers creating the same table at once would collide in the catalogue; a
    // transaction-scoped advisory lock on the table name serialises them.
    let transaction = client.transaction().await?;
    transaction
        .execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&table])
        .await?;
    transaction
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema};
             CREATE TABLE IF NOT EXISTS {table} ({}, PRIMARY KEY ({}));
             CREATE UNLOGGED TABLE IF NOT EXISTS {staging} ({}, attempt integer NOT NULL);
             CREATE INDEX IF NOT EXISTS {}__staging_job ON {staging} (job_id, attempt);
             {add_columns}",
            columns.join(", "),
            key.join(", "),
            columns.join(", "),
            table.rsplit('.').next().unwrap_or(table),
        ))
        .await?;
    transaction.commit().await?;
    ENSURED_TABLES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(ensured);
    Ok(())
}
