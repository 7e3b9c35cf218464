//! One scheduler tick: every enabled sync whose `next_run_at` has passed gets one job over its
//! window, and its `next_run_at` moves to the schedule's next time after now — in the same
//! transaction, a batch of syncs at a time, three statements per batch. A sync that missed
//! several runs (downtime) gets one catch-up job, not a burst. The first run of each local day
//! reads the sync's whole restatement lookback; the others read its fresh days.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use shared::db::jobs::{self, NewJob};
use shared::db::syncs::{self, DueSync, NextRun};
use shared::db::{DbError, Pool};
use shared::domain::{Schedule, Trigger};
use tracing::error;

use crate::metrics;

/// How a tick creates jobs.
#[derive(Debug, Clone, Copy)]
pub struct TickSettings {
    /// Syncs handled per transaction.
    pub batch: u32,
    pub max_attempts: u16,
}

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Syncs that were due.
    pub due: usize,
    /// Jobs created (a due sync whose previous job is still active gets none).
    pub created: usize,
}

/// Turns every sync due at `now` into a job. Safe to run from several processes at once: due
/// rows are locked with `SKIP LOCKED`, and the active-job index allows one job per sync.
pub async fn tick(
    pool: &Pool,
    settings: TickSettings,
    now: DateTime<Utc>,
) -> Result<TickReport, DbError> {
    let mut report = TickReport::default();
    // Most syncs share a handful of schedules; parse each once.
    let mut schedules: HashMap<(String, String), Option<Schedule>> = HashMap::new();
    loop {
        let mut client = pool.get().await?;
        let transaction = client.transaction().await?;
        let due = syncs::lock_due(&transaction, now, i64::from(settings.batch)).await?;
        let mut new_jobs = Vec::with_capacity(due.len());
        let mut next_runs = Vec::with_capacity(due.len());
        for sync in &due {
            let schedule = schedules
                .entry((sync.cron.clone(), sync.time_zone.clone()))
                .or_insert_with(|| Schedule::parse(&sync.cron, &sync.time_zone).ok());
            let time_zone = schedule
                .as_ref()
                .map_or(chrono_tz::UTC, Schedule::time_zone);
            let (window, lookback) = sync.scheduled_window(time_zone, now);
            next_runs.push(NextRun {
                id: sync.id,
                at: next_run(sync, schedule.as_ref(), now),
                lookback_enqueued_on: lookback.then(|| window.end()),
            });
            new_jobs.push(NewJob {
                tenant_id: sync.tenant_id,
                sync_id: sync.id,
                account_id: sync.account_id,
                connector: sync.connector,
                trigger: Trigger::Scheduled,
                window,
                max_attempts: i32::from(settings.max_attempts),
                run_after: now,
                dedup_key: NewJob::run_key(sync.id),
            });
        }
        let created = jobs::insert_many(&transaction, &new_jobs).await?;
        // A lookback run that found the sync's previous job still active was not created: the
        // next tick tries it again.
        for run in &mut next_runs {
            if !created.iter().any(|job| job.sync_id == run.id) {
                run.lookback_enqueued_on = None;
            }
        }
        syncs::set_next_runs(&transaction, &next_runs).await?;
        transaction.commit().await?;
        metrics::record_jobs_enqueued(created.len());
        report.due += due.len();
        report.created += created.len();
        if due.len() < settings.batch as usize {
            return Ok(report);
        }
    }
}

/// The sync's next run strictly after `now`.
fn next_run(sync: &DueSync, schedule: Option<&Schedule>, now: DateTime<Utc>) -> DateTime<Utc> {
    match schedule.and_then(|schedule| schedule.next_after(now)) {
        Some(next) => next,
        None => {
            // Validated at creation, so this is a stored row gone bad: keep the scheduler
            // going and look again in a day.
            error!(sync_id = %sync.id, cron = %sync.cron, "sync schedule cannot be evaluated");
            now + chrono::Duration::days(1)
        }
    }
}

/// Sets the gauges the leader keeps for dashboards and alerts: the age of the oldest due job
/// and the connections needing re-authorisation, per connector.
pub async fn record_gauges(pool: &Pool) -> Result<(), DbError> {
    let client = pool.get().await?;
    metrics::record_oldest_pending(&jobs::oldest_due_ages(&client).await?);
    metrics::record_needing_reauth(&shared::db::connections::count_needing_reauth(&client).await?);
    Ok(())
}
