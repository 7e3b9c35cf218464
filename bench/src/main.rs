//! `bench`: adsync's benchmark suite, run against the real pipeline on the local PostgreSQL
//! and RabbitMQ (`scripts/services.sh up; eval "$(scripts/services.sh env)"`):
//!
//! ```text
//! cargo run --release -p bench -- throughput [--jobs N] [--rate R] [--latency-jobs M] [--cluster]
//! cargo run --release -p bench -- fanout [--syncs N]
//! cargo build --release --bins && target/release/bench memory
//! cargo run --release -p bench -- destinations [--rows N]
//! cargo run --release -p bench -- api [--jobs N] [--rate R] [--seconds S]
//! cargo run --release -p bench -- scale [--syncs N] [--day-seconds S]
//! ```
//!
//! Each scenario prints one JSON object on stdout; progress goes to stderr. Every scenario
//! works in a database of its own (`adsync_bench_<scenario>`, dropped at the end) and a queue
//! prefix of its own.

mod api;
mod broker;
mod destinations;
mod fanout;
mod large_report;
mod memory;
mod process;
mod progress;
mod scale;
mod setup;
mod sync;
mod throughput;

use std::process::ExitCode;

use anyhow::{Context as _, bail};

const USAGE: &str = "usage: bench <scenario> [options]

  throughput [--jobs N (100000)] [--rate R (1000)] [--latency-jobs M (10000)] [--cluster]
             (--cluster: also on scripts/services.sh up --cluster, in the same run)
  fanout     [--syncs N (100000)]
  memory     (needs target/release/worker: cargo build --release --bins)
  destinations [--rows N (100000)] [--days D (39)]
  large-report [--days D (39)]
  sync       [--accounts N (200)]
             (both need target/release/worker)
  api        [--jobs N (1000000)] [--rate R (2000)] [--seconds S (20)]
  scale      [--syncs N (1000000)] [--day-seconds S (600)]";

#[tokio::main]
async fn main() -> ExitCode {
    shared::telemetry::install_tls_provider();
    match run(std::env::args().skip(1).collect()).await {
        Ok(result) => {
            println!("{result}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn days(days: usize) -> anyhow::Result<u32> {
    u32::try_from(days)
        .ok()
        .filter(|days| (1..=366).contains(days))
        .context("--days must be 1 to 366")
}

async fn run(args: Vec<String>) -> anyhow::Result<serde_json::Value> {
    let Some((scenario, flags)) = args.split_first() else {
        bail!("{USAGE}");
    };
    if scenario == "__scheduler" {
        // The scale scenario's scheduler process (not a scenario).
        return scale::scheduler_process(flags).await;
    }
    let flag = |name: &str, default: usize| -> anyhow::Result<usize> {
        match flags.iter().position(|f| f == name) {
            Some(i) => flags
                .get(i + 1)
                .with_context(|| format!("{name} needs a value"))?
                .parse()
                .with_context(|| format!("{name} must be a whole number")),
            None => Ok(default),
        }
    };
    for name in flags.iter().filter(|f| f.starts_with("--")) {
        if ![
            "--jobs",
            "--rate",
            "--latency-jobs",
            "--syncs",
            "--rows",
            "--days",
            "--seconds",
            "--day-seconds",
            "--cluster",
        ]
        .contains(&name.as_str())
        {
            bail!("unknown option {name}\n\n{USAGE}");
        }
    }
    match scenario.as_str() {
        "throughput" => {
            throughput::run(throughput::Options {
                cluster: flags.iter().any(|f| f == "--cluster"),
                jobs: flag("--jobs", 100_000)?,
                rate: flag("--rate", 1000)?,
                latency_jobs: flag("--latency-jobs", 10_000)?,
            })
            .await
        }
        "fanout" => fanout::run(flag("--syncs", 100_000)?).await,
        "memory" => memory::run().await,
        "destinations" => {
            destinations::run(flag("--rows", 100_000)?, days(flag("--days", 39)?)?).await
        }
        "sync" => sync::run(flag("--accounts", 200)?).await,
        "large-report" => large_report::run(days(flag("--days", 39)?)?).await,
        "api" => {
            api::run(api::Options {
                jobs: flag("--jobs", 1_000_000)?,
                rate: flag("--rate", 2000)?,
                seconds: flag("--seconds", 20)?,
            })
            .await
        }
        "scale" => {
            scale::run(scale::Options {
                syncs: flag("--syncs", 1_000_000)?,
                day_seconds: flag("--day-seconds", 600)? as u64,
            })
            .await
        }
        other => bail!("unknown scenario {other:?}\n\n{USAGE}"),
    }
}
