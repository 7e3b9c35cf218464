//! `sync`: 200 accounts across the five platforms, 30 days each, through the real pipeline —
//! the scheduler's relay and a worker in this process, the sandbox over HTTP with its realistic
//! per-app and per-account limits, and faults injected on 5 % of platform requests (half 5xx,
//! half throttles; AppsFlyer's throttle is a daily quota, so it gets 5xx only). It reports the
//! wall time against the lower bound the configured rate budgets imply, the throttle answers
//! received (injected, and caused by the limits), failed jobs, and rows that differ from a
//! fault-free reading of the same windows afterwards.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{Days, Utc};
use connectors::budget::Budgets;
use connectors::catalogue;
use connectors::platform::Platform;
use connectors::rows::{self, Row};
use connectors::{self, ReportRequest, Settings};
use futures_util::TryStreamExt as _;
use serde_json::json;
use shared::crypto::KeyRing;
use shared::db::jobs::{self, Enqueued, NewJob};
use shared::domain::{ConnectorKind, DateWindow, RawReport, ReportSpec, Trigger};
use shared::error::{Classify as _, ErrorClass};
use testkit::fixtures::{SyncFixture, SyncOptions, sync_fixture};
use tokio_util::sync::CancellationToken;

use crate::setup::{BenchEnv, SandboxServer};

/// Every platform, in the registry's order.
const CONNECTORS: [ConnectorKind; ConnectorKind::ALL.len()] = ConnectorKind::ALL;
/// Days each job reads, ending yesterday in the account's time zone.
const DAYS: u32 = 30;
/// Probability of an injected 5xx, and separately of an injected throttle, per request.
const FAULT_PROBABILITY: f64 = 0.025;
/// How long the run may take before the benchmark gives up.
const TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// One account of the run: its sync and the window its job reads.
struct BenchAccount {
    fixture: SyncFixture,
    report: ReportSpec,
    window: DateWindow,
}

pub(crate) async fn run(accounts: usize) -> anyhow::Result<serde_json::Value> {
    let server = SandboxServer::start(sandbox::SandboxConfig::default()).await?;
    // A frozen clock: no day restates between the run and the reference reading.
    let now = Utc::now();
    server.sandbox.set_now(Some(now));
    let env = server.bench_env("sync").await?;
    let keys = KeyRing::from_config(&env.config.crypto)?;

    let mut bench_accounts = Vec::with_capacity(accounts);
    for i in 0..accounts {
        let connector = CONNECTORS[i % CONNECTORS.len()];
        let (id, time_zone, currency) = account(connector, i / CONNECTORS.len())?;
        let report = report(connector)?;
        let mut options =
            SyncOptions::new(connector, &id, time_zone.name(), &currency, report.clone());
        // Each account is reached by a login of its own, so per-token limits are per account.
        options.tokens.access_token = format!("bench-{connector}-{i}");
        let fixture = sync_fixture(&env.pool, &keys, options).await;
        let yesterday = now.with_timezone(&time_zone).date_naive() - Days::new(1);
        bench_accounts.push(BenchAccount {
            fixture,
            report,
            window: DateWindow::ending_on(yesterday, DAYS),
        });
    }
    for connector in CONNECTORS {
        let sandboxed = sandbox_connector(connector)?;
        // A throttle that is a daily quota (AppsFlyer's "Limit reached") rightly makes the job
        // wait for 00:00 UTC, which would measure the clock, not adsync: such platforms get
        // 5xx only.
        let kinds: &[sandbox::FaultKind] = if sandboxed.throttle_is_a_daily_quota() {
            &[sandbox::FaultKind::ServerError]
        } else {
            &[
                sandbox::FaultKind::ServerError,
                sandbox::FaultKind::Throttle,
            ]
        };
        for kind in kinds {
            server.sandbox.add_fault(
                sandbox::Fault::new(sandboxed, *kind)
                    .probability(FAULT_PROBABILITY)
                    .unlimited(),
            );
        }
    }

    eprintln!("sync: {accounts} accounts × {DAYS} days");
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let client = env.pool.get().await?;
    let mut job_ids = Vec::with_capacity(accounts);
    for account in &bench_accounts {
        let new = NewJob {
            tenant_id: account.fixture.tenant.id,
            sync_id: account.fixture.sync.id,
            account_id: account.fixture.account.id,
            connector: account.fixture.sync.connector,
            trigger: Trigger::Manual,
            window: account.window,
            max_attempts: i32::from(env.config.jobs.max_attempts),
            run_after: Utc::now(),
            dedup_key: NewJob::run_key(account.fixture.sync.id),
        };
        match jobs::insert(&client, &new).await? {
            Enqueued::Created(job) => job_ids.push(job.id),
            Enqueued::Existing(job) => bail!("job {} was already active", job.id),
        }
    }
    let scheduler = tokio::spawn(scheduler::run(env.config.clone(), shutdown.clone()));
    let worker = tokio::spawn(worker::run(env.config.clone(), shutdown.clone()));
    loop {
        let open: i64 = client
            .query_one(
                "SELECT count(*) FROM jobs WHERE state NOT IN ('succeeded', 'failed', 'cancelled')",
                &[],
            )
            .await?
            .get(0);
        if open == 0 {
            break;
        }
        if started.elapsed() > TIMEOUT {
            bail!("{open} jobs still open after {TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let row = client
        .query_one(
            "SELECT extract(epoch FROM max(finished_at) - min(created_at))::float8,
                    count(*) FILTER (WHERE state <> 'succeeded')
             FROM jobs",
            &[],
        )
        .await?;
    let wall_s: f64 = row.get(0);
    let failed_jobs: i64 = row.get(1);
    shutdown.cancel();
    scheduler.await??;
    worker.await??;

    let requests = server.sandbox.requests();
    let platform_requests: Vec<_> = requests
        .iter()
        .filter(|request| request.connector.is_some() && !request.unknown_route)
        .collect();
    let injected = platform_requests
        .iter()
        .filter(|request| request.fault == Some(sandbox::FaultKind::Throttle))
        .count() as u64;
    let throttled: u64 = CONNECTORS
        .iter()
        .map(|connector| connectors::metrics::throttles(connector.as_str()))
        .sum();
    let lower_bound_s = lower_bound(&Settings::load(&env.config.connectors)?, &platform_requests);
    let throttled_by_connector: serde_json::Map<String, serde_json::Value> = CONNECTORS
        .iter()
        .map(|connector| {
            let count = connectors::metrics::throttles(connector.as_str());
            (connector.as_str().to_owned(), json!(count))
        })
        .collect();

    eprintln!("sync: comparing the warehouse with a fault-free reading");
    server.sandbox.clear_faults();
    let mut mismatched_rows = 0;
    let mut rows_total = 0;
    for account in &bench_accounts {
        let expected = reference_rows(&env, &keys, account).await?;
        let stored = testkit::warehouse::rows(
            &client,
            "warehouse",
            account.fixture.sync.connector,
            account.fixture.sync.id,
            &account.report,
        )
        .await;
        rows_total += expected.len();
        mismatched_rows += mismatches(&stored, &expected);
    }
    drop(client);
    env.drop_database().await?;
    Ok(json!({
        "scenario": "sync",
        "accounts": accounts,
        "requests": platform_requests.len(),
        "wall_s": round1(wall_s),
        "lower_bound_s": round1(lower_bound_s),
        "ratio": (wall_s / lower_bound_s * 100.0).round() / 100.0,
        "throttled": throttled,
        "throttled_injected": injected,
        "throttled_by_limits": throttled.saturating_sub(injected),
        "throttled_by_connector": throttled_by_connector,
        "failed_jobs": failed_jobs,
        "rows": rows_total,
        "mismatched_rows": mismatched_rows,
    }))
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The `n`th bench account of `connector`: its id, time zone and currency in the sandbox.
fn account(connector: ConnectorKind, n: usize) -> anyhow::Result<(String, chrono_tz::Tz, String)> {
    sandbox_connector(connector)?
        .numbered_account(n)
        .map(|facts| (facts.id, facts.time_zone, facts.currency))
        .with_context(|| format!("the sandbox has no {connector} account {n}"))
}

/// Campaign rows by day with the metrics every platform has.
fn report(connector: ConnectorKind) -> anyhow::Result<ReportSpec> {
    let metrics: Vec<String> = [
        "impressions",
        "clicks",
        "spend",
        "conversions",
        "ctr",
        "cpa",
    ]
    .map(String::from)
    .to_vec();
    Ok(connectors::catalogue(connector).parse_report(RawReport {
        stream: None,
        level: "campaign",
        metrics: &metrics,
        breakdowns: &[],
    })?)
}

/// The sandbox's imitation of `connector` (it goes by the same name).
fn sandbox_connector(connector: ConnectorKind) -> anyhow::Result<sandbox::Connector> {
    connector
        .as_str()
        .parse()
        .with_context(|| format!("the sandbox does not imitate {connector}"))
}

/// The shortest time the requests made could have taken under the configured rate budgets:
/// for every budget (each platform's app, each account), its requests beyond the burst divided
/// by its rate; the largest of those.
fn lower_bound(settings: &Settings, requests: &[&sandbox::RequestRecord]) -> f64 {
    let mut per_app: HashMap<sandbox::Connector, u64> = HashMap::new();
    let mut per_account: HashMap<(sandbox::Connector, String), u64> = HashMap::new();
    for request in requests {
        let Some(connector) = request.connector else {
            continue;
        };
        *per_app.entry(connector).or_default() += 1;
        if let Some(account) = &request.account_id {
            *per_account.entry((connector, account.clone())).or_default() += 1;
        }
    }
    let seconds =
        |calls: u64, burst: u32, rate: f64| calls.saturating_sub(u64::from(burst)) as f64 / rate;
    CONNECTORS
        .iter()
        .filter_map(|connector| Some((connector, sandbox_connector(*connector).ok()?)))
        .flat_map(|(connector, sandboxed)| {
            let budget = settings.platform(*connector);
            let app = seconds(
                per_app.get(&sandboxed).copied().unwrap_or(0),
                budget.app_burst,
                budget.app_requests_per_sec,
            );
            let accounts = per_account
                .iter()
                .filter(|((c, _), _)| *c == sandboxed)
                .map(|(_, calls)| {
                    seconds(
                        *calls,
                        budget.account_burst,
                        budget.account_requests_per_sec,
                    )
                })
                .collect::<Vec<_>>();
            std::iter::once(app).chain(accounts)
        })
        .fold(0.0, f64::max)
}

/// The account's window read again through its connector, with no faults, in the stored
/// layout.
async fn reference_rows(
    env: &BenchEnv,
    keys: &KeyRing,
    account: &BenchAccount,
) -> anyhow::Result<Vec<Row>> {
    let connector = account.fixture.sync.connector;
    let platform = Arc::new(
        Platform::open(
            reqwest::Client::new(),
            &Settings::load(&env.config.connectors)?,
            env.pool.clone(),
            keys.clone(),
            &account.fixture.connection,
            Budgets::new(env.pool.clone(), &env.config.connectors),
            Arc::new(AtomicU32::new(0)),
        )
        .await?,
    );
    let mut rows = Vec::new();
    for window in account
        .window
        .chunks(catalogue(connector).max_days_per_request)
    {
        let request = ReportRequest {
            account: account.fixture.account.clone(),
            report: account.report.clone(),
            window,
        };
        // The reading respects the platform's limits too: a throttle waits for its reset.
        let mut throttles = 0;
        let pages: Vec<Vec<Row>> = loop {
            let read = connectors::report_pages(platform.clone(), request.clone())
                .try_collect()
                .await;
            match read {
                Ok(pages) => break pages,
                Err(error) => match error.class() {
                    ErrorClass::Throttled { until, .. } if throttles < 10 => {
                        throttles += 1;
                        let wait = (until - Utc::now()).to_std().unwrap_or_default();
                        tokio::time::sleep(wait).await;
                    }
                    ErrorClass::Throttled { .. }
                    | ErrorClass::Transient { .. }
                    | ErrorClass::Auth
                    | ErrorClass::Permanent
                    | ErrorClass::Cancelled => {
                        return Err(error).with_context(|| {
                            format!(
                                "reading {connector} account {}",
                                account.fixture.account.external_id
                            )
                        });
                    }
                },
            }
        };
        for page in pages {
            rows.extend(rows::derive(&account.report, page));
        }
    }
    Ok(testkit::warehouse::sorted(rows))
}

/// Rows in one list and not the other (both sorted).
fn mismatches(stored: &[Row], expected: &[Row]) -> usize {
    let extra = stored.iter().filter(|row| !expected.contains(row)).count();
    let missing = expected.iter().filter(|row| !stored.contains(row)).count();
    extra + missing
}
