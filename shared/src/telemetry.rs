//! Logs, traces and metrics setup shared by every process, and the fixed log field names.
//!
//! Logs go to stderr as text or JSON (`telemetry.log_format`), filtered by `RUST_LOG` or
//! `telemetry.log_filter`. When `telemetry.otlp_endpoint` is set, spans are exported over
//! OTLP/HTTP. A job remembers the `traceparent` of the span that created it (`jobs.traceparent`,
//! written by `db::jobs::insert`), the publisher's per-message `publish` span continues that
//! trace, and the message carries the publish span's `traceparent` in its AMQP headers, so one
//! trace spans the API request, the (possibly later) publication and the worker's job. Metrics
//! live in the default Prometheus registry and are served on `/metrics` by `crate::ops`; each
//! binary declares its own in one `metrics.rs`, checked by [`check_metric_names`].

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogFormat, TelemetryConfig};

/// Log and span field names, the same in every process.
pub mod fields {
    pub const JOB_ID: &str = "job_id";
    pub const SYNC_ID: &str = "sync_id";
    pub const TENANT_ID: &str = "tenant_id";
    pub const ACCOUNT_ID: &str = "account_id";
    pub const CONNECTOR: &str = "connector";
    pub const DESTINATION: &str = "destination";
    pub const ATTEMPT: &str = "attempt";
    pub const ERROR: &str = "error";
}

/// Keeps the trace exporter alive; flushes it when dropped.
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("trace exporter did not shut down cleanly: {error}");
        }
    }
}

/// Installs the global subscriber for `service` (call once, from `main`).
pub fn init(service: &'static str, config: &TelemetryConfig) -> anyhow::Result<TelemetryGuard> {
    install_tls_provider();
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log_filter))
        .map_err(|error| anyhow::anyhow!("telemetry.log_filter: {error}"))?;

    let provider = if config.otlp_endpoint.is_empty() {
        None
    } else {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(config.otlp_endpoint.clone())
            .build()
            .map_err(|error| anyhow::anyhow!("telemetry.otlp_endpoint: {error}"))?;
        Some(
            SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(Resource::builder().with_service_name(service).build())
                .build(),
        )
    };
    let otel_layer = provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer(service)));

    let registry = tracing_subscriber::registry().with(filter).with(otel_layer);
    match config.log_format {
        LogFormat::Json => registry.with(json_layer(std::io::stderr)).try_init(),
        LogFormat::Text => registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init(),
    }
    .map_err(|error| anyhow::anyhow!("logging was already initialised: {error}"))?;
    Ok(TelemetryGuard { provider })
}

/// The JSON log layer: one object per line with `timestamp`, `level`, `target` and `message`
/// first, then (sorted by name) the fields of every span the event is in (outermost first, so `job_id`,
/// `connector` and `attempt` of the `job` span are top-level keys), then the event's own fields
/// (which win over a span's of the same name), and `span`, the innermost span's name.
pub fn json_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
        .event_format(FlatJson)
        .with_writer(writer)
}

/// The event format of [`json_layer`].
struct FlatJson;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for FlatJson
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        context: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        use serde_json::{Map, Value};
        let metadata = event.metadata();
        let mut fields = Map::new();
        let mut innermost = None;
        if let Some(scope) = context.event_scope() {
            for span in scope.from_root() {
                innermost = Some(span.name());
                let extensions = span.extensions();
                let recorded = extensions
                    .get::<tracing_subscriber::fmt::FormattedFields<N>>()
                    .and_then(|fields| serde_json::from_str::<Map<String, Value>>(fields).ok());
                fields.extend(recorded.unwrap_or_default());
            }
        }
        event.record(&mut JsonVisitor(&mut fields));
        if let Some(name) = innermost {
            fields.insert("span".into(), name.into());
        }
        let message = fields.remove("message").unwrap_or_default();
        // The fixed fields first, in this order; then the others (sorted by name).
        let mut line = String::with_capacity(256);
        let mut push = |key: &str, value: &Value| -> std::fmt::Result {
            line.push(if line.is_empty() { '{' } else { ',' });
            line.push_str(&serde_json::to_string(key).map_err(|_| std::fmt::Error)?);
            line.push(':');
            line.push_str(&serde_json::to_string(value).map_err(|_| std::fmt::Error)?);
            Ok(())
        };
        let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        push("timestamp", &Value::String(timestamp))?;
        push("level", &Value::String(metadata.level().as_str().into()))?;
        push("target", &Value::String(metadata.target().into()))?;
        push("message", &message)?;
        for (key, value) in &fields {
            push(key, value)?;
        }
        line.push('}');
        writeln!(writer, "{line}")
    }
}

/// Collects an event's fields into a JSON object; `message` is the formatted message.
struct JsonVisitor<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl tracing::field::Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_error(
        &mut self,
        field: &tracing::field::Field,
        value: &(dyn std::error::Error + 'static),
    ) {
        self.0.insert(field.name().into(), value.to_string().into());
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

/// reqwest is built without a default TLS provider; install ring's once per process.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The W3C `traceparent` of the current span, if it is part of a sampled trace.
pub fn current_traceparent() -> Option<String> {
    traceparent_of(&tracing::Span::current())
}

/// The W3C `traceparent` of `span`, if it is part of a sampled trace (none without an
/// OpenTelemetry layer).
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    if span.is_disabled() {
        return None;
    }
    let context = span.context();
    let mut carrier: HashMap<String, String> = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove("traceparent")
}

/// Makes `span` a child of the trace named by `traceparent` (from a message header).
pub fn set_remote_parent(span: &tracing::Span, traceparent: &str) {
    let carrier: HashMap<String, String> =
        [("traceparent".to_string(), traceparent.to_string())].into();
    let context = TraceContextPropagator::new().extract(&carrier);
    // Ignored when no OpenTelemetry layer is installed.
    let _ = span.set_parent(context);
}

/// A backend a process reconnects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Rabbitmq,
    Postgres,
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Rabbitmq, Backend::Postgres];

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Rabbitmq => "rabbitmq",
            Backend::Postgres => "postgres",
        }
    }
}

/// `adsync_<part>_reconnects_total{backend}`, registered by the process's binary under its
/// own part (`api`, `scheduler`, `worker`); the first registration in a process wins.
static RECONNECTS: std::sync::OnceLock<prometheus::IntCounterVec> = std::sync::OnceLock::new();

/// Registers `adsync_<part>_reconnects_total{backend}` (connections re-established after one
/// broke: a broker connection opened again, a pooled database connection found closed and
/// replaced), with both series at zero. Returns the metric's name.
pub fn register_reconnects(part: &'static str) -> String {
    let name = format!("adsync_{part}_reconnects_total");
    let counter = RECONNECTS.get_or_init(|| {
        prometheus::register_int_counter_vec!(
            prometheus::Opts::new(
                name.clone(),
                "Connections to RabbitMQ or PostgreSQL re-established after one broke"
            ),
            &["backend"]
        )
        .expect("metric registers once")
    });
    for backend in Backend::ALL {
        counter.with_label_values(&[backend.as_str()]);
    }
    name
}

/// Counts one reconnection to `backend` (nothing if no binary registered the metric).
pub fn count_reconnect(backend: Backend) {
    if let Some(counter) = RECONNECTS.get() {
        counter.with_label_values(&[backend.as_str()]).inc();
    }
}

/// Reconnections to `backend` counted in this process so far.
pub fn reconnects(backend: Backend) -> u64 {
    RECONNECTS.get().map_or(0, |counter| {
        counter.with_label_values(&[backend.as_str()]).get()
    })
}

/// The metric naming convention, `adsync_<part>_<what>[_<unit>]`, in lowercase snake case.
pub const METRIC_NAME_PATTERN: &str =
    r"^adsync_(api|scheduler|worker|connector|destination)_[a-z][a-z0-9]*(_[a-z0-9]+)*$";

/// Checks that every name in `names` follows [`METRIC_NAME_PATTERN`], is registered in the
/// default Prometheus registry, and carries the unit its type calls for: counters end in
/// `_total`, histograms in a base unit (`_seconds`, `_bytes`, `_rows`). Gauges of a count
/// (`adsync_scheduler_is_leader`) may have no unit. Returns every problem found.
pub fn check_metric_names(names: &[&str]) -> Result<(), Vec<String>> {
    check_metric_families(names, &prometheus::gather())
}

/// Like [`check_metric_names`], against the families gathered from a registry of its own (the
/// API registers its metrics per application).
pub fn check_metric_families(
    names: &[&str],
    families: &[prometheus::proto::MetricFamily],
) -> Result<(), Vec<String>> {
    use prometheus::proto::MetricType;
    let pattern = regex::Regex::new(METRIC_NAME_PATTERN).expect("the pattern is valid");
    let mut problems = Vec::new();
    for name in names {
        if !pattern.is_match(name) {
            problems.push(format!("{name} does not match {METRIC_NAME_PATTERN}"));
        }
        let Some(family) = families.iter().find(|family| family.name() == *name) else {
            problems.push(format!("{name} is not registered"));
            continue;
        };
        let unit_ok = match family.get_field_type() {
            MetricType::COUNTER => name.ends_with("_total"),
            MetricType::HISTOGRAM | MetricType::SUMMARY => ["_seconds", "_bytes", "_rows"]
                .iter()
                .any(|unit| name.ends_with(unit)),
            MetricType::GAUGE | MetricType::UNTYPED => !name.ends_with("_total"),
        };
        if !unit_ok {
            problems.push(format!(
                "{name}: a {:?} needs a matching unit suffix",
                family.get_field_type()
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_log_lines_have_fixed_top_level_fields_including_the_spans() {
        // Arrange
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(json_layer(move || writer.clone()));

        // Act
        tracing::subscriber::with_default(subscriber, || {
            let job =
                tracing::info_span!("job", job_id = "j-1", connector = "meta_ads", attempt = 2);
            let _job = job.enter();
            let request = tracing::info_span!("platform_request", route = "/act_{id}/insights");
            let _request = request.enter();
            tracing::warn!(
                error = "HTTP 500",
                attempt = 3,
                "attempt failed; rescheduled"
            );
        });

        // Assert
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["target"], module_path!());
        assert_eq!(line["message"], "attempt failed; rescheduled");
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'), "{line}");
        assert_eq!(line[fields::JOB_ID], "j-1");
        assert_eq!(line[fields::CONNECTOR], "meta_ads");
        assert_eq!(line[fields::ERROR], "HTTP 500");
        assert_eq!(line[fields::ATTEMPT], 3, "the event's field wins");
        assert_eq!(line["route"], "/act_{id}/insights");
        assert_eq!(line["span"], "platform_request");
        let at = |key: &str| text.find(&format!("\"{key}\":")).unwrap();
        assert_eq!(at("timestamp"), 1, "{text}");
        assert!(
            at("timestamp") < at("level") && at("level") < at("target"),
            "{text}"
        );
        assert!(
            at("target") < at("message") && at("message") < at("attempt"),
            "{text}"
        );
    }

    #[test]
    fn metric_names_are_checked_against_the_convention_their_type_and_the_registry() {
        let counter =
            prometheus::IntCounter::new("adsync_worker_things", "a counter without _total")
                .unwrap();
        prometheus::register(Box::new(counter)).unwrap();
        let gauge = prometheus::IntGauge::new("adsync_scheduler_things_total", "a gauge").unwrap();
        prometheus::register(Box::new(gauge)).unwrap();

        let problems = check_metric_names(&[
            "adsync_worker_things",
            "adsync_scheduler_things_total",
            "adsync_worker_never_registered_total",
            "Adsync-Bad",
            "adsync_elsewhere_thing_total",
        ])
        .unwrap_err();

        let expected = [
            "adsync_worker_things: a COUNTER",
            "adsync_scheduler_things_total: a GAUGE",
            "adsync_worker_never_registered_total is not registered",
            "Adsync-Bad does not match",
            "adsync_elsewhere_thing_total does not match",
        ];
        for needle in expected {
            assert!(
                problems.iter().any(|problem| problem.starts_with(needle)),
                "{needle} missing from {problems:?}"
            );
        }
    }
}
