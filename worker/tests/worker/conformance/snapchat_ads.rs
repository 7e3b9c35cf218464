//! Snapchat Marketing API in the conformance suite: the sandbox's large account (more than one
//! page of every entity list at `limit=50`, in Europe/London with its DST changes, billed in
//! GBP) read at the campaign level by country, with every metric Snapchat reports.

use std::ops::RangeInclusive;
use std::time::Duration;

use connectors::AccountInfo;
use connectors::rows::Row;
use rust_decimal::Decimal;
use sandbox::snapchat_ads::{self, AccountFacts, Attribution, Level, TruthRow};
use sandbox::{IssuedTokens, Sandbox};
use shared::domain::{Breakdown, ConnectorKind, DateWindow, Metric, ReportLevel, ReportSpec};

use super::{ConformancePlatform, TestAccount, TokenRenewal};

pub(crate) struct SnapchatAds;

fn facts(id: &str) -> AccountFacts {
    snapchat_ads::account(id).expect("a Snapchat ad account id")
}

fn test_account(id: &str) -> TestAccount {
    let facts = facts(id);
    TestAccount {
        external_id: facts.id,
        time_zone: facts.time_zone.name().to_owned(),
        currency: facts.currency.to_owned(),
    }
}

/// Micro-currency in major units.
fn micros(value: u64) -> Decimal {
    Decimal::new(i64::try_from(value).unwrap(), 6)
}

fn level_of(level: ReportLevel) -> Level {
    match level {
        ReportLevel::Account => Level::AdAccount,
        ReportLevel::Campaign => Level::Campaign,
        ReportLevel::AdGroup => Level::AdSquad,
        ReportLevel::Ad => Level::Ad,
    }
}

impl ConformancePlatform for SnapchatAds {
    const CONNECTOR: ConnectorKind = ConnectorKind::SnapchatAds;
    const SANDBOX: sandbox::Connector = sandbox::Connector::SnapchatAds;
    /// Snapchat's smallest `limit`: the large account's 55 campaigns take two pages.
    const SMALL_PAGES: &'static [(&'static str, &'static str)] =
        &[("ADSYNC__CONNECTORS__SNAPCHAT_ADS__PAGE_SIZE", "50")];
    const TOKEN_RENEWAL: TokenRenewal = TokenRenewal::Renews {
        route: "/login/oauth2/access_token",
    };
    /// The sandbox turns the first metric of a stats answer into a string.
    const MALFORMED_FIELD: &'static str = "impressions";
    /// Snapchat's 429 carries no hint: the connector's documented default.
    const THROTTLE_SNOOZE: RangeInclusive<Duration> =
        connectors::snapchat_ads::DEFAULT_THROTTLE_WAIT
            ..=connectors::snapchat_ads::DEFAULT_THROTTLE_WAIT;

    fn account() -> TestAccount {
        test_account(snapchat_ads::LARGE_ACCOUNT_ID)
    }

    fn empty_account() -> TestAccount {
        test_account(snapchat_ads::NO_DELIVERY_ACCOUNT_ID)
    }

    fn issue_tokens(sandbox: &Sandbox) -> IssuedTokens {
        // Snapchat's access tokens live 30 minutes; the refresh token is long-lived.
        sandbox.issue_tokens(Self::SANDBOX, Some(Duration::from_secs(1800)), true)
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
            "cpa",
            "roas",
        ]
        .map(str::to_owned)
        .to_vec();
        connectors::catalogue(ConnectorKind::SnapchatAds)
            .parse_report(shared::domain::report::RawReport {
                stream: None,
                level: "campaign",
                metrics: &metrics,
                breakdowns: &["country".to_owned()],
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
        snapchat_ads::stats_truth(
            &account.external_id,
            level_of(report.level),
            window.start(),
            window.end(),
            sandbox.today_for(&facts),
            Attribution::default(),
            report.breakdowns.contains(&Breakdown::Country),
        )
        .iter()
        .map(|row| truth_row(row, report))
        .collect()
    }

    fn entity_truth(_sandbox: &Sandbox, account: &TestAccount, level: ReportLevel) -> Vec<Row> {
        let facts = facts(&account.external_id);
        let budget = |micro: Option<u64>| micro.map(micros);
        let mut rows = Vec::new();
        for campaign in &facts.campaigns {
            if level == ReportLevel::Campaign {
                rows.push(Row {
                    date: None,
                    texts: vec![
                        Some(campaign.id.clone()),
                        Some(campaign.name.clone()),
                        None,
                        None,
                        Some(campaign.status.as_str().to_owned()),
                        Some(campaign.objective.to_owned()),
                        None,
                        None,
                    ],
                    numbers: vec![
                        budget(campaign.daily_budget_micro),
                        budget(campaign.lifetime_spend_cap_micro),
                    ],
                });
            }
            for squad in &campaign.adsquads {
                if level == ReportLevel::AdGroup {
                    rows.push(Row {
                        date: None,
                        texts: vec![
                            Some(squad.id.clone()),
                            Some(squad.name.clone()),
                            Some(campaign.id.clone()),
                            None,
                            Some(squad.status.as_str().to_owned()),
                            None,
                            None,
                            None,
                        ],
                        numbers: vec![
                            budget(squad.daily_budget_micro),
                            budget(squad.lifetime_budget_micro),
                        ],
                    });
                }
                if level == ReportLevel::Ad {
                    rows.extend(squad.ads.iter().map(|ad| Row {
                        date: None,
                        texts: vec![
                            Some(ad.id.clone()),
                            Some(ad.name.clone()),
                            Some(campaign.id.clone()),
                            Some(squad.id.clone()),
                            Some(ad.status.as_str().to_owned()),
                            None,
                            Some(ad.creative.id.clone()),
                            Some(ad.creative.name.clone()),
                        ],
                        numbers: vec![None, None],
                    }));
                }
            }
        }
        rows
    }

    fn reachable_accounts(_sandbox: &Sandbox) -> Vec<AccountInfo> {
        snapchat_ads::ORGANIZATIONS
            .iter()
            .flat_map(|(_, _, accounts)| accounts.iter())
            .map(|id| facts(id))
            .filter(|facts| facts.readable)
            .map(|facts| AccountInfo {
                external_id: facts.id,
                name: facts.name,
                time_zone: facts.time_zone.name().to_owned(),
                currency: facts.currency.to_owned(),
                reached_through: None,
            })
            .collect()
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
        texts.extend([row.adsquad_id.clone(), row.adsquad_name.clone()]);
    }
    if report.level == ReportLevel::Ad {
        texts.extend([row.ad_id.clone(), row.ad_name.clone()]);
    }
    if report.breakdowns.contains(&Breakdown::Country) {
        texts.push(row.country.as_ref().map(|country| country.to_uppercase()));
    }
    let metrics = &row.metrics;
    let numbers = report
        .fetched_metrics()
        .iter()
        .map(|metric| match metric {
            Metric::Impressions => Some(Decimal::from(metrics.impressions)),
            Metric::Clicks => Some(Decimal::from(metrics.swipes)),
            Metric::Spend => Some(micros(metrics.spend_micro)),
            Metric::Conversions => Some(Decimal::from(metrics.conversion_purchases)),
            Metric::ConversionValue => Some(micros(metrics.conversion_purchases_value_micro)),
            other => panic!("Snapchat reports no {other}"),
        })
        .collect();
    Row {
        date: Some(row.date),
        texts,
        numbers,
    }
}

crate::conformance_suite!(SnapchatAds);

/// Snapchat-specific checks beyond the suite: other levels, time zones and DST changes.
mod more {
    use chrono::{DateTime, Utc};
    use worker::Outcome;

    use super::super::{Case, assert_rows_eq};
    use super::*;

    fn report(level: &str, metrics: &[&str], breakdowns: &[&str]) -> ReportSpec {
        connectors::catalogue(ConnectorKind::SnapchatAds)
            .performance_by(level, metrics, breakdowns)
            .unwrap()
    }

    /// Runs `report` for `account` over `since..=until` with the sandbox frozen at `now`, and
    /// compares the warehouse with the truth.
    async fn matches_the_truth(
        account: TestAccount,
        report: ReportSpec,
        now: &str,
        since: &str,
        until: &str,
    ) {
        // Arrange
        let now: DateTime<Utc> = now.parse().unwrap();
        let case = Case::start::<SnapchatAds>(account, report, now, SnapchatAds::SMALL_PAGES).await;
        let window = DateWindow::new(since.parse().unwrap(), until.parse().unwrap()).unwrap();

        // Act
        let (_, outcome) = case.run(window).await;

        // Assert
        assert!(matches!(outcome, Outcome::Succeeded(_)), "{outcome:?}");
        let expected = case.expected::<SnapchatAds>(window);
        assert!(!expected.is_empty());
        assert_rows_eq(&case.stored().await, &expected, "stored rows");
        case.assert_no_unknown_routes();
    }

    #[tokio::test]
    async fn ad_rows_by_country_across_a_spring_dst_change_are_dated_in_local_days() {
        // London moved to summer time on 2025-03-30; the large account's ads list takes pages.
        matches_the_truth(
            SnapchatAds::account(),
            report(
                "ad",
                &["impressions", "clicks", "spend", "conversions"],
                &["country"],
            ),
            "2025-04-20T12:00:00Z",
            "2025-03-20",
            "2025-04-10",
        )
        .await;
    }

    #[tokio::test]
    async fn the_account_level_adds_up_its_campaigns_with_every_metric() {
        // Los Angeles moved to summer time on 2025-03-09; its account stats only report spend
        // without a breakdown, so the connector sums the campaign breakdown.
        matches_the_truth(
            test_account(snapchat_ads::KNOWN_ACCOUNTS[0].0),
            report(
                "account",
                &[
                    "impressions",
                    "clicks",
                    "spend",
                    "conversions",
                    "conversion_value",
                    "roas",
                ],
                &[],
            ),
            "2025-04-20T12:00:00Z",
            "2025-02-20",
            "2025-04-10",
        )
        .await;
    }

    #[tokio::test]
    async fn ad_squad_rows_of_a_yen_account_carry_their_campaign() {
        matches_the_truth(
            test_account("5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"),
            report(
                "ad_group",
                &["spend", "conversion_value", "impressions"],
                &[],
            ),
            "2025-07-02T03:00:00Z",
            "2025-06-01",
            "2025-07-02",
        )
        .await;
    }
}
