//! RabbitMQ: the topology (declared from this one place), the job message, publishing with
//! publisher confirms, and connecting.
//!
//! RabbitMQ is only a delivery mechanism: PostgreSQL is the source of truth for job state, so
//! the queues may be purged without losing a job (the scheduler's relay republishes).

pub mod message;
pub mod publisher;
pub mod topology;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use lapin::{Connection, ConnectionProperties, ConnectionStatus};

use crate::config::RabbitmqConfig;

pub use message::JobMessage;
pub use publisher::{Outgoing, PublishError, Publisher, QueueDepth};
pub use topology::Topology;

/// Connects to the broker, retrying with backoff for up to about `patience`.
pub async fn connect(
    config: &RabbitmqConfig,
    connection_name: &str,
    patience: Duration,
) -> Result<Connection, lapin::Error> {
    let url = config.url.expose().to_string();
    let name = connection_name.to_string();
    let attempt = || {
        let url = url.clone();
        let properties = ConnectionProperties::default().with_connection_name(name.clone().into());
        async move { Connection::connect(&url, properties).await }
    };
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(2))
        .with_total_delay(Some(patience))
        .without_max_times();
    attempt
        .retry(backoff)
        .notify(|error, delay| {
            tracing::warn!(%error, ?delay, "rabbitmq unreachable, retrying");
        })
        .await
}

/// Whether a process's current broker connection is up, for `/readyz`. Connections come and
/// go (reconnects); holders update it.
#[derive(Clone, Default)]
pub struct BrokerStatus(Arc<Mutex<Option<ConnectionStatus>>>);

impl BrokerStatus {
    pub fn set(&self, status: ConnectionStatus) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(status);
    }

    pub fn clear(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    pub fn is_connected(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(ConnectionStatus::connected)
    }
}
