//! The outbox relay publishes due pending jobs and marks them queued; the scheduler loop
//! ticks and relays on its own while it leads.

use std::time::Duration;

use chrono::Utc;
use lapin::options::BasicGetOptions;
use shared::db::jobs::{self, Enqueued, NewJob};
use shared::domain::ConnectorKind;
use shared::domain::{JobId, JobState, Trigger};
use shared::queue::JobMessage;
use testkit::fixtures::{MetaSyncOptions, meta_sync};
use testkit::{TestWorld, eventually};

async fn pending_job(world: &TestWorld, run_after_secs: i64, account: u32) -> JobId {
    let fixture = meta_sync(
        &world.pool,
        &world.keys,
        MetaSyncOptions {
            account_id: account.to_string(),
            ..MetaSyncOptions::default()
        },
    )
    .await;
    let client = world.pool.get().await.unwrap();
    let new = NewJob {
        tenant_id: fixture.tenant.id,
        sync_id: fixture.sync.id,
        account_id: fixture.account.id,
        connector: fixture.sync.connector,
        trigger: Trigger::Scheduled,
        window: fixture.sync.window_at(Utc::now()),
        max_attempts: 3,
        run_after: Utc::now() + chrono::Duration::seconds(run_after_secs),
        dedup_key: NewJob::run_key(fixture.sync.id),
    };
    match jobs::insert(&client, &new).await.unwrap() {
        Enqueued::Created(job) => job.id,
        Enqueued::Existing(_) => panic!("fresh sync had a job"),
    }
}

#[tokio::test]
async fn the_relay_publishes_due_pending_jobs_and_marks_them_queued() {
    // Arrange: two due jobs and one that waits an hour.
    let mut world = TestWorld::start().await;
    let due_a = pending_job(&world, -1, 1).await;
    let due_b = pending_job(&world, 0, 2).await;
    let later = pending_job(&world, 3600, 3).await;

    // Act
    let published = world.relay().await;

    // Assert
    assert_eq!(published, 2);
    let client = world.pool.get().await.unwrap();
    for (id, state) in [
        (due_a, JobState::Queued),
        (due_b, JobState::Queued),
        (later, JobState::Pending),
    ] {
        assert_eq!(
            jobs::get(&client, None, id).await.unwrap().unwrap().state,
            state
        );
    }
    let channel = world.channel().await;
    let queue =
        shared::queue::Topology::new(&world.config.rabbitmq).jobs_queue(ConnectorKind::MetaAds);
    let mut received = Vec::new();
    while let Some(message) = channel
        .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        received.push(JobMessage::parse(&message.delivery.data).unwrap().job_id);
    }
    received.sort();
    let mut expected = vec![due_a, due_b];
    expected.sort();
    assert_eq!(received, expected);
    assert_eq!(world.relay().await, 0, "nothing left to publish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_loop_turns_a_due_sync_into_a_published_job() {
    let mut world = TestWorld::start().await;
    let fixture = meta_sync(&world.pool, &world.keys, MetaSyncOptions::default()).await;
    crate::set_next_run(
        &world,
        fixture.sync.id,
        Utc::now() - chrono::Duration::minutes(1),
    )
    .await;

    world.spawn_scheduler();

    let job = eventually(
        "the scheduler to publish a job",
        Duration::from_secs(20),
        || {
            let world = &world;
            async move {
                let client = world.pool.get().await.unwrap();
                let found = jobs::list(&client, &jobs::JobFilter::default(), 1)
                    .await
                    .unwrap();
                found.into_iter().find(|job| job.state == JobState::Queued)
            }
        },
    )
    .await;
    assert_eq!(job.sync_id, fixture.sync.id);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_pending_job_wakes_the_relay_without_waiting_for_the_sweep() {
    // Arrange: sweeps ten minutes apart, so only the notification can publish quickly.
    let mut world = TestWorld::start_with(
        sandbox::SandboxConfig::default(),
        &[("ADSYNC__SCHEDULER__RELAY_SWEEP_MS", "600000")],
    )
    .await;
    world.spawn_scheduler();
    let first = pending_job(&world, 0, 1).await;
    wait_until_queued(&world, first, Duration::from_secs(20)).await;

    // Act
    let second = pending_job(&world, 0, 2).await;

    // Assert
    wait_until_queued(&world, second, Duration::from_secs(5)).await;
    world.stop().await;
}

async fn wait_until_queued(world: &TestWorld, id: JobId, timeout: Duration) {
    eventually("the job to be published", timeout, || async move {
        let client = world.pool.get().await.unwrap();
        let job = jobs::get(&client, None, id).await.unwrap().unwrap();
        (job.state == JobState::Queued).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_rescues_a_job_whose_worker_died() {
    // Arrange: a job claimed by a worker that then vanished (its lease already expired).
    let mut world = TestWorld::start_with(
        sandbox::SandboxConfig::default(),
        &[("ADSYNC__SCHEDULER__RESCUE_INTERVAL_MS", "100")],
    )
    .await;
    let id = pending_job(&world, 0, 1).await;
    let client = world.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE jobs SET state = 'running', state_reason = 'claimed by ghost', attempt = 1,
                 worker_id = 'ghost', lease_expires_at = now() - interval '1 second'
             WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();

    // Act
    world.spawn_scheduler();

    // Assert: rescued, then republished by the relay.
    wait_until_queued(&world, id, Duration::from_secs(20)).await;
    let events = jobs::events(&client, id).await.unwrap();
    assert!(
        events
            .iter()
            .any(|event| event.reason == "lease expired, rescued"),
        "{events:?}"
    );
    world.stop().await;
}
