//! `/v1/jobs`: job status for dashboards, newest first with cursor pagination, and one job
//! with its history.

use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shared::db::jobs::{self, CancelOutcome, Job, JobEvent, JobFilter, JobPosition, RetryOutcome};
use shared::domain::{
    AccountId, ConnectorKind, InvalidField, JobId, JobState, SyncId, TenantId, Timestamp, Trigger,
};

use super::openapi::{problems, schemas};
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
    #[schema(schema_with = schemas::connector)]
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

/// The filters and page of `GET /v1/jobs`, parsed parameter by parameter so a bad one is
/// named in the answer.
#[derive(Debug, Default)]
struct ListQuery {
    filter: JobFilter,
    limit: u16,
}

fn invalid(parameter: &str, message: impl Into<String>) -> ApiError {
    InvalidField::new(parameter, message).into()
}

fn parse_param<T: std::str::FromStr>(name: &str, value: &str, what: &str) -> Result<T, ApiError> {
    value
        .parse()
        .map_err(|_| invalid(name, format!("must be {what}")))
}

fn parse_time(name: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    Ok(Timestamp::parse(name, value)?.instant())
}

impl ListQuery {
    fn parse(pairs: Vec<(String, String)>) -> Result<Self, ApiError> {
        let mut query = ListQuery {
            limit: DEFAULT_LIMIT,
            ..ListQuery::default()
        };
        let mut seen: Vec<String> = Vec::new();
        for (name, value) in pairs {
            if seen.contains(&name) {
                return Err(invalid(&name, "is given more than once"));
            }
            seen.push(name.clone());
            let filter = &mut query.filter;
            match name.as_str() {
                "state" => {
                    filter.state = Some(parse_param(
                        &name,
                        &value,
                        "one of pending, queued, running, succeeded, failed, cancelled",
                    )?)
                }
                "sync_id" => filter.sync_id = Some(parse_param(&name, &value, "a UUID")?),
                "account_id" => filter.account_id = Some(parse_param(&name, &value, "a UUID")?),
                "connector" => {
                    let names: Vec<&str> = ConnectorKind::ALL
                        .iter()
                        .map(|kind| kind.as_str())
                        .collect();
                    filter.connector = Some(parse_param(
                        &name,
                        &value,
                        &format!("one of {}", names.join(", ")),
                    )?)
                }
                "created_after" => filter.created_after = Some(parse_time(&name, &value)?),
                "created_before" => filter.created_before = Some(parse_time(&name, &value)?),
                "cursor" => filter.after = Some(decode_cursor(&value)?),
                "limit" => {
                    let (min, max) = LIMIT;
                    query.limit = value
                        .parse()
                        .ok()
                        .filter(|limit| (min..=max).contains(limit))
                        .ok_or_else(|| invalid(&name, format!("must be between {min} and {max}")))?
                }
                _ => {
                    return Err(invalid(
                        &name,
                        "is not a parameter of this route (state, sync_id, account_id, \
                         connector, created_after, created_before, cursor, limit)",
                    ));
                }
            }
        }
        if let (Some(after), Some(before)) =
            (query.filter.created_after, query.filter.created_before)
            && after >= before
        {
            return Err(invalid(
                "created_before",
                "must be later than created_after",
            ));
        }
        Ok(query)
    }
}

/// The cursor is opaque to callers: the last job's `created_at` (microseconds since the epoch)
/// and id, base64url-encoded. Clients must not build it; its shape may change.
fn encode_cursor(position: JobPosition) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{}.{}",
        position.created_at.timestamp_micros(),
        position.id
    ))
}

fn decode_cursor(cursor: &str) -> Result<JobPosition, ApiError> {
    let bad = || invalid("cursor", "is not a cursor this API returned");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (micros, id) = text.split_once('.').ok_or_else(bad)?;
    let created_at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    let id = id.parse::<JobId>().map_err(|_| bad())?;
    Ok(JobPosition { created_at, id })
}

/// The query parameters of `GET /v1/jobs`, as documented. They are parsed one by one
/// ([`ListQuery::parse`]) so a bad one is named in the answer.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
// Only its schema is used: the fields document the parameters for OpenAPI.
#[allow(dead_code)]
pub struct ListParams {
    #[param(schema_with = schemas::job_state)]
    state: Option<String>,
    sync_id: Option<uuid::Uuid>,
    account_id: Option<uuid::Uuid>,
    #[param(schema_with = schemas::connector)]
    connector: Option<String>,
    /// Jobs created at or after this instant (RFC 3339).
    #[param(format = DateTime)]
    created_after: Option<String>,
    /// Jobs created before this instant (RFC 3339); later than `created_after`.
    #[param(format = DateTime)]
    created_before: Option<String>,
    /// The `next_cursor` of the previous page (opaque).
    cursor: Option<String>,
    #[param(schema_with = schemas::limit)]
    limit: Option<u16>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobPage {
    jobs: Vec<JobView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

const DEFAULT_LIMIT: u16 = 50;

/// The fewest and most jobs a page may hold.
pub const LIMIT: (u16, u16) = (1, 500);

/// Jobs newest first (`created_at`, then id), filtered by state, sync, account, connector and
/// creation time, a page at a time.
#[utoipa::path(
    get,
    path = "/v1/jobs",
    operation_id = "list_jobs",
    tag = "jobs",
    params(ListParams),
    responses(
        (status = 200, description = "a page of jobs, newest first", body = JobPage)
    ),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<ApiJson<JobPage>, ApiError> {
    let ListQuery { mut filter, limit } = ListQuery::parse(pairs)?;
    filter.tenant_id = caller.scope();
    let client = db(&state).await?;
    let mut found = jobs::list(&client, &filter, i64::from(limit) + 1).await?;
    let next_cursor = if found.len() > usize::from(limit) {
        found.truncate(usize::from(limit));
        found.last().map(|job| encode_cursor(job.position()))
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
    operation_id = "get_job",
    tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "job id")),
    responses(
        (status = 200, description = "the job with its events", body = JobView),
        (status = 404, response = problems::NotFound)
    ),
    security(("api_key" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<JobId>,
) -> Result<ApiJson<JobView>, ApiError> {
    let client = db(&state).await?;
    // Both statements go out together (pipelined on one connection): one round trip. The
    // events are only shown if the job is the caller's.
    let (job, events) = tokio::try_join!(
        jobs::get(&client, caller.scope(), id),
        jobs::events(&client, id)
    )?;
    let job = job.ok_or(ApiError::NotFound("job"))?;
    Ok(ApiJson(JobView::from_job(job, Some(events))))
}

/// Cancels a job that has not started (200), or asks the worker running it to stop between
/// pages (202). A finished job answers 409.
#[utoipa::path(
    post,
    path = "/v1/jobs/{id}/cancel",
    operation_id = "cancel_job",
    tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "job id")),
    responses(
        (status = 200, description = "the job, cancelled or cancelling", body = JobView),
        (status = 202, description = "the job, cancel requested", body = JobView),
        (status = 404, response = problems::NotFound),
        (status = 409, response = problems::Conflict)
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
    operation_id = "retry_job",
    tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "job id")),
    responses(
        (status = 202, description = "the job, queued again", body = JobView),
        (status = 404, response = problems::NotFound),
        (status = 409, response = problems::Conflict)
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
