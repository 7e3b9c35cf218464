//! Rate budgets fed by the platforms' usage headers, end to end: Meta's usage headers (the
//! sandbox sends `X-Business-Use-Case-Usage`, `X-Ad-Account-Usage` and `X-App-Usage`) are
//! recorded on the budgets, `/v1/stats` shows them, and above the slow-down threshold the
//! worker spaces its requests at the budget's refill rate — measured on the sandbox's request
//! log, where the requests arrive.

use std::time::Duration;

use shared::domain::JobState;
use testkit::fixtures::{MetaSyncOptions, meta_sync};
use testkit::world::OPERATOR_KEY;

use crate::{enqueue, job};

/// The account budget's refill rate in the test: above the threshold, one request every
/// quarter of a second.
const ACCOUNT_REQUESTS_PER_SEC: &str = "4";
const PACED: Duration = Duration::from_millis(250);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_usage_headers_feed_the_budgets_and_slow_the_worker_down_above_the_threshold() {
    // Arrange: a ten-day window in pages of 2 rows, so the job makes several requests
    // whatever the day (the account's first campaign delivers on nearly every day; a shorter
    // window can hold as few as 3 rows); a budget with a burst so large that only the usage
    // feedback can make requests wait.
    let mut world = testkit::TestWorld::start_with(
        sandbox::SandboxConfig::default(),
        &[
            ("ADSYNC__CONNECTORS__META_ADS__PAGE_SIZE", "2"),
            (
                "ADSYNC__CONNECTORS__META_ADS__ACCOUNT_REQUESTS_PER_SEC",
                ACCOUNT_REQUESTS_PER_SEC,
            ),
            ("ADSYNC__CONNECTORS__META_ADS__ACCOUNT_BURST", "1000"),
        ],
    )
    .await;
    let fixture = meta_sync(
        &world.pool,
        &world.keys,
        MetaSyncOptions {
            lookback_days: 10,
            ..MetaSyncOptions::default()
        },
    )
    .await;
    let api = world.spawn_api().await;
    // Someone else's calls (another app of the business, an earlier run) used 80 % of the
    // account's hourly insights budget (1,000 calls in the sandbox).
    let http = reqwest::Client::new();
    for _ in 0..800 {
        let status = http
            .get(format!(
                "{}/meta_ads/v24.0/act_1001/insights",
                world.sandbox_url
            ))
            .query(&[("access_token", "another-app")])
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
    world.sandbox.clear_requests();

    // Act
    let id = enqueue(&world, &fixture).await;
    let outcome = world.worker().execute_one(id).await.unwrap();

    // Assert: the job finished, every request reported usage at or above 80 %.
    assert!(
        matches!(outcome, worker::Outcome::Succeeded(_)),
        "{outcome:?}"
    );
    assert_eq!(job(&world, id).await.state, JobState::Succeeded);
    let insights: Vec<_> = world
        .sandbox
        .requests_for(sandbox::Connector::MetaAds)
        .into_iter()
        .filter(|request| request.path.ends_with("/act_1001/insights"))
        .collect();
    assert!(
        insights.len() >= 4,
        "the job should read several pages, made {} requests",
        insights.len()
    );
    assert!(insights.iter().all(|request| request.status == 200));
    // Each answer said usage is above the threshold, so each next request waited for the
    // emptied budget to refill one token.
    for pair in insights.windows(2) {
        let gap = (pair[1].at - pair[0].at).to_std().unwrap_or_default();
        assert!(
            gap >= PACED,
            "requests {} and {} were {gap:?} apart, less than the refill interval {PACED:?}",
            pair[0].at,
            pair[1].at
        );
    }
    let client = world.pool.get().await.unwrap();
    let usage: Option<f64> = client
        .query_one(
            "SELECT usage_percent FROM rate_budgets WHERE key = 'meta_ads:account:1001'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let usage = usage.expect("the account budget has a usage figure");
    let made = 800 + insights.len();
    assert!(
        (usage - made as f64 / 10.0).abs() < 0.01,
        "usage {usage} % after {made} of 1,000 calls"
    );
    let app: Option<f64> = client
        .query_one(
            "SELECT usage_percent FROM rate_budgets WHERE key = 'meta_ads:app'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(app.is_some(), "X-App-Usage feeds the app budget");
    let (status, stats) = api.get("/v1/stats", OPERATOR_KEY).await;
    assert_eq!(status, 200, "{stats}");
    let shown = stats["budget_usage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|budget| budget["key"] == "meta_ads:account:1001")
        .unwrap_or_else(|| panic!("the account's usage is on /v1/stats: {stats}"));
    assert_eq!(shown["usage_percent"].as_f64(), Some(usage));
    world.stop().await;
}
