//! One trace from the API call to the worker's platform requests, across the jobs table and
//! RabbitMQ's message headers, captured in-process with the OpenTelemetry layer production uses.

use std::str::FromStr;
use std::time::Duration;

use opentelemetry::trace::SpanId;
use serde_json::{Value, json};
use shared::domain::JobId;
use testkit::telemetry::{CapturedSpan, Spans, capture_spans};
use testkit::{TestWorld, eventually};

fn created(response: (u16, Value), what: &str) -> Value {
    let (status, body) = response;
    assert_eq!(status, 201, "creating {what}: {body}");
    body
}

/// The chain of spans from `span` up to its root, as far as they were captured.
fn ancestry(spans: &[CapturedSpan], span: &CapturedSpan) -> Vec<CapturedSpan> {
    let mut chain = vec![span.clone()];
    let mut parent = span.parent_span_id;
    while parent != SpanId::INVALID {
        let Some(next) = spans.iter().find(|candidate| candidate.span_id == parent) else {
            break;
        };
        chain.push(next.clone());
        parent = next.parent_span_id;
    }
    chain
}

fn the_one(spans: Vec<CapturedSpan>, what: &str) -> CapturedSpan {
    assert_eq!(spans.len(), 1, "exactly one {what} span: {spans:#?}");
    spans.into_iter().next().unwrap()
}

async fn ended(spans: &Spans, name: &str, key: &str, value: &str) -> Vec<CapturedSpan> {
    eventually(
        &format!("a {name} span with {key}={value} to end"),
        Duration::from_secs(30),
        || async {
            let found = spans.named_with(name, key, value);
            (!found.is_empty()).then_some(found)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_requested_through_the_api_is_one_trace_through_publishing_relaying_and_execution() {
    // Arrange: every span of this process captured; an API, a sync, and no worker yet.
    let spans = capture_spans();
    let mut world = TestWorld::start().await;
    let api = world.spawn_api().await;
    let (_, key) = api.create_tenant("Traced Agency").await;
    let facts = sandbox::meta_ads::account("2718281828").unwrap();
    let connection = created(
        api.post(
            "/v1/connections",
            &key,
            &json!({"connector": "meta_ads", "name": "Meta", "access_token": "sandbox-token-traced"}),
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
            &json!({"kind": "warehouse", "name": "Warehouse"}),
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
                "report": {"level": "campaign", "metrics": ["impressions", "clicks"]},
                "schedule": {"cron": "0 6 * * *"},
                "lookback_days": 2,
            }),
        )
        .await,
        "sync",
    );
    let sync_id = sync["id"].as_str().unwrap();

    // Act: the API creates the job and publishes it; then the message is taken to be lost (as
    // the rescuer finds it), so the relay publishes the job again from its row; then a worker
    // consumes both messages and runs the job once.
    let (status, answer) = api
        .post(&format!("/v1/syncs/{sync_id}/run"), &key, &json!({}))
        .await;
    assert_eq!(status, 202, "{answer}");
    let job_id = answer["job"]["id"].as_str().unwrap().to_string();
    let client = world.pool.get().await.unwrap();
    let requeued = shared::db::jobs::requeue_stale(&client, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(requeued, 1);
    assert_eq!(world.relay().await, 1);
    world.spawn_worker();
    let job = eventually("the job to finish", Duration::from_secs(60), || async {
        let job = shared::db::jobs::get(&client, None, JobId::from_str(&job_id).unwrap())
            .await
            .unwrap()
            .unwrap();
        job.state.is_terminal().then_some(job)
    })
    .await;
    assert_eq!(job.state.as_str(), "succeeded", "{job:?}");

    // Assert: the request, both publications, the job and its platform requests share one
    // trace, and each hop is the child of the one before.
    let job_span = the_one(ended(&spans, "job", "job_id", &job_id).await, "job");
    let publishes = ended(&spans, "publish", "job_id", &job_id).await;
    // By path: other tests of this binary may run syncs in the same process meanwhile.
    let request = the_one(
        ended(
            &spans,
            "request",
            "path",
            &format!("/v1/syncs/{sync_id}/run"),
        )
        .await,
        "request",
    );
    let trace = request.trace_id;
    assert_eq!(
        job.traceparent.as_deref().map(|tp| tp.split('-').nth(1)),
        Some(Some(trace.to_string().as_str())),
        "the job row remembers the request's trace"
    );
    assert_eq!(
        publishes.len(),
        2,
        "the API's and the relay's: {publishes:#?}"
    );
    let all = spans.all();
    for publish in &publishes {
        assert_eq!(publish.trace_id, trace, "{publish:?}");
        assert!(
            ancestry(&all, publish)
                .iter()
                .any(|span| span.span_id == request.span_id),
            "a publish span descends from the request span: {publish:?}"
        );
    }
    assert_eq!(job_span.trace_id, trace);
    assert!(
        publishes
            .iter()
            .any(|publish| publish.span_id == job_span.parent_span_id),
        "the job span's parent is a publish span: {job_span:?}"
    );
    let requests: Vec<CapturedSpan> = all
        .iter()
        .filter(|span| span.name == "platform_request")
        .filter(|span| {
            ancestry(&all, span)
                .iter()
                .any(|ancestor| ancestor.span_id == job_span.span_id)
        })
        .cloned()
        .collect();
    assert!(
        !requests.is_empty(),
        "the job's platform requests are spans"
    );
    for span in &requests {
        assert_eq!(span.trace_id, trace);
        assert_eq!(span.attribute("connector"), Some("meta_ads"));
        assert_eq!(span.attribute("status"), Some("200"), "{span:?}");
        let route = span.attribute("route").unwrap();
        assert!(
            route.starts_with('/') && !route.contains(&facts.id),
            "a template, not the account's path: {route}"
        );
    }
    world.stop().await;
}
