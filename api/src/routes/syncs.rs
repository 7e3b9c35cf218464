//! `/v1/syncs`: recurring intents, `POST /v1/syncs/{id}/run` for a run now, and
//! `POST /v1/syncs/{id}/backfill` for history.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::db::jobs::{self, Enqueued, NewJob};
use shared::db::syncs::{self, NewSync, SyncDefinition};
use shared::db::{accounts, destinations};
use shared::domain::schedule::local_date;
use shared::domain::{
    AccountId, ConnectorKind, DateWindow, Day, DestinationId, InvalidField, RawReport, ReportSpec,
    Schedule, SyncId, Trigger,
};

use super::jobs::JobView;
use super::openapi::{problems, schemas};
use super::{db, publish_now};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, object, optional_int};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    #[serde(default)]
    #[schema(schema_with = schemas::stream)]
    stream: Option<String>,
    #[schema(schema_with = schemas::level)]
    level: String,
    #[serde(default)]
    #[schema(schema_with = schemas::metric_list)]
    metrics: Vec<String>,
    #[serde(default)]
    #[schema(schema_with = schemas::breakdown_list)]
    breakdowns: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// Five fields: minute hour day-of-month month day-of-week.
    cron: String,
    #[serde(default)]
    #[schema(schema_with = schemas::optional_time_zone)]
    time_zone: Option<String>,
}

/// Days a fresh run re-reads unless the sync says otherwise: yesterday's late numbers, today's
/// partial day and the day before.
const DEFAULT_FRESH_DAYS: i32 = 3;

/// How far back a backfill may reach: the platforms keep about 37 months of reporting history.
const BACKFILL_MAX_DAYS: i64 = 1_110;

/// The fewest and most days a sync's lookback (and fresh) window may have.
pub const LOOKBACK_DAYS: (i32, i32) = (1, 400);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSync {
    #[schema(value_type = uuid::Uuid)]
    account_id: AccountId,
    #[schema(value_type = uuid::Uuid)]
    destination_id: DestinationId,
    #[serde(deserialize_with = "object")]
    report: ReportBody,
    #[serde(deserialize_with = "object")]
    schedule: ScheduleBody,
    /// Days the daily lookback run re-reads, ending today; defaults to the platform's
    /// restatement horizon.
    #[serde(default, deserialize_with = "optional_int")]
    #[schema(schema_with = schemas::lookback_days)]
    lookback_days: Option<i32>,
    /// Days the other scheduled runs re-read, ending today; at most `lookback_days`; 3 (or
    /// `lookback_days` if fewer) when absent.
    #[serde(default, deserialize_with = "optional_int")]
    #[schema(schema_with = schemas::fresh_days)]
    fresh_days: Option<i32>,
    /// true when absent.
    #[serde(default)]
    enabled: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScheduleView {
    cron: String,
    time_zone: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SyncView {
    #[schema(value_type = uuid::Uuid)]
    id: SyncId,
    #[schema(value_type = uuid::Uuid)]
    account_id: AccountId,
    #[schema(value_type = uuid::Uuid)]
    destination_id: DestinationId,
    #[schema(schema_with = schemas::connector)]
    connector: ConnectorKind,
    #[schema(value_type = Object)]
    report: ReportSpec,
    schedule: ScheduleView,
    fresh_days: i32,
    lookback_days: i32,
    enabled: bool,
    paused_reason: Option<String>,
    next_run_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<SyncDefinition> for SyncView {
    fn from(sync: SyncDefinition) -> Self {
        Self {
            id: sync.id,
            account_id: sync.account_id,
            destination_id: sync.destination_id,
            connector: sync.connector,
            report: sync.report,
            schedule: ScheduleView {
                cron: sync.cron,
                time_zone: sync.time_zone,
            },
            fresh_days: sync.fresh_days,
            lookback_days: sync.lookback_days,
            enabled: sync.enabled,
            paused_reason: sync.paused_reason,
            next_run_at: sync.next_run_at,
            created_at: sync.created_at,
            updated_at: sync.updated_at,
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/syncs",
    operation_id = "create_sync",
    tag = "syncs",
    request_body = CreateSync,
    responses(
        (status = 201, description = "the sync", body = SyncView),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        (status = 409, response = problems::Conflict)
    ),
    security(("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateSync>,
) -> Result<(StatusCode, ApiJson<SyncView>), ApiError> {
    let tenant = caller.tenant()?;
    let client = db(&state).await?;
    let account = accounts::get(&client, tenant, body.account_id)
        .await?
        .ok_or(ApiError::NotFound("account"))?;
    let destination = destinations::get(&client, tenant, body.destination_id)
        .await?
        .ok_or(ApiError::NotFound("destination"))?;
    if destination.kind.takes_one_sync()
        && destinations::sync_count(&client, tenant, destination.id).await? > 0
    {
        return Err(ApiError::Conflict(
            "this spreadsheet tab already receives another sync's rows; create a destination with another tab".into(),
        ));
    }
    let report = connectors::catalogue(account.connector).parse_report(RawReport {
        stream: body.report.stream.as_deref(),
        level: &body.report.level,
        metrics: &body.report.metrics,
        breakdowns: &body.report.breakdowns,
    })?;
    let time_zone = body.schedule.time_zone.unwrap_or(account.time_zone);
    let schedule = Schedule::parse(&body.schedule.cron, &time_zone)
        .map_err(|error| InvalidField::new(format!("schedule.{}", error.field), error.message))?;
    let (min_days, max_days) = LOOKBACK_DAYS;
    let lookback_days = match body.lookback_days {
        Some(days) if !(min_days..=max_days).contains(&days) => {
            return Err(InvalidField::new(
                "lookback_days",
                format!("must be between {min_days} and {max_days}"),
            )
            .into());
        }
        Some(days) => days,
        None => connectors::catalogue(account.connector).default_lookback_days as i32,
    };
    let fresh_days = match body.fresh_days {
        Some(days) if !(min_days..=lookback_days).contains(&days) => {
            return Err(InvalidField::new(
                "fresh_days",
                format!("must be between {min_days} and lookback_days ({lookback_days})"),
            )
            .into());
        }
        Some(days) => days,
        None => DEFAULT_FRESH_DAYS.min(lookback_days),
    };
    let next_run_at = schedule
        .next_after(Utc::now())
        .ok_or_else(|| InvalidField::new("schedule.cron", "never fires"))?;
    let sync = syncs::insert(
        &client,
        NewSync {
            tenant_id: tenant,
            account_id: account.id,
            destination_id: body.destination_id,
            connector: account.connector,
            report: &report,
            cron: body.schedule.cron.trim(),
            time_zone: &time_zone,
            fresh_days,
            lookback_days,
            enabled: body.enabled.unwrap_or(true),
            next_run_at,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(sync.into())))
}

#[utoipa::path(
    get,
    path = "/v1/syncs",
    operation_id = "list_syncs",
    tag = "syncs",
    responses(
        (status = 200, description = "the tenant's syncs", body = Vec<SyncView>),
        (status = 403, response = problems::Forbidden)
    ),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<Vec<SyncView>>, ApiError> {
    let tenant = caller.tenant()?;
    let client = db(&state).await?;
    let list = syncs::list(&client, tenant).await?;
    Ok(ApiJson(list.into_iter().map(SyncView::from).collect()))
}

#[utoipa::path(
    get,
    path = "/v1/syncs/{id}",
    operation_id = "get_sync",
    tag = "syncs",
    params(("id" = uuid::Uuid, Path, description = "sync id")),
    responses(
        (status = 200, description = "the sync", body = SyncView),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound)
    ),
    security(("api_key" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<SyncId>,
) -> Result<ApiJson<SyncView>, ApiError> {
    let tenant = caller.tenant()?;
    let client = db(&state).await?;
    syncs::get(&client, tenant, id)
        .await?
        .map(|sync| ApiJson(sync.into()))
        .ok_or(ApiError::NotFound("sync"))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunAnswer {
    /// `false` when the sync already had an active job, which is returned instead.
    created: bool,
    job: JobView,
}

/// Starts a run of the sync now, or returns its active job (debounce).
#[utoipa::path(
    post,
    path = "/v1/syncs/{id}/run",
    operation_id = "run_sync",
    tag = "syncs",
    params(("id" = uuid::Uuid, Path, description = "sync id")),
    responses(
        (status = 202, description = "a run was created", body = RunAnswer),
        (status = 200, description = "the sync's active run job (debounce)", body = RunAnswer),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        (status = 409, response = problems::Conflict)
    ),
    security(("api_key" = []))
)]
pub async fn run(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<SyncId>,
) -> Result<(StatusCode, ApiJson<RunAnswer>), ApiError> {
    let tenant = caller.tenant()?;
    let client = db(&state).await?;
    let sync = syncs::get(&client, tenant, id)
        .await?
        .ok_or(ApiError::NotFound("sync"))?;
    let enqueued = enqueue_run(&state, &client, &sync, Trigger::Manual).await?;
    run_answer(&state, &client, enqueued).await
}

/// Inserts a run of `sync` now, unless it has an active run job already (one dedup key per
/// sync, so bursts of runs and webhook calls collapse into the one active job).
pub(crate) async fn enqueue_run(
    state: &AppState,
    client: &impl shared::db::GenericClient,
    sync: &SyncDefinition,
    trigger: Trigger,
) -> Result<Enqueued, ApiError> {
    if let Some(reason) = &sync.paused_reason {
        return Err(ApiError::Conflict(format!("the sync is paused: {reason}")));
    }
    let new = NewJob {
        tenant_id: sync.tenant_id,
        sync_id: sync.id,
        account_id: sync.account_id,
        connector: sync.connector,
        trigger,
        window: sync.window_at(Utc::now()),
        max_attempts: i32::from(state.config.jobs.max_attempts),
        run_after: Utc::now(),
        dedup_key: NewJob::run_key(sync.id),
    };
    Ok(jobs::insert(client, &new).await?)
}

/// Publishes a created run and answers 202, or answers the active job with 200.
pub(crate) async fn run_answer(
    state: &AppState,
    client: &shared::db::Object,
    enqueued: Enqueued,
) -> Result<(StatusCode, ApiJson<RunAnswer>), ApiError> {
    match enqueued {
        Enqueued::Created(job) => {
            let job = publish_now(state, client, job).await?;
            Ok((
                StatusCode::ACCEPTED,
                ApiJson(RunAnswer {
                    created: true,
                    job: JobView::from_job(job, None),
                }),
            ))
        }
        Enqueued::Existing(job) => Ok((
            StatusCode::OK,
            ApiJson(RunAnswer {
                created: false,
                job: JobView::from_job(job, None),
            }),
        )),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackfillBody {
    /// First day, in the sync's time zone; at most about 37 months ago.
    #[schema(schema_with = schemas::day)]
    from: Day,
    /// Last day, in the sync's time zone; not after today, not before `from`.
    #[schema(schema_with = schemas::day)]
    to: Day,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BackfillAnswer {
    /// One job per chunk the platform reads in a request, newest first; a chunk whose job is
    /// still active from an earlier request is listed with that job.
    jobs: Vec<JobView>,
    /// How many of `jobs` this request created.
    created: usize,
}

/// Reads the sync's history from `from` to `to`: one job per chunk, newest first, at backfill
/// priority (below scheduled and manual runs), each chunk debounced on its own key.
#[utoipa::path(
    post,
    path = "/v1/syncs/{id}/backfill",
    operation_id = "backfill_sync",
    tag = "syncs",
    params(("id" = uuid::Uuid, Path, description = "sync id")),
    request_body = BackfillBody,
    responses(
        (status = 202, description = "one job per chunk, newest first", body = BackfillAnswer),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NotFound),
        (status = 409, response = problems::Conflict)
    ),
    security(("api_key" = []))
)]
pub async fn backfill(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<SyncId>,
    ApiJson(body): ApiJson<BackfillBody>,
) -> Result<(StatusCode, ApiJson<BackfillAnswer>), ApiError> {
    let tenant = caller.tenant()?;
    let mut client = db(&state).await?;
    let sync = syncs::get(&client, tenant, id)
        .await?
        .ok_or(ApiError::NotFound("sync"))?;
    if let Some(reason) = &sync.paused_reason {
        return Err(ApiError::Conflict(format!("the sync is paused: {reason}")));
    }
    let now = Utc::now();
    let today = local_date(now, sync.time_zone());
    let earliest = today - chrono::Duration::days(BACKFILL_MAX_DAYS);
    let (from, to) = (body.from.date(), body.to.date());
    if to > today {
        return Err(InvalidField::new("to", format!("must not be after today ({today})")).into());
    }
    if from < earliest {
        return Err(InvalidField::new(
            "from",
            format!("must not be before {earliest}: platforms keep about 37 months of history"),
        )
        .into());
    }
    let window =
        DateWindow::new(from, to).map_err(|_| InvalidField::new("from", "must not be after to"))?;
    let chunk_days = connectors::catalogue(sync.connector).max_days_per_request;
    let new_jobs: Vec<NewJob> = window
        .chunks(chunk_days)
        .into_iter()
        .rev()
        .zip(0..)
        .map(|(chunk, newest_first)| NewJob {
            tenant_id: tenant,
            sync_id: sync.id,
            account_id: sync.account_id,
            connector: sync.connector,
            trigger: Trigger::Backfill,
            window: chunk,
            max_attempts: i32::from(state.config.jobs.max_attempts),
            // The relay publishes due jobs in `run_after` order: newest chunk first.
            run_after: now + chrono::Duration::milliseconds(newest_first),
            dedup_key: NewJob::backfill_key(sync.id, chunk),
        })
        .collect();
    let transaction = client
        .transaction()
        .await
        .map_err(shared::db::DbError::from)?;
    let created = jobs::insert_many(&transaction, &new_jobs).await?;
    let keys: Vec<String> = new_jobs.iter().map(|job| job.dedup_key.clone()).collect();
    let mut active = jobs::active_by_keys(&transaction, &keys).await?;
    transaction
        .commit()
        .await
        .map_err(shared::db::DbError::from)?;
    active.sort_by_key(|job| std::cmp::Reverse(job.window.end()));
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(BackfillAnswer {
            created: created.len(),
            jobs: active
                .into_iter()
                .map(|job| JobView::from_job(job, None))
                .collect(),
        }),
    ))
}
