//! Every job transition names the state it expects, so duplicates and stale workers cannot
//! overwrite newer states; each change is recorded in `job_events`.

use std::time::Duration;

use chrono::Utc;
use shared::db::jobs::{self, ClaimSettings, Enqueued, Failure, Job, JobCounts, Lease, NewJob};
use shared::db::{GenericClient, Pool};
use shared::domain::{JobId, JobState, Trigger};
use testkit::TestDatabase;
use testkit::fixtures::{MetaSyncOptions, SyncFixture, meta_sync};

const LEASE: Duration = Duration::from_secs(60);

struct Setup {
    _database: TestDatabase,
    pool: Pool,
    keys: shared::crypto::KeyRing,
    fixture: SyncFixture,
}

async fn setup() -> Setup {
    let database = TestDatabase::create().await;
    let pool = shared::db::pool(&shared::config::DatabaseConfig {
        url: shared::config::Secret::new(database.url()),
        pool_size: 4,
        connect_timeout_ms: 5000,
    })
    .unwrap();
    let keys = shared::crypto::KeyRing::from_config(&shared::config::CryptoConfig {
        active_key_id: "k".into(),
        keys: [(
            "k".to_string(),
            shared::config::Secret::new(shared::crypto::KeyRing::generate_key()),
        )]
        .into(),
    })
    .unwrap();
    let fixture = meta_sync(&pool, &keys, MetaSyncOptions::default()).await;
    Setup {
        _database: database,
        pool,
        keys,
        fixture,
    }
}

fn new_job(fixture: &SyncFixture, run_after_secs: i64) -> NewJob {
    NewJob {
        tenant_id: fixture.tenant.id,
        sync_id: fixture.sync.id,
        account_id: fixture.account.id,
        connector: fixture.sync.connector,
        trigger: Trigger::Manual,
        window: fixture.sync.window_at(Utc::now()),
        max_attempts: 3,
        run_after: Utc::now() + chrono::Duration::seconds(run_after_secs),
        dedup_key: NewJob::run_key(fixture.sync.id),
    }
}

async fn insert(client: &impl GenericClient, new: &NewJob) -> Job {
    match jobs::insert(client, new).await.unwrap() {
        Enqueued::Created(job) => job,
        Enqueued::Existing(job) => panic!("expected a new job, got active {}", job.id),
    }
}

/// Claims one job for `worker` in its own transaction.
async fn claim(pool: &Pool, id: JobId, worker: &str, lease: Duration) -> Option<Job> {
    let mut client = pool.get().await.unwrap();
    let transaction = client.transaction().await.unwrap();
    let settings = ClaimSettings {
        lease,
        defer: Duration::from_secs(2),
    };
    let mut claims = jobs::claim_many(&transaction, &[id], worker, settings)
        .await
        .unwrap();
    transaction.commit().await.unwrap();
    claims.claimed.pop()
}

async fn succeed(client: &impl GenericClient, lease: &Lease, counts: JobCounts) -> bool {
    !jobs::succeed_many(client, &[(lease.clone(), counts)])
        .await
        .unwrap()
        .is_empty()
}

async fn heartbeat(client: &impl GenericClient, lease: &Lease) -> bool {
    !jobs::heartbeat_many(client, std::slice::from_ref(lease), LEASE)
        .await
        .unwrap()
        .is_empty()
}

async fn history(client: &impl GenericClient, job: &Job) -> Vec<(Option<JobState>, JobState)> {
    jobs::events(client, job.id)
        .await
        .unwrap()
        .into_iter()
        .map(|event| (event.from_state, event.to_state))
        .collect()
}

#[tokio::test]
async fn one_active_job_per_sync_and_a_new_one_once_it_finished() {
    let setup = setup().await;
    let client = setup.pool.get().await.unwrap();
    let first = insert(&client, &new_job(&setup.fixture, 0)).await;

    let again = jobs::insert(&client, &new_job(&setup.fixture, 0))
        .await
        .unwrap();
    let Enqueued::Existing(existing) = again else {
        panic!("a second active job was created");
    };
    assert_eq!(existing.id, first.id);

    let claimed = claim(&setup.pool, first.id, "w1", LEASE).await.unwrap();
    assert!(succeed(&client, &Lease::of(&claimed, "w1"), JobCounts::default()).await);
    let next = insert(&client, &new_job(&setup.fixture, 0)).await;
    assert_ne!(next.id, first.id);
}

#[tokio::test]
async fn a_job_is_claimed_once_and_only_when_due() {
    let setup = setup().await;
    let client = setup.pool.get().await.unwrap();
    let later = insert(&client, &new_job(&setup.fixture, 3600)).await;

    assert!(
        claim(&setup.pool, later.id, "w1", LEASE).await.is_none(),
        "not due yet"
    );
    client
        .execute(
            "UPDATE jobs SET run_after = now() WHERE id = $1",
            &[&later.id],
        )
        .await
        .unwrap();
    let claimed = claim(&setup.pool, later.id, "w1", LEASE).await.unwrap();
    assert_eq!((claimed.state, claimed.attempt), (JobState::Running, 1));
    assert_eq!(claimed.worker_id.as_deref(), Some("w1"));
    assert!(
        claim(&setup.pool, later.id, "w2", LEASE).await.is_none(),
        "a live lease blocks a second claim (a duplicate message)"
    );
}

#[tokio::test]
async fn a_worker_whose_lease_expired_cannot_overwrite_the_new_attempt() {
    let setup = setup().await;
    let client = setup.pool.get().await.unwrap();
    let job = insert(&client, &new_job(&setup.fixture, 0)).await;
    let stale = claim(&setup.pool, job.id, "w1", Duration::ZERO)
        .await
        .unwrap();
    // The lease of w1 has expired (zero length): w2 takes the job over.
    let fresh = claim(&setup.pool, job.id, "w2", LEASE).await.unwrap();
    assert_eq!(fresh.attempt, 2);

    let stale_lease = Lease::of(&stale, "w1");
    assert!(!heartbeat(&client, &stale_lease).await);
    assert!(!succeed(&client, &stale_lease, JobCounts::default()).await);
    let failure = Failure::Fail {
        class: "permanent",
        message: "stale",
    };
    assert!(
        !jobs::fail_attempt(&client, &stale_lease, failure, JobCounts::default())
            .await
            .unwrap()
    );

    let fresh_lease = Lease::of(&fresh, "w2");
    assert!(heartbeat(&client, &fresh_lease).await);
    let counts = JobCounts {
        rows_read: 10,
        rows_written: 10,
        api_calls: 2,
    };
    assert!(succeed(&client, &fresh_lease, counts).await);
    let done = jobs::get(&client, None, job.id).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!((done.rows_written, done.api_calls), (Some(10), Some(2)));
}

#[tokio::test]
async fn retries_spend_attempts_and_snoozes_give_them_back() {
    let setup = setup().await;
    let client = setup.pool.get().await.unwrap();
    let job = insert(&client, &new_job(&setup.fixture, 0)).await;
    let claimed = claim(&setup.pool, job.id, "w", LEASE).await.unwrap();
    let run_after = Utc::now() + chrono::Duration::minutes(15);

    let snooze = Failure::RetryAt {
        run_after,
        spend_attempt: false,
        class: "throttled",
        message: "quota",
    };
    assert!(
        jobs::fail_attempt(
            &client,
            &Lease::of(&claimed, "w"),
            snooze,
            JobCounts::default()
        )
        .await
        .unwrap()
    );
    let snoozed = jobs::get(&client, None, job.id).await.unwrap().unwrap();
    assert_eq!((snoozed.state, snoozed.attempt), (JobState::Pending, 0));
    assert_eq!(snoozed.run_after.timestamp(), run_after.timestamp());
    assert!(snoozed.worker_id.is_none() && snoozed.lease_expires_at.is_none());

    client
        .execute(
            "UPDATE jobs SET run_after = now() WHERE id = $1",
            &[&job.id],
        )
        .await
        .unwrap();
    let claimed = claim(&setup.pool, job.id, "w", LEASE).await.unwrap();
    let retry = Failure::RetryAt {
        run_after: Utc::now(),
        spend_attempt: true,
        class: "transient",
        message: "503",
    };
    jobs::fail_attempt(
        &client,
        &Lease::of(&claimed, "w"),
        retry,
        JobCounts::default(),
    )
    .await
    .unwrap();
    let retried = jobs::get(&client, None, job.id).await.unwrap().unwrap();
    assert_eq!((retried.state, retried.attempt), (JobState::Pending, 1));
    assert_eq!(retried.error_message.as_deref(), Some("503"));
}

#[tokio::test]
async fn every_transition_is_recorded_with_its_reason() {
    let setup = setup().await;
    let client = setup.pool.get().await.unwrap();
    let job = insert(&client, &new_job(&setup.fixture, 0)).await;
    assert_eq!(jobs::mark_queued(&client, &[job.id]).await.unwrap(), 1);
    assert_eq!(
        jobs::mark_queued(&client, &[job.id]).await.unwrap(),
        0,
        "only from pending"
    );
    let claimed = claim(&setup.pool, job.id, "w", LEASE).await.unwrap();
    jobs::fail_attempt(
        &client,
        &Lease::of(&claimed, "w"),
        Failure::Fail {
            class: "permanent",
            message: "bad field",
        },
        JobCounts::default(),
    )
    .await
    .unwrap();

    assert_eq!(
        history(&client, &job).await,
        [
            (None, JobState::Pending),
            (Some(JobState::Pending), JobState::Queued),
            (Some(JobState::Queued), JobState::Running),
            (Some(JobState::Running), JobState::Failed),
        ]
    );
    let reasons: Vec<String> = jobs::events(&client, job.id)
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.reason)
        .collect();
    assert_eq!(
        reasons,
        ["manual", "published", "claimed by w", "permanent error"]
    );
    assert!(
        claim(&setup.pool, job.id, "w", LEASE).await.is_none(),
        "a failed job is never claimed again"
    );
}

#[tokio::test]
async fn a_batch_claim_sorts_out_missing_unclaimable_and_claimable_jobs() {
    let setup = setup().await;
    let client = setup.pool.get().await.unwrap();
    let due = insert(&client, &new_job(&setup.fixture, 0)).await;
    let other = meta_sync(
        &setup.pool,
        &setup.keys,
        MetaSyncOptions {
            account_id: "77".into(),
            ..MetaSyncOptions::default()
        },
    )
    .await;
    let snoozed = insert(&client, &new_job(&other, 3600)).await;
    let missing = JobId::new();
    drop(client);

    let mut client = setup.pool.get().await.unwrap();
    let transaction = client.transaction().await.unwrap();
    let claims = jobs::claim_many(
        &transaction,
        &[due.id, snoozed.id, missing],
        "w",
        ClaimSettings {
            lease: LEASE,
            defer: Duration::from_secs(2),
        },
    )
    .await
    .unwrap();
    transaction.commit().await.unwrap();

    assert_eq!(
        claims.claimed.iter().map(|j| j.id).collect::<Vec<_>>(),
        [due.id]
    );
    assert_eq!(claims.unclaimable, [snoozed.id]);
    assert_eq!(claims.missing, [missing]);
    assert!(claims.deferred.is_empty());
}

#[tokio::test]
async fn a_tenant_never_runs_more_jobs_than_its_cap_and_the_rest_wait() {
    // Arrange: a tenant allowed 2 running jobs, with 5 syncs each with a due job.
    let setup = setup().await;
    let client = setup.pool.get().await.unwrap();
    client
        .execute("UPDATE tenants SET max_running_jobs = 2", &[])
        .await
        .unwrap();
    let mut ids = vec![insert(&client, &new_job(&setup.fixture, 0)).await.id];
    for n in 0..4 {
        let sync = shared::db::syncs::insert(
            &client,
            shared::db::syncs::NewSync {
                tenant_id: setup.fixture.tenant.id,
                account_id: setup.fixture.account.id,
                destination_id: setup.fixture.destination.id,
                connector: setup.fixture.sync.connector,
                report: &setup.fixture.sync.report,
                cron: "0 6 * * *",
                time_zone: "UTC",
                fresh_days: 1,
                lookback_days: 1 + n,
                enabled: true,
                next_run_at: Utc::now(),
            },
        )
        .await
        .unwrap();
        let mut fixture = setup.fixture.clone();
        fixture.sync = sync;
        ids.push(insert(&client, &new_job(&fixture, 0)).await.id);
    }
    drop(client);
    let settings = ClaimSettings {
        lease: LEASE,
        defer: Duration::from_secs(30),
    };

    // Act: two workers claim overlapping batches at the same time.
    let claim_batch = |worker: &'static str, ids: Vec<JobId>| {
        let pool = setup.pool.clone();
        async move {
            let mut client = pool.get().await.unwrap();
            let transaction = client.transaction().await.unwrap();
            let claims = jobs::claim_many(&transaction, &ids, worker, settings)
                .await
                .unwrap();
            transaction.commit().await.unwrap();
            claims
        }
    };
    let (a, b) = tokio::join!(
        claim_batch("a", ids[..3].to_vec()),
        claim_batch("b", ids[2..].to_vec())
    );

    // Assert
    assert_eq!(a.claimed.len() + b.claimed.len(), 2, "{a:?} {b:?}");
    let client = setup.pool.get().await.unwrap();
    let running: i64 = client
        .query_one("SELECT count(*) FROM jobs WHERE state = 'running'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(running, 2);
    let waiting = client
        .query(
            "SELECT state, state_reason, run_after > now() + interval '20 seconds' AS later
             FROM jobs WHERE state <> 'running'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(waiting.len(), 3);
    for row in waiting {
        assert_eq!(row.get::<_, String>("state"), "pending");
        assert_eq!(
            row.get::<_, String>("state_reason"),
            "tenant at its running-job cap"
        );
        assert!(row.get::<_, bool>("later"));
    }
}

#[tokio::test]
async fn the_rescuer_returns_jobs_of_dead_workers_and_fails_those_out_of_attempts() {
    let setup = setup().await;
    let client = setup.pool.get().await.unwrap();
    let job = insert(&client, &new_job(&setup.fixture, 0)).await;
    client
        .execute("UPDATE jobs SET max_attempts = 2 WHERE id = $1", &[&job.id])
        .await
        .unwrap();

    // The first worker dies: its lease (zero length) expires at once.
    claim(&setup.pool, job.id, "dead-1", Duration::ZERO)
        .await
        .unwrap();
    let first = jobs::rescue_expired(&client, 100).await.unwrap();
    let after_first = jobs::get(&client, None, job.id).await.unwrap().unwrap();
    // The second worker dies too, on the last attempt.
    claim(&setup.pool, job.id, "dead-2", Duration::ZERO)
        .await
        .unwrap();
    let second = jobs::rescue_expired(&client, 100).await.unwrap();
    let after_second = jobs::get(&client, None, job.id).await.unwrap().unwrap();

    assert_eq!((first.retried, first.failed), (1, 0));
    assert_eq!(
        (after_first.state, after_first.attempt),
        (JobState::Pending, 1)
    );
    assert_eq!((second.retried, second.failed), (0, 1));
    assert_eq!(
        (after_second.state, after_second.attempt),
        (JobState::Failed, 2)
    );
    assert!(
        after_second
            .error_message
            .unwrap()
            .contains("stopped renewing")
    );
    let live = claim_live(&setup, &client).await;
    assert_eq!(
        jobs::rescue_expired(&client, 100).await.unwrap(),
        Default::default()
    );
    assert_eq!(
        jobs::get(&client, None, live).await.unwrap().unwrap().state,
        JobState::Running,
        "a live lease is left alone"
    );
}

/// A job of a fresh sync, claimed with a long lease.
async fn claim_live(setup: &Setup, client: &impl GenericClient) -> JobId {
    let other = meta_sync(
        &setup.pool,
        &setup.keys,
        MetaSyncOptions {
            account_id: "88".into(),
            ..MetaSyncOptions::default()
        },
    )
    .await;
    let job = insert(client, &new_job(&other, 0)).await;
    claim(&setup.pool, job.id, "alive", LEASE).await.unwrap();
    job.id
}

#[tokio::test]
async fn cancelling_stops_a_waiting_job_at_once_and_a_running_job_by_request() {
    let setup = setup().await;
    let client = setup.pool.get().await.unwrap();
    let waiting = insert(&client, &new_job(&setup.fixture, 0)).await;

    let cancelled = jobs::cancel(&client, Some(setup.fixture.tenant.id), waiting.id)
        .await
        .unwrap();
    assert!(
        matches!(cancelled, Some(jobs::CancelOutcome::Cancelled(ref job)) if job.state == JobState::Cancelled)
    );
    assert!(claim(&setup.pool, waiting.id, "w", LEASE).await.is_none());
    assert!(matches!(
        jobs::cancel(&client, Some(setup.fixture.tenant.id), waiting.id)
            .await
            .unwrap(),
        Some(jobs::CancelOutcome::Cancelled(_))
    ));

    let running = insert(&client, &new_job(&setup.fixture, 0)).await;
    claim(&setup.pool, running.id, "w", LEASE).await.unwrap();
    assert!(!jobs::cancel_requested(&client, running.id).await.unwrap());
    let requested = jobs::cancel(&client, Some(setup.fixture.tenant.id), running.id)
        .await
        .unwrap();
    assert!(
        matches!(requested, Some(jobs::CancelOutcome::Requested(ref job)) if job.state == JobState::Running)
    );
    assert!(jobs::cancel_requested(&client, running.id).await.unwrap());

    let other_tenant = shared::domain::TenantId::new();
    assert!(
        jobs::cancel(&client, Some(other_tenant), running.id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn retrying_reopens_a_failed_job_unless_its_sync_has_another_active_job() {
    let setup = setup().await;
    let client = setup.pool.get().await.unwrap();
    let job = insert(&client, &new_job(&setup.fixture, 0)).await;
    let tenant = Some(setup.fixture.tenant.id);
    assert!(matches!(
        jobs::retry(&client, tenant, job.id).await.unwrap(),
        Some(jobs::RetryOutcome::NotRetryable(JobState::Pending))
    ));
    let claimed = claim(&setup.pool, job.id, "w", LEASE).await.unwrap();
    let fail = Failure::Fail {
        class: "permanent",
        message: "bad",
    };
    jobs::fail_attempt(
        &client,
        &Lease::of(&claimed, "w"),
        fail,
        JobCounts::default(),
    )
    .await
    .unwrap();

    let Some(jobs::RetryOutcome::Retried(retried)) =
        jobs::retry(&client, tenant, job.id).await.unwrap()
    else {
        panic!("a failed job can be retried");
    };
    assert_eq!((retried.state, retried.attempt), (JobState::Pending, 0));
    assert!(retried.error_message.is_none());

    // Fail it again, start another job for the sync, and try once more.
    let claimed = claim(&setup.pool, job.id, "w", LEASE).await.unwrap();
    let fail = Failure::Fail {
        class: "permanent",
        message: "bad",
    };
    jobs::fail_attempt(
        &client,
        &Lease::of(&claimed, "w"),
        fail,
        JobCounts::default(),
    )
    .await
    .unwrap();
    insert(&client, &new_job(&setup.fixture, 0)).await;
    assert!(matches!(
        jobs::retry(&client, tenant, job.id).await.unwrap(),
        Some(jobs::RetryOutcome::Conflict)
    ));
}

#[tokio::test]
async fn many_jobs_are_created_in_one_statement_skipping_syncs_with_an_active_job() {
    let setup = setup().await;
    let client = setup.pool.get().await.unwrap();
    let active = insert(&client, &new_job(&setup.fixture, 0)).await;
    let other = meta_sync(
        &setup.pool,
        &setup.keys,
        MetaSyncOptions {
            account_id: "99".into(),
            ..MetaSyncOptions::default()
        },
    )
    .await;

    let created = jobs::insert_many(
        &client,
        &[
            new_job(&setup.fixture, 0),
            new_job(&other, 0),
            new_job(&other, 0),
        ],
    )
    .await
    .unwrap();

    assert_eq!(created.len(), 1, "one new job: the other sync's, once");
    assert_ne!(created[0].id, active.id);
    assert_eq!(created[0].sync_id, other.sync.id);
    let job = jobs::get(&client, None, created[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((job.sync_id, job.state), (other.sync.id, JobState::Pending));
    assert_eq!(history(&client, &job).await, [(None, JobState::Pending)]);
}

#[tokio::test]
async fn a_job_deferred_at_its_tenants_cap_keeps_the_next_free_slot_from_lower_priorities() {
    // Arrange: a tenant allowed 2 running jobs runs two backfill chunks; a third chunk and a
    // scheduled run wait.
    let setup = setup().await;
    let client = setup.pool.get().await.unwrap();
    client
        .execute("UPDATE tenants SET max_running_jobs = 2", &[])
        .await
        .unwrap();
    let today = Utc::now().date_naive();
    let chunk = |days_ago: u64| {
        let day = today - chrono::Days::new(days_ago);
        let window = shared::domain::DateWindow::new(day, day).unwrap();
        NewJob {
            trigger: Trigger::Backfill,
            window,
            dedup_key: NewJob::backfill_key(setup.fixture.sync.id, window),
            ..new_job(&setup.fixture, 0)
        }
    };
    let first = insert(&client, &chunk(10)).await;
    let second = insert(&client, &chunk(11)).await;
    let third = insert(&client, &chunk(12)).await;
    let scheduled = insert(
        &client,
        &NewJob {
            trigger: Trigger::Scheduled,
            ..new_job(&setup.fixture, 0)
        },
    )
    .await;
    let running = claim(&setup.pool, first.id, "w", LEASE).await.unwrap();
    claim(&setup.pool, second.id, "w", LEASE).await.unwrap();

    // Act: the scheduled run finds the tenant at its cap; then a chunk finishes, and the
    // third chunk's message is claimed before the scheduled run's comes back.
    let deferred = claim(&setup.pool, scheduled.id, "w", LEASE).await;
    assert!(succeed(&client, &Lease::of(&running, "w"), JobCounts::default()).await);
    let backfill = claim(&setup.pool, third.id, "w", LEASE).await;
    client
        .execute(
            "UPDATE jobs SET run_after = now() WHERE id = $1",
            &[&scheduled.id],
        )
        .await
        .unwrap();
    let returned = claim(&setup.pool, scheduled.id, "w", LEASE).await;

    // Assert: the freed slot waited for the scheduled run, which took it.
    assert!(deferred.is_none());
    assert!(backfill.is_none(), "the lower priority chunk took the slot");
    let returned = returned.expect("the scheduled run takes the slot kept for it");
    assert_eq!(returned.priority, Trigger::Scheduled.priority());
    let third_now = jobs::get(&client, None, third.id).await.unwrap().unwrap();
    assert_eq!(
        (third_now.state, third_now.state_reason.as_str()),
        (JobState::Pending, "tenant at its running-job cap")
    );
}
