//! Failover under load on a cluster of the test's own (`scripts/services.sh up --cluster`):
//! three RabbitMQ nodes with quorum queues, and a PostgreSQL primary with a synchronous
//! standby. Sync jobs run in a worker process while the RabbitMQ node leading the job queues is
//! killed with SIGKILL, and later while the PostgreSQL primary is crashed and the standby
//! promoted. Every job must finish exactly once, with its rows, and the processes must count
//! their reconnections. The time from each fault to the first job completed after it is
//! measured and printed (BENCHMARKS.md quotes it); it is not asserted.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sandbox::SandboxConfig;
use serde_json::Value;
use shared::domain::{JobId, JobState, Trigger};
use shared::telemetry::{self, Backend};
use testkit::fixtures::SyncFixture;
use testkit::logs;
use testkit::process::ChildProcess;
use testkit::services::PrivateCluster;
use testkit::{TestDatabase, TestWorld, eventually};

use crate::faults::{assert_rows_match_the_platform, slow_platform, syncs, wait_all_finished};
use crate::{enqueue_with, job};

/// How long every job of a phase may take to finish after a fault.
const FINISH_WITHIN: Duration = Duration::from_secs(120);

/// A free port for the worker's metrics endpoint.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap()
}

fn spawn_worker(world: &TestWorld, id: &str, metrics_port: u16) -> ChildProcess {
    let mut env = world.env().to_vec();
    env.push(("ADSYNC__WORKER__ID".into(), id.into()));
    env.push((
        "ADSYNC__WORKER__LISTEN".into(),
        format!("127.0.0.1:{metrics_port}"),
    ));
    ChildProcess::spawn(id, Path::new(env!("CARGO_BIN_EXE_worker")), &env)
}

/// `adsync_worker_reconnects_total{backend}` as the worker process serves it.
async fn worker_reconnects(metrics_port: u16, backend: Backend) -> u64 {
    let text = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = format!(
        "adsync_worker_reconnects_total{{backend=\"{}\"}} ",
        backend.as_str()
    );
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .unwrap_or_else(|| panic!("{series} missing from the worker's metrics:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// The node (1..=3) leading quorum queue `queue`, from the management API of a live node.
async fn queue_leader(cluster: &PrivateCluster, queue: &str, ask: u16) -> u16 {
    let url = format!("{}/api/queues/%2f/{queue}", cluster.management_url(ask));
    eventually(
        &format!("the management API to report {queue}'s leader"),
        Duration::from_secs(30),
        || {
            let url = url.clone();
            async move {
                let answer: Value = reqwest::Client::new()
                    .get(&url)
                    .basic_auth("guest", Some("guest"))
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                assert_eq!(answer["type"], "quorum", "{answer}");
                let leader = answer["leader"].as_str()?;
                cluster.node_numbered(leader)
            }
        },
    )
    .await
}

/// Enqueues a job for each fixture, alternating scheduled (normal queue) and manual
/// (high-priority queue) runs.
async fn enqueue_all(world: &TestWorld, fixtures: &[SyncFixture]) -> Vec<JobId> {
    let mut ids = Vec::new();
    for (n, fixture) in fixtures.iter().enumerate() {
        let trigger = if n % 2 == 0 {
            Trigger::Scheduled
        } else {
            Trigger::Manual
        };
        ids.push(enqueue_with(world, fixture, trigger).await);
    }
    ids
}

/// Waits until one of `ids` has finished after `fault`; returns when it finished.
async fn first_finished_after(
    world: &TestWorld,
    ids: &[JobId],
    fault: DateTime<Utc>,
) -> DateTime<Utc> {
    eventually(
        "a job to finish after the fault",
        FINISH_WITHIN,
        || async move {
            let mut first: Option<DateTime<Utc>> = None;
            for id in ids {
                let client = world.pool.get().await.ok()?;
                let finished: Option<DateTime<Utc>> = client
                    .query_one("SELECT finished_at FROM jobs WHERE id = $1", &[id])
                    .await
                    .ok()?
                    .get(0);
                if let Some(at) = finished.filter(|at| *at > fault) {
                    first = Some(first.map_or(at, |earlier| earlier.min(at)));
                }
            }
            first
        },
    )
    .await
}

fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

/// Waits until at least one of `ids` is running.
async fn wait_running(world: &TestWorld, ids: &[JobId]) {
    eventually("a job to be running", Duration::from_secs(60), || async {
        for id in ids {
            if job(world, *id).await.state == JobState::Running {
                return Some(());
            }
        }
        None
    })
    .await;
}

async fn assert_all_succeeded_once(world: &TestWorld, ids: &[JobId], fixtures: &[SyncFixture]) {
    let finished = wait_all_finished(world, ids, FINISH_WITHIN).await;
    for (job, fixture) in finished.iter().zip(fixtures) {
        assert_eq!(job.state, JobState::Succeeded, "{job:?}");
        assert_rows_match_the_platform(world, fixture, job).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_survive_losing_the_queue_leader_node_and_the_database_primary() {
    // Arrange: the cluster, a world on it with quorum queues, a slow platform so jobs are in
    // flight when the faults hit, a worker process and the scheduler.
    let started = Instant::now();
    let cluster = PrivateCluster::start().await;
    eprintln!("failover: cluster up in {:.1?}", started.elapsed());
    let database = TestDatabase::create_on(&cluster.database_url("postgres")).await;
    let amqp_urls = cluster.amqp_urls();
    let mut world = TestWorld::start_in(
        database,
        SandboxConfig::default(),
        &[
            ("ADSYNC__RABBITMQ__URL", amqp_urls.as_str()),
            ("ADSYNC__RABBITMQ__QUEUE_TYPE", "quorum"),
            ("ADSYNC__JOBS__LEASE_SECS", "5"),
            ("ADSYNC__SCHEDULER__RESCUE_INTERVAL_MS", "500"),
            ("ADSYNC__WORKER__CONCURRENCY", "4"),
        ],
    )
    .await;
    slow_platform(&world, Duration::from_millis(400));
    let fixtures = syncs(&world, 32, 8000).await;
    let metrics_port = free_port();
    let mut worker = spawn_worker(&world, "worker-f", metrics_port);
    world.spawn_scheduler();
    let topology = world.publisher().await.topology().clone();

    // Act 1: kill the RabbitMQ node leading the job queue while jobs run; enqueue more.
    let first_round = enqueue_all(&world, &fixtures[..8]).await;
    wait_running(&world, &first_round).await;
    let queue = topology.jobs_queue(shared::domain::ConnectorKind::MetaAds);
    let leader = queue_leader(&cluster, &queue, 1).await;
    // Every process connects to the first listed node that is up, and a quorum queue's leader
    // is placed on the node of the client that declared it.
    assert_eq!(leader, 1, "the processes gather on the first listed node");
    let scheduler_broker_before = telemetry::reconnects(Backend::Rabbitmq);
    let worker_broker_before = worker_reconnects(metrics_port, Backend::Rabbitmq).await;
    world.expect_all(logs::during_broker_outage());
    let broker_fault = Utc::now();
    cluster.kill_rabbitmq(leader).await;
    let after_broker_fault = enqueue_all(&world, &fixtures[8..16]).await;

    // Assert 1: a new leader, every job done once, reconnections counted.
    let new_leader = queue_leader(&cluster, &queue, if leader == 1 { 2 } else { 1 }).await;
    assert_ne!(new_leader, leader, "a surviving node leads {queue}");
    let any = first_finished_after(&world, &first_round, broker_fault).await;
    let enqueued_after = first_finished_after(&world, &after_broker_fault, broker_fault).await;
    eprintln!(
        "failover: rabbitmq node {leader} (leader of {queue}) killed; first job completed \
         {:.2} s later, first job enqueued after the fault completed {:.2} s later; new leader \
         node {new_leader}",
        seconds(broker_fault, any),
        seconds(broker_fault, enqueued_after),
    );
    let all_broker: Vec<JobId> = first_round
        .iter()
        .chain(&after_broker_fault)
        .copied()
        .collect();
    assert_all_succeeded_once(&world, &all_broker, &fixtures[..16]).await;
    assert!(
        worker_reconnects(metrics_port, Backend::Rabbitmq).await > worker_broker_before,
        "the worker counted its broker reconnection"
    );
    assert!(
        telemetry::reconnects(Backend::Rabbitmq) > scheduler_broker_before,
        "the scheduler counted its publisher's reconnection"
    );

    // Act 2: crash the PostgreSQL primary while jobs run, promote the standby (what an
    // operator or CloudNativePG does), enqueue more once it takes writes.
    let second_round = enqueue_all(&world, &fixtures[16..24]).await;
    wait_running(&world, &second_round).await;
    let scheduler_db_before = telemetry::reconnects(Backend::Postgres);
    let worker_db_before = worker_reconnects(metrics_port, Backend::Postgres).await;
    world.expect_all(logs::during_database_outage());
    let database_fault = Utc::now();
    cluster.kill_postgres_primary().await;
    cluster.promote_standby().await;
    let promoted = Utc::now();
    let mut after_database_fault = Vec::new();
    for (n, fixture) in fixtures[24..].iter().enumerate() {
        let trigger = if n % 2 == 0 {
            Trigger::Scheduled
        } else {
            Trigger::Manual
        };
        let id = eventually(
            "the promoted standby to take writes",
            Duration::from_secs(30),
            || {
                let world = &world;
                async move {
                    let client = world.pool.get().await.ok()?;
                    client.simple_query("SELECT 1").await.ok()?;
                    drop(client);
                    Some(enqueue_with(world, fixture, trigger).await)
                }
            },
        )
        .await;
        after_database_fault.push(id);
    }

    // Assert 2
    let any = first_finished_after(&world, &second_round, database_fault).await;
    let enqueued_after = first_finished_after(&world, &after_database_fault, database_fault).await;
    eprintln!(
        "failover: postgresql primary killed, standby promoted {:.2} s later; first job \
         completed {:.2} s after the fault, first job enqueued after the fault completed {:.2} s \
         after it",
        seconds(database_fault, promoted),
        seconds(database_fault, any),
        seconds(database_fault, enqueued_after),
    );
    let all_database: Vec<JobId> = second_round
        .iter()
        .chain(&after_database_fault)
        .copied()
        .collect();
    assert_all_succeeded_once(&world, &all_database, &fixtures[16..]).await;
    assert!(
        worker_reconnects(metrics_port, Backend::Postgres).await > worker_db_before,
        "the worker counted its database reconnections"
    );
    assert!(
        telemetry::reconnects(Backend::Postgres) > scheduler_db_before,
        "the scheduler counted its database reconnections"
    );

    // Nothing was dead-lettered (a quorum queue does so past its delivery limit), and the
    // worker lived through both faults.
    let depths = world.publisher().await.queue_depths().await.unwrap();
    let dead = depths
        .iter()
        .find(|depth| depth.name == topology.dead_queue())
        .unwrap();
    assert_eq!(dead.messages, Some(0), "{depths:?}");
    assert!(worker.is_running(), "the worker survived both faults");
    world.stop().await;
    eprintln!("failover: whole test {:.1?}", started.elapsed());
    drop(cluster);
}
