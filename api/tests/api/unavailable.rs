//! The database out of reach answers 503 `unavailable`, which a client may retry — also when the
//! connection in use is cut under a statement, as when PostgreSQL restarts — while a statement
//! the database refuses is our fault: 500 `internal`.

use std::time::Duration;

use api::error::ApiError;
use axum::response::IntoResponse as _;
use shared::db::DbError;
use testkit::logs::ExpectedLog;
use testkit::{TestWorld, eventually};
use tokio_postgres::NoTls;

async fn answer(error: tokio_postgres::Error) -> (u16, serde_json::Value) {
    let response = ApiError::from(DbError::from(error)).into_response();
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn a_connection_lost_under_a_statement_answers_503_and_a_refused_statement_500() {
    // Arrange: a session the server refuses a statement to, then ends.
    let world = TestWorld::start().await;
    let (client, connection) = tokio_postgres::connect(world.database.url(), NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let refused = client.execute("SELEC 1", &[]).await.unwrap_err();
    world
        .pool
        .get()
        .await
        .unwrap()
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    eventually("the session to end", Duration::from_secs(10), || async {
        client.is_closed().then_some(())
    })
    .await;
    let lost = client.execute("SELECT 1", &[]).await.unwrap_err();
    world.expect(ExpectedLog::warn("request failed: dependency unavailable").target("api"));
    world.expect(
        ExpectedLog::error("request failed")
            .target("api")
            .field_containing("error", "syntax error"),
    );

    // Act
    let (lost_status, lost_body) = answer(lost).await;
    let (refused_status, refused_body) = answer(refused).await;

    // Assert
    assert_eq!(
        (lost_status, lost_body["code"].as_str()),
        (503, Some("unavailable")),
        "{lost_body}"
    );
    assert_eq!(
        (refused_status, refused_body["code"].as_str()),
        (500, Some("internal")),
        "{refused_body}"
    );
    assert!(
        !refused_body.to_string().contains("SELEC"),
        "the statement stays out of the answer: {refused_body}"
    );
}
