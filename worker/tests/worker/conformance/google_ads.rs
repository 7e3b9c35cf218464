//! Google Ads API (REST) in the conformance suite: one streamed `googleAds:searchStream` per
//! chunk (no paging), so the suite's report is read in exactly one request per chunk. The
//! suite's account is a client reached through its manager, so every request must carry the
//! manager's `login-customer-id`; the report is at ad group level with every Google Ads metric,
//! the derived ones, and the device breakdown. Below the suite, tests of Google's own
//! behaviours: an error arriving inside the stream after a first batch of 10,000 rows, and a
//! client account read without its manager as `login-customer-id`, Google's errors as the stream
//! frames them (a developer-token quota, a refused query), and a manager hierarchy: a client
//! two levels down discovered through the API with the manager its requests go through.

use std::ops::RangeInclusive;
use std::time::Duration;

use chrono::Utc;
use connectors::AccountInfo;
use connectors::rows::Row;
use rust_decimal::Decimal;
use sandbox::google_ads::{self, CustomerFacts, CustomerStatus, GoogleAdsConfig, Level, TruthRow};
use sandbox::{FaultKind, IssuedTokens, Sandbox};
use shared::domain::{ConnectorKind, DateWindow, ReportLevel, ReportSpec};
use testkit::TestWorld;
use testkit::logs::ExpectedLog;
use worker::Outcome;

use super::{
    Case, ConformancePlatform, TestAccount, TokenRenewal, assert_rows_eq, fault, retry_when_due,
};
use crate::job;

pub(crate) struct GoogleAds;

/// A client account of the manager `9123450000`, which the user reaches only through it.
const CLIENT_ID: &str = "8123450001";

/// A large standalone customer (ids starting with 7): 50 campaigns of 20 ad groups of 10 ads.
const LARGE_ID: &str = "7412365890";

fn facts(id: &str) -> CustomerFacts {
    google_ads::customer(id).expect("a sandbox Google Ads customer")
}

fn test_account(id: &str) -> TestAccount {
    let facts = facts(id);
    TestAccount {
        external_id: facts.id,
        time_zone: facts.time_zone.name().to_owned(),
        currency: facts.currency.code().to_owned(),
    }
}

fn decimal(value: u64) -> Option<Decimal> {
    Some(Decimal::from(value))
}

/// Micros of the account's currency in major units.
fn micros(value: u64) -> Option<Decimal> {
    Some((Decimal::from(value) / Decimal::from(1_000_000)).normalize())
}

/// A double as the API renders it, exact.
fn double(text: &str) -> Option<Decimal> {
    Some(text.parse::<Decimal>().expect("a decimal").normalize())
}

fn level_of(level: ReportLevel) -> Level {
    match level {
        ReportLevel::Account => Level::Customer,
        ReportLevel::Campaign => Level::Campaign,
        ReportLevel::AdGroup => Level::AdGroup,
        ReportLevel::Ad => Level::AdGroupAd,
    }
}

fn account_info(facts: &CustomerFacts, reached_through: &str) -> AccountInfo {
    AccountInfo {
        external_id: facts.id.clone(),
        name: facts.descriptive_name.clone(),
        time_zone: facts.time_zone.name().to_owned(),
        currency: facts.currency.code().to_owned(),
        reached_through: Some(reached_through.to_owned()),
    }
}

impl ConformancePlatform for GoogleAds {
    const CONNECTOR: ConnectorKind = ConnectorKind::GoogleAds;
    const SANDBOX: sandbox::Connector = sandbox::Connector::GoogleAds;
    /// `searchStream` has no paging: one streamed answer per chunk.
    const SMALL_PAGES: &'static [(&'static str, &'static str)] = &[];
    const TOKEN_RENEWAL: TokenRenewal = TokenRenewal::Renews {
        route: "/oauth2/token",
    };
    /// The sandbox breaks the first selected metric of the first row.
    const MALFORMED_FIELD: &'static str = "metrics.impressions";
    /// The sandbox's throttle answer (framed in the stream's array) carries `retryDelay: "4s"`,
    /// not the 30 s the connector waits when it finds no delay.
    const THROTTLE_SNOOZE: RangeInclusive<Duration> =
        Duration::from_secs(4)..=Duration::from_secs(4);

    fn account() -> TestAccount {
        test_account(CLIENT_ID)
    }

    fn empty_account() -> TestAccount {
        test_account(google_ads::NO_DELIVERY_CUSTOMER_ID)
    }

    fn issue_tokens(sandbox: &Sandbox) -> IssuedTokens {
        // Google's access tokens live 3599 s and come with a refresh token.
        sandbox.issue_tokens(Self::SANDBOX, Some(google_ads::ACCESS_TOKEN_LIFETIME), true)
    }

    fn connection_settings(account: &TestAccount) -> serde_json::Value {
        match facts(&account.external_id).manager_id() {
            Some(manager) => serde_json::json!({ "login_customer_id": manager }),
            None => serde_json::json!({}),
        }
    }

    fn report() -> ReportSpec {
        let metrics: Vec<String> = [
            "impressions",
            "clicks",
            "spend",
            "conversions",
            "conversion_value",
            "ctr",
            "cpc",
            "cpm",
            "cpa",
            "roas",
        ]
        .map(str::to_owned)
        .to_vec();
        let breakdowns = ["platform"].map(str::to_owned).to_vec();
        connectors::catalogue(ConnectorKind::GoogleAds)
            .parse_report(shared::domain::report::RawReport {
                stream: None,
                level: "ad_group",
                metrics: &metrics,
                breakdowns: &breakdowns,
            })
            .unwrap()
    }

    fn truth(
        sandbox: &Sandbox,
        account: &TestAccount,
        report: &ReportSpec,
        window: DateWindow,
    ) -> Vec<Row> {
        let facts = facts(&account.external_id);
        google_ads::report_truth(
            &account.external_id,
            level_of(report.level),
            window.start(),
            window.end(),
            sandbox.today_for(&facts),
            !report.breakdowns.is_empty(),
        )
        .iter()
        .map(|row| truth_row(row, report))
        .collect()
    }

    /// Entity rows name their parents only; an ad is its own creative (its id, and its type as
    /// the creative's name).
    fn entity_truth(_sandbox: &Sandbox, account: &TestAccount, level: ReportLevel) -> Vec<Row> {
        let facts = facts(&account.external_id);
        let mut rows = Vec::new();
        for campaign in &facts.campaigns {
            let campaign_id = campaign.id.to_string();
            if level == ReportLevel::Campaign {
                rows.push(Row {
                    date: None,
                    texts: vec![
                        Some(campaign_id.clone()),
                        Some(campaign.name.clone()),
                        None,
                        None,
                        Some(campaign.status.as_str().to_owned()),
                        Some(campaign.channel.as_str().to_owned()),
                        None,
                        None,
                    ],
                    numbers: vec![micros(campaign.budget_amount_micros), None],
                });
                continue;
            }
            for group in &campaign.ad_groups {
                let group_id = group.id.to_string();
                if level == ReportLevel::AdGroup {
                    rows.push(Row {
                        date: None,
                        texts: vec![
                            Some(group_id.clone()),
                            Some(group.name.clone()),
                            Some(campaign_id.clone()),
                            None,
                            Some(group.status.as_str().to_owned()),
                            None,
                            None,
                            None,
                        ],
                        numbers: vec![None, None],
                    });
                    continue;
                }
                for ad in &group.ads {
                    rows.push(Row {
                        date: None,
                        texts: vec![
                            Some(ad.id.to_string()),
                            ad.name.clone(),
                            Some(campaign_id.clone()),
                            Some(group_id.clone()),
                            Some(ad.status.as_str().to_owned()),
                            None,
                            Some(ad.id.to_string()),
                            Some(ad.ad_type.to_owned()),
                        ],
                        numbers: vec![None, None],
                    });
                }
            }
        }
        rows
    }

    /// The customers the login reaches directly (each reached as itself), with, in place of the
    /// managers among them (which have no reports), every account below them at any level that
    /// serves ads (hidden links included, cancelled accounts not), reached through that manager.
    fn reachable_accounts(_sandbox: &Sandbox) -> Vec<AccountInfo> {
        let mut accounts = Vec::new();
        for id in GoogleAdsConfig::default().accessible_customers {
            let customer = facts(&id);
            if !customer.is_manager() {
                accounts.push(account_info(&customer, &id));
                continue;
            }
            accounts.extend(
                customer
                    .hierarchy()
                    .into_iter()
                    .filter(|(client, _)| {
                        !client.is_manager() && client.status == CustomerStatus::Enabled
                    })
                    .map(|(client, _)| account_info(&client, &id)),
            );
        }
        accounts
    }
}

/// A truth row in the fetched layout of `report`.
fn truth_row(row: &TruthRow, report: &ReportSpec) -> Row {
    let mut texts = Vec::new();
    if matches!(
        report.level,
        ReportLevel::Campaign | ReportLevel::AdGroup | ReportLevel::Ad
    ) {
        texts.extend([row.campaign_id.clone(), row.campaign_name.clone()]);
    }
    if matches!(report.level, ReportLevel::AdGroup | ReportLevel::Ad) {
        texts.extend([row.ad_group_id.clone(), row.ad_group_name.clone()]);
    }
    if report.level == ReportLevel::Ad {
        texts.extend([row.ad_id.clone(), row.ad_name.clone()]);
    }
    for breakdown in &report.breakdowns {
        match breakdown {
            shared::domain::Breakdown::Platform => {
                texts.push(row.device.map(|device| device.as_str().to_owned()));
            }
            other => panic!("Google Ads has no {other:?} breakdown"),
        }
    }
    let numbers = report
        .fetched_metrics()
        .iter()
        .map(|metric| match metric.as_str() {
            "impressions" => decimal(row.metrics.impressions),
            "clicks" => decimal(row.metrics.clicks),
            "spend" => micros(row.metrics.cost_micros),
            "conversions" => double(&row.conversions),
            "conversion_value" => double(&row.conversions_value),
            other => panic!("the Google Ads truth has no {other}"),
        })
        .collect();
    Row {
        date: Some(row.date),
        texts,
        numbers,
    }
}

crate::conformance_suite!(GoogleAds);

#[tokio::test]
async fn every_report_the_catalogue_accepts_the_platform_serves() {
    super::every_report_the_catalogue_accepts_the_platform_serves::<GoogleAds>().await;
}

/// The suite's platform, but the connection does not name the manager of the client account.
struct WithoutLoginCustomerId;

impl ConformancePlatform for WithoutLoginCustomerId {
    const CONNECTOR: ConnectorKind = GoogleAds::CONNECTOR;
    const SANDBOX: sandbox::Connector = GoogleAds::SANDBOX;
    const SMALL_PAGES: &'static [(&'static str, &'static str)] = GoogleAds::SMALL_PAGES;
    const TOKEN_RENEWAL: TokenRenewal = GoogleAds::TOKEN_RENEWAL;
    const MALFORMED_FIELD: &'static str = GoogleAds::MALFORMED_FIELD;
    const THROTTLE_SNOOZE: RangeInclusive<Duration> = GoogleAds::THROTTLE_SNOOZE;

    fn account() -> TestAccount {
        GoogleAds::account()
    }

    fn empty_account() -> TestAccount {
        GoogleAds::empty_account()
    }

    fn issue_tokens(sandbox: &Sandbox) -> IssuedTokens {
        GoogleAds::issue_tokens(sandbox)
    }

    fn connection_settings(_account: &TestAccount) -> serde_json::Value {
        serde_json::json!({})
    }

    fn report() -> ReportSpec {
        GoogleAds::report()
    }

    fn truth(
        sandbox: &Sandbox,
        account: &TestAccount,
        report: &ReportSpec,
        window: DateWindow,
    ) -> Vec<Row> {
        GoogleAds::truth(sandbox, account, report, window)
    }

    fn entity_truth(sandbox: &Sandbox, account: &TestAccount, level: ReportLevel) -> Vec<Row> {
        GoogleAds::entity_truth(sandbox, account, level)
    }

    fn reachable_accounts(sandbox: &Sandbox) -> Vec<AccountInfo> {
        GoogleAds::reachable_accounts(sandbox)
    }
}

#[tokio::test]
async fn an_error_inside_the_stream_is_transient_and_the_retry_writes_exactly_the_truth() {
    // Arrange: a week of a large customer's ad groups by device spans several batches; the
    // first batch arrives, then the stream ends with DEADLINE_EXCEEDED.
    let metrics: Vec<String> = ["impressions", "clicks", "spend", "conversions"]
        .map(str::to_owned)
        .to_vec();
    let breakdowns = ["platform"].map(str::to_owned).to_vec();
    let report = connectors::catalogue(ConnectorKind::GoogleAds)
        .parse_report(shared::domain::report::RawReport {
            stream: None,
            level: "ad_group",
            metrics: &metrics,
            breakdowns: &breakdowns,
        })
        .unwrap();
    let case = Case::start::<GoogleAds>(test_account(LARGE_ID), report, Utc::now(), &[]).await;
    let window = DateWindow::ending_on(case.today(), 7);
    let expected = case.expected::<GoogleAds>(window);
    assert!(
        expected.len() > google_ads::BATCH_ROWS,
        "the report spans several batches ({} rows)",
        expected.len()
    );
    case.sandbox()
        .add_fault(fault::<GoogleAds>(FaultKind::ReduceData, &case.account));
    case.expect(
        ExpectedLog::attempt_rescheduled("transient")
            .field_containing("error", "DEADLINE_EXCEEDED"),
    );

    // Act
    let (id, first) = case.run(window).await;
    let failed = job(&case.world, id).await;
    let last = retry_when_due(&case.world, id).await;

    // Assert
    assert_eq!(first, Outcome::Rescheduled { class: "transient" });
    let message = failed.error_message.unwrap_or_default();
    assert!(message.contains("DEADLINE_EXCEEDED"), "{message}");
    assert!(matches!(last, Outcome::Succeeded(_)), "the retry: {last:?}");
    assert_rows_eq(&case.stored().await, &expected, "rows after the retry");
    case.assert_no_unknown_routes();
}

#[tokio::test]
async fn a_client_account_without_its_manager_as_login_customer_id_fails_permanently() {
    // Arrange
    let case = Case::start::<WithoutLoginCustomerId>(
        GoogleAds::account(),
        GoogleAds::report(),
        Utc::now(),
        &[],
    )
    .await;
    case.expect(
        ExpectedLog::job_failed("permanent").field_containing("error", "USER_PERMISSION_DENIED"),
    );

    // Act
    let (id, outcome) = case.run(case.window()).await;

    // Assert: a new authorisation would not help, so the connection stays active.
    assert_eq!(outcome, Outcome::Failed { class: "permanent" });
    let message = job(&case.world, id).await.error_message.unwrap_or_default();
    assert!(message.contains("USER_PERMISSION_DENIED"), "{message}");
    assert!(message.contains("login-customer-id"), "{message}");
    assert_eq!(case.connection_status().await, "active");
    assert!(case.stored().await.is_empty());
    case.assert_no_unknown_routes();
}

#[tokio::test]
async fn the_refresher_keeps_the_refresh_token_and_a_revoked_grant_needs_reauthorisation() {
    // Arrange
    let case =
        Case::start::<GoogleAds>(GoogleAds::account(), GoogleAds::report(), Utc::now(), &[]).await;
    let settings = connectors::Settings::load(&case.world.config.connectors)
        .unwrap()
        .platform(ConnectorKind::GoogleAds)
        .clone();
    let refresh = connectors::refresher(ConnectorKind::GoogleAds, reqwest::Client::new(), settings)
        .expect("Google Ads renews tokens");
    let issued = GoogleAds::issue_tokens(case.sandbox());
    let refresh_token = issued.refresh_token.clone().unwrap();
    let tokens = || shared::db::connections::OAuthTokens {
        access_token: issued.access_token.clone(),
        refresh_token: issued.refresh_token.clone(),
    };

    // Act
    let before = Utc::now();
    let renewed = refresh(tokens()).await.unwrap();
    case.sandbox()
        .revoke_token(GoogleAds::SANDBOX, &refresh_token);
    let refused = refresh(tokens()).await;

    // Assert
    assert_ne!(renewed.access_token, issued.access_token);
    assert_eq!(
        renewed.refresh_token, None,
        "Google does not rotate refresh tokens"
    );
    let lifetime = (renewed.expires_at.unwrap() - before).num_seconds();
    assert!((3590..=3600).contains(&lifetime), "{lifetime} s");
    match refused {
        Err(connectors::tokens::TokenError::Revoked(message)) => {
            assert!(!message.contains(&refresh_token), "{message}");
        }
        other => panic!("a revoked grant: {other:?}"),
    }
}

/// The rate-budget keys of the platform blocked now, with when they open again.
async fn blocked_keys(case: &Case) -> Vec<(String, chrono::DateTime<Utc>)> {
    let client = case.world.pool.get().await.unwrap();
    client
        .query(
            "SELECT key, blocked_until FROM rate_budgets
             WHERE key LIKE 'google_ads:%' AND blocked_until > now()",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

#[tokio::test]
async fn a_developer_token_quota_blocks_every_account_for_the_delay_google_names() {
    // Arrange: the developer token may make one request per 20 s; the suite's window is read
    // in two chunks, so the second request meets the quota (a 429 framed as the stream).
    let sandbox = sandbox::SandboxConfig {
        now: Some(Utc::now()),
        google_ads: GoogleAdsConfig {
            requests_per_window_per_developer_token: 1,
            rate_window: Duration::from_secs(20),
            ..GoogleAdsConfig::default()
        },
        ..sandbox::SandboxConfig::default()
    };
    let case =
        Case::start_in::<GoogleAds>(sandbox, GoogleAds::account(), GoogleAds::report(), &[]).await;
    case.expect(
        ExpectedLog::attempt_rescheduled("throttled")
            .field_containing("error", "RESOURCE_TEMPORARILY_EXHAUSTED"),
    );

    // Act
    let ran_at = Utc::now();
    let (id, outcome) = case.run(case.window()).await;

    // Assert
    assert_eq!(outcome, Outcome::Rescheduled { class: "throttled" });
    let job = job(&case.world, id).await;
    assert_eq!(job.attempt, 0, "a snooze gives the attempt back");
    let snooze = (job.run_after - ran_at).num_milliseconds();
    assert!(
        (1_000..=21_000).contains(&snooze),
        "snoozed {snooze} ms: Google's retryDelay (the rest of the 20 s window), not 30 s"
    );
    let message = job.error_message.unwrap_or_default();
    assert!(
        message.contains("RESOURCE_TEMPORARILY_EXHAUSTED"),
        "{message}"
    );
    let blocked = blocked_keys(&case).await;
    assert_eq!(
        blocked
            .iter()
            .map(|(key, _)| key.as_str())
            .collect::<Vec<_>>(),
        ["google_ads:app"],
        "the developer token's quota is the app's budget, not the account's"
    );
    assert!((blocked[0].1 - job.run_after).num_seconds().abs() <= 1);
    case.assert_no_unknown_routes();
}

#[tokio::test]
async fn a_query_google_refuses_fails_permanently_with_googles_message() {
    // Arrange: metrics of a manager account, which Google refuses (its clients hold them).
    let manager = test_account("9123450000");
    let case = Case::start::<GoogleAds>(manager, GoogleAds::report(), Utc::now(), &[]).await;
    case.expect(
        ExpectedLog::job_failed("permanent")
            .field_containing("error", "REQUESTED_METRICS_FOR_MANAGER"),
    );

    // Act
    let (id, outcome) = case.run(case.window()).await;

    // Assert
    assert_eq!(outcome, Outcome::Failed { class: "permanent" });
    let message = job(&case.world, id).await.error_message.unwrap_or_default();
    assert!(
        message.contains("queryError REQUESTED_METRICS_FOR_MANAGER")
            && message.contains("Metrics cannot be requested for a manager account"),
        "{message}"
    );
    assert_eq!(case.connection_status().await, "active");
    assert_eq!(case.requests::<GoogleAds>().len(), 1, "not retried");
    case.assert_no_unknown_routes();
}

/// The top-level manager the sandbox's user reaches, its sub-manager, and a client of the
/// sub-manager (two levels below the top).
const MANAGER_ID: &str = "9123450000";
const SUB_MANAGER_ID: &str = "9123451000";

fn deep_client() -> String {
    facts(SUB_MANAGER_ID).clients()[0].clone()
}

#[tokio::test]
async fn a_client_below_a_sub_manager_is_read_through_the_manager_discovery_recorded() {
    // Arrange: the connection names no manager; the account is two levels below the manager
    // the user reaches.
    let account = test_account(&deep_client());
    let case =
        Case::start::<WithoutLoginCustomerId>(account, GoogleAds::report(), Utc::now(), &[]).await;
    let window = DateWindow::ending_on(case.today(), 10);
    case.expect(
        ExpectedLog::job_failed("permanent").field_containing("error", "USER_PERMISSION_DENIED"),
    );

    // Act: without a recorded manager, then with the one discovery records.
    let (unreached, before) = case.run(window).await;
    let client = case.world.pool.get().await.unwrap();
    let recorded = shared::db::accounts::set_reached_through(
        &client,
        case.fixture.tenant.id,
        case.fixture.account.id,
        Some(MANAGER_ID),
    )
    .await
    .unwrap();
    drop(client);
    let (_, after) = case.run(window).await;

    // Assert
    assert_eq!(before, Outcome::Failed { class: "permanent" });
    let message = job(&case.world, unreached)
        .await
        .error_message
        .unwrap_or_default();
    assert!(message.contains("USER_PERMISSION_DENIED"), "{message}");
    assert!(recorded);
    assert!(matches!(after, Outcome::Succeeded(_)), "{after:?}");
    assert_rows_eq(
        &case.stored().await,
        &case.expected::<WithoutLoginCustomerId>(window),
        "rows read through the top manager",
    );
    case.assert_no_unknown_routes();
}

#[tokio::test]
async fn discovery_through_the_api_records_each_clients_manager_and_its_syncs_use_it() {
    // Arrange: a Google connection without a login_customer_id, through the API.
    let mut world = TestWorld::start_with(
        sandbox::SandboxConfig {
            now: Some(Utc::now()),
            ..sandbox::SandboxConfig::default()
        },
        &[],
    )
    .await;
    let api = world.spawn_api().await;
    world.spawn_worker();
    let (_, key) = api.create_tenant("Agency").await;
    let issued = GoogleAds::issue_tokens(&world.sandbox);
    let (status, connection) = api
        .post(
            "/v1/connections",
            &key,
            &serde_json::json!({
                "connector": "google_ads",
                "name": "Agency login",
                "access_token": issued.access_token,
                "refresh_token": issued.refresh_token,
            }),
        )
        .await;
    assert_eq!(status, 201, "{connection}");
    let discover = format!(
        "/v1/connections/{}/accounts/discover",
        connection["id"].as_str().unwrap()
    );
    // One client was posted by hand before, without the manager its requests need.
    let direct = facts(CLIENT_ID);
    let (status, posted) = api
        .post(
            "/v1/accounts",
            &key,
            &serde_json::json!({
                "connection_id": connection["id"],
                "external_id": CLIENT_ID,
                "name": "Posted by hand",
                "time_zone": direct.time_zone.name(),
                "currency": direct.currency.code(),
            }),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    assert!(posted["reached_through"].is_null(), "{posted}");

    // Act
    let (status, found) = api
        .post(&discover, &key, &serde_json::json!({"create": true}))
        .await;

    // Assert: the whole hierarchy, each account with the manager its requests go through.
    assert_eq!(status, 200, "{found}");
    let found = found.as_array().unwrap();
    let mut listed: Vec<(String, String)> = found
        .iter()
        .map(|account| {
            (
                account["external_id"].as_str().unwrap().to_owned(),
                account["reached_through"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    listed.sort();
    let mut expected: Vec<(String, String)> = GoogleAds::reachable_accounts(&world.sandbox)
        .into_iter()
        .map(|info| (info.external_id, info.reached_through.unwrap()))
        .collect();
    expected.sort();
    assert_eq!(listed, expected);
    let deep = deep_client();
    assert!(
        listed.contains(&(deep.clone(), MANAGER_ID.to_owned())),
        "{listed:?}"
    );
    assert!(
        listed.iter().any(|(id, _)| id == "8123450008"),
        "a hidden link is listed"
    );
    assert!(
        !listed
            .iter()
            .any(|(id, _)| id == "8123450009" || id.starts_with('9')),
        "neither the cancelled client nor managers: {listed:?}"
    );
    let deep_account = found
        .iter()
        .find(|account| account["external_id"] == deep.as_str())
        .unwrap();
    assert_eq!(deep_account["created"], true);
    let (_, shown) = api
        .get(
            &format!(
                "/v1/accounts/{}",
                deep_account["account_id"].as_str().unwrap()
            ),
            &key,
        )
        .await;
    assert_eq!(shown["reached_through"], MANAGER_ID, "{shown}");
    let (_, updated) = api
        .get(
            &format!("/v1/accounts/{}", posted["id"].as_str().unwrap()),
            &key,
        )
        .await;
    assert_eq!(
        updated["reached_through"], MANAGER_ID,
        "discovery records the manager of an account created before: {updated}"
    );
    let posted_found = found
        .iter()
        .find(|account| account["external_id"] == CLIENT_ID)
        .unwrap();
    assert_eq!(posted_found["created"], false);
    assert_eq!(posted_found["account_id"], posted["id"]);

    // Act: a sync of the deep client, run now.
    let (_, destination) = api
        .post(
            "/v1/destinations",
            &key,
            &serde_json::json!({"kind": "warehouse", "name": "Warehouse"}),
        )
        .await;
    let (status, sync) = api
        .post(
            "/v1/syncs",
            &key,
            &serde_json::json!({
                "account_id": deep_account["account_id"],
                "destination_id": destination["id"],
                "report": {"level": "campaign", "metrics": ["impressions", "clicks", "spend"]},
                "schedule": {"cron": "0 6 * * *"},
            }),
        )
        .await;
    assert_eq!(status, 201, "{sync}");
    let (status, run) = api
        .post(
            &format!("/v1/syncs/{}/run", sync["id"].as_str().unwrap()),
            &key,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 202, "{run}");
    let finished = super::finished_job(&api, &key, run["job"]["id"].as_str().unwrap()).await;

    // Assert: read through the recorded manager (the sandbox refuses any other way).
    assert_eq!(finished["state"], "succeeded", "{finished}");
    let reads = world
        .sandbox
        .requests_for(sandbox::Connector::GoogleAds)
        .into_iter()
        .filter(|request| request.account_id.as_deref() == Some(deep.as_str()))
        .count();
    assert!(reads >= 1);
    world.stop().await;
}
