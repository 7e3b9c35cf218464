//! Persistent publishing with publisher confirms.

use futures_util::future::try_join_all;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection};

use super::{JobMessage, Topology};
use crate::db::jobs::Dispatch;
use crate::domain::ConnectorKind;
use crate::telemetry;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("rabbitmq: {0}")]
    Broker(#[from] lapin::Error),
    #[error("rabbitmq refused {0} message(s) (nack)")]
    Nacked(usize),
}

/// One job message to publish.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing {
    pub message: JobMessage,
    pub connector: ConnectorKind,
    pub priority: u8,
}

/// Publishes job messages on a channel in confirm mode.
#[derive(Clone)]
pub struct Publisher {
    channel: Channel,
    topology: Topology,
}

impl Publisher {
    pub async fn new(connection: &Connection, topology: Topology) -> Result<Self, PublishError> {
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(Self { channel, topology })
    }

    /// Publishes every message persistently and waits until the broker has confirmed them all.
    pub async fn publish(&self, batch: &[Outgoing]) -> Result<(), PublishError> {
        let mut confirms = Vec::with_capacity(batch.len());
        for outgoing in batch {
            let mut headers = FieldTable::default();
            if let Some(traceparent) = telemetry::current_traceparent() {
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
            let confirm = self
                .channel
                .basic_publish(
                    self.topology.jobs_exchange().into(),
                    outgoing.connector.as_str().into(),
                    BasicPublishOptions::default(),
                    &outgoing.message.to_bytes(),
                    properties,
                )
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
            })
            .collect();
        self.publish(&batch).await
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }
}
