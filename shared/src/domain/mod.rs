//! Domain types that validate when parsed: once you hold one, it is valid.
//!
//! Layout: `ids` (typed row ids), `kinds` (connector and destination names), `job` (job states,
//! triggers, priorities), `schedule` (cron + time zone), `window` (date windows), `report`
//! (what a sync reads: level and metrics, checked against each connector's catalogue),
//! `tenant` (plans), `destination` (destination settings), `currency` (money units), `text`
//! (names, tokens, days and instants as the API takes them; text from platforms made storable).

pub mod currency;
pub mod destination;
pub mod ids;
pub mod job;
pub mod kinds;
pub mod report;
pub mod schedule;
pub mod tenant;
pub mod text;
pub mod window;

pub use ids::{AccountId, ApiKeyId, ConnectionId, DestinationId, JobId, SyncId, TenantId};
pub use job::{JobState, Trigger};
pub use kinds::{ConnectorKind, DestinationKind};
pub use report::{Breakdown, Metric, RawReport, ReportLevel, ReportSpec, Stream};
pub use schedule::Schedule;
pub use tenant::Plan;
pub use text::{Day, Name, Timestamp};
pub use window::DateWindow;

/// A value that failed validation; the message names the field and says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidField {
    pub field: String,
    pub message: String,
}

impl InvalidField {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
