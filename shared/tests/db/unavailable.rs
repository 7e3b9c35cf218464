//! A database out of reach is told apart from a statement the database refuses
//! (`DbError::is_unavailable`): callers answer the first with "try again later" (the api's
//! 503, a transient job failure) and treat the second as a fault.

use std::time::Duration;

use shared::db::DbError;
use testkit::logs::ExpectedLog;
use testkit::{TestDatabase, eventually};

fn pool(database: &TestDatabase) -> shared::db::Pool {
    shared::db::pool(&shared::config::DatabaseConfig {
        url: shared::config::Secret::new(database.url()),
        pool_size: 2,
        connect_timeout_ms: 5000,
    })
    .unwrap()
}

#[tokio::test]
async fn a_statement_cut_by_the_server_going_away_is_unavailable_and_a_refused_one_is_not() {
    // Arrange: a session, and another that will end it.
    let database = TestDatabase::create().await;
    let pool = pool(&database);
    let victim = pool.get().await.unwrap();
    let killer = pool.get().await.unwrap();
    let pid: i32 = victim
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let refused = DbError::from(victim.execute("SELEC 1", &[]).await.unwrap_err());
    // The pool reports the connection it lost.
    database.expect(ExpectedLog::warn("Connection error").target("deadpool.postgres"));

    // Act: the session is terminated while a statement runs (as in a restart), then used again.
    let (cut, terminated) = tokio::join!(victim.execute("SELECT pg_sleep(30)", &[]), async {
        eventually("the statement to run", Duration::from_secs(10), || async {
            killer
                .query_opt(
                    "SELECT 1 FROM pg_stat_activity
                     WHERE pid = $1 AND state = 'active' AND query LIKE 'SELECT pg_sleep%'",
                    &[&pid],
                )
                .await
                .unwrap()
                .map(|_| ())
        })
        .await;
        killer
            .query_one("SELECT pg_terminate_backend($1)", &[&pid])
            .await
            .unwrap()
            .get::<_, bool>(0)
    });
    let cut = DbError::from(cut.unwrap_err());
    let closed = DbError::from(victim.execute("SELECT 1", &[]).await.unwrap_err());

    // Assert
    assert!(terminated);
    assert!(
        !refused.is_unavailable(),
        "a syntax error is the statement's fault: {refused}"
    );
    assert!(cut.is_unavailable(), "{cut}");
    assert_eq!(cut.code().map(|code| code.code()), Some("57P01"), "{cut}");
    assert!(closed.is_unavailable(), "{closed}");
}
