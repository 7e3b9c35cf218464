//! Meta beyond the synchronous basics: conversions in `actions`/`action_values` and their
//! restatement, breakdowns and Meta's combinations, the row budget of synchronous requests,
//! asynchronous report runs, the entity edges, `/me/adaccounts`, malformed pages, the empty
//! account and the code exchange.

use std::collections::BTreeMap;

use sandbox::meta_ads::{
    self, Breakdown, EMPTY_ACCOUNT_ID, EntityKind, Level, MetaAdsConfig, RowsQuery, TimeIncrement,
};
use sandbox::{Connector, Fault, FaultKind, SandboxConfig};
use serde_json::Value;

use crate::{Reply, TestSandbox, date, frozen_now, start, start_frozen, time_range};

const TOKEN: &str = "test-token";

fn with_token(params: &[(&str, String)]) -> Vec<(String, String)> {
    let mut query = vec![("access_token".to_owned(), TOKEN.to_owned())];
    query.extend(params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    query
}

impl TestSandbox {
    async fn graph(&self, path: &str, params: &[(&str, String)]) -> Reply {
        let response = self
            .client
            .get(self.url(&format!("/meta_ads/v24.0{path}")))
            .query(&with_token(params))
            .send()
            .await
            .unwrap();
        crate::Reply::read(response).await
    }

    /// `POST /act_<account>/insights` with a form body, as Meta's SDKs send it.
    async fn create_run(&self, account: &str, params: &[(&str, String)]) -> Reply {
        let response = self
            .client
            .post(self.url(&format!("/meta_ads/v24.0/act_{account}/insights")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&with_token(params)))
            .send()
            .await
            .unwrap();
        crate::Reply::read(response).await
    }

    /// Every page of a Graph edge, following `paging.next`.
    async fn all_pages(&self, first: Reply) -> Vec<Value> {
        let mut reply = first;
        let mut rows = Vec::new();
        for _ in 0..1_000 {
            assert_eq!(reply.status, 200, "{}", reply.body);
            rows.extend(reply.rows());
            let Some(next) = reply.next() else {
                return rows;
            };
            reply = self.get_url(&next).await;
        }
        panic!("paging does not end");
    }
}

/// `application/x-www-form-urlencoded` text of `pairs`.
fn form_body(pairs: &[(String, String)]) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|byte| {
                if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                    char::from(byte).to_string()
                } else {
                    format!("%{byte:02X}")
                }
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn daily(level: &str, since: &str, until: &str) -> Vec<(&'static str, String)> {
    vec![
        ("level", level.to_owned()),
        ("time_increment", "1".to_owned()),
        ("time_range", time_range(since, until)),
        ("limit", "500".to_owned()),
    ]
}

/// Sums one numeric string field, or the `purchase` entry of an action list, over rows.
fn sum(rows: &[Value], field: &str) -> u64 {
    rows.iter()
        .map(|row| match &row[field] {
            Value::String(text) => text.parse::<u64>().unwrap(),
            Value::Array(list) => list
                .iter()
                .find(|action| action["action_type"] == "purchase")
                .map_or(0, |action| {
                    action["value"].as_str().unwrap().parse::<u64>().unwrap()
                }),
            Value::Null => 0,
            other => panic!("{field} is {other}"),
        })
        .sum()
}

#[tokio::test]
async fn actions_carry_purchases_as_strings_matching_the_truth() {
    let sandbox = start_frozen().await;
    let account = "4242";
    let mut params = daily("campaign", "2025-06-01", "2025-06-30");
    params.push((
        "fields",
        "campaign_id,spend,actions,action_values".to_owned(),
    ));
    let rows = sandbox
        .all_pages(sandbox.insights(account, &params).await)
        .await;
    let facts = meta_ads::account(account).unwrap();
    let today = sandbox.sandbox.today_for(&facts);
    let truth = meta_ads::insights_truth(
        account,
        Level::Campaign,
        date("2025-06-01"),
        date("2025-06-30"),
        today,
    );
    assert_eq!(rows.len(), truth.len());
    let mut seen_purchase = false;
    for (row, expected) in rows.iter().zip(&truth) {
        let purchases = row["actions"]
            .as_array()
            .and_then(|list| list.iter().find(|a| a["action_type"] == "purchase"));
        let pixel_values = row["action_values"].as_array().and_then(|list| {
            list.iter()
                .find(|a| a["action_type"] == "offsite_conversion.fb_pixel_purchase")
        });
        if expected.purchases == 0 {
            assert!(purchases.is_none() && pixel_values.is_none(), "{row}");
            continue;
        }
        seen_purchase = true;
        assert_eq!(purchases.unwrap()["value"], expected.purchases.to_string());
        assert_eq!(pixel_values.unwrap()["value"], expected.purchase_value);
    }
    assert!(seen_purchase);
}

#[tokio::test]
async fn conversions_of_recent_days_change_when_the_clock_moves_and_old_days_do_not() {
    let sandbox = start_frozen().await;
    let account = "4242";
    // The first campaign runs since long before May; recent campaigns start relative to today,
    // so only the first one's days are comparable across clocks.
    let old_campaign = meta_ads::account(account).unwrap().campaigns[0].id.clone();
    let mut params = daily("campaign", "2025-05-01", "2025-06-28");
    params.push(("fields", "campaign_id,impressions,spend,actions".to_owned()));
    let by_date = |rows: Vec<Value>| -> BTreeMap<String, (String, u64)> {
        rows.into_iter()
            .filter(|row| row["campaign_id"] == old_campaign.as_str())
            .map(|row| {
                let purchases = sum(std::slice::from_ref(&row), "actions");
                (
                    row["date_start"].as_str().unwrap().to_owned(),
                    (row["impressions"].as_str().unwrap().to_owned(), purchases),
                )
            })
            .collect()
    };
    let before = by_date(sandbox.insights(account, &params).await.rows());
    sandbox
        .sandbox
        .set_now(Some(frozen_now() + chrono::Duration::days(10)));
    let after = by_date(sandbox.insights(account, &params).await.rows());

    assert_eq!(before.len(), after.len());
    let mut grew = 0;
    for (day, (impressions, purchases)) in &before {
        let (later_impressions, later_purchases) = &after[day];
        assert_eq!(impressions, later_impressions, "delivery is never restated");
        // Days at least 28 days old on the first clock (2025-06-30) were final already.
        if day.as_str() <= "2025-06-02" {
            assert_eq!(purchases, later_purchases, "{day} is settled");
        } else {
            assert!(later_purchases >= purchases, "{day}");
            grew += usize::from(later_purchases > purchases);
        }
    }
    assert!(grew > 0, "recent conversions are restated");
}

#[tokio::test]
async fn breakdown_rows_carry_their_values_and_sum_to_the_unbroken_rows() {
    let sandbox = start_frozen().await;
    let account = "4242";
    let fields = (
        "fields",
        "campaign_id,impressions,clicks,spend,actions".to_owned(),
    );
    let mut plain = daily("campaign", "2025-06-20", "2025-06-30");
    plain.push(fields.clone());
    let unbroken = sandbox
        .all_pages(sandbox.insights(account, &plain).await)
        .await;
    for breakdowns in [
        "age",
        "gender",
        "age,gender",
        "country",
        "publisher_platform",
        "publisher_platform,platform_position",
    ] {
        let mut params = plain.clone();
        params.push(("breakdowns", breakdowns.to_owned()));
        let rows = sandbox
            .all_pages(sandbox.insights(account, &params).await)
            .await;
        assert!(rows.len() > unbroken.len(), "{breakdowns}");
        for row in &rows {
            for name in breakdowns.split(',') {
                assert!(row[name].is_string(), "{breakdowns}: {row}");
            }
        }
        let decimals = meta_ads::account(account).unwrap().currency.decimals();
        for field in ["impressions", "clicks", "spend", "actions"] {
            let total = |rows: &[Value]| -> u64 {
                if field == "spend" {
                    rows.iter()
                        .map(|row| crate::minor_units(row["spend"].as_str().unwrap(), decimals))
                        .sum()
                } else {
                    sum(rows, field)
                }
            };
            assert_eq!(total(&rows), total(&unbroken), "{breakdowns} {field}");
        }
    }
    let truth = meta_ads::insights_truth_for(
        account,
        &RowsQuery {
            level: Level::Account,
            breakdowns: vec![Breakdown::Age, Breakdown::Gender],
            since: date("2025-06-30"),
            until: date("2025-06-30"),
            today: date("2025-06-30"),
            increment: TimeIncrement::Daily,
        },
    );
    let mut params = daily("account", "2025-06-30", "2025-06-30");
    params.push(("breakdowns", "age,gender".to_owned()));
    let rows = sandbox.insights(account, &params).await.rows();
    let served: Vec<(String, String)> = rows
        .iter()
        .map(|row| {
            (
                row["age"].as_str().unwrap().to_owned(),
                row["gender"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = truth
        .iter()
        .map(|row| (row.age.clone().unwrap(), row.gender.clone().unwrap()))
        .collect();
    assert_eq!(served, expected);
}

#[tokio::test]
async fn breakdowns_meta_does_not_combine_are_refused_with_its_error() {
    let sandbox = start_frozen().await;
    for (breakdowns, message) in [
        (
            "age,country",
            "(#100) Current combination of data breakdown columns (age, country) is invalid",
        ),
        (
            "platform_position",
            "(#100) Current combination of data breakdown columns (platform_position) is invalid",
        ),
        (
            "gender,publisher_platform",
            "(#100) Current combination of data breakdown columns (gender, publisher_platform) is invalid",
        ),
    ] {
        let mut params = daily("campaign", "2025-06-01", "2025-06-02");
        params.push(("breakdowns", breakdowns.to_owned()));
        let reply = sandbox.insights("1", &params).await;
        assert_eq!(reply.status, 400);
        assert_eq!(reply.meta_error().0, 100);
        assert_eq!(reply.message(), message);
    }
    let mut params = daily("campaign", "2025-06-01", "2025-06-02");
    params.push(("breakdowns", "region".to_owned()));
    let reply = sandbox.insights("1", &params).await;
    assert!(
        reply
            .message()
            .starts_with("(#100) breakdowns[0] must be one of the following values:"),
        "{}",
        reply.message()
    );
}

#[tokio::test]
async fn a_sync_request_over_the_row_budget_must_ask_for_less_or_run_async() {
    let sandbox = start(SandboxConfig {
        now: Some(frozen_now()),
        meta_ads: MetaAdsConfig {
            max_sync_rows: 40,
            report_run_polls: 1,
            ..MetaAdsConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let account = "4242";
    let month = daily("ad", "2025-06-01", "2025-06-30");
    let refused = sandbox.insights(account, &month).await;
    assert_eq!(refused.status, 500);
    assert_eq!(refused.meta_error().0, 1);
    assert_eq!(
        refused.message(),
        "Please reduce the amount of data you're asking for, then retry your request"
    );
    let one_day = sandbox
        .insights(account, &daily("ad", "2025-06-30", "2025-06-30"))
        .await;
    assert_eq!(one_day.status, 200, "a smaller window fits");

    let run = sandbox.create_run(account, &month).await;
    let id = run.body["report_run_id"].as_str().unwrap().to_owned();
    assert_eq!(
        sandbox.graph(&format!("/{id}"), &[]).await.body["async_status"],
        "Job Completed"
    );
    let rows = sandbox
        .all_pages(
            sandbox
                .graph(&format!("/{id}/insights"), &[("limit", "25".to_owned())])
                .await,
        )
        .await;
    assert!(rows.len() > 40, "report runs have no row budget");
}

#[tokio::test]
async fn a_report_run_progresses_over_polls_and_pages_the_sync_rows() {
    let sandbox = start_frozen().await;
    let account = "4242";
    let mut params = daily("ad", "2025-06-01", "2025-06-30");
    params.push((
        "fields",
        "ad_id,impressions,spend,actions,action_values".to_owned(),
    ));
    params.push(("breakdowns", "country".to_owned()));

    let created = sandbox.create_run(account, &params).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let id = created.body["report_run_id"].as_str().unwrap().to_owned();
    assert!(id.parse::<u64>().is_ok());

    let early = sandbox.graph(&format!("/{id}/insights"), &[]).await;
    assert_eq!(early.status, 400, "no results before completion");

    let mut seen = Vec::new();
    for _ in 0..4 {
        let poll = sandbox.graph(&format!("/{id}"), &[]).await;
        assert_eq!(poll.status, 200);
        assert_eq!(poll.body["id"], id.as_str());
        assert_eq!(poll.body["account_id"], account);
        assert_eq!(poll.body["date_start"], "2025-06-01");
        assert!(poll.headers.contains_key("x-business-use-case-usage"));
        seen.push((
            poll.body["async_status"].as_str().unwrap().to_owned(),
            poll.body["async_percent_completion"].as_u64().unwrap(),
        ));
    }
    assert_eq!(
        seen,
        vec![
            ("Job Not Started".to_owned(), 0),
            ("Job Started".to_owned(), 33),
            ("Job Completed".to_owned(), 100),
            ("Job Completed".to_owned(), 100),
        ]
    );

    let async_rows = sandbox
        .all_pages(
            sandbox
                .graph(&format!("/{id}/insights"), &[("limit", "100".to_owned())])
                .await,
        )
        .await;
    let sync_rows = sandbox
        .all_pages(sandbox.insights(account, &params).await)
        .await;
    assert_eq!(async_rows, sync_rows);

    let records = sandbox.sandbox.requests_for(Connector::MetaAds);
    let routes: Vec<(&str, &str)> = records
        .iter()
        .take(3)
        .map(|r| (r.method.as_str(), r.route.as_deref().unwrap()))
        .collect();
    assert_eq!(
        routes,
        vec![
            ("POST", "/v{version}/act_{account_id}/insights"),
            ("GET", "/v{version}/{report_run_id}/insights"),
            ("GET", "/v{version}/{report_run_id}"),
        ]
    );
    assert!(
        records
            .iter()
            .all(|r| r.account_id.as_deref() == Some(account))
    );
}

#[tokio::test]
async fn faults_on_polls_fail_or_skip_the_run_and_unknown_runs_do_not_exist() {
    let sandbox = start_frozen().await;
    let account = "4242";
    let params = daily("campaign", "2025-06-01", "2025-06-30");
    let failing = sandbox.create_run(account, &params).await.body["report_run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::MetaAds, FaultKind::ServerError).account(account));
    let failed = sandbox
        .get(
            &format!("/meta_ads/v25.0/{failing}"),
            &[("access_token", TOKEN.to_owned())],
        )
        .await;
    assert_eq!(failed.status, 200);
    assert_eq!(failed.body["async_status"], "Job Failed");
    assert_eq!(failed.body["error_code"], -2);
    assert_eq!(failed.body["error_subcode"], 2_490_547);
    let still = sandbox.graph(&format!("/{failing}"), &[]).await;
    assert_eq!(still.body["async_status"], "Job Failed");
    assert!(
        still.body.get("error_code").is_none(),
        "v24 has no error fields"
    );

    let skipping = sandbox.create_run(account, &params).await.body["report_run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::MetaAds, FaultKind::ReduceData));
    let skipped = sandbox.graph(&format!("/{skipping}"), &[]).await;
    assert_eq!(skipped.body["async_status"], "Job Skipped");

    let unknown = sandbox.graph("/6100000000009999", &[]).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.meta_error().0, 100);
    assert_eq!(unknown.meta_error().1, Some(33));
}

#[tokio::test]
async fn entity_edges_page_the_accounts_objects_with_the_requested_fields() {
    let sandbox = start_frozen().await;
    let account = "4242";
    let facts = meta_ads::account(account).unwrap();
    let today = sandbox.sandbox.today_for(&facts);
    for (kind, fields) in [
        (
            EntityKind::Campaign,
            "id,name,status,effective_status,objective,daily_budget,lifetime_budget",
        ),
        (
            EntityKind::AdSet,
            "id,name,campaign_id,status,daily_budget,lifetime_budget",
        ),
        (
            EntityKind::Ad,
            "id,name,campaign_id,adset_id,status,creative{id,name}",
        ),
    ] {
        let first = sandbox
            .graph(
                &format!("/act_{account}/{}", kind.edge()),
                &[("fields", fields.to_owned()), ("limit", "2".to_owned())],
            )
            .await;
        assert!(first.headers.contains_key("x-business-use-case-usage"));
        assert_eq!(
            first.json_header("x-business-use-case-usage")[account][0]["type"],
            "ads_management"
        );
        let rows = sandbox.all_pages(first).await;
        let truth = meta_ads::entities_truth(account, kind, today);
        assert_eq!(rows.len(), truth.len(), "{kind:?}");
        for (row, expected) in rows.iter().zip(&truth) {
            assert_eq!(row["id"], expected.id.as_str());
            assert_eq!(row["name"], expected.name.as_str());
            assert_eq!(row["status"], expected.status.as_str());
            let budget = |value: Option<u64>| value.map(|v| Value::String(v.to_string()));
            if kind != EntityKind::Ad {
                assert_eq!(
                    row.get("daily_budget").cloned(),
                    budget(expected.daily_budget)
                );
                assert_eq!(
                    row.get("lifetime_budget").cloned(),
                    budget(expected.lifetime_budget)
                );
            }
            if kind == EntityKind::Ad {
                assert_eq!(
                    row["creative"]["id"],
                    expected.creative_id.clone().unwrap().as_str()
                );
                assert_eq!(
                    row["creative"]["name"],
                    expected.creative_name.clone().unwrap().as_str()
                );
                assert_eq!(row["adset_id"], expected.adset_id.clone().unwrap().as_str());
            }
        }
    }
    let bad = sandbox
        .graph(
            &format!("/act_{account}/campaigns"),
            &[("fields", "id,spend".to_owned())],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.message(),
        "(#100) Tried accessing nonexisting field (spend) on node type (AdCampaignGroup)"
    );
    let default = sandbox
        .graph(&format!("/act_{account}/campaigns"), &[])
        .await;
    assert_eq!(
        default.rows()[0]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["id"]
    );
}

#[tokio::test]
async fn entity_edges_have_a_budget_of_their_own_and_throttle_with_80004() {
    let sandbox = start(SandboxConfig {
        now: Some(frozen_now()),
        meta_ads: MetaAdsConfig {
            calls_per_hour_per_account: 1,
            ..MetaAdsConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    assert_eq!(sandbox.graph("/act_77/campaigns", &[]).await.status, 200);
    let refused = sandbox.graph("/act_77/campaigns", &[]).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.meta_error(),
        (80004, Some(2446079), "OAuthException".to_owned())
    );
    let regain = refused.json_header("x-business-use-case-usage")["77"][0]
        ["estimated_time_to_regain_access"]
        .as_i64()
        .unwrap();
    assert_eq!(regain, 60);
    assert_eq!(
        sandbox
            .insights("77", &daily("account", "2025-06-01", "2025-06-01"))
            .await
            .status,
        200,
        "insights count against ads_insights"
    );
}

#[tokio::test]
async fn me_adaccounts_pages_the_configured_accounts() {
    let sandbox = start_frozen().await;
    let first = sandbox
        .graph(
            "/me/adaccounts",
            &[
                (
                    "fields",
                    "account_id,name,currency,timezone_name".to_owned(),
                ),
                ("limit", "3".to_owned()),
            ],
        )
        .await;
    assert_eq!(first.rows().len(), 3);
    assert!(first.next().is_some());
    let rows = sandbox.all_pages(first).await;
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, meta_ads::REACHABLE_ACCOUNT_IDS);
    assert_eq!(ids.last(), Some(&EMPTY_ACCOUNT_ID));
    for row in &rows {
        let facts = meta_ads::account(row["account_id"].as_str().unwrap()).unwrap();
        assert_eq!(row["currency"], facts.currency.code());
        assert_eq!(row["timezone_name"], facts.time_zone.name());
        assert_eq!(row["id"], format!("act_{}", facts.id));
    }
}

#[tokio::test]
async fn a_malformed_fault_breaks_one_named_field_of_a_200_page() {
    let sandbox = start_frozen().await;
    let mut params = daily("campaign", "2025-06-01", "2025-06-30");
    params.push(("fields", "campaign_id,impressions,spend".to_owned()));
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::MetaAds, FaultKind::Malformed));
    let broken = sandbox.insights("4242", &params).await;
    assert_eq!(broken.status, 200);
    assert_eq!(broken.rows()[0]["spend"], "12,34x");
    assert!(
        broken.rows()[1]["spend"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .is_ok()
    );
    let records = sandbox.sandbox.requests();
    assert_eq!(records.last().unwrap().fault, Some(FaultKind::Malformed));

    // On a report run's creation, the fault breaks the first page of its results.
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::MetaAds, FaultKind::Malformed));
    let created = sandbox.create_run("4242", &params).await;
    let id = created.body["report_run_id"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        sandbox.graph(&format!("/{id}"), &[]).await;
    }
    let first_page = sandbox.graph(&format!("/{id}/insights"), &[]).await;
    assert_eq!(first_page.rows()[0]["spend"], "12,34x");
    let second_page = sandbox
        .graph(
            &format!("/{id}/insights"),
            &[("after", first_page.after_cursor().unwrap())],
        )
        .await;
    assert_ne!(second_page.rows()[0]["spend"], "12,34x");

    let facts = meta_ads::account("4242").unwrap();
    let budgeted = meta_ads::entities_truth("4242", EntityKind::Campaign, date("2025-06-30"))
        .into_iter()
        .position(|row| row.daily_budget.is_some() || row.lifetime_budget.is_some())
        .unwrap();
    assert!(facts.campaigns.len() > budgeted);
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::MetaAds, FaultKind::Malformed));
    let entities = sandbox
        .graph(
            "/act_4242/campaigns",
            &[("fields", "id,daily_budget,lifetime_budget".to_owned())],
        )
        .await;
    let first = &entities.rows()[0];
    let broken_budget = ["daily_budget", "lifetime_budget"]
        .iter()
        .any(|field| first[field] == "12,34x");
    assert!(broken_budget || first.get("id").is_none(), "{first}");
}

#[tokio::test]
async fn the_empty_account_has_no_campaigns_and_no_rows() {
    let sandbox = start_frozen().await;
    let insights = sandbox
        .insights(EMPTY_ACCOUNT_ID, &daily("ad", "2025-06-01", "2025-06-30"))
        .await;
    assert_eq!(insights.status, 200);
    assert_eq!(insights.body, serde_json::json!({"data": []}));
    for edge in ["campaigns", "adsets", "ads"] {
        let reply = sandbox
            .graph(&format!("/act_{EMPTY_ACCOUNT_ID}/{edge}"), &[])
            .await;
        assert_eq!(reply.body, serde_json::json!({"data": []}));
    }
}

#[tokio::test]
async fn a_login_code_is_exchanged_once_for_a_short_lived_token() {
    let sandbox = start_frozen().await;
    let exchange = || async {
        let params = [
            ("client_id", "app".to_owned()),
            ("client_secret", "secret".to_owned()),
            ("redirect_uri", "https://example.test/callback".to_owned()),
            ("code", "login-code-1".to_owned()),
        ];
        sandbox
            .get("/meta_ads/v24.0/oauth/access_token", &params)
            .await
    };
    let first = exchange().await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["token_type"], "bearer");
    assert_eq!(first.body["expires_in"], 7200);
    let token = first.body["access_token"].as_str().unwrap().to_owned();
    let insights = sandbox
        .get("/meta_ads/v24.0/act_1/insights", &[("access_token", token)])
        .await;
    assert_eq!(insights.status, 200);
    let again = exchange().await;
    assert_eq!(again.status, 400);
    assert_eq!(again.meta_error().1, Some(36009));
}
