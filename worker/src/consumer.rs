//! Consumes job messages from every connector queue and hands each to the executor, bounded
//! by `worker.concurrency`. A message is acked only after its outcome is committed in
//! PostgreSQL; a message that is not a job message, or names no job, is dead-lettered.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection};
use shared::domain::ConnectorKind;
use shared::queue::{JobMessage, Topology};
use shared::telemetry;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, warn};

use crate::executor::{Outcome, Worker};

/// How long to wait before requeueing a message whose outcome could not be recorded.
const REQUEUE_DELAY: Duration = Duration::from_secs(1);

/// Consumes until `shutdown` is cancelled, then stops taking messages and waits for the jobs
/// in flight to finish.
pub async fn consume(
    worker: Arc<Worker>,
    connection: &Connection,
    topology: &Topology,
    prefetch: u16,
    concurrency: usize,
    shutdown: CancellationToken,
) -> Result<(), lapin::Error> {
    let channel = connection.create_channel().await?;
    channel
        .basic_qos(prefetch, BasicQosOptions { global: false })
        .await?;
    let mut consumers = Vec::new();
    for connector in ConnectorKind::ALL {
        let consumer = channel
            .basic_consume(
                topology.jobs_queue(connector).into(),
                format!("{}-{}", worker.id(), connector.as_str()).into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        consumers.push(consumer);
    }
    let mut deliveries = futures_util::stream::select_all(consumers);
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut in_flight = JoinSet::new();
    loop {
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let delivery = tokio::select! {
            () = shutdown.cancelled() => break,
            delivery = deliveries.next() => delivery,
        };
        match delivery {
            Some(Ok(delivery)) => {
                let worker = worker.clone();
                in_flight.spawn(async move {
                    handle(&worker, delivery).await;
                    drop(permit);
                });
            }
            Some(Err(error)) => {
                warn!(%error, "consumer error; waiting for the connection to recover");
                channel.wait_for_recovery(error).await?;
            }
            None => break,
        }
        // Reap finished tasks so the set does not grow without bound.
        while in_flight.try_join_next().is_some() {}
    }
    close_consumers(&channel).await;
    while in_flight.join_next().await.is_some() {}
    Ok(())
}

/// Stops deliveries; unacked messages return to the queue when the channel closes.
async fn close_consumers(channel: &Channel) {
    if let Err(error) = channel.close(200, "worker shutting down".into()).await {
        warn!(%error, "closing the consumer channel failed");
    }
}

async fn handle(worker: &Worker, delivery: Delivery) {
    let message = match JobMessage::parse(&delivery.data) {
        Ok(message) => message,
        Err(error) => {
            warn!(%error, "dead-lettering a message that is not a job message");
            reject(&delivery, false).await;
            return;
        }
    };
    let span = tracing::info_span!("delivery", job_id = %message.job_id);
    if let Some(traceparent) = traceparent(&delivery) {
        telemetry::set_remote_parent(&span, &traceparent);
    }
    async {
        match worker.execute_job(message.job_id).await {
            Ok(Outcome::NoSuchJob) => {
                warn!("dead-lettering a message naming no job");
                reject(&delivery, false).await;
            }
            Ok(_) => {
                if let Err(error) = delivery.ack(BasicAckOptions::default()).await {
                    // The broker will redeliver; the claim makes the duplicate harmless.
                    warn!(%error, "ack failed");
                }
            }
            Err(error) => {
                error!(%error, "job outcome could not be recorded; requeueing the message");
                tokio::time::sleep(REQUEUE_DELAY).await;
                reject(&delivery, true).await;
            }
        }
    }
    .instrument(span)
    .await;
}

async fn reject(delivery: &Delivery, requeue: bool) {
    let options = BasicNackOptions {
        multiple: false,
        requeue,
    };
    if let Err(error) = delivery.nack(options).await {
        warn!(%error, "nack failed");
    }
}

fn traceparent(delivery: &Delivery) -> Option<String> {
    let headers = delivery.properties.headers().as_ref()?;
    match headers.inner().get("traceparent")? {
        AMQPValue::LongString(value) => Some(value.to_string()),
        _ => None,
    }
}
