//! The soak test: the whole system for a bounded run — the api and scheduler in this process,
//! several real `worker` processes, a private PostgreSQL and a private RabbitMQ, one tenant
//! whose syncs are run again and again through the API against the sandbox — while workers are
//! killed with SIGKILL and the broker and the database are crash-stopped and started again.
//! Half the syncs read campaigns by day; the other half the conformance suite's Meta report
//! (breakdowns, so asynchronous report runs), whose extra columns the warehouse adds to the
//! same table while the first half write to it.
//! Afterwards: every job the API acknowledged exists and succeeded (none lost, none stuck), the
//! warehouse holds each sync's rows exactly once and equal to the platform's, PostgreSQL
//! detected no deadlock (its log and `pg_stat_database.deadlocks`), and nothing was logged at
//! WARN or ERROR beyond what the outages explain (testkit's log check).
//!
//! `.config/nextest.toml` runs it alone: its timing is its own, not its neighbours'.

use std::collections::BTreeSet;
use std::path::Path;
use std::str::FromStr as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use connectors::rows::derive;
use sandbox::meta_ads;
use sandbox::{Connector, Fault, SandboxConfig};
use serde_json::{Value, json};
use shared::domain::{ConnectorKind, DateWindow, JobId, ReportSpec, SyncId};
use testkit::logs;
use testkit::process::ChildProcess;
use testkit::services::{PrivateService, ServiceKind};
use testkit::warehouse::{self, sorted};
use testkit::{ApiClient, TestDatabase, TestWorld, eventually};
use tokio_util::sync::CancellationToken;

use crate::conformance::meta_ads::MetaAds;
use crate::conformance::{ConformancePlatform as _, TestAccount};

/// Syncs of the one tenant, each on a Meta account of its own.
const SYNCS: u32 = 12;
/// Worker processes running at any time.
const WORKERS: usize = 3;
/// How long every platform request takes, so that jobs are in flight when a fault strikes.
const PLATFORM_DELAY: Duration = Duration::from_millis(250);
/// The bound on each phase of the run.
const PHASE: Duration = Duration::from_secs(60);

fn created(response: (u16, Value), what: &str) -> Value {
    let (status, body) = response;
    assert_eq!(status, 201, "creating {what}: {body}");
    body
}

/// One sync of the run: its id, account and report.
struct SoakSync {
    id: SyncId,
    account: TestAccount,
    report: ReportSpec,
}

/// The report of the `n`th sync, as the API takes it and as the worker reads it.
fn report(n: u32) -> (Value, ReportSpec) {
    if n.is_multiple_of(2) {
        let metrics = ["impressions", "clicks", "spend", "reach"];
        let spec = connectors::catalogue(ConnectorKind::MetaAds)
            .performance("campaign", &metrics)
            .unwrap();
        (json!({"level": "campaign", "metrics": metrics}), spec)
    } else {
        let spec = MetaAds::report();
        let body = json!({
            "level": spec.level.as_str(),
            "metrics": spec.metrics.iter().map(|metric| metric.as_str()).collect::<Vec<_>>(),
            "breakdowns": spec.breakdowns.iter().map(|b| b.as_str()).collect::<Vec<_>>(),
        });
        (body, spec)
    }
}

/// One tenant with a Meta connection, [`SYNCS`] accounts and syncs, and a warehouse; returns
/// its key and its syncs.
async fn tenant(api: &ApiClient) -> (String, Vec<SoakSync>) {
    let (_, key) = api.create_tenant("Soak Agency").await;
    let connection = created(
        api.post(
            "/v1/connections",
            &key,
            &json!({"connector": "meta_ads", "name": "Soak Meta", "access_token": "sandbox-token-soak"}),
        )
        .await,
        "connection",
    );
    let destination = created(
        api.post(
            "/v1/destinations",
            &key,
            &json!({"kind": "warehouse", "name": "Soak warehouse"}),
        )
        .await,
        "destination",
    );
    let mut syncs = Vec::new();
    for n in 0..SYNCS {
        let facts = meta_ads::account(&(8100 + n).to_string()).unwrap();
        let account = created(
            api.post(
                "/v1/accounts",
                &key,
                &json!({
                    "connection_id": connection["id"],
                    "external_id": format!("act_{}", facts.id),
                    "name": facts.name,
                    "time_zone": facts.time_zone.name(),
                    "currency": facts.currency.code(),
                }),
            )
            .await,
            "account",
        );
        let (body, spec) = report(n);
        let sync = created(
            api.post(
                "/v1/syncs",
                &key,
                &json!({
                    "account_id": account["id"],
                    "destination_id": destination["id"],
                    "report": body,
                    "schedule": {"cron": "0 6 * * *"},
                    "lookback_days": 3,
                }),
            )
            .await,
            "sync",
        );
        syncs.push(SoakSync {
            id: SyncId::from_str(sync["id"].as_str().unwrap()).unwrap(),
            account: TestAccount {
                external_id: facts.id.clone(),
                time_zone: facts.time_zone.name().to_owned(),
                currency: facts.currency.code().to_owned(),
            },
            report: spec,
        });
    }
    (key, syncs)
}

/// Runs every sync through the API again and again until `stop`: each run request gets the
/// sync's active job back, or a new one once the last finished. Records every job id the API
/// acknowledged. Requests that fail while the database is down are tried again.
fn drive(
    api: ApiClient,
    key: String,
    syncs: Vec<String>,
    acknowledged: Arc<Mutex<BTreeSet<String>>>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut round = tokio::time::interval(Duration::from_millis(200));
        while !stop.is_cancelled() {
            round.tick().await;
            for sync in &syncs {
                let (status, body) = api
                    .post(&format!("/v1/syncs/{sync}/run"), &key, &json!({}))
                    .await;
                match status {
                    200 | 202 => {
                        let id = body["job"]["id"].as_str().unwrap().to_owned();
                        acknowledged.lock().unwrap().insert(id);
                    }
                    // The database is down: the api says so, and the next round asks again.
                    503 => {}
                    other => panic!("POST /v1/syncs/{sync}/run answered {other}: {body}"),
                }
            }
        }
    })
}

fn spawn_worker(world: &TestWorld, name: &str) -> ChildProcess {
    let mut env = world.env().to_vec();
    env.push(("ADSYNC__WORKER__ID".into(), name.into()));
    ChildProcess::spawn(name, Path::new(env!("CARGO_BIN_EXE_worker")), &env)
}

async fn succeeded_jobs(world: &TestWorld) -> Option<i64> {
    let client = world.pool.get().await.ok()?;
    let row = client
        .query_one("SELECT count(*) FROM jobs WHERE state = 'succeeded'", &[])
        .await
        .ok()?;
    Some(row.get(0))
}

/// Waits until `more` jobs have succeeded after this call.
async fn progress(world: &TestWorld, more: i64, what: &str) {
    let start = eventually("the database to answer", PHASE, || succeeded_jobs(world)).await;
    eventually(
        &format!("{more} more jobs to succeed {what}"),
        PHASE,
        || async {
            succeeded_jobs(world)
                .await
                .filter(|done| *done >= start + more)
        },
    )
    .await;
}

/// Waits until the worker process `name` holds a running job, and returns it.
async fn holding(world: &TestWorld, name: &str) -> JobId {
    eventually(&format!("{name} to hold a job"), PHASE, || async {
        let client = world.pool.get().await.ok()?;
        client
            .query_opt(
                "SELECT id FROM jobs WHERE state = 'running' AND worker_id = $1 LIMIT 1",
                &[&name],
            )
            .await
            .ok()?
            .map(|row| row.get(0))
    })
    .await
}

/// Deadlocks PostgreSQL has counted in the database since its last start.
async fn deadlocks(world: &TestWorld) -> i64 {
    let client = world.pool.get().await.unwrap();
    client
        .query_one(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_system_survives_killed_workers_and_crashed_services_without_losing_or_duplicating_anything()
 {
    // Arrange: private servers the test may crash, the api and scheduler in-process, a slow
    // platform, short leases, and the outages' log records declared.
    let started = Instant::now();
    let (database_server, broker) = tokio::join!(
        PrivateService::start(ServiceKind::Postgres),
        PrivateService::start(ServiceKind::RabbitMq)
    );
    let admin_url = shared::db::with_database_name(&database_server.database_url(), "postgres");
    let database = TestDatabase::create_on(&admin_url).await;
    let amqp_url = broker.amqp_url();
    let mut world = TestWorld::start_in(
        database,
        SandboxConfig {
            now: Some(Utc::now()),
            ..SandboxConfig::default()
        },
        &[
            ("ADSYNC__RABBITMQ__URL", amqp_url.as_str()),
            ("ADSYNC__JOBS__LEASE_SECS", "5"),
            ("ADSYNC__JOBS__MAX_ATTEMPTS", "10"),
            ("ADSYNC__SCHEDULER__RESCUE_INTERVAL_MS", "500"),
            ("ADSYNC__WORKER__CONCURRENCY", "4"),
        ],
    )
    .await;
    world.expect_all(logs::during_broker_outage());
    world.expect_all(logs::during_database_outage());
    world
        .sandbox
        .add_fault(Fault::slow(Connector::MetaAds, PLATFORM_DELAY).unlimited());
    let api = world.spawn_api().await;
    world.spawn_scheduler();
    let (key, syncs) = tenant(&api).await;
    let mut workers: Vec<ChildProcess> = (1..=WORKERS)
        .map(|n| spawn_worker(&world, &format!("soak-w{n}")))
        .collect();
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = CancellationToken::new();
    let driver = drive(
        api.clone(),
        key.clone(),
        syncs.iter().map(|sync| sync.id.to_string()).collect(),
        acknowledged.clone(),
        stop.clone(),
    );

    // Act: faults one after the other, each once the system has made progress since the last.
    progress(&world, 20, "before any fault").await;
    holding(&world, "soak-w1").await;
    workers[0].kill();
    workers.push(spawn_worker(&world, "soak-w4"));
    progress(&world, 20, "after worker soak-w1 was killed").await;

    broker.kill().await;
    broker.start_again().await;
    progress(&world, 20, "after RabbitMQ crashed and came back").await;

    let deadlocks_before_the_crash = deadlocks(&world).await;
    database_server.kill().await;
    database_server.start_again().await;
    progress(&world, 20, "after PostgreSQL crashed and came back").await;

    holding(&world, "soak-w2").await;
    workers[1].kill();
    workers.push(spawn_worker(&world, "soak-w5"));
    progress(&world, 20, "after worker soak-w2 was killed").await;

    stop.cancel();
    driver.await.unwrap();

    // Assert: no job lost or stuck — every job the api acknowledged, and every job at all,
    // ends succeeded.
    let acknowledged = acknowledged.lock().unwrap().clone();
    let client = world.pool.get().await.unwrap();
    let jobs: Vec<(String, String, i32)> = eventually("every job to finish", PHASE, || async {
        let jobs: Vec<(String, String, i32)> = client
            .query("SELECT id::text, state, attempt FROM jobs", &[])
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2)))
            .collect();
        jobs.iter()
            .all(|(_, state, _)| ["succeeded", "failed", "cancelled"].contains(&state.as_str()))
            .then_some(jobs)
    })
    .await;
    let stored: BTreeSet<String> = jobs.iter().map(|(id, _, _)| id.clone()).collect();
    let lost: Vec<&String> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged jobs missing: {lost:?}");
    let unsuccessful: Vec<&(String, String, i32)> = jobs
        .iter()
        .filter(|(_, state, _)| state != "succeeded")
        .collect();
    assert!(unsuccessful.is_empty(), "{unsuccessful:?}");
    let rescued = jobs.iter().filter(|(_, _, attempt)| *attempt > 1).count();
    assert!(
        rescued > 0,
        "some jobs were hit by the faults and took another attempt"
    );

    // Assert: each sync's rows once, equal to the platform's for the window of its last job.
    for sync in &syncs {
        let window = client
            .query_one(
                "SELECT window_start, window_end FROM jobs WHERE sync_id = $1
                 ORDER BY finished_at DESC LIMIT 1",
                &[&sync.id],
            )
            .await
            .unwrap();
        let (start, end): (NaiveDate, NaiveDate) = (window.get(0), window.get(1));
        let window = DateWindow::new(start, end).unwrap();
        let stored = warehouse::rows(
            &client,
            "warehouse",
            ConnectorKind::MetaAds,
            sync.id,
            &sync.report,
        )
        .await;
        let mut distinct = stored.clone();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            stored.len(),
            "sync {} has duplicate rows",
            sync.id
        );
        let expected = sorted(derive(
            &sync.report,
            MetaAds::truth(&world.sandbox, &sync.account, &sync.report, window),
        ));
        assert!(
            !expected.is_empty(),
            "account {} delivered",
            sync.account.external_id
        );
        assert!(
            stored == expected,
            "sync {} (account {}, {window:?}): {} rows stored, {} expected;\nstored {stored:?}\nexpected {expected:?}",
            sync.id,
            sync.account.external_id,
            stored.len(),
            expected.len()
        );
    }

    // Assert: PostgreSQL detected no deadlock, before its crash or after.
    let log = std::fs::read_to_string(database_server.dir().join("postgres/server.log")).unwrap();
    // Each report with the lines after it: which processes waited for what, and their
    // statements.
    let lines: Vec<&str> = log.lines().collect();
    let detected: Vec<String> = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.contains("deadlock detected"))
        .map(|(at, _)| lines[at..(at + 8).min(lines.len())].join("\n"))
        .collect();
    assert!(
        detected.is_empty(),
        "PostgreSQL detected {} deadlocks:\n{}",
        detected.len(),
        detected.join("\n---\n")
    );
    assert_eq!(
        (deadlocks_before_the_crash, deadlocks(&world).await),
        (0, 0),
        "pg_stat_database.deadlocks before the crash and after it"
    );
    eprintln!(
        "soak: {} jobs ({} acknowledged by the api, {rescued} took more than one attempt) in {:.0?}",
        jobs.len(),
        acknowledged.len(),
        started.elapsed()
    );

    // The workers go first, then the world (its log check covers them all).
    drop(client);
    drop(workers);
    world.stop().await;
}
