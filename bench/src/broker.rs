//! The raw broker ceiling: persistent messages published with confirms and consumed with acks
//! through one durable queue shaped like a job queue (priorities, dead-lettering; a quorum queue
//! with `rabbitmq.queue_type = "quorum"`), with lapin and nothing else. The job pipeline's throughput is judged against it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::StreamExt as _;
use lapin::BasicProperties;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use shared::config::{QueueType, RabbitmqConfig};
use tokio::sync::Semaphore;

/// Unconfirmed publishes in flight at once.
const CONFIRM_WINDOW: usize = 1000;
/// Deliveries in flight to the consumer.
const PREFETCH: u16 = 1000;

/// Messages per second through publish → confirm → deliver → ack, for `messages` messages.
pub(crate) async fn ceiling(config: &RabbitmqConfig, messages: usize) -> anyhow::Result<f64> {
    let connection = shared::queue::connect(config, "bench-ceiling", Duration::from_secs(10))
        .await
        .context("connecting to rabbitmq")?;
    let queue = format!("{}.ceiling", config.prefix);
    let publisher = connection.create_channel().await?;
    let consumer_channel = connection.create_channel().await?;
    let mut arguments = FieldTable::default();
    match config.queue_type {
        QueueType::Classic => {
            arguments.insert(
                ShortString::from("x-max-priority"),
                AMQPValue::ShortShortUInt(shared::queue::topology::MAX_PRIORITY),
            );
        }
        // A cluster's job queues: replicated, no priorities.
        QueueType::Quorum => {
            arguments.insert(
                ShortString::from("x-queue-type"),
                AMQPValue::LongString("quorum".into()),
            );
        }
    }
    publisher
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions::durable(),
            arguments,
        )
        .await?;
    publisher
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    consumer_channel
        .basic_qos(PREFETCH, BasicQosOptions { global: false })
        .await?;
    let mut deliveries = consumer_channel
        .basic_consume(
            queue.as_str().into(),
            "ceiling".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;

    let started = Instant::now();
    let consume = tokio::spawn(async move {
        let mut received = 0;
        while received < messages {
            let Some(delivery) = deliveries.next().await else {
                anyhow::bail!("the consumer stopped after {received} messages");
            };
            delivery?.ack(BasicAckOptions::default()).await?;
            received += 1;
        }
        Ok(())
    });
    let window = Arc::new(Semaphore::new(CONFIRM_WINDOW));
    let mut confirms = Vec::with_capacity(messages);
    let body = serde_json::json!({"job_id": uuid::Uuid::now_v7(), "attempt": 0}).to_string();
    for _ in 0..messages {
        let permit = window.clone().acquire_owned().await?;
        let confirm = publisher
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                body.as_bytes(),
                BasicProperties::default()
                    .with_delivery_mode(2)
                    .with_priority(2),
            )
            .await?;
        confirms.push(tokio::spawn(async move {
            let confirmation = confirm.await;
            drop(permit);
            confirmation
        }));
    }
    for confirm in confirms {
        confirm.await??;
    }
    consume.await??;
    let rate = messages as f64 / started.elapsed().as_secs_f64();
    publisher
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await?;
    connection.close(200, "done".into()).await.ok();
    Ok(rate)
}
