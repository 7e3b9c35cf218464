//! Rows inserted straight through the repositories, for tests that start below the API.

use chrono::{DateTime, Duration, Utc};
use shared::crypto::KeyRing;
use shared::db::accounts::{self, Account, NewAccount};
use shared::db::connections::{self, Connection, NewConnection, OAuthTokens};
use shared::db::destinations::{self, Destination};
use shared::db::syncs::{self, NewSync, SyncDefinition};
use shared::db::tenants::{self, Tenant};
use shared::db::{GenericClient, Pool};
use shared::domain::{ConnectionId, ConnectorKind, DestinationKind, Plan, ReportSpec};

/// A tenant with one connection, one account, a warehouse destination and a sync.
#[derive(Debug, Clone)]
pub struct SyncFixture {
    pub tenant: Tenant,
    pub connection: Connection,
    pub account: Account,
    pub destination: Destination,
    pub sync: SyncDefinition,
}

/// What [`sync_fixture`] creates.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub connector: ConnectorKind,
    pub account_id: String,
    pub time_zone: String,
    pub currency: String,
    pub tokens: OAuthTokens,
    pub token_expires_at: Option<DateTime<Utc>>,
    /// The connection's platform settings (Google Ads' `login_customer_id`).
    pub connection_settings: serde_json::Value,
    pub report: ReportSpec,
    pub lookback_days: i32,
}

impl SyncOptions {
    /// A sync of `report` for one account, with a token that never expires and no refresh token.
    pub fn new(
        connector: ConnectorKind,
        account_id: &str,
        time_zone: &str,
        currency: &str,
        report: ReportSpec,
    ) -> Self {
        Self {
            connector,
            account_id: account_id.into(),
            time_zone: time_zone.into(),
            currency: currency.into(),
            tokens: OAuthTokens {
                access_token: "sandbox-token".into(),
                refresh_token: None,
            },
            token_expires_at: None,
            connection_settings: serde_json::json!({}),
            report,
            lookback_days: 3,
        }
    }
}

/// Options for [`meta_sync`].
#[derive(Debug, Clone)]
pub struct MetaSyncOptions {
    pub account_id: String,
    pub time_zone: String,
    pub currency: String,
    pub access_token: String,
    pub lookback_days: i32,
}

impl Default for MetaSyncOptions {
    fn default() -> Self {
        Self {
            account_id: "1001".into(),
            time_zone: "Europe/Berlin".into(),
            currency: "EUR".into(),
            access_token: "sandbox-token".into(),
            lookback_days: 3,
        }
    }
}

pub async fn tenant(client: &impl GenericClient, name: &str) -> Tenant {
    tenants::insert(client, name, Plan::Pro, tenants::DEFAULT_MAX_RUNNING_JOBS)
        .await
        .expect("insert tenant")
}

/// A tenant's Meta sync at campaign level (impressions, clicks, spend, reach), due in a day.
pub async fn meta_sync(pool: &Pool, keys: &KeyRing, options: MetaSyncOptions) -> SyncFixture {
    let report = ReportSpec::performance(
        ConnectorKind::MetaAds,
        "campaign",
        &["impressions", "clicks", "spend", "reach"],
    )
    .expect("valid report");
    let mut sync = SyncOptions::new(
        ConnectorKind::MetaAds,
        &options.account_id,
        &options.time_zone,
        &options.currency,
        report,
    );
    sync.tokens.access_token = options.access_token;
    sync.lookback_days = options.lookback_days;
    sync_fixture(pool, keys, sync).await
}

/// A tenant with a connection holding `options.tokens`, the account, a warehouse destination
/// and a sync of the report, due in a day.
pub async fn sync_fixture(pool: &Pool, keys: &KeyRing, options: SyncOptions) -> SyncFixture {
    let client = pool.get().await.expect("database connection");
    let tenant = tenant(&client, "Fixture Agency").await;
    let id = ConnectionId::new();
    let sealed =
        connections::seal_tokens(keys, tenant.id, id, &options.tokens).expect("seal tokens");
    let connection = connections::insert(
        &client,
        NewConnection {
            id,
            tenant_id: tenant.id,
            connector: options.connector,
            name: "Fixture login",
            sealed: &sealed,
            access_token_expires_at: options.token_expires_at,
            settings: &options.connection_settings,
        },
    )
    .await
    .expect("insert connection");
    let account = accounts::insert(
        &client,
        NewAccount {
            tenant_id: tenant.id,
            connection_id: connection.id,
            connector: options.connector,
            external_id: &options.account_id,
            name: "Fixture account",
            time_zone: &options.time_zone,
            currency: &options.currency,
        },
    )
    .await
    .expect("insert account")
    .expect("account is new");
    let destination = destinations::insert(
        &client,
        destinations::NewDestination {
            id: shared::domain::DestinationId::new(),
            tenant_id: tenant.id,
            kind: DestinationKind::Warehouse,
            name: "Warehouse",
            settings: &serde_json::json!({"schema": "warehouse"}),
            sealed: None,
            access_token_expires_at: None,
        },
    )
    .await
    .expect("insert destination");
    let sync = syncs::insert(
        &client,
        NewSync {
            tenant_id: tenant.id,
            account_id: account.id,
            destination_id: destination.id,
            connector: options.connector,
            report: &options.report,
            cron: "0 6 * * *",
            time_zone: &options.time_zone,
            fresh_days: options.lookback_days.min(3),
            lookback_days: options.lookback_days,
            enabled: true,
            next_run_at: Utc::now() + Duration::days(1),
        },
    )
    .await
    .expect("insert sync");
    SyncFixture {
        tenant,
        connection,
        account,
        destination,
        sync,
    }
}
