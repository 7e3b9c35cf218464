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

/// What a run of `scripts/services.sh` left.
struct Run {
    succeeded: bool,
    stdout: String,
    stderr: String,
    dir: std::path::PathBuf,
}

/// Runs `scripts/services.sh` on a state directory that does not exist, with `vars` set.
fn script(args: &[&str], vars: &[(&str, &str)]) -> Run {
    let dir = std::env::temp_dir().join(format!(
        "adsync-cluster-args-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut command = std::process::Command::new(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/services.sh"),
    );
    command
        .args(args)
        .env("ADSYNC_SERVICES_DIR", &dir)
        .env_remove("ADSYNC_CLUSTER_AMQP_PORT")
        .env_remove("ADSYNC_CLUSTER_PG_PORT");
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    Run {
        succeeded: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        dir,
    }
}

#[test]
fn cluster_mode_refuses_bad_input_naming_it_and_starts_nothing() {
    for (args, vars, says) in [
        (
            &["up", "--cluster"][..],
            &[("ADSYNC_CLUSTER_AMQP_PORT", "5o00")][..],
            "ADSYNC_CLUSTER_AMQP_PORT=5o00 is not a port number",
        ),
        (
            &["up", "--cluster"],
            &[("ADSYNC_CLUSTER_PG_PORT", "80")],
            "ADSYNC_CLUSTER_PG_PORT=80 is not a port number",
        ),
        (
            &["up", "--cluster"],
            &[("ADSYNC_CLUSTER_AMQP_PORT", "65530")],
            "the 19 ports above it",
        ),
        (
            &["up", "--cluster"],
            &[
                ("ADSYNC_CLUSTER_AMQP_PORT", "30000"),
                ("ADSYNC_CLUSTER_PG_PORT", "30010"),
            ],
            "overlaps the RabbitMQ cluster's ports 30000..30019",
        ),
        (
            &["down", "--cluster", "rabbitmq-4", "--kill"],
            &[],
            "unknown cluster member: rabbitmq-4",
        ),
        (&["promote"], &[], "promote acts on the cluster"),
        (
            &["env", "--cluster", "postgres"],
            &[],
            "env takes no service name",
        ),
        (
            &["up", "--cluster", "--purge"],
            &[],
            "unknown option for up: --purge",
        ),
    ] {
        let run = script(args, vars);
        assert!(
            !run.succeeded,
            "{args:?} {vars:?} succeeded:\n{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(says),
            "{args:?} {vars:?}:\n{}",
            run.stderr
        );
        assert!(!run.dir.exists(), "{args:?} left {}", run.dir.display());
    }
}

#[test]
fn cluster_env_names_every_node_and_both_database_servers() {
    let run = script(
        &["env", "--cluster"],
        &[
            ("ADSYNC_CLUSTER_AMQP_PORT", "30100"),
            ("ADSYNC_CLUSTER_PG_PORT", "30200"),
        ],
    );
    assert!(run.succeeded, "{}", run.stderr);
    assert!(!run.dir.exists());
    let env = run.stdout;
    assert!(
        env.contains(
            "export ADSYNC__RABBITMQ__URL='amqp://guest:guest@127.0.0.1:30100/%2f,\
             amqp://guest:guest@127.0.0.1:30103/%2f,amqp://guest:guest@127.0.0.1:30106/%2f'"
        ),
        "{env}"
    );
    assert!(
        env.contains(
            "export ADSYNC__DATABASE__URL='postgres://postgres@127.0.0.1:30200,127.0.0.1:30201/adsync?target_session_attrs=read-write'"
        ),
        "{env}"
    );
    assert!(
        env.contains("export ADSYNC__RABBITMQ__QUEUE_TYPE='quorum'"),
        "{env}"
    );
    // What it prints is a configuration adsync accepts.
    let vars: Vec<(String, String)> = env
        .lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.to_string(), value.trim_matches('\'').to_string()))
        .collect();
    let config = shared::Config::load_from(None, vars).unwrap();
    assert_eq!(config.rabbitmq.urls().len(), 3);
}
