//! Priorities under a backfill: a job rescued from a dead worker keeps its priority and runs
//! long before the backfill drains, although the worker is saturated with backfill jobs and
//! holds a prefetched backlog of their messages.

use std::time::Duration;

use chrono::Utc;
use sandbox::{Connector, Fault};
use shared::db::jobs::{self as job_rows, NewJob};
use shared::domain::{DateWindow, JobId, JobState, Trigger};
use testkit::fixtures::{MetaSyncOptions, meta_sync};
use testkit::{TestWorld, eventually};

use crate::{enqueue_with, job};

/// Backfill chunks queued.
const BACKFILL: usize = 100;
/// Backfill chunks a worker holds received ahead of its free slots (`rabbitmq.prefetch`).
const PREFETCH: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rescued_job_runs_long_before_the_backfill_drains() {
    // Arrange: 100 one-day backfill chunks (each platform call takes 200 ms), a worker that
    // runs 2 jobs at once with 32 messages prefetched, and the scheduler rescuing expired
    // leases every 200 ms.
    let prefetch = PREFETCH.to_string();
    let mut world = TestWorld::start_with(
        sandbox::SandboxConfig::default(),
        &[
            ("ADSYNC__SCHEDULER__RESCUE_INTERVAL_MS", "200"),
            ("ADSYNC__WORKER__CONCURRENCY", "2"),
            ("ADSYNC__RABBITMQ__PREFETCH", &prefetch),
        ],
    )
    .await;
    world
        .sandbox
        .add_fault(Fault::slow(Connector::MetaAds, Duration::from_millis(200)).unlimited());
    let fixture = meta_sync(&world.pool, &world.keys, MetaSyncOptions::default()).await;
    let client = world.pool.get().await.unwrap();
    let today = Utc::now().date_naive();
    let chunks: Vec<NewJob> = (0..BACKFILL)
        .map(|n| {
            let day = today - chrono::Days::new(10 + n as u64);
            let window = DateWindow::new(day, day).unwrap();
            NewJob {
                tenant_id: fixture.tenant.id,
                sync_id: fixture.sync.id,
                account_id: fixture.account.id,
                connector: fixture.sync.connector,
                trigger: Trigger::Backfill,
                window,
                max_attempts: 5,
                run_after: Utc::now(),
                dedup_key: NewJob::backfill_key(fixture.sync.id, window),
            }
        })
        .collect();
    assert_eq!(
        job_rows::insert_many(&client, &chunks).await.unwrap().len(),
        BACKFILL
    );
    world.spawn_scheduler();
    world.spawn_worker();
    let backfill_done = || {
        let client = &client;
        async move {
            let done: i64 = client
                .query_one(
                    "SELECT count(*) FROM jobs WHERE trigger = 'backfill' AND state = 'succeeded'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            usize::try_from(done).unwrap()
        }
    };
    eventually(
        "the backfill to be under way",
        Duration::from_secs(60),
        || async { (backfill_done().await >= 3).then_some(()) },
    )
    .await;
    let before = backfill_done().await;

    // Act: a scheduled run whose worker died mid-attempt: running, its lease expired.
    let rescued = enqueue_with(&world, &fixture, Trigger::Scheduled).await;
    client
        .execute(
            "UPDATE jobs SET state = 'running', state_reason = 'claimed by dead-worker',
                 worker_id = 'dead-worker', attempt = 1,
                 lease_expires_at = now() - interval '1 second', started_at = now()
             WHERE id = $1",
            &[&rescued],
        )
        .await
        .unwrap();

    // Assert: the rescued job succeeds on its second attempt, with its priority, taking the
    // next free slot: far fewer backfill chunks finish meanwhile than the worker holds
    // prefetched.
    let finished = eventually(
        "the rescued job to finish",
        Duration::from_secs(120),
        || {
            let world = &world;
            async move {
                let job = job(world, rescued).await;
                job.state.is_terminal().then_some(job)
            }
        },
    )
    .await;
    let during = backfill_done().await - before;
    assert_eq!(finished.state, JobState::Succeeded, "{finished:?}");
    assert_eq!(
        (finished.attempt, finished.priority),
        (2, Trigger::Scheduled.priority())
    );
    assert!(
        during < PREFETCH / 3,
        "the rescued job waited while {during} backfill chunks finished"
    );

    // The rest of the backfill is cancelled and the worker left idle, so no job is cut off
    // by the sandbox stopping with the world.
    let open: Vec<JobId> = client
        .query(
            "SELECT id FROM jobs WHERE trigger = 'backfill'
               AND state IN ('pending', 'queued', 'running')",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    for id in open {
        job_rows::cancel(&client, None, id).await.unwrap();
    }
    eventually(
        "every job to have finished",
        Duration::from_secs(60),
        || async {
            let open: i64 = client
                .query_one(
                    "SELECT count(*) FROM jobs WHERE state IN ('pending', 'queued', 'running')",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            (open == 0).then_some(())
        },
    )
    .await;
    world.stop().await;
}
