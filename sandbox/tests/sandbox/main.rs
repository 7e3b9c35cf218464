//! Integration tests for the sandbox: each test starts its own sandbox in-process on
//! `127.0.0.1:0` and talks to it over HTTP like a connector would.
//!
//! Modules: `paging` (cursors and `paging.next`), `data` (determinism, dates, currencies, level
//! consistency), `errors` (Meta's error bodies), `faults` (injected faults), `throttling` (usage
//! headers and code 80000), `control` (request log, unknown routes, control API), and one module
//! per platform: `meta_ads` (conversions, breakdowns, report runs, entity edges, accounts,
//! malformed pages, code exchange), `google_ads` (searchStream batches, errors, limits, faults,
//! tokens, customers, restatement), `snapchat_ads` (the Snapchat Marketing API module end to
//! end), `tiktok_ads`, `appsflyer` (CSV reports, quotas, the app list), `google_sheets` (the
//! Sheets API v4 imitation end to end).

// `allow-unwrap-in-tests` covers `#[test]` functions only; the helpers here are test code too, and
// a panic is exactly how they should report an unexpected failure.
#![allow(clippy::unwrap_used)]

mod appsflyer;
mod control;
mod data;
mod errors;
mod faults;
mod google_ads;
mod google_sheets;
mod meta_ads;
mod paging;
mod snapchat_ads;
mod throttling;
mod tiktok_ads;

use chrono::{DateTime, NaiveDate, Utc};
use sandbox::meta_ads::{AccountFacts, TruthRow};
use sandbox::{Sandbox, SandboxConfig};
use serde_json::{Map, Value};
use tokio::sync::oneshot;

/// The frozen "now" most tests use: midday UTC, the same date in every sandbox time zone.
pub(crate) fn frozen_now() -> DateTime<Utc> {
    "2025-06-30T12:00:00Z".parse().unwrap()
}

pub(crate) fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// A sandbox served on an ephemeral port for the duration of one test.
pub(crate) struct TestSandbox {
    pub(crate) sandbox: Sandbox,
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for TestSandbox {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

pub(crate) async fn start(config: SandboxConfig) -> TestSandbox {
    // reqwest is built without a default TLS provider; plain HTTP still needs one installed
    // before a client can be built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let sandbox = Sandbox::new(config);
    let (shutdown, signal) = oneshot::channel::<()>();
    tokio::spawn(sandbox::serve(listener, sandbox.clone(), async {
        let _ = signal.await;
    }));
    TestSandbox {
        sandbox,
        base: format!("http://{address}"),
        client: reqwest::Client::new(),
        shutdown: Some(shutdown),
    }
}

/// A sandbox with the clock frozen at [`frozen_now`] and default limits.
pub(crate) async fn start_frozen() -> TestSandbox {
    start(SandboxConfig {
        now: Some(frozen_now()),
        ..SandboxConfig::default()
    })
    .await
}

/// A response read completely.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Value,
}

impl Reply {
    async fn read(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A JSON header value, parsed.
    pub(crate) fn json_header(&self, name: &str) -> Value {
        let text = self
            .headers
            .get(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .to_str()
            .unwrap();
        serde_json::from_str(text).unwrap()
    }

    /// `(code, subcode, type)` of a Meta error body.
    pub(crate) fn meta_error(&self) -> (i64, Option<i64>, String) {
        let error = &self.body["error"];
        assert!(
            error["fbtrace_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "fbtrace_id in {}",
            self.body
        );
        (
            error["code"].as_i64().unwrap(),
            error["error_subcode"].as_i64(),
            error["type"].as_str().unwrap().to_owned(),
        )
    }

    pub(crate) fn message(&self) -> String {
        self.body["error"]["message"].as_str().unwrap().to_owned()
    }

    pub(crate) fn rows(&self) -> Vec<Value> {
        self.body["data"].as_array().cloned().unwrap_or_default()
    }

    pub(crate) fn next(&self) -> Option<String> {
        self.body["paging"]["next"].as_str().map(str::to_owned)
    }

    pub(crate) fn after_cursor(&self) -> Option<String> {
        self.body["paging"]["cursors"]["after"]
            .as_str()
            .map(str::to_owned)
    }
}

impl TestSandbox {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) async fn get(&self, path: &str, query: &[(&str, String)]) -> Reply {
        let response = self
            .client
            .get(self.url(path))
            .query(query)
            .send()
            .await
            .unwrap();
        Reply::read(response).await
    }

    pub(crate) async fn get_url(&self, url: &str) -> Reply {
        Reply::read(self.client.get(url).send().await.unwrap()).await
    }

    /// `GET /meta_ads/v24.0/act_<account>/insights` with an access token and `params`.
    pub(crate) async fn insights(&self, account: &str, params: &[(&str, String)]) -> Reply {
        let mut query = vec![("access_token", "test-token".to_owned())];
        query.extend(params.iter().cloned());
        self.get(&format!("/meta_ads/v24.0/act_{account}/insights"), &query)
            .await
    }

    pub(crate) async fn post_json(&self, path: &str, body: Value) -> Reply {
        let response = self
            .client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        Reply::read(response).await
    }
}

/// `time_range` as Meta expects it.
pub(crate) fn time_range(since: &str, until: &str) -> String {
    format!(r#"{{"since":"{since}","until":"{until}"}}"#)
}

/// The first account (trying ids from 1000 up) with the wanted property.
pub(crate) fn find_account(wanted: impl Fn(&AccountFacts) -> bool) -> AccountFacts {
    (1000..20_000)
        .map(|id| sandbox::meta_ads::account(&id.to_string()).unwrap())
        .find(|account| wanted(account))
        .expect("some account has the property")
}

/// What the API should send for `row` when asked for `fields` (dates are always present).
pub(crate) fn expected_json(row: &TruthRow, fields: &[&str]) -> Value {
    let mut object = Map::new();
    for field in fields {
        let value = match *field {
            "account_id" => Some(row.account_id.clone()),
            "account_name" => Some(row.account_name.clone()),
            "account_currency" => Some(row.account_currency.clone()),
            "campaign_id" => row.campaign_id.clone(),
            "campaign_name" => row.campaign_name.clone(),
            "adset_id" => row.adset_id.clone(),
            "adset_name" => row.adset_name.clone(),
            "ad_id" => row.ad_id.clone(),
            "ad_name" => row.ad_name.clone(),
            "impressions" => Some(row.impressions.to_string()),
            "clicks" => Some(row.clicks.to_string()),
            "reach" => Some(row.reach.to_string()),
            "spend" => Some(row.spend.clone()),
            "ctr" => row.ctr.clone(),
            "cpc" => row.cpc.clone(),
            "cpm" => row.cpm.clone(),
            "frequency" => row.frequency.clone(),
            other => panic!("unexpected field {other}"),
        };
        if let Some(value) = value {
            object.insert((*field).to_owned(), Value::String(value));
        }
    }
    object.insert("date_start".into(), row.date_start.to_string().into());
    object.insert("date_stop".into(), row.date_stop.to_string().into());
    Value::Object(object)
}

/// Every metric field.
pub(crate) const METRICS: &[&str] = &[
    "impressions",
    "clicks",
    "spend",
    "reach",
    "ctr",
    "cpc",
    "cpm",
    "frequency",
];

/// Parses a decimal string into minor units with `decimals` places, exactly.
pub(crate) fn minor_units(text: &str, decimals: u32) -> u64 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    assert!(
        fraction.len() <= decimals as usize,
        "{text} has too many decimals"
    );
    let padded = format!("{fraction:0<width$}", width = decimals as usize);
    whole.parse::<u64>().unwrap() * 10u64.pow(decimals) + padded.parse::<u64>().unwrap_or(0)
}
