//! Batched acknowledgements for one channel. Acking every message on its own costs the broker
//! more than the rest of a delivery; acking with `multiple` settles every earlier delivery tag
//! at once. Acks are therefore collected and flushed every few milliseconds: the longest
//! finished prefix of delivery tags goes out as one `multiple` ack, and a finished delivery
//! stuck behind a long-running one is acked on its own once it has waited a little, so a slow
//! job never holds the channel's prefetch window hostage.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use lapin::message::Delivery;
use lapin::options::BasicAckOptions;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// How often finished deliveries are acknowledged.
const FLUSH_EVERY: Duration = Duration::from_millis(5);
/// How long a finished delivery may wait behind an unfinished one before it is acked alone.
const MAX_WAIT: Duration = Duration::from_millis(50);

#[derive(Default)]
struct State {
    /// Delivery tags received and not yet finished.
    open: BTreeSet<u64>,
    /// Finished deliveries not yet acknowledged, by tag, with when they finished.
    done: BTreeMap<u64, (Delivery, Instant)>,
}

/// The acknowledgements of one channel. Cheap to clone.
#[derive(Clone, Default)]
pub struct Acks {
    state: Arc<Mutex<State>>,
}

impl Acks {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes a delivery as received; call before it can finish.
    pub fn received(&self, delivery: &Delivery) {
        self.lock().open.insert(delivery.delivery_tag);
    }

    /// Notes a delivery as finished: it will be acknowledged at the next flush.
    pub fn done(&self, delivery: Delivery) {
        let mut state = self.lock();
        state.open.remove(&delivery.delivery_tag);
        state
            .done
            .insert(delivery.delivery_tag, (delivery, Instant::now()));
    }

    /// Notes a delivery as settled some other way (rejected or requeued).
    pub fn forget(&self, delivery: &Delivery) {
        self.lock().open.remove(&delivery.delivery_tag);
    }

    /// What to send now: the last delivery of the finished prefix (acked with `multiple`), and
    /// deliveries that waited too long behind an unfinished one (acked alone).
    fn due(&self, now: Instant) -> (Option<Delivery>, Vec<Delivery>) {
        let mut state = self.lock();
        let first_open = state.open.first().copied().unwrap_or(u64::MAX);
        let rest = state.done.split_off(&first_open);
        let prefix = std::mem::replace(&mut state.done, rest);
        let last = prefix.into_values().last().map(|(delivery, _)| delivery);
        let stale: Vec<u64> = state
            .done
            .iter()
            .filter(|(_, (_, finished))| now.duration_since(*finished) >= MAX_WAIT)
            .map(|(tag, _)| *tag)
            .collect();
        let alone = stale
            .into_iter()
            .filter_map(|tag| state.done.remove(&tag).map(|(delivery, _)| delivery))
            .collect();
        (last, alone)
    }

    /// Sends what is due.
    async fn flush(&self) {
        let (prefix, alone) = self.due(Instant::now());
        if let Some(last) = prefix {
            send(&last, true).await;
        }
        for delivery in alone {
            send(&delivery, false).await;
        }
    }

    /// Flushes every few milliseconds until `stop`, then once more.
    pub async fn run(self, stop: CancellationToken) {
        let mut interval = tokio::time::interval(FLUSH_EVERY);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = interval.tick() => self.flush().await,
            }
        }
        // Everything finished by now can go, whatever is still open.
        let remaining: Vec<Delivery> = {
            let mut state = self.lock();
            std::mem::take(&mut state.done)
                .into_values()
                .map(|(delivery, _)| delivery)
                .collect()
        };
        for delivery in remaining {
            send(&delivery, false).await;
        }
    }
}

async fn send(delivery: &Delivery, multiple: bool) {
    // If the channel is gone the broker redelivers; claims make duplicates harmless.
    if let Err(error) = delivery.ack(BasicAckOptions { multiple }).await {
        warn!(%error, "acknowledging deliveries failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(tag: u64) -> Delivery {
        Delivery::mock(tag, "".into(), "".into(), false, Vec::new())
    }

    fn tags(due: (Option<Delivery>, Vec<Delivery>)) -> (Option<u64>, Vec<u64>) {
        (
            due.0.map(|delivery| delivery.delivery_tag),
            due.1.iter().map(|delivery| delivery.delivery_tag).collect(),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn the_finished_prefix_goes_as_one_ack_and_the_rest_waits() {
        let acks = Acks::default();
        for tag in 1..=5 {
            acks.received(&delivery(tag));
        }
        for tag in [1, 2, 4, 5] {
            acks.done(delivery(tag));
        }
        assert_eq!(tags(acks.due(Instant::now())), (Some(2), vec![]));
        acks.done(delivery(3));
        assert_eq!(tags(acks.due(Instant::now())), (Some(5), vec![]));
        assert_eq!(tags(acks.due(Instant::now())), (None, vec![]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_delivery_stuck_behind_a_long_job_is_acked_alone_after_a_while() {
        let acks = Acks::default();
        for tag in 1..=3 {
            acks.received(&delivery(tag));
        }
        acks.done(delivery(2));
        acks.done(delivery(3));
        assert_eq!(tags(acks.due(Instant::now())), (None, vec![]));
        tokio::time::advance(MAX_WAIT).await;
        assert_eq!(tags(acks.due(Instant::now())), (None, vec![2, 3]));
        acks.done(delivery(1));
        assert_eq!(tags(acks.due(Instant::now())), (Some(1), vec![]));
    }

    #[tokio::test(start_paused = true)]
    async fn rejected_deliveries_do_not_hold_back_the_prefix() {
        let acks = Acks::default();
        for tag in 1..=3 {
            acks.received(&delivery(tag));
        }
        acks.forget(&delivery(1));
        acks.done(delivery(2));
        acks.done(delivery(3));
        assert_eq!(tags(acks.due(Instant::now())), (Some(3), vec![]));
    }
}
