//! Consumes job messages and hands them to the engine: deliveries are claimed in batches,
//! highest message priority first among those received, each claimed job runs in its own task
//! (at most `worker.concurrency` at once), and a message is
//! acked only after its job's outcome is committed. A message that is not a job message, or
//! names no job, is dead-lettered. The connection is re-established whenever it drops; on
//! shutdown the consumer stops taking messages, lets attempts in flight finish within the grace
//! period, then interrupts the rest (their jobs go back to `pending`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use lapin::message::Delivery;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection};
use shared::config::RabbitmqConfig;
use shared::domain::JobId;
use shared::queue::{self, BrokerStatus, JobMessage, Topology};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::acks::Acks;
use crate::batch::PriorityBuffer;
use crate::engine::Engine;
use crate::execute::Execute;

/// How the consumer runs.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerSettings {
    /// Deliveries the broker may send ahead of acks, per queue.
    pub prefetch: u16,
    /// Attempts running at once.
    pub concurrency: usize,
    /// How long attempts in flight may take to finish at shutdown.
    pub shutdown_grace: Duration,
}

/// Consumes until `shutdown` is cancelled, reconnecting whenever the broker goes away.
pub async fn run<E: Execute>(
    engine: Arc<Engine<E>>,
    rabbitmq: &RabbitmqConfig,
    settings: ConsumerSettings,
    status: BrokerStatus,
    shutdown: CancellationToken,
) {
    let topology = Topology::new(rabbitmq);
    let permits = Arc::new(Semaphore::new(settings.concurrency));
    let attempts = TaskTracker::new();
    let name = format!("adsync-worker-{}", engine.worker_id());
    let mut sessions = 0_u64;
    while !shutdown.is_cancelled() {
        let connection = tokio::select! {
            () = shutdown.cancelled() => break,
            connection = queue::connect(rabbitmq, &name, Duration::from_secs(30)) => connection,
        };
        let connection = match connection {
            Ok(connection) => connection,
            Err(error) => {
                error!(%error, "cannot connect to rabbitmq");
                continue;
            }
        };
        status.set(connection.status().clone());
        sessions += 1;
        if sessions > 1 {
            shared::telemetry::count_reconnect(shared::telemetry::Backend::Rabbitmq);
        }
        info!("consuming job messages");
        let session = Session {
            engine: &engine,
            topology: &topology,
            settings,
            permits: &permits,
            attempts: &attempts,
        };
        match session.run(&connection, &shutdown).await {
            Ok(()) => {}
            Err(error) => warn!(%error, "rabbitmq session ended; reconnecting"),
        }
        connection
            .close(200, "worker consumer stopped".into())
            .await
            .ok();
    }
    status.clear();
    drain(&engine, &attempts, settings.shutdown_grace).await;
}

/// Waits for attempts in flight; interrupts those still running after `grace`.
async fn drain<E: Execute>(engine: &Engine<E>, attempts: &TaskTracker, grace: Duration) {
    attempts.close();
    if tokio::time::timeout(grace, attempts.wait()).await.is_err() {
        warn!(
            still_running = attempts.len(),
            "shutdown grace over; interrupting attempts in flight"
        );
        engine.interrupt();
        attempts.wait().await;
    }
}

/// Why a session stopped before shutdown.
#[derive(Debug, thiserror::Error)]
enum SessionEnded {
    #[error(transparent)]
    Broker(#[from] lapin::Error),
    #[error("the channel or connection was closed")]
    Closed,
}

/// One connection's worth of consuming.
struct Session<'a, E> {
    engine: &'a Arc<Engine<E>>,
    topology: &'a Topology,
    settings: ConsumerSettings,
    permits: &'a Arc<Semaphore>,
    attempts: &'a TaskTracker,
}

/// A delivery and the acknowledgements of the channel it came on.
type Received = (JobId, Delivery, Acks);

/// One queue's channel (delivery tags are per channel, so each has its own [`Acks`]).
struct Subscription {
    channel: Channel,
    consumer_tag: String,
    flusher: tokio::task::JoinHandle<()>,
}

impl<E: Execute> Session<'_, E> {
    async fn run(
        &self,
        connection: &Connection,
        shutdown: &CancellationToken,
    ) -> Result<(), SessionEnded> {
        self.topology
            .declare(&connection.create_channel().await?)
            .await?;
        let flushing = CancellationToken::new();
        let mut subscriptions = Vec::new();
        let mut streams = Vec::new();
        for queue in self.topology.consumed_queues() {
            let channel = connection.create_channel().await?;
            channel
                .basic_qos(self.settings.prefetch, BasicQosOptions { global: false })
                .await?;
            let consumer_tag = format!("{}:{queue}", self.engine.worker_id());
            let consumer = channel
                .basic_consume(
                    queue.into(),
                    consumer_tag.clone().into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            let acks = Acks::default();
            let flusher = tokio::spawn(acks.clone().run(flushing.clone()));
            streams.push(consumer.map(move |delivery| (delivery, acks.clone())));
            subscriptions.push(Subscription {
                channel,
                consumer_tag,
                flusher,
            });
        }
        let mut deliveries = futures_util::stream::select_all(streams);
        let (to_claim, claim_queue) = mpsc::channel(usize::from(self.settings.prefetch).max(1));
        let stopping = CancellationToken::new();
        let claimer = tokio::spawn(claim_deliveries(
            self.engine.clone(),
            claim_queue,
            self.permits.clone(),
            self.attempts.clone(),
            stopping.clone(),
        ));
        // A channel closed by the broker does not always end the consumer stream; check.
        let mut watchdog = tokio::time::interval(Duration::from_secs(1));
        let ended = loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => break Ok(()),
                next = deliveries.next() => next,
                _ = watchdog.tick() => {
                    let open = connection.status().connected()
                        && subscriptions.iter().all(|s| s.channel.status().connected());
                    if open {
                        continue;
                    }
                    break Err(SessionEnded::Closed);
                }
            };
            match next {
                Some((Ok(delivery), acks)) => {
                    acks.received(&delivery);
                    match JobMessage::parse(&delivery.data) {
                        Ok(message) => {
                            if to_claim
                                .send((message.job_id, delivery, acks))
                                .await
                                .is_err()
                            {
                                break Ok(());
                            }
                        }
                        Err(error) => {
                            warn!(%error, "dead-lettering a message that is not a job message");
                            settle(delivery, &acks, Settle::DeadLetter).await;
                        }
                    }
                }
                Some((Err(error), _)) => break Err(SessionEnded::Broker(error)),
                None => break Err(SessionEnded::Closed),
            }
        };
        // Stop deliveries; anything received but not yet claimed goes back to the queue.
        for subscription in &subscriptions {
            subscription
                .channel
                .basic_cancel(
                    subscription.consumer_tag.as_str().into(),
                    BasicCancelOptions::default(),
                )
                .await
                .ok();
        }
        stopping.cancel();
        drop(to_claim);
        claimer.await.ok();
        if ended.is_ok() {
            // Shutting down: let attempts finish on these channels so their acks go through.
            drain(self.engine, self.attempts, self.settings.shutdown_grace).await;
        }
        // The flushers send every remaining ack before they stop.
        flushing.cancel();
        for subscription in subscriptions {
            subscription.flusher.await.ok();
            subscription
                .channel
                .close(200, "consumer done".into())
                .await
                .ok();
        }
        ended
    }
}

/// Claims deliveries in batches and starts an attempt for each claimed job.
async fn claim_deliveries<E: Execute>(
    engine: Arc<Engine<E>>,
    mut queue: mpsc::Receiver<Received>,
    permits: Arc<Semaphore>,
    attempts: TaskTracker,
    stopping: CancellationToken,
) {
    let settings = engine.settings();
    // Prefetched deliveries wait here, so each free slot takes the highest-priority one.
    let mut waiting = PriorityBuffer::default();
    loop {
        // One free slot per delivery before claiming, so no claimed job waits for a slot: wait
        // for one, take what else is free, and claim at most that many.
        let Ok(first) = permits.clone().acquire_owned().await else {
            return;
        };
        let mut slots = vec![first];
        while slots.len() < settings.batch {
            match permits.clone().try_acquire_owned() {
                Ok(permit) => slots.push(permit),
                Err(_) => break,
            }
        }
        let batch = waiting
            .recv_batch(
                &mut queue,
                slots.len(),
                settings.linger,
                |(_, delivery, _)| delivery.properties.priority().unwrap_or(0),
            )
            .await;
        if batch.is_empty() {
            return;
        }
        slots.truncate(batch.len());
        if stopping.is_cancelled() {
            for (_, delivery, acks) in batch {
                settle(delivery, &acks, Settle::Requeue).await;
            }
            continue;
        }
        let ids: Vec<JobId> = batch.iter().map(|(id, _, _)| *id).collect();
        let Some(claims) = claim_patiently(&engine, &ids, &stopping).await else {
            // Stopping while the database is away: the messages go back to their queues.
            for (_, delivery, acks) in batch {
                settle(delivery, &acks, Settle::Requeue).await;
            }
            continue;
        };
        let mut deliveries: HashMap<JobId, Vec<(Delivery, Acks)>> = HashMap::new();
        for (id, delivery, acks) in batch {
            deliveries.entry(id).or_default().push((delivery, acks));
        }
        for job in claims.claimed {
            let Some((delivery, acks)) = deliveries.get_mut(&job.id).and_then(Vec::pop) else {
                continue;
            };
            let Some(slot) = slots.pop() else {
                break;
            };
            let engine = engine.clone();
            let job_id = job.id;
            // The job span continues the publisher's trace (see `Engine::run_traced`).
            let parent = traceparent(&delivery);
            attempts.spawn(async move {
                match engine.run_traced(job, parent.as_deref()).await {
                    Ok(_) => {}
                    // The job stays leased to us until the lease runs out; the rescuer then
                    // returns it. The message has done its work either way.
                    Err(error) => error!(%error, %job_id, "job outcome could not be recorded"),
                }
                settle(delivery, &acks, Settle::Ack).await;
                drop(slot);
            });
        }
        for id in claims.missing {
            for (delivery, acks) in deliveries.remove(&id).unwrap_or_default() {
                warn!(job_id = %id, "dead-lettering a message naming no job");
                settle(delivery, &acks, Settle::DeadLetter).await;
            }
        }
        // Unclaimable (finished, snoozed, leased elsewhere), deferred, or duplicates.
        for (delivery, acks) in deliveries.into_values().flatten() {
            settle(delivery, &acks, Settle::Ack).await;
        }
    }
}

/// Claims `ids`, retrying with backoff while the database is unreachable (a restart, a
/// failover to the standby) and holding the deliveries meanwhile: requeueing them would count
/// a delivery each time, and a quorum queue dead-letters a message past its delivery limit.
/// `None` if the consumer stops first.
async fn claim_patiently<E: Execute>(
    engine: &Engine<E>,
    ids: &[JobId],
    stopping: &CancellationToken,
) -> Option<shared::db::jobs::Claims> {
    let mut delay = CLAIM_RETRY_FIRST;
    loop {
        match engine.claim(ids).await {
            Ok(claims) => return Some(claims),
            Err(error) => {
                error!(%error, retry_in = ?delay, "claiming jobs failed; holding their messages and retrying");
            }
        }
        tokio::select! {
            () = stopping.cancelled() => return None,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(CLAIM_RETRY_MAX);
    }
}

/// Backoff of [`claim_patiently`].
const CLAIM_RETRY_FIRST: Duration = Duration::from_millis(250);
const CLAIM_RETRY_MAX: Duration = Duration::from_secs(4);

enum Settle {
    Ack,
    Requeue,
    DeadLetter,
}

/// Acks go out in batches (see [`Acks`]); rejections go out at once.
async fn settle(delivery: Delivery, acks: &Acks, settle: Settle) {
    let requeue = match settle {
        Settle::Ack => {
            acks.done(delivery);
            return;
        }
        Settle::Requeue => true,
        Settle::DeadLetter => false,
    };
    acks.forget(&delivery);
    let options = BasicNackOptions {
        multiple: false,
        requeue,
    };
    // If the channel is gone the broker redelivers; claims make duplicates harmless.
    if let Err(error) = delivery.nack(options).await {
        warn!(%error, "rejecting a delivery failed");
    }
}

fn traceparent(delivery: &Delivery) -> Option<String> {
    let headers = delivery.properties.headers().as_ref()?;
    match headers.inner().get("traceparent")? {
        AMQPValue::LongString(value) => Some(value.to_string()),
        _ => None,
    }
}
