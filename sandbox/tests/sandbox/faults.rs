//! Injected faults: each kind's wire shape, and `after`/`times`/account selecting exactly the
//! intended requests, both in-process and through the control API.

use std::time::{Duration, Instant};

use sandbox::{Connector, Fault, FaultKind};
use serde_json::json;

use crate::{TestSandbox, start_frozen, time_range};

fn june() -> Vec<(&'static str, String)> {
    vec![("time_range", time_range("2025-06-01", "2025-06-30"))]
}

async fn statuses(sandbox: &TestSandbox, account: &str, count: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..count {
        statuses.push(sandbox.insights(account, &june()).await.status);
    }
    statuses
}

#[tokio::test]
async fn after_and_times_hit_exactly_the_intended_requests() {
    // Arrange
    let sandbox = start_frozen().await;
    sandbox.sandbox.add_fault(
        Fault::new(Connector::MetaAds, FaultKind::ServerError)
            .after(2)
            .times(2),
    );

    // Act
    let statuses = statuses(&sandbox, "1", 6).await;

    // Assert
    assert_eq!(statuses, vec![200, 200, 500, 500, 200, 200]);
    let faults: Vec<_> = sandbox
        .sandbox
        .requests()
        .iter()
        .map(|record| record.fault)
        .collect();
    assert_eq!(
        faults,
        vec![
            None,
            None,
            Some(FaultKind::ServerError),
            Some(FaultKind::ServerError),
            None,
            None
        ]
    );
    assert!(
        sandbox.sandbox.faults().is_empty(),
        "used-up faults are gone"
    );
}

#[tokio::test]
async fn account_specific_faults_leave_other_accounts_alone() {
    let sandbox = start_frozen().await;
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::MetaAds, FaultKind::Throttle).account("2"));
    assert_eq!(statuses(&sandbox, "1", 2).await, vec![200, 200]);
    assert_eq!(statuses(&sandbox, "2", 2).await, vec![400, 200]);
}

#[tokio::test]
async fn each_fault_kind_has_metas_wire_shape() {
    let sandbox = start_frozen().await;
    let cases = [
        (
            FaultKind::Throttle,
            400,
            80000,
            Some(2446079),
            "(#80000) There have been too many calls from this ad-account.",
        ),
        (
            FaultKind::ServerError,
            500,
            2,
            None,
            "An unexpected error has occurred. Please retry your request later.",
        ),
        (
            FaultKind::ExpiredToken,
            400,
            190,
            Some(463),
            "Error validating access token: Session has expired on ",
        ),
        (
            FaultKind::ReduceData,
            500,
            1,
            None,
            "Please reduce the amount of data you're asking for, then retry your request",
        ),
    ];
    for (kind, status, code, subcode, message) in cases {
        sandbox
            .sandbox
            .add_fault(Fault::new(Connector::MetaAds, kind));
        let reply = sandbox.insights("1", &june()).await;
        assert_eq!(reply.status, status, "{kind}: {}", reply.body);
        assert_eq!(
            reply.meta_error(),
            (code, subcode, "OAuthException".to_owned()),
            "{kind}"
        );
        assert!(
            reply.message().starts_with(message),
            "{kind}: {}",
            reply.message()
        );
        if kind == FaultKind::ServerError {
            assert_eq!(reply.body["error"]["is_transient"], true);
        }
        if kind == FaultKind::ExpiredToken {
            assert!(reply.message().contains("The current time is "));
        }
        if kind == FaultKind::Throttle {
            let buc = reply.json_header("x-business-use-case-usage");
            let regain = buc["1"][0]["estimated_time_to_regain_access"]
                .as_i64()
                .unwrap();
            assert!(regain >= 1, "regain {regain}");
            assert_eq!(buc["1"][0]["type"], "ads_insights");
        }
    }
    assert_eq!(sandbox.insights("1", &june()).await.status, 200);
}

#[tokio::test]
async fn a_slow_fault_delays_a_normal_answer() {
    let sandbox = start_frozen().await;
    sandbox
        .sandbox
        .add_fault(Fault::slow(Connector::MetaAds, Duration::from_millis(300)));
    let started = Instant::now();
    let reply = sandbox.insights("1", &june()).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.rows().len(), 1);
    assert_eq!(sandbox.sandbox.requests()[0].fault, Some(FaultKind::Slow));
}

#[tokio::test]
async fn a_fault_in_the_middle_of_pagination_fails_that_page_only() {
    // Arrange: the second page request fails once.
    let sandbox = start_frozen().await;
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::MetaAds, FaultKind::ReduceData).after(1));
    let query = vec![
        ("level", "ad".to_owned()),
        ("time_increment", "1".to_owned()),
        ("time_range", time_range("2025-06-01", "2025-06-30")),
        ("limit", "50".to_owned()),
    ];

    // Act
    let first = sandbox.insights("1", &query).await;
    let next = first.next().unwrap();
    let failed = sandbox.get_url(&next).await;
    let retried = sandbox.get_url(&next).await;

    // Assert
    assert_eq!(first.status, 200);
    assert_eq!((failed.status, failed.meta_error().0), (500, 1));
    assert_eq!(retried.status, 200);
    assert_eq!(retried.rows().len(), 50);
}

#[tokio::test]
async fn faults_can_be_managed_through_the_control_api() {
    // Arrange
    let sandbox = start_frozen().await;

    // Act
    let created = sandbox
        .post_json(
            "/_sandbox/faults",
            json!({"connector": "meta_ads", "account_id": "5", "kind": "expired_token", "times": 2, "after": 1}),
        )
        .await;

    // Assert
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(created.body["id"].is_u64());
    let listed = sandbox.get("/_sandbox/faults", &[]).await;
    assert_eq!(listed.body[0]["kind"], "expired_token");
    assert_eq!(statuses(&sandbox, "5", 4).await, vec![200, 400, 400, 200]);

    sandbox
        .post_json(
            "/_sandbox/faults",
            json!({"connector": "meta_ads", "kind": "server_error", "times": 5}),
        )
        .await;
    let cleared = sandbox
        .client
        .delete(sandbox.url("/_sandbox/faults"))
        .send()
        .await
        .unwrap();
    assert!(cleared.status().is_success());
    assert_eq!(statuses(&sandbox, "5", 1).await, vec![200]);
}

#[tokio::test]
async fn bad_fault_requests_name_the_wrong_field() {
    let sandbox = start_frozen().await;
    for (body, field) in [
        (json!({"connector": "meta_ads", "kind": "meteor"}), "kind"),
        (
            json!({"connector": "myspace_ads", "kind": "throttle"}),
            "connector",
        ),
        (json!({"connector": "meta_ads", "kind": "slow"}), "delay_ms"),
        (
            json!({"connector": "meta_ads", "kind": "throttle", "times": -1}),
            "times",
        ),
    ] {
        let reply = sandbox.post_json("/_sandbox/faults", body.clone()).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.body["field"], field, "{body}");
        assert!(
            reply.body["error"].as_str().unwrap().contains(field),
            "{}",
            reply.body
        );
    }
    assert!(sandbox.sandbox.faults().is_empty());
}
