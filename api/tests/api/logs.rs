//! Every log line the test process emits, captured in memory so tests can assert that no secret
//! reaches a log. Installed once per process (nextest runs each test in its own), at debug
//! level for every crate, so request traces, SQL and HTTP client lines are all scanned.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static BUFFER: OnceLock<Buffer> = OnceLock::new();

/// Starts capturing (once per process).
pub(crate) fn capture() {
    BUFFER.get_or_init(|| {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        buffer
    });
}

/// Everything logged so far.
pub(crate) fn text() -> String {
    let buffer = BUFFER.get().expect("logs::capture() was called");
    String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned()
}

/// Asserts that none of `secrets` appears in the logs, and that something was logged (so the
/// check is not vacuous).
pub(crate) fn assert_clean(secrets: &[&str]) {
    let text = text();
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
