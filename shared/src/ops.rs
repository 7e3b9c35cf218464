//! The operations endpoints every process serves: `/healthz` (alive), `/readyz` (PostgreSQL
//! and, where used, RabbitMQ reachable) and `/metrics` (Prometheus text format).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus::{Encoder, TextEncoder};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::db::{self, Pool};
use crate::queue::BrokerStatus;

/// What `/readyz` checks.
#[derive(Clone)]
pub struct Readiness {
    inner: Arc<ReadinessInner>,
}

struct ReadinessInner {
    pool: Pool,
    broker: Option<BrokerStatus>,
}

impl Readiness {
    pub fn new(pool: Pool, broker: Option<BrokerStatus>) -> Self {
        Self {
            inner: Arc::new(ReadinessInner { pool, broker }),
        }
    }

    /// `Ok` when every dependency answers; otherwise the names of those that do not.
    pub async fn check(&self) -> Result<(), String> {
        let mut down = Vec::new();
        if db::ping(&self.inner.pool).await.is_err() {
            down.push("postgres");
        }
        if let Some(broker) = &self.inner.broker
            && !broker.is_connected()
        {
            down.push("rabbitmq");
        }
        if down.is_empty() {
            Ok(())
        } else {
            Err(down.join(", "))
        }
    }
}

/// `/healthz`, `/readyz` and `/metrics` (the process-wide default registry).
pub fn router(readiness: Readiness) -> Router {
    router_with(readiness, None)
}

/// Like [`router`]; `/metrics` also serves `registry`, the metrics of one application that
/// keeps its own (so two in one process, as in tests, do not share counters).
pub fn router_with(readiness: Readiness, registry: Option<prometheus::Registry>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(Endpoints {
            readiness,
            registry,
        })
}

#[derive(Clone)]
struct Endpoints {
    readiness: Readiness,
    registry: Option<prometheus::Registry>,
}

async fn ready(State(endpoints): State<Endpoints>) -> impl IntoResponse {
    match endpoints.readiness.check().await {
        Ok(()) => (StatusCode::OK, "ready".to_string()),
        Err(down) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unavailable: {down}"),
        ),
    }
}

async fn metrics(State(endpoints): State<Endpoints>) -> impl IntoResponse {
    let mut body = Vec::new();
    let encoder = TextEncoder::new();
    let mut families = prometheus::gather();
    if let Some(registry) = &endpoints.registry {
        families.extend(registry.gather());
        families.sort_by(|a, b| a.name().cmp(b.name()));
    }
    if let Err(error) = encoder.encode(&families, &mut body) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain".to_string())],
            format!("cannot encode metrics: {error}").into_bytes(),
        );
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, encoder.format_type().to_string())],
        body,
    )
}

/// Serves `router` on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
