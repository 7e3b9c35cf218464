//! Every job transition names the state it expects, so duplicates and stale workers cannot
//! overwrite newer states; each change is recorded in `job_events`.

use std::time::Duration;

use chrono::Utc;
use shared::db::jobs::{self, Enqueued, Failure, Job, JobCounts, Lease, NewJob};
use shared::db::{GenericClient, Pool};
use shared::domain::{JobState, Trigger};
use testkit::TestDatabase;
use testkit::fixtures::{MetaSyncOptions, SyncFixture, meta_sync};

const LEASE: Duration = Duration::from_secs(60);

struct Setup {
    _database: TestDatabase,
    pool: Pool,
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

    let claimed = jobs::claim(&client, first.id, "w1", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert!(
        jobs::succeed(&client, &Lease::of(&claimed, "w1"), JobCounts::default())
            .await
            .unwrap()
    );
    let next = insert(&client, &new_job(&setup.fixture, 0)).await;
    assert_ne!(next.id, first.id);
}

#[tokio::test]
async fn a_job_is_claimed_once_and_only_when_due() {
    let setup = setup().await;
    let client = setup.pool.get().await.unwrap();
    let later = insert(&client, &new_job(&setup.fixture, 3600)).await;

    assert!(
        jobs::claim(&client, later.id, "w1", LEASE)
            .await
            .unwrap()
            .is_none(),
        "not due yet"
    );
    client
        .execute(
            "UPDATE jobs SET run_after = now() WHERE id = $1",
            &[&later.id],
        )
        .await
        .unwrap();
    let claimed = jobs::claim(&client, later.id, "w1", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((claimed.state, claimed.attempt), (JobState::Running, 1));
    assert_eq!(claimed.worker_id.as_deref(), Some("w1"));
    assert!(
        jobs::claim(&client, later.id, "w2", LEASE)
            .await
            .unwrap()
            .is_none(),
        "a live lease blocks a second claim (a duplicate message)"
    );
}

#[tokio::test]
async fn a_worker_whose_lease_expired_cannot_overwrite_the_new_attempt() {
    let setup = setup().await;
    let client = setup.pool.get().await.unwrap();
    let job = insert(&client, &new_job(&setup.fixture, 0)).await;
    let stale = jobs::claim(&client, job.id, "w1", Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    // The lease of w1 has expired (zero length): w2 takes the job over.
    let fresh = jobs::claim(&client, job.id, "w2", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fresh.attempt, 2);

    let stale_lease = Lease::of(&stale, "w1");
    assert!(!jobs::heartbeat(&client, &stale_lease, LEASE).await.unwrap());
    assert!(
        !jobs::succeed(&client, &stale_lease, JobCounts::default())
            .await
            .unwrap()
    );
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
    assert!(jobs::heartbeat(&client, &fresh_lease, LEASE).await.unwrap());
    let counts = JobCounts {
        rows_read: 10,
        rows_written: 10,
        api_calls: 2,
    };
    assert!(jobs::succeed(&client, &fresh_lease, counts).await.unwrap());
    let done = jobs::get(&client, None, job.id).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!((done.rows_written, done.api_calls), (Some(10), Some(2)));
}

#[tokio::test]
async fn retries_spend_attempts_and_snoozes_give_them_back() {
    let setup = setup().await;
    let client = setup.pool.get().await.unwrap();
    let job = insert(&client, &new_job(&setup.fixture, 0)).await;
    let claimed = jobs::claim(&client, job.id, "w", LEASE)
        .await
        .unwrap()
        .unwrap();
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
    let claimed = jobs::claim(&client, job.id, "w", LEASE)
        .await
        .unwrap()
        .unwrap();
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
    let claimed = jobs::claim(&client, job.id, "w", LEASE)
        .await
        .unwrap()
        .unwrap();
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
        jobs::claim(&client, job.id, "w", LEASE)
            .await
            .unwrap()
            .is_none(),
        "a failed job is never claimed again"
    );
}
