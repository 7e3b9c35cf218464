//! The `rate_budgets` table: token buckets shared by every worker process, so all of adsync
//! together stays within each platform's limits (per app, per ad account, …).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{DbError, GenericClient};

/// One bucket: its key and how it fills.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// Hierarchical, platform first: `meta_ads:account:123`, `tiktok_ads:app`.
    pub key: String,
    pub capacity: f64,
    pub refill_per_sec: f64,
}

/// The answer to asking a bucket for tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Take {
    Granted,
    /// Not enough tokens yet: enough will have refilled after this long.
    Wait(Duration),
    /// The platform throttled this key; nobody may use it before this instant.
    Blocked(DateTime<Utc>),
}

/// Takes `tokens` from the bucket if it has them, in one atomic statement.
pub async fn take(
    client: &impl GenericClient,
    bucket: &Bucket,
    tokens: f64,
) -> Result<Take, DbError> {
    loop {
        let row = client
            .query_opt(
                "WITH b AS (
                     SELECT key, blocked_until, refill_per_sec,
                            (blocked_until IS NULL OR blocked_until <= now()) AS open,
                            least(capacity, tokens
                                  + extract(epoch FROM now() - updated_at) * refill_per_sec) AS available
                     FROM rate_budgets WHERE key = $1 FOR UPDATE
                 )
                 UPDATE rate_budgets r
                 SET tokens = CASE WHEN b.open AND b.available >= $2 THEN b.available - $2
                                   ELSE b.available END,
                     updated_at = now()
                 FROM b WHERE r.key = b.key
                 RETURNING b.open AND b.available >= $2 AS granted, b.open, b.available,
                           b.blocked_until, b.refill_per_sec",
                &[&bucket.key, &tokens],
            )
            .await?;
        let Some(row) = row else {
            ensure(client, bucket).await?;
            continue;
        };
        if row.try_get("granted")? {
            return Ok(Take::Granted);
        }
        if !row.try_get::<_, bool>("open")? {
            let until: DateTime<Utc> = row.try_get("blocked_until")?;
            return Ok(Take::Blocked(until));
        }
        let available: f64 = row.try_get("available")?;
        let refill: f64 = row.try_get("refill_per_sec")?;
        let seconds = ((tokens - available) / refill).max(0.001);
        return Ok(Take::Wait(Duration::from_secs_f64(seconds)));
    }
}

/// Creates the bucket full, or updates its shape to the configuration.
async fn ensure(client: &impl GenericClient, bucket: &Bucket) -> Result<(), DbError> {
    client
        .execute(
            "INSERT INTO rate_budgets (key, capacity, refill_per_sec, tokens)
             VALUES ($1, $2, $3, $2)
             ON CONFLICT (key) DO UPDATE
                 SET capacity = EXCLUDED.capacity, refill_per_sec = EXCLUDED.refill_per_sec",
            &[&bucket.key, &bucket.capacity, &bucket.refill_per_sec],
        )
        .await?;
    Ok(())
}

/// The platform throttled: nobody takes from this bucket before `until`. The tokens stay as
/// they are: the platform's reset ends the block, and a slow budget (a daily quota) is not
/// emptied by a short throttle such as a per-second limit.
pub async fn block(
    client: &impl GenericClient,
    bucket: &Bucket,
    until: DateTime<Utc>,
) -> Result<(), DbError> {
    ensure(client, bucket).await?;
    client
        .execute(
            "UPDATE rate_budgets
             SET blocked_until = greatest(coalesce(blocked_until, $2), $2)
             WHERE key = $1",
            &[&bucket.key, &until],
        )
        .await?;
    Ok(())
}

/// Records the platform's usage figure for a bucket. At or above `slow_down_at` percent the
/// bucket is emptied (as of now), so the next request waits a whole refill interval and
/// requests go at the refill rate for as long as the platform keeps reporting high usage.
pub async fn report_usage(
    client: &impl GenericClient,
    bucket: &Bucket,
    usage_percent: f64,
    slow_down_at: f64,
) -> Result<(), DbError> {
    // Typed parameters: `$2 >= $3` alone leaves PostgreSQL to deduce `$2` from both the
    // column it is assigned to and the comparison, which it refuses (42P08).
    let statement = "UPDATE rate_budgets
         SET usage_percent = $2::float8, usage_reported_at = now(),
             tokens = CASE WHEN $2::float8 >= $3::float8 THEN 0 ELSE tokens END,
             updated_at = CASE WHEN $2::float8 >= $3::float8 THEN now() ELSE updated_at END
         WHERE key = $1";
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
        [&bucket.key, &usage_percent, &slow_down_at];
    if client.execute(statement, &params).await? == 0 {
        ensure(client, bucket).await?;
        client.execute(statement, &params).await?;
    }
    Ok(())
}

/// Keys blocked now, with until when (for dashboards).
pub async fn blocked(client: &impl GenericClient) -> Result<Vec<(String, DateTime<Utc>)>, DbError> {
    client
        .query(
            "SELECT key, blocked_until FROM rate_budgets WHERE blocked_until > now() ORDER BY key",
            &[],
        )
        .await?
        .iter()
        .map(|row| Ok((row.try_get("key")?, row.try_get("blocked_until")?)))
        .collect()
}
