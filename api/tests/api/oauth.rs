//! The OAuth flow: authorisation URLs, the callback's state checks and code exchange against
//! the sandbox, deleting a connection, and discovering its accounts.

use std::collections::HashMap;

use reqwest::{Method, Url};
use sandbox::{Connector, TokenStatus};
use serde_json::{Value, json};
use shared::db::connections;
use shared::domain::{ConnectionId, TenantId};
use testkit::logs::ExpectedLog;
use testkit::world::{OAUTH_STATE_KEY, OPERATOR_KEY};

use crate::{Setup, logs, problem, setup};

const REDIRECT: &str = "https://app.example.com/oauth/done?x=1";

fn query(url: &str) -> HashMap<String, String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn authorize(setup: &Setup, platform: &str, name: &str) -> (String, String) {
    let (status, body) = setup
        .api
        .post(
            &format!("/v1/connections/{platform}/authorize"),
            &setup.key,
            &json!({"name": name, "redirect_uri": REDIRECT}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    (
        body["url"].as_str().unwrap().to_owned(),
        body["state"].as_str().unwrap().to_owned(),
    )
}

async fn callback(setup: &Setup, params: &[(&str, &str)]) -> (u16, Value) {
    let url = Url::parse_with_params(
        &format!("{}/v1/connections/callback", setup.api.base),
        params,
    )
    .unwrap();
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn connection_count(setup: &Setup) -> i64 {
    let client = setup.world.pool.get().await.unwrap();
    client
        .query_one("SELECT count(*) FROM connections", &[])
        .await
        .unwrap()
        .get(0)
}

async fn tenant_of(setup: &Setup, id: &str) -> (TenantId, ConnectionId) {
    let id: ConnectionId = id.parse().unwrap();
    let client = setup.world.pool.get().await.unwrap();
    let tenant = client
        .query_one("SELECT tenant_id FROM connections WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    (tenant, id)
}

#[tokio::test]
async fn the_authorisation_url_is_the_platforms_with_a_signed_state() {
    let setup = setup().await;
    let (url, state) = authorize(&setup, "meta_ads", "Meta login").await;
    assert!(
        url.starts_with("https://www.facebook.com/v24.0/dialog/oauth?"),
        "{url}"
    );
    let params = query(&url);
    assert_eq!(params["client_id"], "sandbox-client");
    assert_eq!(params["redirect_uri"], REDIRECT);
    assert_eq!(params["scope"], "ads_read");
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["state"], state);
    assert!(!url.contains("sandbox-secret"));

    let (url, _) = authorize(&setup, "tiktok_ads", "TikTok").await;
    assert!(
        url.starts_with("https://business-api.tiktok.com/portal/auth?"),
        "{url}"
    );
    assert_eq!(query(&url)["app_id"], "sandbox-client");
    let (url, _) = authorize(&setup, "google_ads", "Google").await;
    assert!(
        url.starts_with("https://accounts.google.com/o/oauth2/v2/auth?"),
        "{url}"
    );
    let params = query(&url);
    assert_eq!(params["scope"], "https://www.googleapis.com/auth/adwords");
    assert_eq!(params["access_type"], "offline");
    let (url, _) = authorize(&setup, "snapchat_ads", "Snap").await;
    assert!(url.starts_with("https://accounts.snapchat.com/login/oauth2/authorize?"));
    assert_eq!(query(&url)["scope"], "snapchat-marketing-api");
    setup.world.stop().await;
}

#[tokio::test]
async fn authorize_refuses_bad_inputs_naming_the_field() {
    let setup = setup().await;
    for (platform, body, field) in [
        (
            "appsflyer",
            json!({"name": "a", "redirect_uri": REDIRECT}),
            "platform",
        ),
        (
            "myspace_ads",
            json!({"name": "a", "redirect_uri": REDIRECT}),
            "platform",
        ),
        (
            "meta_ads",
            json!({"name": " ", "redirect_uri": REDIRECT}),
            "name",
        ),
        ("meta_ads", json!({"redirect_uri": REDIRECT}), "name"),
        (
            "meta_ads",
            json!({"name": "a", "redirect_uri": "ftp://x/y"}),
            "redirect_uri",
        ),
        (
            "meta_ads",
            json!({"name": "a", "redirect_uri": "/relative"}),
            "redirect_uri",
        ),
        (
            "meta_ads",
            json!({"name": "a", "redirect_uri": 7}),
            "redirect_uri",
        ),
        (
            "meta_ads",
            json!({"name": "a", "redirect_uri": REDIRECT, "scope": "all"}),
            "scope",
        ),
    ] {
        let response = setup
            .api
            .post(
                &format!("/v1/connections/{platform}/authorize"),
                &setup.key,
                &body,
            )
            .await;
        assert_eq!(
            problem(&response),
            (422, "invalid_field", field),
            "{platform} {body}"
        );
    }
    let response = setup
        .api
        .post(
            "/v1/connections/meta_ads/authorize",
            OPERATOR_KEY,
            &json!({"name": "a", "redirect_uri": REDIRECT}),
        )
        .await;
    assert_eq!(problem(&response).0, 403);
    let client = setup.world.pool.get().await.unwrap();
    let states: i64 = client
        .query_one("SELECT count(*) FROM oauth_states", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(states, 0, "a refused authorisation stores no state");
    setup.world.stop().await;
}

#[tokio::test]
async fn the_callback_exchanges_the_code_once_and_stores_the_tokens_sealed() {
    logs::capture();
    let setup = setup().await;
    let before = connection_count(&setup).await;
    let (_, state) = authorize(&setup, "meta_ads", "Meta via OAuth").await;
    let (status, connection) =
        callback(&setup, &[("code", "meta-code-1"), ("state", &state)]).await;
    assert_eq!(status, 201, "{connection}");
    assert_eq!(connection["connector"], "meta_ads");
    assert_eq!(connection["name"], "Meta via OAuth");
    assert_eq!(connection["status"], "active");
    assert!(connection["access_token_expires_at"].is_string());
    let (tenant, id) = tenant_of(&setup, connection["id"].as_str().unwrap()).await;
    let client = setup.world.pool.get().await.unwrap();
    let tokens = connections::open_tokens(&client, &setup.world.keys, tenant, id)
        .await
        .unwrap();
    assert!(
        tokens.access_token.starts_with("meta_ads.access."),
        "issued by the sandbox"
    );
    let text = connection.to_string();
    assert!(!text.contains(&tokens.access_token));
    let ciphertext: Vec<u8> = client
        .query_one(
            "SELECT token_ciphertext FROM connections WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        !ciphertext
            .windows(tokens.access_token.len())
            .any(|w| w == tokens.access_token.as_bytes())
    );
    // The new connection works: the worker's connector lists its accounts.
    let (status, found) = setup
        .api
        .post(
            &format!("/v1/connections/{id}/accounts/discover"),
            &setup.key,
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{found}");

    // The same state again: refused, nothing stored.
    let reused = callback(&setup, &[("code", "meta-code-2"), ("state", &state)]).await;
    assert_eq!(problem(&reused), (400, "invalid_state", "state"));
    assert_eq!(connection_count(&setup).await, before + 1);

    // TikTok redirects with `auth_code`; its tokens never expire.
    let (_, state) = authorize(&setup, "tiktok_ads", "TikTok via OAuth").await;
    let (status, tiktok) =
        callback(&setup, &[("auth_code", "tiktok-code-1"), ("state", &state)]).await;
    assert_eq!(status, 201, "{tiktok}");
    assert!(tiktok["access_token_expires_at"].is_null());
    let (tenant, id) = tenant_of(&setup, tiktok["id"].as_str().unwrap()).await;
    let tiktok_tokens = connections::open_tokens(&client, &setup.world.keys, tenant, id)
        .await
        .unwrap();
    assert!(tiktok_tokens.access_token.starts_with("tiktok_ads.access."));

    // Google and Snapchat: an authorization_code grant, with a refresh token.
    let mut refresh_tokens = Vec::new();
    for platform in ["google_ads", "snapchat_ads"] {
        let (_, state) = authorize(&setup, platform, platform).await;
        let code = format!("{platform}-code-1");
        let (status, created) = callback(&setup, &[("code", &code), ("state", &state)]).await;
        assert_eq!(status, 201, "{platform}: {created}");
        assert!(created["access_token_expires_at"].is_string(), "{platform}");
        let (tenant, id) = tenant_of(&setup, created["id"].as_str().unwrap()).await;
        let stored = connections::open_tokens(&client, &setup.world.keys, tenant, id)
            .await
            .unwrap();
        assert!(
            stored
                .access_token
                .starts_with(&format!("{platform}.access."))
        );
        let refresh = stored.refresh_token.expect("a refresh token");
        assert!(!created.to_string().contains(&refresh));
        refresh_tokens.push(refresh);
        refresh_tokens.push(stored.access_token);
    }
    // Deleting the Google connection revokes its grant at Google (the sandbox).
    let google_id = {
        let (_, list) = setup.api.get("/v1/connections", &setup.key).await;
        list.as_array()
            .unwrap()
            .iter()
            .find(|c| c["connector"] == "google_ads")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (status, _) = setup
        .api
        .request(
            Method::DELETE,
            &format!("/v1/connections/{google_id}"),
            Some(&setup.key),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        setup
            .world
            .sandbox
            .token_status(Connector::GoogleAds, &refresh_tokens[1]),
        TokenStatus::Revoked
    );

    // A code the platform refuses (used already), with a fresh state: nothing stored.
    let (_, state) = authorize(&setup, "meta_ads", "again").await;
    let refused = callback(&setup, &[("code", "meta-code-1"), ("state", &state)]).await;
    assert_eq!(
        problem(&refused),
        (400, "invalid_code", "code"),
        "{:?}",
        refused.1
    );
    assert_eq!(connection_count(&setup).await, before + 4);

    let secrets: Vec<&str> = refresh_tokens.iter().map(String::as_str).collect();
    logs::assert_clean(&secrets);
    logs::assert_clean(&[
        &tokens.access_token,
        &tiktok_tokens.access_token,
        "meta-code-1",
        "tiktok-code-1",
        "sandbox-secret",
        &setup.key,
    ]);
    setup.world.stop().await;
}

#[tokio::test]
async fn tampered_expired_and_missing_states_are_refused_without_effect() {
    let setup = setup().await;
    let before = connection_count(&setup).await;
    let (_, state) = authorize(&setup, "meta_ads", "Meta").await;
    let (payload, signature) = state.split_once('.').unwrap();
    // Another signature, another payload, or a state signed with another key.
    let mut flipped = signature.to_owned().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let forged_signature = format!("{payload}.{}", String::from_utf8(flipped).unwrap());
    let mut decoded: Value = serde_json::from_slice(&base64_decode(payload)).unwrap();
    decoded["n"] = json!("renamed");
    let swapped = format!(
        "{}.{signature}",
        base64_encode(&serde_json::to_vec(&decoded).unwrap())
    );
    let other_key = api::routes::oauth::encode_state(b"another-key", &base64_decode(payload));
    let mut expired_payload = decoded.clone();
    expired_payload["n"] = json!("Meta");
    expired_payload["e"] = json!(chrono::Utc::now().timestamp() - 1);
    let expired = api::routes::oauth::encode_state(
        OAUTH_STATE_KEY.as_bytes(),
        &serde_json::to_vec(&expired_payload).unwrap(),
    );
    for bad in [
        forged_signature.as_str(),
        &swapped,
        &other_key,
        &expired,
        "garbage",
        "",
    ] {
        let response = callback(&setup, &[("code", "c-1"), ("state", bad)]).await;
        assert_eq!(problem(&response), (400, "invalid_state", "state"), "{bad}");
    }
    let response = callback(&setup, &[("code", "c-1")]).await;
    assert_eq!(problem(&response), (400, "invalid_state", "state"));
    // A good state without a code names the code, and the state stays usable.
    let response = callback(&setup, &[("state", &state)]).await;
    assert_eq!(problem(&response), (422, "invalid_field", "code"));
    // The user declined at the platform.
    let response = callback(&setup, &[("error", "access_denied"), ("state", &state)]).await;
    assert_eq!(problem(&response), (422, "invalid_field", "error"));
    assert_eq!(connection_count(&setup).await, before);
    // POST works as GET does, and the state still works once.
    let (status, body) = setup
        .api
        .request(
            Method::POST,
            "/v1/connections/callback",
            None,
            Some(&json!({"code": "c-2", "state": state})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    setup.world.stop().await;
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn deleting_a_connection_erases_its_tokens_and_pauses_its_syncs() {
    logs::capture();
    let setup = setup().await;
    let id = setup.connection["id"].as_str().unwrap();
    let path = format!("/v1/connections/{id}");
    let (_, other_key) = setup.api.create_tenant("Rival").await;
    let response = setup
        .api
        .request(Method::DELETE, &path, Some(&other_key), None)
        .await;
    assert_eq!(problem(&response), (404, "not_found", ""));

    let token = "EAAB-secret-token-123";
    assert_eq!(
        setup.world.sandbox.token_status(Connector::MetaAds, token),
        TokenStatus::Valid
    );
    let (status, deleted) = setup
        .api
        .request(Method::DELETE, &path, Some(&setup.key), None)
        .await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["status"], "revoked");
    // Revoked at the platform too.
    assert_eq!(
        setup.world.sandbox.token_status(Connector::MetaAds, token),
        TokenStatus::Revoked
    );
    let (_, read) = setup.api.get(&path, &setup.key).await;
    assert_eq!(read["status"], "revoked");
    let (tenant, connection_id) = tenant_of(&setup, id).await;
    let client = setup.world.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT key_id, token_nonce, token_ciphertext FROM connections WHERE id = $1",
            &[&connection_id],
        )
        .await
        .unwrap();
    assert!(row.get::<_, Option<String>>(0).is_none());
    assert!(row.get::<_, Option<Vec<u8>>>(1).is_none());
    assert!(row.get::<_, Option<Vec<u8>>>(2).is_none());
    assert!(matches!(
        connections::open_tokens(&client, &setup.world.keys, tenant, connection_id).await,
        Err(connections::TokensError::Missing(_))
    ));
    let sync_path = format!("/v1/syncs/{}", setup.sync["id"].as_str().unwrap());
    let (_, sync) = setup.api.get(&sync_path, &setup.key).await;
    assert_eq!(sync["enabled"], false);
    assert_eq!(sync["paused_reason"], "connection deleted");
    let run = setup
        .api
        .post(&format!("{sync_path}/run"), &setup.key, &json!({}))
        .await;
    assert_eq!(problem(&run).0, 409);
    let discover = setup
        .api
        .post(&format!("{path}/accounts/discover"), &setup.key, &json!({}))
        .await;
    assert_eq!(problem(&discover).0, 409);
    // Deleting again answers the revoked connection.
    let (status, again) = setup
        .api
        .request(Method::DELETE, &path, Some(&setup.key), None)
        .await;
    assert_eq!((status, &again["status"]), (200, &json!("revoked")));
    logs::assert_clean(&["EAAB-secret-token-123", "refresh-secret-456", &setup.key]);
    setup.world.stop().await;
}

#[tokio::test]
async fn discovery_lists_the_reachable_accounts_and_creates_them_on_request() {
    let setup = setup().await;
    let id = setup.connection["id"].as_str().unwrap();
    let path = format!("/v1/connections/{id}/accounts/discover");
    let (status, found) = setup.api.post(&path, &setup.key, &json!({})).await;
    assert_eq!(status, 200, "{found}");
    let found = found.as_array().unwrap().clone();
    assert!(!found.is_empty());
    assert!(found.iter().all(|account| account["created"] == false));
    // The account the setup created is recognised.
    let known = found
        .iter()
        .find(|account| account["external_id"] == setup.account["external_id"]);
    if let Some(known) = known {
        assert_eq!(known["account_id"], setup.account["id"]);
    }
    let (status, created) = setup
        .api
        .post(&path, &setup.key, &json!({"create": true}))
        .await;
    assert_eq!(status, 200, "{created}");
    let created = created.as_array().unwrap().clone();
    assert_eq!(created.len(), found.len());
    assert!(
        created
            .iter()
            .all(|account| account["account_id"].is_string())
    );
    let (_, accounts) = setup.api.get("/v1/accounts", &setup.key).await;
    assert!(accounts.as_array().unwrap().len() >= found.len());
    // Creating again creates nothing.
    let (_, again) = setup
        .api
        .post(&path, &setup.key, &json!({"create": true}))
        .await;
    assert!(
        again
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["created"] == false)
    );

    let (_, other_key) = setup.api.create_tenant("Rival").await;
    assert_eq!(
        problem(&setup.api.post(&path, &other_key, &json!({})).await),
        (404, "not_found", "")
    );
    for (body, field) in [
        (json!({"create": "yes"}), "create"),
        (json!({"create": true, "all": 1}), "all"),
    ] {
        let response = setup.api.post(&path, &setup.key, &body).await;
        assert_eq!(problem(&response), (422, "invalid_field", field), "{body}");
    }
    setup.world.stop().await;
}

/// The state carries the name to the callback; the callback checks everything it will store
/// before it spends the code at the platform, so a state minted under an older, looser rule
/// (here: forged with the key, as one would have been) loses nothing.
#[tokio::test]
async fn the_callback_checks_what_it_stores_before_it_spends_the_code() {
    let setup = setup().await;
    let before = connection_count(&setup).await;
    let (_, state) = authorize(&setup, "meta_ads", "Meta").await;
    let (payload, _) = state.split_once('.').unwrap();
    let mut decoded: Value = serde_json::from_slice(&base64_decode(payload)).unwrap();
    for name in ["Meta\u{0}", "\u{200B}\u{200B}"] {
        decoded["n"] = json!(name);
        let loose = api::routes::oauth::encode_state(
            OAUTH_STATE_KEY.as_bytes(),
            &serde_json::to_vec(&decoded).unwrap(),
        );
        let response = callback(&setup, &[("code", "meta-code-kept"), ("state", &loose)]).await;
        assert_eq!(
            problem(&response),
            (400, "invalid_state", "state"),
            "{name:?}: {}",
            response.1
        );
    }
    assert!(
        setup
            .world
            .sandbox
            .requests_for(Connector::MetaAds)
            .is_empty(),
        "the code was not exchanged"
    );
    assert_eq!(connection_count(&setup).await, before);
    // A code adsync could not send back is refused before the exchange as well.
    let response = callback(&setup, &[("code", "meta\u{1}code"), ("state", &state)]).await;
    assert_eq!(problem(&response), (422, "invalid_field", "code"));
    // The code was not spent, and the real state still works once.
    let (status, created) =
        callback(&setup, &[("code", "meta-code-kept"), ("state", &state)]).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"], "Meta");
    setup.world.stop().await;
}

/// Accounts a platform lists with names adsync would refuse from a person are cleaned (control
/// characters become spaces) and created; the answer says why one cannot be created.
#[tokio::test]
async fn discovery_creates_accounts_whose_platform_names_hold_control_characters() {
    let mut config = sandbox::SandboxConfig::default();
    config.meta_ads.me_accounts = vec![sandbox::meta_ads::CONTROL_NAMES_ACCOUNT_ID.to_owned()];
    let mut world = testkit::TestWorld::start_with(config, &[]).await;
    let api = world.spawn_api().await;
    let (_, key) = api.create_tenant("Acme").await;
    let (status, connection) = api
        .post(
            "/v1/connections",
            &key,
            &json!({"connector": "meta_ads", "name": "Meta", "access_token": "EAAB-token"}),
        )
        .await;
    assert_eq!(status, 201, "{connection}");
    let path = format!(
        "/v1/connections/{}/accounts/discover",
        connection["id"].as_str().unwrap()
    );
    let (status, found) = api.post(&path, &key, &json!({"create": true})).await;
    assert_eq!(status, 200, "{found}");
    let found = &found[0];
    assert_eq!(
        found["name"], "Sandbox\u{0}Account\t1000000001",
        "listed as the platform says"
    );
    assert_eq!(found["created"], true, "{found}");
    assert!(found.get("not_creatable").is_none(), "{found}");
    let (_, account) = api
        .get(
            &format!("/v1/accounts/{}", found["account_id"].as_str().unwrap()),
            &key,
        )
        .await;
    assert_eq!(account["name"], "Sandbox Account 1000000001");
    world.stop().await;
}

/// A stored token that cannot be put in a request (stored before the API refused such tokens)
/// is adsync's failure: 500, never 502 `platform_error`, and nothing reaches the platform.
#[tokio::test]
async fn a_stored_token_that_cannot_be_sent_is_not_blamed_on_the_platform() {
    let setup = setup().await;
    let tenant_id: TenantId = {
        let client = setup.world.pool.get().await.unwrap();
        client
            .query_one("SELECT id FROM tenants WHERE name = 'Acme'", &[])
            .await
            .unwrap()
            .get(0)
    };
    let id = ConnectionId::new();
    let tokens = connections::OAuthTokens {
        access_token: "ya29\u{1}x".into(),
        refresh_token: None,
    };
    let sealed = connections::seal_tokens(&setup.world.keys, tenant_id, id, &tokens).unwrap();
    let client = setup.world.pool.get().await.unwrap();
    connections::insert(
        &client,
        connections::NewConnection {
            id,
            tenant_id,
            connector: shared::domain::ConnectorKind::GoogleAds,
            name: "Legacy Google",
            sealed: &sealed,
            access_token_expires_at: None,
            settings: &json!({}),
        },
    )
    .await
    .unwrap();
    // Our failure, answered 500 and logged as one.
    setup.world.expect(
        ExpectedLog::error("request failed")
            .target("api::error")
            .field_containing("error", "could not be built"),
    );
    setup.world.expect(
        ExpectedLog::error("response failed")
            .target("tower_http")
            .field_containing("classification", "500"),
    );
    let response = setup
        .api
        .post(
            &format!("/v1/connections/{id}/accounts/discover"),
            &setup.key,
            &json!({}),
        )
        .await;
    assert_eq!(problem(&response), (500, "internal", ""), "{}", response.1);
    assert!(!response.1.to_string().contains("ya29"));
    assert!(
        setup
            .world
            .sandbox
            .requests_for(Connector::GoogleAds)
            .is_empty()
    );
    setup.world.stop().await;
}
