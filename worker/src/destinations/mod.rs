//! Destinations: one folder per sink. Each replaces exactly the job's window of rows for its
//! sync and account, so a retried or redelivered job never duplicates or loses rows. Rows are
//! staged as they arrive and swapped in at [`Writer::commit`]; until then the previous rows are
//! untouched. The registry is [`open`], an exhaustive `match` over `DestinationKind`.

pub mod warehouse;

use shared::db::Pool;
use shared::db::destinations::Destination;
use shared::domain::{
    ConnectorKind, DateWindow, DestinationKind, JobId, ReportSpec, SyncId, TenantId,
};
use shared::error::{Classify, ErrorClass};

use crate::rows::Row;

/// Whose rows a job writes, and what they look like.
#[derive(Debug, Clone)]
pub struct WriteTarget {
    pub tenant_id: TenantId,
    pub sync_id: SyncId,
    pub job_id: JobId,
    /// The attempt writing: a stale attempt's staged rows never mix with a newer one's.
    pub attempt: i32,
    pub connector: ConnectorKind,
    /// The platform's account id.
    pub account_id: String,
    pub currency: String,
    pub time_zone: String,
    pub report: ReportSpec,
    pub window: DateWindow,
}

#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    #[error("warehouse: {0}")]
    Warehouse(#[from] warehouse::WarehouseError),
    #[error("destination settings are invalid: {0}")]
    Settings(String),
    #[error("destination {0} is not implemented yet")]
    NotImplemented(DestinationKind),
}

impl Classify for DestinationError {
    fn class(&self) -> ErrorClass {
        match self {
            DestinationError::Warehouse(error) => error.class(),
            DestinationError::Settings(_) | DestinationError::NotImplemented(_) => {
                ErrorClass::Permanent
            }
        }
    }
}

/// An open write of one job's window.
pub enum Writer {
    Warehouse(warehouse::WarehouseWriter),
}

impl Writer {
    /// Stages one page of rows.
    pub async fn write(&mut self, rows: &[Row]) -> Result<(), DestinationError> {
        match self {
            Writer::Warehouse(writer) => Ok(writer.write(rows).await?),
        }
    }

    /// Replaces the window's rows with everything staged, atomically. Returns rows written.
    pub async fn commit(self) -> Result<u64, DestinationError> {
        match self {
            Writer::Warehouse(writer) => Ok(writer.commit().await?),
        }
    }

    /// Gives up: what was staged is dropped and the previous rows stay.
    pub async fn abort(self) {
        match self {
            Writer::Warehouse(writer) => writer.abort().await,
        }
    }
}

/// Opens a write to `destination` for `target`.
pub async fn open(
    pool: &Pool,
    destination: &Destination,
    target: WriteTarget,
) -> Result<Writer, DestinationError> {
    match destination.kind {
        DestinationKind::Warehouse => {
            let settings: shared::domain::destination::WarehouseSettings =
                serde_json::from_value(destination.settings.clone())
                    .map_err(|error| DestinationError::Settings(error.to_string()))?;
            let settings = settings
                .validate()
                .map_err(|error| DestinationError::Settings(error.to_string()))?;
            Ok(Writer::Warehouse(
                warehouse::WarehouseWriter::open(pool, &settings, target).await?,
            ))
        }
        DestinationKind::GoogleSheets => Err(DestinationError::NotImplemented(destination.kind)),
    }
}
