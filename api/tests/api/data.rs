//! Job listings with filters and cursors, dashboard statistics, the tenant export and the
//! tenant's deletion.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use shared::db::syncs::{self, SyncDefinition};
use shared::domain::{JobId, JobState, SyncId, TenantId};
use testkit::fixtures::{self, JobAt, MetaSyncOptions};
use testkit::world::OPERATOR_KEY;

use crate::{Setup, created, problem, setup, sync_body};

/// The setup's sync as stored.
async fn stored_sync(setup: &Setup, sync: &Value) -> SyncDefinition {
    let client = setup.world.pool.get().await.unwrap();
    let id: SyncId = sync["id"].as_str().unwrap().parse().unwrap();
    let tenant: TenantId = client
        .query_one("SELECT tenant_id FROM syncs WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    syncs::get(&client, tenant, id).await.unwrap().unwrap()
}

/// A job the listing test created: when, its id, its state, and whether it is on the first sync.
type Listed = (chrono::DateTime<Utc>, JobId, &'static str, bool);

/// Every job id of a listing, following the cursor, `limit` at a time.
async fn all_pages(setup: &Setup, filters: &str, limit: u16) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/jobs?limit={limit}{filters}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let (status, page) = setup.api.get(&path, &setup.key).await;
        assert_eq!(status, 200, "{path}: {page}");
        let jobs = page["jobs"].as_array().unwrap();
        assert!(jobs.len() <= usize::from(limit));
        ids.extend(
            jobs.iter()
                .map(|job| job["id"].as_str().unwrap().to_string()),
        );
        match page.get("next_cursor").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_string()),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn jobs_are_filtered_by_state_sync_account_connector_and_time_and_paged_in_a_stable_order() {
    // Arrange: a second account and sync, and eight jobs a minute apart, two of them created
    // at the same instant (the id breaks the tie).
    let setup = setup().await;
    let account2 = created(
        setup
            .api
            .post(
                "/v1/accounts",
                &setup.key,
                &json!({"connection_id": setup.connection["id"], "external_id": "act_43", "name": "Shop 2", "time_zone": "UTC", "currency": "EUR"}),
            )
            .await,
        "account",
    );
    let sync2 = created(
        setup
            .api
            .post(
                "/v1/syncs",
                &setup.key,
                &sync_body(&account2, &setup.destination),
            )
            .await,
        "sync",
    );
    let first = stored_sync(&setup, &setup.sync).await;
    let second = stored_sync(&setup, &sync2).await;
    let base = Utc::now() - Duration::hours(1);
    let client = setup.world.pool.get().await.unwrap();
    let mut expected: Vec<Listed> = Vec::new();
    for minute in 0..8i64 {
        let on_first = minute < 5;
        let sync = if on_first { &first } else { &second };
        let created_at = base + Duration::minutes(minute.min(6));
        let (state, finished) = if minute % 2 == 0 {
            (JobState::Failed, Some(created_at))
        } else {
            (JobState::Succeeded, Some(created_at))
        };
        let mut job = JobAt::pending(sync, created_at);
        job.state = state;
        job.finished_at = finished;
        let id = fixtures::insert_job(&client, &job).await;
        expected.push((created_at, id, state.as_str(), on_first));
    }
    expected.sort_by_key(|job| std::cmp::Reverse((job.0, job.1)));
    let ids = |keep: &dyn Fn(&Listed) -> bool| -> Vec<String> {
        expected
            .iter()
            .filter(|job| keep(job))
            .map(|job| job.1.to_string())
            .collect()
    };

    // Act and assert: every filter, paged two at a time and in one page.
    assert_eq!(all_pages(&setup, "", 2).await, ids(&|_| true));
    assert_eq!(all_pages(&setup, "", 500).await, ids(&|_| true));
    assert_eq!(
        all_pages(&setup, "&state=failed", 3).await,
        ids(&|job| job.2 == "failed")
    );
    assert_eq!(
        all_pages(&setup, &format!("&sync_id={}", second.id), 2).await,
        ids(&|job| !job.3)
    );
    assert_eq!(
        all_pages(&setup, &format!("&account_id={}", first.account_id), 2).await,
        ids(&|job| job.3)
    );
    assert_eq!(
        all_pages(&setup, "&connector=meta_ads", 3).await,
        ids(&|_| true)
    );
    assert!(
        all_pages(&setup, "&connector=tiktok_ads", 3)
            .await
            .is_empty()
    );
    let after = base + Duration::minutes(2);
    let before = base + Duration::minutes(5);
    let range = format!(
        "&created_after={}&created_before={}",
        after.to_rfc3339().replace('+', "%2B"),
        before.to_rfc3339().replace('+', "%2B")
    );
    assert_eq!(
        all_pages(&setup, &range, 1).await,
        ids(&|job| job.0 >= after && job.0 < before)
    );
    assert_eq!(
        all_pages(
            &setup,
            &format!("{range}&state=succeeded&sync_id={}", first.id),
            1
        )
        .await,
        ids(&|job| job.0 >= after && job.0 < before && job.2 == "succeeded" && job.3)
    );

    // Another tenant sees none of them.
    let (_, other_key) = setup.api.create_tenant("Other").await;
    let (_, page) = setup.api.get("/v1/jobs", &other_key).await;
    assert_eq!(page["jobs"], json!([]));
    let (_, page) = setup
        .api
        .get(&format!("/v1/jobs?sync_id={}", first.id), &other_key)
        .await;
    assert_eq!(page["jobs"], json!([]));
    setup.world.stop().await;
}

#[tokio::test]
async fn bad_job_filters_are_refused_naming_the_parameter() {
    let setup = setup().await;
    let cases = [
        ("state=exploded", "state"),
        ("sync_id=42", "sync_id"),
        ("account_id=act_42", "account_id"),
        ("connector=myspace", "connector"),
        ("created_after=yesterday", "created_after"),
        ("created_before=2026-13-01T00:00:00Z", "created_before"),
        (
            "created_after=2026-02-01T00:00:00Z&created_before=2026-01-01T00:00:00Z",
            "created_before",
        ),
        ("cursor=abc", "cursor"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=many", "limit"),
        ("colour=red", "colour"),
        ("state=failed&state=queued", "state"),
    ];
    for (query, parameter) in cases {
        let response = setup
            .api
            .get(&format!("/v1/jobs?{query}"), &setup.key)
            .await;
        assert_eq!(
            problem(&response),
            (422, "invalid_field", parameter),
            "{query}: {}",
            response.1
        );
    }
    setup.world.stop().await;
}

/// Sets a blocked rate budget.
async fn block_budget(setup: &Setup, key: &str, until: chrono::DateTime<Utc>) {
    setup
        .world
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "INSERT INTO rate_budgets (key, capacity, refill_per_sec, tokens, blocked_until,
                 usage_percent)
             VALUES ($1, 10, 1, 0, $2, 97.5)",
            &[&key, &until],
        )
        .await
        .unwrap();
}

fn count(stats: &Value, state: &str) -> i64 {
    stats["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["state"] == state)
        .map(|row| row["count"].as_i64().unwrap())
        .sum()
}

#[tokio::test]
async fn stats_show_a_tenant_its_own_figures_and_the_operator_every_tenant_and_the_queues() {
    // Arrange: jobs of the setup's tenant in every situation, another tenant's pending jobs,
    // throttled budgets and a connection needing re-authorisation.
    let mut setup = setup().await;
    let sync = stored_sync(&setup, &setup.sync).await;
    let other = fixtures::meta_sync(
        &setup.world.pool,
        &setup.world.keys,
        MetaSyncOptions {
            account_id: "999".into(),
            ..MetaSyncOptions::default()
        },
    )
    .await;
    let now = Utc::now();
    let client = setup.world.pool.get().await.unwrap();
    let insert = |job: JobAt| {
        let client = &client;
        async move { fixtures::insert_job(client, &job).await }
    };
    insert(JobAt::pending(&sync, now - Duration::minutes(10))).await;
    insert(JobAt::pending(&sync, now - Duration::minutes(1))).await;
    let mut running = JobAt::pending(&sync, now - Duration::minutes(2));
    running.state = JobState::Running;
    insert(running).await;
    for hours in [1, 2, 3] {
        insert(
            JobAt::pending(&sync, now - Duration::hours(hours + 1))
                .finished(JobState::Succeeded, now - Duration::hours(hours)),
        )
        .await;
    }
    insert(
        JobAt::pending(&sync, now - Duration::days(3))
            .finished(JobState::Succeeded, now - Duration::days(3)),
    )
    .await;
    for (class, minutes) in [
        ("permanent", 5),
        ("transient", 20),
        ("permanent", 30),
        ("transient", 120),
    ] {
        let mut failed = JobAt::pending(&sync, now - Duration::minutes(minutes + 1))
            .finished(JobState::Failed, now - Duration::minutes(minutes));
        failed.error_class = Some(class.to_string());
        insert(failed).await;
    }
    for _ in 0..5 {
        insert(JobAt::pending(&other.sync, now - Duration::hours(5))).await;
    }
    let account_external: String = client
        .query_one(
            "SELECT external_id FROM accounts WHERE id = $1",
            &[&sync.account_id],
        )
        .await
        .unwrap()
        .get(0);
    let own_budget = format!("meta_ads:account:{account_external}");
    block_budget(&setup, &own_budget, now + Duration::minutes(5)).await;
    block_budget(&setup, "meta_ads:account:999", now + Duration::minutes(5)).await;
    block_budget(&setup, "meta_ads:app", now + Duration::minutes(1)).await;
    block_budget(&setup, "tiktok_ads:app", now - Duration::minutes(1)).await;
    // One job published to its queue, to show in the queue's depth.
    let (_, run) = setup
        .api
        .post(
            &format!("/v1/syncs/{}/run", setup.sync["id"].as_str().unwrap()),
            &setup.key,
            &json!({}),
        )
        .await;
    assert_eq!(run["job"]["state"], "queued", "{run}");
    let connection_id = setup.connection["id"].as_str().unwrap().parse().unwrap();
    shared::db::connections::mark_needs_reauth(
        &client,
        sync.tenant_id,
        connection_id,
        "token expired",
    )
    .await
    .unwrap();

    // Act
    let (status, mine) = setup.api.get("/v1/stats", &setup.key).await;
    let (operator_status, all) = setup.api.get("/v1/stats", OPERATOR_KEY).await;

    // Assert: the tenant's figures.
    assert_eq!(status, 200, "{mine}");
    assert_eq!(count(&mine, "pending"), 2, "{mine}");
    assert_eq!(count(&mine, "running"), 1);
    assert_eq!(
        count(&mine, "succeeded"),
        3,
        "the one from 3 days ago is outside the window"
    );
    assert_eq!(count(&mine, "failed"), 4);
    assert_eq!(mine["finished_window_hours"], 24);
    let age = mine["oldest_waiting_job_age_secs"].as_f64().unwrap();
    assert!((590.0..700.0).contains(&age), "{age}");
    assert_eq!(
        mine["failures_last_hour"],
        json!([
            {"error_class": "permanent", "connector": "meta_ads", "count": 2},
            {"error_class": "transient", "connector": "meta_ads", "count": 1},
        ])
    );
    let keys: Vec<&str> = mine["throttled_budgets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|budget| budget["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [own_budget.as_str(), "meta_ads:app"]);
    assert_eq!(mine["needs_reauth"].as_array().unwrap().len(), 1);
    assert_eq!(mine["needs_reauth"][0]["id"], setup.connection["id"]);
    assert_eq!(mine["needs_reauth"][0]["reason"], "token expired");
    assert_eq!(
        mine["queues"],
        Value::Null,
        "queues are shared: operator only"
    );
    assert!(!mine.to_string().contains("EAAB-secret-token-123"));

    // The operator's: every tenant, every budget, and the queues.
    assert_eq!(operator_status, 200, "{all}");
    assert_eq!(count(&all, "pending"), 7);
    let age = all["oldest_waiting_job_age_secs"].as_f64().unwrap();
    assert!(age >= 5.0 * 3600.0 - 10.0, "{age}");
    assert_eq!(all["throttled_budgets"].as_array().unwrap().len(), 3);
    let prefix = &setup.world.config.rabbitmq.prefix;
    let queues = all["queues"].as_array().unwrap();
    assert!(queues.len() >= 6, "{queues:?}");
    assert!(queues.iter().all(|queue| {
        queue["name"].as_str().unwrap().starts_with(prefix.as_str()) && queue["messages"].is_u64()
    }));

    let meta_queue = setup
        .world
        .publisher()
        .await
        .topology()
        .jobs_queue(shared::domain::ConnectorKind::MetaAds);
    let depth = all["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|queue| queue["name"] == meta_queue.as_str())
        .unwrap()["messages"]
        .as_u64()
        .unwrap();
    assert_eq!(depth, 1);
    setup.world.stop().await;
}

#[tokio::test]
async fn stats_need_a_key() {
    let setup = setup().await;
    let response = setup.api.get("/v1/stats", "adsk_not-a-key").await;
    assert_eq!(problem(&response), (401, "unauthorized", ""));
    setup.world.stop().await;
}

/// The export's lines, parsed, and its raw text.
async fn export(setup: &Setup, key: &str) -> (u16, String, Vec<Value>) {
    let response = reqwest::Client::new()
        .get(format!("{}/v1/tenant/export", setup.api.base))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    if status != 200 {
        return (status, text, Vec::new());
    }
    assert_eq!(content_type.as_deref(), Some("application/x-ndjson"));
    let lines = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (status, text, lines)
}

/// Creates the setup sync's webhook; returns its secret.
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
    body["secret"].as_str().unwrap().to_owned()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn the_export_holds_every_record_of_the_tenant_as_json_lines_and_no_secret() {
    // Arrange: a job with its events, warehouse rows of this tenant and of another one.
    let setup = setup().await;
    let sync = stored_sync(&setup, &setup.sync).await;
    let (_, run) = setup
        .api
        .post(
            &format!("/v1/syncs/{}/run", sync.id),
            &setup.key,
            &json!({}),
        )
        .await;
    let webhook_secret = create_webhook(&setup).await;
    let other = fixtures::meta_sync(
        &setup.world.pool,
        &setup.world.keys,
        MetaSyncOptions::default(),
    )
    .await;
    let client = setup.world.pool.get().await.unwrap();
    fixtures::create_warehouse_tables(&client).await;
    let today = Utc::now().date_naive();
    fixtures::insert_warehouse_row(&client, &sync, today, "c1", Utc::now()).await;
    fixtures::insert_warehouse_row(&client, &sync, today - Duration::days(1), "c1", Utc::now())
        .await;
    fixtures::insert_warehouse_row(&client, &other.sync, today, "c9", Utc::now()).await;
    let sealed: Vec<Vec<u8>> = client
        .query_one(
            "SELECT c.token_nonce, c.token_ciphertext, k.key_hash
             FROM connections c JOIN api_keys k ON k.tenant_id = c.tenant_id
             WHERE c.tenant_id = $1 LIMIT 1",
            &[&sync.tenant_id],
        )
        .await
        .map(|row| vec![row.get(0), row.get(1), row.get(2)])
        .unwrap();
    let webhook_sealed: Vec<Vec<u8>> = client
        .query_one(
            "SELECT secret_nonce, secret_ciphertext FROM sync_webhooks WHERE sync_id = $1",
            &[&sync.id],
        )
        .await
        .map(|row| vec![row.get(0), row.get(1)])
        .unwrap();

    // Act
    let (status, text, lines) = export(&setup, &setup.key).await;

    // Assert: every kind of record, only this tenant's, and the closing count.
    assert_eq!(status, 200, "{text}");
    let of = |kind: &str| -> Vec<&Value> {
        lines
            .iter()
            .filter(|line| line["type"] == kind)
            .map(|line| &line["record"])
            .collect()
    };
    assert_eq!(of("tenant").len(), 1);
    assert_eq!(of("tenant")[0]["id"], sync.tenant_id.to_string());
    assert_eq!(of("api_key").len(), 1);
    assert_eq!(of("connection").len(), 1);
    assert_eq!(of("connection")[0]["id"], setup.connection["id"]);
    assert_eq!(of("account").len(), 1);
    assert_eq!(of("destination").len(), 1);
    assert_eq!(of("destination")[0]["has_credentials"], false);
    assert_eq!(of("sync").len(), 1);
    assert_eq!(of("sync_webhook").len(), 1);
    assert_eq!(of("job").len(), 1);
    assert_eq!(of("job")[0]["id"], run["job"]["id"]);
    assert!(of("job_event").len() >= 2, "created and queued");
    let rows = of("warehouse_row");
    assert_eq!(rows.len(), 3, "two performance rows and the one entity row");
    assert!(
        lines
            .iter()
            .filter(|line| line["type"] == "warehouse_row")
            .all(|line| {
                line["table"] == "warehouse.meta_ads_campaign"
                    || line["table"] == "warehouse.meta_ads_campaign_entities"
            })
    );
    assert!(rows.iter().all(|row| row["sync_id"] == sync.id.to_string()));
    let end = lines.last().unwrap();
    assert_eq!(end["type"], "end");
    assert_eq!(end["records"].as_u64().unwrap() as usize, lines.len() - 1);
    assert!(!text.contains(&other.tenant.id.to_string()));
    assert!(!text.contains(&other.sync.id.to_string()));

    // No secret, in clear or sealed, nor the columns that held them.
    for secret in [
        "EAAB-secret-token-123",
        "refresh-secret-456",
        setup.key.as_str(),
        webhook_secret.as_str(),
    ] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
    for bytes in sealed.iter().chain(&webhook_sealed) {
        assert!(!text.contains(&hex(bytes)), "sealed bytes leaked");
    }
    for column in [
        "key_hash",
        "token_ciphertext",
        "token_nonce",
        "secret_ciphertext",
        "secret_nonce",
        "\"key_id\"",
    ] {
        assert!(!text.contains(column), "{column} exported");
    }

    // The operator has no tenant to export.
    let (status, _, _) = export(&setup, OPERATOR_KEY).await;
    assert_eq!(status, 403);
    setup.world.stop().await;
}

#[tokio::test]
async fn deleting_the_tenant_revokes_its_access_at_once_and_stops_its_work() {
    // Arrange: a queued job, and another tenant.
    let setup = setup().await;
    let sync = stored_sync(&setup, &setup.sync).await;
    let (_, run) = setup
        .api
        .post(
            &format!("/v1/syncs/{}/run", sync.id),
            &setup.key,
            &json!({}),
        )
        .await;
    let job_id = run["job"]["id"].as_str().unwrap().to_string();
    let webhook_secret = create_webhook(&setup).await;
    let (_, other_key) = setup.api.create_tenant("Other").await;

    // Act
    let (status, body) = setup
        .api
        .request(Method::DELETE, "/v1/tenant", Some(&setup.key), None)
        .await;

    // Assert: access gone at once, work stopped, erasure in 30 days, others untouched.
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["tenant_id"], sync.tenant_id.to_string());
    assert_eq!(body["jobs_cancelled"], 1);
    assert_eq!(body["syncs_disabled"], 1);
    let erase_after: chrono::DateTime<Utc> = body["erase_after"].as_str().unwrap().parse().unwrap();
    let in_30_days = Utc::now() + Duration::days(30);
    assert!(
        (erase_after - in_30_days).num_seconds().abs() < 60,
        "{erase_after}"
    );
    for path in ["/v1/jobs", "/v1/stats", "/v1/tenant/export"] {
        let response = setup.api.get(path, &setup.key).await;
        assert_eq!(problem(&response), (401, "unauthorized", ""), "{path}");
    }
    let again = setup
        .api
        .request(Method::DELETE, "/v1/tenant", Some(&setup.key), None)
        .await;
    assert_eq!(again.0, 401);
    let client = setup.world.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT (SELECT state FROM jobs WHERE id = $1::text::uuid),
                    (SELECT enabled FROM syncs WHERE id = $2),
                    (SELECT count(*) FROM api_keys WHERE tenant_id = $3 AND revoked_at IS NULL)",
            &[&job_id, &sync.id, &sync.tenant_id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "cancelled");
    assert!(!row.get::<_, bool>(1));
    assert_eq!(row.get::<_, i64>(2), 0);
    assert_eq!(setup.api.get("/v1/jobs", &other_key).await.0, 200);
    // The sync's webhook no longer triggers anything.
    let timestamp = Utc::now().timestamp().to_string();
    let signature = api::routes::webhooks::sign(webhook_secret.as_bytes(), &timestamp, b"{}");
    let hook = reqwest::Client::new()
        .post(format!("{}/v1/hooks/{}", setup.api.base, sync.id))
        .header("X-Adsync-Timestamp", &timestamp)
        .header("X-Adsync-Signature", format!("sha256={}", hex(&signature)))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(hook.status().is_client_error(), "{}", hook.status());
    let jobs: i64 = client
        .query_one("SELECT count(*) FROM jobs WHERE sync_id = $1", &[&sync.id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(jobs, 1, "no job was created");

    // The operator cannot delete "its" tenant: there is none.
    let response = setup
        .api
        .request(Method::DELETE, "/v1/tenant", Some(OPERATOR_KEY), None)
        .await;
    assert_eq!(problem(&response), (403, "forbidden", ""));
    setup.world.stop().await;
}
