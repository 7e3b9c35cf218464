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
//!
//! **Fencing.** The commit happens only if the attempt still holds the job's lease, checked while
//! the commit holds the sync's turn: in the commit transaction itself when the warehouse is
//! adsync's own database, on adsync's database otherwise. Every writer of a sync takes that
//! turn, so an attempt that took the job over commits after a stale one that passed the check,
//! and a stale one that resumes after the newer attempt committed fails the check.
//!
//! **Tables.** DDL never runs in the hot path: a writer first reads the catalog (no lock on the
//! tables) and runs `CREATE … IF NOT EXISTS` / `ADD COLUMN IF NOT EXISTS` only for what is
//! missing (a table used for the first time, a column the catalogue gained), each relation in a
//! transaction of its own under a short `lock_timeout`, so DDL never holds one table while
//! waiting for another and never queues writers for long. What a worker has checked is
//! remembered per database for the life of its [`TableCache`].

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::{BufMut, Bytes, BytesMut};
use chrono::{DateTime, Utc};
use connectors::catalogue;
use deadpool_postgres::Object;
use futures_util::SinkExt as _;
use futures_util::pin_mut;
use shared::db::jobs;
use shared::db::{DbError, Pool};
use shared::domain::destination::WarehouseSettings;
use shared::domain::report::{ENTITY_NUMBERS, ENTITY_TEXTS};
use shared::domain::{Metric, Stream};
use shared::error::{Classify, ErrorClass};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, ToSql, Type};

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
    #[error("checking the job's lease: {0}")]
    Jobs(#[from] DbError),
    #[error("a value cannot be encoded for the warehouse: {0}")]
    Encode(String),
    /// The attempt no longer holds the job (its lease expired and another attempt took over, or
    /// the job ended): committing could overwrite a newer attempt's rows.
    #[error("attempt {attempt} lost the job's lease before committing; nothing was written")]
    LeaseLost { attempt: i32 },
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
            WarehouseError::Database(_)
            | WarehouseError::Pool(_)
            | WarehouseError::Jobs(_)
            | WarehouseError::LeaseLost { .. } => ErrorClass::Transient { retry_after: None },
            WarehouseError::Row(_)
            | WarehouseError::DuplicateRow(_)
            | WarehouseError::Encode(_) => ErrorClass::Permanent,
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

/// Where a warehouse commit checks that its attempt still holds the job's lease.
#[derive(Clone)]
pub enum Fence {
    /// The warehouse is adsync's own database: in the commit transaction.
    SameTransaction,
    /// Another database: on adsync's (this pool), while the commit holds the sync's turn.
    Jobs(Pool),
}

/// The tables a worker has found (or made) complete, per database: the catalog is read once
/// per table and database for the life of the cache, not once per job.
#[derive(Clone, Default)]
pub struct TableCache(Arc<Mutex<HashSet<(String, String)>>>);

impl TableCache {
    fn contains(&self, key: &(String, String)) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(key)
    }

    fn insert(&self, key: (String, String)) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key);
    }
}

/// Advisory-lock namespaces (the first key of `pg_advisory_xact_lock(int, int)`), so a sync's
/// turn and a table's preparation never share a lock by a hash collision.
const SYNC_TURN: i32 = 0x5741_5245; // "WARE"
const TABLE_DDL: i32 = 0x5444_444C; // "TDDL"

/// Storage options of a table's primary key. A commit deletes the window's rows and inserts
/// their replacements under the same keys in one transaction, so every leaf page of the key
/// fills with pairs of equal keys whose older half is still visible to others. Deduplication
/// would merge those pairs into posting lists again and again as the page refills (a pass over
/// the whole page each time); without it a full page simply splits, and the old entries go
/// once they are dead to every transaction (bottom-up deletion, vacuum). Replacing a
/// 100,000-row window takes about a fifth less database CPU so.
const PRIMARY_KEY_OPTIONS: &str = "deduplicate_items = off";

/// The binary `COPY` header: signature, flags, header extension length.
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The bytes sent in one `CopyData` message.
const COPY_CHUNK: usize = 1 << 20;
/// Rows encoded before the buffer's size is checked.
const ENCODE_SLICE: usize = 1000;

pub struct WarehouseWriter {
    pool: Pool,
    fence: Fence,
    table: String,
    staging: String,
    layout: Layout,
    /// Columns written by this job, in COPY order (the staging table has `attempt` too).
    columns: Vec<String>,
    types: Vec<Type>,
    target: WriteTarget,
    synced_at: DateTime<Utc>,
    /// Rows encoded for binary `COPY` into the table (each a field count and its fields) and
    /// not sent yet. While the window fits `buffer_limit` bytes it stays here and goes straight
    /// into the table at commit; a larger window spills to the staging table.
    buffered: BytesMut,
    /// Where each buffered row starts.
    row_starts: Vec<usize>,
    buffer_limit: usize,
    /// Whether rows of this attempt went to the staging table.
    spilled: bool,
}

impl WarehouseWriter {
    /// Opens a write into the warehouse `pool` reaches; `database` names that database for the
    /// table cache (one worker may write several). A window whose rows take up to
    /// `buffer_limit` bytes is copied straight into the table at commit.
    pub async fn open(
        pool: &Pool,
        database: &str,
        tables: &TableCache,
        fence: Fence,
        buffer_limit: usize,
        settings: &WarehouseSettings,
        target: WriteTarget,
    ) -> Result<Self, WarehouseError> {
        let mut client = pool.get().await?;
        let table = format!("{}.{}", settings.schema, table_name(&target));
        let staging = format!("{table}__staging");
        let key = (database.to_owned(), table.clone());
        if !tables.contains(&key) {
            prepare_tables(&mut client, &settings.schema, &target).await?;
            tables.insert(key);
        }
        // Whatever an earlier attempt of this job staged is stale.
        client
            .execute(
                &format!("DELETE FROM {staging} WHERE job_id = $1"),
                &[&target.lease.job_id],
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
            fence,
            table,
            staging,
            layout,
            columns,
            types,
            target,
            synced_at: Utc::now(),
            buffered: BytesMut::new(),
            row_starts: Vec::new(),
            buffer_limit,
            spilled: false,
        })
    }

    /// Takes one page of rows: encoded into the buffer, which spills to the staging table once
    /// the window outgrows it.
    pub async fn write(&mut self, rows: &[Row]) -> Result<(), WarehouseError> {
        if rows.is_empty() {
            return Ok(());
        }
        check_rows(&self.layout, self.target.window, rows)?;
        // A page may be huge (AppsFlyer answers a window in one); encoding it in slices keeps
        // the buffer within its limit by a slice at most.
        for slice in rows.chunks(ENCODE_SLICE) {
            self.encode(slice)?;
            if self.spilled || self.buffered.len() > self.buffer_limit {
                self.spill().await?;
            }
        }
        Ok(())
    }

    /// Appends `rows` to the buffer in the table's binary `COPY` row format.
    fn encode(&mut self, rows: &[Row]) -> Result<(), WarehouseError> {
        let fields = i16::try_from(self.types.len()).unwrap_or(i16::MAX);
        let target = &self.target;
        let out = &mut self.buffered;
        for row in rows {
            self.row_starts.push(out.len());
            out.put_i16(fields);
            let mut values: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(self.types.len());
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
            values.push(&target.lease.job_id);
            values.push(&self.synced_at);
            for (value, ty) in values.into_iter().zip(&self.types) {
                encode_field(out, value, ty)?;
            }
        }
        Ok(())
    }

    /// Sends the buffered rows to the staging table, each tagged with the attempt, in one
    /// `COPY`, and empties the buffer.
    async fn spill(&mut self) -> Result<(), WarehouseError> {
        if self.row_starts.is_empty() {
            return Ok(());
        }
        let client = self.pool.get().await?;
        let sink = client
            .copy_in::<_, Bytes>(&format!(
                "COPY {} ({}, attempt) FROM STDIN (FORMAT binary)",
                self.staging,
                self.columns.join(", ")
            ))
            .await?;
        pin_mut!(sink);
        let fields = i16::try_from(self.types.len() + 1).unwrap_or(i16::MAX);
        let mut out = BytesMut::with_capacity(COPY_CHUNK + 4096);
        out.put_slice(COPY_HEADER);
        let ends = self.row_starts[1..]
            .iter()
            .copied()
            .chain([self.buffered.len()]);
        for (start, end) in self.row_starts.iter().copied().zip(ends) {
            // The row without its field count, then the attempt.
            out.put_i16(fields);
            out.put_slice(&self.buffered[start + 2..end]);
            out.put_i32(4);
            out.put_i32(self.target.lease.attempt);
            if out.len() >= COPY_CHUNK {
                sink.as_mut().feed(out.split().freeze()).await?;
            }
        }
        out.put_i16(-1);
        sink.as_mut().feed(out.freeze()).await?;
        sink.as_mut().finish().await?;
        self.buffered = BytesMut::new();
        self.row_starts = Vec::new();
        self.spilled = true;
        Ok(())
    }

    /// Replaces the window's rows (all rows, for entities) with this attempt's staged rows,
    /// atomically, if the attempt still holds the job's lease. Writes of one sync take turns.
    pub async fn commit(self) -> Result<u64, WarehouseError> {
        let columns = self.columns.join(", ");
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        transaction
            .execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&SYNC_TURN, &self.target.sync_id.to_string()],
            )
            .await?;
        let lease = &self.target.lease;
        let holds = match &self.fence {
            Fence::SameTransaction => jobs::holds(&transaction, lease).await?,
            Fence::Jobs(pool) => {
                jobs::holds(&pool.get().await.map_err(DbError::from)?, lease).await?
            }
        };
        if !holds {
            drop(transaction);
            self.abort().await;
            return Err(WarehouseError::LeaseLost {
                attempt: lease.attempt,
            });
        }
        let duplicate = |error: tokio_postgres::Error| match error.code() {
            Some(code) if *code == SqlState::UNIQUE_VIOLATION => WarehouseError::DuplicateRow(
                error
                    .as_db_error()
                    .and_then(|db| db.detail())
                    .unwrap_or("duplicate key")
                    .to_string(),
            ),
            _ => WarehouseError::Database(error),
        };
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
        let inserted = if self.spilled {
            let inserted = transaction
                .execute(
                    &format!(
                        "INSERT INTO {} ({columns}) SELECT {columns} FROM {}
                         WHERE job_id = $1 AND attempt = $2",
                        self.table, self.staging
                    ),
                    &[&lease.job_id, &lease.attempt],
                )
                .await
                .map_err(duplicate)?;
            transaction
                .execute(
                    &format!("DELETE FROM {} WHERE job_id = $1", self.staging),
                    &[&lease.job_id],
                )
                .await?;
            inserted
        } else {
            // The whole window is in memory: straight into the table, no staging.
            let sink = transaction
                .copy_in::<_, Bytes>(&format!(
                    "COPY {} ({columns}) FROM STDIN (FORMAT binary)",
                    self.table
                ))
                .await?;
            pin_mut!(sink);
            let mut rows = self.buffered;
            sink.as_mut()
                .feed(Bytes::from_static(COPY_HEADER))
                .await
                .map_err(duplicate)?;
            while !rows.is_empty() {
                let chunk = rows.split_to(rows.len().min(COPY_CHUNK)).freeze();
                sink.as_mut().feed(chunk).await.map_err(duplicate)?;
            }
            sink.as_mut()
                .feed(Bytes::from_static(&[0xff, 0xff]))
                .await
                .map_err(duplicate)?;
            sink.as_mut().finish().await.map_err(duplicate)?
        };
        transaction.commit().await?;
        Ok(inserted)
    }

    /// Drops what this attempt staged (best effort; the next attempt clears it anyway).
    pub async fn abort(&self) {
        if !self.spilled {
            return;
        }
        let cleared = match self.pool.get().await {
            Ok(client) => client
                .execute(
                    &format!(
                        "DELETE FROM {} WHERE job_id = $1 AND attempt = $2",
                        self.staging
                    ),
                    &[&self.target.lease.job_id, &self.target.lease.attempt],
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

/// One field of a binary `COPY` row: its length (-1 for NULL) and its bytes.
fn encode_field(
    out: &mut BytesMut,
    value: &(dyn ToSql + Sync),
    ty: &Type,
) -> Result<(), WarehouseError> {
    let at = out.len();
    out.put_i32(0);
    let length = match value
        .to_sql_checked(ty, out)
        .map_err(|error| WarehouseError::Encode(error.to_string()))?
    {
        IsNull::Yes => -1,
        IsNull::No => i32::try_from(out.len() - at - 4)
            .map_err(|_| WarehouseError::Encode("a value longer than 2 GiB".into()))?,
    };
    out[at..at + 4].copy_from_slice(&length.to_be_bytes());
    Ok(())
}

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

/// Makes sure the table, its staging table and the staging index exist with every column the
/// catalogue can fill. The catalog is read first; DDL runs only for what is missing, one
/// relation per transaction (never holding one table's lock while waiting for another's), each
/// under an advisory lock on the table (preparers take turns) and a short `lock_timeout` (an
/// `ADD COLUMN` on a busy table gives up and the job retries, rather than queueing writers).
async fn prepare_tables(
    client: &mut Object,
    schema: &str,
    target: &WriteTarget,
) -> Result<(), WarehouseError> {
    let name = table_name(target);
    let staging_name = format!("{name}__staging");
    let index_name = format!("{name}__staging_job");
    let (columns, key) = table_shape(target);
    let missing =
        missing_parts(client, schema, &name, &staging_name, &index_name, &columns).await?;
    if missing.is_empty() {
        return Ok(());
    }
    let table = format!("{schema}.{name}");
    let staging = format!("{schema}.{staging_name}");
    for part in missing {
        let statements = match part {
            Missing::Schema => format!("CREATE SCHEMA IF NOT EXISTS {schema}"),
            Missing::Table => format!(
                "CREATE TABLE IF NOT EXISTS {table} ({}, PRIMARY KEY ({}) WITH ({PRIMARY_KEY_OPTIONS}))",
                columns.join(", "),
                key.join(", ")
            ),
            Missing::Staging => format!(
                "CREATE UNLOGGED TABLE IF NOT EXISTS {staging} ({}, attempt integer NOT NULL)",
                columns.join(", ")
            ),
            Missing::Index => {
                format!("CREATE INDEX IF NOT EXISTS {index_name} ON {staging} (job_id, attempt)")
            }
            Missing::Columns {
                staging: on_staging,
                columns: added,
            } => {
                let relation = if on_staging { &staging } else { &table };
                format!(
                    "ALTER TABLE {relation} {}",
                    added
                        .iter()
                        .map(|column| format!("ADD COLUMN IF NOT EXISTS {column}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        };
        let transaction = client.transaction().await?;
        transaction
            .execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&TABLE_DDL, &table],
            )
            .await?;
        transaction
            .batch_execute(&format!("SET LOCAL lock_timeout = '5s'; {statements}"))
            .await?;
        transaction.commit().await?;
    }
    Ok(())
}

/// What [`prepare_tables`] has to create, in the order to create it.
#[derive(Debug, PartialEq)]
enum Missing {
    Schema,
    Table,
    Staging,
    Index,
    /// Columns (definitions) missing from the table, or from its staging table.
    Columns {
        staging: bool,
        columns: Vec<String>,
    },
}

/// Reads the catalog (no lock on the tables themselves) for what is missing.
async fn missing_parts(
    client: &Object,
    schema: &str,
    table: &str,
    staging: &str,
    index: &str,
    columns: &[String],
) -> Result<Vec<Missing>, WarehouseError> {
    let rows = client
        .query(
            "SELECT c.relname::text AS relation, a.attname::text AS column_name
             FROM pg_namespace n
             LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = ANY($2)
             LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
                                     AND NOT a.attisdropped
             WHERE n.nspname = $1",
            &[&schema, &[table, staging, index].as_slice()],
        )
        .await?;
    if rows.is_empty() {
        return Ok(vec![
            Missing::Schema,
            Missing::Table,
            Missing::Staging,
            Missing::Index,
        ]);
    }
    let mut present: HashSet<(String, String)> = HashSet::new();
    let mut relations: HashSet<String> = HashSet::new();
    for row in &rows {
        let relation: Option<String> = row.try_get("relation")?;
        let column: Option<String> = row.try_get("column_name")?;
        if let Some(relation) = relation {
            if let Some(column) = column {
                present.insert((relation.clone(), column));
            }
            relations.insert(relation);
        }
    }
    let mut missing = Vec::new();
    for (relation, is_staging, whole) in [
        (table, false, Missing::Table),
        (staging, true, Missing::Staging),
    ] {
        if !relations.contains(relation) {
            missing.push(whole);
            continue;
        }
        let absent: Vec<String> = columns
            .iter()
            .filter(|definition| {
                let name = definition.split_whitespace().next().unwrap_or_default();
                !present.contains(&(relation.to_owned(), name.to_owned()))
            })
            .cloned()
            .collect();
        if !absent.is_empty() {
            missing.push(Missing::Columns {
                staging: is_staging,
                columns: absent,
            });
        }
    }
    if !relations.contains(index) {
        missing.push(Missing::Index);
    }
    Ok(missing)
}
