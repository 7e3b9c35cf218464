//! Happy paths: what each route answers, runs and their debounce, and secrets never shown.

use serde_json::json;
use shared::db::connections;
use shared::domain::{ConnectionId, TenantId};

use crate::setup;

#[tokio::test]
async fn created_objects_are_listed_and_read_back() {
    let setup = setup().await;
    for (path, object) in [
        ("/v1/connections", &setup.connection),
        ("/v1/accounts", &setup.account),
        ("/v1/destinations", &setup.destination),
        ("/v1/syncs", &setup.sync),
    ] {
        let id = object["id"].as_str().unwrap();
        let (status, read) = setup.api.get(&format!("{path}/{id}"), &setup.key).await;
        assert_eq!((status, &read), (200, object), "{path}");
        let (_, list) = setup.api.get(path, &setup.key).await;
        assert_eq!(list, json!([object]), "{path}");
    }
    assert_eq!(
        setup.account["external_id"], "42",
        "the act_ prefix is removed"
    );
    assert_eq!(
        setup.destination["settings"],
        json!({"schema": "warehouse"})
    );
    assert_eq!(
        setup.sync["schedule"]["time_zone"], "Europe/Berlin",
        "the account's zone"
    );
    assert_eq!(
        setup.sync["lookback_days"], 28,
        "Meta's restatement horizon"
    );
    assert_eq!(setup.sync["connector"], "meta_ads");
    setup.world.stop().await;
}

#[tokio::test]
async fn tokens_are_stored_encrypted_and_never_returned() {
    let setup = setup().await;
    for body in [
        &setup.connection,
        &setup.api.get("/v1/connections", &setup.key).await.1,
    ] {
        let text = body.to_string();
        assert!(!text.contains("secret-token"), "{text}");
        assert!(!text.contains("refresh-secret"), "{text}");
    }
    let client = setup.world.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT tenant_id, id, key_id, token_ciphertext FROM connections",
            &[],
        )
        .await
        .unwrap();
    let ciphertext: Vec<u8> = row.get("token_ciphertext");
    assert!(!String::from_utf8_lossy(&ciphertext).contains("secret"));
    assert_eq!(row.get::<_, String>("key_id"), "test");
    let tenant: TenantId = row.get("tenant_id");
    let id: ConnectionId = row.get("id");
    let tokens = connections::open_tokens(&client, &setup.world.keys, tenant, id)
        .await
        .unwrap();
    assert_eq!(tokens.access_token, "EAAB-secret-token-123");
    assert_eq!(tokens.refresh_token.as_deref(), Some("refresh-secret-456"));
    assert!(!format!("{tokens:?}").contains("secret"));
    setup.world.stop().await;
}

#[tokio::test]
async fn a_second_run_while_one_is_active_returns_the_active_job() {
    let setup = setup().await;
    let sync_id = setup.sync["id"].as_str().unwrap();
    let path = format!("/v1/syncs/{sync_id}/run");

    let (first_status, first) = setup.api.post(&path, &setup.key, &json!({})).await;
    let (second_status, second) = setup.api.post(&path, &setup.key, &json!({})).await;

    assert_eq!(first_status, 202, "{first}");
    assert_eq!(first["created"], true);
    assert_eq!(first["job"]["state"], "queued", "published at once");
    assert_eq!(first["job"]["trigger"], "manual");
    assert_eq!(second_status, 200, "{second}");
    assert_eq!(second["created"], false);
    assert_eq!(second["job"]["id"], first["job"]["id"]);
    let (_, page) = setup
        .api
        .get(&format!("/v1/jobs?sync_id={sync_id}"), &setup.key)
        .await;
    assert_eq!(page["jobs"].as_array().unwrap().len(), 1);
    setup.world.stop().await;
}

#[tokio::test]
async fn a_backfill_becomes_chunk_jobs_newest_first_at_backfill_priority_once() {
    // Arrange: 70 days of a Meta sync, which reads at most 31 days per request.
    let setup = setup().await;
    let sync_id = setup.sync["id"].as_str().unwrap();
    let path = format!("/v1/syncs/{sync_id}/backfill");
    let to = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive()
        - chrono::Duration::days(10);
    let day = |offset: i64| (to + chrono::Duration::days(offset)).to_string();
    let body = json!({"from": day(-69), "to": day(0)});

    // Act
    let (first_status, first) = setup.api.post(&path, &setup.key, &body).await;
    let (again_status, again) = setup.api.post(&path, &setup.key, &body).await;

    // Assert
    assert_eq!(first_status, 202, "{first}");
    assert_eq!(first["created"], 3);
    let windows: Vec<(String, String)> = first["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| {
            (
                job["window"]["start"].as_str().unwrap().to_owned(),
                job["window"]["end"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        windows,
        [(day(-7), day(0)), (day(-38), day(-8)), (day(-69), day(-39)),],
        "31-day chunks, newest first"
    );
    for job in first["jobs"].as_array().unwrap() {
        assert_eq!(job["trigger"], "backfill");
        assert_eq!(job["state"], "pending");
    }
    assert_eq!(again_status, 202, "{again}");
    assert_eq!(again["created"], 0, "the same chunks are still active");
    assert_eq!(again["jobs"], first["jobs"]);
    let client = setup.world.pool.get().await.unwrap();
    let order: Vec<(chrono::NaiveDate, i16)> = client
        .query(
            "SELECT window_start, priority FROM jobs ORDER BY run_after",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(order.len(), 3);
    assert!(
        order.windows(2).all(|pair| pair[0].0 > pair[1].0),
        "the relay publishes newest first: {order:?}"
    );
    assert!(order.iter().all(|(_, priority)| *priority == 1));
    // A manual run is not held back by the backfill.
    let run = setup
        .api
        .post(&format!("/v1/syncs/{sync_id}/run"), &setup.key, &json!({}))
        .await;
    assert_eq!(run.0, 202, "{}", run.1);
    setup.world.stop().await;
}

#[tokio::test]
async fn jobs_are_listed_newest_first_with_a_cursor() {
    let setup = setup().await;
    // Five finished jobs, inserted directly so each run can start a new one.
    let client = setup.world.pool.get().await.unwrap();
    let sync_id: uuid::Uuid = setup.sync["id"].as_str().unwrap().parse().unwrap();
    for _ in 0..5 {
        let (_, run) = setup
            .api
            .post(&format!("/v1/syncs/{sync_id}/run"), &setup.key, &json!({}))
            .await;
        let id: uuid::Uuid = run["job"]["id"].as_str().unwrap().parse().unwrap();
        client
            .execute(
                "UPDATE jobs SET state = 'cancelled', state_reason = 'test' WHERE id = $1",
                &[&id],
            )
            .await
            .unwrap();
    }

    let (_, first) = setup.api.get("/v1/jobs?limit=2", &setup.key).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = setup
        .api
        .get(&format!("/v1/jobs?limit=2&cursor={cursor}"), &setup.key)
        .await;
    let cursor = second["next_cursor"].as_str().unwrap();
    let (_, third) = setup
        .api
        .get(&format!("/v1/jobs?limit=2&cursor={cursor}"), &setup.key)
        .await;

    let ids: Vec<&str> = [&first, &second, &third]
        .iter()
        .flat_map(|page| page["jobs"].as_array().unwrap())
        .map(|job| job["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 5);
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "newest first, no repeats");
    assert!(third.get("next_cursor").is_none());
    let (_, cancelled) = setup.api.get("/v1/jobs?state=cancelled", &setup.key).await;
    assert_eq!(cancelled["jobs"].as_array().unwrap().len(), 5);
    let (_, queued) = setup.api.get("/v1/jobs?state=queued", &setup.key).await;
    assert_eq!(queued["jobs"], json!([]));
    setup.world.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics_are_served() {
    let setup = setup().await;
    for path in ["/healthz", "/readyz"] {
        let response = reqwest::get(format!("{}{path}", setup.api.base))
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let metrics = reqwest::get(format!("{}/metrics", setup.api.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "adsync_api_requests_total{method=\"POST\",route=\"/v1/syncs\",status_class=\"2xx\"} 1"
        ),
        "{metrics}"
    );
    setup.world.stop().await;
}

#[tokio::test]
async fn a_queued_job_is_cancelled_and_can_be_retried() {
    let setup = setup().await;
    let sync_id = setup.sync["id"].as_str().unwrap();
    let (_, run) = setup
        .api
        .post(&format!("/v1/syncs/{sync_id}/run"), &setup.key, &json!({}))
        .await;
    let job_id = run["job"]["id"].as_str().unwrap();

    let (status, cancelled) = setup
        .api
        .post(&format!("/v1/jobs/{job_id}/cancel"), &setup.key, &json!({}))
        .await;
    assert_eq!(
        (status, &cancelled["state"]),
        (200, &json!("cancelled")),
        "{cancelled}"
    );
    let again = setup
        .api
        .post(&format!("/v1/jobs/{job_id}/cancel"), &setup.key, &json!({}))
        .await;
    assert_eq!(again.0, 200, "cancelling twice is harmless");

    let (status, retried) = setup
        .api
        .post(&format!("/v1/jobs/{job_id}/retry"), &setup.key, &json!({}))
        .await;
    assert_eq!(status, 202, "{retried}");
    assert_eq!(retried["state"], "queued");
    assert_eq!(retried["attempt"], 0);
    let (_, detail) = setup
        .api
        .get(&format!("/v1/jobs/{job_id}"), &setup.key)
        .await;
    let reasons: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "manual",
            "published",
            "cancelled on request",
            "retried on request",
            "published"
        ]
    );
    setup.world.stop().await;
}

#[tokio::test]
async fn cancel_and_retry_refuse_what_they_cannot_do() {
    let setup = setup().await;
    let sync_id = setup.sync["id"].as_str().unwrap();
    let (_, run) = setup
        .api
        .post(&format!("/v1/syncs/{sync_id}/run"), &setup.key, &json!({}))
        .await;
    let job_id = run["job"]["id"].as_str().unwrap();

    // A queued job cannot be retried.
    let retry = setup
        .api
        .post(&format!("/v1/jobs/{job_id}/retry"), &setup.key, &json!({}))
        .await;
    assert_eq!(crate::problem(&retry), (409, "conflict", ""));
    // A finished job cannot be cancelled.
    let client = setup.world.pool.get().await.unwrap();
    let id: uuid::Uuid = job_id.parse().unwrap();
    client
        .execute(
            "UPDATE jobs SET state = 'succeeded', state_reason = 'test' WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let cancel = setup
        .api
        .post(&format!("/v1/jobs/{job_id}/cancel"), &setup.key, &json!({}))
        .await;
    assert_eq!(crate::problem(&cancel), (409, "conflict", ""));
    // Another tenant's job does not exist for them.
    let (_, other_key) = setup.api.create_tenant("Rival").await;
    for action in ["cancel", "retry"] {
        let response = setup
            .api
            .post(
                &format!("/v1/jobs/{job_id}/{action}"),
                &other_key,
                &json!({}),
            )
            .await;
        assert_eq!(
            crate::problem(&response),
            (404, "not_found", ""),
            "{action}"
        );
    }
    setup.world.stop().await;
}

#[tokio::test]
async fn the_api_binary_exits_zero_on_sigterm() {
    let world = testkit::TestWorld::start().await;
    let mut api = testkit::process::ChildProcess::spawn(
        "api",
        std::path::Path::new(env!("CARGO_BIN_EXE_api")),
        world.env(),
    );
    testkit::eventually(
        "the api to listen",
        std::time::Duration::from_secs(30),
        || {
            let listening = api.log().contains("api listening");
            async move { listening.then_some(()) }
        },
    )
    .await;

    api.terminate();

    let status = api.wait_exit(std::time::Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}\n{}", api.log());
    world.stop().await;
}
