//! Cursor paging: `after` cursors and `paging.next` walk through exactly the truth rows.

use sandbox::SandboxConfig;
use sandbox::meta_ads::{self, Level, MetaAdsConfig};

use crate::{Reply, TestSandbox, date, expected_json, frozen_now, start, start_frozen, time_range};

/// Reads every page with `after` cursors; returns the rows and the number of pages.
async fn read_all_with_cursors(
    sandbox: &TestSandbox,
    account: &str,
    params: &[(&str, String)],
) -> (Vec<serde_json::Value>, usize) {
    let mut rows = Vec::new();
    let mut pages = 0;
    let mut after: Option<String> = None;
    loop {
        let mut query = params.to_vec();
        if let Some(cursor) = &after {
            query.push(("after", cursor.clone()));
        }
        let reply = sandbox.insights(account, &query).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        pages += 1;
        rows.extend(reply.rows());
        if reply.next().is_none() {
            break;
        }
        after = reply.after_cursor();
        assert!(pages < 10_000, "paging does not end");
    }
    (rows, pages)
}

#[tokio::test]
async fn paging_with_after_returns_every_truth_row_once_in_order_for_any_limit() {
    // Arrange: enough hourly budget for hundreds of small pages.
    let sandbox = start(SandboxConfig {
        now: Some(frozen_now()),
        meta_ads: MetaAdsConfig {
            calls_per_hour_per_account: 100_000,
            ..MetaAdsConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let account = "31337";
    let facts = meta_ads::account(account).unwrap();
    let today = sandbox.sandbox.today_for(&facts);
    let (since, until) = ("2025-05-10", "2025-06-30");
    let fields = [
        "account_id",
        "campaign_id",
        "campaign_name",
        "adset_id",
        "adset_name",
        "ad_id",
        "ad_name",
        "impressions",
        "clicks",
        "spend",
        "reach",
        "ctr",
        "cpc",
        "cpm",
        "frequency",
    ];
    let truth = meta_ads::insights_truth(account, Level::Ad, date(since), date(until), today);
    let expected: Vec<_> = truth
        .iter()
        .map(|row| expected_json(row, &fields))
        .collect();
    assert!(expected.len() > 200, "enough rows to page through");

    for limit in [1, 7, 25, 500, 5000] {
        // Act
        let params = [
            ("level", "ad".to_owned()),
            ("time_increment", "1".to_owned()),
            ("time_range", time_range(since, until)),
            ("fields", fields.join(",")),
            ("limit", limit.to_string()),
        ];
        let (rows, pages) = read_all_with_cursors(&sandbox, account, &params).await;

        // Assert
        assert_eq!(rows, expected, "limit {limit}");
        assert_eq!(pages, expected.len().div_ceil(limit), "limit {limit}");
    }
}

#[tokio::test]
async fn the_default_page_size_is_25() {
    let sandbox = start_frozen().await;
    let reply = sandbox
        .insights(
            "31337",
            &[
                ("level", "campaign".to_owned()),
                ("time_increment", "1".to_owned()),
                ("time_range", time_range("2025-06-01", "2025-06-30")),
            ],
        )
        .await;
    assert_eq!(reply.rows().len(), 25);
    assert!(reply.next().is_some());
}

#[tokio::test]
async fn following_paging_next_reads_everything_and_the_last_page_has_no_next() {
    // Arrange
    let sandbox = start_frozen().await;
    let account = "2024";
    let facts = meta_ads::account(account).unwrap();
    let today = sandbox.sandbox.today_for(&facts);
    let truth = meta_ads::insights_truth(
        account,
        Level::Campaign,
        date("2025-06-01"),
        date("2025-06-30"),
        today,
    );
    let fields = ["campaign_id", "impressions", "spend"];

    // Act
    let mut reply: Reply = sandbox
        .insights(
            account,
            &[
                ("level", "campaign".to_owned()),
                ("time_increment", "1".to_owned()),
                ("time_range", time_range("2025-06-01", "2025-06-30")),
                ("fields", fields.join(",")),
                ("limit", "10".to_owned()),
            ],
        )
        .await;
    let mut rows = reply.rows();
    let mut pages = 1;
    while let Some(next) = reply.next() {
        assert!(next.starts_with(&sandbox.base), "next is absolute: {next}");
        assert!(
            next.contains("access_token=test-token"),
            "next keeps the token"
        );
        reply = sandbox.get_url(&next).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        rows.extend(reply.rows());
        pages += 1;
    }

    // Assert
    let expected: Vec<_> = truth
        .iter()
        .map(|row| expected_json(row, &fields))
        .collect();
    assert_eq!(rows, expected);
    assert_eq!(pages, truth.len().div_ceil(10));
    assert!(reply.body["paging"].get("next").is_none());
    assert!(
        reply.after_cursor().is_some(),
        "the last page still has cursors"
    );
}

#[tokio::test]
async fn a_page_that_holds_everything_has_no_next_and_an_empty_result_has_no_paging() {
    let sandbox = start_frozen().await;
    let single = sandbox
        .insights(
            "31337",
            &[("time_range", time_range("2025-06-01", "2025-06-30"))],
        )
        .await;
    assert_eq!(single.rows().len(), 1, "one all-days account row");
    assert!(single.next().is_none());

    let future = sandbox
        .insights(
            "31337",
            &[
                ("time_increment", "1".to_owned()),
                ("time_range", time_range("2025-07-01", "2025-07-31")),
            ],
        )
        .await;
    assert_eq!(future.status, 200);
    assert!(future.rows().is_empty());
    assert!(future.next().is_none());
}

#[tokio::test]
async fn page_size_may_change_between_pages_with_the_same_cursor() {
    // Clients halve the page size after "reduce the amount of data"; the cursor stays valid.
    let sandbox = start_frozen().await;
    let base = [
        ("level", "ad".to_owned()),
        ("time_increment", "1".to_owned()),
        ("time_range", time_range("2025-06-01", "2025-06-30")),
        ("fields", "ad_id,spend".to_owned()),
    ];
    let mut first_query = base.to_vec();
    first_query.push(("limit", "40".to_owned()));
    let first = sandbox.insights("31337", &first_query).await;
    let mut second_query = base.to_vec();
    second_query.push(("limit", "20".to_owned()));
    second_query.push(("after", first.after_cursor().unwrap()));
    let second = sandbox.insights("31337", &second_query).await;
    assert_eq!(second.status, 200, "{}", second.body);

    let mut whole_query = base.to_vec();
    whole_query.push(("limit", "60".to_owned()));
    let whole = sandbox.insights("31337", &whole_query).await;
    let mut joined = first.rows();
    joined.extend(second.rows());
    assert_eq!(joined, whole.rows());
}
