//! RabbitMQ: the topology (declared from this one place), the job message, publishing with
//! publisher confirms, and connecting.
//!
//! RabbitMQ is only a delivery mechanism: PostgreSQL is the source of truth for job state, so
//! the queues may be purged without losing a job (the scheduler's relay republishes).

pub mod message;
pub mod publisher;
pub mod topology;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use lapin::{Connection, ConnectionProperties, ConnectionStatus};

use crate::config::RabbitmqConfig;

pub use message::JobMessage;
pub use publisher::{Outgoing, PublishError, Publisher, QueueDepth};
pub use topology::Topology;

/// The broker URL that worked last in this process, as an index into `rabbitmq.url`'s list;
/// the next connection tries it first. Processes therefore gather on the first listed node
/// that is up (where quorum queue leaders declared by them live too, which saves a hop), and
/// move together to the next when it dies.
static PREFERRED_URL: AtomicUsize = AtomicUsize::new(0);

/// Connects to the broker, retrying with backoff for up to about `patience`. With several URLs
/// (a cluster's nodes) each attempt tries them in turn, starting with the one that worked last,
/// and takes the first that answers.
pub async fn connect(
    config: &RabbitmqConfig,
    connection_name: &str,
    patience: Duration,
) -> Result<Connection, lapin::Error> {
    let urls: Vec<String> = config.urls().into_iter().map(str::to_string).collect();
    let name = connection_name.to_string();
    let attempt = || {
        let urls = urls.clone();
        let name = name.clone();
        async move {
            let first = PREFERRED_URL.load(Ordering::Relaxed);
            let mut last_error = None;
            for offset in 0..urls.len() {
                let index = (first + offset) % urls.len();
                let properties =
                    ConnectionProperties::default().with_connection_name(name.clone().into());
                match Connection::connect(&urls[index], properties).await {
                    Ok(connection) => {
                        PREFERRED_URL.store(index, Ordering::Relaxed);
                        return Ok(connection);
                    }
                    Err(error) => {
                        if urls.len() > 1 {
                            // The position, not the URL: it holds the password.
                            tracing::info!(%error, node = index + 1, of = urls.len(), "rabbitmq node unreachable, trying the next");
                        }
                        last_error = Some(error);
                    }
                }
            }
            Err(last_error.unwrap_or_else(|| {
                lapin::Error::from(lapin::ErrorKind::InvalidConnectionState(
                    lapin::ConnectionState::Closed,
                ))
            }))
        }
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
