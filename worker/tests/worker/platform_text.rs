//! What a platform sends that PostgreSQL cannot store, and a request adsync cannot send: a NUL
//! in a campaign name is kept as U+FFFD and the job succeeds; a stored token that cannot go in a
//! header fails the job as permanent without a request, never blaming the platform.

use std::collections::BTreeMap;

use sandbox::Connector;
use sandbox::meta_ads::CONTROL_NAMES_ACCOUNT_ID;
use shared::db::connections::OAuthTokens;
use shared::domain::{ConnectorKind, JobState};
use testkit::TestWorld;
use testkit::fixtures::{MetaSyncOptions, SyncOptions, meta_sync, sync_fixture};
use testkit::logs::ExpectedLog;
use worker::Outcome;

use crate::{enqueue, job};

#[tokio::test]
async fn a_nul_in_a_campaign_name_is_stored_as_a_replacement_character() {
    // Arrange: an account whose campaign names hold U+0000 and U+0001.
    let world = TestWorld::start().await;
    let fixture = meta_sync(
        &world.pool,
        &world.keys,
        MetaSyncOptions {
            account_id: CONTROL_NAMES_ACCOUNT_ID.into(),
            lookback_days: 5,
            ..MetaSyncOptions::default()
        },
    )
    .await;
    let worker = world.worker();

    // Act
    let id = enqueue(&world, &fixture).await;
    let outcome = worker.execute_one(id).await.unwrap();

    // Assert: the job succeeded and every name is the platform's, NUL replaced, U+0001 kept.
    assert!(matches!(outcome, Outcome::Succeeded(_)), "{outcome:?}");
    assert_eq!(job(&world, id).await.state, JobState::Succeeded);
    let client = world.pool.get().await.unwrap();
    let stored: BTreeMap<String, String> = client
        .query(
            "SELECT DISTINCT campaign_id, campaign_name FROM warehouse.meta_ads_campaign
             WHERE sync_id = $1",
            &[&fixture.sync.id],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert!(!stored.is_empty(), "the account delivered rows");
    let facts = sandbox::meta_ads::account(CONTROL_NAMES_ACCOUNT_ID).unwrap();
    for (campaign_id, name) in &stored {
        let campaign = facts
            .campaigns
            .iter()
            .find(|campaign| &campaign.id == campaign_id)
            .unwrap();
        assert!(campaign.name.contains('\0'));
        assert_eq!(name, &campaign.name.replace('\0', "\u{FFFD}"));
        assert!(name.contains('\u{1}'));
    }
    world.stop().await;
}

#[tokio::test]
async fn a_token_that_cannot_be_sent_fails_the_job_as_permanent_without_a_request() {
    // Arrange: a Google Ads connection whose stored token (inserted below the API, which now
    // refuses it) holds a control character, which no HTTP header may carry.
    let world = TestWorld::start().await;
    let customer = sandbox::google_ads::GoogleAdsConfig::default().accessible_customers[0].clone();
    let facts = sandbox::google_ads::customer(&customer).unwrap();
    let report = connectors::catalogue(ConnectorKind::GoogleAds)
        .performance("campaign", &["clicks"])
        .unwrap();
    let mut options = SyncOptions::new(
        ConnectorKind::GoogleAds,
        &customer,
        facts.time_zone.name(),
        facts.currency.code(),
        report,
    );
    options.tokens = OAuthTokens {
        access_token: "ya29\u{1}x".into(),
        refresh_token: None,
    };
    let fixture = sync_fixture(&world.pool, &world.keys, options).await;
    let worker = world.worker();

    // Act
    let id = enqueue(&world, &fixture).await;
    world.expect(
        ExpectedLog::job_failed("permanent")
            .field("job_id", id)
            .field_containing("error", "could not be built"),
    );
    let outcome = worker.execute_one(id).await.unwrap();

    // Assert
    assert_eq!(outcome, Outcome::Failed { class: "permanent" });
    let failed = job(&world, id).await;
    let message = failed.error_message.unwrap_or_default();
    assert!(
        message.contains("nothing was sent to the platform"),
        "{message}"
    );
    assert!(
        !message.contains("ya29"),
        "the token is not repeated: {message}"
    );
    assert!(
        world.sandbox.requests_for(Connector::GoogleAds).is_empty(),
        "no request reached Google"
    );
    world.stop().await;
}
