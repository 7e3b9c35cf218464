//! The `leader_leases` table: a lease per single-leader role, renewed by its holder.

use std::time::Duration;

use super::{DbError, GenericClient};

/// Takes the lease `name` for `holder` if it is free or expired, or renews it if `holder`
/// already has it. Returns the term held, or `None` if someone else holds a live lease.
pub async fn acquire_or_renew(
    client: &impl GenericClient,
    name: &str,
    holder: &str,
    ttl: Duration,
) -> Result<Option<i64>, DbError> {
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    Ok(client
        .query_opt(
            "INSERT INTO leader_leases AS l (name, holder, term, expires_at)
             VALUES ($1, $2, 1, now() + $3 * interval '1 millisecond')
             ON CONFLICT (name) DO UPDATE
                SET holder = EXCLUDED.holder,
                    term = CASE WHEN l.holder = EXCLUDED.holder THEN l.term ELSE l.term + 1 END,
                    expires_at = EXCLUDED.expires_at
              WHERE l.holder = EXCLUDED.holder OR l.expires_at < now()
             RETURNING term",
            &[&name, &holder, &(ttl_ms as f64)],
        )
        .await?
        .map(|row| row.try_get("term"))
        .transpose()?)
}

/// Gives the lease up early, if `holder` still has it.
pub async fn resign(client: &impl GenericClient, name: &str, holder: &str) -> Result<(), DbError> {
    client
        .execute(
            "DELETE FROM leader_leases WHERE name = $1 AND holder = $2",
            &[&name, &holder],
        )
        .await?;
    Ok(())
}
