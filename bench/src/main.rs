//! `bench`: adsync's benchmark suite, run against the real pipeline on the local PostgreSQL
//! and RabbitMQ (`scripts/services.sh up; eval "$(scripts/services.sh env)"`):
//!
//! ```text
//! cargo build --release --bins
//! target/release/bench <scenario> [options]   # one scenario at full size
//! target/release/bench --smoke [scenario...]  # every scenario (or those named) at a small size
//! target/release/bench --help                 # the scenarios and their options
//! ```
//!
//! Each scenario prints one JSON object on stdout; progress goes to stderr. Every scenario
//! works in a database of its own (`adsync_bench_p<pid>_<scenario>`, dropped at the end) and a
//! queue prefix of its own, so runs in parallel do not meet.
//!
//! [`SCENARIOS`] is the one registry: `bench <scenario>`, `--help` and `--smoke` all read it,
//! and a scenario cannot be registered without the small size its smoke run uses.

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
mod smoke;
mod sync;
mod throughput;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use futures_util::future::BoxFuture;

/// One benchmark scenario.
pub(crate) struct Scenario {
    pub(crate) name: &'static str,
    /// One line saying what it measures.
    about: &'static str,
    pub(crate) options: &'static [Opt],
    /// Figures of its JSON line that must be 0 in every run (a smoke run fails otherwise).
    pub(crate) must_be_zero: &'static [&'static str],
    run: fn(Args) -> BoxFuture<'static, anyhow::Result<serde_json::Value>>,
}

/// An option of a scenario: a whole number with its full size and the small size of
/// `--smoke`, or a switch (off unless given; smoke runs leave it off).
pub(crate) struct Opt {
    pub(crate) flag: &'static str,
    default: usize,
    pub(crate) smoke: usize,
    /// Smallest value accepted.
    min: usize,
    /// Largest value accepted.
    max: usize,
    /// A switch takes no value: given, it is 1.
    pub(crate) switch: bool,
    help: &'static str,
}

impl Opt {
    const fn new(flag: &'static str, default: usize, smoke: usize, help: &'static str) -> Self {
        Self {
            flag,
            default,
            smoke,
            min: 1,
            max: usize::MAX,
            switch: false,
            help,
        }
    }

    /// A switch: off unless given.
    const fn switch(flag: &'static str, help: &'static str) -> Self {
        Self {
            flag,
            default: 0,
            smoke: 0,
            min: 0,
            max: 1,
            switch: true,
            help,
        }
    }

    const fn at_most(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    const fn at_least(mut self, min: usize) -> Self {
        self.min = min;
        self
    }
}

/// The option values of one run.
pub(crate) struct Args(BTreeMap<&'static str, usize>);

impl Args {
    fn get(&self, flag: &str) -> usize {
        match self.0.get(flag) {
            Some(value) => *value,
            None => unreachable!("{flag} is not an option of this scenario"),
        }
    }

    fn days(&self, flag: &str) -> u32 {
        u32::try_from(self.get(flag)).unwrap_or(u32::MAX)
    }

    /// Whether the switch `flag` was given.
    fn on(&self, flag: &str) -> bool {
        self.get(flag) == 1
    }
}

/// Every scenario, in the order `--smoke` runs them (quickest first).
pub(crate) const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "throughput",
        about: "no-op jobs through the whole pipeline: jobs/s, latency at an offered rate, the raw broker ceiling",
        options: &[
            Opt::new("--jobs", 100_000, 2_000, "jobs in the saturated phase"),
            Opt::new(
                "--rate",
                1_000,
                500,
                "offered jobs per second in the latency phase",
            ),
            Opt::new("--latency-jobs", 10_000, 500, "jobs in the latency phase"),
            Opt::switch(
                "--cluster",
                "also on the cluster of scripts/services.sh up --cluster, in the same run",
            ),
        ],
        must_be_zero: &[],
        run: |args| {
            Box::pin(throughput::run(throughput::Options {
                cluster: args.on("--cluster"),
                jobs: args.get("--jobs"),
                rate: args.get("--rate"),
                latency_jobs: args.get("--latency-jobs"),
            }))
        },
    },
    Scenario {
        name: "fanout",
        about: "N syncs fall due at once: seconds until every job is published",
        options: &[Opt::new("--syncs", 100_000, 1_000, "syncs falling due")],
        must_be_zero: &[],
        run: |args| Box::pin(fanout::run(args.get("--syncs"))),
    },
    Scenario {
        name: "memory",
        about: "a worker process's resident memory, idle and with many jobs in flight (needs the worker binary next to bench)",
        options: &[
            Opt::new("--jobs", 200, 20, "jobs in flight at once"),
            Opt::new(
                "--delay-ms",
                4_000,
                1_000,
                "how long the platform takes to answer",
            ),
        ],
        must_be_zero: &[],
        run: |args| {
            Box::pin(memory::run(memory::Options {
                jobs: args.get("--jobs"),
                delay_ms: args.get("--delay-ms") as u64,
            }))
        },
    },
    Scenario {
        name: "api",
        about: "job detail and dashboard statistics over a large jobs table, open-loop load",
        options: &[
            Opt::new("--jobs", 1_000_000, 20_000, "jobs in the table"),
            Opt::new("--rate", 2_000, 200, "GET /v1/jobs/{id} per second"),
            Opt::new(
                "--seconds",
                20,
                2,
                "measured seconds (after a fifth of it of warm-up)",
            ),
        ],
        must_be_zero: &[],
        run: |args| {
            Box::pin(api::run(api::Options {
                jobs: args.get("--jobs"),
                rate: args.get("--rate"),
                seconds: args.get("--seconds"),
            }))
        },
    },
    Scenario {
        name: "large-report",
        about: "one large Google Ads report through a worker process (needs the worker binary next to bench)",
        options: &[Opt::new("--days", 39, 1, "days of the report window").at_most(366)],
        must_be_zero: &[],
        run: |args| Box::pin(large_report::run(args.days("--days"))),
    },
    Scenario {
        name: "destinations",
        about: "a window into the warehouse and into a Google Sheet, then a large window through a worker process",
        options: &[
            Opt::new("--rows", 100_000, 2_000, "rows of the written window").at_least(1_000),
            Opt::new("--days", 39, 1, "days of the large window").at_most(366),
        ],
        must_be_zero: &[],
        run: |args| Box::pin(destinations::run(args.get("--rows"), args.days("--days"))),
    },
    Scenario {
        name: "sync",
        about: "accounts on every platform with injected faults, against the rate-limit bound",
        options: &[Opt::new(
            "--accounts",
            200,
            10,
            "accounts, spread over every platform",
        )],
        must_be_zero: &["failed_jobs", "mismatched_rows"],
        run: |args| Box::pin(sync::run(args.get("--accounts"))),
    },
    Scenario {
        name: "scale",
        about: "one scheduler day of daily syncs in 24 time zones, compressed: lag from due to queued, syncs missed, scheduler CPU, database size",
        options: &[
            Opt::new(
                "--syncs",
                1_000_000,
                2_400,
                "daily syncs, spread over the day's hours and 24 time zones",
            ),
            Opt::new(
                "--day-seconds",
                600,
                30,
                "real seconds the scheduler's compressed day takes",
            ),
        ],
        must_be_zero: &["missed"],
        run: |args| {
            Box::pin(scale::run(scale::Options {
                syncs: args.get("--syncs"),
                day_seconds: args.get("--day-seconds") as u64,
            }))
        },
    },
];

fn usage() -> String {
    let mut text = String::from(
        "usage: bench <scenario> [options]\n       bench --smoke [scenario...]\n\nscenarios:\n",
    );
    for scenario in SCENARIOS {
        let _ = writeln!(text, "  {:<13} {}", scenario.name, scenario.about);
        for option in scenario.options {
            let _ = if option.switch {
                writeln!(text, "      {:<15} {}", option.flag, option.help)
            } else {
                writeln!(
                    text,
                    "      {:<15} {} (default {}, smoke {})",
                    format!("{} N", option.flag),
                    option.help,
                    option.default,
                    option.smoke
                )
            };
        }
    }
    text.push_str(
        "\n--smoke runs each scenario as a child process at its smoke size and fails, naming the\n\
         scenario, when one exits with an error or prints no JSON line.",
    );
    text
}

pub(crate) fn scenario(name: &str) -> anyhow::Result<&'static Scenario> {
    SCENARIOS
        .iter()
        .find(|scenario| scenario.name == name)
        .with_context(|| format!("unknown scenario {name:?}\n\n{}", usage()))
}

#[tokio::main]
async fn main() -> ExitCode {
    shared::telemetry::install_tls_provider();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--smoke") => return smoke::run(&args[1..]).await,
        Some("--help" | "-h") => {
            println!("{}", usage());
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    match run(&args).await {
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

async fn run(args: &[String]) -> anyhow::Result<serde_json::Value> {
    let Some((name, flags)) = args.split_first() else {
        bail!("{}", usage());
    };
    if name == "__scheduler" {
        // The scale scenario's scheduler process (not a scenario).
        return scale::scheduler_process(flags).await;
    }
    let scenario = scenario(name)?;
    (scenario.run)(parse(scenario, flags)?).await
}

/// The option values of `flags` for `scenario`, defaults for those not given.
fn parse(scenario: &Scenario, flags: &[String]) -> anyhow::Result<Args> {
    let mut values: BTreeMap<&'static str, usize> = scenario
        .options
        .iter()
        .map(|option| (option.flag, option.default))
        .collect();
    let mut rest = flags.iter();
    while let Some(flag) = rest.next() {
        let Some(option) = scenario.options.iter().find(|option| option.flag == flag) else {
            bail!(
                "{flag:?} is not an option of {}\n\n{}",
                scenario.name,
                usage()
            );
        };
        if option.switch {
            values.insert(option.flag, 1);
            continue;
        }
        let value: usize = rest
            .next()
            .with_context(|| format!("{flag} needs a value"))?
            .parse()
            .with_context(|| format!("{flag} must be a whole number"))?;
        if value < option.min || value > option.max {
            bail!(
                "{flag} must be {} to {}",
                option.min,
                if option.max == usize::MAX {
                    "any size".to_string()
                } else {
                    option.max.to_string()
                }
            );
        }
        values.insert(option.flag, value);
    }
    Ok(Args(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| (*word).to_owned()).collect()
    }

    #[test]
    fn every_scenario_has_a_unique_name_and_options_whose_smoke_size_is_accepted() {
        let mut names: Vec<&str> = SCENARIOS.iter().map(|scenario| scenario.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SCENARIOS.len(), "a scenario name repeats");
        for scenario in SCENARIOS {
            let args = parse(scenario, &smoke::smoke_args(scenario)[1..]).unwrap();
            for option in scenario.options {
                assert_eq!(args.get(option.flag), option.smoke, "{}", scenario.name);
                assert!(option.smoke <= option.default, "{}", option.flag);
            }
        }
    }

    #[test]
    fn a_switch_takes_no_value_is_off_unless_given_and_off_in_smoke_runs() {
        static OPTIONS: [Opt; 2] = [
            Opt::new("--jobs", 10, 2, "jobs"),
            Opt::switch("--cluster", "also on a cluster"),
        ];
        let scenario = Scenario {
            name: "switched",
            about: "",
            options: &OPTIONS,
            must_be_zero: &[],
            run: |_| Box::pin(async { Ok(serde_json::Value::Null) }),
        };
        let given = parse(&scenario, &strings(&["--cluster", "--jobs", "3"])).unwrap();
        assert!(given.on("--cluster"));
        assert_eq!(given.get("--jobs"), 3);
        assert!(!parse(&scenario, &[]).unwrap().on("--cluster"));
        assert_eq!(smoke::smoke_args(&scenario), ["switched", "--jobs", "2"]);
    }

    #[test]
    fn options_take_defaults_and_refuse_unknown_flags_missing_values_and_bounds() {
        let sync = scenario("sync").unwrap();
        assert_eq!(parse(sync, &[]).unwrap().get("--accounts"), 200);
        assert_eq!(
            parse(sync, &strings(&["--accounts", "10"]))
                .unwrap()
                .get("--accounts"),
            10
        );
        for (flags, needle) in [
            (&["--jobs", "10"][..], "\"--jobs\" is not an option of sync"),
            (&["--accounts"][..], "--accounts needs a value"),
            (&["--accounts", "ten"][..], "must be a whole number"),
            (&["--accounts", "0"][..], "--accounts must be 1 to any size"),
        ] {
            let error = parse(sync, &strings(flags)).err().unwrap();
            assert!(
                format!("{error:#}").contains(needle),
                "{flags:?}: {error:#}"
            );
        }
        let error = parse(
            scenario("large-report").unwrap(),
            &strings(&["--days", "400"]),
        )
        .err()
        .unwrap();
        assert!(
            error.to_string().contains("--days must be 1 to 366"),
            "{error}"
        );
        let error = scenario("nope").err().unwrap();
        assert!(
            error.to_string().contains("unknown scenario \"nope\""),
            "{error}"
        );
    }
}
