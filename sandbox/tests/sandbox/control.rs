//! The request log, unknown routes, and the rest of the control API.

use sandbox::{Connector, RequestRecord};
use serde_json::json;

use crate::{frozen_now, start_frozen, time_range};

#[tokio::test]
async fn the_request_log_templates_routes_and_redacts_the_access_token() {
    // Arrange
    let sandbox = start_frozen().await;

    // Act
    sandbox
        .insights(
            "123",
            &[
                ("time_range", time_range("2025-06-01", "2025-06-30")),
                ("level", "campaign".to_owned()),
            ],
        )
        .await;
    sandbox
        .client
        .get(sandbox.url("/meta_ads/v24.0/act_123"))
        .bearer_auth("secret-header-token")
        .send()
        .await
        .unwrap();

    // Assert: in-process
    let records = sandbox.sandbox.requests();
    assert_eq!(records.len(), 2);
    let insights = &records[0];
    assert_eq!(insights.connector, Some(Connector::MetaAds));
    assert_eq!(insights.method, "GET");
    assert_eq!(
        insights.route.as_deref(),
        Some("/v{version}/act_{account_id}/insights")
    );
    assert_eq!(insights.path, "/meta_ads/v24.0/act_123/insights");
    assert_eq!(insights.query["access_token"], "[redacted]");
    assert_eq!(insights.query["level"], "campaign");
    assert_eq!(insights.status, 200);
    assert_eq!(insights.account_id.as_deref(), Some("123"));
    assert_eq!(insights.at, frozen_now());
    assert!(!insights.unknown_route);
    assert_eq!(
        records[1].route.as_deref(),
        Some("/v{version}/act_{account_id}")
    );

    // Assert: over HTTP, and no token anywhere
    let reply = sandbox
        .get(
            "/_sandbox/requests",
            &[("connector", "meta_ads".to_owned())],
        )
        .await;
    let text = reply.body.to_string();
    assert!(!text.contains("test-token") && !text.contains("secret-header-token"));
    let served: Vec<RequestRecord> = serde_json::from_value(reply.body).unwrap();
    assert_eq!(served, records);
    assert_eq!(served[0].query["access_token"], "[redacted]");

    // Control requests are not recorded, and the log can be cleared.
    assert_eq!(sandbox.sandbox.requests().len(), 2);
    sandbox
        .client
        .delete(sandbox.url("/_sandbox/requests"))
        .send()
        .await
        .unwrap();
    assert!(sandbox.sandbox.requests().is_empty());
}

#[tokio::test]
async fn requests_to_unknown_routes_are_recorded_as_failures() {
    // Arrange
    let sandbox = start_frozen().await;

    // Act
    let under_prefix = sandbox
        .get(
            "/meta_ads/v24.0/act_1/customaudiences",
            &[("access_token", "t".to_owned())],
        )
        .await;
    let deletion = sandbox
        .client
        .delete(sandbox.url("/meta_ads/v24.0/act_1/insights?access_token=t"))
        .send()
        .await
        .unwrap();
    let no_prefix = sandbox
        .get("/v24.0/act_1/insights", &[("access_token", "t".to_owned())])
        .await;
    sandbox
        .insights(
            "1",
            &[("time_range", time_range("2025-06-01", "2025-06-01"))],
        )
        .await;

    // Assert
    assert_eq!(under_prefix.status, 404);
    assert_eq!(under_prefix.meta_error().0, 2500);
    assert_eq!(deletion.status(), 404);
    assert_eq!(no_prefix.status, 404);

    let failures = sandbox.sandbox.unknown_routes();
    let paths: Vec<(&str, Option<Connector>)> = failures
        .iter()
        .map(|record| (record.path.as_str(), record.connector))
        .collect();
    assert_eq!(
        paths,
        vec![
            (
                "/meta_ads/v24.0/act_1/customaudiences",
                Some(Connector::MetaAds)
            ),
            ("/meta_ads/v24.0/act_1/insights", Some(Connector::MetaAds)),
            ("/v24.0/act_1/insights", None),
        ]
    );
    assert!(
        failures
            .iter()
            .all(|record| record.unknown_route && record.route.is_none())
    );
    assert_eq!(failures[1].method, "DELETE");
    assert_eq!(failures[0].query["access_token"], "[redacted]");

    let over_http = sandbox.get("/_sandbox/failures", &[]).await;
    assert_eq!(over_http.body.as_array().unwrap().len(), 3);
    assert!(
        over_http
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["unknown_route"] == true)
    );
    assert_eq!(sandbox.sandbox.requests().len(), 4);
}

#[tokio::test]
async fn health_and_clock_routes_work() {
    let sandbox = start_frozen().await;
    let health = sandbox.get("/_sandbox/health", &[]).await;
    assert_eq!(health.status, 200);

    let clock = sandbox.get("/_sandbox/clock", &[]).await;
    assert_eq!(
        clock.body,
        json!({"now": "2025-06-30T12:00:00Z", "frozen": true})
    );

    let response = sandbox
        .client
        .put(sandbox.url("/_sandbox/clock"))
        .json(&json!({"now": "2025-07-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        sandbox.sandbox.now(),
        "2025-07-01T00:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );

    let bad = sandbox
        .client
        .put(sandbox.url("/_sandbox/clock"))
        .json(&json!({"now": "tomorrow"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let unknown_filter = sandbox
        .get(
            "/_sandbox/requests",
            &[("connector", "bing_ads".to_owned())],
        )
        .await;
    assert_eq!(unknown_filter.status, 400);
    assert_eq!(unknown_filter.body["field"], "connector");
    assert!(sandbox.sandbox.unknown_routes().is_empty());
}
