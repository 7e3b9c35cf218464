//! `bench --smoke`: every registered scenario (or those named) at its small size, each as a
//! child process of this binary, so a scenario that no longer runs is noticed by the test
//! suite and not by the next person measuring. A scenario fails the smoke run when it exits
//! with an error, prints no JSON line naming itself, or reports a non-zero figure it declares
//! must be zero.

use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Map, Value, json};

use crate::{SCENARIOS, Scenario};

/// How long one scenario may take at its smoke size before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(10 * 60);

pub(crate) async fn run(names: &[String]) -> ExitCode {
    let scenarios: Vec<&'static Scenario> = if names.is_empty() {
        SCENARIOS.iter().collect()
    } else {
        match names
            .iter()
            .map(|name| crate::scenario(name))
            .collect::<anyhow::Result<Vec<_>>>()
        {
            Ok(scenarios) => scenarios,
            Err(error) => {
                eprintln!("bench --smoke: {error:#}");
                return ExitCode::FAILURE;
            }
        }
    };
    let mut results = Map::new();
    let mut failures = Vec::new();
    for scenario in scenarios {
        eprintln!(
            "bench --smoke: {} {}",
            scenario.name,
            smoke_args(scenario).join(" ")
        );
        let started = Instant::now();
        match run_one(scenario).await {
            Ok(line) => {
                eprintln!(
                    "bench --smoke: {} passed in {:.1} s",
                    scenario.name,
                    started.elapsed().as_secs_f64()
                );
                results.insert(scenario.name.to_owned(), line);
            }
            Err(error) => {
                eprintln!("bench --smoke: {} FAILED: {error:#}", scenario.name);
                failures.push(format!("{} ({error:#})", scenario.name));
            }
        }
    }
    if failures.is_empty() {
        println!("{}", json!({"scenario": "smoke", "results": results}));
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "bench --smoke: {} of {} scenarios failed: {}",
            failures.len(),
            failures.len() + results.len(),
            failures.join("; ")
        );
        ExitCode::FAILURE
    }
}

/// The command-line arguments of a scenario's smoke run.
pub(crate) fn smoke_args(scenario: &Scenario) -> Vec<String> {
    std::iter::once(scenario.name.to_owned())
        .chain(
            scenario
                .options
                .iter()
                .filter(|option| !option.switch)
                .flat_map(|option| [option.flag.to_owned(), option.smoke.to_string()]),
        )
        .collect()
}

/// Runs one scenario at its smoke size and returns its JSON line.
async fn run_one(scenario: &Scenario) -> anyhow::Result<Value> {
    let program = std::env::current_exe().context("locating the bench binary")?;
    let child = tokio::process::Command::new(program)
        .args(smoke_args(scenario))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("starting the scenario")?;
    let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .with_context(|| format!("still running after {TIMEOUT:?}"))?
        .context("waiting for the scenario")?;
    if !output.status.success() {
        bail!("exited with {}", output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    judge(scenario, &stdout)
}

/// The scenario's JSON line in its standard output, checked.
fn judge(scenario: &Scenario, stdout: &str) -> anyhow::Result<Value> {
    let line = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
        .find(|value| value["scenario"] == scenario.name)
        .with_context(|| {
            format!(
                "printed no JSON line with \"scenario\": {:?} (stdout: {:?})",
                scenario.name,
                stdout.trim()
            )
        })?;
    for figure in scenario.must_be_zero {
        match line.get(*figure).and_then(Value::as_f64) {
            Some(0.0) => {}
            Some(value) => bail!("{figure} is {value}, must be 0: {line}"),
            None => bail!("its JSON line has no figure {figure}: {line}"),
        }
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_passes_only_with_its_own_json_line_and_zero_figures() {
        let sync = crate::scenario("sync").unwrap();
        let good = "progress\n{\"scenario\":\"sync\",\"failed_jobs\":0,\"mismatched_rows\":0}\n";
        assert_eq!(judge(sync, good).unwrap()["failed_jobs"], 0);
        for (stdout, needle) in [
            ("", "printed no JSON line"),
            ("{\"scenario\":\"fanout\"}\n", "printed no JSON line"),
            ("not json\n", "printed no JSON line"),
            (
                "{\"scenario\":\"sync\",\"failed_jobs\":2,\"mismatched_rows\":0}",
                "failed_jobs is 2, must be 0",
            ),
            (
                "{\"scenario\":\"sync\",\"failed_jobs\":0}",
                "no figure mismatched_rows",
            ),
        ] {
            let error = judge(sync, stdout).unwrap_err().to_string();
            assert!(error.contains(needle), "{stdout:?}: {error}");
        }
    }

    #[test]
    fn smoke_arguments_name_the_scenario_and_every_option_at_its_smoke_size() {
        for scenario in SCENARIOS {
            let args = smoke_args(scenario);
            assert_eq!(args[0], scenario.name);
            let numbers = scenario.options.iter().filter(|option| !option.switch);
            assert_eq!(args.len(), 1 + 2 * numbers.clone().count());
            for option in numbers {
                let at = args.iter().position(|arg| arg == option.flag).unwrap();
                assert_eq!(args[at + 1], option.smoke.to_string());
            }
        }
    }
}
