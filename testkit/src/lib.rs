//! adsync's test harness. Tests run against the real PostgreSQL and RabbitMQ that
//! `scripts/services.sh` starts (their URLs come from `ADSYNC_TEST_DATABASE_URL` and
//! `ADSYNC_TEST_AMQP_URL`; a missing server fails the test loudly), isolated per test: a
//! database cloned from a migrated template, and a unique queue prefix.
//!
//! Layout, in reading order:
//! - [`postgres`]: per-test databases;
//! - [`world`]: a test's whole world — database, queue prefix, configuration, in-process
//!   sandbox, and the api, worker and scheduler started on demand;
//! - [`fixtures`]: rows inserted through the repositories;
//! - [`services`]: private PostgreSQL and RabbitMQ instances a test may stop and restart;
//! - [`process`]: our binaries as child processes a test may kill;
//! - [`wait`]: bounded polling instead of sleeps;
//! - [`logs`]: every WARN and ERROR of the test process and its child processes; a test fails
//!   on one it did not declare as expected;
//! - [`telemetry`]: spans captured in memory, and a strict parser of `/metrics`.
//!
//! Not here: production code paths. The library is only ever a dev-dependency; the `demo`
//! binary (`src/bin/demo.rs`) is the driver of `scripts/demo.sh`.

pub mod fixtures;
pub mod logs;
pub mod postgres;
pub mod process;
pub mod services;
pub mod telemetry;
pub mod wait;
pub mod warehouse;
pub mod world;

pub use postgres::TestDatabase;
pub use wait::eventually;
pub use world::{ApiClient, TestWorld};
