//! Destinations: one folder per sink. Each replaces exactly the job's window of rows for its
//! sync and account, so a retried or redelivered job never duplicates or loses rows. Rows are
//! staged as they arrive and swapped in at [`Writer::commit`]; until then the previous rows are
//! untouched. The registry is [`open`], an exhaustive `match` over the destination's settings,
//! parsed by kind where the api parses them too (`shared::domain::destination`).

pub mod google_sheets;
pub mod warehouse;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use shared::config::DatabaseConfig;
use shared::crypto::KeyRing;
use shared::db::destinations::{
    self as destination_rows, Credentials, CredentialsError, Destination,
};
use shared::db::jobs::Lease;
use shared::db::{DbError, Pool};
use shared::domain::destination::DestinationSettings;
use shared::domain::{ConnectorKind, DateWindow, ReportSpec, SyncId, TenantId};
use shared::error::{Classify, ErrorClass};

pub use google_sheets::SheetsContext;

use connectors::rows::{Layout, Row};

/// Whose rows a job writes, and what they look like.
#[derive(Debug, Clone)]
pub struct WriteTarget {
    pub tenant_id: TenantId,
    pub sync_id: SyncId,
    /// The job, worker and attempt writing: a stale attempt's staged rows never mix with a newer
    /// one's, and its commit is refused once it no longer holds the job.
    pub lease: Lease,
    pub connector: ConnectorKind,
    /// The platform's account id.
    pub account_id: String,
    pub currency: String,
    pub time_zone: String,
    pub report: ReportSpec,
    pub window: DateWindow,
}

/// A row that does not fit the job: a bug upstream, never written.
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error("row for {date} is outside the job's window {start}..={end}")]
    OutsideWindow {
        date: chrono::NaiveDate,
        start: chrono::NaiveDate,
        end: chrono::NaiveDate,
    },
    #[error("row has {got} values for {expected} columns")]
    Shape { expected: usize, got: usize },
    #[error("a performance row has no date")]
    MissingDate,
}

/// Rows must have the report's shape and, if dated, fall in the job's window.
pub fn check_rows(layout: &Layout, window: DateWindow, rows: &[Row]) -> Result<(), RowError> {
    let expected = layout.texts.len() + layout.numbers.len();
    for row in rows {
        if row.texts.len() != layout.texts.len() || row.numbers.len() != layout.numbers.len() {
            return Err(RowError::Shape {
                expected,
                got: row.texts.len() + row.numbers.len(),
            });
        }
        if layout.dated {
            let date = row.date.ok_or(RowError::MissingDate)?;
            if !window.contains(date) {
                return Err(RowError::OutsideWindow {
                    date,
                    start: window.start(),
                    end: window.end(),
                });
            }
        }
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    #[error("warehouse: {0}")]
    Warehouse(#[from] warehouse::WarehouseError),
    #[error(transparent)]
    Sheets(#[from] google_sheets::SheetsError),
    #[error("destination settings are invalid: {0}")]
    Settings(String),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error("the warehouse database: {0}")]
    Database(#[from] DbError),
}

impl Classify for DestinationError {
    fn class(&self) -> ErrorClass {
        match self {
            DestinationError::Warehouse(error) => error.class(),
            DestinationError::Sheets(error) => error.class(),
            DestinationError::Credentials(CredentialsError::Db(_))
            | DestinationError::Database(_) => ErrorClass::Transient { retry_after: None },
            DestinationError::Settings(_)
            | DestinationError::Credentials(
                CredentialsError::Missing(_)
                | CredentialsError::Crypto { .. }
                | CredentialsError::Malformed(_),
            ) => ErrorClass::Permanent,
        }
    }
}

impl DestinationError {
    /// Whether an `Auth` failure is about the destination's own credentials.
    pub fn is_credentials(&self) -> bool {
        match self {
            DestinationError::Sheets(error) => error.is_credentials(),
            DestinationError::Warehouse(_)
            | DestinationError::Settings(_)
            | DestinationError::Credentials(_)
            | DestinationError::Database(_) => false,
        }
    }
}

/// What every destination write of a worker shares: adsync's database, the key ring, the
/// Sheets client and budgets, and pools for warehouses in other databases.
#[derive(Clone)]
pub struct DestinationContext {
    pub pool: Pool,
    pub keys: KeyRing,
    pub sheets: SheetsContext,
    /// Pools of remote warehouses, by URL, made on first use.
    warehouses: Arc<Mutex<HashMap<String, Pool>>>,
    /// The warehouse tables found complete, per database.
    tables: warehouse::TableCache,
    /// A warehouse window whose rows take up to this many bytes goes straight into its table
    /// at commit; a larger one spills to the staging table.
    warehouse_buffer: usize,
}

/// The default of [`DestinationContext::with_warehouse_buffer`]
/// (`worker.warehouse_buffer_mb`).
pub const DEFAULT_WAREHOUSE_BUFFER: usize = 32 << 20;

impl DestinationContext {
    pub fn new(pool: Pool, keys: KeyRing, sheets: SheetsContext) -> Self {
        Self {
            pool,
            keys,
            sheets,
            warehouses: Arc::default(),
            tables: warehouse::TableCache::default(),
            warehouse_buffer: DEFAULT_WAREHOUSE_BUFFER,
        }
    }

    /// Keeps up to `bytes` of a warehouse window's rows in memory (0: every page goes to the
    /// staging table as it comes).
    pub fn with_warehouse_buffer(mut self, bytes: usize) -> Self {
        self.warehouse_buffer = bytes;
        self
    }

    /// The pool of the warehouse at `url` (a handful of connections per worker).
    fn warehouse_pool(&self, url: &str) -> Result<Pool, DbError> {
        let mut pools = self
            .warehouses
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(pool) = pools.get(url) {
            return Ok(pool.clone());
        }
        let pool = shared::db::pool(&DatabaseConfig {
            url: shared::config::Secret::new(url),
            pool_size: 4,
            connect_timeout_ms: 10_000,
        })?;
        pools.insert(url.to_owned(), pool.clone());
        Ok(pool)
    }
}

/// An open write of one job's window.
pub enum Writer {
    Warehouse(Box<warehouse::WarehouseWriter>),
    Sheets(Box<google_sheets::SheetsWriter>),
}

impl Writer {
    /// Stages one page of rows.
    pub async fn write(&mut self, rows: &[Row]) -> Result<(), DestinationError> {
        match self {
            Writer::Warehouse(writer) => Ok(writer.write(rows).await?),
            Writer::Sheets(writer) => Ok(writer.write(rows)?),
        }
    }

    /// Replaces the window's rows with everything staged, atomically. Returns rows written.
    pub async fn commit(self) -> Result<u64, DestinationError> {
        match self {
            Writer::Warehouse(writer) => Ok(writer.commit().await?),
            Writer::Sheets(writer) => Ok(writer.commit().await?),
        }
    }

    /// Gives up: what was staged is dropped and the previous rows stay.
    pub async fn abort(self) {
        match self {
            Writer::Warehouse(writer) => writer.abort().await,
            Writer::Sheets(writer) => writer.abort(),
        }
    }
}

/// Opens a write to `destination` for `target`.
pub async fn open(
    context: &DestinationContext,
    destination: &Destination,
    target: WriteTarget,
) -> Result<Writer, DestinationError> {
    let settings = DestinationSettings::parse(destination.kind, destination.settings.clone())
        .map_err(|error| DestinationError::Settings(error.to_string()))?;
    match settings {
        DestinationSettings::Warehouse(settings) => {
            // adsync's own database is the empty name in the table cache; a remote warehouse
            // is named by its URL, and its commits check leases on adsync's database.
            let (pool, database, fence) = if destination.has_credentials {
                let client = context.pool.get().await.map_err(DbError::from)?;
                let (credentials, _) = destination_rows::read_credentials(
                    &client,
                    &context.keys,
                    destination.tenant_id,
                    destination.id,
                    false,
                )
                .await?;
                match credentials {
                    Credentials::DatabaseUrl(url) => (
                        context.warehouse_pool(&url)?,
                        url,
                        warehouse::Fence::Jobs(context.pool.clone()),
                    ),
                    Credentials::OAuth(_) => {
                        return Err(CredentialsError::Malformed(destination.id).into());
                    }
                }
            } else {
                (
                    context.pool.clone(),
                    String::new(),
                    warehouse::Fence::SameTransaction,
                )
            };
            Ok(Writer::Warehouse(Box::new(
                warehouse::WarehouseWriter::open(
                    &pool,
                    &database,
                    &context.tables,
                    fence,
                    context.warehouse_buffer,
                    &settings,
                    target,
                )
                .await?,
            )))
        }
        DestinationSettings::GoogleSheets(settings) => Ok(Writer::Sheets(Box::new(
            google_sheets::SheetsWriter::open(
                context.sheets.clone(),
                &context.pool,
                &context.keys,
                destination.id,
                destination.google_subject.clone(),
                settings,
                target,
            )
            .await?,
        ))),
    }
}
