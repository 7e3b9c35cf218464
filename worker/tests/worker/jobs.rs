//! One job at a time through `Worker::execute_job`: writes, retries, snoozes and failures.

use std::time::Duration;

use chrono::Utc;
use rust_decimal::Decimal;
use sandbox::{Connector, Fault, FaultKind};
use shared::db::connections;
use shared::db::jobs::JobCounts;
use shared::domain::{JobId, JobState};
use testkit::fixtures::{MetaSyncOptions, SyncFixture, meta_sync};
use testkit::logs::ExpectedLog;
use testkit::{TestWorld, eventually};
use worker::Outcome;

use crate::{enqueue, job};

type Row = (chrono::NaiveDate, String, Decimal, Decimal, String);

async fn rows(world: &TestWorld, fixture: &SyncFixture) -> Vec<Row> {
    let client = world.pool.get().await.unwrap();
    client
        .query(
            "SELECT date, campaign_id, spend, impressions, job_id::text FROM warehouse.meta_ads_campaign
             WHERE sync_id = $1 ORDER BY date, campaign_id",
            &[&fixture.sync.id],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)))
        .collect()
}

async fn setup(overrides: &[(&str, &str)]) -> (TestWorld, SyncFixture) {
    let world = TestWorld::start_with(sandbox::SandboxConfig::default(), overrides).await;
    let fixture = meta_sync(
        &world.pool,
        &world.keys,
        MetaSyncOptions {
            lookback_days: 5,
            ..MetaSyncOptions::default()
        },
    )
    .await;
    (world, fixture)
}

fn meta_fault(kind: FaultKind) -> Fault {
    Fault::new(Connector::MetaAds, kind)
}

#[tokio::test]
async fn a_job_replaces_its_window_and_running_it_again_leaves_the_same_rows() {
    // Arrange
    let (world, fixture) = setup(&[("ADSYNC__CONNECTORS__META_ADS__PAGE_SIZE", "4")]).await;
    let worker = world.worker();

    // Act
    let first = enqueue(&world, &fixture).await;
    let outcome = worker.execute_one(first).await.unwrap();

    // Assert
    let Outcome::Succeeded(counts) = outcome else {
        panic!("first run: {outcome:?}");
    };
    let after_first = rows(&world, &fixture).await;
    assert!(after_first.len() > 4, "several pages were read");
    assert_eq!(counts.rows_read, after_first.len() as i64);
    assert_eq!(counts.rows_written, after_first.len() as i64);
    assert_eq!(
        counts.api_calls as usize,
        after_first.len().div_ceil(4),
        "one call per page of 4"
    );
    assert_eq!(job(&world, first).await.state, JobState::Succeeded);

    let second = enqueue(&world, &fixture).await;
    assert!(matches!(
        worker.execute_one(second).await.unwrap(),
        Outcome::Succeeded(_)
    ));
    let after_second = rows(&world, &fixture).await;
    let strip =
        |rows: &[Row]| -> Vec<_> { rows.iter().map(|r| (r.0, r.1.clone(), r.2, r.3)).collect() };
    assert_eq!(strip(&after_second), strip(&after_first));
    assert!(after_second.iter().all(|r| r.4 == second.to_string()));
}

#[tokio::test]
async fn a_window_meta_finds_too_large_is_read_in_halves_with_the_same_rows() {
    // Arrange: the same sync against a Meta that serves any request, and one that refuses
    // synchronous requests of more than 4 rows (a day of this account has fewer).
    let (roomy, roomy_fixture) = setup(&[]).await;
    let strict_config = sandbox::SandboxConfig {
        meta_ads: sandbox::meta_ads::MetaAdsConfig {
            max_sync_rows: 4,
            ..Default::default()
        },
        ..Default::default()
    };
    let strict = TestWorld::start_with(strict_config, &[]).await;
    let strict_fixture = meta_sync(
        &strict.pool,
        &strict.keys,
        MetaSyncOptions {
            lookback_days: 5,
            ..MetaSyncOptions::default()
        },
    )
    .await;

    // Act
    let roomy_job = enqueue(&roomy, &roomy_fixture).await;
    let roomy_outcome = roomy.worker().execute_one(roomy_job).await.unwrap();
    let strict_job = enqueue(&strict, &strict_fixture).await;
    let strict_outcome = strict.worker().execute_one(strict_job).await.unwrap();

    // Assert
    assert!(
        matches!(roomy_outcome, Outcome::Succeeded(_)),
        "{roomy_outcome:?}: {:?}",
        job(&roomy, roomy_job).await.error_message
    );
    assert!(
        matches!(strict_outcome, Outcome::Succeeded(_)),
        "{strict_outcome:?}: {:?}",
        job(&strict, strict_job).await.error_message
    );
    let strip = |rows: Vec<Row>| -> Vec<_> {
        rows.into_iter()
            .map(|(date, campaign, spend, impressions, _)| (date, campaign, spend, impressions))
            .collect()
    };
    let expected = strip(rows(&roomy, &roomy_fixture).await);
    assert!(expected.len() > 4, "{} rows", expected.len());
    assert_eq!(strip(rows(&strict, &strict_fixture).await), expected);
    let refused = strict
        .sandbox
        .requests_for(Connector::MetaAds)
        .iter()
        .filter(|request| request.status == 500)
        .count();
    assert!(refused >= 1, "Meta refused no request");
}

#[tokio::test]
async fn a_throttled_job_snoozes_until_the_platforms_reset_without_spending_an_attempt() {
    // Arrange
    let (world, fixture) = setup(&[]).await;
    world
        .sandbox
        .add_fault(meta_fault(FaultKind::Throttle).account(fixture.account.external_id.clone()));
    let id = enqueue(&world, &fixture).await;
    world.expect(ExpectedLog::attempt_rescheduled("throttled").field("job_id", id));

    // Act
    let outcome = world.worker().execute_one(id).await.unwrap();

    // Assert
    assert_eq!(outcome, Outcome::Rescheduled { class: "throttled" });
    let job = job(&world, id).await;
    assert_eq!(job.state, JobState::Pending);
    assert_eq!(job.attempt, 0, "a snooze gives the attempt back");
    assert_eq!(job.error_class.as_deref(), Some("throttled"));
    assert!(
        job.run_after >= Utc::now() + chrono::Duration::seconds(50),
        "snoozed until the usage headers' regain time, got {}",
        job.run_after
    );
    assert!(rows(&world, &fixture).await.is_empty());
}

#[tokio::test]
async fn an_expired_token_is_exchanged_once_and_the_request_retried() {
    // Arrange
    let (world, fixture) = setup(&[]).await;
    world.sandbox.add_fault(meta_fault(FaultKind::ExpiredToken));
    let id = enqueue(&world, &fixture).await;

    // Act
    let outcome = world.worker().execute_one(id).await.unwrap();

    // Assert
    assert!(matches!(outcome, Outcome::Succeeded(_)), "{outcome:?}");
    let exchanges = world
        .sandbox
        .requests_for(Connector::MetaAds)
        .into_iter()
        .filter(|request| request.route.as_deref() == Some("/v{version}/oauth/access_token"))
        .count();
    assert_eq!(exchanges, 1);
    let client = world.pool.get().await.unwrap();
    let stored = connections::read_tokens(
        &client,
        &world.keys,
        fixture.tenant.id,
        fixture.connection.id,
        false,
    )
    .await
    .unwrap();
    assert_ne!(stored.tokens.access_token, "sandbox-token");
    assert!(
        stored
            .expires_at
            .is_some_and(|at| at > Utc::now() + chrono::Duration::days(59))
    );
}

#[tokio::test]
async fn a_revoked_token_fails_the_job_and_pauses_the_connections_syncs() {
    // Arrange
    let (world, fixture) = setup(&[]).await;
    world.sandbox.add_fault(meta_fault(FaultKind::RevokedToken));
    let id = enqueue(&world, &fixture).await;
    world.expect(ExpectedLog::connection_needs_reauth().field("job_id", id));
    world.expect(ExpectedLog::job_failed("auth").field("job_id", id));

    // Act
    let outcome = world.worker().execute_one(id).await.unwrap();

    // Assert
    assert_eq!(outcome, Outcome::Failed { class: "auth" });
    let job = job(&world, id).await;
    assert_eq!(job.state, JobState::Failed);
    assert!(
        job.error_message
            .as_deref()
            .unwrap()
            .contains("refused to refresh the connection's token"),
        "{job:?}"
    );
    assert!(
        !job.error_message
            .as_deref()
            .unwrap()
            .contains("sandbox-token"),
        "no token in errors"
    );
    let client = world.pool.get().await.unwrap();
    let connection = connections::get(&client, fixture.tenant.id, fixture.connection.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(connection.status, "needs_reauth");
    let sync = shared::db::syncs::get(&client, fixture.tenant.id, fixture.sync.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!sync.enabled);
    assert!(sync.paused_reason.unwrap().contains("re-authorisation"));
}

/// Executes the job again as soon as its backoff has passed.
async fn execute_when_due(world: &TestWorld, id: JobId) -> Outcome {
    let worker = world.worker();
    eventually("the retry to become due", Duration::from_secs(10), || {
        let worker = &worker;
        async move {
            match worker.execute_one(id).await.unwrap() {
                Outcome::NotClaimable => None,
                outcome => Some(outcome),
            }
        }
    })
    .await
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_and_fail_the_job_after_max_attempts() {
    // Arrange
    let (world, fixture) = setup(&[("ADSYNC__JOBS__MAX_ATTEMPTS", "2")]).await;
    world
        .sandbox
        .add_fault(meta_fault(FaultKind::ServerError).times(10));
    let id = enqueue(&world, &fixture).await;
    world.expect(ExpectedLog::attempt_rescheduled("transient").field("job_id", id));
    world.expect(ExpectedLog::job_failed("transient").field("job_id", id));

    // Act
    let first = world.worker().execute_one(id).await.unwrap();
    let after_first = job(&world, id).await;
    let second = execute_when_due(&world, id).await;

    // Assert
    assert_eq!(first, Outcome::Rescheduled { class: "transient" });
    assert_eq!(after_first.state, JobState::Pending);
    assert_eq!(after_first.attempt, 1);
    assert_eq!(second, Outcome::Failed { class: "transient" });
    let failed = job(&world, id).await;
    assert_eq!((failed.state, failed.attempt), (JobState::Failed, 2));
    assert!(failed.error_message.unwrap().contains("HTTP 500"));
    assert_eq!(failed.api_calls, Some(1));
}

#[tokio::test]
async fn a_failure_in_the_middle_of_paging_leaves_the_previous_rows_intact() {
    // Arrange: a first successful run, then a run whose second page fails.
    let (world, fixture) = setup(&[("ADSYNC__CONNECTORS__META_ADS__PAGE_SIZE", "3")]).await;
    let worker = world.worker();
    let first = enqueue(&world, &fixture).await;
    assert!(matches!(
        worker.execute_one(first).await.unwrap(),
        Outcome::Succeeded(_)
    ));
    let before = rows(&world, &fixture).await;
    world
        .sandbox
        .add_fault(meta_fault(FaultKind::ServerError).after(1));

    // Act
    let second = enqueue(&world, &fixture).await;
    world.expect(ExpectedLog::attempt_rescheduled("transient").field("job_id", second));
    let outcome = worker.execute_one(second).await.unwrap();

    // Assert
    assert_eq!(outcome, Outcome::Rescheduled { class: "transient" });
    assert_eq!(rows(&world, &fixture).await, before);
    let retried = job(&world, second).await;
    assert_eq!(
        retried.rows_read,
        Some(3),
        "one page was read before the failure"
    );
    assert_eq!(retried.rows_written, Some(0));
}

#[tokio::test]
async fn finished_and_unknown_jobs_are_not_executed_again() {
    // Arrange
    let (world, fixture) = setup(&[]).await;
    let worker = world.worker();
    let id = enqueue(&world, &fixture).await;
    let Outcome::Succeeded(counts) = worker.execute_one(id).await.unwrap() else {
        panic!("the job should succeed");
    };
    let calls = world.sandbox.requests().len();

    // Act
    let again = worker.execute_one(id).await.unwrap();
    let unknown = worker.execute_one(JobId::new()).await.unwrap();

    // Assert
    assert_eq!(again, Outcome::NotClaimable);
    assert_eq!(unknown, Outcome::NoSuchJob);
    assert_eq!(
        world.sandbox.requests().len(),
        calls,
        "no platform call was made"
    );
    assert_ne!(counts, JobCounts::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_request_stops_a_running_job_between_pages() {
    // Arrange: pages of 2 rows, the second page slow, so the job is mid-report when cancelled.
    let (world, fixture) = setup(&[("ADSYNC__CONNECTORS__META_ADS__PAGE_SIZE", "2")]).await;
    world.sandbox.add_fault(
        meta_fault(FaultKind::Slow)
            .after(1)
            .delay(Duration::from_millis(1500)),
    );
    let id = enqueue(&world, &fixture).await;
    let worker = world.worker();
    let running = tokio::spawn({
        let worker = worker.clone();
        async move { worker.execute_one(id).await }
    });
    eventually(
        "the first page to be read",
        Duration::from_secs(10),
        || async { (!world.sandbox.requests().is_empty()).then_some(()) },
    )
    .await;

    // Act
    let client = world.pool.get().await.unwrap();
    let requested = shared::db::jobs::cancel(&client, Some(fixture.tenant.id), id)
        .await
        .unwrap();
    let outcome = running.await.unwrap().unwrap();

    // Assert
    assert!(matches!(
        requested,
        Some(shared::db::jobs::CancelOutcome::Requested(_))
    ));
    assert_eq!(outcome, Outcome::Cancelled);
    let cancelled = job(&world, id).await;
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert!(
        cancelled.api_calls.unwrap() <= 2,
        "stopped within two pages"
    );
    assert!(
        rows(&world, &fixture).await.is_empty(),
        "nothing was written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_attempt_gives_its_job_back_without_spending_the_attempt() {
    // Arrange: the platform answers slowly, so the attempt is in flight at shutdown.
    let (world, fixture) = setup(&[]).await;
    world
        .sandbox
        .add_fault(meta_fault(FaultKind::Slow).delay(Duration::from_secs(20)));
    let id = enqueue(&world, &fixture).await;
    let worker = world.worker();
    let running = tokio::spawn({
        let worker = worker.clone();
        async move { worker.execute_one(id).await }
    });
    eventually("the job to be running", Duration::from_secs(10), || async {
        (job(&world, id).await.state == JobState::Running).then_some(())
    })
    .await;

    // Act: the shutdown grace is over.
    worker.interrupt();
    let outcome = running.await.unwrap().unwrap();

    // Assert
    assert_eq!(outcome, Outcome::Released);
    let released = job(&world, id).await;
    assert_eq!((released.state, released.attempt), (JobState::Pending, 0));
    assert_eq!(released.state_reason, "released at worker shutdown");
}
