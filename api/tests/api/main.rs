//! API integration tests: every route's happy path and its wrong inputs, authentication,
//! tenant isolation, and what never appears in a response.

// Helpers outside #[test] functions unwrap too; a panic is how a test fails.
#![allow(clippy::unwrap_used)]

mod access;
mod auth;
mod data;
mod input;
mod logs;
mod metrics;
mod oauth;
mod openapi;
mod resources;
mod unavailable;
mod validation;
mod webhooks;

use serde_json::{Value, json};
use testkit::{ApiClient, TestWorld};

/// A running API with one tenant that has a connection, an account, a destination and a sync.
pub(crate) struct Setup {
    pub world: TestWorld,
    pub api: ApiClient,
    pub key: String,
    pub connection: Value,
    pub account: Value,
    pub destination: Value,
    pub sync: Value,
}

pub(crate) fn created(response: (u16, Value), what: &str) -> Value {
    let (status, body) = response;
    assert_eq!(status, 201, "creating {what}: {body}");
    body
}

/// The problem document's `code` and `field` of a failed request.
pub(crate) fn problem(response: &(u16, Value)) -> (u16, &str, &str) {
    let (status, body) = response;
    (
        *status,
        body["code"].as_str().unwrap_or_default(),
        body["field"].as_str().unwrap_or_default(),
    )
}

pub(crate) async fn setup() -> Setup {
    let mut world = TestWorld::start().await;
    let api = world.spawn_api().await;
    let (_, key) = api.create_tenant("Acme").await;
    let connection = created(
        api.post(
            "/v1/connections",
            &key,
            &json!({"connector": "meta_ads", "name": "Meta", "access_token": "EAAB-secret-token-123", "refresh_token": "refresh-secret-456"}),
        )
        .await,
        "connection",
    );
    let account = created(
        api.post(
            "/v1/accounts",
            &key,
            &json!({"connection_id": connection["id"], "external_id": "act_42", "name": "Shop", "time_zone": "Europe/Berlin", "currency": "EUR"}),
        )
        .await,
        "account",
    );
    let destination = created(
        api.post(
            "/v1/destinations",
            &key,
            &json!({"kind": "warehouse", "name": "DWH"}),
        )
        .await,
        "destination",
    );
    let sync = created(
        api.post("/v1/syncs", &key, &sync_body(&account, &destination))
            .await,
        "sync",
    );
    Setup {
        world,
        api,
        key,
        connection,
        account,
        destination,
        sync,
    }
}

pub(crate) fn sync_body(account: &Value, destination: &Value) -> Value {
    json!({
        "account_id": account["id"],
        "destination_id": destination["id"],
        "report": {"level": "campaign", "metrics": ["impressions", "spend"]},
        "schedule": {"cron": "0 6 * * *"},
    })
}
