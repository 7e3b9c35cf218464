//! The consumer on the real RabbitMQ: poison messages are dead-lettered and work goes on.

use std::time::Duration;

use lapin::BasicProperties;
use lapin::options::{BasicGetOptions, BasicPublishOptions};
use shared::domain::JobState;
use shared::queue::{JobMessage, Topology};
use testkit::eventually;
use testkit::fixtures::{MetaSyncOptions, meta_sync};
use testkit::logs::ExpectedLog;

use crate::{enqueue, job};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_are_dead_lettered_and_the_worker_keeps_going() {
    // Arrange
    let mut world = testkit::TestWorld::start().await;
    let fixture = meta_sync(&world.pool, &world.keys, MetaSyncOptions::default()).await;
    let topology = Topology::new(&world.config.rabbitmq);
    let channel = world.channel().await;
    world.spawn_worker();
    let publish = |body: Vec<u8>| {
        let channel = channel.clone();
        let exchange = topology.jobs_exchange();
        async move {
            channel
                .basic_publish(
                    exchange.into(),
                    "meta_ads".into(),
                    BasicPublishOptions::default(),
                    &body,
                    BasicProperties::default(),
                )
                .await
                .unwrap()
                .await
                .unwrap();
        }
    };

    // Act: garbage, a message naming no job, then a real job.
    let unknown = shared::domain::JobId::new();
    world.expect(
        ExpectedLog::warn("dead-lettering a message that is not a job message")
            .target("worker::consumer"),
    );
    world.expect(
        ExpectedLog::warn("dead-lettering a message naming no job")
            .target("worker::consumer")
            .field("job_id", unknown),
    );
    publish(b"{not json".to_vec()).await;
    publish(
        JobMessage {
            job_id: unknown,
            attempt: 0,
        }
        .to_bytes(),
    )
    .await;
    let id = enqueue(&world, &fixture).await;
    assert_eq!(world.relay().await, 1);

    // Assert
    let finished = eventually("the real job to succeed", Duration::from_secs(30), || {
        let world = &world;
        async move {
            let job = job(world, id).await;
            job.state.is_terminal().then_some(job)
        }
    })
    .await;
    assert_eq!(finished.state, JobState::Succeeded);
    let mut dead = Vec::new();
    while dead.len() < 2 {
        let message = eventually("a dead-lettered message", Duration::from_secs(10), || {
            let channel = channel.clone();
            let queue = topology.dead_queue();
            async move {
                channel
                    .basic_get(queue.into(), BasicGetOptions { no_ack: true })
                    .await
                    .unwrap()
            }
        })
        .await;
        dead.push(message.delivery.data.clone());
    }
    // Deliveries are handled concurrently, so the two may arrive in either order.
    assert!(dead.iter().any(|body| body == b"{not json"), "{dead:?}");
    assert!(
        dead.iter().any(|body| JobMessage::parse(body).is_ok()),
        "{dead:?}"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_quorum_queues_manual_and_scheduled_jobs_take_their_own_queues_and_run() {
    // Arrange
    let mut world = testkit::TestWorld::start_with(
        sandbox::SandboxConfig::default(),
        &[("ADSYNC__RABBITMQ__QUEUE_TYPE", "quorum")],
    )
    .await;
    let manual = meta_sync(&world.pool, &world.keys, MetaSyncOptions::default()).await;
    let scheduled = meta_sync(
        &world.pool,
        &world.keys,
        MetaSyncOptions {
            account_id: "2002".into(),
            ..MetaSyncOptions::default()
        },
    )
    .await;
    world.spawn_worker();

    // Act: a manual job (high priority) and a scheduled one, published by the relay.
    let manual_job = enqueue(&world, &manual).await;
    let scheduled_job = {
        let client = world.pool.get().await.unwrap();
        client
            .execute(
                "UPDATE syncs SET next_run_at = now() - interval '1 minute' WHERE id = $1",
                &[&scheduled.sync.id],
            )
            .await
            .unwrap();
        drop(client);
        world.tick(chrono::Utc::now()).await;
        let client = world.pool.get().await.unwrap();
        let row = client
            .query_one(
                "SELECT id FROM jobs WHERE sync_id = $1",
                &[&scheduled.sync.id],
            )
            .await
            .unwrap();
        row.get::<_, shared::domain::JobId>(0)
    };
    assert_eq!(world.relay().await, 2);

    // Assert
    for id in [manual_job, scheduled_job] {
        let finished = eventually("the job to finish", Duration::from_secs(30), || {
            let world = &world;
            async move {
                let job = job(world, id).await;
                job.state.is_terminal().then_some(job)
            }
        })
        .await;
        assert_eq!(finished.state, JobState::Succeeded, "{finished:?}");
    }
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_message_delivered_twice_has_one_effect() {
    // Arrange
    let mut world = testkit::TestWorld::start().await;
    let fixture = meta_sync(&world.pool, &world.keys, MetaSyncOptions::default()).await;
    let id = enqueue(&world, &fixture).await;
    let dispatch = shared::db::jobs::Dispatch {
        job_id: id,
        connector: shared::domain::ConnectorKind::MetaAds,
        attempt: 0,
        priority: 3,
        traceparent: None,
        due_for: Duration::ZERO,
    };

    // Act: the message is published twice before any worker runs.
    let publisher = world.publisher().await.clone();
    publisher
        .publish_jobs(&[dispatch.clone(), dispatch])
        .await
        .unwrap();
    world.spawn_worker();

    // Assert: one attempt, one set of rows, nothing dead-lettered.
    let finished = eventually("the job to succeed", Duration::from_secs(30), || {
        let world = &world;
        async move {
            let job = job(world, id).await;
            job.state.is_terminal().then_some(job)
        }
    })
    .await;
    assert_eq!((finished.state, finished.attempt), (JobState::Succeeded, 1));
    let client = world.pool.get().await.unwrap();
    let (rows, distinct_jobs): (i64, i64) = {
        let row = client
            .query_one(
                "SELECT count(*), count(DISTINCT job_id) FROM warehouse.meta_ads_campaign
                 WHERE sync_id = $1",
                &[&fixture.sync.id],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(rows, finished.rows_written.unwrap());
    assert_eq!(distinct_jobs, 1);
    let claims = shared::db::jobs::events(&client, id)
        .await
        .unwrap()
        .into_iter()
        .filter(|event| event.to_state == JobState::Running)
        .count();
    assert_eq!(claims, 1);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purging_the_job_queues_loses_no_job() {
    // Arrange: a job published, then its message purged before any worker ran.
    let mut world = testkit::TestWorld::start_with(
        sandbox::SandboxConfig::default(),
        &[
            ("ADSYNC__JOBS__QUEUED_TIMEOUT_SECS", "1"),
            ("ADSYNC__SCHEDULER__RESCUE_INTERVAL_MS", "200"),
        ],
    )
    .await;
    let fixture = meta_sync(&world.pool, &world.keys, MetaSyncOptions::default()).await;
    let id = enqueue(&world, &fixture).await;
    assert_eq!(world.relay().await, 1);
    let channel = world.channel().await;
    let queue =
        Topology::new(&world.config.rabbitmq).jobs_queue(shared::domain::ConnectorKind::MetaAds);
    let purged = channel
        .queue_purge(
            queue.as_str().into(),
            lapin::options::QueuePurgeOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(purged, 1);

    // Act
    world.spawn_scheduler();
    world.spawn_worker();

    // Assert: the rescuer notices the job queued too long and the relay publishes it again.
    let finished = eventually("the job to succeed", Duration::from_secs(30), || {
        let world = &world;
        async move {
            let job = job(world, id).await;
            job.state.is_terminal().then_some(job)
        }
    })
    .await;
    assert_eq!(finished.state, JobState::Succeeded);
    let client = world.pool.get().await.unwrap();
    let reasons: Vec<String> = shared::db::jobs::events(&client, id)
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.reason)
        .collect();
    assert!(
        reasons.contains(&"queued too long, republishing".to_string()),
        "{reasons:?}"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_run_overtakes_a_backlog_of_scheduled_runs() {
    // Arrange: a worker taking one job at a time, and a backlog of scheduled jobs queued
    // before a manual one.
    let mut world = testkit::TestWorld::start_with(
        sandbox::SandboxConfig::default(),
        &[
            ("ADSYNC__WORKER__CONCURRENCY", "1"),
            ("ADSYNC__RABBITMQ__PREFETCH", "1"),
            ("ADSYNC__WORKER__BATCH_SIZE", "1"),
        ],
    )
    .await;
    let mut scheduled = Vec::new();
    for n in 0..8 {
        let fixture = meta_sync(
            &world.pool,
            &world.keys,
            MetaSyncOptions {
                account_id: (8000 + n).to_string(),
                ..MetaSyncOptions::default()
            },
        )
        .await;
        scheduled
            .push(crate::enqueue_with(&world, &fixture, shared::domain::Trigger::Scheduled).await);
    }
    assert_eq!(world.relay().await, 8);
    let manual_sync = meta_sync(
        &world.pool,
        &world.keys,
        MetaSyncOptions {
            account_id: "8100".into(),
            ..MetaSyncOptions::default()
        },
    )
    .await;
    let manual = enqueue(&world, &manual_sync).await;
    assert_eq!(world.relay().await, 1);

    // Act
    world.spawn_worker();

    // Assert: the manual job started before all but at most the one the worker took first.
    let mut all = scheduled.clone();
    all.push(manual);
    let mut started = Vec::new();
    for id in &all {
        let finished = eventually("the job to finish", Duration::from_secs(60), || {
            let world = &world;
            async move {
                let job = job(world, *id).await;
                job.state.is_terminal().then_some(job)
            }
        })
        .await;
        started.push((finished.started_at.unwrap(), *id));
    }
    started.sort();
    let position = started.iter().position(|(_, id)| *id == manual).unwrap();
    assert!(
        position <= 1,
        "the manual job started {position}th: {started:?}"
    );
    world.stop().await;
}
