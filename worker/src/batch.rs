//! Micro-batching: gather what a channel holds, up to a size, waiting a short linger for more.
//! Claims and completions go to PostgreSQL in batches, so a transaction carries many jobs.
//! [`PriorityBuffer`] hands out what arrived highest priority first (job deliveries).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::time::Duration;

use tokio::sync::mpsc;

/// Waits for one item, then takes more until `max` items or `linger` has passed. An empty
/// batch means the channel is closed and drained.
pub async fn recv_batch<T>(
    receiver: &mut mpsc::Receiver<T>,
    max: usize,
    linger: Duration,
) -> Vec<T> {
    let mut batch = Vec::new();
    let Some(first) = receiver.recv().await else {
        return batch;
    };
    batch.push(first);
    let deadline = tokio::time::Instant::now() + linger;
    while batch.len() < max {
        // Take what is already there without waiting.
        match receiver.try_recv() {
            Ok(item) => {
                batch.push(item);
                continue;
            }
            Err(mpsc::error::TryRecvError::Disconnected) => break,
            Err(mpsc::error::TryRecvError::Empty) => {}
        }
        match tokio::time::timeout_at(deadline, receiver.recv()).await {
            Ok(Some(item)) => batch.push(item),
            Ok(None) | Err(_) => break,
        }
    }
    batch
}

/// Items received but not yet handed out, taken highest priority first and, within a
/// priority, in arrival order. The consumer keeps the deliveries the broker sent ahead
/// (prefetched) here, so a high-priority job that arrives behind a prefetched backlog of
/// backfill messages is claimed at the next free slot, not after the backlog.
pub struct PriorityBuffer<T> {
    heap: BinaryHeap<Entry<T>>,
    arrivals: u64,
}

struct Entry<T> {
    priority: u8,
    arrival: Reverse<u64>,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T> Eq for Entry<T> {}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.priority, self.arrival).cmp(&(other.priority, other.arrival))
    }
}

impl<T> Default for PriorityBuffer<T> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            arrivals: 0,
        }
    }
}

impl<T> PriorityBuffer<T> {
    fn push(&mut self, item: T, priority: u8) {
        self.arrivals += 1;
        self.heap.push(Entry {
            priority,
            arrival: Reverse(self.arrivals),
            item,
        });
    }

    /// Takes everything `receiver` holds now into the buffer (waiting for one item, then up to
    /// `linger` for at least `max`, if the buffer is empty) and hands out the `max` items of
    /// highest priority. An empty batch means the channel is closed and everything was handed
    /// out.
    pub async fn recv_batch(
        &mut self,
        receiver: &mut mpsc::Receiver<T>,
        max: usize,
        linger: Duration,
        priority: impl Fn(&T) -> u8,
    ) -> Vec<T> {
        if self.heap.is_empty() {
            for item in recv_batch(receiver, max, linger).await {
                let rank = priority(&item);
                self.push(item, rank);
            }
        }
        while let Ok(item) = receiver.try_recv() {
            let rank = priority(&item);
            self.push(item, rank);
        }
        let mut batch = Vec::with_capacity(max.min(self.heap.len()));
        while batch.len() < max {
            match self.heap.pop() {
                Some(entry) => batch.push(entry.item),
                None => break,
            }
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_priority_buffer_hands_out_the_highest_priority_first_then_in_arrival_order() {
        let (sender, mut receiver) = mpsc::channel(10);
        for item in [(1, 'a'), (1, 'b'), (1, 'c'), (2, 'd'), (3, 'e'), (2, 'f')] {
            sender.send(item).await.unwrap();
        }
        let mut buffer = PriorityBuffer::default();
        let linger = Duration::from_millis(5);
        let priority = |item: &(u8, char)| item.0;
        let mut order = Vec::new();
        for _ in 0..3 {
            let batch = buffer.recv_batch(&mut receiver, 2, linger, priority).await;
            order.extend(batch.into_iter().map(|(_, name)| name));
        }
        assert_eq!(order, ['e', 'd', 'f', 'a', 'b', 'c']);
        sender.send((1, 'g')).await.unwrap();
        drop(sender);
        let last = buffer.recv_batch(&mut receiver, 2, linger, priority).await;
        assert_eq!(last, [(1, 'g')]);
        assert!(
            buffer
                .recv_batch(&mut receiver, 2, linger, priority)
                .await
                .is_empty()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_takes_what_is_there_up_to_the_maximum() {
        let (sender, mut receiver) = mpsc::channel(10);
        for item in 0..5 {
            sender.send(item).await.unwrap();
        }
        assert_eq!(
            recv_batch(&mut receiver, 3, Duration::from_millis(5)).await,
            [0, 1, 2]
        );
        assert_eq!(
            recv_batch(&mut receiver, 3, Duration::from_millis(5)).await,
            [3, 4]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_waits_the_linger_for_late_items_and_no_longer() {
        let (sender, mut receiver) = mpsc::channel(10);
        sender.send(1).await.unwrap();
        let late = sender.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(2)).await;
            late.send(2).await.unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
            late.send(3).await.unwrap();
        });
        assert_eq!(
            recv_batch(&mut receiver, 10, Duration::from_millis(5)).await,
            [1, 2]
        );
        assert_eq!(
            recv_batch(&mut receiver, 10, Duration::from_millis(5)).await,
            [3]
        );
        drop(sender);
        assert!(
            recv_batch(&mut receiver, 10, Duration::from_millis(5))
                .await
                .is_empty()
        );
    }
}
