//! Every exchange and queue adsync uses, named from one configurable prefix and declared
//! idempotently by every process at startup.
//!
//! - `<prefix>.jobs`: direct exchange.
//! - `<prefix>.jobs.<connector>`: one durable queue per connector (a Meta outage does not hold
//!   up TikTok), dead-lettering to `<prefix>.dead`. With classic queues
//!   (`rabbitmq.queue_type = "classic"`) it carries message priorities. Quorum queues (for a
//!   clustered broker) have no priorities in RabbitMQ 3.10, so high-priority messages (manual
//!   and webhook runs) go to their own queue `<prefix>.jobs.<connector>.high`, which workers
//!   consume on its own prefetch, so they never wait behind a backlog; and the broker's
//!   delivery limit dead-letters a message redelivered too often.
//! - `<prefix>.dead`: fanout exchange and queue for messages that cannot be processed at all
//!   (a quorum queue too with quorum queues, so it survives the loss of a node).

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, ExchangeKind};

use crate::config::{QueueType, RabbitmqConfig};
use crate::domain::ConnectorKind;

/// Highest message priority used (see `Trigger::priority`).
pub const MAX_PRIORITY: u8 = 3;

/// Names of the exchanges and queues under one prefix.
#[derive(Debug, Clone)]
pub struct Topology {
    prefix: String,
    queue_type: QueueType,
    delivery_limit: u32,
    queue_expires_ms: u32,
}

impl Topology {
    pub fn new(config: &RabbitmqConfig) -> Self {
        Self {
            prefix: config.prefix.clone(),
            queue_type: config.queue_type,
            delivery_limit: config.delivery_limit,
            queue_expires_ms: config.queue_expires_ms,
        }
    }

    pub fn jobs_exchange(&self) -> String {
        format!("{}.jobs", self.prefix)
    }

    /// The queue of a connector's jobs (its normal-priority queue with quorum queues).
    pub fn jobs_queue(&self, connector: ConnectorKind) -> String {
        format!("{}.jobs.{}", self.prefix, connector.as_str())
    }

    /// With quorum queues, the queue of a connector's high-priority jobs.
    pub fn high_priority_queue(&self, connector: ConnectorKind) -> String {
        format!("{}.jobs.{}.high", self.prefix, connector.as_str())
    }

    pub fn dead_exchange(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    pub fn dead_queue(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    /// The routing key of a job message.
    pub fn routing_key(&self, connector: ConnectorKind, priority: u8) -> String {
        match self.queue_type {
            QueueType::Quorum if priority >= MAX_PRIORITY => format!("{}.high", connector.as_str()),
            QueueType::Classic | QueueType::Quorum => connector.as_str().to_string(),
        }
    }

    /// Every queue a worker consumes.
    pub fn consumed_queues(&self) -> Vec<String> {
        ConnectorKind::ALL
            .into_iter()
            .flat_map(|connector| match self.queue_type {
                QueueType::Classic => vec![self.jobs_queue(connector)],
                QueueType::Quorum => vec![
                    self.high_priority_queue(connector),
                    self.jobs_queue(connector),
                ],
            })
            .collect()
    }

    fn job_queue_arguments(&self) -> FieldTable {
        let mut arguments = FieldTable::default();
        arguments.insert(
            ShortString::from("x-dead-letter-exchange"),
            AMQPValue::LongString(self.dead_exchange().into()),
        );
        match self.queue_type {
            QueueType::Classic => {
                arguments.insert(
                    ShortString::from("x-max-priority"),
                    AMQPValue::ShortShortUInt(MAX_PRIORITY),
                );
            }
            QueueType::Quorum => {
                arguments.insert(
                    ShortString::from("x-queue-type"),
                    AMQPValue::LongString("quorum".into()),
                );
                arguments.insert(
                    ShortString::from("x-delivery-limit"),
                    AMQPValue::LongUInt(self.delivery_limit),
                );
            }
        }
        self.with_expiry(arguments)
    }

    /// The dead-letter queue is replicated like the job queues: a classic queue lives on one
    /// node, and once that node is down every declaration of the topology fails.
    fn dead_queue_arguments(&self) -> FieldTable {
        let mut arguments = FieldTable::default();
        match self.queue_type {
            QueueType::Classic => {}
            QueueType::Quorum => {
                arguments.insert(
                    ShortString::from("x-queue-type"),
                    AMQPValue::LongString("quorum".into()),
                );
            }
        }
        self.with_expiry(arguments)
    }

    fn with_expiry(&self, mut arguments: FieldTable) -> FieldTable {
        if self.queue_expires_ms > 0 {
            arguments.insert(
                ShortString::from("x-expires"),
                AMQPValue::LongUInt(self.queue_expires_ms),
            );
        }
        arguments
    }

    /// Declares everything. Idempotent; every process calls it at startup.
    pub async fn declare(&self, channel: &Channel) -> Result<(), lapin::Error> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        channel
            .exchange_declare(
                self.dead_exchange().into(),
                ExchangeKind::Fanout,
                durable,
                FieldTable::default(),
            )
            .await?;
        self.declare_queue(channel, self.dead_queue(), self.dead_queue_arguments())
            .await?;
        self.bind(
            channel,
            self.dead_queue(),
            self.dead_exchange(),
            String::new(),
        )
        .await?;
        channel
            .exchange_declare(
                self.jobs_exchange().into(),
                ExchangeKind::Direct,
                durable,
                FieldTable::default(),
            )
            .await?;
        for connector in ConnectorKind::ALL {
            let mut queues = vec![(self.jobs_queue(connector), self.routing_key(connector, 0))];
            if self.queue_type == QueueType::Quorum {
                queues.push((
                    self.high_priority_queue(connector),
                    self.routing_key(connector, MAX_PRIORITY),
                ));
            }
            for (queue, routing_key) in queues {
                self.declare_queue(channel, queue.clone(), self.job_queue_arguments())
                    .await?;
                self.bind(channel, queue, self.jobs_exchange(), routing_key)
                    .await?;
            }
        }
        Ok(())
    }

    async fn declare_queue(
        &self,
        channel: &Channel,
        queue: String,
        arguments: FieldTable,
    ) -> Result<(), lapin::Error> {
        channel
            .queue_declare(queue.into(), QueueDeclareOptions::durable(), arguments)
            .await
            .map(|_| ())
    }

    async fn bind(
        &self,
        channel: &Channel,
        queue: String,
        exchange: String,
        routing_key: String,
    ) -> Result<(), lapin::Error> {
        channel
            .queue_bind(
                queue.into(),
                exchange.into(),
                routing_key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn topology(queue_type: QueueType) -> Topology {
        Topology::new(&RabbitmqConfig {
            url: Secret::new("amqp://x"),
            prefix: "t_42".into(),
            prefetch: 1,
            queue_expires_ms: 0,
            queue_type,
            delivery_limit: 5,
        })
    }

    #[test]
    fn every_name_starts_with_the_prefix() {
        let topology = topology(QueueType::Classic);
        assert_eq!(topology.jobs_exchange(), "t_42.jobs");
        assert_eq!(
            topology.jobs_queue(ConnectorKind::MetaAds),
            "t_42.jobs.meta_ads"
        );
        assert_eq!(topology.dead_queue(), "t_42.dead");
        assert!(
            topology
                .with_expiry(FieldTable::default())
                .inner()
                .is_empty()
        );
    }

    #[test]
    fn classic_queues_carry_priorities_and_quorum_queues_split_them() {
        let classic = topology(QueueType::Classic);
        assert_eq!(classic.routing_key(ConnectorKind::MetaAds, 3), "meta_ads");
        assert_eq!(classic.consumed_queues().len(), ConnectorKind::ALL.len());
        assert!(
            classic
                .job_queue_arguments()
                .inner()
                .contains_key("x-max-priority")
        );

        let quorum = topology(QueueType::Quorum);
        assert_eq!(
            quorum.routing_key(ConnectorKind::MetaAds, 3),
            "meta_ads.high"
        );
        assert_eq!(quorum.routing_key(ConnectorKind::MetaAds, 2), "meta_ads");
        assert_eq!(quorum.consumed_queues()[0], "t_42.jobs.meta_ads.high");
        let arguments = quorum.job_queue_arguments();
        assert!(!arguments.inner().contains_key("x-max-priority"));
        assert!(arguments.inner().contains_key("x-delivery-limit"));
        assert!(
            quorum
                .dead_queue_arguments()
                .inner()
                .contains_key("x-queue-type")
        );
        assert!(
            !classic
                .dead_queue_arguments()
                .inner()
                .contains_key("x-queue-type")
        );
    }
}
