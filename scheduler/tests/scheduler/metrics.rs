//! A scheduler process, as Prometheus and a log collector see it: `/metrics` parses and lists
//! every metric the scheduler declares, with the leader's gauges read from the database, and
//! every JSON log line carries the fixed field names.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use shared::db::connections;
use shared::db::jobs::{self, NewJob};
use shared::domain::Trigger;
use testkit::fixtures::{MetaSyncOptions, meta_sync};
use testkit::process::ChildProcess;
use testkit::telemetry::{Exposition, parse_exposition};
use testkit::{TestWorld, eventually};

/// The value of the `connector="meta_ads"` series of `family`, or of its only series.
fn value(exposition: &Exposition, family: &str) -> Option<f64> {
    let samples = exposition.samples_of(family);
    samples
        .iter()
        .find(|sample| sample.labels.get("connector").map(String::as_str) == Some("meta_ads"))
        .or_else(|| samples.first().filter(|_| samples.len() == 1))
        .map(|sample| sample.value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leading_scheduler_serves_every_metric_and_logs_json_with_fixed_fields() {
    // Arrange: a Meta job due for ten minutes and a Meta connection needing re-authorisation.
    let world = TestWorld::start().await;
    let fixture = meta_sync(&world.pool, &world.keys, MetaSyncOptions::default()).await;
    let client = world.pool.get().await.unwrap();
    let new = NewJob {
        tenant_id: fixture.tenant.id,
        sync_id: fixture.sync.id,
        account_id: fixture.account.id,
        connector: fixture.sync.connector,
        trigger: Trigger::Scheduled,
        window: fixture.sync.window_at(Utc::now()),
        max_attempts: 3,
        run_after: Utc::now() - chrono::Duration::minutes(10),
        dedup_key: NewJob::run_key(fixture.sync.id),
    };
    jobs::insert(&client, &new).await.unwrap();
    connections::mark_needs_reauth(
        &client,
        fixture.tenant.id,
        fixture.connection.id,
        "the platform refused the token",
    )
    .await
    .unwrap();

    // Act: a scheduler process with JSON logs; scrape it once it leads and has ticked.
    let mut env = world.env().to_vec();
    env.push(("ADSYNC__TELEMETRY__LOG_FORMAT".into(), "json".into()));
    let mut scheduler = ChildProcess::spawn(
        "scheduler",
        Path::new(env!("CARGO_BIN_EXE_scheduler")),
        &env,
    );
    let address = eventually(
        "the scheduler to log its address",
        Duration::from_secs(30),
        || async {
            scheduler.log().lines().find_map(|line| {
                let line: Value = serde_json::from_str(line).ok()?;
                (line["message"] == "scheduler health and metrics listening")
                    .then(|| line["address"].as_str().map(str::to_string))
                    .flatten()
            })
        },
    )
    .await;
    let http = reqwest::Client::new();
    let exposition = eventually(
        "the leader's gauges on /metrics",
        Duration::from_secs(30),
        || async {
            let text = http
                .get(format!("http://{address}/metrics"))
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            let exposition = parse_exposition(&text)
                .unwrap_or_else(|error| panic!("/metrics does not parse: {error}\n{text}"));
            let leads = value(&exposition, "adsync_scheduler_is_leader") == Some(1.0);
            let reauth = value(&exposition, "adsync_scheduler_connections_needing_reauth");
            (leads && reauth == Some(1.0)).then_some(exposition)
        },
    )
    .await;

    // Assert: every declared metric is served and follows the convention; the gauges read the
    // database; the log lines are JSON with the fixed fields.
    for name in scheduler::metrics::NAMES {
        assert!(
            exposition.families.contains_key(name),
            "{name} is not served: {:?}",
            exposition.families.keys().collect::<Vec<_>>()
        );
    }
    let age = value(
        &exposition,
        "adsync_scheduler_oldest_pending_job_age_seconds",
    )
    .unwrap();
    assert!(
        (600.0..3600.0).contains(&age),
        "the job has been due ten minutes: {age}"
    );
    assert_eq!(
        exposition
            .samples_of("adsync_scheduler_connections_needing_reauth")
            .len(),
        5,
        "one series per connector, zero for the others"
    );
    let log = scheduler.log();
    let lines: Vec<Value> = log
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON line: {line}"))
        })
        .collect();
    assert!(!lines.is_empty());
    for line in &lines {
        for field in ["timestamp", "level", "target", "message"] {
            assert!(line.get(field).is_some(), "{field} missing from {line}");
        }
    }
    assert!(
        !log.contains(world.config.database.url.expose()),
        "the database URL (with its password) reached the logs"
    );
    scheduler.terminate();
    let status = scheduler.wait_exit(Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}\n{log}");
    world.stop().await;
}
