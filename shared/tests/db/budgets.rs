//! Rate budgets fed by the platforms' usage figures: the usage is recorded, and at the
//! slow-down threshold the bucket is emptied so requests go at the refill rate.

use std::time::Duration;

use shared::db::rate_budgets::{self, Bucket, Take};
use shared::db::{GenericClient, Pool};
use testkit::TestDatabase;

async fn pool(database: &TestDatabase) -> Pool {
    shared::db::pool(&shared::config::DatabaseConfig {
        url: shared::config::Secret::new(database.url()),
        pool_size: 2,
        connect_timeout_ms: 5000,
    })
    .unwrap()
}

fn bucket() -> Bucket {
    Bucket {
        key: "meta_ads:account:1001".into(),
        capacity: 10.0,
        refill_per_sec: 2.0,
    }
}

async fn stored(client: &impl GenericClient, key: &str) -> (Option<f64>, f64, bool) {
    let row = client
        .query_one(
            "SELECT usage_percent, tokens, usage_reported_at > now() - interval '1 minute' AS fresh
             FROM rate_budgets WHERE key = $1",
            &[&key],
        )
        .await
        .unwrap();
    (
        row.get("usage_percent"),
        row.get("tokens"),
        row.get::<_, Option<bool>>("fresh").unwrap_or(false),
    )
}

#[tokio::test]
async fn usage_below_the_threshold_is_recorded_and_leaves_the_tokens() {
    // Arrange: a budget nobody has used yet (report_usage creates it full).
    let database = TestDatabase::create().await;
    let pool = pool(&database).await;
    let client = pool.get().await.unwrap();
    let bucket = bucket();

    // Act
    rate_budgets::report_usage(&client, &bucket, 42.5, 80.0)
        .await
        .unwrap();

    // Assert
    assert_eq!(stored(&client, &bucket.key).await, (Some(42.5), 10.0, true));
    assert_eq!(
        rate_budgets::take(&client, &bucket, 1.0).await.unwrap(),
        Take::Granted
    );
}

#[tokio::test]
async fn usage_at_the_threshold_empties_the_bucket_so_requests_go_at_the_refill_rate() {
    // Arrange: a full budget.
    let database = TestDatabase::create().await;
    let pool = pool(&database).await;
    let client = pool.get().await.unwrap();
    let bucket = bucket();
    assert_eq!(
        rate_budgets::take(&client, &bucket, 1.0).await.unwrap(),
        Take::Granted
    );

    // Act: the platform says 80 % of its quota is used, then 95 %.
    rate_budgets::report_usage(&client, &bucket, 80.0, 80.0)
        .await
        .unwrap();
    let first = rate_budgets::take(&client, &bucket, 1.0).await.unwrap();
    rate_budgets::report_usage(&client, &bucket, 95.0, 80.0)
        .await
        .unwrap();

    // Assert: the bucket had nine tokens left; now the next request waits for one to refill
    // (at most half a second at 2/s).
    let Take::Wait(wait) = first else {
        panic!("an emptied bucket makes the next request wait, got {first:?}");
    };
    assert!(wait <= Duration::from_millis(500), "{wait:?}");
    let (usage, tokens, fresh) = stored(&client, &bucket.key).await;
    assert_eq!((usage, fresh), (Some(95.0), true));
    assert!(tokens.abs() < f64::EPSILON, "{tokens}");
}
