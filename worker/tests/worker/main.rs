//! Worker integration tests: jobs executed against the sandbox and the real PostgreSQL, the
//! consumer on the real RabbitMQ, and faults with real processes.

// Helpers outside #[test] functions unwrap too; a panic is how a test fails.
#![allow(clippy::unwrap_used)]

mod budgets;
mod concurrency;
mod conformance;
mod consumer;
mod destinations;
mod failover;
mod faults;
mod fencing;
mod jobs;
mod metrics;
mod platform_text;
mod priorities;
mod soak;

use chrono::Utc;
use shared::db::jobs::{self as job_rows, Enqueued, Job, NewJob};
use shared::domain::{JobId, Trigger};
use testkit::TestWorld;
use testkit::fixtures::SyncFixture;

/// Inserts a pending manual job for the fixture's sync over its current window.
pub(crate) async fn enqueue(world: &TestWorld, fixture: &SyncFixture) -> JobId {
    enqueue_with(world, fixture, Trigger::Manual).await
}

/// Inserts a pending job started by `trigger` for the fixture's sync.
pub(crate) async fn enqueue_with(
    world: &TestWorld,
    fixture: &SyncFixture,
    trigger: Trigger,
) -> JobId {
    let client = world.pool.get().await.unwrap();
    let new = NewJob {
        tenant_id: fixture.tenant.id,
        sync_id: fixture.sync.id,
        account_id: fixture.account.id,
        connector: fixture.sync.connector,
        trigger,
        window: fixture.sync.window_at(Utc::now()),
        max_attempts: i32::from(world.config.jobs.max_attempts),
        run_after: Utc::now(),
        dedup_key: NewJob::run_key(fixture.sync.id),
    };
    match job_rows::insert(&client, &new).await.unwrap() {
        Enqueued::Created(job) => job.id,
        Enqueued::Existing(job) => panic!("job {} was already active", job.id),
    }
}

pub(crate) async fn job(world: &TestWorld, id: JobId) -> Job {
    let client = world.pool.get().await.unwrap();
    job_rows::get(&client, None, id).await.unwrap().unwrap()
}
