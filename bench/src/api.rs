//! `api`: the HTTP API (in-process, on loopback) over a database holding `--jobs` jobs (one
//! million by default, inserted with `generate_series`), under two loads at once: `GET
//! /v1/jobs/{id}` on random jobs offered at `--rate` requests per second (open loop: requests go
//! out on schedule whether or not earlier ones have answered, so a slow answer cannot hide
//! later ones), and `GET /v1/stats` ten times a second, alternating a tenant key and the
//! operator key. Both use real authentication (the tenant key is looked up by its hash).
//!
//! The jobs belong to one tenant, the worst case for its tenant-scoped statistics, and are
//! spread over the last 90 days: 1 % active (pending, queued, running), the rest succeeded,
//! failed (with an error class) or cancelled, each with its insert event in `job_events`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::json;
use shared::db::api_keys;
use shared::domain::JobId;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::setup::BenchEnv;

pub(crate) struct Options {
    pub(crate) jobs: usize,
    /// Offered rate of `GET /v1/jobs/{id}`, requests per second.
    pub(crate) rate: usize,
    /// Length of the measured load, seconds (after a warm-up of a fifth of it).
    pub(crate) seconds: usize,
}

/// Jobs inserted per statement.
const INSERT_CHUNK: usize = 200_000;
/// `GET /v1/stats` requests per second.
const STATS_PER_SECOND: u64 = 10;
const OPERATOR_KEY: &str = "bench-operator-key";

pub(crate) async fn run(options: Options) -> anyhow::Result<serde_json::Value> {
    let overrides = [
        ("ADSYNC__API__OPERATOR_KEY", OPERATOR_KEY.to_string()),
        ("ADSYNC__DATABASE__POOL_SIZE", "16".to_string()),
        ("ADSYNC__TELEMETRY__LOG_FILTER", "warn".to_string()),
    ];
    let env = BenchEnv::create("api", &overrides).await?;
    let fixture = env.fixture(1_000_000).await?;
    let client = env.pool.get().await?;

    eprintln!("api: inserting {} jobs", options.jobs);
    let started = Instant::now();
    let mut inserted = 0;
    while inserted < options.jobs {
        let chunk = INSERT_CHUNK.min(options.jobs - inserted);
        client
            .execute(
                "INSERT INTO jobs (id, tenant_id, sync_id, account_id, connector, trigger, priority,
                     window_start, window_end, state, state_reason, attempt, max_attempts,
                     run_after, dedup_key, rows_read, rows_written, api_calls, error_class,
                     error_message, created_at, started_at, finished_at, updated_at)
                 SELECT gen_random_uuid(), $1, $2, $3, 'meta_ads', 'scheduled', 0,
                     created::date - 1, created::date, state, state, 1, 5, created,
                     'bench:' || n, 100, 100, 3,
                     CASE WHEN state = 'failed' THEN 'permanent' END,
                     CASE WHEN state = 'failed' THEN 'insights page 1 returned 400' END,
                     created, created + interval '1 second',
                     CASE WHEN state IN ('succeeded', 'failed', 'cancelled')
                          THEN created + interval '30 seconds' END,
                     created + interval '30 seconds'
                 FROM (
                     SELECT n,
                         now() - interval '90 days' * (((n * 7919) % $5::bigint)::float8 / $5::float8) AS created,
                         CASE WHEN n % 100 = 0 THEN (ARRAY['pending', 'queued', 'running'])[(1 + n / 100 % 3)::int]
                              WHEN n % 20 = 1 THEN 'failed'
                              WHEN n % 50 = 2 THEN 'cancelled'
                              ELSE 'succeeded' END AS state
                     FROM generate_series($4::bigint + 1, $4::bigint + $6::bigint) AS n
                 ) AS generated",
                &[
                    &fixture.tenant,
                    &fixture.sync,
                    &fixture.account,
                    &(inserted as i64),
                    &(options.jobs as i64),
                    &(chunk as i64),
                ],
            )
            .await
            .context("inserting jobs")?;
        inserted += chunk;
        eprintln!("api: {inserted} jobs");
    }
    // Index-only scans need the visibility map: vacuum, as autovacuum would soon after.
    client.batch_execute("VACUUM ANALYZE jobs").await?;
    client.batch_execute("VACUUM ANALYZE job_events").await?;
    // Write the inserted pages out now, so the checkpoint they call for does not land in the
    // measurement.
    client.batch_execute("CHECKPOINT").await?;
    eprintln!(
        "api: {} jobs ready in {:.0} s",
        options.jobs,
        started.elapsed().as_secs_f64()
    );
    // A random sample of jobs to read.
    // (Sampling 2 % of the pages of a small table can pick none: small tables are shuffled.)
    let sampling = if options.jobs >= 100_000 {
        "SELECT id FROM jobs TABLESAMPLE SYSTEM (2) LIMIT 20000"
    } else {
        "SELECT id FROM jobs ORDER BY random() LIMIT 20000"
    };
    let sample: Vec<JobId> = client
        .query(sampling, &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    anyhow::ensure!(!sample.is_empty(), "no jobs sampled");
    let (key, prefix) = api::auth::generate_key();
    api_keys::insert(
        &client,
        fixture.tenant,
        "bench",
        &api::auth::hash_key(&key),
        &prefix,
    )
    .await?;
    drop(client);

    let application = api::Application::build(env.config.clone()).await?;
    let base = format!("http://{}", application.local_addr()?);
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(application.serve(shutdown.clone()));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;

    let warm_up = Duration::from_secs((options.seconds as u64 / 5).max(1));
    let measured = Duration::from_secs(options.seconds as u64);
    eprintln!(
        "api: GET /v1/jobs/{{id}} at {}/s and GET /v1/stats at {STATS_PER_SECOND}/s for {} s (after {} s of warm-up)",
        options.rate,
        measured.as_secs(),
        warm_up.as_secs()
    );
    let job_latencies = Arc::new(Mutex::new(Vec::new()));
    let stats_latencies = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let load_started = Instant::now();
    let measure_from = load_started + warm_up;
    let end = measure_from + measured;

    let jobs_load = {
        let (http, base, key, sample) = (http.clone(), base.clone(), key.clone(), sample.clone());
        let (latencies, errors) = (job_latencies.clone(), errors.clone());
        let rate = options.rate.max(1) as u64;
        tokio::spawn(async move {
            // Requests go out every millisecond, rate/1000 at a time (carrying the remainder).
            let mut interval = tokio::time::interval(Duration::from_millis(1));
            let mut sent: u64 = 0;
            let mut tasks = Vec::new();
            while Instant::now() < end {
                interval.tick().await;
                let due = load_started.elapsed().as_micros() as u64 * rate / 1_000_000;
                while sent < due {
                    let id = sample[(sent as usize * 7919) % sample.len()];
                    sent += 1;
                    let request = http.get(format!("{base}/v1/jobs/{id}")).bearer_auth(&key);
                    let (latencies, errors) = (latencies.clone(), errors.clone());
                    tasks.push(tokio::spawn(async move {
                        let started = Instant::now();
                        let ok = outcome(request.send().await).await;
                        let elapsed = started.elapsed();
                        if !ok {
                            errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        if started >= measure_from && started < end {
                            latencies.lock().await.push(elapsed);
                        }
                    }));
                }
            }
            for task in tasks {
                task.await.ok();
            }
        })
    };
    let stats_load = {
        let (http, base, key) = (http.clone(), base.clone(), key.clone());
        let (latencies, errors) = (stats_latencies.clone(), errors.clone());
        tokio::spawn(async move {
            let mut interval =
                tokio::time::interval(Duration::from_millis(1000 / STATS_PER_SECOND));
            let mut turn = 0usize;
            let mut tasks = Vec::new();
            while Instant::now() < end {
                interval.tick().await;
                turn += 1;
                let bearer = if turn.is_multiple_of(2) {
                    key.clone()
                } else {
                    OPERATOR_KEY.to_string()
                };
                let request = http.get(format!("{base}/v1/stats")).bearer_auth(bearer);
                let (latencies, errors) = (latencies.clone(), errors.clone());
                tasks.push(tokio::spawn(async move {
                    let started = Instant::now();
                    let ok = outcome(request.send().await).await;
                    let elapsed = started.elapsed();
                    if !ok {
                        errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    if started >= measure_from && started < end {
                        latencies.lock().await.push(elapsed);
                    }
                }));
            }
            for task in tasks {
                task.await.ok();
            }
        })
    };
    jobs_load.await?;
    stats_load.await?;
    shutdown.cancel();
    server.await??;

    let mut jobs = std::mem::take(&mut *job_latencies.lock().await);
    let mut stats = std::mem::take(&mut *stats_latencies.lock().await);
    let errors = errors.load(std::sync::atomic::Ordering::Relaxed);
    env.drop_database().await?;
    anyhow::ensure!(errors == 0, "{errors} requests failed");
    Ok(json!({
        "scenario": "api",
        "rps": round(jobs.len() as f64 / measured.as_secs_f64()),
        "job_p99_ms": percentile(&mut jobs, 0.99),
        "stats_p99_ms": percentile(&mut stats, 0.99),
        "job_p50_ms": percentile(&mut jobs, 0.50),
        "stats_p50_ms": percentile(&mut stats, 0.50),
        "jobs_in_table": options.jobs,
        "offered_rps": options.rate,
        "stats_requests": stats.len(),
    }))
}

/// Whether a request succeeded (200 and a whole body); the first failures are described on
/// stderr.
async fn outcome(sent: reqwest::Result<reqwest::Response>) -> bool {
    static REPORTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let failure = match sent {
        Ok(response) if response.status() == 200 => match response.bytes().await {
            Ok(_) => return true,
            Err(error) => format!("reading the body: {error}"),
        },
        Ok(response) => format!(
            "status {}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        ),
        Err(error) => format!("{error:#}"),
    };
    if REPORTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 5 {
        eprintln!("api: request failed: {failure}");
    }
    false
}

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The `q` quantile in milliseconds.
fn percentile(latencies: &mut [Duration], q: f64) -> f64 {
    if latencies.is_empty() {
        return f64::NAN;
    }
    latencies.sort_unstable();
    let index = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
    (latencies[index].as_secs_f64() * 10_000.0).round() / 10.0
}
