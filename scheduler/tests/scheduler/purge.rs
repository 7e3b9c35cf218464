//! The leader's purge: deleted tenants erased after the grace period, and history kept no
//! longer than each plan allows — at any `now` the test chooses.

use chrono::{DateTime, Duration, Utc};
use shared::db::tenant_data;
use shared::domain::{JobState, TenantId};
use testkit::TestWorld;
use testkit::fixtures::{self, JobAt, MetaSyncOptions, SyncFixture};

async fn count(world: &TestWorld, statement: &str, tenant: TenantId) -> i64 {
    world
        .pool
        .get()
        .await
        .unwrap()
        .query_one(statement, &[&tenant])
        .await
        .unwrap()
        .get(0)
}

/// Rows the tenant owns, table by table.
async fn owned(world: &TestWorld, fixture: &SyncFixture) -> Vec<i64> {
    let tenant = fixture.tenant.id;
    let mut counts = Vec::new();
    for statement in [
        "SELECT count(*) FROM tenants WHERE id = $1",
        "SELECT count(*) FROM api_keys WHERE tenant_id = $1",
        "SELECT count(*) FROM connections WHERE tenant_id = $1",
        "SELECT count(*) FROM accounts WHERE tenant_id = $1",
        "SELECT count(*) FROM destinations WHERE tenant_id = $1",
        "SELECT count(*) FROM syncs WHERE tenant_id = $1",
        "SELECT count(*) FROM jobs WHERE tenant_id = $1",
        "SELECT count(*) FROM job_events WHERE job_id IN (SELECT id FROM jobs WHERE tenant_id = $1)",
        "SELECT count(*) FROM warehouse.meta_ads_campaign WHERE tenant_id = $1",
        "SELECT count(*) FROM warehouse.meta_ads_campaign_entities WHERE tenant_id = $1",
    ] {
        counts.push(count(world, statement, tenant).await);
    }
    counts
}

/// A tenant with a finished and an active job, an API key and warehouse rows.
async fn populated(world: &TestWorld, account: &str, now: DateTime<Utc>) -> SyncFixture {
    let fixture = fixtures::meta_sync(
        &world.pool,
        &world.keys,
        MetaSyncOptions {
            account_id: account.into(),
            ..MetaSyncOptions::default()
        },
    )
    .await;
    let client = world.pool.get().await.unwrap();
    shared::db::api_keys::insert(
        &client,
        fixture.tenant.id,
        "key",
        account.as_bytes(),
        "adsk_x",
    )
    .await
    .unwrap();
    fixtures::insert_job(
        &client,
        &JobAt::pending(&fixture.sync, now - Duration::hours(2))
            .finished(JobState::Succeeded, now - Duration::hours(1)),
    )
    .await;
    fixtures::insert_job(&client, &JobAt::pending(&fixture.sync, now)).await;
    fixtures::create_warehouse_tables(&client).await;
    fixtures::insert_warehouse_row(&client, &fixture.sync, now.date_naive(), "c1", now).await;
    fixture
}

#[tokio::test]
async fn a_deleted_tenant_is_erased_after_the_grace_period_and_not_before() {
    // Arrange: two tenants; the first asks to be erased.
    let world = TestWorld::start().await;
    let now = Utc::now();
    let leaving = populated(&world, "1001", now).await;
    let staying = populated(&world, "1002", now).await;
    let grace = Duration::days(i64::from(world.config.retention.erasure_grace_days));
    assert_eq!(grace, Duration::days(30), "the default grace period");
    let client = world.pool.get().await.unwrap();
    tenant_data::request_erasure(&client, leaving.tenant.id, now + grace)
        .await
        .unwrap()
        .unwrap();
    let before = owned(&world, &leaving).await;
    let staying_before = owned(&world, &staying).await;
    assert!(before.iter().all(|rows| *rows > 0), "{before:?}");

    // Act: a purge a minute before the grace period ends, then one a minute after.
    let early = scheduler::purge(
        &world.pool,
        &world.config.retention,
        now + grace - Duration::minutes(1),
    )
    .await
    .unwrap();
    let kept = owned(&world, &leaving).await;
    let late = scheduler::purge(
        &world.pool,
        &world.config.retention,
        now + grace + Duration::minutes(1),
    )
    .await
    .unwrap();

    // Assert: nothing before, everything after. The other tenant (pro plan, 90 days) keeps
    // everything: its finished job is 30 days old at the second purge.
    assert_eq!(early.tenants_erased, 0);
    assert_eq!(kept, before);
    assert_eq!(late.tenants_erased, 1);
    assert_eq!(late.jobs_deleted, 2);
    assert_eq!(owned(&world, &leaving).await, vec![0; before.len()]);
    assert_eq!(owned(&world, &staying).await, staying_before);
    world.stop().await;
}

#[tokio::test]
async fn retention_purges_finished_history_and_warehouse_rows_older_than_the_plan_keeps() {
    // Arrange: one tenant per plan, each with finished jobs 6, 8 and 91 days old, an active job
    // created 200 days ago, and warehouse rows of the same ages.
    let world = TestWorld::start().await;
    let now = Utc::now();
    let client = world.pool.get().await.unwrap();
    fixtures::create_warehouse_tables(&client).await;
    let mut tenants = Vec::new();
    for (account, plan) in [("2001", "free"), ("2002", "pro"), ("2003", "enterprise")] {
        let fixture = fixtures::meta_sync(
            &world.pool,
            &world.keys,
            MetaSyncOptions {
                account_id: account.into(),
                ..MetaSyncOptions::default()
            },
        )
        .await;
        client
            .execute(
                "UPDATE tenants SET plan = $2 WHERE id = $1",
                &[&fixture.tenant.id, &plan],
            )
            .await
            .unwrap();
        for days in [6, 8, 91] {
            let at = now - Duration::days(days);
            fixtures::insert_job(
                &client,
                &JobAt::pending(&fixture.sync, at - Duration::hours(1))
                    .finished(JobState::Failed, at),
            )
            .await;
            fixtures::insert_warehouse_row(
                &client,
                &fixture.sync,
                at.date_naive(),
                &format!("c{days}"),
                at,
            )
            .await;
        }
        fixtures::insert_job(
            &client,
            &JobAt::pending(&fixture.sync, now - Duration::days(200)),
        )
        .await;
        tenants.push((plan, fixture));
    }

    // Act
    let report = scheduler::purge(&world.pool, &world.config.retention, now)
        .await
        .unwrap();

    // Assert: free keeps 7 days, pro 90, enterprise everything; active jobs always stay, and
    // the events of purged jobs go with them.
    let ages = |fixture: &SyncFixture| {
        let tenant = fixture.tenant.id;
        let world = &world;
        async move {
            let finished = count(
                world,
                "SELECT count(*) FROM jobs WHERE tenant_id = $1 AND finished_at IS NOT NULL",
                tenant,
            )
            .await;
            let active = count(
                world,
                "SELECT count(*) FROM jobs WHERE tenant_id = $1 AND finished_at IS NULL",
                tenant,
            )
            .await;
            let events = count(world, "SELECT count(*) FROM job_events WHERE job_id IN (SELECT id FROM jobs WHERE tenant_id = $1)", tenant).await;
            let rows = count(
                world,
                "SELECT count(*) FROM warehouse.meta_ads_campaign WHERE tenant_id = $1",
                tenant,
            )
            .await;
            let entities = count(
                world,
                "SELECT count(*) FROM warehouse.meta_ads_campaign_entities WHERE tenant_id = $1",
                tenant,
            )
            .await;
            (finished, active, events, rows, entities)
        }
    };
    let expected = [("free", 1), ("pro", 2), ("enterprise", 3)];
    for ((plan, fixture), (expected_plan, kept)) in tenants.iter().zip(expected) {
        assert_eq!(*plan, expected_plan);
        assert_eq!(
            ages(fixture).await,
            (kept, 1, kept + 1, kept, kept),
            "{plan}"
        );
    }
    assert_eq!(report.jobs_deleted, 2 + 1);
    assert_eq!(report.warehouse_rows_deleted, 2 * (2 + 1));
    let orphans: i64 = client
        .query_one(
            "SELECT count(*) FROM job_events WHERE job_id NOT IN (SELECT id FROM jobs)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(orphans, 0);

    // A second purge at the same time finds nothing more.
    let again = scheduler::purge(&world.pool, &world.config.retention, now)
        .await
        .unwrap();
    assert_eq!(again, scheduler::PurgeReport::default());
    world.stop().await;
}
