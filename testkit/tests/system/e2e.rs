//! API → scheduler → RabbitMQ → worker → warehouse, on the real services and the sandbox.

use std::str::FromStr;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use sandbox::SandboxConfig;
use sandbox::meta_ads::{self, Level};
use serde_json::{Value, json};
use testkit::{TestWorld, eventually};

/// One warehouse row, as compared with the sandbox's truth.
#[derive(Debug, PartialEq, Eq)]
struct CampaignDay {
    date: NaiveDate,
    campaign_id: String,
    campaign_name: String,
    impressions: Decimal,
    clicks: Decimal,
    spend: Decimal,
    reach: Decimal,
    currency: String,
    time_zone: String,
}

async fn warehouse_rows(world: &TestWorld, sync_id: &str) -> Vec<(CampaignDay, String)> {
    let client = world.pool.get().await.unwrap();
    let sync_id = uuid::Uuid::from_str(sync_id).unwrap();
    client
        .query(
            "SELECT date, campaign_id, campaign_name, impressions, clicks, spend, reach,
                    currency, time_zone, job_id::text AS job_id
             FROM warehouse.meta_ads_campaign WHERE sync_id = $1
             ORDER BY date, campaign_id",
            &[&sync_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (
                CampaignDay {
                    date: row.get("date"),
                    campaign_id: row.get("campaign_id"),
                    campaign_name: row.get("campaign_name"),
                    impressions: row.get("impressions"),
                    clicks: row.get("clicks"),
                    spend: row.get("spend"),
                    reach: row.get("reach"),
                    currency: row.get("currency"),
                    time_zone: row.get("time_zone"),
                },
                row.get("job_id"),
            )
        })
        .collect()
}

async fn wait_for_job(api: &testkit::ApiClient, key: &str, job_id: &str) -> Value {
    eventually(
        &format!("job {job_id} to finish"),
        Duration::from_secs(60),
        || async {
            let (status, job) = api.get(&format!("/v1/jobs/{job_id}"), key).await;
            assert_eq!(status, 200, "{job}");
            let state = job["state"].as_str().unwrap_or_default().to_string();
            (state == "succeeded" || state == "failed" || state == "cancelled").then_some(job)
        },
    )
    .await
}

fn created(response: (u16, Value), what: &str) -> Value {
    let (status, body) = response;
    assert_eq!(status, 201, "creating {what}: {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meta_sync_lands_the_sandbox_numbers_in_the_warehouse_and_a_rerun_duplicates_nothing() {
    // Arrange: the whole system, with the sandbox's clock frozen so "today" cannot move.
    let mut world = TestWorld::start_with(
        SandboxConfig {
            now: Some(Utc::now()),
            ..SandboxConfig::default()
        },
        &[],
    )
    .await;
    let api = world.spawn_api().await;
    world.spawn_worker();
    let (_, key) = api.create_tenant("Acme Agency").await;
    let facts = meta_ads::account("2718281828").unwrap();

    let connection = created(
        api.post(
            "/v1/connections",
            &key,
            &json!({"connector": "meta_ads", "name": "Acme Meta", "access_token": "sandbox-token-acme"}),
        )
        .await,
        "connection",
    );
    let account = created(
        api.post(
            "/v1/accounts",
            &key,
            &json!({
                "connection_id": connection["id"],
                "external_id": format!("act_{}", facts.id),
                "name": facts.name,
                "time_zone": facts.time_zone.name(),
                "currency": facts.currency.code(),
            }),
        )
        .await,
        "account",
    );
    let destination = created(
        api.post(
            "/v1/destinations",
            &key,
            &json!({"kind": "warehouse", "name": "Acme warehouse"}),
        )
        .await,
        "destination",
    );
    let sync = created(
        api.post(
            "/v1/syncs",
            &key,
            &json!({
                "account_id": account["id"],
                "destination_id": destination["id"],
                "report": {"level": "campaign", "metrics": ["impressions", "clicks", "spend", "reach"]},
                "schedule": {"cron": "0 6 * * *"},
                "lookback_days": 10,
            }),
        )
        .await,
        "sync",
    );
    let sync_id = sync["id"].as_str().unwrap().to_string();
    // Make the sync due now instead of at tomorrow's 06:00.
    world
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE syncs SET next_run_at = now() - interval '1 minute' WHERE id = $1",
            &[&uuid::Uuid::from_str(&sync_id).unwrap()],
        )
        .await
        .unwrap();

    // Act: one scheduler tick and one relay pass; the worker does the rest.
    let tick = world.tick(Utc::now()).await;
    let published = world.relay().await;
    assert_eq!((tick.due, tick.created, published), (1, 1, 1));
    let (_, page) = api.get(&format!("/v1/jobs?sync_id={sync_id}"), &key).await;
    let first_id = page["jobs"][0]["id"].as_str().unwrap().to_string();
    let first = wait_for_job(&api, &key, &first_id).await;

    // Assert: the warehouse holds exactly the sandbox's rows for the job's window.
    assert_eq!(first["state"], "succeeded", "{first}");
    assert_eq!(first["trigger"], "scheduled");
    let start: NaiveDate = first["window"]["start"].as_str().unwrap().parse().unwrap();
    let end: NaiveDate = first["window"]["end"].as_str().unwrap().parse().unwrap();
    assert_eq!((end - start).num_days(), 9, "a 10-day window");
    let today = world.sandbox.today_for(&facts);
    let expected: Vec<CampaignDay> =
        meta_ads::insights_truth(&facts.id, Level::Campaign, start, end, today)
            .into_iter()
            .map(|truth| CampaignDay {
                date: truth.date_start,
                campaign_id: truth.campaign_id.unwrap(),
                campaign_name: truth.campaign_name.unwrap(),
                impressions: Decimal::from(truth.impressions),
                clicks: Decimal::from(truth.clicks),
                spend: Decimal::from_str(&truth.spend).unwrap(),
                reach: Decimal::from(truth.reach),
                currency: facts.currency.code().to_string(),
                time_zone: facts.time_zone.name().to_string(),
            })
            .collect();
    assert!(
        !expected.is_empty(),
        "the sandbox account has rows in the window"
    );
    let rows = warehouse_rows(&world, &sync_id).await;
    let (days, job_ids): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
    assert_eq!(days, expected);
    assert!(job_ids.iter().all(|id| *id == first_id));
    assert_eq!(first["rows_read"], json!(expected.len()));
    assert_eq!(first["rows_written"], json!(expected.len()));
    assert!(first["api_calls"].as_i64().unwrap() >= 1);
    let transitions: Vec<(Value, Value)> = first["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| (event["from"].clone(), event["to"].clone()))
        .collect();
    assert_eq!(
        transitions,
        [
            (Value::Null, json!("pending")),
            (json!("pending"), json!("queued")),
            (json!("queued"), json!("running")),
            (json!("running"), json!("succeeded")),
        ]
    );

    // Act again: a manual run of the same sync over the same window.
    let (status, run) = api
        .post(&format!("/v1/syncs/{sync_id}/run"), &key, &json!({}))
        .await;
    assert_eq!(status, 202, "{run}");
    let second_id = run["job"]["id"].as_str().unwrap().to_string();
    assert_ne!(second_id, first_id);
    let second = wait_for_job(&api, &key, &second_id).await;

    // Assert: the same rows, once each, now stamped with the second job.
    assert_eq!(second["state"], "succeeded", "{second}");
    assert_eq!(second["trigger"], "manual");
    let rows = warehouse_rows(&world, &sync_id).await;
    let (days, job_ids): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
    assert_eq!(days, expected);
    assert!(job_ids.iter().all(|id| *id == second_id));

    world.stop().await;
}
