//! Meta Marketing API in the conformance suite: the example other platforms follow.
//!
//! The suite's report is at campaign level with every Meta metric (conversions are the
//! `purchase` actions), the derived ones, and the `publisher_platform, platform_position`
//! breakdowns, so the connector reads it with asynchronous report runs. Below the suite, tests
//! of Meta's own behaviours: the synchronous path shrinking its window on "reduce the amount of
//! data", and report runs that fail.

use std::ops::RangeInclusive;
use std::time::Duration;

use connectors::AccountInfo;
use connectors::rows::Row;
use rust_decimal::Decimal;
use sandbox::meta_ads::{self, Breakdown, EntityKind, Level, RowsQuery, TruthRow};
use sandbox::{IssuedTokens, Sandbox};
use shared::domain::{ConnectorKind, DateWindow, ReportLevel, ReportSpec};

use super::{ConformancePlatform, TestAccount, TokenRenewal};

pub(crate) struct MetaAds;

fn test_account(id: &str) -> TestAccount {
    let facts = meta_ads::account(id).expect("a valid Meta account id");
    TestAccount {
        external_id: facts.id,
        time_zone: facts.time_zone.name().to_owned(),
        currency: facts.currency.code().to_owned(),
    }
}

fn decimal(value: u64) -> Option<Decimal> {
    Some(Decimal::from(value))
}

/// An amount in minor units as an exact decimal in major units.
fn money(minor: u64, decimals: u32) -> Option<Decimal> {
    Some(Decimal::new(i64::try_from(minor).unwrap(), decimals).normalize())
}

fn level_of(level: ReportLevel) -> Level {
    match level {
        ReportLevel::Account => Level::Account,
        ReportLevel::Campaign => Level::Campaign,
        ReportLevel::AdGroup => Level::AdSet,
        ReportLevel::Ad => Level::Ad,
    }
}

fn breakdown_of(breakdown: shared::domain::Breakdown) -> Breakdown {
    match breakdown {
        shared::domain::Breakdown::Age => Breakdown::Age,
        shared::domain::Breakdown::Gender => Breakdown::Gender,
        shared::domain::Breakdown::Country => Breakdown::Country,
        shared::domain::Breakdown::Platform => Breakdown::PublisherPlatform,
        shared::domain::Breakdown::Placement => Breakdown::PlatformPosition,
    }
}

impl ConformancePlatform for MetaAds {
    const CONNECTOR: ConnectorKind = ConnectorKind::MetaAds;
    const SANDBOX: sandbox::Connector = sandbox::Connector::MetaAds;
    const SMALL_PAGES: &'static [(&'static str, &'static str)] =
        &[("ADSYNC__CONNECTORS__META_ADS__PAGE_SIZE", "25")];
    const TOKEN_RENEWAL: TokenRenewal = TokenRenewal::Renews {
        route: "/v{version}/oauth/access_token",
    };
    const MALFORMED_FIELD: &'static str = "spend";
    /// The throttle answer's usage headers estimate a minute until access is regained.
    const THROTTLE_SNOOZE: RangeInclusive<Duration> =
        Duration::from_secs(55)..=Duration::from_secs(65);

    fn account() -> TestAccount {
        test_account("1001")
    }

    fn empty_account() -> TestAccount {
        test_account(meta_ads::EMPTY_ACCOUNT_ID)
    }

    fn issue_tokens(sandbox: &Sandbox) -> IssuedTokens {
        // A long-lived user token: about 60 days, no refresh token (Meta re-exchanges instead).
        sandbox.issue_tokens(
            Self::SANDBOX,
            Some(Duration::from_secs(60 * 24 * 3600)),
            false,
        )
    }

    fn report() -> ReportSpec {
        let metrics: Vec<String> = [
            "impressions",
            "clicks",
            "spend",
            "reach",
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
        let breakdowns = ["platform", "placement"].map(str::to_owned).to_vec();
        connectors::catalogue(ConnectorKind::MetaAds)
            .parse_report(shared::domain::report::RawReport {
                stream: None,
                level: "campaign",
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
        let facts = meta_ads::account(&account.external_id).unwrap();
        let query = RowsQuery {
            level: level_of(report.level),
            breakdowns: report.breakdowns.iter().map(|b| breakdown_of(*b)).collect(),
            since: window.start(),
            until: window.end(),
            today: sandbox.today_for(&facts),
            increment: meta_ads::TimeIncrement::Daily,
        };
        meta_ads::insights_truth_for(&account.external_id, &query)
            .iter()
            .map(|row| truth_row(row, report, facts.currency.decimals()))
            .collect()
    }

    fn entity_truth(sandbox: &Sandbox, account: &TestAccount, level: ReportLevel) -> Vec<Row> {
        let facts = meta_ads::account(&account.external_id).unwrap();
        let decimals = facts.currency.decimals();
        let kind = match level {
            ReportLevel::Campaign => EntityKind::Campaign,
            ReportLevel::AdGroup => EntityKind::AdSet,
            ReportLevel::Ad => EntityKind::Ad,
            ReportLevel::Account => panic!("Meta has no account entities"),
        };
        meta_ads::entities_truth(&account.external_id, kind, sandbox.today_for(&facts))
            .into_iter()
            .map(|entity| {
                // The campaign and ad group columns name the entity's parents only, as on
                // every platform.
                let campaign_id = match kind {
                    EntityKind::Campaign => None,
                    EntityKind::AdSet | EntityKind::Ad => entity.campaign_id.clone(),
                };
                let ad_group_id = match kind {
                    EntityKind::Campaign | EntityKind::AdSet => None,
                    EntityKind::Ad => entity.adset_id.clone(),
                };
                Row {
                    date: None,
                    texts: vec![
                        Some(entity.id),
                        Some(entity.name),
                        campaign_id,
                        ad_group_id,
                        Some(entity.status),
                        entity.objective,
                        entity.creative_id,
                        entity.creative_name,
                    ],
                    numbers: vec![
                        entity.daily_budget.and_then(|minor| money(minor, decimals)),
                        entity
                            .lifetime_budget
                            .and_then(|minor| money(minor, decimals)),
                    ],
                }
            })
            .collect()
    }

    fn reachable_accounts(_sandbox: &Sandbox) -> Vec<AccountInfo> {
        meta_ads::reachable_accounts()
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
        texts.extend([row.adset_id.clone(), row.adset_name.clone()]);
    }
    if report.level == ReportLevel::Ad {
        texts.extend([row.ad_id.clone(), row.ad_name.clone()]);
    }
    for breakdown in &report.breakdowns {
        let value = row.breakdown(breakdown_of(*breakdown)).map(str::to_owned);
        // adsync stores countries upper-case, as Meta sends them.
        texts.push(value);
    }
    let numbers = report
        .fetched_metrics()
        .iter()
        .map(|metric| match metric.as_str() {
            "impressions" => decimal(row.impressions),
            "clicks" => decimal(row.clicks),
            "reach" => decimal(row.reach),
            "spend" => money(row.spend_minor, currency_decimals),
            "conversions" => decimal(row.purchases),
            "conversion_value" => money(row.purchase_value_minor, currency_decimals),
            other => panic!("the Meta truth has no {other}"),
        })
        .collect();
    Row {
        date: Some(row.date_start),
        texts,
        numbers,
    }
}

crate::conformance_suite!(MetaAds);
