//! TikTok Marketing API v1.3 over HTTP: the envelope on HTTP 200, trailing slashes, the
//! `Access-Token` header, integrated reports (paging, the 30-day limit, audience breakdowns,
//! `"-"`), entities, advertisers, the auth-code exchange, rate limits and injected faults.

use std::time::Duration;

use sandbox::tiktok_ads::{
    self, Breakdown, Level, NO_DELIVERY_ADVERTISER_ID, REACHABLE_ADVERTISER_IDS, TiktokAdsConfig,
};
use sandbox::{Connector, Fault, FaultKind, SandboxConfig};
use serde_json::{Value, json};

use crate::{Reply, TestSandbox, date, frozen_now, start};

const ADVERTISER: &str = "7100000000000000001";
const TOKEN: &str = "tiktok-test-token";

/// A frozen sandbox whose rate limits tests that are not about them never reach (the default
/// allows only five calls per second for one advertiser and endpoint).
async fn start_generous() -> TestSandbox {
    start(SandboxConfig {
        now: Some(frozen_now()),
        tiktok_ads: TiktokAdsConfig {
            app_calls_per_second: 10_000,
            app_calls_per_minute: 100_000,
            advertiser_calls_per_second: 10_000,
        },
        ..SandboxConfig::default()
    })
    .await
}

impl TestSandbox {
    /// `GET /tiktok_ads/open_api/v1.3<path>` with the `Access-Token` header (when `token` is
    /// given).
    async fn tiktok(&self, path: &str, token: Option<&str>, query: &[(&str, String)]) -> Reply {
        let mut request = self
            .client
            .get(self.url(&format!("/tiktok_ads/open_api/v1.3{path}")))
            .query(query);
        if let Some(token) = token {
            request = request.header("Access-Token", token);
        }
        Reply::read(request.send().await.unwrap()).await
    }

    async fn report(&self, advertiser: &str, query: &[(&str, String)]) -> Reply {
        let mut full = vec![("advertiser_id", advertiser.to_owned())];
        full.extend(query.iter().cloned());
        self.tiktok("/report/integrated/get/", Some(TOKEN), &full)
            .await
    }
}

impl Reply {
    fn code(&self) -> i64 {
        assert!(
            self.body["request_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "request_id in {}",
            self.body
        );
        self.body["code"].as_i64().unwrap()
    }

    fn list(&self) -> Vec<Value> {
        self.body["data"]["list"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// A campaign-level BASIC report over June with `page_size`.
fn campaign_report(page: u32, page_size: u32) -> Vec<(&'static str, String)> {
    vec![
        ("report_type", "BASIC".to_owned()),
        ("data_level", "AUCTION_CAMPAIGN".to_owned()),
        (
            "dimensions",
            r#"["campaign_id","stat_time_day"]"#.to_owned(),
        ),
        (
            "metrics",
            r#"["spend","impressions","clicks","reach","conversion","campaign_name"]"#.to_owned(),
        ),
        ("start_date", "2025-06-01".to_owned()),
        ("end_date", "2025-06-30".to_owned()),
        ("page", page.to_string()),
        ("page_size", page_size.to_string()),
    ]
}

#[tokio::test]
async fn pages_of_a_report_add_up_to_the_truth() {
    // Arrange
    let sandbox = start_generous().await;
    let today = date("2025-06-30");
    let truth = tiktok_ads::report_truth(
        ADVERTISER,
        Level::Campaign,
        &[],
        date("2025-06-01"),
        date("2025-06-30"),
        today,
    );

    // Act
    let first = sandbox.report(ADVERTISER, &campaign_report(1, 25)).await;
    let total_page = first.body["data"]["page_info"]["total_page"]
        .as_u64()
        .unwrap();
    let mut rows = first.list();
    for page in 2..=total_page {
        let reply = sandbox
            .report(
                ADVERTISER,
                &campaign_report(u32::try_from(page).unwrap(), 25),
            )
            .await;
        assert_eq!(reply.code(), 0);
        rows.extend(reply.list());
    }
    let past_the_end = sandbox
        .report(
            ADVERTISER,
            &campaign_report(u32::try_from(total_page).unwrap() + 1, 25),
        )
        .await;

    // Assert
    assert_eq!((first.status, first.code()), (200, 0));
    assert_eq!(first.body["message"], "OK");
    assert_eq!(
        first.body["data"]["page_info"],
        json!({"page": 1, "page_size": 25, "total_number": truth.len(), "total_page": truth.len().div_ceil(25)})
    );
    assert!(total_page > 1);
    assert!(past_the_end.list().is_empty());
    assert_eq!(rows.len(), truth.len());
    for (row, expected) in rows.iter().zip(&truth) {
        assert_eq!(
            row["dimensions"],
            json!({
                "campaign_id": expected.campaign_id,
                "stat_time_day": format!("{} 00:00:00", expected.date),
            })
        );
        let conversion = expected
            .conversion
            .map_or_else(|| "-".to_owned(), |value| value.to_string());
        assert_eq!(
            row["metrics"],
            json!({
                "spend": expected.spend,
                "impressions": expected.impressions.to_string(),
                "clicks": expected.clicks.to_string(),
                "reach": expected.reach.to_string(),
                "conversion": conversion,
                "campaign_name": expected.campaign_name,
            })
        );
    }
    assert!(rows.iter().any(|row| row["metrics"]["conversion"] == "-"));
    assert!(rows.iter().any(|row| row["metrics"]["conversion"] != "-"));
    // Australian dollars: two decimals, always written.
    assert!(rows.iter().all(|row| {
        row["metrics"]["spend"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap()
            .len()
            == 2
    }));
}

#[tokio::test]
async fn audience_reports_split_the_basic_rows_into_segments() {
    let sandbox = start_generous().await;
    let query = |report_type: &str, dimensions: &str| {
        vec![
            ("report_type", report_type.to_owned()),
            ("data_level", "AUCTION_ADVERTISER".to_owned()),
            ("dimensions", dimensions.to_owned()),
            ("metrics", r#"["impressions","spend"]"#.to_owned()),
            ("start_date", "2025-06-28".to_owned()),
            ("end_date", "2025-06-28".to_owned()),
            ("page_size", "1000".to_owned()),
        ]
    };
    let basic = sandbox
        .report(
            ADVERTISER,
            &query("BASIC", r#"["advertiser_id","stat_time_day"]"#),
        )
        .await;
    let audience = sandbox
        .report(
            ADVERTISER,
            &query(
                "AUDIENCE",
                r#"["advertiser_id","stat_time_day","age","gender"]"#,
            ),
        )
        .await;
    assert_eq!((basic.code(), audience.code()), (0, 0));
    let total = |rows: &[Value]| -> u64 {
        rows.iter()
            .map(|row| {
                row["metrics"]["impressions"]
                    .as_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            })
            .sum()
    };
    assert_eq!(basic.list().len(), 1);
    assert!(audience.list().len() > 6);
    assert_eq!(total(&audience.list()), total(&basic.list()));
    let first = &audience.list()[0]["dimensions"];
    assert_eq!(first["advertiser_id"], ADVERTISER);
    assert!(first["age"].as_str().unwrap().starts_with("AGE_"));
    assert!(["MALE", "FEMALE", "NONE"].contains(&first["gender"].as_str().unwrap()));
    let truth = tiktok_ads::report_truth(
        ADVERTISER,
        Level::Advertiser,
        &[Breakdown::Age, Breakdown::Gender],
        date("2025-06-28"),
        date("2025-06-28"),
        date("2025-06-30"),
    );
    assert_eq!(truth.len(), audience.list().len());
}

#[tokio::test]
async fn parameters_are_checked_with_code_40002_naming_the_problem() {
    let sandbox = start_generous().await;
    let with = |name: &'static str, value: &str| {
        let mut query = campaign_report(1, 10);
        query.retain(|(key, _)| *key != name);
        query.push((name, value.to_owned()));
        query
    };
    let cases = [
        (with("start_date", "2025-05-31"), "30 days"),
        (with("page_size", "1001"), "page_size"),
        (
            with("metrics", r#"["spend","likes"]"#),
            "Invalid metric fields: ['likes']",
        ),
        (
            with("dimensions", "campaign_id,stat_time_day"),
            "dimensions",
        ),
        (with("data_level", "AUCTION_ACCOUNT"), "data_level"),
        (
            with("dimensions", r#"["campaign_id","gender","stat_time_day"]"#),
            "AUDIENCE",
        ),
        // An AUDIENCE report cannot count unique people per segment: TikTok's exact answer.
        (
            vec![
                ("report_type", "AUDIENCE".to_owned()),
                ("data_level", "AUCTION_CAMPAIGN".to_owned()),
                (
                    "dimensions",
                    r#"["campaign_id","stat_time_day","age"]"#.to_owned(),
                ),
                ("metrics", r#"["spend","reach"]"#.to_owned()),
                ("start_date", "2025-06-01".to_owned()),
                ("end_date", "2025-06-30".to_owned()),
            ],
            "Invalid metric fields: ['reach']",
        ),
    ];
    for (query, words) in cases {
        let reply = sandbox.report(ADVERTISER, &query).await;
        assert_eq!((reply.status, reply.code()), (200, 40002), "{}", reply.body);
        let message = reply.body["message"].as_str().unwrap();
        assert!(message.contains(words), "{message}");
        assert_eq!(reply.body["data"], json!({}));
    }
    let missing = sandbox
        .tiktok(
            "/report/integrated/get/",
            Some(TOKEN),
            &campaign_report(1, 10),
        )
        .await;
    assert_eq!(
        missing.body["message"],
        "advertiser_id: Missing data for required field."
    );
}

#[tokio::test]
async fn paths_need_their_trailing_slash_and_tokens_the_access_token_header() {
    // Arrange
    let sandbox = start_generous().await;
    let query = [("advertiser_id", ADVERTISER.to_owned())];

    // Act
    let no_slash = sandbox.tiktok("/campaign/get", Some(TOKEN), &query).await;
    let no_token = sandbox.tiktok("/campaign/get/", None, &query).await;
    let bearer = Reply::read(
        sandbox
            .client
            .get(sandbox.url("/tiktok_ads/open_api/v1.3/campaign/get/"))
            .query(&query)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    sandbox.sandbox.revoke_token(Connector::TiktokAds, "dead");
    let revoked = sandbox.tiktok("/campaign/get/", Some("dead"), &query).await;

    // Assert
    assert_eq!(no_slash.status, 404);
    assert_eq!(no_slash.body, Value::String("404 page not found".into()));
    let unknown = sandbox.sandbox.unknown_routes();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].path, "/tiktok_ads/open_api/v1.3/campaign/get");
    for reply in [&no_token, &bearer] {
        assert_eq!((reply.status, reply.code()), (200, 40104));
        assert_eq!(
            reply.body["message"],
            "Access token is null, you should set it in http header with key Access-Token."
        );
    }
    assert_eq!((revoked.status, revoked.code()), (200, 40105));
}

#[tokio::test]
async fn entities_list_campaigns_ad_groups_and_ads_with_budgets_as_numbers() {
    let sandbox = start_generous().await;
    let query = |page_size: u32| {
        vec![
            ("advertiser_id", ADVERTISER.to_owned()),
            ("page_size", page_size.to_string()),
        ]
    };
    let campaigns = sandbox
        .tiktok("/campaign/get/", Some(TOKEN), &query(100))
        .await;
    let truth = tiktok_ads::entities_truth(ADVERTISER, Level::Campaign);
    assert_eq!(campaigns.code(), 0);
    assert_eq!(campaigns.list().len(), truth.len());
    for (campaign, expected) in campaigns.list().iter().zip(&truth) {
        assert_eq!(campaign["campaign_id"], expected.id.as_str());
        assert_eq!(campaign["campaign_name"], expected.name.as_str());
        assert_eq!(
            campaign["operation_status"],
            expected.operation_status.as_str()
        );
        assert!(campaign["budget"].is_f64(), "{campaign}");
    }
    assert!(
        campaigns
            .list()
            .iter()
            .any(|campaign| campaign["operation_status"] == "DISABLE")
    );

    let ads = sandbox.tiktok("/ad/get/", Some(TOKEN), &query(2)).await;
    let ad_truth = tiktok_ads::entities_truth(ADVERTISER, Level::Ad);
    assert_eq!(ads.list().len(), 2);
    assert_eq!(
        ads.body["data"]["page_info"]["total_number"],
        json!(ad_truth.len())
    );
    let ad = &ads.list()[0];
    for field in [
        "ad_id",
        "ad_name",
        "adgroup_id",
        "campaign_id",
        "ad_format",
        "landing_page_url",
    ] {
        assert!(ad[field].is_string(), "{field} in {ad}");
    }

    let fields = sandbox
        .tiktok(
            "/adgroup/get/",
            Some(TOKEN),
            &[
                ("advertiser_id", ADVERTISER.to_owned()),
                ("fields", r#"["adgroup_id","budget_mode"]"#.to_owned()),
            ],
        )
        .await;
    let first = fields.list()[0].as_object().unwrap().clone();
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        ["adgroup_id", "budget_mode"]
    );
}

#[tokio::test]
async fn tokens_reach_the_documented_advertisers_and_info_describes_them() {
    let sandbox = start_generous().await;
    let authorized = sandbox
        .tiktok(
            "/oauth2/advertiser/get/",
            Some(TOKEN),
            &[("app_id", "123".to_owned()), ("secret", "s".to_owned())],
        )
        .await;
    assert_eq!(authorized.code(), 0);
    let ids: Vec<String> = authorized
        .list()
        .iter()
        .map(|item| item["advertiser_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, REACHABLE_ADVERTISER_IDS);

    let info = sandbox
        .tiktok(
            "/advertiser/info/",
            Some(TOKEN),
            &[
                ("advertiser_ids", serde_json::to_string(&ids).unwrap()),
                (
                    "fields",
                    r#"["advertiser_id","name","currency","timezone"]"#.to_owned(),
                ),
            ],
        )
        .await;
    assert_eq!(info.code(), 0);
    let first = &info.list()[0];
    let facts = tiktok_ads::advertiser(&ids[0]).unwrap();
    assert_eq!(
        *first,
        json!({
            "advertiser_id": facts.id,
            "name": facts.name,
            "currency": facts.currency.code(),
            "timezone": facts.time_zone.name(),
        })
    );

    let without_secret = sandbox
        .tiktok(
            "/oauth2/advertiser/get/",
            Some(TOKEN),
            &[("app_id", "1".to_owned())],
        )
        .await;
    assert_eq!(without_secret.code(), 40002);
}

#[tokio::test]
async fn an_auth_code_is_exchanged_once_for_a_token_that_works() {
    let sandbox = start_generous().await;
    let body = json!({"app_id": "123", "secret": "s", "auth_code": "code-1"});
    let exchange = |body: Value| {
        let sandbox = &sandbox;
        async move {
            Reply::read(
                sandbox
                    .client
                    .post(sandbox.url("/tiktok_ads/open_api/v1.3/oauth2/access_token/"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let first = exchange(body.clone()).await;
    let again = exchange(body).await;
    assert_eq!(first.code(), 0);
    assert_eq!(
        first.body["data"]["advertiser_ids"],
        json!(REACHABLE_ADVERTISER_IDS)
    );
    let token = first.body["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let campaigns = sandbox
        .tiktok(
            "/campaign/get/",
            Some(&token),
            &[("advertiser_id", ADVERTISER.to_owned())],
        )
        .await;
    assert_eq!(campaigns.code(), 0);
    assert_eq!(again.code(), 40110);
}

#[tokio::test]
async fn the_app_and_each_advertiser_are_throttled_on_http_200_and_recover_next_second() {
    // Arrange
    let sandbox = start(SandboxConfig {
        now: Some(frozen_now()),
        tiktok_ads: TiktokAdsConfig {
            app_calls_per_second: 4,
            app_calls_per_minute: 600,
            advertiser_calls_per_second: 2,
        },
        ..SandboxConfig::default()
    })
    .await;
    let campaigns = |advertiser: &'static str| {
        let sandbox = &sandbox;
        async move {
            sandbox
                .tiktok(
                    "/campaign/get/",
                    Some(TOKEN),
                    &[("advertiser_id", advertiser.to_owned())],
                )
                .await
                .code()
        }
    };

    // Act
    let advertiser_codes = [
        campaigns("1").await,
        campaigns("1").await,
        campaigns("1").await,
    ];
    let app_codes = [
        campaigns("2").await,
        campaigns("3").await,
        campaigns("4").await,
    ];
    sandbox
        .sandbox
        .set_now(Some(frozen_now() + chrono::Duration::seconds(2)));
    let after = campaigns("1").await;

    // Assert
    assert_eq!(advertiser_codes, [0, 0, 40133]);
    assert_eq!(app_codes, [0, 0, 40100], "the refused call did not count");
    assert_eq!(after, 0);
    let statuses: Vec<u16> = sandbox
        .sandbox
        .requests()
        .iter()
        .map(|r| r.status)
        .collect();
    assert!(statuses.iter().all(|status| *status == 200));
}

#[tokio::test]
async fn the_per_minute_limit_answers_40100_naming_qpm() {
    let sandbox = start(SandboxConfig {
        now: Some(frozen_now()),
        tiktok_ads: TiktokAdsConfig {
            app_calls_per_second: 100,
            app_calls_per_minute: 2,
            advertiser_calls_per_second: 100,
        },
        ..SandboxConfig::default()
    })
    .await;
    let query = [("advertiser_id", "1".to_owned())];
    for _ in 0..2 {
        assert_eq!(
            sandbox.tiktok("/ad/get/", Some(TOKEN), &query).await.code(),
            0
        );
    }
    let refused = sandbox.tiktok("/ad/get/", Some(TOKEN), &query).await;
    assert_eq!(refused.code(), 40100);
    assert!(refused.body["message"].as_str().unwrap().contains("QPM"));
}

#[tokio::test]
async fn each_fault_kind_has_tiktoks_wire_shape() {
    let sandbox = start_generous().await;
    let cases = [
        (FaultKind::Throttle, 200, Some(40100)),
        (FaultKind::ServerError, 504, None),
        (FaultKind::ExpiredToken, 200, Some(40102)),
        (FaultKind::RevokedToken, 200, Some(40105)),
        (FaultKind::ReduceData, 200, Some(50000)),
    ];
    for (kind, status, code) in cases {
        sandbox
            .sandbox
            .add_fault(Fault::new(Connector::TiktokAds, kind).account(ADVERTISER));
        let reply = sandbox.report(ADVERTISER, &campaign_report(1, 10)).await;
        assert_eq!(reply.status, status, "{kind}");
        match code {
            Some(code) => assert_eq!(reply.code(), code, "{kind}"),
            None => assert!(reply.body.is_string(), "{kind}: not JSON"),
        }
    }
    // The revoked fault revoked the presented token for good.
    let after = sandbox.report(ADVERTISER, &campaign_report(1, 10)).await;
    assert_eq!(after.code(), 40105);
    let faults: Vec<_> = sandbox
        .sandbox
        .requests()
        .iter()
        .map(|record| record.fault)
        .collect();
    assert_eq!(faults.iter().flatten().count(), 5);
}

#[tokio::test]
async fn a_malformed_answer_breaks_spend_and_a_slow_one_still_answers() {
    let sandbox = start_generous().await;
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::TiktokAds, FaultKind::Malformed));
    sandbox.sandbox.add_fault(
        Fault::slow(Connector::TiktokAds, Duration::from_millis(300)).account(ADVERTISER),
    );
    let malformed = sandbox.report(ADVERTISER, &campaign_report(1, 10)).await;
    let started = std::time::Instant::now();
    let slow = sandbox.report(ADVERTISER, &campaign_report(1, 10)).await;
    assert_eq!(malformed.code(), 0);
    assert_eq!(malformed.list()[0]["metrics"]["spend"], "1,265.80");
    assert_eq!(slow.code(), 0);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn the_no_delivery_advertiser_answers_empty_pages() {
    let sandbox = start_generous().await;
    let reply = sandbox
        .report(NO_DELIVERY_ADVERTISER_ID, &campaign_report(1, 10))
        .await;
    assert_eq!(reply.code(), 0);
    assert!(reply.list().is_empty());
    assert_eq!(reply.body["data"]["page_info"]["total_page"], 0);
}

async fn first_metrics(sandbox: &TestSandbox, query: &[(&str, String)]) -> Value {
    sandbox.report(ADVERTISER, query).await.list()[0]["metrics"].clone()
}

#[tokio::test]
async fn conversions_keep_changing_for_a_week_after_the_day() {
    let sandbox = start_generous().await;
    let query = vec![
        ("report_type", "BASIC".to_owned()),
        ("data_level", "AUCTION_ADVERTISER".to_owned()),
        ("dimensions", r#"["stat_time_day"]"#.to_owned()),
        ("metrics", r#"["conversion","spend"]"#.to_owned()),
        ("start_date", "2025-06-28".to_owned()),
        ("end_date", "2025-06-28".to_owned()),
    ];
    let fresh = first_metrics(&sandbox, &query).await;
    sandbox
        .sandbox
        .set_now(Some(frozen_now() + chrono::Duration::days(2)));
    let later = first_metrics(&sandbox, &query).await;
    sandbox
        .sandbox
        .set_now(Some(frozen_now() + chrono::Duration::days(30)));
    let settled = first_metrics(&sandbox, &query).await;
    sandbox
        .sandbox
        .set_now(Some(frozen_now() + chrono::Duration::days(40)));
    let still = first_metrics(&sandbox, &query).await;
    let conversions = |metrics: &Value| {
        metrics["conversion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert!(conversions(&fresh) < conversions(&later));
    assert!(conversions(&later) < conversions(&settled));
    assert_eq!(settled, still);
    assert_eq!(fresh["spend"], settled["spend"], "only conversions move");
}

#[tokio::test]
async fn control_routes_show_facts_truth_and_usage() {
    let sandbox = start_generous().await;
    let facts = sandbox
        .get(
            &format!("/_sandbox/tiktok_ads/advertisers/{ADVERTISER}"),
            &[],
        )
        .await;
    assert_eq!(facts.status, 200);
    assert_eq!(facts.body["currency"], "AUD");
    let truth = sandbox
        .get(
            &format!("/_sandbox/tiktok_ads/advertisers/{ADVERTISER}/truth"),
            &[
                ("data_level", "AUCTION_AD".to_owned()),
                ("since", "2025-06-29".to_owned()),
                ("until", "2025-06-30".to_owned()),
                ("breakdowns", "platform".to_owned()),
            ],
        )
        .await;
    assert!(!truth.body.as_array().unwrap().is_empty());
    let reachable = sandbox.get("/_sandbox/tiktok_ads/reachable", &[]).await;
    assert_eq!(
        reachable.body.as_array().unwrap().len(),
        REACHABLE_ADVERTISER_IDS.len()
    );
    sandbox.report(ADVERTISER, &campaign_report(1, 10)).await;
    let usage = sandbox.get("/_sandbox/tiktok_ads/usage", &[]).await;
    assert_eq!(usage.body["app_calls_last_minute"], 1);
    let bad = sandbox
        .get("/_sandbox/tiktok_ads/advertisers/act_1", &[])
        .await;
    assert_eq!(bad.status, 404);
}
