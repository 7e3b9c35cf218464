//! adsync's shared vocabulary and plumbing, used by the api, scheduler and worker.
//!
//! Layout, in reading order:
//! - [`domain`]: types that validate when parsed (ids, connectors, job states, schedules,
//!   windows, reports);
//! - [`config`]: the one configuration loader;
//! - [`db`]: the PostgreSQL pool, migrations and one repository module per table;
//! - [`queue`]: RabbitMQ topology, the job message and confirmed publishing;
//! - [`error`]: error classes that decide retries;
//! - [`crypto`]: AES-256-GCM sealing of tokens under a key ring;
//! - [`telemetry`], [`ops`], [`shutdown`]: logs and traces, health and metrics endpoints,
//!   signal handling.
//!
//! What does not belong here: HTTP clients for platforms (worker), routes (api), anything only
//! one binary uses.

pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod ops;
pub mod queue;
pub mod shutdown;
pub mod telemetry;

pub use config::Config;
