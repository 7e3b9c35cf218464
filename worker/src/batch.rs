//! Micro-batching: gather what a channel holds, up to a size, waiting a short linger for more.
//! Claims and completions go to PostgreSQL in batches, so a transaction carries many jobs.

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

#[cfg(test)]
mod tests {
    use super::*;

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
