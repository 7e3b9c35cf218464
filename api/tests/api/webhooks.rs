//! Signed webhooks: the secret shown once and stored sealed; signature, window and replay
//! checks that refuse without effect; bursts that collapse into the one active job.

use reqwest::Method;
use serde_json::{Value, json};
use shared::domain::SyncId;

use crate::{Setup, logs, problem, setup};

/// Headers sent (timestamp, signature) and the problem expected (status, code, field).
type Case<'a> = (Option<&'a str>, Option<&'a str>, u16, &'a str, &'a str);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn create_webhook(setup: &Setup) -> String {
    let sync_id = setup.sync["id"].as_str().unwrap();
    let (status, body) = setup
        .api
        .post(
            &format!("/v1/syncs/{sync_id}/webhook"),
            &setup.key,
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["url"], format!("/v1/hooks/{sync_id}"));
    body["secret"].as_str().unwrap().to_owned()
}

/// Posts `body` to the sync's hook with the given timestamp and signature headers.
async fn hook(
    setup: &Setup,
    sync_id: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/hooks/{sync_id}", setup.api.base))
        .body(body.to_owned());
    if let Some(timestamp) = timestamp {
        request = request.header("X-Adsync-Timestamp", timestamp);
    }
    if let Some(signature) = signature {
        request = request.header("X-Adsync-Signature", signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn signed(secret: &str, timestamp: i64, body: &str) -> (String, String) {
    let timestamp = timestamp.to_string();
    let signature = api::routes::webhooks::sign(secret.as_bytes(), &timestamp, body.as_bytes());
    (timestamp, format!("sha256={}", hex(&signature)))
}

async fn job_count(setup: &Setup) -> i64 {
    let sync_id: SyncId = setup.sync["id"].as_str().unwrap().parse().unwrap();
    let client = setup.world.pool.get().await.unwrap();
    client
        .query_one("SELECT count(*) FROM jobs WHERE sync_id = $1", &[&sync_id])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_signed_request_runs_the_sync_and_a_burst_collapses_into_one_job() {
    logs::capture();
    let setup = setup().await;
    let secret = create_webhook(&setup).await;
    assert!(secret.starts_with("whsec_") && secret.len() > 40);
    let sync_id = setup.sync["id"].as_str().unwrap();
    // Stored sealed, never in clear; not shown by the sync.
    let client = setup.world.pool.get().await.unwrap();
    let ciphertext: Vec<u8> = client
        .query_one("SELECT secret_ciphertext FROM sync_webhooks", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        !ciphertext
            .windows(secret.len())
            .any(|w| w == secret.as_bytes())
    );
    let (_, sync) = setup
        .api
        .get(&format!("/v1/syncs/{sync_id}"), &setup.key)
        .await;
    assert!(!sync.to_string().contains(&secret));

    let now = chrono::Utc::now().timestamp();
    let (timestamp, signature) = signed(&secret, now, r#"{"event":"orders"}"#);
    let (status, first) = hook(
        &setup,
        sync_id,
        Some(&timestamp),
        Some(&signature),
        r#"{"event":"orders"}"#,
    )
    .await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["created"], true);
    assert_eq!(first["job"]["trigger"], "webhook");
    // A burst: other signed requests while the job is active answer that job.
    for i in 0..3 {
        let body = format!(r#"{{"event":"orders","n":{i}}}"#);
        let (timestamp, signature) = signed(&secret, now, &body);
        let (status, next) = hook(&setup, sync_id, Some(&timestamp), Some(&signature), &body).await;
        assert_eq!(status, 200, "{next}");
        assert_eq!(next["created"], false);
        assert_eq!(next["job"]["id"], first["job"]["id"]);
    }
    // A manual run collapses into it too.
    let (status, run) = setup
        .api
        .post(&format!("/v1/syncs/{sync_id}/run"), &setup.key, &json!({}))
        .await;
    assert_eq!((status, &run["job"]["id"]), (200, &first["job"]["id"]));
    assert_eq!(job_count(&setup).await, 1);
    logs::assert_clean(&[&secret, &setup.key]);
    setup.world.stop().await;
}

#[tokio::test]
async fn bad_signatures_stale_timestamps_and_replays_are_refused_without_effect() {
    let setup = setup().await;
    let secret = create_webhook(&setup).await;
    let sync_id = setup.sync["id"].as_str().unwrap();
    let body = r#"{"ping":true}"#;
    let now = chrono::Utc::now().timestamp();
    let (timestamp, signature) = signed(&secret, now, body);
    let (_, other_signature) = signed("whsec_wrong", now, body);
    let (old, old_signature) = signed(&secret, now - 400, body);
    let (future, future_signature) = signed(&secret, now + 400, body);
    let (_, for_other_body) = signed(&secret, now, r#"{"ping":false}"#);
    let cases: [Case; 9] = [
        (
            Some(&timestamp),
            Some(&other_signature),
            401,
            "invalid_signature",
            "X-Adsync-Signature",
        ),
        (
            Some(&timestamp),
            Some(&for_other_body),
            401,
            "invalid_signature",
            "X-Adsync-Signature",
        ),
        (
            Some(&timestamp),
            Some("sha256=zz"),
            401,
            "invalid_signature",
            "X-Adsync-Signature",
        ),
        (
            Some(&timestamp),
            Some(&signature[7..]),
            401,
            "invalid_signature",
            "X-Adsync-Signature",
        ),
        (
            Some(&timestamp),
            None,
            401,
            "invalid_signature",
            "X-Adsync-Signature",
        ),
        (
            None,
            Some(&signature),
            401,
            "invalid_signature",
            "X-Adsync-Timestamp",
        ),
        (
            Some(&old),
            Some(&old_signature),
            401,
            "timestamp_out_of_window",
            "X-Adsync-Timestamp",
        ),
        (
            Some(&future),
            Some(&future_signature),
            401,
            "timestamp_out_of_window",
            "X-Adsync-Timestamp",
        ),
        // Signed over another timestamp than the one sent.
        (
            Some(&old),
            Some(&signature),
            401,
            "invalid_signature",
            "X-Adsync-Signature",
        ),
    ];
    for (timestamp, signature, status, code, field) in cases {
        let response = hook(&setup, sync_id, timestamp, signature, body).await;
        assert_eq!(
            problem(&response),
            (status, code, field),
            "{timestamp:?} {signature:?}"
        );
    }
    assert_eq!(job_count(&setup).await, 0);

    let (status, accepted) = hook(&setup, sync_id, Some(&timestamp), Some(&signature), body).await;
    assert_eq!(status, 202, "{accepted}");
    // Cancel the job so a new one could be created: a replay is still refused.
    let job_id = accepted["job"]["id"].as_str().unwrap();
    let (status, _) = setup
        .api
        .post(&format!("/v1/jobs/{job_id}/cancel"), &setup.key, &json!({}))
        .await;
    assert!(status < 300);
    let replay = hook(&setup, sync_id, Some(&timestamp), Some(&signature), body).await;
    assert_eq!(problem(&replay), (409, "replayed", "X-Adsync-Signature"));
    assert_eq!(job_count(&setup).await, 1);

    // Rotating the secret retires the old one at once.
    let rotated = create_webhook(&setup).await;
    assert_ne!(rotated, secret);
    let (timestamp, stale_secret) = signed(&secret, now + 1, body);
    let response = hook(&setup, sync_id, Some(&timestamp), Some(&stale_secret), body).await;
    assert_eq!(
        problem(&response),
        (401, "invalid_signature", "X-Adsync-Signature")
    );
    // Unknown syncs and syncs without a webhook answer 404.
    let unknown = uuid::Uuid::new_v4().to_string();
    let response = hook(
        &setup,
        &unknown,
        Some(&timestamp),
        Some(&stale_secret),
        body,
    )
    .await;
    assert_eq!(problem(&response), (404, "not_found", ""));
    let response = hook(
        &setup,
        "not-a-uuid",
        Some(&timestamp),
        Some(&stale_secret),
        body,
    )
    .await;
    assert_eq!(problem(&response), (422, "invalid_field", "path"));
    let (status, _) = setup
        .api
        .request(
            Method::DELETE,
            &format!("/v1/syncs/{sync_id}/webhook"),
            Some(&setup.key),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (timestamp, fresh) = signed(&rotated, now + 2, body);
    let response = hook(&setup, sync_id, Some(&timestamp), Some(&fresh), body).await;
    assert_eq!(problem(&response), (404, "not_found", ""));
    setup.world.stop().await;
}

#[tokio::test]
async fn another_tenants_sync_has_no_webhook_for_you() {
    let setup = setup().await;
    let (_, other_key) = setup.api.create_tenant("Rival").await;
    let sync_id = setup.sync["id"].as_str().unwrap();
    let path = format!("/v1/syncs/{sync_id}/webhook");
    assert_eq!(
        problem(&setup.api.post(&path, &other_key, &json!({})).await),
        (404, "not_found", "")
    );
    create_webhook(&setup).await;
    let response = setup
        .api
        .request(Method::DELETE, &path, Some(&other_key), None)
        .await;
    assert_eq!(problem(&response), (404, "not_found", ""));
    let client = setup.world.pool.get().await.unwrap();
    let count: i64 = client
        .query_one("SELECT count(*) FROM sync_webhooks", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
    setup.world.stop().await;
}
