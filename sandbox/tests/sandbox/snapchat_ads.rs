//! Snapchat Marketing API over HTTP: organizations, entity lists and their `next_link` paging,
//! DAY and TOTAL stats (breakdowns, countries, local midnights across DST, the exact refusals),
//! restatement and attribution windows, tokens and the token endpoint, the per-token and
//! per-app rate limits with their bare 429, and every fault kind's wire shape.

use std::time::{Duration, Instant};

use sandbox::snapchat_ads::{
    self, Attribution, KNOWN_ACCOUNTS, LARGE_ACCOUNT_ID, Level, SnapchatAdsConfig, TruthRow,
};
use sandbox::{Connector, Fault, FaultKind, SandboxConfig};
use serde_json::Value;

use crate::{Reply, TestSandbox, date, frozen_now, start, start_frozen};

const TOKEN: &str = "test-token";

/// The Los Angeles account (USD, with DST).
fn la() -> &'static str {
    KNOWN_ACCOUNTS[0].0
}

impl TestSandbox {
    /// `GET /snapchat_ads{path}` with a bearer token.
    async fn snap(&self, path: &str, query: &[(&str, &str)], token: &str) -> Reply {
        let response = self
            .client
            .get(self.url(&format!("/snapchat_ads{path}")))
            .query(query)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        Reply::read(response).await
    }

    async fn snap_url(&self, url: &str) -> Reply {
        let response = self
            .client
            .get(url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        Reply::read(response).await
    }

    /// `POST /snapchat_ads/login/oauth2/access_token` with a form body.
    async fn token_endpoint(&self, form: &[(&str, &str)]) -> Reply {
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", v.replace('+', "%2B")))
            .collect::<Vec<_>>()
            .join("&");
        let response = self
            .client
            .post(self.url("/snapchat_ads/login/oauth2/access_token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        Reply::read(response).await
    }

    async fn day_stats(&self, account: &str, query: &[(&str, &str)]) -> Reply {
        let mut all = vec![("granularity", "DAY")];
        all.extend_from_slice(query);
        self.snap(&format!("/v1/adaccounts/{account}/stats"), &all, TOKEN)
            .await
    }
}

fn error_message(reply: &Reply) -> String {
    assert_eq!(reply.body["request_status"], "ERROR", "{}", reply.body);
    assert!(
        reply.body["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    reply.body["debug_message"].as_str().unwrap().to_owned()
}

fn stat(reply: &Reply) -> &Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["request_status"], "SUCCESS");
    let item = &reply.body["timeseries_stats"][0];
    assert_eq!(item["sub_request_status"], "SUCCESS");
    &item["timeseries_stat"]
}

fn number(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("{value} is not a JSON number"))
}

#[tokio::test]
async fn organizations_list_the_readable_ad_accounts_with_time_zone_and_currency() {
    // Arrange
    let sandbox = start_frozen().await;

    // Act
    let with = sandbox
        .snap(
            "/v1/me/organizations",
            &[("with_ad_accounts", "true")],
            TOKEN,
        )
        .await;
    let without = sandbox.snap("/v1/me/organizations", &[], TOKEN).await;

    // Assert
    assert_eq!(with.status, 200);
    let organizations = with.body["organizations"].as_array().unwrap();
    assert_eq!(organizations.len(), snapchat_ads::ORGANIZATIONS.len());
    let accounts: Vec<&Value> = organizations
        .iter()
        .inspect(|item| assert_eq!(item["sub_request_status"], "SUCCESS"))
        .flat_map(|item| item["organization"]["ad_accounts"].as_array().unwrap())
        .collect();
    let ids: Vec<&str> = accounts.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&la()) && ids.contains(&LARGE_ACCOUNT_ID));
    assert!(!ids.contains(&snapchat_ads::FORBIDDEN_ACCOUNT_ID));
    let tokyo = accounts
        .iter()
        .find(|a| a["currency"] == "JPY")
        .expect("a yen account");
    assert_eq!(tokyo["timezone"], "Asia/Tokyo");
    assert!(
        without.body["organizations"][0]["organization"]
            .get("ad_accounts")
            .is_none()
    );
}

#[tokio::test]
async fn entity_lists_page_with_absolute_next_links_until_the_last_page() {
    // Arrange
    let sandbox = start_frozen().await;
    let path = format!("/v1/adaccounts/{LARGE_ACCOUNT_ID}/campaigns");

    // Act
    let first = sandbox.snap(&path, &[("limit", "50")], TOKEN).await;
    let next = first.body["paging"]["next_link"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = sandbox.snap_url(&next).await;
    let all = sandbox.snap(&path, &[], TOKEN).await;

    // Assert
    assert_eq!(first.status, 200);
    let wrapped = first.body["campaigns"].as_array().unwrap();
    assert_eq!(wrapped.len(), 50);
    assert_eq!(wrapped[0]["sub_request_status"], "SUCCESS");
    assert!(wrapped[0]["campaign"]["name"].as_str().is_some());
    assert!(
        next.starts_with(&sandbox.base) && next.contains("cursor=") && next.contains("limit=50")
    );
    assert_eq!(second.body["campaigns"].as_array().unwrap().len(), 5);
    assert!(second.body["paging"].get("next_link").is_none());
    let ids = |reply: &Reply| -> Vec<String> {
        reply.body["campaigns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["campaign"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut paged = ids(&first);
    paged.extend(ids(&second));
    assert_eq!(paged, ids(&all), "without limit everything comes at once");
    let facts = snapchat_ads::account(LARGE_ACCOUNT_ID).unwrap();
    let expected: Vec<String> = facts.campaigns.iter().map(|c| c.id.clone()).collect();
    assert_eq!(paged, expected);
}

#[tokio::test]
async fn entity_lists_refuse_limits_outside_50_to_1000_and_foreign_cursors() {
    let sandbox = start_frozen().await;
    let path = format!("/v1/adaccounts/{LARGE_ACCOUNT_ID}/ads");
    for limit in ["49", "1001", "many"] {
        let reply = sandbox.snap(&path, &[("limit", limit)], TOKEN).await;
        assert_eq!(reply.status, 400, "limit {limit}");
        assert!(error_message(&reply).contains("between 50 and 1000"));
    }
    let first = sandbox.snap(&path, &[("limit", "50")], TOKEN).await;
    let link = first.body["paging"]["next_link"].as_str().unwrap();
    let cursor = link
        .split("cursor=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let elsewhere = sandbox
        .snap(
            &format!("/v1/adaccounts/{LARGE_ACCOUNT_ID}/campaigns"),
            &[("limit", "50"), ("cursor", cursor)],
            TOKEN,
        )
        .await;
    assert_eq!(elsewhere.status, 400);
}

#[tokio::test]
async fn ads_carry_their_squad_and_creative_and_creatives_are_listed() {
    let sandbox = start_frozen().await;
    let ads = sandbox
        .snap(&format!("/v1/adaccounts/{}/ads", la()), &[], TOKEN)
        .await;
    let creatives = sandbox
        .snap(&format!("/v1/adaccounts/{}/creatives", la()), &[], TOKEN)
        .await;
    let squads = sandbox
        .snap(&format!("/v1/adaccounts/{}/adsquads", la()), &[], TOKEN)
        .await;
    let facts = snapchat_ads::account(la()).unwrap();
    let first_ad = &facts.campaigns[0].adsquads[0].ads[0];
    let ad = &ads.body["ads"][0]["ad"];
    assert_eq!(ad["id"], first_ad.id.as_str());
    assert_eq!(
        ad["ad_squad_id"],
        facts.campaigns[0].adsquads[0].id.as_str()
    );
    assert_eq!(ad["creative_id"], first_ad.creative.id.as_str());
    assert_eq!(
        creatives.body["creatives"][0]["creative"]["name"],
        first_ad.creative.name.as_str()
    );
    let squad = &squads.body["adsquads"][0]["adsquad"];
    assert_eq!(squad["campaign_id"], facts.campaigns[0].id.as_str());
    let budget = squad
        .get("daily_budget_micro")
        .or(squad.get("lifetime_budget_micro"))
        .unwrap();
    assert!(
        number(budget).is_multiple_of(1_000_000),
        "budgets are micro-currency"
    );
}

#[tokio::test]
async fn day_stats_by_campaign_match_the_truth_with_micro_currency_numbers() {
    // Arrange
    let sandbox = start_frozen().await;
    let fields = "impressions,swipes,spend,conversion_purchases,conversion_purchases_value";

    // Act
    let reply = sandbox
        .day_stats(
            la(),
            &[
                ("fields", fields),
                ("breakdown", "campaign"),
                ("start_time", "2025-06-01T00:00:00.000-07:00"),
                ("end_time", "2025-06-08T00:00:00.000-07:00"),
                ("omit_empty", "true"),
            ],
        )
        .await;

    // Assert
    let stat = stat(&reply);
    assert_eq!(stat["type"], "AD_ACCOUNT");
    assert_eq!(stat["granularity"], "DAY");
    assert!(stat.get("timeseries").is_none());
    let mut served: Vec<TruthRow> = Vec::new();
    for child in stat["breakdown_stats"]["campaign"].as_array().unwrap() {
        assert_eq!(child["type"], "CAMPAIGN");
        for point in child["timeseries"].as_array().unwrap() {
            let start = point["start_time"].as_str().unwrap();
            assert!(start.ends_with("T00:00:00.000-07:00"), "{start}");
            let stats = &point["stats"];
            served.push(TruthRow {
                date: start[..10].parse().unwrap(),
                campaign_id: child["id"].as_str().map(str::to_owned),
                campaign_name: None,
                adsquad_id: None,
                adsquad_name: None,
                ad_id: None,
                ad_name: None,
                country: None,
                metrics: snapchat_ads::Metrics {
                    impressions: number(&stats["impressions"]),
                    swipes: number(&stats["swipes"]),
                    spend_micro: number(&stats["spend"]),
                    conversion_purchases: number(&stats["conversion_purchases"]),
                    conversion_purchases_value_micro: number(&stats["conversion_purchases_value"]),
                },
            });
        }
    }
    let today = sandbox
        .sandbox
        .today_for(&snapchat_ads::account(la()).unwrap());
    let truth = snapchat_ads::stats_truth(
        la(),
        Level::Campaign,
        date("2025-06-01"),
        date("2025-06-07"),
        today,
        Attribution::default(),
        false,
    );
    let key = |row: &TruthRow| (row.campaign_id.clone(), row.date, row.metrics);
    let mut served: Vec<_> = served.iter().map(key).collect();
    let mut truth: Vec<_> = truth.iter().map(key).collect();
    served.sort();
    truth.sort();
    assert!(!truth.is_empty());
    assert_eq!(served, truth);
}

#[tokio::test]
async fn without_omit_empty_every_day_up_to_today_is_listed_with_zeros() {
    let sandbox = start_frozen().await;
    let no_delivery = snapchat_ads::NO_DELIVERY_ACCOUNT_ID;
    let reply = sandbox
        .day_stats(
            no_delivery,
            &[
                ("fields", "spend"),
                ("start_time", "2025-06-25T00:00:00-04:00"),
                ("end_time", "2025-07-05T00:00:00-04:00"),
            ],
        )
        .await;
    let points = stat(&reply)["timeseries"].as_array().unwrap().clone();
    assert_eq!(points.len(), 6, "June 25 to June 30 (today), nothing later");
    assert!(points.iter().all(|point| point["stats"]["spend"] == 0));
    let omitted = sandbox
        .day_stats(
            no_delivery,
            &[
                ("fields", "spend"),
                ("omit_empty", "true"),
                ("start_time", "2025-06-25T00:00:00-04:00"),
                ("end_time", "2025-07-05T00:00:00-04:00"),
            ],
        )
        .await;
    assert!(stat(&omitted)["timeseries"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn days_across_a_dst_change_carry_their_own_offsets() {
    let sandbox = start_frozen().await;
    let reply = sandbox
        .day_stats(
            la(),
            &[
                ("fields", "spend"),
                ("start_time", "2025-03-08T00:00:00-08:00"),
                ("end_time", "2025-03-11T00:00:00-07:00"),
            ],
        )
        .await;
    let times: Vec<(String, String)> = stat(&reply)["timeseries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| {
            (
                point["start_time"].as_str().unwrap().to_owned(),
                point["end_time"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        times,
        [
            (
                "2025-03-08T00:00:00.000-08:00",
                "2025-03-09T00:00:00.000-08:00"
            ),
            (
                "2025-03-09T00:00:00.000-08:00",
                "2025-03-10T00:00:00.000-07:00"
            ),
            (
                "2025-03-10T00:00:00.000-07:00",
                "2025-03-11T00:00:00.000-07:00"
            ),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
}

#[tokio::test]
async fn misaligned_and_unsupported_queries_are_refused_with_snapchats_messages() {
    let sandbox = start_frozen().await;
    let day = |start: &'static str, end: &'static str, fields: &'static str| {
        vec![("fields", fields), ("start_time", start), ("end_time", end)]
    };
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            day("2025-06-01T00:00:00Z", "2025-06-02T00:00:00-07:00", "spend"),
            "Unsupported Stats Query: Timeseries queries with DAY granularity must have a start time that is the start of day (00:00:00) for the account's timezone. This account's timezone is: America/Los_Angeles",
        ),
        (
            day(
                "2025-06-01T00:00:00-07:00",
                "2025-06-02T05:00:00-07:00",
                "spend",
            ),
            "Unsupported Stats Query: Timeseries queries with DAY granularity must have an end time that is the start of day (00:00:00) for the account's timezone. This account's timezone is: America/Los_Angeles",
        ),
        (
            day(
                "2025-06-01T00:00:00-07:00",
                "2025-06-02T00:00:00-07:00",
                "spend,impressions",
            ),
            "only the spend field",
        ),
        (
            day(
                "2025-05-01T00:00:00-07:00",
                "2025-06-02T00:00:00-07:00",
                "spend",
            ),
            "at most 31 days",
        ),
        (
            day(
                "2025-06-01T00:00:00-07:00",
                "2025-06-02T00:00:00-07:00",
                "reach",
            ),
            "Invalid stats field: reach",
        ),
        (
            day("2025-06-01", "2025-06-02", "spend"),
            "Invalid start_time",
        ),
    ];
    for (query, message) in cases {
        let reply = sandbox.day_stats(la(), &query).await;
        assert_eq!(reply.status, 400, "{query:?}: {}", reply.body);
        let debug = error_message(&reply);
        assert!(debug.contains(message), "{query:?}: {debug}");
    }
}

#[tokio::test]
async fn country_stats_split_each_day_and_add_up_to_the_total() {
    let sandbox = start_frozen().await;
    let query = |dimension: bool| {
        let mut query = vec![
            ("fields", "impressions,spend"),
            ("breakdown", "ad"),
            ("omit_empty", "true"),
            ("start_time", "2025-06-10T00:00:00-07:00"),
            ("end_time", "2025-06-12T00:00:00-07:00"),
        ];
        if dimension {
            query.push(("report_dimension", "COUNTRY"));
        }
        query
    };
    let total = sandbox.day_stats(la(), &query(false)).await;
    let countries = sandbox.day_stats(la(), &query(true)).await;
    let sum = |reply: &Reply, dimension: bool| -> (u64, u64) {
        let mut sum = (0, 0);
        for child in stat(reply)["breakdown_stats"]["ad"].as_array().unwrap() {
            for point in child["timeseries"].as_array().unwrap() {
                let parts = if dimension {
                    point["dimension_stats"].as_array().unwrap().clone()
                } else {
                    vec![point["stats"].clone()]
                };
                for part in parts {
                    if dimension {
                        let country = part["country"].as_str().unwrap();
                        assert_eq!(country, country.to_lowercase());
                    }
                    sum.0 += number(&part["impressions"]);
                    sum.1 += number(&part["spend"]);
                }
            }
        }
        sum
    };
    assert!(sum(&total, false).0 > 0);
    assert_eq!(sum(&total, false), sum(&countries, true));
}

#[tokio::test]
async fn entity_stats_and_total_granularity_agree_with_the_daily_series() {
    let sandbox = start_frozen().await;
    let facts = snapchat_ads::account(la()).unwrap();
    let campaign = &facts.campaigns[0].id;
    let window = [
        ("start_time", "2025-06-01T00:00:00-07:00"),
        ("end_time", "2025-06-15T00:00:00-07:00"),
        ("fields", "impressions,spend"),
    ];
    let mut day = window.to_vec();
    day.push(("granularity", "DAY"));
    let mut total = window.to_vec();
    total.push(("granularity", "TOTAL"));
    let path = format!("/v1/campaigns/{campaign}/stats");

    let daily = sandbox.snap(&path, &day, TOKEN).await;
    let summed = sandbox.snap(&path, &total, TOKEN).await;

    let daily_spend: u64 = stat(&daily)["timeseries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| number(&point["stats"]["spend"]))
        .sum();
    assert_eq!(summed.status, 200, "{}", summed.body);
    let total_stat = &summed.body["total_stats"][0]["total_stat"];
    assert_eq!(total_stat["granularity"], "TOTAL");
    assert_eq!(total_stat["type"], "CAMPAIGN");
    assert_eq!(number(&total_stat["stats"]["spend"]), daily_spend);
    let squads = sandbox
        .snap(
            &path,
            &[day.as_slice(), &[("breakdown", "adsquad")]].concat(),
            TOKEN,
        )
        .await;
    assert_eq!(
        stat(&squads)["breakdown_stats"]["adsquad"]
            .as_array()
            .unwrap()
            .len(),
        facts.campaigns[0].adsquads.len()
    );
    let refused = sandbox
        .snap(
            &path,
            &[day.as_slice(), &[("breakdown", "campaign")]].concat(),
            TOKEN,
        )
        .await;
    assert_eq!(refused.status, 400);
    let unknown = sandbox
        .snap(
            "/v1/campaigns/0a1b2c3d-0000-4000-8000-00000000dead/stats",
            &day,
            TOKEN,
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["request_status"], "ERROR");
}

#[tokio::test]
async fn purchases_are_restated_as_the_clock_moves_and_follow_the_attribution_windows() {
    // Arrange
    let sandbox = start_frozen().await;
    let query = |windows: &[(&'static str, &'static str)]| {
        let mut query = vec![
            (
                "fields",
                "conversion_purchases,conversion_purchases_value,impressions",
            ),
            ("breakdown", "campaign"),
            ("start_time", "2025-06-20T00:00:00-07:00"),
            ("end_time", "2025-06-30T00:00:00-07:00"),
        ];
        query.extend_from_slice(windows);
        query
    };
    let totals = |reply: &Reply| -> (u64, u64, u64) {
        let mut totals = (0, 0, 0);
        for child in stat(reply)["breakdown_stats"]["campaign"]
            .as_array()
            .unwrap()
        {
            for point in child["timeseries"].as_array().unwrap() {
                totals.0 += number(&point["stats"]["conversion_purchases"]);
                totals.1 += number(&point["stats"]["conversion_purchases_value"]);
                totals.2 += number(&point["stats"]["impressions"]);
            }
        }
        totals
    };

    // Act
    let before = totals(&sandbox.day_stats(la(), &query(&[])).await);
    let narrow = totals(
        &sandbox
            .day_stats(
                la(),
                &query(&[
                    ("swipe_up_attribution_window", "1_DAY"),
                    ("view_attribution_window", "1_HOUR"),
                ]),
            )
            .await,
    );
    sandbox
        .sandbox
        .set_now(Some(frozen_now() + chrono::Duration::days(3)));
    let later = totals(&sandbox.day_stats(la(), &query(&[])).await);

    // Assert
    assert!(
        later.0 > before.0 && later.1 > before.1,
        "{before:?} → {later:?}"
    );
    assert_eq!(later.2, before.2, "delivery does not restate");
    assert!(
        narrow.0 < before.0,
        "narrower windows count fewer purchases"
    );
    let bad = sandbox
        .day_stats(la(), &query(&[("view_attribution_window", "2_DAY")]))
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn token_problems_are_401_with_www_authenticate_and_forbidden_accounts_403() {
    // Arrange
    let sandbox = start_frozen().await;
    let issued = sandbox.sandbox.issue_tokens(
        Connector::SnapchatAds,
        Some(Duration::from_secs(1800)),
        true,
    );
    let path = format!("/v1/adaccounts/{}/campaigns", la());

    // Act
    let valid = sandbox.snap(&path, &[], &issued.access_token).await;
    sandbox
        .sandbox
        .set_now(Some(frozen_now() + chrono::Duration::minutes(30)));
    let expired = sandbox.snap(&path, &[], &issued.access_token).await;
    let missing = Reply::read(
        sandbox
            .client
            .get(sandbox.url(&format!("/snapchat_ads{path}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let forbidden = sandbox
        .snap(
            &format!(
                "/v1/adaccounts/{}/campaigns",
                snapchat_ads::FORBIDDEN_ACCOUNT_ID
            ),
            &[],
            TOKEN,
        )
        .await;
    let not_a_uuid = sandbox
        .snap("/v1/adaccounts/12345/campaigns", &[], TOKEN)
        .await;

    // Assert
    assert_eq!(valid.status, 200);
    assert_eq!(expired.status, 401);
    assert_eq!(error_message(&expired), "Expired access token");
    let challenge = expired.headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""));
    assert_eq!(missing.status, 401);
    assert_eq!(forbidden.status, 403);
    assert!(error_message(&forbidden).starts_with("None of the requested actions [READ_CAMPAIGN]"));
    assert_eq!(not_a_uuid.status, 400);
}

#[tokio::test]
async fn the_token_endpoint_refreshes_reuses_refresh_tokens_and_refuses_revoked_grants() {
    // Arrange
    let sandbox = start_frozen().await;
    let issued = sandbox.sandbox.issue_tokens(
        Connector::SnapchatAds,
        Some(Duration::from_secs(1800)),
        true,
    );
    let refresh = issued.refresh_token.clone().unwrap();
    let grant = [
        ("grant_type", "refresh_token"),
        ("client_id", "sandbox-client"),
        ("client_secret", "sandbox-secret"),
        ("refresh_token", refresh.as_str()),
    ];

    // Act
    let first = sandbox.token_endpoint(&grant).await;
    let second = sandbox.token_endpoint(&grant).await;
    sandbox
        .sandbox
        .revoke_token(Connector::SnapchatAds, &issued.access_token);
    let revoked = sandbox.token_endpoint(&grant).await;

    // Assert
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["token_type"], "Bearer");
    assert_eq!(first.body["expires_in"], 1800);
    assert_eq!(first.body["refresh_token"], refresh.as_str());
    assert_eq!(first.body["scope"], "snapchat-marketing-api");
    assert_eq!(second.status, 200, "the refresh token is reusable");
    assert_ne!(first.body["access_token"], second.body["access_token"]);
    assert_eq!(revoked.status, 400);
    assert_eq!(revoked.body["error"], "invalid_grant");
}

#[tokio::test]
async fn authorization_codes_work_once_and_clients_must_identify() {
    let sandbox = start_frozen().await;
    let code = [
        ("grant_type", "authorization_code"),
        ("code", "abc"),
        ("redirect_uri", "https://adsync.example/callback"),
        ("client_id", "sandbox-client"),
        ("client_secret", "sandbox-secret"),
    ];
    let first = sandbox.token_endpoint(&code).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let token = first.body["access_token"].as_str().unwrap();
    let listed = sandbox.snap("/v1/me/organizations", &[], token).await;
    assert_eq!(listed.status, 200);
    let again = sandbox.token_endpoint(&code).await;
    assert_eq!(
        (again.status, again.body["error"].clone()),
        (400, "invalid_grant".into())
    );
    let anonymous = sandbox
        .token_endpoint(&[("grant_type", "authorization_code"), ("code", "xyz")])
        .await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.body["error"], "invalid_client");
    let password = sandbox
        .token_endpoint(&[
            ("grant_type", "password"),
            ("client_id", "c"),
            ("client_secret", "s"),
        ])
        .await;
    assert_eq!(password.body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn the_token_endpoint_throttles_and_fails_when_faults_say_so() {
    let sandbox = start_frozen().await;
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::SnapchatAds, FaultKind::Throttle));
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::SnapchatAds, FaultKind::ServerError));
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", "r"),
        ("client_id", "c"),
        ("client_secret", "s"),
    ];
    let statuses = [
        sandbox.token_endpoint(&form).await.status,
        sandbox.token_endpoint(&form).await.status,
        sandbox.token_endpoint(&form).await.status,
    ];
    assert_eq!(statuses, [429, 500, 200]);
    let log = sandbox.sandbox.requests_for(Connector::SnapchatAds);
    assert!(
        log.iter()
            .all(|r| r.route.as_deref() == Some("/login/oauth2/access_token"))
    );
    assert!(log.iter().all(|r| r.query.is_empty()));
}

fn limited(per_token: u32, per_app: u32) -> SandboxConfig {
    SandboxConfig {
        now: Some(frozen_now()),
        snapchat_ads: SnapchatAdsConfig {
            calls_per_second_per_token: per_token,
            calls_per_second_per_app: per_app,
            // A wide window, so the test does not depend on how fast requests go.
            rate_window: Duration::from_secs(60),
            ..SnapchatAdsConfig::default()
        },
        ..SandboxConfig::default()
    }
}

#[tokio::test]
async fn the_per_token_limit_answers_a_bare_429_and_frees_when_the_window_moves_on() {
    // Arrange
    let sandbox = start(limited(3, 100)).await;
    let path = format!("/v1/adaccounts/{}", la());

    // Act
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(sandbox.snap(&path, &[], "token-a").await);
    }
    let other_token = sandbox.snap(&path, &[], "token-b").await;
    sandbox
        .sandbox
        .set_now(Some(frozen_now() + chrono::Duration::seconds(61)));
    let later = sandbox.snap(&path, &[], "token-a").await;

    // Assert
    let codes: Vec<u16> = statuses.iter().map(|reply| reply.status).collect();
    assert_eq!(codes, [200, 200, 200, 429]);
    let throttled = &statuses[3];
    assert!(throttled.headers.get("retry-after").is_none());
    assert!(
        throttled
            .headers
            .keys()
            .all(|name| !name.as_str().starts_with("x-rate-limit")),
        "Snapchat's 429 carries no rate-limit headers: {:?}",
        throttled.headers
    );
    assert_eq!(error_message(throttled), "Too many requests");
    assert_eq!(other_token.status, 200, "the limit is per token");
    assert_eq!(later.status, 200, "the window moved on");
}

#[tokio::test]
async fn the_per_app_limit_counts_every_token_and_faulted_requests_do_not_count() {
    let sandbox = start(limited(100, 2)).await;
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::SnapchatAds, FaultKind::ServerError));
    let path = format!("/v1/adaccounts/{}", la());
    let mut codes = Vec::new();
    for token in ["a", "b", "c", "d"] {
        codes.push(sandbox.snap(&path, &[], token).await.status);
    }
    assert_eq!(codes, [500, 200, 200, 429]);
}

#[tokio::test]
async fn each_fault_kind_has_snapchats_wire_shape() {
    let sandbox = start_frozen().await;
    let account = la();
    let query = [
        ("fields", "impressions,spend"),
        ("breakdown", "campaign"),
        ("start_time", "2025-06-01T00:00:00-07:00"),
        ("end_time", "2025-06-03T00:00:00-07:00"),
    ];
    for (kind, status, message) in [
        (FaultKind::Throttle, 429, "Too many requests"),
        (FaultKind::ServerError, 500, "Internal server error"),
        (FaultKind::ExpiredToken, 401, "Expired access token"),
        (FaultKind::ReduceData, 500, "timed out"),
    ] {
        sandbox
            .sandbox
            .add_fault(Fault::new(Connector::SnapchatAds, kind).account(account));
        let reply = sandbox.day_stats(account, &query).await;
        assert_eq!(reply.status, status, "{kind}");
        assert!(
            error_message(&reply).contains(message),
            "{kind}: {}",
            reply.body
        );
    }
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::SnapchatAds, FaultKind::Malformed).account(account));
    let malformed = sandbox.day_stats(account, &query).await;
    let first = &stat(&malformed)["breakdown_stats"]["campaign"][0]["timeseries"][0]["stats"];
    assert!(first["impressions"].is_string(), "{first}");
    assert!(first["spend"].is_number());
    sandbox.sandbox.add_fault(
        Fault::slow(Connector::SnapchatAds, Duration::from_millis(300)).account(account),
    );
    let started = Instant::now();
    let slow = sandbox.day_stats(account, &query).await;
    assert_eq!(slow.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let faults: Vec<Option<FaultKind>> = sandbox
        .sandbox
        .requests_for(Connector::SnapchatAds)
        .iter()
        .map(|record| record.fault)
        .collect();
    assert_eq!(faults.iter().flatten().count(), 6);
}

#[tokio::test]
async fn a_revoked_token_fault_revokes_the_grant_so_refreshing_fails() {
    let sandbox = start_frozen().await;
    let issued = sandbox.sandbox.issue_tokens(
        Connector::SnapchatAds,
        Some(Duration::from_secs(1800)),
        true,
    );
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::SnapchatAds, FaultKind::RevokedToken));
    let refused = sandbox
        .snap("/v1/me/organizations", &[], &issued.access_token)
        .await;
    assert_eq!(refused.status, 401);
    assert_eq!(error_message(&refused), "Invalid access token");
    let refresh = issued.refresh_token.unwrap();
    let renewed = sandbox
        .token_endpoint(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", "c"),
            ("client_secret", "s"),
        ])
        .await;
    assert_eq!(renewed.body["error"], "invalid_grant");
}

#[tokio::test]
async fn requests_are_logged_with_their_route_and_account_and_unknown_paths_fail() {
    let sandbox = start_frozen().await;
    sandbox
        .snap(&format!("/v1/adaccounts/{}/campaigns", la()), &[], TOKEN)
        .await;
    let unknown = sandbox.snap("/v1/adaccounts/x/pixels", &[], TOKEN).await;
    assert_eq!(unknown.status, 404);
    let log = sandbox.sandbox.requests_for(Connector::SnapchatAds);
    assert_eq!(
        log[0].route.as_deref(),
        Some("/v1/adaccounts/{ad_account_id}/campaigns")
    );
    assert_eq!(log[0].account_id.as_deref(), Some(la()));
    assert_eq!(sandbox.sandbox.unknown_routes().len(), 1);
}

#[tokio::test]
async fn the_control_api_serves_account_facts_and_truth() {
    let sandbox = start_frozen().await;
    let facts = sandbox
        .get(&format!("/_sandbox/snapchat_ads/accounts/{}", la()), &[])
        .await;
    assert_eq!(facts.status, 200);
    assert_eq!(facts.body["time_zone"], "America/Los_Angeles");
    assert_eq!(facts.body["today"], "2025-06-30");
    let truth = sandbox
        .get(
            &format!("/_sandbox/snapchat_ads/accounts/{}/truth", la()),
            &[
                ("level", "adsquad".to_owned()),
                ("since", "2025-06-01".to_owned()),
                ("until", "2025-06-02".to_owned()),
                ("country", "true".to_owned()),
            ],
        )
        .await;
    assert_eq!(truth.status, 200, "{}", truth.body);
    let rows = truth.body.as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|row| row["adsquad_id"].is_string() && row["country"].is_string())
    );
}
