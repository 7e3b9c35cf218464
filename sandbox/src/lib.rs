//! A local imitation of the ad platforms' HTTP APIs, in their real wire formats, so that adsync
//! runs and is tested without the internet or real credentials.
//!
//! Each platform is served under `/<connector>`: Meta's
//! `https://graph.facebook.com/v24.0/act_1/insights` becomes
//! `http://127.0.0.1:PORT/meta_ads/v24.0/act_1/insights`. Data is deterministic (a function of the
//! account, the date and the object), rate limits and usage headers behave like the platform's,
//! faults can be injected per test, and every request is recorded; requests to routes the
//! sandbox does not know are recorded as failures. `/_sandbox/...` is the control API.
//!
//! The sandbox depends on no crate of ours: it is an independent model of each platform, so a
//! wrong idea of a wire format in the worker cannot be mirrored here.
//!
//! # Layout
//!
//! In reading order: `state` ([`Sandbox`], [`SandboxConfig`], the clock), `connector` (the
//! registry: `for_each_api!`, the one list of imitated APIs), `faults` (faults on demand),
//! `requests` (the request log and the middleware that fills it), `tokens` (issued OAuth tokens:
//! expiry, refresh, revocation), `control` (the `/_sandbox` HTTP API), `platforms` (the dispatch
//! over connectors, generated from the registry), one module per platform ([`meta_ads`],
//! [`google_ads`], [`tiktok_ads`], [`snapchat_ads`], [`appsflyer`], [`google_sheets`]), `facts`
//! (what every platform's world is made of: currencies, campaign starts, additive metrics), and
//! the helpers `limits` (rolling-window call counters), `restatement` (numbers that settle over
//! days), `wire` (response writing), `decimal` (number rendering) and `rng` (stable hashing).
//! A platform module owns its wire format, its errors and its data, split into its
//! `vocabulary`, its generated `world` and its `truth`; nothing platform-specific belongs
//! in the shared modules beyond mounting a router and naming a connector.

pub mod appsflyer;
mod connector;
mod control;
mod decimal;
mod facts;
mod faults;
pub mod google_ads;
mod google_oauth;
pub mod google_sheets;
mod limits;
pub mod meta_ads;
mod platforms;
mod requests;
mod restatement;
mod rng;
pub mod snapchat_ads;
mod state;
pub mod tiktok_ads;
mod tokens;
mod wire;

use std::future::Future;

use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::Response;
use serde_json::json;

pub use connector::{Connector, UnknownConnector};
pub use facts::AccountSummary;
pub use faults::{Fault, FaultId, FaultKind, PendingFault, UnknownFaultKind};
pub use requests::RequestRecord;
pub use state::{AccountTimeZone, Sandbox, SandboxConfig};
pub use tokens::{IssuedTokens, RefreshRefused, TokenStatus};

/// The whole sandbox as an axum router: every platform under its prefix, the control API under
/// `/_sandbox`, a recording fallback for everything else.
pub fn router(sandbox: Sandbox) -> Router {
    Router::new()
        .merge(platforms::routers())
        .nest("/_sandbox", control::router())
        .fallback(unknown_route)
        .method_not_allowed_fallback(unknown_route)
        .layer(middleware::from_fn_with_state(
            sandbox.clone(),
            requests::record,
        ))
        .with_state(sandbox)
}

/// Serves the sandbox on `listener` until `shutdown` completes.
///
/// Bind the listener first (`127.0.0.1:0` in tests) and read its address, so nothing races for
/// a port.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sandbox: Sandbox,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(sandbox))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Any request no route matched: answered in the platform's style if it is under a platform
/// prefix, and recorded as an unknown route either way.
async fn unknown_route(State(sandbox): State<Sandbox>, OriginalUri(uri): OriginalUri) -> Response {
    let path = uri.path();
    match Connector::for_path(path) {
        Some(connector) => platforms::unknown_route(connector, &sandbox, path),
        None => requests::UnknownRoute { connector: None }.attach(wire::json(
            StatusCode::NOT_FOUND,
            &json!({
                "error": format!(
                    "the sandbox has no route {path}; platforms are served under /<connector>, e.g. /meta_ads"
                )
            }),
        )),
    }
}
