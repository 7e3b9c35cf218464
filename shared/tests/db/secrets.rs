//! Secrets at rest, and migrations that can run again.

use shared::config::{CryptoConfig, DatabaseConfig, Secret};
use shared::crypto::KeyRing;
use shared::db::connections::{self, TokensError};
use testkit::TestDatabase;
use testkit::fixtures::{MetaSyncOptions, meta_sync};

fn pool(database: &TestDatabase) -> shared::db::Pool {
    shared::db::pool(&DatabaseConfig {
        url: Secret::new(database.url()),
        pool_size: 2,
        connect_timeout_ms: 5000,
    })
    .unwrap()
}

fn ring(active: &str, keys: &[(&str, &str)]) -> KeyRing {
    KeyRing::from_config(&CryptoConfig {
        active_key_id: active.into(),
        keys: keys
            .iter()
            .map(|(id, key)| (id.to_string(), Secret::new(*key)))
            .collect(),
    })
    .unwrap()
}

#[tokio::test]
async fn a_ciphertext_copied_onto_another_tenants_connection_does_not_decrypt() {
    let database = TestDatabase::create().await;
    let pool = pool(&database);
    let key = KeyRing::generate_key();
    let keys = ring("k", &[("k", &key)]);
    let victim = meta_sync(&pool, &keys, MetaSyncOptions::default()).await;
    let attacker = meta_sync(
        &pool,
        &keys,
        MetaSyncOptions {
            access_token: "attacker-token".into(),
            ..MetaSyncOptions::default()
        },
    )
    .await;
    let client = pool.get().await.unwrap();
    client
        .execute(
            "UPDATE connections SET (key_id, token_nonce, token_ciphertext) =
                 (SELECT key_id, token_nonce, token_ciphertext FROM connections WHERE id = $1)
             WHERE id = $2",
            &[&victim.connection.id, &attacker.connection.id],
        )
        .await
        .unwrap();

    let opened =
        connections::open_tokens(&client, &keys, attacker.tenant.id, attacker.connection.id).await;

    assert!(
        matches!(opened, Err(TokensError::Crypto { .. })),
        "{opened:?}"
    );
    let own = connections::open_tokens(&client, &keys, victim.tenant.id, victim.connection.id)
        .await
        .unwrap();
    assert_eq!(own.access_token, "sandbox-token");
}

#[tokio::test]
async fn tokens_sealed_under_a_retired_key_open_while_that_key_is_in_the_ring() {
    let database = TestDatabase::create().await;
    let pool = pool(&database);
    let old_key = KeyRing::generate_key();
    let new_key = KeyRing::generate_key();
    let fixture = meta_sync(
        &pool,
        &ring("old", &[("old", &old_key)]),
        MetaSyncOptions::default(),
    )
    .await;
    let client = pool.get().await.unwrap();

    let rotated = ring("new", &[("old", &old_key), ("new", &new_key)]);
    let without_old = ring("new", &[("new", &new_key)]);

    let tokens =
        connections::open_tokens(&client, &rotated, fixture.tenant.id, fixture.connection.id)
            .await
            .unwrap();
    assert_eq!(tokens.access_token, "sandbox-token");
    let missing = connections::open_tokens(
        &client,
        &without_old,
        fixture.tenant.id,
        fixture.connection.id,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(missing.contains("no key with id \"old\""), "{missing}");
}

#[tokio::test]
async fn migrations_can_run_again_without_changes() {
    let database = TestDatabase::create().await;
    let pool = pool(&database);
    let client = pool.get().await.unwrap();
    let applied = || async {
        client
            .query_one("SELECT count(*) FROM refinery_schema_history", &[])
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    let before = applied().await;

    shared::db::migrate(&pool).await.unwrap();
    shared::db::migrate(&pool).await.unwrap();

    assert!(before >= 2, "the template has every migration");
    assert_eq!(applied().await, before);
}
