//! Routes by resource, one module each, assembled into the `/v1` router here.

pub mod accounts;
pub mod api_keys;
pub mod connections;
pub mod data_rights;
pub mod destinations;
pub mod jobs;
pub mod oauth;
pub mod openapi;
pub mod stats;
pub mod syncs;
pub mod tenants;
pub mod webhooks;

use axum::Router;
use axum::routing::{delete, get, post};

use crate::error::ApiError;
use crate::state::AppState;

pub fn v1() -> Router<AppState> {
    Router::new()
        .route("/v1/tenants", post(tenants::create).get(tenants::list))
        .route("/v1/tenants/{id}", get(tenants::get).patch(tenants::update))
        .route("/v1/api_keys", post(api_keys::create).get(api_keys::list))
        .route("/v1/api_keys/{id}", delete(api_keys::revoke))
        .route(
            "/v1/connections",
            post(connections::create).get(connections::list),
        )
        .route(
            "/v1/connections/{id}",
            get(connections::get).delete(connections::delete),
        )
        .route(
            "/v1/connections/{id}/accounts/discover",
            post(connections::discover),
        )
        .route(
            "/v1/connections/{platform}/authorize",
            post(oauth::authorize),
        )
        .route(
            "/v1/connections/callback",
            get(oauth::callback_get).post(oauth::callback_post),
        )
        .route("/v1/accounts", post(accounts::create).get(accounts::list))
        .route("/v1/accounts/{id}", get(accounts::get))
        .route(
            "/v1/destinations",
            post(destinations::create).get(destinations::list),
        )
        .route("/v1/destinations/{id}", get(destinations::get))
        .route("/v1/syncs", post(syncs::create).get(syncs::list))
        .route("/v1/syncs/{id}", get(syncs::get))
        .route("/v1/syncs/{id}/run", post(syncs::run))
        .route("/v1/syncs/{id}/backfill", post(syncs::backfill))
        .route(
            "/v1/syncs/{id}/webhook",
            post(webhooks::create).delete(webhooks::delete),
        )
        .route("/v1/hooks/{sync_id}", post(webhooks::trigger))
        .route("/openapi.json", get(openapi::serve))
        .route("/v1/jobs", get(jobs::list))
        .route("/v1/jobs/{id}", get(jobs::get))
        .route("/v1/jobs/{id}/cancel", post(jobs::cancel))
        .route("/v1/jobs/{id}/retry", post(jobs::retry))
        .route("/v1/stats", get(stats::get))
        .route("/v1/tenant", delete(data_rights::delete))
        .route("/v1/tenant/export", get(data_rights::export))
}

/// Any path no route serves: a problem document, like every other error.
pub(crate) async fn unknown_route() -> ApiError {
    ApiError::NotFound("route")
}

/// A route asked with a method it does not take.
pub(crate) async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

/// A pooled database connection, or 503.
pub(crate) async fn db(state: &AppState) -> Result<shared::db::Object, ApiError> {
    Ok(state.pool.get().await.map_err(shared::db::DbError::from)?)
}

/// Publishes a just-created (or re-opened) pending job and marks it queued. If publishing
/// fails, the job stays pending and the scheduler's relay publishes it; the caller still
/// succeeds. Returns the job as it is now.
pub(crate) async fn publish_now(
    state: &AppState,
    client: &shared::db::Object,
    job: shared::db::jobs::Job,
) -> Result<shared::db::jobs::Job, ApiError> {
    let dispatch = shared::db::jobs::Dispatch::of(&job);
    match state.publisher.publish_jobs(&[dispatch]).await {
        Ok(()) => {
            shared::db::jobs::mark_queued(client, &[job.id]).await?;
        }
        Err(error) => {
            tracing::warn!(%error, job_id = %job.id, "publish failed; the relay will publish the job");
        }
    }
    Ok(shared::db::jobs::get(client, Some(job.tenant_id), job.id)
        .await?
        .unwrap_or(job))
}
