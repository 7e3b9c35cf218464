//! A worker process, as Prometheus and a log collector see it: after one job, `/metrics` is a
//! valid exposition listing every metric the worker declares, with the job counted, and the
//! JSON log lines carry the fixed fields, the job's id among them.

use std::path::Path;
use std::time::Duration;

use sandbox::{Connector, Fault, FaultKind};
use serde_json::Value;
use shared::domain::JobState;
use testkit::fixtures::{MetaSyncOptions, meta_sync};
use testkit::logs::ExpectedLog;
use testkit::process::ChildProcess;
use testkit::telemetry::{Exposition, parse_exposition, promtool_check_metrics};
use testkit::{TestWorld, eventually};

use crate::{enqueue, job};

/// The value of the series of `family` with exactly these labels.
fn value(exposition: &Exposition, family: &str, sample: &str, labels: &[(&str, &str)]) -> f64 {
    exposition
        .samples_of(family)
        .into_iter()
        .find(|candidate| {
            candidate.name == sample
                && labels.len() == candidate.labels.len()
                && labels.iter().all(|(key, value)| {
                    candidate.labels.get(*key).map(String::as_str) == Some(value)
                })
        })
        .unwrap_or_else(|| panic!("no {sample}{labels:?}"))
        .value
}

/// A worker process of `world` with JSON logs, and the address of its `/metrics`.
async fn worker_process(world: &TestWorld) -> (ChildProcess, String) {
    let mut env = world.env().to_vec();
    env.push(("ADSYNC__TELEMETRY__LOG_FORMAT".into(), "json".into()));
    let worker = ChildProcess::spawn("worker", Path::new(env!("CARGO_BIN_EXE_worker")), &env);
    let address = eventually(
        "the worker to log its address",
        Duration::from_secs(30),
        || async {
            worker.log().lines().find_map(|line| {
                let line: Value = serde_json::from_str(line).ok()?;
                (line["message"] == "worker health and metrics listening")
                    .then(|| line["address"].as_str().map(str::to_string))
                    .flatten()
            })
        },
    )
    .await;
    (worker, address)
}

async fn scrape(address: &str) -> (String, Exposition) {
    let text = reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let exposition = parse_exposition(&text).unwrap_or_else(|error| panic!("{error}\n{text}"));
    (text, exposition)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_process_serves_every_metric_and_counts_the_job_it_ran() {
    // Arrange: a worker process with JSON logs, and one Meta job.
    let mut world = TestWorld::start().await;
    let fixture = meta_sync(&world.pool, &world.keys, MetaSyncOptions::default()).await;
    let (mut worker, address) = worker_process(&world).await;

    // Act
    let id = enqueue(&world, &fixture).await;
    assert_eq!(world.relay().await, 1);
    let finished = eventually("the job to finish", Duration::from_secs(60), || async {
        let job = job(&world, id).await;
        job.state.is_terminal().then_some(job)
    })
    .await;
    assert_eq!(finished.state, JobState::Succeeded, "{finished:?}");
    let (text, exposition) = scrape(&address).await;

    // Assert
    promtool_check_metrics(&text);
    for name in worker::metrics::NAMES
        .into_iter()
        .chain(connectors::metrics::NAMES)
    {
        assert!(
            exposition.families.contains_key(name),
            "{name} is not served"
        );
    }
    let meta = [("connector", "meta_ads")];
    assert_eq!(
        value(
            &exposition,
            "adsync_worker_jobs_total",
            "adsync_worker_jobs_total",
            &[("connector", "meta_ads"), ("outcome", "succeeded")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &exposition,
            "adsync_connector_rows_read_total",
            "adsync_connector_rows_read_total",
            &meta
        ),
        finished.rows_read.unwrap() as f64
    );
    assert_eq!(
        value(
            &exposition,
            "adsync_worker_queue_wait_seconds",
            "adsync_worker_queue_wait_seconds_count",
            &meta
        ),
        1.0
    );
    assert_eq!(
        value(
            &exposition,
            "adsync_worker_job_failures_total",
            "adsync_worker_job_failures_total",
            &[("connector", "meta_ads"), ("class", "transient")]
        ),
        0.0,
        "the failure series exist before any failure"
    );
    let log = worker.log();
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    for line in &lines {
        for field in ["timestamp", "level", "target", "message"] {
            assert!(line.get(field).is_some(), "{field} missing from {line}");
        }
    }
    let succeeded = lines
        .iter()
        .find(|line| line["message"] == "job succeeded")
        .unwrap_or_else(|| panic!("no job succeeded line:\n{log}"));
    assert_eq!(succeeded["job_id"], id.to_string(), "{succeeded}");
    assert_eq!(succeeded["connector"], "meta_ads", "{succeeded}");
    assert_eq!(succeeded["span"], "job", "{succeeded}");
    worker.terminate();
    let status = worker.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "{status:?}\n{log}");
    world.stop().await;
}

/// Counted by the worker process that ran the jobs, so no other test's jobs (run in this test
/// process when every test of the binary shares one, as under `cargo test`) can be counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_that_ends_an_attempt_is_counted_by_its_class() {
    // Arrange: three syncs, one job each, each meeting a different fault, and a worker process.
    let mut world = TestWorld::start().await;
    let mut jobs = Vec::new();
    world.expect(ExpectedLog::attempt_rescheduled("transient"));
    world.expect(ExpectedLog::job_failed("permanent"));
    world.expect(ExpectedLog::connection_needs_reauth());
    world.expect(ExpectedLog::job_failed("auth"));
    for (account, fault) in [
        ("101", FaultKind::ServerError),
        ("102", FaultKind::Malformed),
        ("103", FaultKind::RevokedToken),
    ] {
        // A token of its own: revoking one grant must not touch the other jobs'.
        let options = MetaSyncOptions {
            account_id: account.to_string(),
            access_token: format!("sandbox-token-{account}"),
            ..MetaSyncOptions::default()
        };
        let fixture = meta_sync(&world.pool, &world.keys, options).await;
        world.sandbox.add_fault(
            Fault::new(Connector::MetaAds, fault)
                .account(account)
                .times(1),
        );
        jobs.push(enqueue(&world, &fixture).await);
    }
    let (mut worker, address) = worker_process(&world).await;

    // Act: each job's first attempt ends with its fault (the transient one waits for a retry
    // that no relay publishes).
    assert_eq!(world.relay().await, 3);
    let ended = eventually(
        "every first attempt to end",
        Duration::from_secs(60),
        || async {
            let mut ended = Vec::new();
            for id in &jobs {
                let job = job(&world, *id).await;
                ended.push((job.state, job.error_class?));
            }
            Some(ended)
        },
    )
    .await;

    // Assert
    assert_eq!(
        ended,
        [
            (JobState::Pending, "transient".to_string()),
            (JobState::Failed, "permanent".to_string()),
            (JobState::Failed, "auth".to_string()),
        ]
    );
    let (_, exposition) = scrape(&address).await;
    for (class, count) in [
        ("transient", 1.0),
        ("permanent", 1.0),
        ("auth", 1.0),
        ("throttled", 0.0),
    ] {
        assert_eq!(
            value(
                &exposition,
                "adsync_worker_job_failures_total",
                "adsync_worker_job_failures_total",
                &[("connector", "meta_ads"), ("class", class)]
            ),
            count,
            "{class}"
        );
    }
    worker.terminate();
    let status = worker.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "{status:?}\n{}", worker.log());
    world.stop().await;
}
