//! Meta Marketing API in the conformance suite: the example other platforms follow.

use std::ops::RangeInclusive;
use std::time::Duration;

use rust_decimal::Decimal;
use sandbox::meta_ads::{self, Level, TruthRow};
use sandbox::{IssuedTokens, Sandbox};
use shared::domain::{ConnectorKind, DateWindow, ReportLevel, ReportSpec};
use worker::connectors::AccountInfo;
use worker::rows::Row;

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
        ReportSpec::performance(
            ConnectorKind::MetaAds,
            "campaign",
            &[
                "impressions",
                "clicks",
                "spend",
                "reach",
                "ctr",
                "cpc",
                "cpm",
            ],
        )
        .unwrap()
    }

    fn truth(
        sandbox: &Sandbox,
        account: &TestAccount,
        report: &ReportSpec,
        window: DateWindow,
    ) -> Vec<Row> {
        let facts = meta_ads::account(&account.external_id).unwrap();
        let level = match report.level {
            ReportLevel::Account => Level::Account,
            ReportLevel::Campaign => Level::Campaign,
            ReportLevel::AdGroup => Level::AdSet,
            ReportLevel::Ad => Level::Ad,
        };
        meta_ads::insights_truth(
            &account.external_id,
            level,
            window.start(),
            window.end(),
            sandbox.today_for(&facts),
        )
        .iter()
        .map(|row| truth_row(row, report, facts.currency.decimals()))
        .collect()
    }

    fn entity_truth(_sandbox: &Sandbox, account: &TestAccount, level: ReportLevel) -> Vec<Row> {
        meta_ads::entities_truth(&account.external_id, level.as_str())
            .into_iter()
            .map(|entity| Row {
                date: None,
                texts: entity.texts,
                numbers: entity
                    .budgets
                    .iter()
                    .map(|budget| budget.as_deref().map(|text| text.parse().unwrap()))
                    .collect(),
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
            })
            .collect()
    }
}

/// A truth row in the fetched layout of `report` (campaign level, no breakdowns).
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
    let numbers = report
        .fetched_metrics()
        .iter()
        .map(|metric| match metric.as_str() {
            "impressions" => decimal(row.impressions),
            "clicks" => decimal(row.clicks),
            "reach" => decimal(row.reach),
            "spend" => Some(Decimal::new(
                i64::try_from(row.spend_minor).unwrap(),
                currency_decimals,
            )),
            other => panic!("the Meta truth has no {other} yet"),
        })
        .collect();
    Row {
        date: Some(row.date_start),
        texts,
        numbers,
    }
}

crate::conformance_suite!(MetaAds);
