//! Every exchange and queue adsync uses, named from one configurable prefix and declared
//! idempotently by every process at startup.
//!
//! - `<prefix>.jobs`: direct exchange; routing key = connector name.
//! - `<prefix>.jobs.<connector>`: one durable queue per connector (a Meta outage does not
//!   block TikTok), with message priorities, dead-lettering to `<prefix>.dead`.
//! - `<prefix>.dead`: fanout exchange and queue for messages that cannot be processed at all
//!   (unparsable, or naming no job).

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, ExchangeKind};

use crate::config::RabbitmqConfig;
use crate::domain::ConnectorKind;

/// Highest message priority used (see `Trigger::priority`).
pub const MAX_PRIORITY: u8 = 3;

/// Names of the exchanges and queues under one prefix.
#[derive(Debug, Clone)]
pub struct Topology {
    prefix: String,
    queue_expires_ms: u32,
}

impl Topology {
    pub fn new(config: &RabbitmqConfig) -> Self {
        Self {
            prefix: config.prefix.clone(),
            queue_expires_ms: config.queue_expires_ms,
        }
    }

    pub fn jobs_exchange(&self) -> String {
        format!("{}.jobs", self.prefix)
    }

    pub fn jobs_queue(&self, connector: ConnectorKind) -> String {
        format!("{}.jobs.{}", self.prefix, connector.as_str())
    }

    pub fn dead_exchange(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    pub fn dead_queue(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    fn queue_arguments(&self, dead_letter: bool) -> FieldTable {
        let mut arguments = FieldTable::default();
        if dead_letter {
            arguments.insert(
                ShortString::from("x-max-priority"),
                AMQPValue::ShortShortUInt(MAX_PRIORITY),
            );
            arguments.insert(
                ShortString::from("x-dead-letter-exchange"),
                AMQPValue::LongString(self.dead_exchange().into()),
            );
        }
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
        channel
            .queue_declare(
                self.dead_queue().into(),
                QueueDeclareOptions::durable(),
                self.queue_arguments(false),
            )
            .await?;
        channel
            .queue_bind(
                self.dead_queue().into(),
                self.dead_exchange().into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
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
            channel
                .queue_declare(
                    self.jobs_queue(connector).into(),
                    QueueDeclareOptions::durable(),
                    self.queue_arguments(true),
                )
                .await?;
            channel
                .queue_bind(
                    self.jobs_queue(connector).into(),
                    self.jobs_exchange().into(),
                    connector.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn every_name_starts_with_the_prefix() {
        let topology = Topology::new(&RabbitmqConfig {
            url: Secret::new("amqp://x"),
            prefix: "t_42".into(),
            prefetch: 1,
            queue_expires_ms: 0,
        });
        assert_eq!(topology.jobs_exchange(), "t_42.jobs");
        assert_eq!(
            topology.jobs_queue(ConnectorKind::MetaAds),
            "t_42.jobs.meta_ads"
        );
        assert_eq!(topology.dead_queue(), "t_42.dead");
        assert!(topology.queue_arguments(false).inner().is_empty());
    }
}
