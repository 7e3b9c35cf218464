//! Leader election: one row in `leader_leases` per role. The holder renews it on every loop;
//! it trusts its leadership only until a margin before the lease expires, so two replicas
//! never both act as leader on the same instant's information. Double leadership would still
//! be harmless: due syncs are locked row by row and one active job per sync is enforced.

use std::time::{Duration, Instant};

use shared::db::{DbError, Pool, leader};

/// The role name in `leader_leases`.
const ROLE: &str = "scheduler";

/// This process's view of its leadership.
pub struct Leadership {
    holder: String,
    ttl: Duration,
    /// Until when this process may act as leader without renewing.
    trusted_until: Option<Instant>,
}

impl Leadership {
    pub fn new(holder: String, ttl: Duration) -> Self {
        Self {
            holder,
            ttl,
            trusted_until: None,
        }
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Takes or renews the lease. Returns whether this process is the leader now.
    pub async fn refresh(&mut self, pool: &Pool) -> Result<bool, DbError> {
        let asked_at = Instant::now();
        let result = match pool.get().await {
            Ok(client) => leader::acquire_or_renew(&client, ROLE, &self.holder, self.ttl).await,
            Err(error) => Err(DbError::from(error)),
        };
        match result {
            Ok(Some(_term)) => {
                // Trust the lease for two thirds of its life, counted from before the request.
                self.trusted_until = Some(asked_at + self.ttl * 2 / 3);
            }
            Ok(None) => self.trusted_until = None,
            Err(error) => {
                // Keep the current trust window: a short database blip need not cost leadership,
                // and the window ends well before the lease does.
                tracing::warn!(%error, "leader lease renewal failed");
            }
        }
        Ok(self.is_leader())
    }

    pub fn is_leader(&self) -> bool {
        self.trusted_until
            .is_some_and(|until| Instant::now() < until)
    }

    /// Gives the lease up so another replica can take over at once.
    pub async fn resign(&mut self, pool: &Pool) {
        self.trusted_until = None;
        if let Ok(client) = pool.get().await
            && let Err(error) = leader::resign(&client, ROLE, &self.holder).await
        {
            tracing::warn!(%error, "resigning the leader lease failed");
        }
    }
}
