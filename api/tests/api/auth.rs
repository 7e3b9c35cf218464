//! Who may call what: API keys, the operator key, and tenant isolation.

use reqwest::Method;
use serde_json::json;
use testkit::world::OPERATOR_KEY;

use crate::{problem, setup};

#[tokio::test]
async fn requests_without_a_valid_key_are_refused() {
    let setup = setup().await;
    for key in [None, Some("adsk_not-a-real-key"), Some("")] {
        let response = setup.api.request(Method::GET, "/v1/syncs", key, None).await;
        assert_eq!(problem(&response), (401, "unauthorized", ""), "{key:?}");
    }
    setup.world.stop().await;
}

#[tokio::test]
async fn only_the_operator_creates_and_lists_tenants() {
    let setup = setup().await;
    let response = setup
        .api
        .post("/v1/tenants", &setup.key, &json!({"name": "Other"}))
        .await;
    assert_eq!(problem(&response).0, 403);
    let (status, tenants) = setup.api.get("/v1/tenants", OPERATOR_KEY).await;
    assert_eq!(status, 200);
    assert_eq!(tenants.as_array().unwrap().len(), 1);
    // The operator sees every tenant's jobs but acts on no tenant's objects.
    assert_eq!(setup.api.get("/v1/jobs", OPERATOR_KEY).await.0, 200);
    assert_eq!(
        problem(&setup.api.get("/v1/syncs", OPERATOR_KEY).await).0,
        403
    );
    setup.world.stop().await;
}

#[tokio::test]
async fn another_tenants_objects_answer_not_found() {
    let setup = setup().await;
    let (_, other_key) = setup.api.create_tenant("Rival").await;
    for (path, id) in [
        ("/v1/connections", &setup.connection["id"]),
        ("/v1/accounts", &setup.account["id"]),
        ("/v1/destinations", &setup.destination["id"]),
        ("/v1/syncs", &setup.sync["id"]),
    ] {
        let id = id.as_str().unwrap();
        let response = setup.api.get(&format!("{path}/{id}"), &other_key).await;
        assert_eq!(problem(&response), (404, "not_found", ""), "{path}");
        let (status, list) = setup.api.get(path, &other_key).await;
        assert_eq!((status, list), (200, json!([])), "{path}");
    }
    let sync_id = setup.sync["id"].as_str().unwrap();
    let run = setup
        .api
        .post(&format!("/v1/syncs/{sync_id}/run"), &other_key, &json!({}))
        .await;
    assert_eq!(problem(&run).0, 404);
    let backfill = setup
        .api
        .post(
            &format!("/v1/syncs/{sync_id}/backfill"),
            &other_key,
            &json!({"from": "2026-01-01", "to": "2026-01-02"}),
        )
        .await;
    assert_eq!(problem(&backfill).0, 404);
    // Nor can another tenant's account or destination be used in a sync.
    let borrowed = setup
        .api
        .post(
            "/v1/syncs",
            &other_key,
            &crate::sync_body(&setup.account, &setup.destination),
        )
        .await;
    assert_eq!(problem(&borrowed), (404, "not_found", ""));
    setup.world.stop().await;
}

#[tokio::test]
async fn a_new_api_key_is_shown_once_and_works() {
    let setup = setup().await;
    let (status, created) = setup
        .api
        .post("/v1/api_keys", &setup.key, &json!({"name": "ci"}))
        .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));
    assert_eq!(setup.api.get("/v1/syncs", key).await.0, 200);
    // Only the hash is stored.
    let client = setup.world.pool.get().await.unwrap();
    let stored: Vec<Vec<u8>> = client
        .query("SELECT key_hash FROM api_keys", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(stored.len(), 2);
    assert!(stored.contains(&api::auth::hash_key(key)));
    assert!(stored.iter().all(|hash| hash.len() == 32));
    setup.world.stop().await;
}
