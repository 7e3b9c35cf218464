//! The adsync HTTP API: tenants, API keys, connections, accounts, destinations, syncs and jobs
//! under `/v1`, plus `/healthz`, `/readyz` and `/metrics`.
//!
//! Layout, in reading order:
//! - [`routes`]: one module per resource;
//! - [`auth`]: bearer API keys (tenant keys hashed, operator key from config);
//! - [`error`]: problem documents and extractors whose rejections name the field;
//! - [`state`]: what handlers share; [`metrics`]: request metrics.
//!
//! Not here: queue consumption and report reads (worker), scheduling (scheduler); platforms
//! are reached only through the `connectors` crate (OAuth, account discovery).

pub mod auth;
pub mod error;
pub mod metrics;
pub mod routes;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use shared::Config;
use shared::crypto::KeyRing;
use shared::ops::{self, Readiness};
use shared::queue::Publisher;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

use crate::state::AppState;

/// The API bound to its listener, ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Connects to PostgreSQL and RabbitMQ and binds `api.listen` (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = shared::db::pool(&config.database)?;
        let keys = KeyRing::from_config(&config.crypto)?;
        let publisher = Publisher::connect(&config.rabbitmq, "adsync-api", Duration::from_secs(60))
            .await
            .context("connecting to rabbitmq")?;
        let operator_key_hash = (!config.api.operator_key.is_empty())
            .then(|| auth::hash_key(config.api.operator_key.expose()));
        let connectors = connectors::Settings::load(&config.connectors)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("adsync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .context("building the HTTP client")?;
        let readiness = Readiness::new(pool.clone(), Some(publisher.status()));
        let listener = TcpListener::bind(config.api.listen)
            .await
            .with_context(|| format!("binding api.listen {}", config.api.listen))?;
        let state = AppState {
            pool,
            keys,
            publisher,
            config: Arc::new(config),
            connectors: Arc::new(connectors),
            http,
            operator_key_hash,
            readiness: readiness.clone(),
        };
        let metrics = metrics::Metrics::new().context("registering the api's metrics")?;
        let router = routes::v1()
            .fallback(routes::unknown_route)
            .method_not_allowed_fallback(routes::method_not_allowed)
            .layer(axum::extract::DefaultBodyLimit::max(
                error::BODY_LIMIT_BYTES,
            ))
            .with_state(state)
            .merge(ops::router_with(
                readiness,
                Some(metrics.registry().clone()),
            ))
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(metrics),
                metrics::record,
            ))
            .layer(TraceLayer::new_for_http().make_span_with(request_span));
        Ok(Self { listener, router })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` is cancelled, finishing requests in flight.
    pub async fn serve(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(address = %self.local_addr()?, "api listening");
        ops::serve(self.listener, self.router, shutdown).await?;
        Ok(())
    }
}

/// The span of one request: method, matched route template and path. The query string is
/// left out, since an OAuth callback carries the authorisation code there. Jobs created while
/// it is current remember its trace (`jobs.traceparent`), so the worker's execution joins it.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |path| path.as_str());
    tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route,
        path = %request.uri().path(),
    )
}

/// Builds and serves the API until `shutdown` is cancelled.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    Application::build(config).await?.serve(shutdown).await
}

/// Secrets re-sealed per transaction by [`rotate_keys`].
const ROTATION_BATCH: u32 = 500;

/// Re-seals every stored secret (connection tokens, destination credentials, webhook secrets)
/// under the active key, in batches; idempotent and resumable (the `api rotate-keys` command).
/// It lives in the `api` binary beside `api migrate`: both are one-off maintenance commands
/// run as a Kubernetes Job from the image and configuration the API already has, keys
/// included; the scheduler and worker stay long-running loops.
pub async fn rotate_keys(
    config: &Config,
) -> anyhow::Result<shared::db::key_rotation::RotationReport> {
    let pool = shared::db::pool(&config.database)?;
    let keys = KeyRing::from_config(&config.crypto).context("loading crypto.keys")?;
    shared::db::key_rotation::rotate(&pool, &keys, ROTATION_BATCH)
        .await
        .context("re-sealing secrets under the active key")
}

/// Applies the database migrations (the `api migrate` command, and the Kubernetes Job).
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let pool = shared::db::pool(&config.database)?;
    shared::db::migrate(&pool)
        .await
        .context("migrating the database")?;
    Ok(())
}
