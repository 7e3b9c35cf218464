//! Fencing with real processes: a `worker` frozen with SIGSTOP past its lease (as in a stalled
//! VM or a long pause) while another worker takes its job over and commits, then thawed with
//! SIGCONT, must not overwrite the newer attempt's rows.

use std::path::Path;
use std::time::Duration;

use sandbox::{Connector, Fault};
use shared::domain::JobState;
use testkit::fixtures::{MetaSyncOptions, meta_sync};
use testkit::logs::ExpectedLog;
use testkit::process::ChildProcess;
use testkit::{TestWorld, eventually};

use crate::{enqueue, job};

fn spawn_worker(world: &TestWorld, id: &str, extra: &[(&str, &str)]) -> ChildProcess {
    let mut env = world.env().to_vec();
    env.push(("ADSYNC__WORKER__ID".into(), id.into()));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    ChildProcess::spawn(id, Path::new(env!("CARGO_BIN_EXE_worker")), &env)
}

/// Every row of the sync in the warehouse, as JSON text, in key order.
async fn warehouse_rows(world: &TestWorld, sync: shared::domain::SyncId) -> Vec<String> {
    let client = world.pool.get().await.unwrap();
    client
        .query(
            "SELECT row_to_json(t)::text FROM warehouse.meta_ads_campaign t
             WHERE sync_id = $1 ORDER BY date, campaign_id",
            &[&sync],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_paused_past_its_lease_cannot_overwrite_the_attempt_that_took_over() {
    // Arrange: three-second leases, rescued quickly. The first platform request answers after
    // four seconds, so the worker that sends it is mid-read (holding no database connection)
    // when it is frozen.
    let mut world = TestWorld::start_with(
        sandbox::SandboxConfig::default(),
        &[
            ("ADSYNC__JOBS__LEASE_SECS", "3"),
            ("ADSYNC__SCHEDULER__RESCUE_INTERVAL_MS", "200"),
        ],
    )
    .await;
    let fixture = meta_sync(&world.pool, &world.keys, MetaSyncOptions::default()).await;
    world
        .sandbox
        .add_fault(Fault::slow(Connector::MetaAds, Duration::from_secs(4)).times(1));
    // One delivery at a time, so the broker cannot hand the frozen worker the job's next
    // message too.
    let stale = spawn_worker(&world, "worker-a", &[("ADSYNC__RABBITMQ__PREFETCH", "1")]);
    world.spawn_scheduler();
    let id = enqueue(&world, &fixture).await;
    eventually(
        "worker-a's first platform request to arrive",
        Duration::from_secs(30),
        || {
            let world = &world;
            async move { world.sandbox.faults().is_empty().then_some(()) }
        },
    )
    .await;
    assert_eq!(job(&world, id).await.worker_id.as_deref(), Some("worker-a"));

    // Act: freeze worker-a; worker-b takes the job over once the lease expires and commits.
    stale.pause();
    let _newer = spawn_worker(&world, "worker-b", &[]);
    let done = eventually(
        "worker-b to finish the job",
        Duration::from_secs(60),
        || {
            let world = &world;
            async move {
                let job = job(world, id).await;
                job.state.is_terminal().then_some(job)
            }
        },
    )
    .await;
    assert_eq!(done.state, JobState::Succeeded, "{done:?}");
    assert_eq!(
        (done.attempt, done.worker_id.as_deref()),
        (2, Some("worker-b"))
    );
    let committed = warehouse_rows(&world, fixture.sync.id).await;
    assert!(!committed.is_empty(), "worker-b wrote the window");
    // Thaw worker-a: its read completes and its attempt goes on until it finds it lost the job
    // (its heartbeat, or its commit's fence). Which of the two tells it first is a race; the
    // wait below requires one of them.
    world.expect(
        ExpectedLog::warn("lease lost; abandoning the attempt")
            .source("worker-a")
            .optional(),
    );
    world.expect(
        ExpectedLog::attempt_rescheduled("transient")
            .source("worker-a")
            .field_containing("error", "lost the job's lease")
            .optional(),
    );
    stale.resume();
    eventually(
        "worker-a to find its attempt stale",
        Duration::from_secs(30),
        || {
            let log = stale.log();
            async move {
                (log.contains("lease lost") || log.contains("lost the job's lease")).then_some(())
            }
        },
    )
    .await;

    // Assert: the newer attempt's rows stand, untouched, and the job is as worker-b left it.
    assert_eq!(warehouse_rows(&world, fixture.sync.id).await, committed);
    let after = job(&world, id).await;
    assert_eq!(
        (after.state, after.attempt, after.worker_id.as_deref()),
        (JobState::Succeeded, 2, Some("worker-b"))
    );
    world.stop().await;
}
