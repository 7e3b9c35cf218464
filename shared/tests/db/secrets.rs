//! Secrets at rest, and migrations that can run again.

use shared::config::{CryptoConfig, DatabaseConfig, Secret};
use shared::crypto::KeyRing;
use shared::db::connections::{self, OAuthTokens, StoredTokens, TokensError};
use shared::db::{destinations, key_rotation, webhooks};
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

#[tokio::test]
async fn rotation_reseals_every_secret_under_the_active_key_so_the_old_key_can_go() {
    // Arrange: two tenants' tokens and a destination's credentials, sealed under key A.
    let database = TestDatabase::create().await;
    let pool = pool(&database);
    let key_a = KeyRing::generate_key();
    let key_b = KeyRing::generate_key();
    let only_a = ring("a", &[("a", &key_a)]);
    let first = meta_sync(&pool, &only_a, MetaSyncOptions::default()).await;
    let second = meta_sync(
        &pool,
        &only_a,
        MetaSyncOptions {
            access_token: "second-token".into(),
            ..MetaSyncOptions::default()
        },
    )
    .await;
    let client = pool.get().await.unwrap();
    let stored = StoredTokens {
        tokens: OAuthTokens {
            access_token: "sheets-access".into(),
            refresh_token: Some("sheets-refresh".into()),
        },
        expires_at: None,
    };
    destinations::store_tokens(
        &client,
        &only_a,
        first.tenant.id,
        first.destination.id,
        &stored,
    )
    .await
    .unwrap();
    webhooks::store_secret(
        &client,
        &only_a,
        second.tenant.id,
        second.sync.id,
        "hook-secret",
    )
    .await
    .unwrap();
    let under = |key: &'static str| {
        let client = &client;
        async move {
            client
                .query_one(
                    "SELECT (SELECT count(*) FROM connections WHERE key_id = $1)
                          + (SELECT count(*) FROM destinations WHERE key_id = $1)
                          + (SELECT count(*) FROM sync_webhooks WHERE key_id = $1)",
                    &[&key],
                )
                .await
                .unwrap()
                .get::<_, i64>(0)
        }
    };
    assert_eq!(under("a").await, 4);

    // Act: B becomes active with A still in the ring; rotate; then rotate again.
    let a_and_b = ring("b", &[("a", &key_a), ("b", &key_b)]);
    let report = key_rotation::rotate(&pool, &a_and_b, 1).await.unwrap();
    let again = key_rotation::rotate(&pool, &a_and_b, 1).await.unwrap();

    // Assert: everything moved to B (one row per batch here), a second run changes nothing,
    // and with A removed from the configuration every secret still opens.
    assert_eq!(report.total(), 4, "{report:?}");
    assert_eq!(report.remaining, 0);
    assert_eq!(again.total(), 0, "{again:?}");
    assert_eq!((under("a").await, under("b").await), (0, 4));
    let only_b = ring("b", &[("b", &key_b)]);
    for (fixture, token) in [(&first, "sandbox-token"), (&second, "second-token")] {
        let tokens =
            connections::open_tokens(&client, &only_b, fixture.tenant.id, fixture.connection.id)
                .await
                .unwrap();
        assert_eq!(tokens.access_token, token);
    }
    let (credentials, _) = destinations::read_credentials(
        &client,
        &only_b,
        first.tenant.id,
        first.destination.id,
        false,
    )
    .await
    .unwrap();
    assert!(credentials == destinations::Credentials::OAuth(stored.tokens.clone()));
    let (_, secret) = webhooks::open_secret(&client, &only_b, second.sync.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(secret, b"hook-secret");
}

#[tokio::test]
async fn rotation_stops_at_a_row_whose_key_is_missing_and_names_it() {
    let database = TestDatabase::create().await;
    let pool = pool(&database);
    let key_a = KeyRing::generate_key();
    let fixture = meta_sync(
        &pool,
        &ring("a", &[("a", &key_a)]),
        MetaSyncOptions::default(),
    )
    .await;
    let only_b = ring("b", &[("b", &KeyRing::generate_key())]);

    let error = key_rotation::rotate(&pool, &only_b, 10)
        .await
        .unwrap_err()
        .to_string();

    assert!(
        error.contains(&fixture.connection.id.to_string()) && error.contains("\"a\""),
        "{error}"
    );
    let still_a: i64 = pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM connections WHERE key_id = 'a'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(still_a, 1, "nothing of the failed batch was written");
}
