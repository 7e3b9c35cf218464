//! The data the Meta endpoints serve: deterministic, string-encoded, bounded by the account's
//! today and campaign starts, consistent across levels.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sandbox::SandboxConfig;
use sandbox::meta_ads::{self, Currency, Level, TimeIncrement};
use serde_json::Value;

use crate::{
    METRICS, date, expected_json, find_account, minor_units, start, start_frozen, time_range,
};

fn daily(level: &str, since: &str, until: &str, fields: &str) -> Vec<(&'static str, String)> {
    vec![
        ("level", level.to_owned()),
        ("time_increment", "1".to_owned()),
        ("time_range", time_range(since, until)),
        ("fields", fields.to_owned()),
        ("limit", "5000".to_owned()),
    ]
}

#[tokio::test]
async fn every_metric_is_a_json_string_and_ids_exceed_two_to_the_53() {
    let sandbox = start_frozen().await;
    let fields = format!(
        "account_id,campaign_id,adset_id,ad_id,{}",
        METRICS.join(",")
    );
    let reply = sandbox
        .insights("8080", &daily("ad", "2025-06-20", "2025-06-30", &fields))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let rows = reply.rows();
    assert!(!rows.is_empty());
    for row in &rows {
        for (name, value) in row.as_object().unwrap() {
            assert!(value.is_string(), "{name} is {value}");
        }
        assert_eq!(row["account_id"], "8080", "no act_ prefix in rows");
        for id in ["campaign_id", "adset_id", "ad_id"] {
            let id: u64 = row[id].as_str().unwrap().parse().unwrap();
            assert!(id > 1 << 53);
        }
    }
}

#[tokio::test]
async fn two_sandboxes_serve_identical_data() {
    let first = start_frozen().await;
    let second = start_frozen().await;
    let query = daily(
        "adset",
        "2025-04-01",
        "2025-06-30",
        "adset_id,adset_name,impressions,clicks,spend,reach,ctr,cpc,cpm,frequency",
    );
    for account in ["1", "42", "123456789012"] {
        let a = first.insights(account, &query).await;
        let b = second.insights(account, &query).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.body, b.body, "account {account}");
    }
}

#[tokio::test]
async fn jpy_accounts_spend_whole_yen_and_others_use_cents() {
    let sandbox = start_frozen().await;
    let yen = find_account(|account| account.currency == Currency::Jpy);
    let reply = sandbox
        .insights(
            &yen.id,
            &daily("ad", "2025-06-01", "2025-06-30", "account_currency,spend"),
        )
        .await;
    assert!(!reply.rows().is_empty());
    for row in reply.rows() {
        assert_eq!(row["account_currency"], "JPY");
        let spend = row["spend"].as_str().unwrap();
        assert!(!spend.contains('.'), "yen spend {spend} has no decimals");
    }

    let dollars = find_account(|account| account.currency == Currency::Usd);
    let reply = sandbox
        .insights(
            &dollars.id,
            &daily("ad", "2025-06-01", "2025-06-30", "spend"),
        )
        .await;
    let spends: Vec<String> = reply
        .rows()
        .iter()
        .map(|row| row["spend"].as_str().unwrap().to_owned())
        .collect();
    assert!(spends.iter().any(|spend| spend.contains('.')));
    assert!(
        spends
            .iter()
            .all(|spend| !spend.ends_with('0') || !spend.contains('.')),
        "no trailing zeros: {spends:?}"
    );
}

#[tokio::test]
async fn dates_after_the_accounts_today_have_no_rows() {
    // At 02:00 UTC it is still the previous day in Los Angeles but already today in Tokyo.
    let now: DateTime<Utc> = "2025-06-30T02:00:00Z".parse().unwrap();
    let sandbox = start(SandboxConfig {
        now: Some(now),
        ..SandboxConfig::default()
    })
    .await;
    for (time_zone, today) in [
        (Tz::America__Los_Angeles, "2025-06-29"),
        (Tz::Asia__Tokyo, "2025-06-30"),
    ] {
        let account = find_account(|account| account.time_zone == time_zone);
        assert_eq!(sandbox.sandbox.today_for(&account), date(today));
        let reply = sandbox
            .insights(
                &account.id,
                &daily("account", "2025-06-20", "2025-07-15", "impressions"),
            )
            .await;
        let last = reply.rows().last().unwrap()["date_start"].clone();
        assert_eq!(last, Value::from(today), "{time_zone}");
    }
}

#[tokio::test]
async fn no_rows_exist_before_a_campaign_starts() {
    let sandbox = start_frozen().await;
    let account = meta_ads::account("9000").unwrap();
    let today = sandbox.sandbox.today_for(&account);
    let recent = &account.campaigns[1];
    let start_date = recent.start_date(today);
    assert!(
        start_date > date("2025-05-15"),
        "the second campaign is recent"
    );

    let reply = sandbox
        .insights(
            &account.id,
            &daily("campaign", "2025-05-01", "2025-06-30", "campaign_id"),
        )
        .await;
    let dates: Vec<String> = reply
        .rows()
        .iter()
        .filter(|row| row["campaign_id"] == recent.id.as_str())
        .map(|row| row["date_start"].as_str().unwrap().to_owned())
        .collect();
    assert!(!dates.is_empty());
    assert!(dates.iter().all(|day| date(day) >= start_date));
}

#[tokio::test]
async fn campaign_adset_and_ad_rows_sum_to_the_account_row_each_day() {
    // Arrange
    let sandbox = start_frozen().await;
    let account = meta_ads::account("777").unwrap();
    let decimals = account.currency.decimals();
    let fields = "impressions,clicks,spend,reach";
    let totals = |rows: Vec<Value>| {
        let mut by_day: BTreeMap<String, [u64; 4]> = BTreeMap::new();
        for row in rows {
            let sums = by_day
                .entry(row["date_start"].as_str().unwrap().to_owned())
                .or_default();
            sums[0] += row["impressions"].as_str().unwrap().parse::<u64>().unwrap();
            sums[1] += row["clicks"].as_str().unwrap().parse::<u64>().unwrap();
            sums[2] += minor_units(row["spend"].as_str().unwrap(), decimals);
            sums[3] += row["reach"].as_str().unwrap().parse::<u64>().unwrap();
        }
        by_day
    };

    // Act
    let mut per_level = Vec::new();
    for level in ["account", "campaign", "adset", "ad"] {
        let reply = sandbox
            .insights(
                &account.id,
                &daily(level, "2025-05-15", "2025-06-30", fields),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        per_level.push((level, totals(reply.rows())));
    }

    // Assert
    let (_, account_totals) = &per_level[0];
    assert_eq!(account_totals.len(), 47, "one account row per day");
    for (level, level_totals) in &per_level[1..] {
        assert_eq!(level_totals, account_totals, "{level}");
    }
}

#[tokio::test]
async fn all_days_gives_one_row_per_object_for_the_whole_range() {
    let sandbox = start_frozen().await;
    let account = meta_ads::account("31337").unwrap();
    let today = sandbox.sandbox.today_for(&account);
    let fields = ["campaign_id", "impressions", "spend", "ctr"];
    let reply = sandbox
        .insights(
            &account.id,
            &[
                ("level", "campaign".to_owned()),
                ("time_increment", "all_days".to_owned()),
                ("time_range", time_range("2025-06-01", "2025-06-30")),
                ("fields", fields.join(",")),
            ],
        )
        .await;
    let truth = meta_ads::insights_truth_with(
        &account.id,
        Level::Campaign,
        date("2025-06-01"),
        date("2025-06-30"),
        today,
        TimeIncrement::AllDays,
    );
    let expected: Vec<_> = truth
        .iter()
        .map(|row| expected_json(row, &fields))
        .collect();
    assert_eq!(reply.rows(), expected);
    assert!(
        reply
            .rows()
            .iter()
            .all(|row| row["date_start"] == "2025-06-01" && row["date_stop"] == "2025-06-30")
    );
}

#[tokio::test]
async fn the_ad_account_node_answers_with_the_accounts_facts() {
    let sandbox = start_frozen().await;
    let account = meta_ads::account("4711").unwrap();
    let reply = sandbox
        .get(
            "/meta_ads/v24.0/act_4711",
            &[
                ("access_token", "t".to_owned()),
                (
                    "fields",
                    "account_id,name,currency,timezone_name".to_owned(),
                ),
            ],
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body,
        serde_json::json!({
            "id": "act_4711",
            "account_id": "4711",
            "name": "Sandbox Account 4711",
            "currency": account.currency.code(),
            "timezone_name": account.time_zone.name(),
        })
    );
}

#[tokio::test]
async fn the_truth_and_account_control_routes_match_the_pure_functions() {
    let sandbox = start_frozen().await;
    let account = meta_ads::account("2468").unwrap();
    let today = sandbox.sandbox.today_for(&account);
    let truth = meta_ads::insights_truth(
        &account.id,
        Level::AdSet,
        date("2025-06-01"),
        date("2025-06-30"),
        today,
    );
    let reply = sandbox
        .get(
            "/_sandbox/meta_ads/accounts/2468/truth",
            &[
                ("level", "adset".to_owned()),
                ("since", "2025-06-01".to_owned()),
                ("until", "2025-06-30".to_owned()),
            ],
        )
        .await;
    assert_eq!(reply.status, 200);
    let served: Vec<meta_ads::TruthRow> = serde_json::from_value(reply.body).unwrap();
    assert_eq!(served, truth);

    let facts = sandbox.get("/_sandbox/meta_ads/accounts/2468", &[]).await;
    assert_eq!(facts.body["today"], today.to_string());
    assert_eq!(facts.body["currency"], account.currency.code());
    assert_eq!(
        facts.body["campaigns"].as_array().unwrap().len(),
        account.campaigns.len()
    );
    assert_eq!(
        facts.body["campaigns"][0]["id"],
        account.campaigns[0].id.as_str()
    );

    let missing = sandbox.get("/_sandbox/meta_ads/accounts/act_1", &[]).await;
    assert_eq!(missing.status, 404);
    let bad = sandbox
        .get(
            "/_sandbox/meta_ads/accounts/1/truth",
            &[("since", "2025-06-01".to_owned())],
        )
        .await;
    assert_eq!(
        (bad.status, bad.body["field"].as_str()),
        (400, Some("until"))
    );
}
