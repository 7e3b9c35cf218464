//! `GET /v1/stats`: the figures a dashboard polls — jobs by state and connector, queue depth
//! per queue, the oldest waiting job, throttled rate budgets and the usage the platforms
//! report, credentials needing re-authorisation, and the last hour's failures by error class. A tenant key sees its own
//! tenant; the operator key sees every tenant and the broker's queues.
//!
//! How each figure stays cheap with millions of jobs is explained in `shared::db::stats`.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::db::stats::{self, FINISHED_WINDOW_HOURS};
use shared::domain::TenantId;

use super::db;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobCountView {
    state: String,
    connector: String,
    count: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueueView {
    name: String,
    /// Messages waiting; `null` if the broker did not answer for this queue.
    messages: Option<u32>,
    consumers: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FailureView {
    error_class: String,
    connector: String,
    count: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ThrottledView {
    key: String,
    blocked_until: DateTime<Utc>,
    usage_percent: Option<f64>,
}

/// A rate budget whose platform reported its usage in the last hour (Meta's usage headers).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsageView {
    key: String,
    /// The platform's own figure for how much of this budget's quota is used, in percent; at
    /// or above `connectors.slow_down_at_usage_percent` adsync paces requests at the refill rate.
    usage_percent: f64,
    reported_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReauthView {
    /// `connection` or `destination`.
    kind: &'static str,
    id: uuid::Uuid,
    #[schema(value_type = uuid::Uuid)]
    tenant_id: TenantId,
    /// The connector of a connection, the kind of a destination.
    platform: String,
    name: String,
    reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatsView {
    generated_at: DateTime<Utc>,
    /// Active jobs (pending, queued, running) now, and finished jobs (succeeded, failed,
    /// cancelled) that finished in the last `finished_window_hours`.
    jobs: Vec<JobCountView>,
    finished_window_hours: i64,
    /// Age of the oldest job waiting to run (pending or queued), in seconds.
    oldest_waiting_job_age_secs: Option<f64>,
    /// Depth of every job queue and the dead-letter queue (operator key only: queues are
    /// shared by every tenant). `null` for a tenant key, or if the broker is unreachable.
    queues: Option<Vec<QueueView>>,
    failures_last_hour: Vec<FailureView>,
    throttled_budgets: Vec<ThrottledView>,
    /// Rate budgets whose platform reported its usage in the last hour, busiest first.
    budget_usage: Vec<UsageView>,
    needs_reauth: Vec<ReauthView>,
}

#[utoipa::path(
    get,
    path = "/v1/stats",
    operation_id = "get_stats",
    tag = "stats",
    responses(
        (status = 200, description = "dashboard figures: the caller's tenant, or every tenant and the queues for the operator", body = StatsView)
    ),
    security(("api_key" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<StatsView>, ApiError> {
    let now = Utc::now();
    let client = db(&state).await?;
    let queues = async {
        if caller.scope().is_some() {
            return None;
        }
        match state.publisher.queue_depths().await {
            Ok(depths) => Some(depths),
            Err(error) => {
                tracing::warn!(%error, "queue depths unavailable");
                None
            }
        }
    };
    let (figures, queues) = tokio::join!(stats::read(&client, caller.scope(), now), queues);
    let figures = figures?;
    Ok(ApiJson(StatsView {
        generated_at: now,
        jobs: figures
            .jobs
            .into_iter()
            .map(|count| JobCountView {
                state: count.state,
                connector: count.connector,
                count: count.count,
            })
            .collect(),
        finished_window_hours: FINISHED_WINDOW_HOURS,
        oldest_waiting_job_age_secs: figures
            .oldest_waiting_since
            .map(|since| ((now - since).num_milliseconds().max(0)) as f64 / 1000.0),
        queues: queues.map(|depths| {
            depths
                .into_iter()
                .map(|depth| QueueView {
                    name: depth.name,
                    messages: depth.messages,
                    consumers: depth.consumers,
                })
                .collect()
        }),
        failures_last_hour: figures
            .failures_last_hour
            .into_iter()
            .map(|failure| FailureView {
                error_class: failure.error_class,
                connector: failure.connector,
                count: failure.count,
            })
            .collect(),
        throttled_budgets: figures
            .throttled_budgets
            .into_iter()
            .map(|budget| ThrottledView {
                key: budget.key,
                blocked_until: budget.blocked_until,
                usage_percent: budget.usage_percent,
            })
            .collect(),
        budget_usage: figures
            .budget_usage
            .into_iter()
            .map(|usage| UsageView {
                key: usage.key,
                usage_percent: usage.usage_percent,
                reported_at: usage.reported_at,
            })
            .collect(),
        needs_reauth: figures
            .needs_reauth
            .into_iter()
            .map(|item| ReauthView {
                kind: item.kind,
                id: item.id,
                tenant_id: item.tenant_id,
                platform: item.platform,
                name: item.name,
                reason: item.reason,
            })
            .collect(),
    }))
}
