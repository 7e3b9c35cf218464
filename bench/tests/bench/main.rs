//! The benchmark suite cannot rot unnoticed: every scenario of `bench` runs at its small smoke
//! size (`bench --smoke`) as part of the test suite, on the local PostgreSQL and RabbitMQ. The
//! scenarios that start a worker process use the `worker` binary built next to `bench`, which
//! `cargo nextest run --workspace` (scripts/test.sh) builds for the worker's own tests.
//! `.config/nextest.toml` runs this test alone, so its load does not slow the others.

use std::process::Command;

#[test]
fn every_benchmark_scenario_runs_at_its_smoke_size() {
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .arg("--smoke")
        .output()
        .expect("starting bench --smoke");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "bench --smoke failed ({}):\n{stderr}",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary: serde_json::Value = stdout
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .find(|value: &serde_json::Value| value["scenario"] == "smoke")
        .unwrap_or_else(|| panic!("bench --smoke printed no summary: {stdout:?}\n{stderr}"));
    let results = summary["results"]
        .as_object()
        .unwrap_or_else(|| panic!("no results in {summary}"));
    assert!(results.contains_key("fanout"), "{summary}");
    for (name, line) in results {
        assert_eq!(line["scenario"], name.as_str(), "{summary}");
    }
}
