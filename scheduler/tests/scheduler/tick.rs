//! Due syncs become jobs exactly once, with the right window and the next run advanced.

use chrono::{Duration, Utc};
use shared::db::jobs::{self, JobFilter};
use shared::db::syncs;
use shared::domain::{JobState, Schedule, Trigger};
use testkit::TestWorld;
use testkit::fixtures::{MetaSyncOptions, meta_sync};

use crate::{count_jobs, set_next_run};

#[tokio::test]
async fn a_due_sync_becomes_one_job_over_its_window_and_its_next_run_moves_on() {
    // Arrange
    let world = TestWorld::start().await;
    let fixture = meta_sync(&world.pool, &world.keys, MetaSyncOptions::default()).await;
    let now = Utc::now();
    set_next_run(&world, fixture.sync.id, now - Duration::minutes(1)).await;

    // Act
    let report = world.tick(now).await;

    // Assert
    assert_eq!((report.due, report.created), (1, 1));
    let client = world.pool.get().await.unwrap();
    let found = jobs::list(&client, &JobFilter::default(), 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let job = &found[0];
    assert_eq!(job.state, JobState::Pending);
    assert_eq!(job.trigger, Trigger::Scheduled);
    assert_eq!(job.window, fixture.sync.window_at(now));
    assert_eq!(job.window.days(), 3);
    let sync = syncs::get(&client, fixture.tenant.id, fixture.sync.id)
        .await
        .unwrap()
        .unwrap();
    let expected_next = Schedule::parse("0 6 * * *", "Europe/Berlin")
        .unwrap()
        .next_after(now)
        .unwrap();
    assert_eq!(sync.next_run_at, expected_next);
}

/// Ticks the sync once at `now` (making it due just before) and finishes the job it created,
/// returning that job's window in days, or `None` if the tick created no job.
async fn tick_and_finish(
    world: &TestWorld,
    fixture: &testkit::fixtures::SyncFixture,
    now: chrono::DateTime<Utc>,
) -> Option<u32> {
    set_next_run(world, fixture.sync.id, now - Duration::minutes(1)).await;
    let report = world.tick(now).await;
    let client = world.pool.get().await.unwrap();
    let job = client
        .query_opt(
            "UPDATE jobs SET state = 'succeeded', finished_at = now()
             WHERE sync_id = $1 AND state = 'pending'
             RETURNING window_end - window_start + 1",
            &[&fixture.sync.id],
        )
        .await
        .unwrap();
    assert_eq!(report.created, usize::from(job.is_some()));
    job.map(|row| u32::try_from(row.get::<_, i32>(0)).unwrap())
}

#[tokio::test]
async fn the_first_run_of_each_local_day_reads_the_lookback_and_the_others_the_fresh_days() {
    // Arrange: a Berlin sync restating 28 days, fresh runs over 3.
    let world = TestWorld::start().await;
    let fixture = meta_sync(
        &world.pool,
        &world.keys,
        MetaSyncOptions {
            lookback_days: 28,
            ..MetaSyncOptions::default()
        },
    )
    .await;
    let at = |text: &str| text.parse::<chrono::DateTime<Utc>>().unwrap();

    // Act
    let windows = [
        tick_and_finish(&world, &fixture, at("2026-03-10T07:00:00Z")).await,
        tick_and_finish(&world, &fixture, at("2026-03-10T13:00:00Z")).await,
        tick_and_finish(&world, &fixture, at("2026-03-10T22:30:00Z")).await,
        // 23:30 UTC is already the 11th in Berlin.
        tick_and_finish(&world, &fixture, at("2026-03-10T23:30:00Z")).await,
        tick_and_finish(&world, &fixture, at("2026-03-11T06:00:00Z")).await,
    ];

    // Assert
    assert_eq!(windows, [Some(28), Some(3), Some(3), Some(28), Some(3)]);
}

#[tokio::test]
async fn a_lookback_run_blocked_by_an_active_job_is_made_on_the_next_tick() {
    // Arrange: yesterday's lookback ran; today's first tick finds a job still active.
    let world = TestWorld::start().await;
    let fixture = meta_sync(
        &world.pool,
        &world.keys,
        MetaSyncOptions {
            lookback_days: 28,
            ..MetaSyncOptions::default()
        },
    )
    .await;
    let at = |text: &str| text.parse::<chrono::DateTime<Utc>>().unwrap();
    tick_and_finish(&world, &fixture, at("2026-03-09T07:00:00Z")).await;
    set_next_run(&world, fixture.sync.id, at("2026-03-09T08:59:00Z")).await;
    let fresh = world.tick(at("2026-03-09T09:00:00Z")).await;
    assert_eq!(fresh.created, 1, "a fresh run, left active");

    // Act
    set_next_run(&world, fixture.sync.id, at("2026-03-10T06:59:00Z")).await;
    let blocked = world.tick(at("2026-03-10T07:00:00Z")).await;
    let client = world.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE jobs SET state = 'succeeded', finished_at = now() WHERE sync_id = $1",
            &[&fixture.sync.id],
        )
        .await
        .unwrap();
    let next = tick_and_finish(&world, &fixture, at("2026-03-10T08:00:00Z")).await;

    // Assert
    assert_eq!(blocked.created, 0);
    assert_eq!(next, Some(28), "the lookback is still owed for the 10th");
}

#[tokio::test]
async fn a_sync_that_missed_many_runs_gets_one_catch_up_job_not_a_burst() {
    let world = TestWorld::start().await;
    let fixture = meta_sync(&world.pool, &world.keys, MetaSyncOptions::default()).await;
    let now = Utc::now();
    set_next_run(&world, fixture.sync.id, now - Duration::days(5)).await;

    let first = world.tick(now).await;
    let second = world.tick(now).await;

    assert_eq!((first.due, first.created), (1, 1));
    assert_eq!(
        (second.due, second.created),
        (0, 0),
        "next run moved past now"
    );
    assert_eq!(count_jobs(&world).await, 1);
}

#[tokio::test]
async fn a_due_sync_whose_previous_job_is_still_active_gets_no_second_job() {
    let world = TestWorld::start().await;
    let fixture = meta_sync(&world.pool, &world.keys, MetaSyncOptions::default()).await;
    let now = Utc::now();
    set_next_run(&world, fixture.sync.id, now - Duration::minutes(1)).await;
    world.tick(now).await;
    set_next_run(&world, fixture.sync.id, now - Duration::minutes(1)).await;

    let report = world.tick(now).await;

    assert_eq!((report.due, report.created), (1, 0));
    assert_eq!(count_jobs(&world).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_ticking_at_once_create_each_due_job_exactly_once() {
    // Arrange: 40 due syncs.
    let world = TestWorld::start_with(
        sandbox::SandboxConfig::default(),
        &[("ADSYNC__SCHEDULER__TICK_BATCH", "7")],
    )
    .await;
    let now = Utc::now();
    for index in 0..40 {
        let fixture = meta_sync(
            &world.pool,
            &world.keys,
            MetaSyncOptions {
                account_id: format!("{}", 5000 + index),
                ..MetaSyncOptions::default()
            },
        )
        .await;
        set_next_run(&world, fixture.sync.id, now - Duration::minutes(1)).await;
    }

    // Act
    let (a, b) = futures_util::join!(world.tick(now), world.tick(now));

    // Assert
    assert_eq!(a.created + b.created, 40, "{a:?} {b:?}");
    assert_eq!(count_jobs(&world).await, 40);
}

#[tokio::test]
async fn schedules_fire_at_local_time_in_the_syncs_zone_across_a_dst_change() {
    // Arrange: a 06:00 New York schedule, the day before clocks move forward (2026-03-08).
    let world = TestWorld::start().await;
    let fixture = meta_sync(
        &world.pool,
        &world.keys,
        MetaSyncOptions {
            time_zone: "America/New_York".into(),
            ..MetaSyncOptions::default()
        },
    )
    .await;
    let now = "2026-03-07T12:00:00Z".parse().unwrap();
    set_next_run(&world, fixture.sync.id, now - Duration::minutes(1)).await;

    // Act
    world.tick(now).await;

    // Assert: 06:00 EDT (UTC-4) on the 8th; the window ends on New York's today (the 7th).
    let client = world.pool.get().await.unwrap();
    let sync = syncs::get(&client, fixture.tenant.id, fixture.sync.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        sync.next_run_at,
        "2026-03-08T10:00:00Z"
            .parse::<chrono::DateTime<Utc>>()
            .unwrap()
    );
    let job = &jobs::list(&client, &JobFilter::default(), 1).await.unwrap()[0];
    assert_eq!(job.window.end().to_string(), "2026-03-07");
}
