//! `destinations`: how fast a job's window goes into each destination, through the worker's own
//! writers in this process — a 100,000-row window into the warehouse (binary COPY into the
//! window's replacement, one transaction) and into a sandbox Google Sheet (counting the write
//! requests) — and the peak memory of a real worker process writing a 1,000,000-row window.

use std::time::Instant;

use anyhow::Context as _;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::json;
use shared::crypto::KeyRing;
use shared::db::destinations::{self, Destination, NewDestination};
use shared::domain::{
    ConnectorKind, DateWindow, DestinationId, DestinationKind, JobId, ReportSpec,
};
use worker::budget::Budgets;
use worker::destinations::{DestinationContext, SheetsContext, WriteTarget};
use worker::rows::Row;

use crate::setup::{BenchEnv, Fixture};

/// Campaigns per day in the written window; the window's length makes up the row count.
const CAMPAIGNS: usize = 1_000;
/// Rows handed to the writer at a time, like a platform's page.
const PAGE_ROWS: usize = 1_000;
/// Timed repetitions of each write; the median is reported.
const REPETITIONS: usize = 3;

pub(crate) async fn run(rows: usize) -> anyhow::Result<serde_json::Value> {
    let env = BenchEnv::create("destinations", &[]).await?;
    let fixture = env.fixture(100).await?;
    let keys = KeyRing::from_config(&env.config.crypto)?;
    let report = ReportSpec::performance(
        ConnectorKind::MetaAds,
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
    let context = DestinationContext::new(
        env.pool.clone(),
        keys,
        SheetsContext {
            client: reqwest::Client::new(),
            config: env.config.destinations.google_sheets.clone(),
            budgets: Budgets::new(env.pool.clone(), &env.config.connectors),
        },
    );

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

    env.drop_database().await?;
    Ok(json!({
        "scenario": "destinations",
        "rows": rows,
        "warehouse_rows_per_s": warehouse_rows_per_s,
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
    let target = WriteTarget {
        tenant_id: fixture.tenant,
        sync_id: fixture.sync,
        job_id: JobId::new(),
        attempt: 1,
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
