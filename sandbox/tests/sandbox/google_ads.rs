//! The Google Ads module over HTTP: `searchStream` as one JSON array of batches matching the
//! truth, Google's error bodies, rate limits and the daily quota, injected faults (one of them
//! inside the stream), tokens and the OAuth token endpoint, accessible customers, restatement.

use std::time::Duration;

use sandbox::google_ads::{
    self, BATCH_ROWS, Device, GoogleAdsConfig, Level, NO_DELIVERY_CUSTOMER_ID,
};
use sandbox::{Connector, Fault, FaultKind, SandboxConfig};
use serde_json::{Value, json};

use crate::{TestSandbox, date, frozen_now, start, start_frozen};

/// A standalone customer the user reaches directly.
const STANDALONE: &str = "1234567890";
/// A manager, and one of its clients (reached only with the manager as `login-customer-id`).
const MANAGER: &str = "9123450000";
const CLIENT: &str = "8123450001";
/// A large standalone customer: 50 campaigns of 20 ad groups of 10 ads.
const LARGE: &str = "7412365890";

/// An answer read completely: status, `request-id` header and the JSON body.
struct Answer {
    status: u16,
    request_id: Option<String>,
    body: Value,
}

impl Answer {
    /// The `google.rpc.Status` of an error body: `searchStream` frames an error of the Ads
    /// backend in a JSON array (`[{"error":{…}}]`), every other answer is `{"error":{…}}`.
    fn status(&self) -> &Value {
        match &self.body {
            Value::Array(elements) => {
                assert_eq!(elements.len(), 1, "{}", self.body);
                &elements[0]["error"]
            }
            _ => &self.body["error"],
        }
    }

    /// `(status, errorCode kind, errorCode value)` of a Google Ads error body.
    fn error(&self) -> (String, Option<(String, String)>) {
        let error = self.status();
        assert_eq!(
            error["code"].as_u64(),
            Some(u64::from(self.status)),
            "{}",
            self.body
        );
        let first = &error["details"][0]["errors"][0]["errorCode"];
        let code = first.as_object().and_then(|object| {
            object
                .iter()
                .next()
                .map(|(kind, value)| (kind.clone(), value.as_str().unwrap_or_default().to_owned()))
        });
        (
            error["status"].as_str().unwrap_or_default().to_owned(),
            code,
        )
    }

    /// The batches of a `searchStream` answer.
    fn batches(&self) -> Vec<Value> {
        self.body
            .as_array()
            .unwrap_or_else(|| panic!("not an array: {}", self.body))
            .clone()
    }

    /// Every row of every batch.
    fn rows(&self) -> Vec<Value> {
        self.batches()
            .iter()
            .flat_map(|batch| batch["results"].as_array().cloned().unwrap_or_default())
            .collect()
    }
}

impl TestSandbox {
    async fn search_stream(
        &self,
        customer: &str,
        login: Option<&str>,
        token: &str,
        body: Value,
    ) -> Answer {
        let mut request = self
            .client
            .post(self.url(&format!(
                "/google_ads/v21/customers/{customer}/googleAds:searchStream"
            )))
            .bearer_auth(token)
            .json(&body);
        if let Some(login) = login {
            request = request.header("login-customer-id", login);
        }
        read(request.send().await.unwrap()).await
    }

    async fn query(&self, customer: &str, login: Option<&str>, query: &str) -> Answer {
        self.search_stream(customer, login, "test-token", json!({ "query": query }))
            .await
    }

    async fn token_grant(&self, form: &[(&str, &str)]) -> Answer {
        let response = self
            .client
            .post(self.url("/google_ads/oauth2/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_encode(form))
            .send()
            .await
            .unwrap();
        read(response).await
    }
}

/// `application/x-www-form-urlencoded` (reqwest is built without its form support).
fn form_encode(pairs: &[(&str, &str)]) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|byte| {
                if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
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

async fn read(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("request-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        request_id,
        body,
    }
}

fn campaigns_by_device(since: &str, until: &str) -> String {
    format!(
        "SELECT campaign.id, campaign.name, segments.date, segments.device, metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions, metrics.conversions_value FROM campaign WHERE segments.date BETWEEN '{since}' AND '{until}'"
    )
}

#[tokio::test]
async fn a_report_is_one_array_of_batches_with_int64_strings_and_matches_the_truth() {
    // Arrange
    let ts = start_frozen().await;
    let customer = google_ads::customer(STANDALONE).unwrap();
    let today = ts.sandbox.today_for(&customer);

    // Act
    let answer = ts
        .query(
            STANDALONE,
            None,
            &campaigns_by_device("2025-06-01", "2025-06-30"),
        )
        .await;

    // Assert
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.request_id.is_some());
    let batches = answer.batches();
    assert_eq!(batches.len(), 1);
    assert!(
        batches[0]["fieldMask"]
            .as_str()
            .unwrap()
            .contains("metrics.costMicros")
    );
    assert!(batches[0]["queryResourceConsumption"].is_string());
    let truth = google_ads::report_truth(
        STANDALONE,
        Level::Campaign,
        date("2025-06-01"),
        date("2025-06-30"),
        today,
        true,
    );
    let rows = answer.rows();
    assert!(!truth.is_empty());
    assert_eq!(rows.len(), truth.len());
    let metric = |value: u64| (value != 0).then(|| Value::String(value.to_string()));
    for (row, expected) in rows.iter().zip(&truth) {
        assert_eq!(
            row["campaign"]["id"].as_str(),
            expected.campaign_id.as_deref()
        );
        assert_eq!(
            row["campaign"]["name"].as_str(),
            expected.campaign_name.as_deref()
        );
        assert_eq!(
            row["campaign"]["resourceName"].as_str().map(str::to_owned),
            expected
                .campaign_id
                .as_ref()
                .map(|id| format!("customers/{STANDALONE}/campaigns/{id}"))
        );
        assert_eq!(
            row["segments"]["date"].as_str(),
            Some(expected.date.to_string().as_str())
        );
        assert_eq!(
            row["segments"]["device"].as_str(),
            expected.device.map(Device::as_str)
        );
        let metrics = &row["metrics"];
        // int64 as strings, zero metrics left out.
        assert_eq!(
            metrics.get("impressions").cloned(),
            metric(expected.metrics.impressions)
        );
        assert_eq!(
            metrics.get("clicks").cloned(),
            metric(expected.metrics.clicks)
        );
        assert_eq!(
            metrics.get("costMicros").cloned(),
            metric(expected.metrics.cost_micros)
        );
        // Doubles as numbers.
        match metrics.get("conversions") {
            Some(conversions) => assert_eq!(
                conversions.as_f64().unwrap(),
                expected.conversions.parse::<f64>().unwrap()
            ),
            None => assert_eq!(expected.metrics.conversions_centi, 0),
        }
    }
}

#[tokio::test]
async fn a_large_report_streams_batches_of_ten_thousand_rows() {
    // Arrange
    let ts = start_frozen().await;
    let customer = google_ads::customer(LARGE).unwrap();
    let today = ts.sandbox.today_for(&customer);
    let query = "SELECT ad_group.id, segments.date, segments.device, metrics.impressions FROM ad_group WHERE segments.date BETWEEN '2025-06-20' AND '2025-06-26'";

    // Act
    let answer = ts.query(LARGE, None, query).await;

    // Assert
    assert_eq!(answer.status, 200);
    let batches = answer.batches();
    let truth = google_ads::report_truth(
        LARGE,
        Level::AdGroup,
        date("2025-06-20"),
        date("2025-06-26"),
        today,
        true,
    );
    assert!(truth.len() > BATCH_ROWS, "{} rows", truth.len());
    assert_eq!(batches.len(), truth.len().div_ceil(BATCH_ROWS));
    for (index, batch) in batches.iter().enumerate() {
        let rows = batch["results"].as_array().unwrap().len();
        let last = index + 1 == batches.len();
        if !last {
            assert_eq!(rows, BATCH_ROWS);
        }
        assert_eq!(batch["queryResourceConsumption"].is_string(), last);
    }
    assert_eq!(answer.rows().len(), truth.len());
}

#[tokio::test]
async fn a_customer_without_delivery_has_entities_but_no_rows() {
    // Arrange
    let ts = start_frozen().await;

    // Act
    let report = ts
        .query(
            NO_DELIVERY_CUSTOMER_ID,
            None,
            &campaigns_by_device("2025-05-01", "2025-06-30"),
        )
        .await;
    let entities = ts
        .query(
            NO_DELIVERY_CUSTOMER_ID,
            None,
            "SELECT campaign.id, campaign.name, campaign.status, campaign_budget.amount_micros FROM campaign",
        )
        .await;

    // Assert
    assert_eq!(report.status, 200);
    assert!(report.rows().is_empty());
    assert_eq!(report.batches().len(), 1, "one batch without results");
    assert!(!entities.rows().is_empty());
    for row in entities.rows() {
        assert!(row["campaignBudget"]["amountMicros"].is_string(), "{row}");
    }
}

#[tokio::test]
async fn requests_are_refused_with_googles_error_bodies() {
    // Arrange
    let ts = start_frozen().await;
    let query = campaigns_by_device("2025-06-01", "2025-06-02");
    let expired =
        ts.sandbox
            .issue_tokens(Connector::GoogleAds, Some(Duration::from_secs(60)), true);
    ts.sandbox
        .set_now(Some(frozen_now() + chrono::Duration::minutes(5)));
    let unauthenticated = ts
        .client
        .post(ts.url(&format!(
            "/google_ads/v21/customers/{STANDALONE}/googleAds:searchStream"
        )))
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let cases = [
        (read(unauthenticated).await, 401, "UNAUTHENTICATED", None),
        (
            ts.search_stream(
                STANDALONE,
                None,
                &expired.access_token,
                json!({ "query": query }),
            )
            .await,
            401,
            "UNAUTHENTICATED",
            Some(("authenticationError", "OAUTH_TOKEN_EXPIRED")),
        ),
        (
            ts.query("123-456-7890", None, &query).await,
            400,
            "INVALID_ARGUMENT",
            Some(("requestError", "INVALID_CUSTOMER_ID")),
        ),
        (
            ts.query(CLIENT, None, &query).await,
            403,
            "PERMISSION_DENIED",
            Some(("authorizationError", "USER_PERMISSION_DENIED")),
        ),
        (
            ts.query(CLIENT, Some(STANDALONE), &query).await,
            403,
            "PERMISSION_DENIED",
            Some(("authorizationError", "USER_PERMISSION_DENIED")),
        ),
        (
            ts.query(STANDALONE, None, "SELECT campaign.nonsense FROM campaign")
                .await,
            400,
            "INVALID_ARGUMENT",
            Some(("queryError", "UNRECOGNIZED_FIELD")),
        ),
        (
            ts.search_stream(
                STANDALONE,
                None,
                "test-token",
                json!({ "query": query, "pageSize": 100 }),
            )
            .await,
            400,
            "INVALID_ARGUMENT",
            None,
        ),
    ];

    // Assert: the backend's errors come framed as the stream, the front end's as objects.
    for (answer, status, grpc, code) in cases {
        assert_eq!(answer.status, status, "{}", answer.body);
        assert_eq!(answer.body.is_array(), code.is_some(), "{}", answer.body);
        let (actual_grpc, actual_code) = answer.error();
        assert_eq!(actual_grpc, grpc, "{}", answer.body);
        assert_eq!(
            actual_code,
            code.map(|(kind, value)| (kind.to_owned(), value.to_owned())),
            "{}",
            answer.body
        );
    }
    let sunset = ts
        .client
        .post(ts.url(&format!(
            "/google_ads/v10/customers/{STANDALONE}/googleAds:searchStream"
        )))
        .bearer_auth("test-token")
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    assert_eq!(sunset.status().as_u16(), 404);
    let client = ts.query(CLIENT, Some(MANAGER), &query).await;
    assert_eq!(client.status, 200, "{}", client.body);
}

#[tokio::test]
async fn rate_limits_answer_429_with_the_scope_and_the_delay() {
    // Arrange
    let ts = start(SandboxConfig {
        now: Some(frozen_now()),
        google_ads: GoogleAdsConfig {
            requests_per_window_per_customer: 2,
            rate_window: Duration::from_secs(10),
            daily_operations: 4,
            ..GoogleAdsConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let query = "SELECT campaign.id FROM campaign";

    // Act
    let first = ts.query(STANDALONE, None, query).await;
    let second = ts.query(STANDALONE, None, query).await;
    let third = ts.query(STANDALONE, None, query).await;
    let other_customer = ts.query("2345678901", None, query).await;
    ts.sandbox
        .set_now(Some(frozen_now() + chrono::Duration::seconds(11)));
    let after_the_window = ts.query(STANDALONE, None, query).await;
    let over_the_daily_quota = ts.query("2345678901", None, query).await;

    // Assert
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(third.status, 429);
    assert_eq!(
        third.error(),
        (
            "RESOURCE_EXHAUSTED".to_owned(),
            Some((
                "quotaError".to_owned(),
                "RESOURCE_TEMPORARILY_EXHAUSTED".to_owned()
            ))
        )
    );
    let details = &third.status()["details"][0]["errors"][0]["details"]["quotaErrorDetails"];
    assert_eq!(details["rateScope"], "ACCOUNT");
    let delay = details["retryDelay"].as_str().unwrap();
    let seconds: u64 = delay.strip_suffix('s').unwrap().parse().unwrap();
    assert!((1..=10).contains(&seconds), "{delay}");
    assert_eq!(
        other_customer.status, 200,
        "another customer has its own limit"
    );
    assert_eq!(after_the_window.status, 200);
    assert_eq!(over_the_daily_quota.status, 429);
    assert_eq!(
        over_the_daily_quota.error().1,
        Some(("quotaError".to_owned(), "RESOURCE_EXHAUSTED".to_owned()))
    );
    let daily =
        &over_the_daily_quota.status()["details"][0]["errors"][0]["details"]["quotaErrorDetails"];
    assert!(daily.get("retryDelay").is_none(), "{daily}");
}

#[tokio::test]
async fn faults_answer_as_google_does() {
    // Arrange
    let ts = start_frozen().await;
    let query = campaigns_by_device("2025-06-01", "2025-06-10");
    for kind in [
        FaultKind::Throttle,
        FaultKind::ServerError,
        FaultKind::ExpiredToken,
        FaultKind::Malformed,
    ] {
        ts.sandbox
            .add_fault(Fault::new(Connector::GoogleAds, kind).account(STANDALONE));
    }

    // Act
    let throttled = ts.query(STANDALONE, None, &query).await;
    let failed = ts.query(STANDALONE, None, &query).await;
    let expired = ts.query(STANDALONE, None, &query).await;
    let malformed = ts.query(STANDALONE, None, &query).await;
    let normal = ts.query(STANDALONE, None, &query).await;

    // Assert
    assert_eq!(throttled.status, 429);
    let details = &throttled.status()["details"][0]["errors"][0]["details"]["quotaErrorDetails"];
    assert_eq!(details["retryDelay"], "4s");
    assert_eq!(details["rateScope"], "ACCOUNT");
    assert_eq!(failed.status, 500);
    assert_eq!(
        failed.error().1,
        Some(("internalError".to_owned(), "INTERNAL_ERROR".to_owned()))
    );
    assert_eq!(expired.status, 401);
    assert_eq!(
        expired.error().1,
        Some((
            "authenticationError".to_owned(),
            "OAUTH_TOKEN_EXPIRED".to_owned()
        ))
    );
    assert_eq!(malformed.status, 200);
    assert_eq!(malformed.rows()[0]["metrics"]["impressions"], "n/a");
    assert_eq!(normal.status, 200);
    assert_eq!(&normal.rows()[1..], &malformed.rows()[1..]);
    let log = ts.sandbox.requests_for(Connector::GoogleAds);
    let faults: Vec<_> = log.iter().map(|record| record.fault).collect();
    assert_eq!(
        faults,
        vec![
            Some(FaultKind::Throttle),
            Some(FaultKind::ServerError),
            Some(FaultKind::ExpiredToken),
            Some(FaultKind::Malformed),
            None
        ]
    );
}

#[tokio::test]
async fn too_much_data_ends_the_stream_with_an_error_after_the_first_batch() {
    // Arrange
    let ts = start_frozen().await;
    ts.sandbox
        .add_fault(Fault::new(Connector::GoogleAds, FaultKind::ReduceData).account(LARGE));
    let query = "SELECT ad_group.id, segments.date, segments.device, metrics.impressions FROM ad_group WHERE segments.date BETWEEN '2025-06-20' AND '2025-06-26'";

    // Act
    let answer = ts.query(LARGE, None, query).await;

    // Assert: the status was already 200 when the error came.
    assert_eq!(answer.status, 200);
    let batches = answer.batches();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[0]["results"].as_array().unwrap().len(), BATCH_ROWS);
    assert_eq!(batches[1]["error"]["status"], "DEADLINE_EXCEEDED");
    assert_eq!(batches[1]["error"]["code"], 504);
}

#[tokio::test]
async fn a_revoked_token_stays_revoked_and_its_refresh_grant_is_invalid() {
    // Arrange
    let ts = start_frozen().await;
    let issued = ts.sandbox.issue_tokens(
        Connector::GoogleAds,
        Some(google_ads::ACCESS_TOKEN_LIFETIME),
        true,
    );
    let refresh_token = issued.refresh_token.clone().unwrap();
    let query = json!({ "query": "SELECT campaign.id FROM campaign" });
    ts.sandbox
        .add_fault(Fault::new(Connector::GoogleAds, FaultKind::RevokedToken));

    // Act
    let revoked = ts
        .search_stream(STANDALONE, None, &issued.access_token, query.clone())
        .await;
    let again = ts
        .search_stream(STANDALONE, None, &issued.access_token, query)
        .await;
    let refresh = ts
        .token_grant(&[
            ("grant_type", "refresh_token"),
            ("client_id", "id"),
            ("client_secret", "secret"),
            ("refresh_token", &refresh_token),
        ])
        .await;

    // Assert
    for answer in [&revoked, &again] {
        assert_eq!(answer.status, 401);
        assert_eq!(
            answer.error().1,
            Some((
                "authenticationError".to_owned(),
                "OAUTH_TOKEN_REVOKED".to_owned()
            ))
        );
    }
    assert_eq!(refresh.status, 400);
    assert_eq!(refresh.body["error"], "invalid_grant");
}

#[tokio::test]
async fn the_token_endpoint_refreshes_without_rotating_and_exchanges_a_code_once() {
    // Arrange
    let ts = start_frozen().await;
    let issued = ts.sandbox.issue_tokens(
        Connector::GoogleAds,
        Some(google_ads::ACCESS_TOKEN_LIFETIME),
        true,
    );
    let refresh_token = issued.refresh_token.clone().unwrap();
    let code_grant = [
        ("grant_type", "authorization_code"),
        ("client_id", "id"),
        ("client_secret", "secret"),
        ("code", "4/0Adeu5B"),
        ("redirect_uri", "http://localhost/callback"),
    ];

    // Act
    let refreshed = ts
        .token_grant(&[
            ("grant_type", "refresh_token"),
            ("client_id", "id"),
            ("client_secret", "secret"),
            ("refresh_token", &refresh_token),
        ])
        .await;
    let exchanged = ts.token_grant(&code_grant).await;
    let reused = ts.token_grant(&code_grant).await;

    // Assert
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(refreshed.body["expires_in"], 3599);
    assert_eq!(refreshed.body["token_type"], "Bearer");
    assert!(refreshed.body.get("refresh_token").is_none());
    let access_token = refreshed.body["access_token"].as_str().unwrap();
    assert_ne!(access_token, issued.access_token);
    let works = ts
        .search_stream(
            STANDALONE,
            None,
            access_token,
            json!({ "query": "SELECT campaign.id FROM campaign" }),
        )
        .await;
    assert_eq!(works.status, 200);
    assert_eq!(exchanged.status, 200, "{}", exchanged.body);
    assert!(exchanged.body["refresh_token"].is_string());
    assert_eq!(reused.status, 400);
    assert_eq!(reused.body["error"], "invalid_grant");
}

#[tokio::test]
async fn accessible_customers_and_a_managers_clients_are_listed() {
    // Arrange
    let ts = start_frozen().await;

    // Act
    let listed = read(
        ts.client
            .get(ts.url("/google_ads/v21/customers:listAccessibleCustomers"))
            .bearer_auth("test-token")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let clients = ts
        .query(
            MANAGER,
            Some(MANAGER),
            "SELECT customer_client.id, customer_client.manager, customer_client.level FROM customer_client WHERE customer_client.level <= 1",
        )
        .await;

    // Assert
    assert_eq!(listed.status, 200);
    let expected: Vec<String> = GoogleAdsConfig::default()
        .accessible_customers
        .iter()
        .map(|id| format!("customers/{id}"))
        .collect();
    assert_eq!(listed.body["resourceNames"], json!(expected));
    let manager = google_ads::customer(MANAGER).unwrap();
    let mut ids: Vec<String> = clients
        .rows()
        .iter()
        .filter(|row| row["customerClient"]["level"] == "1")
        .map(|row| row["customerClient"]["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids, manager.clients());
    assert!(ids.contains(&CLIENT.to_owned()));
}

#[tokio::test]
async fn conversions_of_recent_days_are_restated_and_old_days_are_final() {
    // Arrange
    let ts = start_frozen().await;
    let conversions = |answer: &Answer| -> Vec<(String, f64)> {
        answer
            .rows()
            .iter()
            .map(|row| {
                (
                    row["segments"]["date"].as_str().unwrap().to_owned(),
                    row["metrics"]["conversions"].as_f64().unwrap_or(0.0),
                )
            })
            .collect()
    };
    let recent = "SELECT customer.id, segments.date, metrics.conversions FROM customer WHERE segments.date BETWEEN '2025-06-23' AND '2025-06-29'";
    let old = "SELECT customer.id, segments.date, metrics.conversions FROM customer WHERE segments.date BETWEEN '2025-03-01' AND '2025-03-07'";
    let recent_before = conversions(&ts.query(STANDALONE, None, recent).await);
    let old_before = conversions(&ts.query(STANDALONE, None, old).await);

    // Act
    ts.sandbox
        .set_now(Some(frozen_now() + chrono::Duration::days(3)));
    let recent_after = conversions(&ts.query(STANDALONE, None, recent).await);
    let old_after = conversions(&ts.query(STANDALONE, None, old).await);

    // Assert
    assert_eq!(recent_before.len(), 7);
    assert_ne!(recent_before, recent_after);
    assert_eq!(old_before, old_after);
}

#[tokio::test]
async fn a_managers_customer_client_lists_its_whole_hierarchy_and_the_login_reaches_all_of_it() {
    // Arrange: the manager links clients, a hidden one, a cancelled one and a sub-manager,
    // whose own clients are two levels down.
    let ts = start_frozen().await;
    const SUB_MANAGER: &str = "9123451000";
    let deep_client = google_ads::customer(SUB_MANAGER).unwrap().clients()[0].clone();
    let query = "SELECT customer_client.id, customer_client.manager, customer_client.level, customer_client.status, customer_client.hidden FROM customer_client";
    let report = "SELECT customer.id, segments.date, metrics.clicks FROM customer WHERE segments.date = '2025-06-20'";

    // Act
    let hierarchy = ts.query(MANAGER, Some(MANAGER), query).await;
    let from_the_sub_manager = ts.query(SUB_MANAGER, Some(MANAGER), query).await;
    let deep_through_the_top = ts.query(&deep_client, Some(MANAGER), report).await;
    let deep_through_the_sub_manager = ts.query(&deep_client, Some(SUB_MANAGER), report).await;
    let deep_without_login = ts.query(&deep_client, None, report).await;
    let cancelled = ts.query("8123450009", Some(MANAGER), report).await;
    let hidden = ts.query("8123450008", Some(MANAGER), report).await;

    // Assert
    assert_eq!(hierarchy.status, 200, "{}", hierarchy.body);
    let rows: Vec<(String, String, bool, String, bool)> = hierarchy
        .rows()
        .iter()
        .map(|row| {
            let client = &row["customerClient"];
            (
                client["id"].as_str().unwrap().to_owned(),
                client["level"].as_str().unwrap().to_owned(),
                client["manager"].as_bool().unwrap(),
                client["status"].as_str().unwrap().to_owned(),
                client["hidden"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows[0],
        (
            MANAGER.to_owned(),
            "0".to_owned(),
            true,
            "ENABLED".to_owned(),
            false
        )
    );
    let find = |id: &str| {
        rows.iter()
            .find(|row| row.0 == id)
            .unwrap_or_else(|| panic!("{id} in {rows:?}"))
    };
    assert_eq!(find(SUB_MANAGER).1, "1");
    assert!(find(SUB_MANAGER).2, "a manager");
    assert_eq!(find(&deep_client).1, "2", "a client of the sub-manager");
    assert_eq!(find("8123450009").3, "CANCELED");
    assert!(find("8123450008").4, "hidden");
    assert_eq!(
        from_the_sub_manager.status, 200,
        "{}",
        from_the_sub_manager.body
    );
    assert_eq!(
        from_the_sub_manager.rows().len(),
        1 + google_ads::customer(SUB_MANAGER).unwrap().clients().len()
    );
    assert_eq!(
        deep_through_the_top.status, 200,
        "{}",
        deep_through_the_top.body
    );
    for refused in [&deep_through_the_sub_manager, &deep_without_login] {
        assert_eq!(
            refused.error().1,
            Some((
                "authorizationError".to_owned(),
                "USER_PERMISSION_DENIED".to_owned()
            )),
            "the user does not reach the sub-manager directly: {}",
            refused.body
        );
    }
    assert_eq!(cancelled.status, 403);
    assert_eq!(
        cancelled.error().1,
        Some((
            "authorizationError".to_owned(),
            "CUSTOMER_NOT_ENABLED".to_owned()
        ))
    );
    assert_eq!(
        hidden.status, 200,
        "a hidden link is still served: {}",
        hidden.body
    );
}
