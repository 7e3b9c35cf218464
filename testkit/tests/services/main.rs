//! Private service instances (`testkit::services`): a test's own PostgreSQL or RabbitMQ keeps its
//! data across a clean stop and a crash, each followed by a start on the same ports.

// Helpers outside #[test] functions unwrap too; a panic is how a test fails.
#![allow(clippy::unwrap_used)]

use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use testkit::services::{PrivateService, ServiceKind};
use tokio_postgres::NoTls;

const QUEUE: &str = "survivors";

async fn channel(broker: &PrivateService) -> (Connection, Channel) {
    let connection = Connection::connect(&broker.amqp_url(), ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    (connection, channel)
}

/// Publishes one persistent message and waits for the broker's confirm.
async fn publish_persistent(broker: &PrivateService, body: &[u8]) {
    let (connection, channel) = channel(broker).await;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    channel
        .queue_declare(
            QUEUE.into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let confirmation = channel
        .basic_publish(
            "".into(),
            QUEUE.into(),
            BasicPublishOptions::default(),
            body,
            BasicProperties::default().with_delivery_mode(2),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(confirmation.is_ack(), "{confirmation:?}");
    connection.close(200, "published".into()).await.unwrap();
}

async fn get(broker: &PrivateService) -> Option<Vec<u8>> {
    let (connection, channel) = channel(broker).await;
    let message = channel
        .basic_get(QUEUE.into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap();
    connection.close(200, "got".into()).await.unwrap();
    message.map(|message| message.delivery.data)
}

#[tokio::test]
async fn a_private_rabbitmq_keeps_persistent_messages_across_a_stop_and_a_crash() {
    // Arrange
    let broker = PrivateService::start(ServiceKind::RabbitMq).await;
    publish_persistent(&broker, b"before a clean stop").await;

    // Act
    broker.stop().await;
    broker.start_again().await;

    // Assert
    assert_eq!(
        get(&broker).await.as_deref(),
        Some(&b"before a clean stop"[..])
    );
    assert_eq!(get(&broker).await, None);

    // Act: a crash this time.
    publish_persistent(&broker, b"before a crash").await;
    broker.kill().await;
    broker.start_again().await;

    // Assert
    assert_eq!(get(&broker).await.as_deref(), Some(&b"before a crash"[..]));
}

async fn client(database: &PrivateService) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&database.database_url(), NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

async fn count(database: &PrivateService) -> i64 {
    client(database)
        .await
        .query_one("SELECT count(*) FROM survivors", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_private_postgres_keeps_committed_rows_across_a_stop_and_a_crash() {
    // Arrange
    let database = PrivateService::start(ServiceKind::Postgres).await;
    client(&database)
        .await
        .batch_execute(
            "CREATE TABLE survivors (n int); INSERT INTO survivors SELECT generate_series(1, 3)",
        )
        .await
        .unwrap();

    // Act
    database.stop().await;
    database.start_again().await;

    // Assert
    assert_eq!(count(&database).await, 3);

    // Act: a crash this time.
    client(&database)
        .await
        .batch_execute("INSERT INTO survivors VALUES (4)")
        .await
        .unwrap();
    database.kill().await;
    database.start_again().await;

    // Assert
    assert_eq!(count(&database).await, 4);
}
