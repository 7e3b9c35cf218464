//! Dashboard figures (`GET /v1/stats`), for one tenant or all of them, each read from an index
//! built for it (migration V7), so the answer takes milliseconds with millions of jobs.
//!
//! Why not count every job: finished jobs pile up without bound (a million is a few weeks of a
//! busy installation), and counting them all is a scan of the table. Two cheap alternatives
//! were weighed: a summary table kept by triggers, and counting a bounded recent range. A
//! summary table would add a contended counter-row update to every batch of claims and
//! completions — the job engine's hot path — and has to be corrected by every purge. A bounded
//! range costs nothing on the write path: active jobs (pending, queued, running) are few and
//! sit in a partial index of their own (`jobs_active_stats`), and finished jobs are counted over
//! the last [`FINISHED_WINDOW_HOURS`] from an index on `finished_at` that carries the columns
//! grouped by (`jobs_finished`, `jobs_tenant_finished`), an index-only range scan. What a
//! dashboard wants from finished jobs is recent anyway: how many succeeded and failed lately.
//! The cost grows with the jobs finished per day, not with the history kept.

use chrono::{DateTime, Duration, Utc};
use tokio_postgres::types::ToSql;

use super::{DbError, GenericClient};
use crate::domain::TenantId;

/// Finished jobs are counted over this many recent hours.
pub const FINISHED_WINDOW_HOURS: i64 = 24;

/// Jobs of one state and connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCount {
    pub state: String,
    pub connector: String,
    pub count: i64,
}

/// Failed jobs of one error class and connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureCount {
    pub error_class: String,
    pub connector: String,
    pub count: i64,
}

/// A rate budget the platform (or adsync's own budget) has blocked.
#[derive(Debug, Clone, PartialEq)]
pub struct ThrottledBudget {
    pub key: String,
    pub blocked_until: DateTime<Utc>,
    pub usage_percent: Option<f64>,
}

/// A rate budget whose platform reported how much of its quota is used (Meta's usage
/// headers), within the last hour.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetUsage {
    pub key: String,
    pub usage_percent: f64,
    pub reported_at: DateTime<Utc>,
}

/// A connection or destination whose credentials stopped working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedsReauth {
    pub kind: &'static str,
    pub id: uuid::Uuid,
    pub tenant_id: TenantId,
    /// The connector of a connection, the kind of a destination.
    pub platform: String,
    pub name: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Active jobs by state and connector, then finished ones over the recent window.
    pub jobs: Vec<JobCount>,
    /// When the oldest job waiting to run (pending or queued) was created.
    pub oldest_waiting_since: Option<DateTime<Utc>>,
    pub failures_last_hour: Vec<FailureCount>,
    pub throttled_budgets: Vec<ThrottledBudget>,
    pub budget_usage: Vec<BudgetUsage>,
    pub needs_reauth: Vec<NeedsReauth>,
}

/// Which rate budgets a tenant (`$1`; every budget when NULL) sees: the app-wide budgets of
/// each platform (they throttle everyone), the budgets of its own accounts, and the per-user
/// Sheets budgets of the Google logins its destinations use, never another tenant's.
const VISIBLE_BUDGET: &str = "($1::uuid IS NULL
     OR key LIKE '%:app'
     OR key IN (SELECT connector || ':account:' || external_id FROM accounts WHERE tenant_id = $1)
     OR split_part(key, ':user:', 2) IN (SELECT google_subject FROM destinations
                                         WHERE tenant_id = $1 AND google_subject IS NOT NULL))";

/// Reads every figure for `tenant_id` (all tenants with `None`) as of `now`. The statements go
/// out together on one connection (pipelined), so the answer costs about one round trip.
pub async fn read(
    client: &impl GenericClient,
    tenant_id: Option<TenantId>,
    now: DateTime<Utc>,
) -> Result<Stats, DbError> {
    let finished_since = now - Duration::hours(FINISHED_WINDOW_HOURS);
    let hour_ago = now - Duration::hours(1);
    let by_tenant: [&(dyn ToSql + Sync); 1] = [&tenant_id];
    let finished_params: [&(dyn ToSql + Sync); 2] = [&tenant_id, &finished_since];
    let failures_params: [&(dyn ToSql + Sync); 2] = [&tenant_id, &hour_ago];
    let throttled_params: [&(dyn ToSql + Sync); 2] = [&tenant_id, &now];
    let active = client.query(
        "SELECT state, connector, count(*) AS n,
                min(created_at) FILTER (WHERE state IN ('pending', 'queued')) AS oldest
         FROM jobs
         WHERE state IN ('pending', 'queued', 'running') AND ($1::uuid IS NULL OR tenant_id = $1)
         GROUP BY state, connector ORDER BY state, connector",
        &by_tenant,
    );
    let finished = client.query(
        "SELECT state, connector, count(*) AS n FROM jobs
         WHERE finished_at >= $2 AND state IN ('succeeded', 'failed', 'cancelled')
           AND ($1::uuid IS NULL OR tenant_id = $1)
         GROUP BY state, connector ORDER BY state, connector",
        &finished_params,
    );
    let failures = client.query(
        "SELECT coalesce(error_class, 'unknown') AS error_class, connector, count(*) AS n
         FROM jobs
         WHERE finished_at >= $2 AND state = 'failed' AND ($1::uuid IS NULL OR tenant_id = $1)
         GROUP BY 1, 2 ORDER BY 1, 2",
        &failures_params,
    );
    let throttled_sql = format!(
        "SELECT key, blocked_until, usage_percent FROM rate_budgets
         WHERE blocked_until > $2 AND {VISIBLE_BUDGET}
         ORDER BY blocked_until DESC, key LIMIT 100"
    );
    let throttled = client.query(&throttled_sql, &throttled_params);
    // Budgets the platforms reported on within the last hour, busiest first.
    let usage_sql = format!(
        "SELECT key, usage_percent, usage_reported_at FROM rate_budgets
         WHERE usage_percent IS NOT NULL AND usage_reported_at >= $2 AND {VISIBLE_BUDGET}
         ORDER BY usage_percent DESC, key LIMIT 100"
    );
    let usage = client.query(&usage_sql, &failures_params);
    let reauth = client.query(
        "SELECT 'connection' AS kind, id, tenant_id, connector AS platform, name, status_reason
         FROM connections WHERE status = 'needs_reauth' AND ($1::uuid IS NULL OR tenant_id = $1)
         UNION ALL
         SELECT 'destination', id, tenant_id, kind, name, status_reason
         FROM destinations WHERE status = 'needs_reauth' AND ($1::uuid IS NULL OR tenant_id = $1)
         ORDER BY 1, 2 LIMIT 500",
        &by_tenant,
    );
    let (active, finished, failures, throttled, usage, reauth) =
        futures_util::try_join!(active, finished, failures, throttled, usage, reauth)?;

    let mut jobs = Vec::with_capacity(active.len() + finished.len());
    let mut oldest_waiting_since: Option<DateTime<Utc>> = None;
    for row in &active {
        let oldest: Option<DateTime<Utc>> = row.try_get("oldest")?;
        oldest_waiting_since = match (oldest_waiting_since, oldest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        jobs.push(job_count(row)?);
    }
    for row in &finished {
        jobs.push(job_count(row)?);
    }
    Ok(Stats {
        jobs,
        oldest_waiting_since,
        failures_last_hour: failures
            .iter()
            .map(|row| {
                Ok(FailureCount {
                    error_class: row.try_get("error_class")?,
                    connector: row.try_get("connector")?,
                    count: row.try_get("n")?,
                })
            })
            .collect::<Result<_, DbError>>()?,
        throttled_budgets: throttled
            .iter()
            .map(|row| {
                Ok(ThrottledBudget {
                    key: row.try_get("key")?,
                    blocked_until: row.try_get("blocked_until")?,
                    usage_percent: row.try_get("usage_percent")?,
                })
            })
            .collect::<Result<_, DbError>>()?,
        budget_usage: usage
            .iter()
            .map(|row| {
                Ok(BudgetUsage {
                    key: row.try_get("key")?,
                    usage_percent: row.try_get("usage_percent")?,
                    reported_at: row.try_get("usage_reported_at")?,
                })
            })
            .collect::<Result<_, DbError>>()?,
        needs_reauth: reauth
            .iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                Ok(NeedsReauth {
                    kind: if kind == "connection" {
                        "connection"
                    } else {
                        "destination"
                    },
                    id: row.try_get("id")?,
                    tenant_id: row.try_get("tenant_id")?,
                    platform: row.try_get("platform")?,
                    name: row.try_get("name")?,
                    reason: row.try_get("status_reason")?,
                })
            })
            .collect::<Result<_, DbError>>()?,
    })
}

fn job_count(row: &tokio_postgres::Row) -> Result<JobCount, DbError> {
    Ok(JobCount {
        state: row.try_get("state")?,
        connector: row.try_get("connector")?,
        count: row.try_get("n")?,
    })
}
