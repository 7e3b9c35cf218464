//! Faults with real processes: a worker killed with SIGKILL mid-batch, RabbitMQ and
//! PostgreSQL stopped and restarted under a running worker, and graceful shutdown on SIGTERM.
//! The worker runs as its own process (the `worker` binary); the scheduler runs in the test.

use std::path::Path;
use std::time::Duration;

use rust_decimal::Decimal;
use sandbox::meta_ads::{self, Level};
use sandbox::{Connector, Fault};
use shared::db::jobs;
use shared::domain::{JobId, JobState};
use testkit::fixtures::{MetaSyncOptions, SyncFixture, meta_sync};
use testkit::logs::{self, ExpectedLog};
use testkit::process::ChildProcess;
use testkit::services::{PrivateService, ServiceKind};
use testkit::{TestDatabase, TestWorld, eventually};

use crate::{enqueue, job};

pub(crate) fn spawn_worker(world: &TestWorld, id: &str) -> ChildProcess {
    let mut env = world.env().to_vec();
    env.push(("ADSYNC__WORKER__ID".into(), id.into()));
    ChildProcess::spawn(id, Path::new(env!("CARGO_BIN_EXE_worker")), &env)
}

/// Every platform call answers after `delay`, so jobs are in flight long enough to be hit.
pub(crate) fn slow_platform(world: &TestWorld, delay: Duration) {
    world
        .sandbox
        .add_fault(Fault::slow(Connector::MetaAds, delay).times(100_000));
}

pub(crate) async fn syncs(world: &TestWorld, count: u32, first_account: u32) -> Vec<SyncFixture> {
    let mut fixtures = Vec::new();
    for n in 0..count {
        let options = MetaSyncOptions {
            account_id: (first_account + n).to_string(),
            ..MetaSyncOptions::default()
        };
        fixtures.push(meta_sync(&world.pool, &world.keys, options).await);
    }
    fixtures
}

pub(crate) async fn wait_all_finished(
    world: &TestWorld,
    ids: &[JobId],
    timeout: Duration,
) -> Vec<jobs::Job> {
    let mut finished = Vec::new();
    for id in ids {
        finished.push(
            eventually(&format!("job {id} to finish"), timeout, || async move {
                let job = job(world, *id).await;
                job.state.is_terminal().then_some(job)
            })
            .await,
        );
    }
    finished
}

/// The warehouse holds exactly the sandbox's rows for the job's window: nothing lost, nothing
/// twice.
pub(crate) async fn assert_rows_match_the_platform(
    world: &TestWorld,
    fixture: &SyncFixture,
    job: &jobs::Job,
) {
    let client = world.pool.get().await.unwrap();
    let stored: Vec<(chrono::NaiveDate, String, Decimal)> = client
        .query(
            "SELECT date, campaign_id, spend FROM warehouse.meta_ads_campaign
             WHERE sync_id = $1 ORDER BY date, campaign_id",
            &[&fixture.sync.id],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    let facts = meta_ads::account(&fixture.account.external_id).unwrap();
    let expected: Vec<(chrono::NaiveDate, String, Decimal)> = meta_ads::insights_truth(
        &facts.id,
        Level::Campaign,
        job.window.start(),
        job.window.end(),
        world.sandbox.today_for(&facts),
    )
    .into_iter()
    .map(|row| {
        (
            row.date_start,
            row.campaign_id.unwrap(),
            row.spend.parse().unwrap(),
        )
    })
    .collect();
    assert_eq!(stored, expected, "rows of sync {}", fixture.sync.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_batch_loses_no_job_and_duplicates_no_row() {
    // Arrange: short leases, a slow platform, twelve jobs, and worker a holding some of them.
    let mut world = TestWorld::start_with(
        sandbox::SandboxConfig::default(),
        &[
            ("ADSYNC__JOBS__LEASE_SECS", "3"),
            ("ADSYNC__SCHEDULER__RESCUE_INTERVAL_MS", "200"),
            ("ADSYNC__WORKER__CONCURRENCY", "3"),
        ],
    )
    .await;
    slow_platform(&world, Duration::from_millis(700));
    let fixtures = syncs(&world, 12, 3000).await;
    // Worker a starts alone, so it certainly takes jobs; b joins before a dies.
    let mut doomed = spawn_worker(&world, "worker-a");
    world.spawn_scheduler();
    let mut ids = Vec::new();
    for fixture in &fixtures {
        ids.push(enqueue(&world, fixture).await);
    }
    let client = world.pool.get().await.unwrap();
    let held: Vec<JobId> = eventually("worker-a to hold jobs", Duration::from_secs(30), || async {
        let held: Vec<JobId> = client
            .query(
                "SELECT id FROM jobs WHERE state = 'running' AND worker_id = 'worker-a'",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        (!held.is_empty()).then_some(held)
    })
    .await;
    let _survivor = spawn_worker(&world, "worker-b");

    // Act
    doomed.kill();

    // Assert: every job succeeded, the killed worker's jobs on a later attempt, and each
    // sync's rows are exactly the platform's.
    let finished = wait_all_finished(&world, &ids, Duration::from_secs(90)).await;
    for (job, fixture) in finished.iter().zip(&fixtures) {
        assert_eq!(job.state, JobState::Succeeded, "{job:?}");
        assert_rows_match_the_platform(&world, fixture, job).await;
    }
    for id in held {
        let job = job(&world, id).await;
        assert!(job.attempt >= 2, "{job:?}");
        let events = jobs::events(&client, id).await.unwrap();
        assert!(
            events
                .iter()
                .any(|event| event.reason == "lease expired, rescued"),
            "{events:?}"
        );
    }
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rabbitmq_restart_mid_run_loses_no_job() {
    // Arrange: a broker of the test's own, a worker process, jobs in flight.
    let broker = PrivateService::start(ServiceKind::RabbitMq).await;
    let amqp_url = broker.amqp_url();
    let mut world = TestWorld::start_with(
        sandbox::SandboxConfig::default(),
        &[
            ("ADSYNC__RABBITMQ__URL", amqp_url.as_str()),
            ("ADSYNC__JOBS__LEASE_SECS", "5"),
            ("ADSYNC__SCHEDULER__RESCUE_INTERVAL_MS", "500"),
        ],
    )
    .await;
    slow_platform(&world, Duration::from_millis(300));
    world.expect_all(logs::during_broker_outage());
    // The worker certainly loses its session and finds the broker gone for a while.
    world.expect(ExpectedLog::warn("rabbitmq session ended; reconnecting").source("worker-r"));
    let fixtures = syncs(&world, 12, 4000).await;
    let mut worker = spawn_worker(&world, "worker-r");
    world.spawn_scheduler();
    let mut ids = Vec::new();
    for fixture in &fixtures[..6] {
        ids.push(enqueue(&world, fixture).await);
    }
    eventually("a job to be running", Duration::from_secs(30), || async {
        let jobs = wait_states(&world, &ids).await;
        jobs.contains(&JobState::Running).then_some(())
    })
    .await;

    // Act: stop the broker, create more jobs while it is down, start it again.
    broker.stop().await;
    for fixture in &fixtures[6..] {
        ids.push(enqueue(&world, fixture).await);
    }
    broker.start_again().await;

    // Assert
    let finished = wait_all_finished(&world, &ids, Duration::from_secs(90)).await;
    for (job, fixture) in finished.iter().zip(&fixtures) {
        assert_eq!(job.state, JobState::Succeeded, "{job:?}");
        assert_rows_match_the_platform(&world, fixture, job).await;
    }
    assert!(
        worker.is_running(),
        "the worker survived the broker restart"
    );
    world.stop().await;
    drop(broker);
}

async fn wait_states(world: &TestWorld, ids: &[JobId]) -> Vec<JobState> {
    let mut states = Vec::new();
    for id in ids {
        states.push(job(world, *id).await.state);
    }
    states
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_restart_needs_no_operator_action() {
    // Arrange: a database server of the test's own, a worker process, a first round of jobs.
    let server = PrivateService::start(ServiceKind::Postgres).await;
    let admin_url = shared::db::with_database_name(&server.database_url(), "postgres");
    let database = TestDatabase::create_on(&admin_url).await;
    let mut world = TestWorld::start_in(database, sandbox::SandboxConfig::default(), &[]).await;
    world.expect_all(logs::during_database_outage());
    let fixtures = syncs(&world, 6, 5000).await;
    let mut worker = spawn_worker(&world, "worker-p");
    world.spawn_scheduler();
    let mut first = Vec::new();
    for fixture in &fixtures[..3] {
        first.push(enqueue(&world, fixture).await);
    }
    for job in wait_all_finished(&world, &first, Duration::from_secs(60)).await {
        assert_eq!(job.state, JobState::Succeeded);
    }

    // Act
    server.restart().await;

    // Assert: the same processes carry on with new jobs.
    let mut second = Vec::new();
    for fixture in &fixtures[3..] {
        let id = eventually(
            "the database to take writes again",
            Duration::from_secs(30),
            || {
                let world = &world;
                async move {
                    let client = world.pool.get().await.ok()?;
                    client.simple_query("SELECT 1").await.ok()?;
                    Some(enqueue(world, fixture).await)
                }
            },
        )
        .await;
        second.push(id);
    }
    let finished = wait_all_finished(&world, &second, Duration::from_secs(90)).await;
    for (job, fixture) in finished.iter().zip(&fixtures[3..]) {
        assert_eq!(job.state, JobState::Succeeded, "{job:?}");
        assert_rows_match_the_platform(&world, fixture, job).await;
    }
    assert!(
        worker.is_running(),
        "the worker survived the database restart"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_running_job_finish_within_the_grace_and_exits_zero() {
    let mut world = TestWorld::start_with(
        sandbox::SandboxConfig::default(),
        &[("ADSYNC__WORKER__SHUTDOWN_GRACE_SECS", "30")],
    )
    .await;
    slow_platform(&world, Duration::from_millis(1500));
    let fixture = syncs(&world, 1, 6000).await.remove(0);
    let mut worker = spawn_worker(&world, "worker-t");
    let id = enqueue(&world, &fixture).await;
    world.relay().await;
    eventually("the job to be running", Duration::from_secs(30), || async {
        (job(&world, id).await.state == JobState::Running).then_some(())
    })
    .await;

    worker.terminate();

    let status = worker.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "{status:?}\n{}", worker.log());
    assert_eq!(job(&world, id).await.state, JobState::Succeeded);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_releases_a_job_that_outlasts_the_grace_and_exits_zero() {
    let mut world = TestWorld::start_with(
        sandbox::SandboxConfig::default(),
        &[("ADSYNC__WORKER__SHUTDOWN_GRACE_SECS", "1")],
    )
    .await;
    slow_platform(&world, Duration::from_secs(60));
    world.expect(
        ExpectedLog::warn("shutdown grace over; interrupting attempts in flight")
            .target("worker::consumer")
            .field("still_running", 1),
    );
    let fixture = syncs(&world, 1, 6100).await.remove(0);
    let mut worker = spawn_worker(&world, "worker-g");
    let id = enqueue(&world, &fixture).await;
    world.relay().await;
    eventually("the job to be running", Duration::from_secs(30), || async {
        (job(&world, id).await.state == JobState::Running).then_some(())
    })
    .await;

    worker.terminate();

    let status = worker.wait_exit(Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}\n{}", worker.log());
    let released = job(&world, id).await;
    assert_eq!((released.state, released.attempt), (JobState::Pending, 0));
    assert_eq!(released.state_reason, "released at worker shutdown");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_runs_many_more_jobs_at_once_than_it_has_database_connections() {
    // Arrange: 24 jobs at once over 3 connections, each job waiting on a slow platform.
    let mut world = TestWorld::start_with(
        sandbox::SandboxConfig::default(),
        &[
            ("ADSYNC__DATABASE__POOL_SIZE", "3"),
            ("ADSYNC__WORKER__CONCURRENCY", "24"),
        ],
    )
    .await;
    slow_platform(&world, Duration::from_millis(800));
    let fixtures = syncs(&world, 24, 7000).await;
    world.spawn_worker();
    let mut ids = Vec::new();
    for fixture in &fixtures {
        ids.push(enqueue(&world, fixture).await);
    }

    // Act
    assert_eq!(world.relay().await, 24);

    // Assert
    let finished = wait_all_finished(&world, &ids, Duration::from_secs(60)).await;
    for (job, fixture) in finished.iter().zip(&fixtures) {
        assert_eq!(
            (job.state, job.attempt),
            (JobState::Succeeded, 1),
            "{job:?}"
        );
        assert_rows_match_the_platform(&world, fixture, job).await;
    }
    world.stop().await;
}
