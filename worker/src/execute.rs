//! What executing a job means, as seen by the engine: one attempt that either reports what it
//! moved, or fails with an error class. The engine does everything around it — claims, leases,
//! outcomes, acks — so the same engine runs report syncs ([`crate::sync_job::SyncJob`]) and the
//! benchmark's no-op jobs.

use std::future::Future;

use shared::db::jobs::{Job, JobCounts};
use shared::error::{Classify, ErrorClass};

/// One attempt of a job.
pub trait Execute: Send + Sync + 'static {
    fn execute(&self, job: &Job) -> impl Future<Output = Result<JobCounts, AttemptFailure>> + Send;
}

/// A failed attempt: what kind of failure, a message for people (no secrets), and what the
/// attempt had counted before it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptFailure {
    pub class: ErrorClass,
    pub message: String,
    pub counts: JobCounts,
    /// For an `Auth` failure: whose credentials stopped working.
    pub credentials: Credentials,
}

/// Whose credentials an `Auth` failure is about: the account's connection (the platform
/// refused), or the sync's destination (the Google Sheet refused).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Credentials {
    #[default]
    Connection,
    Destination,
}

impl AttemptFailure {
    /// A failure from a classified error, about the connection's credentials if `Auth`.
    pub fn from_error<E: Classify + std::fmt::Display>(error: &E, counts: JobCounts) -> Self {
        Self {
            class: error.class(),
            message: error.to_string(),
            counts,
            credentials: Credentials::Connection,
        }
    }
}
