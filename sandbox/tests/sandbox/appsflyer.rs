//! AppsFlyer over HTTP: aggregate reports as CSV, the app list, error answers, quotas, faults,
//! tokens and restatement.

use std::time::{Duration, Instant};

use sandbox::appsflyer::{
    self, AppsflyerConfig, LISTED_APP_IDS, NO_DELIVERY_APP_ID, Report, Selection, UNKNOWN_APP_ID,
};
use sandbox::{Connector, Fault, FaultKind, SandboxConfig};

use crate::{TestSandbox, date, frozen_now, start, start_frozen};

const TOKEN: &str = "af-test-token";

/// A parsed CSV answer.
struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn column(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|column| column == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.header))
    }

    fn values(&self, name: &str) -> Vec<String> {
        let index = self.column(name);
        self.rows.iter().map(|row| row[index].clone()).collect()
    }
}

/// RFC 4180: quoted fields may hold commas, doubled quotes and line breaks.
fn parse_csv(text: &str) -> Csv {
    let mut records: Vec<Vec<String>> = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && record.is_empty(), "a final line break");
    let mut records = records.into_iter();
    let header = records.next().expect("a header row");
    let rows: Vec<Vec<String>> = records.collect();
    assert!(rows.iter().all(|row| row.len() == header.len()));
    Csv { header, rows }
}

struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

impl TestSandbox {
    async fn appsflyer(&self, path: &str, token: Option<&str>, query: &[(&str, &str)]) -> Answer {
        let mut request = self
            .client
            .get(self.url(&format!("/appsflyer/api{path}")))
            .query(query);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        Answer {
            status: response.status().as_u16(),
            content_type: response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default(),
            body: response.text().await.unwrap(),
        }
    }

    async fn aggregate_report(&self, app: &str, report: &str, from: &str, to: &str) -> Answer {
        self.appsflyer(
            &format!("/agg-data/export/app/{app}/{report}/v5"),
            Some(TOKEN),
            &[("from", from), ("to", to)],
        )
        .await
    }
}

#[tokio::test]
async fn partners_by_date_reports_are_csv_with_appsflyers_columns_and_the_truths_rows() {
    let sandbox = start_frozen().await;
    let app = appsflyer::app("com.adsync.puzzle").unwrap();
    let answer = sandbox
        .aggregate_report(
            &app.id,
            "partners_by_date_report",
            "2025-06-01",
            "2025-06-30",
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.content_type, "text/csv; charset=utf-8");
    let csv = parse_csv(&answer.body);
    assert_eq!(
        &csv.header[..8],
        [
            "Date",
            "Agency/PMD (af_prt)",
            "Media Source (pid)",
            "Campaign (c)",
            "Impressions",
            "Clicks",
            "CTR",
            "Installs"
        ]
    );
    assert!(csv.header.contains(&"Total Cost".to_owned()));
    assert!(
        csv.header
            .contains(&"af_purchase (Sales in USD)".to_owned())
    );
    let today = sandbox.sandbox.today_for(&app);
    let truth = appsflyer::report_rows(
        &app,
        Report::PartnersByDateReport,
        &Selection::range(date("2025-06-01"), date("2025-06-30")),
        today,
    );
    assert_eq!(csv.rows.len(), truth.len());
    let expected_dates: Vec<String> = truth.iter().map(|r| r.date.unwrap().to_string()).collect();
    assert_eq!(csv.values("Date"), expected_dates);
    let expected_campaigns: Vec<String> = truth
        .iter()
        .map(|r| r.campaign.clone().unwrap_or_else(|| "N/A".into()))
        .collect();
    assert_eq!(csv.values("Campaign (c)"), expected_campaigns);
    let installs: Vec<String> = truth
        .iter()
        .map(|r| r.numbers.installs.to_string())
        .collect();
    assert_eq!(csv.values("Installs"), installs);
    // Organic rows have no impressions or cost.
    let organic = csv
        .rows
        .iter()
        .find(|row| row[csv.column("Media Source (pid)")] == "Organic")
        .unwrap();
    assert_eq!(organic[csv.column("Impressions")], "N/A");
    assert_eq!(organic[csv.column("Total Cost")], "NULL");
}

#[tokio::test]
async fn geo_reports_add_a_country_column_and_split_the_same_totals() {
    let sandbox = start_frozen().await;
    let partners = parse_csv(
        &sandbox
            .aggregate_report(
                "id1234567890",
                "partners_by_date_report",
                "2025-06-20",
                "2025-06-29",
            )
            .await
            .body,
    );
    let geo = parse_csv(
        &sandbox
            .aggregate_report(
                "id1234567890",
                "geo_by_date_report",
                "2025-06-20",
                "2025-06-29",
            )
            .await
            .body,
    );
    assert_eq!(&geo.header[..2], ["Date", "Country"]);
    let total = |csv: &Csv| -> u64 {
        csv.values("Installs")
            .iter()
            .map(|v| v.parse::<u64>().unwrap())
            .sum()
    };
    assert_eq!(total(&partners), total(&geo));
    assert!(geo.values("Country").iter().all(|c| c.len() == 2));
}

#[tokio::test]
async fn names_with_commas_quotes_and_non_ascii_survive_csv_quoting() {
    let sandbox = start_frozen().await;
    let mut names = Vec::new();
    for id in LISTED_APP_IDS {
        let answer = sandbox
            .aggregate_report(id, "partners_report", "2025-06-01", "2025-06-30")
            .await;
        assert_eq!(answer.status, 200, "{id}: {}", answer.body);
        names.extend(parse_csv(&answer.body).values("Campaign (c)"));
    }
    assert!(names.iter().any(|name| name.contains(',')), "{names:?}");
    assert!(names.iter().any(|name| !name.is_ascii()), "{names:?}");
}

#[tokio::test]
async fn an_app_without_delivery_answers_a_header_only() {
    let sandbox = start_frozen().await;
    let answer = sandbox
        .aggregate_report(
            NO_DELIVERY_APP_ID,
            "geo_by_date_report",
            "2025-06-01",
            "2025-06-30",
        )
        .await;
    assert_eq!(answer.status, 200);
    let csv = parse_csv(&answer.body);
    assert!(csv.rows.is_empty());
    assert_eq!(csv.header[1], "Country");
}

#[tokio::test]
async fn refused_requests_get_appsflyers_status_and_body() {
    let sandbox = start_frozen().await;
    let path = "/agg-data/export/app/com.adsync.cafe/partners_by_date_report/v5";
    let range = [("from", "2025-06-01"), ("to", "2025-06-30")];

    let missing = sandbox.appsflyer(path, None, &range).await;
    assert_eq!(missing.status, 401);
    assert!(missing.body.contains("Supplied API token is invalid"));

    sandbox.sandbox.revoke_token(Connector::Appsflyer, "dead");
    let revoked = sandbox.appsflyer(path, Some("dead"), &range).await;
    assert_eq!(revoked.status, 401);

    let unknown = sandbox
        .appsflyer(
            &format!("/agg-data/export/app/{UNKNOWN_APP_ID}/partners_by_date_report/v5"),
            Some(TOKEN),
            &range,
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.content_type.starts_with("text/html"));

    let reversed = sandbox
        .appsflyer(
            path,
            Some(TOKEN),
            &[("from", "2025-06-30"), ("to", "2025-06-01")],
        )
        .await;
    assert_eq!(reversed.status, 400);
    let message: serde_json::Value = serde_json::from_str(&reversed.body).unwrap();
    assert!(message["message"].as_str().unwrap().contains("after"));

    let too_long = sandbox
        .appsflyer(
            path,
            Some(TOKEN),
            &[("from", "2024-01-01"), ("to", "2025-06-01")],
        )
        .await;
    assert_eq!(too_long.status, 400);
    assert!(sandbox.sandbox.unknown_routes().is_empty());

    let raw = sandbox
        .appsflyer(
            "/raw-data/export/app/com.adsync.cafe/installs_report/v5",
            Some(TOKEN),
            &range,
        )
        .await;
    assert_eq!(raw.status, 404);
    assert_eq!(sandbox.sandbox.unknown_routes().len(), 1);
}

#[tokio::test]
async fn the_apps_own_time_zone_is_accepted_and_others_are_refused() {
    let sandbox = start_frozen().await;
    let app = appsflyer::LISTED_APP_IDS
        .iter()
        .filter_map(|id| appsflyer::app(id))
        .find(|app| app.time_zone != chrono_tz::Tz::UTC)
        .unwrap();
    let path = format!("/agg-data/export/app/{}/partners_by_date_report/v5", app.id);
    let own = sandbox
        .appsflyer(
            &path,
            Some(TOKEN),
            &[
                ("from", "2025-06-01"),
                ("to", "2025-06-30"),
                ("timezone", app.time_zone.name()),
            ],
        )
        .await;
    assert_eq!(own.status, 200, "{}", own.body);
    let utc = sandbox
        .appsflyer(
            &path,
            Some(TOKEN),
            &[
                ("from", "2025-06-01"),
                ("to", "2025-06-30"),
                ("timezone", "UTC"),
            ],
        )
        .await;
    assert_eq!(utc.status, 400);
}

fn limited(config: AppsflyerConfig) -> SandboxConfig {
    SandboxConfig {
        now: Some(frozen_now()),
        appsflyer: config,
        ..SandboxConfig::default()
    }
}

#[tokio::test]
async fn daily_quotas_answer_403_limit_reached_until_midnight_utc() {
    let sandbox = start(limited(AppsflyerConfig {
        daily_calls_per_app_report: 2,
        ..AppsflyerConfig::default()
    }))
    .await;
    let call = || {
        sandbox.aggregate_report(
            "com.adsync.cafe",
            "partners_by_date_report",
            "2025-06-01",
            "2025-06-30",
        )
    };
    assert_eq!(call().await.status, 200);
    assert_eq!(call().await.status, 200);
    let refused = call().await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body, "Limit reached for partners_by_date_report");
    // Another report of the same app has its own quota.
    assert_eq!(
        sandbox
            .aggregate_report(
                "com.adsync.cafe",
                "geo_by_date_report",
                "2025-06-01",
                "2025-06-30"
            )
            .await
            .status,
        200
    );
    sandbox
        .sandbox
        .set_now(Some("2025-06-30T23:59:59Z".parse().unwrap()));
    assert_eq!(call().await.status, 403);
    sandbox
        .sandbox
        .set_now(Some("2025-07-01T00:00:00Z".parse().unwrap()));
    assert_eq!(call().await.status, 200);
}

#[tokio::test]
async fn short_ranges_may_be_pulled_once_a_minute() {
    let sandbox = start_frozen().await;
    let call = || {
        sandbox.aggregate_report(
            "com.adsync.cafe",
            "partners_by_date_report",
            "2025-06-29",
            "2025-06-30",
        )
    };
    assert_eq!(call().await.status, 200);
    let refused = call().await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.starts_with("Limit reached for "));
    sandbox
        .sandbox
        .set_now(Some(frozen_now() + chrono::Duration::seconds(60)));
    assert_eq!(call().await.status, 200);
}

#[tokio::test]
async fn bursts_get_429() {
    let sandbox = start(limited(AppsflyerConfig {
        calls_per_second_per_account: 1,
        ..AppsflyerConfig::default()
    }))
    .await;
    assert_eq!(
        sandbox
            .aggregate_report("id1234567890", "daily_report", "2025-06-01", "2025-06-30")
            .await
            .status,
        200
    );
    let burst = sandbox
        .aggregate_report(
            "com.adsync.cafe",
            "daily_report",
            "2025-06-01",
            "2025-06-30",
        )
        .await;
    assert_eq!(burst.status, 429);
}

#[tokio::test]
async fn each_fault_is_answered_as_appsflyer_would_and_does_not_count_against_quotas() {
    let sandbox = start(limited(AppsflyerConfig {
        daily_calls_per_app_report: 1,
        ..AppsflyerConfig::default()
    }))
    .await;
    let cases = [
        (
            FaultKind::Throttle,
            403,
            "Limit reached for partners_by_date_report",
        ),
        (FaultKind::ServerError, 500, "Internal Server Error"),
        (
            FaultKind::ExpiredToken,
            401,
            "Supplied API token is invalid",
        ),
        (FaultKind::ReduceData, 504, "504 Gateway Time-out"),
    ];
    for (kind, status, body) in cases {
        sandbox
            .sandbox
            .add_fault(Fault::new(Connector::Appsflyer, kind).account("com.adsync.cafe"));
        let answer = sandbox
            .aggregate_report(
                "com.adsync.cafe",
                "partners_by_date_report",
                "2025-06-01",
                "2025-06-30",
            )
            .await;
        assert_eq!(answer.status, status, "{kind}");
        assert!(answer.body.contains(body), "{kind}: {}", answer.body);
    }
    // None of those counted: the one call of the day is still available.
    assert_eq!(
        sandbox
            .aggregate_report(
                "com.adsync.cafe",
                "partners_by_date_report",
                "2025-06-01",
                "2025-06-30"
            )
            .await
            .status,
        200
    );
    let faults: Vec<Option<FaultKind>> = sandbox
        .sandbox
        .requests_for(Connector::Appsflyer)
        .iter()
        .map(|record| record.fault)
        .collect();
    assert_eq!(faults.len(), 5);
    assert!(faults[..4].iter().all(Option::is_some));
    let record = &sandbox.sandbox.requests_for(Connector::Appsflyer)[4];
    assert_eq!(
        record.route.as_deref(),
        Some("/api/agg-data/export/app/{app_id}/{report}/v5")
    );
    assert_eq!(record.account_id.as_deref(), Some("com.adsync.cafe"));
}

#[tokio::test]
async fn a_revoked_token_fault_revokes_the_token_for_good() {
    let sandbox = start_frozen().await;
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::Appsflyer, FaultKind::RevokedToken));
    let first = sandbox
        .aggregate_report("id987654321", "daily_report", "2025-06-01", "2025-06-30")
        .await;
    assert_eq!(first.status, 401);
    let again = sandbox
        .aggregate_report("id987654321", "daily_report", "2025-06-01", "2025-06-30")
        .await;
    assert_eq!(again.status, 401);
    assert_eq!(
        sandbox.sandbox.token_status(Connector::Appsflyer, TOKEN),
        sandbox::TokenStatus::Revoked
    );
}

#[tokio::test]
async fn a_malformed_answer_breaks_the_cost_column() {
    let sandbox = start_frozen().await;
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::Appsflyer, FaultKind::Malformed));
    let answer = sandbox
        .aggregate_report(
            "com.adsync.puzzle",
            "partners_by_date_report",
            "2025-06-01",
            "2025-06-30",
        )
        .await;
    assert_eq!(answer.status, 200);
    let csv = parse_csv(&answer.body);
    assert_eq!(csv.values("Total Cost")[0], "1,234.56");

    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::Appsflyer, FaultKind::Malformed));
    let empty = sandbox
        .aggregate_report(
            NO_DELIVERY_APP_ID,
            "partners_by_date_report",
            "2025-06-01",
            "2025-06-30",
        )
        .await;
    assert!(
        !parse_csv(&empty.body)
            .header
            .contains(&"Total Cost".to_owned())
    );
}

#[tokio::test]
async fn slow_faults_delay_the_answer() {
    let sandbox = start_frozen().await;
    sandbox.sandbox.add_fault(Fault::slow(
        Connector::Appsflyer,
        Duration::from_millis(300),
    ));
    let started = Instant::now();
    let answer = sandbox
        .aggregate_report(
            "com.adsync.cafe",
            "daily_report",
            "2025-06-01",
            "2025-06-30",
        )
        .await;
    assert_eq!(answer.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn cohort_numbers_of_a_date_grow_as_the_clock_moves() {
    let sandbox = start_frozen().await;
    let revenue = |csv: &Csv| -> f64 {
        csv.values("Total Revenue")
            .iter()
            .map(|v| v.parse::<f64>().unwrap())
            .sum()
    };
    let before = parse_csv(
        &sandbox
            .aggregate_report(
                "com.adsync.puzzle",
                "partners_by_date_report",
                "2025-06-27",
                "2025-06-29",
            )
            .await
            .body,
    );
    sandbox
        .sandbox
        .set_now(Some(frozen_now() + chrono::Duration::days(3)));
    let after = parse_csv(
        &sandbox
            .aggregate_report(
                "com.adsync.puzzle",
                "partners_by_date_report",
                "2025-06-27",
                "2025-06-29",
            )
            .await
            .body,
    );
    assert!(revenue(&after) > revenue(&before));
    assert_eq!(before.values("Impressions"), after.values("Impressions"));
}

#[tokio::test]
async fn the_app_list_pages_through_every_app_with_its_settings() {
    let sandbox = start_frozen().await;
    let mut url = sandbox.url("/appsflyer/api/mng/apps?limit=3");
    let mut ids = Vec::new();
    for _ in 0..10 {
        let response = sandbox
            .client
            .get(&url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let page: serde_json::Value = response.json().await.unwrap();
        for app in page["data"].as_array().unwrap() {
            assert_eq!(app["type"], "app");
            assert!(app["attributes"]["time_zone"].is_string());
            assert!(app["attributes"]["currency"].is_string());
            ids.push(app["id"].as_str().unwrap().to_owned());
        }
        match page["links"]["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(ids, LISTED_APP_IDS);
    let refused = sandbox.appsflyer("/mng/apps", None, &[]).await;
    assert_eq!(refused.status, 401);
}

#[tokio::test]
async fn the_control_api_shows_apps_and_truth() {
    let sandbox = start_frozen().await;
    let apps = sandbox.get("/_sandbox/appsflyer/apps", &[]).await;
    assert_eq!(apps.body.as_array().unwrap().len(), LISTED_APP_IDS.len());
    let truth = sandbox
        .get(
            "/_sandbox/appsflyer/apps/com.adsync.cafe/truth",
            &[
                ("report", "geo_by_date_report".to_owned()),
                ("from", "2025-06-01".to_owned()),
                ("to", "2025-06-30".to_owned()),
            ],
        )
        .await;
    assert_eq!(truth.status, 200);
    assert!(!truth.body.as_array().unwrap().is_empty());
    let unknown = sandbox
        .get(&format!("/_sandbox/appsflyer/apps/{UNKNOWN_APP_ID}"), &[])
        .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn large_reports_take_longer_when_the_config_says_so() {
    let sandbox = start(limited(AppsflyerConfig {
        delay_per_1000_rows: Duration::from_secs(2),
        ..AppsflyerConfig::default()
    }))
    .await;
    let app = appsflyer::app("com.adsync.puzzle").unwrap();
    let rows = appsflyer::report_rows(
        &app,
        Report::GeoByDateReport,
        &Selection::range(date("2025-06-01"), date("2025-06-30")),
        sandbox.sandbox.today_for(&app),
    )
    .len();
    let started = Instant::now();
    let answer = sandbox
        .aggregate_report(&app.id, "geo_by_date_report", "2025-06-01", "2025-06-30")
        .await;
    assert_eq!(answer.status, 200);
    let expected = Duration::from_secs(2).mul_f64(rows as f64 / 1_000.0);
    assert!(
        started.elapsed() >= expected,
        "{rows} rows, {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_app_list_answers_faults_and_its_own_limits() {
    let sandbox = start(limited(AppsflyerConfig {
        app_list_calls_per_minute: 1,
        ..AppsflyerConfig::default()
    }))
    .await;
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::Appsflyer, FaultKind::Throttle));
    assert_eq!(
        sandbox
            .appsflyer("/mng/apps", Some(TOKEN), &[])
            .await
            .status,
        429
    );
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::Appsflyer, FaultKind::Malformed));
    let malformed = sandbox.appsflyer("/mng/apps", Some(TOKEN), &[]).await;
    assert_eq!(malformed.status, 200);
    let page: serde_json::Value = serde_json::from_str(&malformed.body).unwrap();
    assert!(page["data"][0]["attributes"]["currency"].is_number());
    let limited = sandbox.appsflyer("/mng/apps", Some(TOKEN), &[]).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.body, "Too many requests");
}
