//! Wrong input answers 4xx with a problem document naming the field, and creates nothing.

use serde_json::{Value, json};

use crate::{problem, setup, sync_body};

/// Posts `body` to `path` and expects 4xx naming `field`, with the field named in `detail`.
async fn assert_rejected(setup: &crate::Setup, path: &str, body: Value, status: u16, field: &str) {
    let response = setup.api.post(path, &setup.key, &body).await;
    let (got_status, code, got_field) = problem(&response);
    assert_eq!(
        (got_status, got_field),
        (status, field),
        "{path} {body}: {}",
        response.1
    );
    assert!(
        matches!(code, "invalid_field" | "invalid_request"),
        "{code}"
    );
    assert_eq!(
        response.1["status"],
        json!(status),
        "problem documents repeat the status"
    );
}

#[tokio::test]
async fn wrong_connection_input_is_refused_naming_the_field() {
    let setup = setup().await;
    let ok = json!({"connector": "meta_ads", "name": "n", "access_token": "t"});
    let with = |key: &str, value: Value| {
        let mut body = ok.clone();
        body[key] = value;
        body
    };
    let cases = [
        (with("connector", json!("facebook")), 422, "connector"),
        (with("name", json!("   ")), 422, "name"),
        (with("access_token", json!("")), 422, "access_token"),
        (with("access_token", json!(42)), 422, "access_token"),
        (
            with("refresh_token", json!("has space")),
            422,
            "refresh_token",
        ),
        (
            with("access_token_expires_at", json!("tomorrow")),
            422,
            "access_token_expires_at",
        ),
        (with("colour", json!("red")), 422, "colour"),
    ];
    for (body, status, field) in cases {
        assert_rejected(&setup, "/v1/connections", body, status, field).await;
    }
    let (_, list) = setup.api.get("/v1/connections", &setup.key).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "nothing was created");
    setup.world.stop().await;
}

#[tokio::test]
async fn unknown_fields_are_named_in_the_detail() {
    let setup = setup().await;
    let response = setup
        .api
        .post(
            "/v1/destinations",
            &setup.key,
            &json!({"kind": "warehouse", "name": "x", "colour": "red"}),
        )
        .await;
    assert_eq!(response.0, 422);
    assert!(
        response.1["detail"].as_str().unwrap().contains("colour"),
        "{}",
        response.1
    );
    let malformed = setup
        .api
        .request(
            reqwest::Method::POST,
            "/v1/destinations",
            Some(&setup.key),
            None,
        )
        .await;
    assert_eq!(problem(&malformed).0, 400, "{}", malformed.1);
    setup.world.stop().await;
}

#[tokio::test]
async fn wrong_account_input_is_refused_naming_the_field() {
    let setup = setup().await;
    let ok = json!({"connection_id": setup.connection["id"], "external_id": "act_7", "name": "n", "time_zone": "UTC", "currency": "USD"});
    let with = |key: &str, value: Value| {
        let mut body = ok.clone();
        body[key] = value;
        body
    };
    let cases = [
        (with("external_id", json!("act_x7")), 422, "external_id"),
        (with("time_zone", json!("Mars/Olympus")), 422, "time_zone"),
        (with("currency", json!("euro")), 422, "currency"),
        (
            with("connection_id", json!("not-a-uuid")),
            422,
            "connection_id",
        ),
    ];
    for (body, status, field) in cases {
        assert_rejected(&setup, "/v1/accounts", body, status, field).await;
    }
    let missing = setup
        .api
        .post(
            "/v1/accounts",
            &setup.key,
            &with("connection_id", json!(uuid::Uuid::new_v4())),
        )
        .await;
    assert_eq!(problem(&missing), (404, "not_found", ""));
    let duplicate = setup
        .api
        .post(
            "/v1/accounts",
            &setup.key,
            &with("external_id", json!("42")),
        )
        .await;
    assert_eq!(problem(&duplicate), (409, "conflict", ""));
    setup.world.stop().await;
}

#[tokio::test]
async fn wrong_destination_input_is_refused_naming_the_field() {
    let setup = setup().await;
    let cases = [
        (json!({"kind": "s3", "name": "n"}), 422, "kind"),
        (
            json!({"kind": "google_sheets", "name": "n"}),
            422,
            "settings.spreadsheet_id",
        ),
        (
            json!({"kind": "google_sheets", "name": "n",
                   "settings": {"spreadsheet_id": "short", "tab": "t"}}),
            422,
            "settings.spreadsheet_id",
        ),
        (
            json!({"kind": "google_sheets", "name": "n",
                   "settings": {"spreadsheet_id": "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms", "tab": "a/b"}}),
            422,
            "settings.tab",
        ),
        (
            json!({"kind": "warehouse", "name": "n", "settings": {"schema": "Robert'); DROP"}}),
            422,
            "settings.schema",
        ),
        (
            json!({"kind": "warehouse", "name": "n", "settings": {"shcema": "x"}}),
            422,
            "settings.shcema",
        ),
    ];
    for (body, status, field) in cases {
        assert_rejected(&setup, "/v1/destinations", body, status, field).await;
    }
    setup.world.stop().await;
}

#[tokio::test]
async fn wrong_sync_input_is_refused_naming_the_field() {
    let setup = setup().await;
    let ok = sync_body(&setup.account, &setup.destination);
    let with = |path: &[&str], value: Value| {
        let mut body = ok.clone();
        let mut target = &mut body;
        for key in &path[..path.len() - 1] {
            target = &mut target[*key];
        }
        target[path[path.len() - 1]] = value;
        body
    };
    let cases = [
        (with(&["report", "level"], json!("keyword")), "report.level"),
        (
            with(&["report", "metrics"], json!(["likes"])),
            "report.metrics",
        ),
        (with(&["report", "metrics"], json!([])), "report.metrics"),
        (
            with(&["report", "metrics"], json!("spend")),
            "report.metrics",
        ),
        (
            with(&["schedule", "cron"], json!("every day")),
            "schedule.cron",
        ),
        (
            with(&["schedule", "cron"], json!("0 25 * * *")),
            "schedule.cron",
        ),
        (
            with(&["schedule", "time_zone"], json!("CEST")),
            "schedule.time_zone",
        ),
        (with(&["lookback_days"], json!(0)), "lookback_days"),
        (with(&["lookback_days"], json!(401)), "lookback_days"),
        (with(&["fresh_days"], json!(0)), "fresh_days"),
        (
            with(&["lookback_days"], json!(7))
                .as_object()
                .map(|body| {
                    let mut body = body.clone();
                    body.insert("fresh_days".into(), json!(8));
                    Value::Object(body)
                })
                .unwrap(),
            "fresh_days",
        ),
        (with(&["enabled"], json!("yes")), "enabled"),
        (
            with(&["report"], json!({"metrics": ["spend"]})),
            "report.level",
        ),
    ];
    for (body, field) in cases {
        assert_rejected(&setup, "/v1/syncs", body, 422, field).await;
    }
    let (_, syncs) = setup.api.get("/v1/syncs", &setup.key).await;
    assert_eq!(syncs.as_array().unwrap().len(), 1, "nothing was created");
    setup.world.stop().await;
}

#[tokio::test]
async fn wrong_backfills_are_refused_naming_the_field_and_create_nothing() {
    let setup = setup().await;
    let sync_id = setup.sync["id"].as_str().unwrap();
    let path = format!("/v1/syncs/{sync_id}/backfill");
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let day = |offset: i64| (today + chrono::Duration::days(offset)).to_string();
    let cases = [
        (json!({"from": day(-3), "to": day(1)}), "to"),
        (json!({"from": day(-1200), "to": day(-1)}), "from"),
        (json!({"from": day(-1), "to": day(-3)}), "from"),
        (json!({"from": "2026-02-30", "to": day(-1)}), "from"),
        (json!({"from": day(-3)}), "to"),
        (json!({"from": day(-3), "to": day(-1), "chunk": 7}), "chunk"),
    ];
    for (body, field) in cases {
        assert_rejected(&setup, &path, body, 422, field).await;
    }
    let (_, page) = setup
        .api
        .get(&format!("/v1/jobs?sync_id={sync_id}"), &setup.key)
        .await;
    assert_eq!(page["jobs"], json!([]), "no job was created");
    setup.world.stop().await;
}

#[tokio::test]
async fn wrong_job_queries_and_ids_are_refused_naming_the_parameter() {
    let setup = setup().await;
    for path in [
        "/v1/jobs?state=exploded",
        "/v1/jobs?limit=0",
        "/v1/jobs?limit=100000",
        "/v1/jobs?cursor=abc",
        "/v1/jobs?colour=red",
    ] {
        let response = setup.api.get(path, &setup.key).await;
        assert_eq!(response.0, 422, "{path}: {}", response.1);
    }
    let response = setup.api.get("/v1/jobs/not-a-uuid", &setup.key).await;
    assert_eq!(problem(&response), (422, "invalid_field", "path"));
    let response = setup
        .api
        .get(&format!("/v1/jobs/{}", uuid::Uuid::new_v4()), &setup.key)
        .await;
    assert_eq!(problem(&response), (404, "not_found", ""));
    setup.world.stop().await;
}

#[tokio::test]
async fn a_tenants_running_job_cap_must_be_sensible() {
    let setup = setup().await;
    for cap in [json!(0), json!(10_001), json!("many")] {
        let response = setup
            .api
            .post(
                "/v1/tenants",
                testkit::world::OPERATOR_KEY,
                &json!({"name": "Capped", "max_running_jobs": cap}),
            )
            .await;
        assert_eq!(
            problem(&response),
            (422, "invalid_field", "max_running_jobs"),
            "{cap}"
        );
    }
    let (status, created) = setup
        .api
        .post(
            "/v1/tenants",
            testkit::world::OPERATOR_KEY,
            &json!({"name": "Capped", "max_running_jobs": 3}),
        )
        .await;
    assert_eq!(
        (status, &created["tenant"]["max_running_jobs"]),
        (201, &json!(3))
    );
    setup.world.stop().await;
}
