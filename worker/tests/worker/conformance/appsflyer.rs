//! AppsFlyer Pull API in the conformance suite: aggregate CSV reports, one request per chunk (no
//! paging), static API tokens (no renewal), quotas that reset at 00:00 UTC.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use connectors::AccountInfo;
use connectors::rows::Row;
use rust_decimal::Decimal;
use sandbox::appsflyer::{self, AppFacts, Report, ReportRow, Selection};
use sandbox::{IssuedTokens, Sandbox};
use shared::domain::report::RawReport;
use shared::domain::{Breakdown, ConnectorKind, DateWindow, ReportLevel, ReportSpec};

use super::{ConformancePlatform, TestAccount, TokenRenewal};

pub(crate) struct Appsflyer;

fn test_account(id: &str) -> TestAccount {
    let facts = appsflyer::app(id).expect("a known AppsFlyer app id");
    TestAccount {
        external_id: facts.id,
        time_zone: facts.time_zone.name().to_owned(),
        currency: facts.currency.code().to_owned(),
    }
}

impl ConformancePlatform for Appsflyer {
    const CONNECTOR: ConnectorKind = ConnectorKind::Appsflyer;
    const SANDBOX: sandbox::Connector = sandbox::Connector::Appsflyer;
    /// The Pull API has no paging: one CSV per window chunk.
    const SMALL_PAGES: &'static [(&'static str, &'static str)] = &[];
    const TOKEN_RENEWAL: TokenRenewal = TokenRenewal::Never;
    const MALFORMED_FIELD: &'static str = "Total Cost";
    /// A quota answer for a range of three days or more blocks until the next 00:00 UTC, which
    /// is anywhere up to a day after the job ran.
    const THROTTLE_SNOOZE: RangeInclusive<Duration> =
        Duration::ZERO..=Duration::from_secs(24 * 3600);

    fn account() -> TestAccount {
        test_account("com.adsync.puzzle")
    }

    fn empty_account() -> TestAccount {
        test_account(appsflyer::NO_DELIVERY_APP_ID)
    }

    fn issue_tokens(sandbox: &Sandbox) -> IssuedTokens {
        // An API V2 token: no expiry, no refresh token.
        sandbox.issue_tokens(Self::SANDBOX, None, false)
    }

    fn report() -> ReportSpec {
        let metrics: Vec<String> = [
            "impressions",
            "clicks",
            "spend",
            "conversions",
            "conversion_value",
            "ctr",
            "cpa",
            "roas",
        ]
        .iter()
        .map(|m| (*m).to_owned())
        .collect();
        connectors::catalogue(ConnectorKind::Appsflyer)
            .parse_report(RawReport {
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
        let facts = appsflyer::app(&account.external_id).unwrap();
        let geo = report.breakdowns.contains(&Breakdown::Country);
        let source = if geo {
            Report::GeoByDateReport
        } else {
            Report::PartnersByDateReport
        };
        let rows = appsflyer::report_rows(
            &facts,
            source,
            &Selection::range(window.start(), window.end()),
            sandbox.today_for(&facts),
        );
        summed(&facts, &rows, report)
    }

    fn entity_truth(_sandbox: &Sandbox, _account: &TestAccount, _level: ReportLevel) -> Vec<Row> {
        // The catalogue has no AppsFlyer entities; the suite asks for none.
        Vec::new()
    }

    fn reachable_accounts(_sandbox: &Sandbox) -> Vec<AccountInfo> {
        appsflyer::LISTED_APP_IDS
            .iter()
            .map(|id| {
                let facts = appsflyer::app(id).unwrap();
                AccountInfo {
                    external_id: facts.id,
                    name: facts.name,
                    time_zone: facts.time_zone.name().to_owned(),
                    currency: facts.currency.code().to_owned(),
                    reached_through: None,
                }
            })
            .collect()
    }
}

fn add(total: &mut Option<Decimal>, value: Option<Decimal>) {
    if let Some(value) = value {
        *total = Some(total.unwrap_or_default() + value);
    }
}

/// The platform's rows summed to the report's level, in its fetched layout: a campaign is a
/// media source and a campaign (`campaign_id` = `<pid>|<campaign>`, or the pid alone, with an
/// empty name), agencies summed; the account level sums every row of a date.
fn summed(facts: &AppFacts, rows: &[ReportRow], report: &ReportSpec) -> Vec<Row> {
    let money = |minor: u64| Decimal::new(i64::try_from(minor).unwrap(), facts.currency.decimals());
    let count = |value: u64| Decimal::from(value);
    let mut groups: BTreeMap<_, Vec<Option<Decimal>>> = BTreeMap::new();
    for row in rows {
        let mut texts = Vec::new();
        if report.level == ReportLevel::Campaign {
            let id = match &row.campaign {
                Some(campaign) => format!("{}|{campaign}", row.media_source),
                None => row.media_source.clone(),
            };
            texts.push(Some(id));
            texts.push(Some(row.campaign.clone().unwrap_or_default()));
        }
        if report.breakdowns.contains(&Breakdown::Country) {
            texts.push(Some(row.country.clone().unwrap_or_default()));
        }
        let numbers = &row.numbers;
        let values: Vec<Option<Decimal>> = report
            .fetched_metrics()
            .iter()
            .map(|metric| match metric.as_str() {
                "impressions" => numbers.impressions.map(count),
                "clicks" => numbers.clicks.map(count),
                "spend" => numbers.cost_minor.map(money),
                "conversions" => Some(count(numbers.installs)),
                "conversion_value" => Some(money(numbers.revenue_minor)),
                other => panic!("appsflyer has no {other}"),
            })
            .collect();
        let sums = groups
            .entry((row.date.unwrap(), texts))
            .or_insert_with(|| vec![None; values.len()]);
        for (sum, value) in sums.iter_mut().zip(values) {
            add(sum, value);
        }
    }
    groups
        .into_iter()
        .map(|((date, texts), numbers)| Row {
            date: Some(date),
            texts,
            numbers,
        })
        .collect()
}

crate::conformance_suite!(Appsflyer);

/// The app's totals (account level, no breakdown): `partners_by_date_report` summed per date.
/// Too few rows for the suite's paging check; these tests run the checks that fit.
pub(crate) struct AppsflyerAppTotals;

impl ConformancePlatform for AppsflyerAppTotals {
    const CONNECTOR: ConnectorKind = Appsflyer::CONNECTOR;
    const SANDBOX: sandbox::Connector = Appsflyer::SANDBOX;
    const SMALL_PAGES: &'static [(&'static str, &'static str)] = Appsflyer::SMALL_PAGES;
    const TOKEN_RENEWAL: TokenRenewal = Appsflyer::TOKEN_RENEWAL;
    const MALFORMED_FIELD: &'static str = Appsflyer::MALFORMED_FIELD;
    const THROTTLE_SNOOZE: RangeInclusive<Duration> = Appsflyer::THROTTLE_SNOOZE;

    fn account() -> TestAccount {
        // An app in yen: money without decimals.
        test_account("jp.adsync.nikki")
    }

    fn empty_account() -> TestAccount {
        Appsflyer::empty_account()
    }

    fn issue_tokens(sandbox: &Sandbox) -> IssuedTokens {
        Appsflyer::issue_tokens(sandbox)
    }

    fn report() -> ReportSpec {
        connectors::catalogue(ConnectorKind::Appsflyer)
            .performance(
                "account",
                &["spend", "conversions", "conversion_value", "cpa", "roas"],
            )
            .unwrap()
    }

    fn truth(
        sandbox: &Sandbox,
        account: &TestAccount,
        report: &ReportSpec,
        window: DateWindow,
    ) -> Vec<Row> {
        Appsflyer::truth(sandbox, account, report, window)
    }

    fn entity_truth(sandbox: &Sandbox, account: &TestAccount, level: ReportLevel) -> Vec<Row> {
        Appsflyer::entity_truth(sandbox, account, level)
    }

    fn reachable_accounts(sandbox: &Sandbox) -> Vec<AccountInfo> {
        Appsflyer::reachable_accounts(sandbox)
    }
}

#[tokio::test]
async fn app_totals_are_restated_like_the_campaign_rows() {
    super::a_rerun_after_the_platform_restates_a_day_stores_the_new_numbers::<AppsflyerAppTotals>()
        .await;
}

#[tokio::test]
async fn app_totals_survive_server_errors_and_match_the_truth() {
    super::server_errors_are_transient_and_the_retry_writes_exactly_the_truth::<AppsflyerAppTotals>(
    )
    .await;
}

#[tokio::test]
async fn app_totals_of_an_app_without_delivery_are_empty() {
    super::an_account_without_delivery_gives_no_rows::<AppsflyerAppTotals>().await;
}
