//! Every log line the test process emits, kept as text so tests can assert that no secret
//! reaches a log: testkit's capture at debug level for every crate ([`testkit::logs::capture_text`]),
//! so request traces, SQL and HTTP client lines are all scanned.

/// Starts keeping the text of every log line of this process.
pub(crate) fn capture() {
    testkit::logs::capture_text();
}

/// Asserts that none of `secrets` appears in the logs, and that something was logged (so the
/// check is not vacuous).
pub(crate) fn assert_clean(secrets: &[&str]) {
    let text = testkit::logs::text();
    // Request lines (the TraceLayer's, at debug) name the path: the capture is not vacuous.
    assert!(
        text.contains("path=/v1/"),
        "no request line was captured; is the subscriber installed?"
    );
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(
            !text.contains(secret),
            "a secret reached the logs: {secret:?}"
        );
    }
}
