//! Persistent publishing with publisher confirms, over a connection that is re-established
//! whenever it is found broken.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::try_join_all;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection};
use tokio::sync::Mutex;
use tracing::Instrument as _;

use super::{BrokerStatus, JobMessage, Topology};
use crate::config::RabbitmqConfig;
use crate::db::jobs::Dispatch;
use crate::domain::ConnectorKind;
use crate::telemetry;

/// How long a publish waits for the broker to come back before giving up (the relay, or the
/// next relay pass, publishes later).
const RECONNECT_PATIENCE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("rabbitmq: {0}")]
    Broker(#[from] lapin::Error),
    #[error("rabbitmq refused {0} message(s) (nack)")]
    Nacked(usize),
}

/// One job message to publish.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub message: JobMessage,
    pub connector: ConnectorKind,
    pub priority: u8,
    /// The trace to continue (the job creator's); without one, the current span's.
    pub traceparent: Option<String>,
}

/// One queue's backlog, as the broker reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDepth {
    pub name: String,
    /// Messages ready for delivery (not counting those delivered and unacknowledged).
    pub messages: Option<u32>,
    pub consumers: Option<u32>,
}

/// Channels published on, in turn. A channel is one process on the broker, so concurrent
/// publishers (the relay's lanes) scale across the broker's cores only on separate channels.
const CHANNELS: usize = 4;

struct Session {
    connection: Connection,
    channels: Vec<Channel>,
}

/// Publishes job messages on a channel in confirm mode. Cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    config: RabbitmqConfig,
    name: String,
    topology: Topology,
    session: Arc<Mutex<Option<Session>>>,
    next_channel: Arc<AtomicUsize>,
    status: BrokerStatus,
}

impl Publisher {
    /// Connects now (waiting up to `patience` for the broker) and declares the topology.
    pub async fn connect(
        config: &RabbitmqConfig,
        name: &str,
        patience: Duration,
    ) -> Result<Self, PublishError> {
        let publisher = Self {
            config: config.clone(),
            name: name.to_string(),
            topology: Topology::new(config),
            session: Arc::new(Mutex::new(None)),
            next_channel: Arc::new(AtomicUsize::new(0)),
            status: BrokerStatus::default(),
        };
        publisher.channel(patience).await?;
        Ok(publisher)
    }

    /// The state of the publisher's connection, for `/readyz`.
    pub fn status(&self) -> BrokerStatus {
        self.status.clone()
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The next open channel, or a new connection and channels if the old ones broke.
    async fn channel(&self, patience: Duration) -> Result<Channel, PublishError> {
        let turn = self.next_channel.fetch_add(1, Ordering::Relaxed) % CHANNELS;
        let mut session = self.session.lock().await;
        if let Some(open) = session.as_ref()
            && open.connection.status().connected()
            && open.channels[turn].status().connected()
        {
            return Ok(open.channels[turn].clone());
        }
        let reconnecting = session.is_some();
        if let Some(broken) = session.take() {
            broken
                .connection
                .close(200, "reconnecting".into())
                .await
                .ok();
        }
        let connection = super::connect(&self.config, &self.name, patience).await?;
        if reconnecting {
            telemetry::count_reconnect(telemetry::Backend::Rabbitmq);
        }
        let mut channels = Vec::with_capacity(CHANNELS);
        for _ in 0..CHANNELS {
            let channel = connection.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            channels.push(channel);
        }
        self.topology.declare(&channels[0]).await?;
        self.status.set(connection.status().clone());
        let chosen = channels[turn].clone();
        *session = Some(Session {
            connection,
            channels,
        });
        Ok(chosen)
    }

    /// Publishes every message persistently and waits until the broker has confirmed them all.
    pub async fn publish(&self, batch: &[Outgoing]) -> Result<(), PublishError> {
        let channel = self.channel(RECONNECT_PATIENCE).await?;
        let mut confirms = Vec::with_capacity(batch.len());
        for outgoing in batch {
            // One span per message, in the trace of whoever created the job; the worker's job
            // span becomes its child through the message's `traceparent` header.
            let span = tracing::info_span!(
                "publish",
                job_id = %outgoing.message.job_id,
                connector = %outgoing.connector,
                attempt = outgoing.message.attempt,
            );
            if let Some(parent) = &outgoing.traceparent {
                telemetry::set_remote_parent(&span, parent);
            }
            let mut headers = FieldTable::default();
            let traceparent = telemetry::traceparent_of(&span)
                .or_else(|| outgoing.traceparent.clone())
                .or_else(telemetry::current_traceparent);
            if let Some(traceparent) = traceparent {
                headers.insert(
                    ShortString::from("traceparent"),
                    AMQPValue::LongString(traceparent.into()),
                );
            }
            let properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("application/json".into())
                .with_priority(outgoing.priority)
                .with_headers(headers);
            let confirm = channel
                .basic_publish(
                    self.topology.jobs_exchange().into(),
                    self.topology
                        .routing_key(outgoing.connector, outgoing.priority)
                        .into(),
                    BasicPublishOptions::default(),
                    &outgoing.message.to_bytes(),
                    properties,
                )
                .instrument(span)
                .await?;
            confirms.push(confirm);
        }
        let confirmations = try_join_all(confirms).await?;
        let nacked = confirmations
            .iter()
            .filter(|c| matches!(c, Confirmation::Nack(_)))
            .count();
        if nacked > 0 {
            return Err(PublishError::Nacked(nacked));
        }
        Ok(())
    }

    /// Messages ready and consumers attached on every job queue and the dead-letter queue, read
    /// with passive declarations (no management API needed) on a channel of their own: a
    /// passive declaration of a missing queue closes its channel, and the publishing channels
    /// must not be the ones closed. A queue that could not be read has `None` counts.
    pub async fn queue_depths(&self) -> Result<Vec<QueueDepth>, PublishError> {
        self.channel(RECONNECT_PATIENCE).await?;
        let channel = {
            let session = self.session.lock().await;
            match session.as_ref() {
                Some(open) => open.connection.create_channel().await?,
                None => {
                    return Err(PublishError::Broker(lapin::Error::from(
                        lapin::ErrorKind::InvalidConnectionState(lapin::ConnectionState::Closed),
                    )));
                }
            }
        };
        let mut names = self.topology.consumed_queues();
        names.push(self.topology.dead_queue());
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let declared = futures_util::future::join_all(names.iter().map(|name| {
            channel.queue_declare(name.as_str().into(), passive, FieldTable::default())
        }))
        .await;
        channel.close(200, "queue depths read".into()).await.ok();
        Ok(names
            .into_iter()
            .zip(declared)
            .map(|(name, declared)| {
                let queue = declared.ok();
                QueueDepth {
                    name,
                    messages: queue.as_ref().map(|q| q.message_count()),
                    consumers: queue.as_ref().map(|q| q.consumer_count()),
                }
            })
            .collect())
    }

    /// Publishes one message per job.
    pub async fn publish_jobs(&self, jobs: &[Dispatch]) -> Result<(), PublishError> {
        let batch: Vec<Outgoing> = jobs
            .iter()
            .map(|job| Outgoing {
                message: JobMessage {
                    job_id: job.job_id,
                    attempt: job.attempt,
                },
                connector: job.connector,
                priority: job.priority,
                traceparent: job.traceparent.clone(),
            })
            .collect();
        self.publish(&batch).await
    }
}
