//! Several `worker` processes writing syncs of one tenant into one warehouse table at once,
//! with new processes joining under load (a deploy, an autoscale, a crash restart): no DDL runs
//! once the table exists, no deadlock happens, and no attempt is lost to one.

use std::path::Path;
use std::time::Duration;

use shared::db::{accounts, syncs};
use shared::domain::{JobId, JobState};
use testkit::fixtures::{MetaSyncOptions, SyncFixture, meta_sync};
use testkit::process::ChildProcess;
use testkit::{TestWorld, eventually};

use crate::{enqueue, job};

fn spawn_worker(world: &TestWorld, id: &str) -> ChildProcess {
    let mut env = world.env().to_vec();
    env.push(("ADSYNC__WORKER__ID".into(), id.into()));
    // Identify the processes' database sessions, to know when they are all gone.
    let url = format!(
        "{}?application_name=concurrency_worker",
        world.database.url()
    );
    env.push(("ADSYNC__DATABASE__URL".into(), url));
    ChildProcess::spawn(id, Path::new(env!("CARGO_BIN_EXE_worker")), &env)
}

/// `count` more accounts and syncs of the fixture's tenant, connection and destination.
async fn syncs_of_one_tenant(
    world: &TestWorld,
    first: &SyncFixture,
    count: u32,
) -> Vec<SyncFixture> {
    let client = world.pool.get().await.unwrap();
    let mut fixtures = vec![first.clone()];
    for n in 1..count {
        let external_id = (5000 + n).to_string();
        let account = accounts::insert(
            &client,
            accounts::NewAccount {
                tenant_id: first.tenant.id,
                connection_id: first.connection.id,
                connector: first.sync.connector,
                external_id: &external_id,
                name: "Concurrent account",
                time_zone: "Europe/Berlin",
                currency: "EUR",
                reached_through: None,
            },
        )
        .await
        .unwrap()
        .unwrap();
        let sync = syncs::insert(
            &client,
            syncs::NewSync {
                tenant_id: first.tenant.id,
                account_id: account.id,
                destination_id: first.destination.id,
                connector: first.sync.connector,
                report: &first.sync.report,
                cron: "0 6 * * *",
                time_zone: "Europe/Berlin",
                fresh_days: 3,
                lookback_days: 3,
                enabled: true,
                next_run_at: chrono::Utc::now() + chrono::Duration::days(1),
            },
        )
        .await
        .unwrap();
        let mut fixture = first.clone();
        fixture.account = account;
        fixture.sync = sync;
        fixtures.push(fixture);
    }
    fixtures
}

async fn all_finished(world: &TestWorld, ids: &[JobId]) -> Vec<shared::db::jobs::Job> {
    let mut finished = Vec::new();
    for id in ids {
        finished.push(
            eventually(
                &format!("job {id} to finish"),
                Duration::from_secs(120),
                || async move {
                    let job = job(world, *id).await;
                    job.state.is_terminal().then_some(job)
                },
            )
            .await,
        );
    }
    finished
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_processes_writing_one_table_run_no_ddl_and_never_deadlock() {
    // Arrange: 24 syncs of one tenant, all written into warehouse.meta_ads_campaign; one job
    // has created the table. From then on an event trigger records every DDL command.
    let mut world = TestWorld::start().await;
    let first = meta_sync(
        &world.pool,
        &world.keys,
        MetaSyncOptions {
            account_id: "5000".into(),
            ..MetaSyncOptions::default()
        },
    )
    .await;
    let fixtures = syncs_of_one_tenant(&world, &first, 24).await;
    let warm = enqueue(&world, &first).await;
    let outcome = world.worker().execute_one(warm).await.unwrap();
    assert!(
        matches!(outcome, worker::Outcome::Succeeded(_)),
        "{outcome:?}"
    );
    let client = world.pool.get().await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE ddl_seen (tag text NOT NULL, at timestamptz NOT NULL DEFAULT now());
             CREATE FUNCTION record_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
             BEGIN INSERT INTO ddl_seen (tag) VALUES (tg_tag); END $$;
             CREATE EVENT TRIGGER watch_ddl ON ddl_command_start EXECUTE FUNCTION record_ddl();",
        )
        .await
        .unwrap();
    world.spawn_scheduler();

    // Act: two rounds of one job per sync. Two workers start the first round and a third
    // joins while it runs; a fourth joins as the second round starts.
    let mut workers = vec![
        spawn_worker(&world, "worker-1"),
        spawn_worker(&world, "worker-2"),
    ];
    let mut ids = Vec::new();
    for fixture in &fixtures {
        ids.push(enqueue(&world, fixture).await);
    }
    eventually(
        "the first round to be under way",
        Duration::from_secs(60),
        || {
            let client = &client;
            async move {
                let done: i64 = client
                    .query_one("SELECT count(*) FROM jobs WHERE state = 'succeeded'", &[])
                    .await
                    .unwrap()
                    .get(0);
                (done >= 3).then_some(())
            }
        },
    )
    .await;
    workers.push(spawn_worker(&world, "worker-3"));
    let mut finished = all_finished(&world, &ids).await;
    workers.push(spawn_worker(&world, "worker-4"));
    let mut second = Vec::new();
    for fixture in &fixtures {
        second.push(enqueue(&world, fixture).await);
    }
    finished.extend(all_finished(&world, &second).await);

    // Assert: every job succeeded on its first attempt, no DDL ran, and once the workers'
    // sessions are gone (flushing their statistics) the database counted no deadlock.
    for job in &finished {
        assert_eq!(
            (job.state, job.attempt),
            (JobState::Succeeded, 1),
            "{job:?}"
        );
    }
    let ddl: Vec<String> = client
        .query("SELECT tag FROM ddl_seen ORDER BY at", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(ddl.is_empty(), "DDL ran while workers wrote: {ddl:?}");
    for mut worker in workers {
        worker.terminate();
        assert!(worker.wait_exit(Duration::from_secs(30)).await.success());
    }
    eventually("the workers' sessions to end", Duration::from_secs(30), || {
        let client = &client;
        async move {
            let sessions: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND application_name = 'concurrency_worker'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            (sessions == 0).then_some(())
        }
    })
    .await;
    client
        .batch_execute("SELECT pg_stat_clear_snapshot()")
        .await
        .unwrap();
    let deadlocks: i64 = client
        .query_one(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(deadlocks, 0);
    drop(client);
    world.stop().await;
}
