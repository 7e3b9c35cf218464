//! The tests watch the logs: every WARN and ERROR record of the test process (the api, worker,
//! scheduler and sandbox a [`crate::TestWorld`] runs in-process, and anything else the test
//! calls) and of its child processes ([`crate::process`], which run our binaries with JSON
//! logs) is captured, and a test fails on any such record it did not declare as expected:
//!
//! ```ignore
//! world.expect_log(Level::WARN, "lease lost");
//! world.expect(ExpectedLog::warn("attempt failed").target("worker::engine").field("class", "transient"));
//! ```
//!
//! Records are captured for as long as a [`LogScope`] is open; every [`crate::TestDatabase`]
//! (so every `TestWorld`) opens one and checks it when dropped, before its database is
//! dropped: each WARN or ERROR record must match an expectation of the test, and each
//! expectation (unless [`ExpectedLog::optional`]) must have matched a record. A child process's
//! log is read when a scope closes and when the process is dropped; what a child logs after its
//! test's last scope closed (its database is being dropped under it) is not the test's doing.
//!
//! Records cannot be told apart by test when several tests share a process, so the check is
//! enforced where each test has a process of its own: under cargo-nextest (scripts/test.sh).
//! Under `cargo test` records are still captured and shown when a test fails.
//!
//! In-process records are produced by the same JSON layer production uses
//! (`shared::telemetry::json_layer`), so a record's fields are the event's fields and those of
//! the spans it is in (`job_id`, `connector`, `attempt`, …), exactly as an operator reads them.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

pub use tracing::Level;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{LevelFilter, dynamic_filter_fn, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Where the records of the test process itself come from.
pub const TEST_PROCESS: &str = "test process";

/// One WARN or ERROR log record.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    pub level: Level,
    pub target: String,
    pub message: String,
    /// The event's fields and those of the spans it is in, as text.
    pub fields: BTreeMap<String, String>,
    /// [`TEST_PROCESS`], or the name of the child process that wrote it.
    pub source: String,
}

impl LogRecord {
    /// Reads one line of the JSON log format (`shared::telemetry::json_layer`); `None` when
    /// the line is not such a record.
    pub fn from_json_line(line: &str, source: &str) -> Option<Self> {
        let serde_json::Value::Object(mut object) = serde_json::from_str(line.trim()).ok()? else {
            return None;
        };
        let level = Level::from_str(object.remove("level")?.as_str()?).ok()?;
        let target = object.remove("target")?.as_str()?.to_owned();
        let message = match object.remove("message")? {
            serde_json::Value::String(message) => message,
            other => other.to_string(),
        };
        object.remove("timestamp");
        let fields = object
            .into_iter()
            .map(|(key, value)| {
                let value = match value {
                    serde_json::Value::String(text) => text,
                    other => other.to_string(),
                };
                (key, value)
            })
            .collect();
        Some(Self {
            level,
            target,
            message,
            fields,
            source: source.to_owned(),
        })
    }

    /// Whether the record is a WARN or an ERROR.
    pub fn is_warning_or_error(&self) -> bool {
        self.level <= Level::WARN
    }
}

impl fmt::Display for LogRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} [{}]: {}",
            self.level, self.target, self.source, self.message
        )?;
        for (key, value) in &self.fields {
            write!(f, " {key}={value}")?;
        }
        Ok(())
    }
}

/// How an expectation compares one field.
#[derive(Debug, Clone)]
enum FieldMatch {
    Equals(String),
    Contains(String),
}

/// A WARN or ERROR record a test declares as an expected outcome of its scenario.
#[derive(Debug, Clone)]
pub struct ExpectedLog {
    level: Level,
    message: String,
    target: Option<String>,
    source: Option<String>,
    fields: Vec<(String, FieldMatch)>,
    optional: bool,
}

impl ExpectedLog {
    /// Records at `level` whose message contains `message`.
    pub fn new(level: Level, message: &str) -> Self {
        Self {
            level,
            message: message.to_owned(),
            target: None,
            source: None,
            fields: Vec::new(),
            optional: false,
        }
    }

    pub fn warn(message: &str) -> Self {
        Self::new(Level::WARN, message)
    }

    pub fn error(message: &str) -> Self {
        Self::new(Level::ERROR, message)
    }

    /// Only records whose target starts with `target` (a module path such as
    /// `worker::engine`).
    pub fn target(mut self, target: &str) -> Self {
        self.target = Some(target.to_owned());
        self
    }

    /// Only records of the child process called `name` ([`TEST_PROCESS`] for the test's own).
    pub fn source(mut self, name: &str) -> Self {
        self.source = Some(name.to_owned());
        self
    }

    /// Only records whose field `name` is `value`.
    pub fn field(mut self, name: &str, value: impl fmt::Display) -> Self {
        self.fields
            .push((name.to_owned(), FieldMatch::Equals(value.to_string())));
        self
    }

    /// Only records whose field `name` contains `part`.
    pub fn field_containing(mut self, name: &str, part: &str) -> Self {
        self.fields
            .push((name.to_owned(), FieldMatch::Contains(part.to_owned())));
        self
    }

    /// The record may or may not appear (whether it does depends on timing the test does not
    /// control). By default an expected record must appear at least once.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    pub fn matches(&self, record: &LogRecord) -> bool {
        record.level == self.level
            && record.message.contains(&self.message)
            && self
                .target
                .as_ref()
                .is_none_or(|target| record.target.starts_with(target.as_str()))
            && self
                .source
                .as_ref()
                .is_none_or(|source| record.source == *source)
            && self.fields.iter().all(|(name, expected)| {
                record.fields.get(name).is_some_and(|value| match expected {
                    FieldMatch::Equals(expected) => value == expected,
                    FieldMatch::Contains(part) => value.contains(part.as_str()),
                })
            })
    }
}

/// The worker's records of a job's outcomes, for tests whose scenario causes them.
impl ExpectedLog {
    /// An attempt that failed with error class `class` (`transient`, `throttled`) and was
    /// rescheduled.
    pub fn attempt_rescheduled(class: &str) -> Self {
        Self::warn("attempt failed; rescheduled")
            .target("worker::engine")
            .field("class", class)
    }

    /// A job that failed for good, with error class `class`.
    pub fn job_failed(class: &str) -> Self {
        Self::error("job failed")
            .target("worker::engine")
            .field("class", class)
    }

    /// A connection marked as needing re-authorisation (its token was refused).
    pub fn connection_needs_reauth() -> Self {
        Self::error("the connection needs re-authorisation").target("worker::engine")
    }

    /// A destination marked as needing re-authorisation (its grant was refused).
    pub fn destination_needs_reauth() -> Self {
        Self::error("the destination needs re-authorisation").target("worker::engine")
    }
}

/// What every process may log while RabbitMQ is down (stopped or crashed, then started
/// again): lost connections, reconnection attempts, publishes that wait for the broker. All
/// optional: which of them appear depends on where each process was when the broker went.
pub fn during_broker_outage() -> Vec<ExpectedLog> {
    [
        ExpectedLog::error("error doing IO").target("lapin"),
        ExpectedLog::error("Connection error").target("lapin"),
        // A broker stopping cleanly closes each connection first (CONNECTION_FORCED).
        ExpectedLog::error("Connection closed").target("lapin"),
        ExpectedLog::warn("rabbitmq unreachable, retrying").target("shared::queue"),
        ExpectedLog::warn("rabbitmq session ended; reconnecting").target("worker::consumer"),
        ExpectedLog::error("cannot connect to rabbitmq").target("worker::consumer"),
        ExpectedLog::warn("acknowledging deliveries failed").target("worker::acks"),
        ExpectedLog::warn("rejecting a delivery failed").target("worker::consumer"),
        ExpectedLog::error("relay failed").target("scheduler"),
        ExpectedLog::warn("publish failed; the relay will publish the job").target("api"),
    ]
    .into_iter()
    .map(ExpectedLog::optional)
    .collect()
}

/// What every process may log while PostgreSQL is down (crashed or restarted): connections
/// refused or cut, and each duty that needed the database failing until it is back. All
/// optional, as for [`during_broker_outage`].
pub fn during_database_outage() -> Vec<ExpectedLog> {
    [
        ExpectedLog::warn("Connection error").target("deadpool.postgres"),
        ExpectedLog::warn("Connection could not be recycled").target("deadpool.postgres"),
        ExpectedLog::warn("relay notifications interrupted").target("scheduler::relay"),
        ExpectedLog::warn("leader lease renewal failed").target("scheduler::leader"),
        ExpectedLog::error("tick failed").target("scheduler"),
        ExpectedLog::error("relay failed").target("scheduler"),
        ExpectedLog::error("rescue failed").target("scheduler"),
        ExpectedLog::error("purge failed").target("scheduler"),
        ExpectedLog::warn("reading the scheduler's gauges failed").target("scheduler"),
        ExpectedLog::warn("heartbeat failed").target("worker::engine"),
        ExpectedLog::warn("recording completions failed").target("worker::engine"),
        ExpectedLog::warn("lease lost; abandoning the attempt").target("worker::engine"),
        ExpectedLog::attempt_rescheduled("transient"),
        ExpectedLog::error("claiming jobs failed").target("worker::consumer"),
        ExpectedLog::error("job outcome could not be recorded").target("worker::consumer"),
        ExpectedLog::warn("clearing staged rows failed").target("worker::destinations"),
        ExpectedLog::warn("request failed: dependency unavailable").target("api"),
        ExpectedLog::error("response failed")
            .target("tower_http")
            .field_containing("classification", "503"),
        ExpectedLog::warn("recording usage failed").field_containing("error", "connection"),
        ExpectedLog::warn("recording a throttle failed").field_containing("error", "connection"),
    ]
    .into_iter()
    .map(ExpectedLog::optional)
    .collect()
}

impl fmt::Display for ExpectedLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} containing {:?}", self.level, self.message)?;
        if let Some(target) = &self.target {
            write!(f, " from {target}")?;
        }
        if let Some(source) = &self.source {
            write!(f, " in {source}")?;
        }
        for (name, expected) in &self.fields {
            match expected {
                FieldMatch::Equals(value) => write!(f, " {name}={value}")?,
                FieldMatch::Contains(part) => write!(f, " {name}~{part}")?,
            }
        }
        Ok(())
    }
}

/// Every record captured in this process, the scopes that watch them, and the child processes
/// whose logs are read into them.
struct Store {
    records: Vec<LogRecord>,
    scopes: Vec<ScopeState>,
    children: Vec<ChildLog>,
}

/// A child process's log file, read up to `consumed` bytes so far.
struct ChildLog {
    id: u64,
    name: String,
    path: PathBuf,
    consumed: usize,
    /// Its test's last scope closed while it ran: what it logs afterwards (say, about its
    /// database being dropped under it) is not the test's doing.
    detached: bool,
}

impl ChildLog {
    /// The records of the complete lines written since the last read.
    fn read_new(&mut self) -> Vec<LogRecord> {
        let Ok(bytes) = std::fs::read(&self.path) else {
            return Vec::new();
        };
        let Some(unread) = bytes.get(self.consumed..) else {
            return Vec::new();
        };
        let Some(end) = unread.iter().rposition(|byte| *byte == b'\n') else {
            return Vec::new();
        };
        self.consumed += end + 1;
        records_of_output(&String::from_utf8_lossy(&unread[..=end]), &self.name)
    }
}

struct ScopeState {
    id: u64,
    /// The first record of its window (an index into `records`).
    start: usize,
    /// One past the last record of its window, once closed.
    end: Option<usize>,
    expected: Vec<ExpectedLog>,
}

impl ScopeState {
    fn covers(&self, index: usize) -> bool {
        self.start <= index && self.end.is_none_or(|end| index < end)
    }
}

static STORE: Mutex<Store> = Mutex::new(Store {
    records: Vec::new(),
    scopes: Vec::new(),
    children: Vec::new(),
});
static NEXT_SCOPE: AtomicU64 = AtomicU64::new(1);

fn store() -> MutexGuard<'static, Store> {
    STORE.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Store {
    /// Reads what every attached child process wrote since the last read.
    fn collect_children(&mut self) {
        let mut read = Vec::new();
        for child in self.children.iter_mut().filter(|child| !child.detached) {
            read.extend(child.read_new());
        }
        self.records.extend(read);
    }

    /// Whether an expectation of a scope open when record `index` was captured matches it.
    fn is_expected(&self, index: usize) -> bool {
        let record = &self.records[index];
        self.scopes
            .iter()
            .filter(|scope| scope.covers(index))
            .flat_map(|scope| &scope.expected)
            .any(|expected| expected.matches(record))
    }

    /// The findings of the scope `id` over its window so far: unexpected records, then
    /// expectations that matched nothing.
    fn findings(&self, id: u64) -> Vec<String> {
        let Some(scope) = self.scopes.iter().find(|scope| scope.id == id) else {
            return Vec::new();
        };
        let end = scope.end.unwrap_or(self.records.len());
        let mut findings: Vec<String> = (scope.start..end)
            .filter(|index| !self.is_expected(*index))
            .map(|index| format!("unexpected: {}", self.records[index]))
            .collect();
        let window = &self.records[scope.start..end];
        findings.extend(
            scope
                .expected
                .iter()
                .filter(|expected| !expected.optional)
                .filter(|expected| !window.iter().any(|record| expected.matches(record)))
                .map(|expected| format!("expected but never logged: {expected}")),
        );
        findings
    }
}

/// A window of captured records that a test checks when it ends.
pub struct LogScope {
    id: u64,
    closed: bool,
}

impl LogScope {
    /// Starts capturing (installing the capture in this process on first use).
    pub fn open() -> Self {
        install();
        let id = NEXT_SCOPE.fetch_add(1, Ordering::Relaxed);
        let mut store = store();
        let start = store.records.len();
        store.scopes.push(ScopeState {
            id,
            start,
            end: None,
            expected: Vec::new(),
        });
        Self { id, closed: false }
    }

    /// Declares a record as an expected outcome of the test's scenario.
    pub fn expect(&self, expected: ExpectedLog) {
        let mut store = store();
        if let Some(scope) = store.scopes.iter_mut().find(|scope| scope.id == self.id) {
            scope.expected.push(expected);
        }
    }

    /// The WARN and ERROR records captured in this scope so far.
    pub fn records(&self) -> Vec<LogRecord> {
        let store = store();
        let Some(scope) = store.scopes.iter().find(|scope| scope.id == self.id) else {
            return Vec::new();
        };
        let end = scope.end.unwrap_or(store.records.len());
        store.records[scope.start..end].to_vec()
    }

    /// Ends the window and returns the report of what would fail the test (`None` when
    /// nothing would). Closing twice finds nothing the second time.
    pub fn close(&mut self) -> Option<String> {
        if std::mem::replace(&mut self.closed, true) {
            return None;
        }
        let findings = {
            let mut store = store();
            store.collect_children();
            let end = store.records.len();
            if let Some(scope) = store.scopes.iter_mut().find(|scope| scope.id == self.id) {
                scope.end = Some(end);
            }
            if store.scopes.iter().all(|scope| scope.end.is_some()) {
                for child in &mut store.children {
                    child.detached = true;
                }
            }
            store.findings(self.id)
        };
        (!findings.is_empty()).then(|| {
            format!(
                "the logs show what the test did not declare (declare an expected outcome \
                 with expect_log / expect(ExpectedLog::…); fix anything else):\n  {}",
                findings.join("\n  ")
            )
        })
    }

    /// Closes the scope and fails the test with its report ([`fail_with`]).
    pub fn close_and_check(&mut self) {
        fail_with(self.close());
    }
}

/// Whether the log check fails tests in this process: only where each test has a process of
/// its own (cargo-nextest), since records cannot be told apart by test otherwise.
pub fn enforced() -> bool {
    std::env::var("NEXTEST_EXECUTION_MODE").is_ok_and(|mode| mode == "process-per-test")
}

/// Panics with `report`, where the check is enforced and the thread is not already panicking;
/// otherwise prints it (as context for another failure, or as a note under `cargo test`).
pub fn fail_with(report: Option<String>) {
    let Some(report) = report else {
        return;
    };
    if enforced() && !std::thread::panicking() {
        panic!("{report}");
    }
    eprintln!("{report}");
}

impl Drop for LogScope {
    fn drop(&mut self) {
        self.close_and_check();
    }
}

/// Starts reading a child process's log file into the records; returns its registration.
pub(crate) fn register_child(name: &str, path: &Path) -> u64 {
    let id = NEXT_SCOPE.fetch_add(1, Ordering::Relaxed);
    store().children.push(ChildLog {
        id,
        name: name.to_owned(),
        path: path.to_owned(),
        consumed: 0,
        detached: false,
    });
    id
}

/// Reads the rest of a child process's log (it has exited) and stops following it. Returns a
/// report of what it logged when no scope is open to check it.
pub(crate) fn child_gone(id: u64) -> Option<String> {
    let mut store = store();
    let at = store.children.iter().position(|child| child.id == id)?;
    let mut child = store.children.remove(at);
    if child.detached {
        return None;
    }
    let records = child.read_new();
    if records.is_empty() {
        return None;
    }
    let open = store.scopes.iter().any(|scope| scope.end.is_none());
    let report = (!open).then(|| {
        format!(
            "child process {} logged after every scope of its test had closed:\n  {}",
            child.name,
            records
                .iter()
                .map(|record| format!("unexpected: {record}"))
                .collect::<Vec<_>>()
                .join("\n  ")
        )
    });
    store.records.extend(records);
    report
}

/// Reads a child process's output: its JSON log records at WARN and ERROR, and every line
/// that is not a JSON record (a panic, or an error printed at exit) as an ERROR with target
/// `stderr`. A last line cut short (the process was killed while writing it) is skipped.
pub fn records_of_output(output: &str, source: &str) -> Vec<LogRecord> {
    let complete = match output.rfind('\n') {
        Some(end) => &output[..end],
        None => "",
    };
    complete
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| match LogRecord::from_json_line(line, source) {
            Some(record) => record.is_warning_or_error().then_some(record),
            None => Some(LogRecord {
                level: Level::ERROR,
                target: "stderr".to_owned(),
                message: line.to_owned(),
                fields: BTreeMap::new(),
                source: source.to_owned(),
            }),
        })
        .collect()
}

// --- The capture: one global subscriber per test process. ---

static TEXT_ON: AtomicBool = AtomicBool::new(false);
static TEXT: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static INSTALLED: OnceLock<()> = OnceLock::new();

/// Installs, once per process, the global subscriber: WARN and ERROR events as records (with
/// the fields of their INFO-and-above spans), every DEBUG-and-above event as text once
/// [`capture_text`] asked for it, and spans into [`crate::telemetry::capture_spans`] once
/// asked for.
pub(crate) fn install() {
    INSTALLED.get_or_init(|| {
        let records =
            shared::telemetry::json_layer(RecordWriter).with_filter(filter_fn(|metadata| {
                if metadata.is_span() {
                    *metadata.level() <= Level::INFO
                } else {
                    *metadata.level() <= Level::WARN
                }
            }));
        let text = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(TextWriter)
            .with_filter(
                dynamic_filter_fn(|metadata, _| {
                    TEXT_ON.load(Ordering::Relaxed) && *metadata.level() <= Level::DEBUG
                })
                .with_max_level_hint(LevelFilter::DEBUG),
            );
        tracing_subscriber::registry()
            .with(records)
            .with(text)
            .with(crate::telemetry::span_layer())
            .try_init()
            .expect("testkit installs the only global subscriber of a test process");
    });
}

/// Starts keeping every log line of this process at DEBUG and above as text (for tests that
/// scan the logs for secrets).
pub fn capture_text() {
    install();
    TEXT_ON.store(true, Ordering::Relaxed);
    tracing::callsite::rebuild_interest_cache();
}

/// The text captured since [`capture_text`].
pub fn text() -> String {
    String::from_utf8_lossy(&TEXT.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
}

/// Turns each JSON line the records layer writes into a [`LogRecord`].
struct RecordWriter;

struct RecordLine(Vec<u8>);

impl<'a> MakeWriter<'a> for RecordWriter {
    type Writer = RecordLine;

    fn make_writer(&'a self) -> Self::Writer {
        RecordLine(Vec::with_capacity(256))
    }
}

impl io::Write for RecordLine {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for RecordLine {
    /// The layer drops its writer after each event: the line is complete.
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let records: Vec<LogRecord> = text
            .lines()
            .filter_map(|line| LogRecord::from_json_line(line, TEST_PROCESS))
            .collect();
        if !records.is_empty() {
            store().records.extend(records);
        }
    }
}

struct TextWriter;

struct TextLine;

impl<'a> MakeWriter<'a> for TextWriter {
    type Writer = TextLine;

    fn make_writer(&'a self) -> Self::Writer {
        TextLine
    }
}

impl io::Write for TextLine {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        TEXT.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(level: Level, target: &str, message: &str, fields: &[(&str, &str)]) -> LogRecord {
        LogRecord {
            level,
            target: target.to_owned(),
            message: message.to_owned(),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            source: TEST_PROCESS.to_owned(),
        }
    }

    #[test]
    fn an_expectation_matches_level_message_target_and_fields() {
        let lost = record(
            Level::WARN,
            "worker::engine",
            "lease lost; abandoning the attempt",
            &[("job_id", "j-1"), ("error", "connection reset by peer")],
        );
        assert!(ExpectedLog::warn("lease lost").matches(&lost));
        assert!(
            ExpectedLog::warn("lease lost")
                .target("worker")
                .field("job_id", "j-1")
                .field_containing("error", "reset")
                .matches(&lost)
        );
        for wrong in [
            ExpectedLog::error("lease lost"),
            ExpectedLog::warn("heartbeat failed"),
            ExpectedLog::warn("lease lost").target("scheduler"),
            ExpectedLog::warn("lease lost").field("job_id", "j-2"),
            ExpectedLog::warn("lease lost").field("job_id", "j"),
            ExpectedLog::warn("lease lost").field("attempt", "1"),
            ExpectedLog::warn("lease lost").field_containing("error", "refused"),
        ] {
            assert!(!wrong.matches(&lost), "{wrong}");
        }
    }

    #[test]
    fn json_lines_become_records_and_other_output_becomes_errors() {
        let output = concat!(
            "{\"timestamp\":\"2026-01-01T00:00:00Z\",\"level\":\"INFO\",\"target\":\"worker\",\"message\":\"started\"}\n",
            "{\"timestamp\":\"2026-01-01T00:00:00Z\",\"level\":\"WARN\",\"target\":\"worker::engine\",\"message\":\"attempt failed; rescheduled\",\"attempt\":2,\"job_id\":\"j-1\"}\n",
            "thread 'main' panicked at worker/src/main.rs:1:1:\n",
            "{\"timestamp\":\"2026-01-01T00:00:00Z\",\"level\":\"ERR"
        );
        let records = records_of_output(output, "worker-a");
        assert_eq!(records.len(), 2, "{records:?}");
        assert_eq!(records[0].level, Level::WARN);
        assert_eq!(records[0].target, "worker::engine");
        assert_eq!(records[0].fields["attempt"], "2");
        assert_eq!(records[0].fields["job_id"], "j-1");
        assert_eq!(records[0].source, "worker-a");
        assert_eq!(records[1].level, Level::ERROR);
        assert_eq!(records[1].target, "stderr");
        assert!(records[1].message.contains("panicked"));
    }

    #[test]
    fn a_scope_reports_unexpected_records_and_expectations_never_met() {
        let mut store = Store {
            records: vec![
                record(Level::WARN, "worker::engine", "lease lost", &[]),
                record(Level::ERROR, "worker::engine", "job failed", &[]),
            ],
            children: Vec::new(),
            scopes: vec![ScopeState {
                id: 1,
                start: 0,
                end: None,
                expected: vec![
                    ExpectedLog::warn("lease lost"),
                    ExpectedLog::warn("heartbeat failed"),
                    ExpectedLog::warn("rabbitmq session ended").optional(),
                ],
            }],
        };
        let findings = store.findings(1);
        assert_eq!(
            findings,
            [
                "unexpected: ERROR worker::engine [test process]: job failed",
                "expected but never logged: WARN containing \"heartbeat failed\"",
            ]
        );
        // A record before the scope opened is not its business.
        store.scopes[0].start = 2;
        store.scopes[0].expected.truncate(1);
        assert_eq!(
            store.findings(1),
            ["expected but never logged: WARN containing \"lease lost\""]
        );
    }

    #[test]
    fn in_process_warnings_are_captured_with_their_span_fields() {
        let scope = LogScope::open();
        let span = tracing::info_span!("job", job_id = "j-42", connector = "meta_ads");
        let _entered = span.enter();
        tracing::info!("not captured: below WARN");
        tracing::warn!(error = "HTTP 503", "attempt failed; rescheduled");
        let records = scope.records();
        let captured = records
            .iter()
            .find(|record| record.message == "attempt failed; rescheduled")
            .unwrap_or_else(|| panic!("{records:?}"));
        assert_eq!(captured.level, Level::WARN);
        assert_eq!(captured.target, module_path!());
        assert_eq!(captured.fields["job_id"], "j-42");
        assert_eq!(captured.fields["error"], "HTTP 503");
        assert!(
            records
                .iter()
                .all(|record| record.message != "not captured: below WARN")
        );
        scope.expect(ExpectedLog::warn("attempt failed").field("job_id", "j-42"));
    }
}
