//! TikTok Marketing API in the conformance suite: an ad-group report split by gender (an
//! `AUDIENCE` report, which takes no `reach`) with restated conversions and `"-"` for ad groups
//! that track none. Below the suite: reports of each type, and an `AUDIENCE` report with
//! `reach`, which TikTok refuses, refused alike by the API, the sandbox and the connector.

use std::ops::RangeInclusive;
use std::time::Duration;

use chrono::Utc;
use connectors::AccountInfo;
use connectors::rows::Row;
use rust_decimal::Decimal;
use sandbox::tiktok_ads::{self, Breakdown as SandboxBreakdown, Level, TruthRow};
use sandbox::{IssuedTokens, Sandbox};
use shared::domain::{Breakdown, ConnectorKind, DateWindow, Metric, ReportLevel, ReportSpec};
use worker::Outcome;

use super::{ConformancePlatform, TestAccount, TokenRenewal};
use testkit::logs::ExpectedLog;

pub(crate) struct TiktokAds;

fn test_account(id: &str) -> TestAccount {
    let facts = tiktok_ads::advertiser(id).expect("a valid TikTok advertiser id");
    TestAccount {
        external_id: facts.id,
        time_zone: facts.time_zone.name().to_owned(),
        currency: facts.currency.code().to_owned(),
    }
}

fn level(level: ReportLevel) -> Level {
    match level {
        ReportLevel::Account => Level::Advertiser,
        ReportLevel::Campaign => Level::Campaign,
        ReportLevel::AdGroup => Level::AdGroup,
        ReportLevel::Ad => Level::Ad,
    }
}

fn breakdown(breakdown: Breakdown) -> SandboxBreakdown {
    match breakdown {
        Breakdown::Age => SandboxBreakdown::Age,
        Breakdown::Gender => SandboxBreakdown::Gender,
        Breakdown::Country => SandboxBreakdown::CountryCode,
        Breakdown::Platform => SandboxBreakdown::Platform,
        Breakdown::Placement => panic!("TikTok has no placement breakdown"),
    }
}

/// A segment value as adsync stores it: ages `18-24` / `55+`, genders lower case (`NONE` is
/// `unknown`), platforms lower case, countries as they are.
fn stored_segment(breakdown: Breakdown, value: &str) -> String {
    match breakdown {
        Breakdown::Age => {
            let range = value.trim_start_matches("AGE_");
            match range.split_once('_') {
                Some((low, "100")) => format!("{low}+"),
                Some((low, high)) => format!("{low}-{high}"),
                None => range.to_owned(),
            }
        }
        Breakdown::Gender if value == "NONE" => "unknown".to_owned(),
        Breakdown::Gender | Breakdown::Platform | Breakdown::Placement => value.to_lowercase(),
        Breakdown::Country => value.to_owned(),
    }
}

fn decimal(value: u64) -> Option<Decimal> {
    Some(Decimal::from(value))
}

fn money(minor: u64, decimals: u32) -> Option<Decimal> {
    Some(Decimal::new(i64::try_from(minor).unwrap(), decimals))
}

impl ConformancePlatform for TiktokAds {
    const CONNECTOR: ConnectorKind = ConnectorKind::TiktokAds;
    const SANDBOX: sandbox::Connector = sandbox::Connector::TiktokAds;
    const SMALL_PAGES: &'static [(&'static str, &'static str)] =
        &[("ADSYNC__CONNECTORS__TIKTOK_ADS__PAGE_SIZE", "100")];
    /// Marketing API tokens cannot be refreshed: an expired one needs authorising again.
    const TOKEN_RENEWAL: TokenRenewal = TokenRenewal::Never;
    const MALFORMED_FIELD: &'static str = "spend";
    /// TikTok names no delay; the connector waits one second after a per-second throttle.
    const THROTTLE_SNOOZE: RangeInclusive<Duration> =
        Duration::from_secs(1)..=Duration::from_secs(2);

    fn account() -> TestAccount {
        // Australian dollars in Singapore time, a non-ASCII name, a switched-off campaign.
        test_account(tiktok_ads::REACHABLE_ADVERTISER_IDS[0])
    }

    fn empty_account() -> TestAccount {
        test_account(tiktok_ads::NO_DELIVERY_ADVERTISER_ID)
    }

    fn issue_tokens(sandbox: &Sandbox) -> IssuedTokens {
        // A long-term token: no expiry, no refresh token.
        sandbox.issue_tokens(Self::SANDBOX, None, false)
    }

    fn report() -> ReportSpec {
        let metrics: Vec<String> = [
            "impressions",
            "clicks",
            "spend",
            "conversions",
            "ctr",
            "cpa",
        ]
        .iter()
        .map(|metric| metric.to_string())
        .collect();
        connectors::catalogue(ConnectorKind::TiktokAds)
            .parse_report(shared::domain::report::RawReport {
                stream: None,
                level: "ad_group",
                metrics: &metrics,
                breakdowns: &["gender".to_owned()],
            })
            .unwrap()
    }

    fn truth(
        sandbox: &Sandbox,
        account: &TestAccount,
        report: &ReportSpec,
        window: DateWindow,
    ) -> Vec<Row> {
        let facts = tiktok_ads::advertiser(&account.external_id).unwrap();
        let breakdowns: Vec<SandboxBreakdown> =
            report.breakdowns.iter().map(|b| breakdown(*b)).collect();
        tiktok_ads::report_truth(
            &account.external_id,
            level(report.level),
            &breakdowns,
            window.start(),
            window.end(),
            sandbox.today_for(&facts),
        )
        .iter()
        .map(|row| truth_row(row, report, facts.currency.decimals()))
        .collect()
    }

    fn entity_truth(_sandbox: &Sandbox, account: &TestAccount, level_: ReportLevel) -> Vec<Row> {
        let facts = tiktok_ads::advertiser(&account.external_id).unwrap();
        let decimals = facts.currency.decimals();
        tiktok_ads::entities_truth(&account.external_id, level(level_))
            .into_iter()
            .map(|entity| {
                let budget = entity.budget_minor.and_then(|minor| money(minor, decimals));
                let numbers = match entity.budget_mode.as_deref() {
                    Some("BUDGET_MODE_DAY") => vec![budget, None],
                    Some("BUDGET_MODE_TOTAL") => vec![None, budget],
                    _ => vec![None, None],
                };
                Row {
                    date: None,
                    texts: vec![
                        Some(entity.id),
                        Some(entity.name),
                        entity.campaign_id,
                        entity.adgroup_id,
                        Some(entity.operation_status),
                        entity.objective_type,
                        entity.creative_id,
                        None,
                    ],
                    numbers,
                }
            })
            .collect()
    }

    fn reachable_accounts(_sandbox: &Sandbox) -> Vec<AccountInfo> {
        tiktok_ads::reachable_advertisers()
            .into_iter()
            .map(|facts| AccountInfo {
                external_id: facts.id,
                name: facts.name,
                time_zone: facts.time_zone.name().to_owned(),
                currency: facts.currency.code().to_owned(),
                reached_through: None,
            })
            .collect()
    }
}

/// A truth row in the fetched layout of `report`.
fn truth_row(row: &TruthRow, report: &ReportSpec, currency_decimals: u32) -> Row {
    let mut texts = Vec::new();
    if matches!(
        report.level,
        ReportLevel::Campaign | ReportLevel::AdGroup | ReportLevel::Ad
    ) {
        texts.extend([row.campaign_id.clone(), row.campaign_name.clone()]);
    }
    if matches!(report.level, ReportLevel::AdGroup | ReportLevel::Ad) {
        texts.extend([row.adgroup_id.clone(), row.adgroup_name.clone()]);
    }
    if report.level == ReportLevel::Ad {
        texts.extend([row.ad_id.clone(), row.ad_name.clone()]);
    }
    for b in &report.breakdowns {
        let value = &row.segment[breakdown(*b).name()];
        texts.push(Some(stored_segment(*b, value)));
    }
    let numbers = report
        .fetched_metrics()
        .iter()
        .map(|metric| match metric.as_str() {
            "impressions" => decimal(row.impressions),
            "clicks" => decimal(row.clicks),
            "reach" => decimal(row.reach),
            "spend" => money(row.spend_minor, currency_decimals),
            "conversions" => row.conversion.and_then(decimal),
            other => panic!("the TikTok truth has no {other}"),
        })
        .collect();
    Row {
        date: Some(row.date),
        texts,
        numbers,
    }
}

crate::conformance_suite!(TiktokAds);

#[tokio::test]
async fn every_report_the_catalogue_accepts_the_platform_serves() {
    super::every_report_the_catalogue_accepts_the_platform_serves::<TiktokAds>().await;
}

/// A performance report of `level` split by `breakdowns`, with every metric TikTok serves in
/// that report type (`reach` only without breakdowns) and two derived ones.
fn report_of(level: &str, breakdowns: &[&str]) -> ReportSpec {
    let mut metrics = vec!["impressions", "clicks", "spend"];
    if breakdowns.is_empty() {
        metrics.push("reach");
    }
    metrics.extend(["conversions", "cpc", "cpa"]);
    let metrics: Vec<String> = metrics.iter().map(|metric| metric.to_string()).collect();
    let breakdowns: Vec<String> = breakdowns.iter().map(|b| b.to_string()).collect();
    connectors::catalogue(ConnectorKind::TiktokAds)
        .parse_report(shared::domain::report::RawReport {
            stream: None,
            level,
            metrics: &metrics,
            breakdowns: &breakdowns,
        })
        .unwrap()
}

/// Beyond the suite's ad-group report by gender: `report` over the last 12 days, through the
/// job path, stores exactly the truth, and there is some.
async fn stores_the_truth_of(report: ReportSpec) {
    // Arrange
    let case = super::Case::start::<TiktokAds>(TiktokAds::account(), report, Utc::now(), &[]).await;
    let window = DateWindow::ending_on(case.today(), 12);

    // Act
    let (_, outcome) = case.run(window).await;

    // Assert
    assert!(matches!(outcome, Outcome::Succeeded(_)), "{outcome:?}");
    let expected = case.expected::<TiktokAds>(window);
    assert!(!expected.is_empty(), "the account delivers in the window");
    super::assert_rows_eq(&case.stored().await, &expected, "stored rows");
    case.assert_no_unknown_routes();
}

#[tokio::test]
async fn an_advertiser_level_report_matches_the_truth() {
    stores_the_truth_of(report_of("account", &[])).await;
}

#[tokio::test]
async fn a_campaign_report_by_age_and_country_matches_the_truth() {
    stores_the_truth_of(report_of("campaign", &["age", "country"])).await;
}

#[tokio::test]
async fn an_ad_report_by_platform_matches_the_truth() {
    stores_the_truth_of(report_of("ad", &["platform"])).await;
}

#[tokio::test]
async fn a_campaign_report_with_reach_matches_the_truth() {
    stores_the_truth_of(report_of("campaign", &[])).await;
}

/// The sandbox's report endpoint asked directly, as a client that ignores the catalogue would.
async fn ask_the_sandbox(
    case: &super::Case,
    report_type: &str,
    dimension: &str,
) -> serde_json::Value {
    let url = format!(
        "{}/tiktok_ads/open_api/v1.3/report/integrated/get/",
        case.world.sandbox_url
    );
    let dimensions = format!(r#"["campaign_id","stat_time_day"{dimension}]"#);
    let token = TiktokAds::issue_tokens(case.sandbox()).access_token;
    reqwest::Client::new()
        .get(url)
        .header("Access-Token", token)
        .query(&[
            ("advertiser_id", case.account.external_id.as_str()),
            ("report_type", report_type),
            ("data_level", "AUCTION_CAMPAIGN"),
            ("dimensions", dimensions.as_str()),
            ("metrics", r#"["spend","reach"]"#),
            ("start_date", "2025-06-01"),
            ("end_date", "2025-06-07"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_audience_report_with_reach_is_refused_by_the_api_the_platform_and_the_connector() {
    // Arrange: a report TikTok refuses on every run, stored as if an older adsync had accepted
    // it (the catalogue is bypassed), and the API in front of the same world.
    let refused = ReportSpec {
        stream: shared::domain::Stream::Performance,
        level: ReportLevel::Campaign,
        metrics: vec![Metric::Impressions, Metric::Reach, Metric::Spend],
        breakdowns: vec![Breakdown::Age],
    };
    let mut case =
        super::Case::start::<TiktokAds>(TiktokAds::account(), refused.clone(), Utc::now(), &[])
            .await;
    case.expect(ExpectedLog::job_failed("permanent").field_containing("error", "AUDIENCE"));
    let api = case.world.spawn_api().await;
    let (_, key) = api.create_tenant("TikTok audiences").await;
    let post = |path: &'static str, body: serde_json::Value| {
        let (api, key) = (&api, &key);
        async move { api.post(path, key, &body).await }
    };
    let (_, connection) = post(
        "/v1/connections",
        serde_json::json!({"connector": "tiktok_ads", "name": "TikTok", "access_token": "tiktok-token"}),
    )
    .await;
    let (_, account) = post(
        "/v1/accounts",
        serde_json::json!({
            "connection_id": connection["id"],
            "external_id": case.account.external_id,
            "name": "Advertiser",
            "time_zone": case.account.time_zone,
            "currency": case.account.currency,
        }),
    )
    .await;
    let (_, destination) = post(
        "/v1/destinations",
        serde_json::json!({"kind": "warehouse", "name": "Warehouse"}),
    )
    .await;
    let sync = |metrics: serde_json::Value, breakdowns: serde_json::Value| {
        post(
            "/v1/syncs",
            serde_json::json!({
                "account_id": account["id"],
                "destination_id": destination["id"],
                "report": {"level": "campaign", "metrics": metrics, "breakdowns": breakdowns},
                "schedule": {"cron": "0 6 * * *"},
            }),
        )
    };

    // Act
    let (status, problem) = sync(
        serde_json::json!(["impressions", "reach", "spend"]),
        serde_json::json!(["age"]),
    )
    .await;
    let (basic_status, basic) = sync(
        serde_json::json!(["impressions", "reach", "spend"]),
        serde_json::json!([]),
    )
    .await;
    let platform_audience = ask_the_sandbox(&case, "AUDIENCE", r#","age""#).await;
    let platform_basic = ask_the_sandbox(&case, "BASIC", "").await;
    let (id, outcome) = case.run(case.window()).await;

    // Assert: the API names the field and the reason, and takes reach without breakdowns...
    assert_eq!(status, 422, "{problem}");
    assert_eq!(basic_status, 201, "{basic}");
    assert_eq!(problem["code"], "invalid_field");
    assert_eq!(problem["field"], "report.metrics");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("reach") && detail.contains("AUDIENCE"),
        "{detail}"
    );
    // ...because the platform refuses exactly that, and serves reach without breakdowns...
    assert_eq!(platform_audience["code"], 40002, "{platform_audience}");
    assert_eq!(
        platform_audience["message"],
        "Invalid metric fields: ['reach']"
    );
    assert_eq!(platform_basic["code"], 0, "{platform_basic}");
    // ...and a sync stored before the rule fails for good without asking TikTok again.
    assert_eq!(outcome, Outcome::Failed { class: "permanent" });
    let message = crate::job(&case.world, id)
        .await
        .error_message
        .unwrap_or_default();
    assert!(
        message.contains("reach") && message.contains("AUDIENCE"),
        "{message}"
    );
    let reports = case
        .requests::<TiktokAds>()
        .iter()
        .filter(|request| request.route.as_deref() == Some("/report/integrated/get/"))
        .count();
    assert_eq!(
        reports, 2,
        "only the test's own two requests reached the report endpoint"
    );
    case.assert_no_unknown_routes();
    case.world.stop().await;
}
