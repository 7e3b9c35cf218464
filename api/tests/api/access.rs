//! API keys (listed without secrets, revoked at once) and tenants (plans, operator changes).

use reqwest::Method;
use serde_json::json;
use testkit::world::OPERATOR_KEY;

use crate::{logs, problem, setup};

#[tokio::test]
async fn api_keys_are_listed_without_secrets_and_stop_working_when_revoked() {
    logs::capture();
    let setup = setup().await;
    let (status, created) = setup
        .api
        .post("/v1/api_keys", &setup.key, &json!({"name": "ci"}))
        .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();

    let (status, list) = setup.api.get("/v1/api_keys", &key).await;
    assert_eq!(status, 200, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["name"], "ci", "newest first");
    for listed in list {
        assert!(listed.get("key").is_none() && listed.get("key_hash").is_none());
        assert!(listed["prefix"].as_str().unwrap().starts_with("adsk_"));
        assert!(listed["revoked_at"].is_null());
    }
    let text = serde_json::to_string(list).unwrap();
    assert!(!text.contains(&key) && !text.contains(&setup.key));

    let path = format!("/v1/api_keys/{id}");
    let (status, revoked) = setup
        .api
        .request(Method::DELETE, &path, Some(&setup.key), None)
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert!(revoked["revoked_at"].is_string());
    assert!(revoked.get("key").is_none());
    // At once: the very next request with it is refused.
    assert_eq!(
        problem(&setup.api.get("/v1/syncs", &key).await),
        (401, "unauthorized", "")
    );
    // The other key still works and sees the revocation.
    let (_, list) = setup.api.get("/v1/api_keys", &setup.key).await;
    assert!(list[0]["revoked_at"].is_string());
    // Revoking again keeps the first revocation.
    let (status, again) = setup
        .api
        .request(Method::DELETE, &path, Some(&setup.key), None)
        .await;
    assert_eq!(
        (status, &again["revoked_at"]),
        (200, &revoked["revoked_at"])
    );

    logs::assert_clean(&[&key, &setup.key]);
    setup.world.stop().await;
}

#[tokio::test]
async fn api_key_routes_refuse_bad_ids_other_tenants_and_bad_queries() {
    let setup = setup().await;
    let (_, other_key) = setup.api.create_tenant("Rival").await;
    let (_, mine) = setup.api.get("/v1/api_keys", &setup.key).await;
    let my_id = mine[0]["id"].as_str().unwrap();
    let path = format!("/v1/api_keys/{my_id}");
    let response = setup
        .api
        .request(Method::DELETE, &path, Some(&other_key), None)
        .await;
    assert_eq!(problem(&response), (404, "not_found", ""));
    // Still working.
    assert_eq!(setup.api.get("/v1/syncs", &setup.key).await.0, 200);
    let (_, theirs) = setup.api.get("/v1/api_keys", &other_key).await;
    assert_eq!(theirs.as_array().unwrap().len(), 1);
    assert_ne!(theirs[0]["id"], mine[0]["id"]);

    let response = setup
        .api
        .request(
            Method::DELETE,
            "/v1/api_keys/not-a-uuid",
            Some(&setup.key),
            None,
        )
        .await;
    assert_eq!(problem(&response), (422, "invalid_field", "path"));
    let response = setup
        .api
        .get(
            &format!("/v1/api_keys?tenant_id={}", uuid::Uuid::new_v4()),
            &setup.key,
        )
        .await;
    assert_eq!(problem(&response), (422, "invalid_field", "tenant_id"));
    let response = setup.api.get("/v1/api_keys?tenant=x", &setup.key).await;
    assert_eq!(problem(&response), (422, "invalid_field", "query"));
    let response = setup
        .api
        .post(
            "/v1/api_keys",
            &setup.key,
            &json!({"name": "x", "scope": "all"}),
        )
        .await;
    assert_eq!(problem(&response), (422, "invalid_field", "scope"));
    setup.world.stop().await;
}

#[tokio::test]
async fn tenants_are_read_by_themselves_and_the_operator_and_replanned_by_the_operator() {
    let setup = setup().await;
    let (rival_id, rival_key) = setup.api.create_tenant("Rival").await;
    let (_, tenants) = setup.api.get("/v1/tenants", OPERATOR_KEY).await;
    let acme_id = tenants
        .as_array()
        .unwrap()
        .iter()
        .find(|tenant| tenant["name"] == "Acme")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, own) = setup
        .api
        .get(&format!("/v1/tenants/{acme_id}"), &setup.key)
        .await;
    assert_eq!((status, own["plan"].as_str()), (200, Some("free")), "{own}");
    assert_eq!(
        problem(
            &setup
                .api
                .get(&format!("/v1/tenants/{rival_id}"), &setup.key)
                .await
        ),
        (404, "not_found", "")
    );
    assert_eq!(
        problem(
            &setup
                .api
                .get(&format!("/v1/tenants/{acme_id}"), &rival_key)
                .await
        ),
        (404, "not_found", "")
    );
    assert_eq!(
        setup
            .api
            .get(&format!("/v1/tenants/{rival_id}"), OPERATOR_KEY)
            .await
            .0,
        200
    );

    let path = format!("/v1/tenants/{acme_id}");
    let patch = |key: &'static str, body: serde_json::Value| {
        let api = setup.api.clone();
        let path = path.clone();
        async move {
            api.request(Method::PATCH, &path, Some(key), Some(&body))
                .await
        }
    };
    let (status, changed) = patch(OPERATOR_KEY, json!({"plan": "enterprise"})).await;
    assert_eq!(
        (status, changed["plan"].as_str()),
        (200, Some("enterprise"))
    );
    assert_eq!(changed["max_running_jobs"], 20);
    let (status, changed) = patch(OPERATOR_KEY, json!({"max_running_jobs": 5})).await;
    assert_eq!(
        (status, changed["plan"].as_str()),
        (200, Some("enterprise"))
    );
    assert_eq!(changed["max_running_jobs"], 5);
    for (body, field) in [
        (json!({"plan": "gold"}), "plan"),
        (json!({"plan": 3}), "plan"),
        (json!({"max_running_jobs": 0}), "max_running_jobs"),
        (json!({"name": "x"}), "name"),
    ] {
        let response = patch(OPERATOR_KEY, body.clone()).await;
        assert_eq!(problem(&response), (422, "invalid_field", field), "{body}");
    }
    let response = setup
        .api
        .request(
            Method::PATCH,
            &path,
            Some(&setup.key),
            Some(&json!({"plan": "pro"})),
        )
        .await;
    assert_eq!(problem(&response).0, 403);
    let unknown = format!("/v1/tenants/{}", uuid::Uuid::new_v4());
    let response = setup
        .api
        .request(
            Method::PATCH,
            &unknown,
            Some(OPERATOR_KEY),
            Some(&json!({"plan": "pro"})),
        )
        .await;
    assert_eq!(problem(&response), (404, "not_found", ""));
    let (_, after) = setup.api.get(&path, &setup.key).await;
    assert_eq!(after["plan"], "enterprise");
    setup.world.stop().await;
}

#[tokio::test]
async fn the_operator_sees_every_tenants_keys_and_revokes_a_leaked_one() {
    let setup = setup().await;
    let (rival_id, rival_key) = setup.api.create_tenant("Rival").await;
    let (status, all) = setup.api.get("/v1/api_keys", OPERATOR_KEY).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (_, rivals) = setup
        .api
        .get(&format!("/v1/api_keys?tenant_id={rival_id}"), OPERATOR_KEY)
        .await;
    let rivals = rivals.as_array().unwrap();
    assert_eq!(rivals.len(), 1);
    assert_eq!(rivals[0]["tenant_id"], rival_id.as_str());
    assert!(!serde_json::to_string(&all).unwrap().contains(&rival_key));
    let path = format!("/v1/api_keys/{}", rivals[0]["id"].as_str().unwrap());
    let (status, revoked) = setup
        .api
        .request(Method::DELETE, &path, Some(OPERATOR_KEY), None)
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(
        problem(&setup.api.get("/v1/syncs", &rival_key).await).0,
        401
    );
    assert_eq!(setup.api.get("/v1/syncs", &setup.key).await.0, 200);
    setup.world.stop().await;
}
