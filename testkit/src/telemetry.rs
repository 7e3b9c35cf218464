//! Telemetry as tests see it: every span the test process ends, captured in memory through the
//! same OpenTelemetry layer production uses (so trace ids and parents are the real ones), and a
//! parser of the Prometheus text exposition that a scrape of `/metrics` must pass.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing_subscriber::Layer as _;

/// One ended span.
#[derive(Debug, Clone)]
pub struct CapturedSpan {
    pub name: String,
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// `SpanId::INVALID` for a root span.
    pub parent_span_id: SpanId,
    /// The span's fields, as strings.
    pub attributes: HashMap<String, String>,
}

impl CapturedSpan {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

/// The spans ended so far in this process.
#[derive(Debug, Clone, Default)]
pub struct Spans(Arc<Mutex<Vec<CapturedSpan>>>);

impl Spans {
    pub fn all(&self) -> Vec<CapturedSpan> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The ended spans called `name` whose attribute `key` is `value`.
    pub fn named_with(&self, name: &str, key: &str, value: &str) -> Vec<CapturedSpan> {
        self.all()
            .into_iter()
            .filter(|span| span.name == name && span.attribute(key) == Some(value))
            .collect()
    }
}

impl SpanExporter for Spans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let captured = batch.into_iter().map(|span| CapturedSpan {
            name: span.name.to_string(),
            trace_id: span.span_context.trace_id(),
            span_id: span.span_context.span_id(),
            parent_span_id: span.parent_span_id,
            attributes: span
                .attributes
                .iter()
                .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                .collect(),
        });
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(captured);
        Ok(())
    }
}

static SPANS: OnceLock<Spans> = OnceLock::new();
static SPANS_ON: AtomicBool = AtomicBool::new(false);

fn spans() -> &'static Spans {
    SPANS.get_or_init(Spans::default)
}

/// The OpenTelemetry layer of the test process's subscriber ([`crate::logs`] installs it):
/// every span at `info` and above, exported to memory as it ends, once [`capture_spans`] asked
/// for it (until then it records nothing).
pub(crate) fn span_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(spans().clone())
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("tests"));
    // The provider lives as long as the process; spans are exported as they end.
    std::mem::forget(provider);
    layer.with_filter(
        tracing_subscriber::filter::dynamic_filter_fn(|metadata, _| {
            SPANS_ON.load(Ordering::Relaxed) && *metadata.level() <= tracing::Level::INFO
        })
        .with_max_level_hint(tracing_subscriber::filter::LevelFilter::INFO),
    )
}

/// Captures, from now on, every span of this process at `info` and above that ends, through
/// the same OpenTelemetry layer production uses, and returns what it captured.
pub fn capture_spans() -> Spans {
    crate::logs::install();
    SPANS_ON.store(true, Ordering::Relaxed);
    tracing::callsite::rebuild_interest_cache();
    spans().clone()
}

/// One sample of an exposition: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed Prometheus text exposition (format 0.0.4).
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    /// Metric family names and their `# TYPE`.
    pub families: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// The samples of family `family` (with `_bucket`, `_sum` and `_count` for histograms).
    pub fn samples_of(&self, family: &str) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|sample| family_of(&sample.name, &self.families) == Some(family))
            .collect()
    }
}

/// The family a sample belongs to: its own name, or its name without a histogram or summary
/// suffix.
fn family_of<'a>(sample: &'a str, families: &BTreeMap<String, String>) -> Option<&'a str> {
    if families.contains_key(sample) {
        return Some(sample);
    }
    ["_bucket", "_sum", "_count"]
        .iter()
        .filter_map(|suffix| sample.strip_suffix(suffix))
        .find(|family| {
            families
                .get(*family)
                .is_some_and(|kind| kind == "histogram" || kind == "summary")
        })
}

/// Parses a Prometheus text exposition strictly: every sample belongs to a family declared by
/// `# TYPE` before it, names and label names are valid, label values are quoted with valid
/// escapes, values are numbers, and no family is declared twice.
pub fn parse_exposition(text: &str) -> Result<Exposition, String> {
    let mut exposition = Exposition::default();
    let mut seen_series = BTreeSet::new();
    for (number, line) in text.lines().enumerate() {
        let at = |problem: String| format!("line {}: {problem}: {line:?}", number + 1);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some("TYPE"), Some(name), Some(kind)) => {
                    check_name(name).map_err(at)?;
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(at(format!("unknown type {kind}")));
                    }
                    if exposition
                        .families
                        .insert(name.to_string(), kind.to_string())
                        .is_some()
                    {
                        return Err(at(format!("{name} is declared twice")));
                    }
                }
                (Some("HELP"), Some(name), _) => check_name(name).map_err(at)?,
                _ => {}
            }
            continue;
        }
        let sample = parse_sample(line).map_err(at)?;
        if family_of(&sample.name, &exposition.families).is_none() {
            return Err(at(format!("{} has no # TYPE before it", sample.name)));
        }
        if !seen_series.insert(format!("{}{:?}", sample.name, sample.labels)) {
            return Err(at("the same series appears twice".to_string()));
        }
        exposition.samples.push(sample);
    }
    Ok(exposition)
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if valid {
        Ok(())
    } else {
        Err(format!("invalid metric name {name:?}"))
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("a sample needs a value")?;
    let name = &line[..name_end];
    check_name(name)?;
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        let mut end = None;
        while let Some(&(start, c)) = chars.peek() {
            if c == '}' {
                end = Some(start);
                break;
            }
            if c == ',' {
                chars.next();
                continue;
            }
            let eq = inner[start..].find('=').ok_or("a label needs a value")? + start;
            let label = &inner[start..eq];
            if label.is_empty()
                || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                || label.starts_with(|c: char| c.is_ascii_digit())
            {
                return Err(format!("invalid label name {label:?}"));
            }
            while chars.peek().is_some_and(|&(i, _)| i <= eq) {
                chars.next();
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err(format!("the value of {label} is not quoted"));
            }
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some((_, '"')) => break,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        Some((_, 'n')) => value.push('\n'),
                        other => return Err(format!("bad escape {other:?} in {label}")),
                    },
                    Some((_, '\n')) | None => return Err(format!("unterminated {label}")),
                    Some((_, c)) => value.push(c),
                }
            }
            if labels.insert(label.to_string(), value).is_some() {
                return Err(format!("label {label} repeats"));
            }
        }
        let end = end.ok_or("unterminated label set")?;
        rest = &inner[end + 1..];
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or("a sample needs a value")?;
    let value: f64 = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        number => number
            .parse()
            .map_err(|_| format!("{number:?} is not a number"))?,
    };
    if let Some(timestamp) = fields.next() {
        timestamp
            .parse::<i64>()
            .map_err(|_| format!("{timestamp:?} is not a timestamp"))?;
    }
    if fields.next().is_some() {
        return Err("trailing text after the sample".to_string());
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// Lints a `/metrics` exposition with `promtool check metrics` (Debian's `prometheus`
/// package; `scripts/test.sh` installs it through `scripts/validate-deploy.sh`). Panics with
/// promtool's findings, or when promtool is missing.
pub fn promtool_check_metrics(text: &str) {
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("promtool is missing ({error}): run scripts/test.sh, which installs it")
        });
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(text.as_bytes())
        .expect("writing to promtool");
    let output = child.wait_with_output().expect("promtool runs");
    assert!(
        output.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_exposition_parses_with_its_families_and_samples() {
        let text = "# HELP adsync_worker_jobs_total Jobs\n\
                    # TYPE adsync_worker_jobs_total counter\n\
                    adsync_worker_jobs_total{connector=\"meta_ads\",outcome=\"failed\"} 3\n\
                    # TYPE adsync_api_request_duration_seconds histogram\n\
                    adsync_api_request_duration_seconds_bucket{route=\"/v1/jobs/{id}\",le=\"+Inf\"} 1\n\
                    adsync_api_request_duration_seconds_sum{route=\"/v1/jobs/{id}\"} 0.5\n\
                    adsync_api_request_duration_seconds_count{route=\"/v1/jobs/{id}\"} 1\n\
                    # TYPE adsync_scheduler_is_leader gauge\n\
                    adsync_scheduler_is_leader 1\n";
        let exposition = parse_exposition(text).unwrap();
        assert_eq!(exposition.families.len(), 3);
        assert_eq!(
            exposition
                .samples_of("adsync_api_request_duration_seconds")
                .len(),
            3
        );
        assert_eq!(
            exposition.samples_of("adsync_worker_jobs_total")[0].labels["outcome"],
            "failed"
        );
    }

    #[test]
    fn broken_expositions_are_refused_with_the_line() {
        for (text, needle) in [
            ("adsync_x_total 1\n", "no # TYPE"),
            ("# TYPE a counter\na{b=\"c} 1\n", "unterminated"),
            ("# TYPE a counter\na{b=c} 1\n", "not quoted"),
            ("# TYPE a counter\na one\n", "not a number"),
            ("# TYPE a counter\n# TYPE a counter\n", "declared twice"),
            ("# TYPE a counter\na 1\na 2\n", "twice"),
            ("# TYPE a-b counter\n", "invalid metric name"),
        ] {
            let error = parse_exposition(text).unwrap_err();
            assert!(error.contains(needle), "{text:?}: {error}");
            assert!(error.starts_with("line "), "{error}");
        }
    }
}
