//! Scheduler integration tests on the real PostgreSQL and RabbitMQ: ticks, catch-up,
//! concurrency between replicas, leader election and the outbox relay.

// Helpers outside #[test] functions unwrap too; a panic is how a test fails.
#![allow(clippy::unwrap_used)]

mod leader;
mod metrics;
mod purge;
mod relay;
mod tick;

use chrono::{DateTime, Utc};
use shared::domain::SyncId;
use testkit::TestWorld;

/// Sets a sync's next run, as if it had been scheduled then.
pub(crate) async fn set_next_run(world: &TestWorld, sync: SyncId, at: DateTime<Utc>) {
    world
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE syncs SET next_run_at = $2 WHERE id = $1",
            &[&sync, &at],
        )
        .await
        .unwrap();
}

pub(crate) async fn count_jobs(world: &TestWorld) -> i64 {
    world
        .pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM jobs", &[])
        .await
        .unwrap()
        .get(0)
}
