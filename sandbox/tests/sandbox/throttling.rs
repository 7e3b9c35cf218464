//! Rate limits: usage headers climb with each call, code 80000 at the account's capacity, code 4
//! at the app's, and recovery when the rolling hour moves on.

use chrono::Duration;
use sandbox::SandboxConfig;
use sandbox::meta_ads::MetaAdsConfig;

use crate::{Reply, frozen_now, start, time_range};

fn june() -> Vec<(&'static str, String)> {
    vec![("time_range", time_range("2025-06-01", "2025-06-30"))]
}

fn account_percent(reply: &Reply, account: &str) -> i64 {
    reply.json_header("x-business-use-case-usage")[account][0]["call_count"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn usage_climbs_until_the_account_is_throttled_and_recovers_after_the_window() {
    // Arrange
    let sandbox = start(SandboxConfig {
        now: Some(frozen_now()),
        meta_ads: MetaAdsConfig {
            calls_per_hour_per_account: 4,
            ..MetaAdsConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;

    // Act
    let mut replies = Vec::new();
    for _ in 0..5 {
        replies.push(sandbox.insights("10", &june()).await);
    }

    // Assert: four calls succeed with climbing usage, the fifth is throttled.
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    assert_eq!(statuses, vec![200, 200, 200, 200, 400]);
    let percents: Vec<i64> = replies[..4]
        .iter()
        .map(|reply| account_percent(reply, "10"))
        .collect();
    assert_eq!(percents, vec![25, 50, 75, 100]);
    let utilisation: Vec<f64> = replies[..4]
        .iter()
        .map(|reply| {
            reply.json_header("x-ad-account-usage")["acc_id_util_pct"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert_eq!(utilisation, vec![25.0, 50.0, 75.0, 100.0]);
    for reply in &replies {
        let throttle = reply.json_header("x-fb-ads-insights-throttle");
        assert_eq!(throttle["ads_api_access_tier"], "standard_access");
        assert!(throttle["app_id_util_pct"].is_number());
        let app = reply.json_header("x-app-usage");
        assert!(app["call_count"].is_number());
    }

    let throttled = &replies[4];
    assert_eq!(
        throttled.meta_error(),
        (80000, Some(2446079), "OAuthException".to_owned())
    );
    assert!(throttled.message().starts_with(
        "(#80000) There have been too many calls from this ad-account. Wait a bit and try again."
    ));
    let buc = throttled.json_header("x-business-use-case-usage");
    assert_eq!(buc["10"][0]["estimated_time_to_regain_access"], 60);
    assert_eq!(buc["10"][0]["call_count"], 100);

    // Other accounts have their own budget.
    assert_eq!(sandbox.insights("11", &june()).await.status, 200);

    // An hour later the window has moved on.
    sandbox
        .sandbox
        .set_now(Some(frozen_now() + Duration::minutes(61)));
    let later = sandbox.insights("10", &june()).await;
    assert_eq!(later.status, 200);
    assert_eq!(account_percent(&later, "10"), 25);
}

#[tokio::test]
async fn the_app_budget_is_shared_by_all_accounts() {
    let sandbox = start(SandboxConfig {
        now: Some(frozen_now()),
        meta_ads: MetaAdsConfig {
            calls_per_hour_per_account: 100,
            calls_per_hour_per_app: 3,
            ..MetaAdsConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    for account in ["1", "2", "3"] {
        assert_eq!(sandbox.insights(account, &june()).await.status, 200);
    }
    let refused = sandbox.insights("4", &june()).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.meta_error().0, 4);
    assert_eq!(refused.json_header("x-app-usage")["call_count"], 100);
}

#[tokio::test]
async fn the_ad_account_node_does_not_use_the_insights_budget() {
    let sandbox = start(SandboxConfig {
        now: Some(frozen_now()),
        meta_ads: MetaAdsConfig {
            calls_per_hour_per_account: 1,
            ..MetaAdsConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    for _ in 0..3 {
        let reply = sandbox
            .get(
                "/meta_ads/v24.0/act_10",
                &[("access_token", "t".to_owned())],
            )
            .await;
        assert_eq!(reply.status, 200);
    }
    assert_eq!(sandbox.insights("10", &june()).await.status, 200);
    assert_eq!(sandbox.insights("10", &june()).await.status, 400);
}
