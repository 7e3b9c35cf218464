//! `destinations`: how fast a job's window goes into each destination, through the worker's own
//! writers in this process — a 100,000-row window into the warehouse (binary COPY into the
//! window's replacement, one transaction) and into a sandbox Google Sheet (counting the write
//! requests) — and the peak memory of a real worker process writing a 1,000,000-row window
//! (the `large-report` job).

use std::time::Instant;

use anyhow::Context as _;
use chrono::NaiveDate;
use connectors::budget::Budgets;
use connectors::rows::Row;
use rust_decimal::Decimal;
use sandbox::google_sheets::NewSpreadsheet;
use serde_json::json;
use shared::crypto::KeyRing;
use shared::db::connections::OAuthTokens;
use shared::db::destinations::{self, Credentials, Destination, NewDestination};
use shared::domain::{ConnectorKind, DateWindow, DestinationId, DestinationKind, ReportSpec};
use worker::destinations::{DestinationContext, SheetsContext, WriteTarget};

use crate::large_report;
use crate::setup::{BenchEnv, Fixture, SandboxServer};

/// Campaigns per day in the written window; the window's length makes up the row count.
const CAMPAIGNS: usize = 1_000;
/// Rows handed to the writer at a time, like a platform's page.
const PAGE_ROWS: usize = 1_000;
/// Timed repetitions of each write; the median is reported.
const REPETITIONS: usize = 3;

pub(crate) async fn run(rows: usize, large_days: u32) -> anyhow::Result<serde_json::Value> {
    let server = SandboxServer::start(sandbox::SandboxConfig::default()).await?;
    let env = server.bench_env("destinations").await?;
    let fixture = env.fixture(100).await?;
    let keys = KeyRing::from_config(&env.config.crypto)?;
    let report = connectors::catalogue(ConnectorKind::MetaAds).performance(
        "campaign",
        &[
            "impressions",
            "clicks",
            "spend",
            "reach",
            "ctr",
            "cpc",
            "cpm",
        ],
    )?;
    let window = window_for(rows);
    let pages = pages(window, rows);
    // The worker's own buffer setting (`ADSYNC__WORKER__WAREHOUSE_BUFFER_MB=0` measures the
    // staging path).
    let context = DestinationContext::new(
        env.pool.clone(),
        keys,
        SheetsContext {
            client: reqwest::Client::new(),
            config: env.config.destinations.google_sheets.clone(),
            budgets: Budgets::new(env.pool.clone(), &env.config.connectors),
        },
    )
    .with_warehouse_buffer(env.config.worker.warehouse_buffer_mb as usize * (1 << 20));

    let warehouse = warehouse_destination(&env, &fixture).await?;
    let mut seconds = Vec::new();
    for repetition in 0..REPETITIONS {
        let started = Instant::now();
        let written = write(&context, &warehouse, &fixture, &report, window, &pages).await?;
        anyhow::ensure!(written == rows as u64, "wrote {written} of {rows} rows");
        seconds.push(started.elapsed().as_secs_f64());
        eprintln!(
            "destinations: warehouse {rows} rows in {:.2} s (run {})",
            seconds[repetition],
            repetition + 1
        );
    }
    seconds.sort_by(f64::total_cmp);
    let warehouse_rows_per_s = (rows as f64 / seconds[seconds.len() / 2]).round();

    // Sheets: the first job also adds the tab; the second rewrites the same window in place.
    let (sheets, spreadsheet) = sheets_destination(&env, &fixture, &server.sandbox).await?;
    let mut sheets_seconds = Vec::new();
    let mut writes = Vec::new();
    for repetition in 0..2 {
        let before = server.sandbox.sheets_write_requests(&spreadsheet);
        let started = Instant::now();
        let written = write(&context, &sheets, &fixture, &report, window, &pages).await?;
        anyhow::ensure!(written == rows as u64, "wrote {written} of {rows} rows");
        sheets_seconds.push(started.elapsed().as_secs_f64());
        writes.push(server.sandbox.sheets_write_requests(&spreadsheet) - before);
        eprintln!(
            "destinations: sheets {rows} rows in {:.2} s with {} write requests (run {})",
            sheets_seconds[repetition],
            writes[repetition],
            repetition + 1
        );
    }
    let throttled = server
        .sandbox
        .requests_for(sandbox::Connector::GoogleSheets)
        .iter()
        .filter(|request| request.status == 429)
        .count();
    env.drop_database().await?;

    let large = large_report::run_job(large_days).await?;
    Ok(json!({
        "scenario": "destinations",
        "rows": rows,
        "warehouse_rows_per_s": warehouse_rows_per_s,
        "sheets_write_requests": writes[0],
        "sheets_rewrite_requests": writes[1],
        "sheets_rows_per_s": (rows as f64 / sheets_seconds[0]).round(),
        "sheets_throttled": throttled,
        "large_window_rows": large.rows,
        "peak_rss_mb": large.peak_rss_mb,
    }))
}

/// Days covering `rows` rows of [`CAMPAIGNS`] campaigns, ending on a fixed date.
fn window_for(rows: usize) -> DateWindow {
    let days = u32::try_from(rows.div_ceil(CAMPAIGNS)).expect("a plausible window");
    let end = NaiveDate::from_ymd_opt(2026, 10, 31).expect("a date");
    DateWindow::ending_on(end, days)
}

/// `rows` rows in the stored layout of the report, in pages of [`PAGE_ROWS`].
fn pages(window: DateWindow, rows: usize) -> Vec<Vec<Row>> {
    let all: Vec<Row> = window
        .start()
        .iter_days()
        .take_while(|date| *date <= window.end())
        .flat_map(|date| {
            (0..CAMPAIGNS).map(move |campaign| {
                let n = campaign as i64 + 1;
                let impressions = Decimal::from(10_000 + n * 37);
                let clicks = Decimal::from(100 + n % 97);
                let spend = Decimal::new(12_345 + n * 101, 2);
                Row {
                    date: Some(date),
                    texts: vec![
                        Some(format!("{}", 120_200_000_000_000 + n)),
                        Some(format!("Campaign {n} · Été")),
                    ],
                    numbers: vec![
                        Some(impressions),
                        Some(clicks),
                        Some(spend),
                        Some(Decimal::from(8_000 + n)),
                        Some((clicks / impressions * Decimal::from(100)).round_dp(6)),
                        Some((spend / clicks).round_dp(6)),
                        Some((spend / impressions * Decimal::from(1000)).round_dp(6)),
                    ],
                }
            })
        })
        .take(rows)
        .collect();
    all.chunks(PAGE_ROWS).map(<[Row]>::to_vec).collect()
}

/// One job's write: open, stage every page, commit. Returns the rows written.
async fn write(
    context: &DestinationContext,
    destination: &Destination,
    fixture: &Fixture,
    report: &ReportSpec,
    window: DateWindow,
    pages: &[Vec<Row>],
) -> anyhow::Result<u64> {
    let lease = testkit::fixtures::running_job(
        &context.pool.get().await?,
        (fixture.tenant, fixture.sync, fixture.account),
        ConnectorKind::MetaAds,
        "bench-destinations",
    )
    .await;
    let target = WriteTarget {
        tenant_id: fixture.tenant,
        sync_id: fixture.sync,
        lease,
        connector: ConnectorKind::MetaAds,
        account_id: "1".into(),
        currency: "USD".into(),
        time_zone: "UTC".into(),
        report: report.clone(),
        window,
    };
    let mut writer = worker::destinations::open(context, destination, target).await?;
    for page in pages {
        writer.write(page).await?;
    }
    Ok(writer.commit().await?)
}

/// A google_sheets destination writing into a new sandbox spreadsheet; and the spreadsheet.
async fn sheets_destination(
    env: &BenchEnv,
    fixture: &Fixture,
    sandbox: &sandbox::Sandbox,
) -> anyhow::Result<(Destination, String)> {
    let spreadsheet = sandbox.create_spreadsheet(NewSpreadsheet::titled("bench"));
    let id = DestinationId::new();
    let keys = KeyRing::from_config(&env.config.crypto)?;
    let credentials = Credentials::OAuth(OAuthTokens {
        access_token: "bench-sheets".into(),
        refresh_token: None,
    });
    let sealed = destinations::seal_credentials(&keys, fixture.tenant, id, &credentials)?;
    let client = env.pool.get().await?;
    let destination = destinations::insert(
        &client,
        NewDestination {
            id,
            tenant_id: fixture.tenant,
            kind: DestinationKind::GoogleSheets,
            name: "bench sheet",
            settings: &json!({"spreadsheet_id": spreadsheet, "tab": "Meta campaigns"}),
            sealed: Some(&sealed),
            access_token_expires_at: None,
        },
    )
    .await
    .context("inserting the google_sheets destination")?;
    Ok((destination, spreadsheet))
}

async fn warehouse_destination(env: &BenchEnv, fixture: &Fixture) -> anyhow::Result<Destination> {
    let client = env.pool.get().await?;
    destinations::insert(
        &client,
        NewDestination {
            id: DestinationId::new(),
            tenant_id: fixture.tenant,
            kind: DestinationKind::Warehouse,
            name: "bench warehouse",
            settings: &json!({"schema": "bench"}),
            sealed: None,
            access_token_expires_at: None,
        },
    )
    .await
    .context("inserting the warehouse destination")
}
