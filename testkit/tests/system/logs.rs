//! The log check itself (`testkit::logs`): an undeclared WARN or ERROR of an in-process service
//! or of a child process fails the test when its world goes, a declared one does not, and a
//! declared one that never came fails too. Where the check is not enforced (outside
//! cargo-nextest) the same findings are only printed, which these tests check as well.

use std::any::Any;
use std::os::unix::fs::PermissionsExt as _;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;

use testkit::TestWorld;
use testkit::logs::{self, ExpectedLog, Level};
use testkit::process::ChildProcess;

/// Drops `world` and returns the panic it caused, if any.
fn failure_when_dropped(world: TestWorld) -> Option<String> {
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(move || drop(world)));
    outcome.err().map(|payload: Box<dyn Any + Send>| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| {
                payload
                    .downcast_ref::<&str>()
                    .map(|text| (*text).to_owned())
            })
            .unwrap_or_default()
    })
}

/// The check fails the test exactly where it is enforced.
fn assert_fails_with(failure: Option<String>, needles: &[&str]) {
    if !logs::enforced() {
        assert_eq!(
            failure, None,
            "outside cargo-nextest findings are only printed"
        );
        return;
    }
    let message = failure.expect("the test fails");
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} is not in:\n{message}");
    }
}

/// A request to a route the sandbox does not serve: it warns, in this process.
async fn provoke_a_sandbox_warning(world: &TestWorld) {
    let response = reqwest::get(format!("{}/meta_ads/v24.0/nowhere", world.sandbox_url))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn an_undeclared_warning_of_an_in_process_service_fails_the_test() {
    // Arrange
    let world = TestWorld::start().await;

    // Act
    provoke_a_sandbox_warning(&world).await;

    // Assert
    let records = world.database.log_records();
    assert!(
        records.iter().any(|record| record.level == Level::WARN
            && record.message == "request to an unknown route"
            && record.fields.get("path").map(String::as_str) == Some("/meta_ads/v24.0/nowhere")),
        "{records:?}"
    );
    assert_fails_with(
        failure_when_dropped(world),
        &["unexpected: WARN sandbox::requests [test process]: request to an unknown route"],
    );
}

#[tokio::test]
async fn a_declared_warning_passes_and_a_declared_one_that_never_came_fails() {
    // A declared record that appears: nothing to report.
    let world = TestWorld::start().await;
    world.expect(
        ExpectedLog::warn("request to an unknown route")
            .target("sandbox")
            .field("path", "/meta_ads/v24.0/nowhere"),
    );
    provoke_a_sandbox_warning(&world).await;
    assert_eq!(failure_when_dropped(world), None);

    // A declared record that never appears (and one declared optional, which may not).
    let world = TestWorld::start().await;
    world.expect_log(Level::ERROR, "lease lost");
    world.expect(ExpectedLog::warn("heartbeat failed").optional());
    assert_fails_with(
        failure_when_dropped(world),
        &["expected but never logged: ERROR containing \"lease lost\""],
    );
}

/// An executable script that writes `output` and exits.
fn script(output: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "adsync-logs-test-{}.sh",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, format!("#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test]
async fn a_child_process_s_records_and_other_output_are_checked_too() {
    // Arrange: a "process" that logs a WARN in JSON, an INFO, and a line that is not a log
    // record (as a panic would be).
    let world = TestWorld::start().await;
    let program = script(concat!(
        r#"{"timestamp":"2026-01-01T00:00:00Z","level":"INFO","target":"worker","message":"worker starting"}"#,
        "\n",
        r#"{"timestamp":"2026-01-01T00:00:00Z","level":"WARN","target":"worker::engine","message":"lease lost; abandoning the attempt","job_id":"j-7"}"#,
        "\n",
        "thread 'main' panicked at worker/src/main.rs:1:1"
    ));
    world.expect(
        ExpectedLog::warn("lease lost")
            .source("fake-worker")
            .field("job_id", "j-7"),
    );
    let mut child = ChildProcess::spawn("fake-worker", &program, world.env());

    // Act
    child.wait_exit(std::time::Duration::from_secs(10)).await;
    drop(child);

    // Assert: the declared WARN passes; the stray line fails the test.
    let records = world.database.log_records();
    assert!(
        records
            .iter()
            .all(|record| record.source == "fake-worker" && record.level != Level::INFO),
        "{records:?}"
    );
    assert_fails_with(
        failure_when_dropped(world),
        &["unexpected: ERROR stderr [fake-worker]: thread 'main' panicked"],
    );
    std::fs::remove_file(program).unwrap();
}
