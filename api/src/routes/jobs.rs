//! `/v1/jobs`: job status for dashboards, newest first with cursor pagination, and one job
//! with its history.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shared::db::jobs::{self, CancelOutcome, Job, JobEvent, JobFilter, RetryOutcome};
use shared::domain::{AccountId, ConnectorKind, JobId, JobState, SyncId, TenantId, Trigger};

use super::{db, publish_now};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WindowView {
    start: NaiveDate,
    end: NaiveDate,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorView {
    class: String,
    message: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventView {
    #[schema(value_type = Option<String>)]
    from: Option<JobState>,
    #[schema(value_type = String)]
    to: JobState,
    reason: String,
    at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobView {
    #[schema(value_type = uuid::Uuid)]
    id: JobId,
    #[schema(value_type = uuid::Uuid)]
    tenant_id: TenantId,
    #[schema(value_type = uuid::Uuid)]
    sync_id: SyncId,
    #[schema(value_type = uuid::Uuid)]
    account_id: AccountId,
    #[schema(value_type = String)]
    connector: ConnectorKind,
    #[schema(value_type = String)]
    trigger: Trigger,
    #[schema(value_type = String)]
    state: JobState,
    state_reason: String,
    window: WindowView,
    attempt: i32,
    max_attempts: i32,
    run_after: DateTime<Utc>,
    rows_read: Option<i64>,
    rows_written: Option<i64>,
    api_calls: Option<i32>,
    error: Option<ErrorView>,
    cancel_requested_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<Vec<EventView>>,
}

impl JobView {
    pub(crate) fn from_job(job: Job, events: Option<Vec<JobEvent>>) -> Self {
        let error = match (job.error_class, job.error_message) {
            (Some(class), Some(message)) => Some(ErrorView { class, message }),
            _ => None,
        };
        Self {
            id: job.id,
            tenant_id: job.tenant_id,
            sync_id: job.sync_id,
            account_id: job.account_id,
            connector: job.connector,
            trigger: job.trigger,
            state: job.state,
            state_reason: job.state_reason,
            window: WindowView {
                start: job.window.start(),
                end: job.window.end(),
            },
            attempt: job.attempt,
            max_attempts: job.max_attempts,
            run_after: job.run_after,
            rows_read: job.rows_read,
            rows_written: job.rows_written,
            api_calls: job.api_calls,
            error,
            cancel_requested_at: job.cancel_requested_at,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            events: events.map(|events| {
                events
                    .into_iter()
                    .map(|event| EventView {
                        from: event.from_state,
                        to: event.to_state,
                        reason: event.reason,
                        at: event.at,
                    })
                    .collect()
            }),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[serde(default)]
    #[param(value_type = Option<String>)]
    state: Option<JobState>,
    #[serde(default)]
    #[param(value_type = Option<uuid::Uuid>)]
    sync_id: Option<SyncId>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    #[param(value_type = Option<uuid::Uuid>)]
    cursor: Option<JobId>,
    #[serde(default)]
    limit: Option<u16>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobPage {
    jobs: Vec<JobView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<uuid::Uuid>)]
    next_cursor: Option<JobId>,
}

const DEFAULT_LIMIT: u16 = 50;
const MAX_LIMIT: u16 = 500;

#[utoipa::path(
    get,
    path = "/v1/jobs",
    tag = "jobs",
    params(ListQuery),
    responses(
        (status = 200, description = "a page of jobs, newest first", body = JobPage),
        (status = 401, description = "missing or invalid API key, or bad signature", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field (the problem names it)", body = crate::error::Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<JobPage>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(shared::domain::InvalidField::new(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        )
        .into());
    }
    let filter = JobFilter {
        tenant_id: caller.scope(),
        state: query.state,
        sync_id: query.sync_id,
        before: query.cursor,
    };
    let client = db(&state).await?;
    let mut found = jobs::list(&client, &filter, i64::from(limit) + 1).await?;
    let next_cursor = if found.len() > usize::from(limit) {
        found.truncate(usize::from(limit));
        found.last().map(|job| job.id)
    } else {
        None
    };
    Ok(ApiJson(JobPage {
        jobs: found
            .into_iter()
            .map(|job| JobView::from_job(job, None))
            .collect(),
        next_cursor,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/jobs/{id}",
    tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "job id")),
    responses(
        (status = 200, description = "the job with its events", body = JobView),
        (status = 401, description = "missing or invalid API key, or bad signature", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "not found (or another tenant's)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field (the problem names it)", body = crate::error::Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<JobId>,
) -> Result<ApiJson<JobView>, ApiError> {
    let client = db(&state).await?;
    let job = jobs::get(&client, caller.scope(), id)
        .await?
        .ok_or(ApiError::NotFound("job"))?;
    let events = jobs::events(&client, id).await?;
    Ok(ApiJson(JobView::from_job(job, Some(events))))
}

/// Cancels a job that has not started (200), or asks the worker running it to stop between
/// pages (202). A finished job answers 409.
#[utoipa::path(
    post,
    path = "/v1/jobs/{id}/cancel",
    tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "job id")),
    responses(
        (status = 200, description = "the job, cancelled or cancelling", body = JobView),
        (status = 202, description = "the job, cancel requested", body = JobView),
        (status = 401, description = "missing or invalid API key, or bad signature", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "not found (or another tenant's)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field (the problem names it)", body = crate::error::Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = []))
)]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<JobId>,
) -> Result<(StatusCode, ApiJson<JobView>), ApiError> {
    let client = db(&state).await?;
    match jobs::cancel(&client, caller.scope(), id).await? {
        None => Err(ApiError::NotFound("job")),
        Some(CancelOutcome::Cancelled(job)) => {
            Ok((StatusCode::OK, ApiJson(JobView::from_job(job, None))))
        }
        Some(CancelOutcome::Requested(job)) => {
            Ok((StatusCode::ACCEPTED, ApiJson(JobView::from_job(job, None))))
        }
        Some(CancelOutcome::Finished(job)) => Err(ApiError::Conflict(format!(
            "the job already finished ({})",
            job.state
        ))),
    }
}

/// Runs a failed or cancelled job again, with fresh attempts.
#[utoipa::path(
    post,
    path = "/v1/jobs/{id}/retry",
    tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "job id")),
    responses(
        (status = 202, description = "the job, queued again", body = JobView),
        (status = 401, description = "missing or invalid API key, or bad signature", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "not found (or another tenant's)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field (the problem names it)", body = crate::error::Problem, content_type = "application/problem+json")
    ),
    security(("api_key" = []))
)]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<JobId>,
) -> Result<(StatusCode, ApiJson<JobView>), ApiError> {
    let client = db(&state).await?;
    match jobs::retry(&client, caller.scope(), id).await? {
        None => Err(ApiError::NotFound("job")),
        Some(RetryOutcome::Retried(job)) => {
            let job = publish_now(&state, &client, *job).await?;
            Ok((StatusCode::ACCEPTED, ApiJson(JobView::from_job(job, None))))
        }
        Some(RetryOutcome::NotRetryable(state)) => Err(ApiError::Conflict(format!(
            "only failed or cancelled jobs can be retried; this one is {state}"
        ))),
        Some(RetryOutcome::Conflict) => Err(ApiError::Conflict(
            "another job of the same sync is active".to_string(),
        )),
    }
}
