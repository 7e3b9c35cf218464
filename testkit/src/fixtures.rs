//! Rows inserted straight through the repositories, for tests that start below the API.

use chrono::{DateTime, Duration, Utc};
use shared::crypto::KeyRing;
use shared::db::accounts::{self, Account, NewAccount};
use shared::db::connections::{self, Connection, NewConnection, OAuthTokens};
use shared::db::destinations::{self, Destination};
use shared::db::syncs::{self, NewSync, SyncDefinition};
use shared::db::tenants::{self, Tenant};
use shared::db::{GenericClient, Pool};
use shared::domain::{
    AccountId, ConnectionId, ConnectorKind, DestinationKind, JobId, JobState, Plan, ReportSpec,
    SyncId, TenantId,
};

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
    /// The account's `reached_through`, as discovery records it (Google Ads: its manager).
    pub reached_through: Option<String>,
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
            reached_through: None,
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
    let report = connectors::catalogue(ConnectorKind::MetaAds)
        .performance("campaign", &["impressions", "clicks", "spend", "reach"])
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
            reached_through: options.reached_through.as_deref(),
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

/// A job as it stands at some point of its life, inserted directly, for tests of listings,
/// statistics and purges.
#[derive(Debug, Clone)]
pub struct JobAt {
    pub tenant_id: TenantId,
    pub sync_id: SyncId,
    pub account_id: AccountId,
    pub connector: ConnectorKind,
    pub state: JobState,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error_class: Option<String>,
}

impl JobAt {
    /// A pending job of the sync, created at `created_at`.
    pub fn pending(sync: &SyncDefinition, created_at: DateTime<Utc>) -> Self {
        Self {
            tenant_id: sync.tenant_id,
            sync_id: sync.id,
            account_id: sync.account_id,
            connector: sync.connector,
            state: JobState::Pending,
            created_at,
            finished_at: None,
            error_class: None,
        }
    }

    /// The same job in `state`, finished at `at`.
    pub fn finished(mut self, state: JobState, at: DateTime<Utc>) -> Self {
        self.state = state;
        self.finished_at = Some(at);
        self
    }
}

/// Inserts the job (its insert event is recorded by the trigger, as for any job).
pub async fn insert_job(client: &impl GenericClient, job: &JobAt) -> JobId {
    let id = JobId::new();
    let day = job.created_at.date_naive();
    client
        .execute(
            "INSERT INTO jobs (id, tenant_id, sync_id, account_id, connector, trigger, priority,
                 window_start, window_end, state, state_reason, max_attempts, dedup_key,
                 created_at, finished_at, error_class, error_message)
             VALUES ($1, $2, $3, $4, $5, 'manual', 1, $6, $6, $7, 'test', 3, $8, $9, $10, $11,
                 CASE WHEN $11::text IS NULL THEN NULL ELSE 'test failure' END)",
            &[
                &id,
                &job.tenant_id,
                &job.sync_id,
                &job.account_id,
                &job.connector.as_str(),
                &day,
                &job.state.as_str(),
                &format!("test:{id}"),
                &job.created_at,
                &job.finished_at,
                &job.error_class,
            ],
        )
        .await
        .expect("insert job");
    id
}

/// A job of the sync running under `worker_id`'s lease for an hour, inserted directly (no
/// claim, so it never counts against the tenant's cap in a claim), for tests and benchmarks
/// that drive a destination writer by hand: its commit checks this lease.
pub async fn running_job(
    client: &impl GenericClient,
    ids: (TenantId, SyncId, AccountId),
    connector: ConnectorKind,
    worker_id: &str,
) -> shared::db::jobs::Lease {
    let id = JobId::new();
    let (tenant_id, sync_id, account_id) = ids;
    let today = Utc::now().date_naive();
    client
        .execute(
            "INSERT INTO jobs (id, tenant_id, sync_id, account_id, connector, trigger, priority,
                 window_start, window_end, state, state_reason, attempt, max_attempts, dedup_key,
                 worker_id, lease_expires_at, started_at)
             VALUES ($1, $2, $3, $4, $5, 'manual', 3, $6, $6, 'running', 'test', 1, 3, $7, $8,
                 now() + interval '1 hour', now())",
            &[
                &id,
                &tenant_id,
                &sync_id,
                &account_id,
                &connector.as_str(),
                &today,
                &format!("test:{id}"),
                &worker_id,
            ],
        )
        .await
        .expect("insert running job");
    shared::db::jobs::Lease {
        job_id: id,
        worker_id: worker_id.to_owned(),
        attempt: 1,
    }
}

/// The warehouse tables the tests write to directly, with the columns the worker gives every
/// warehouse table that matter to purges and exports: a performance table (dated rows), its
/// staging table, and an entity table (undated rows).
pub const WAREHOUSE_TABLE: &str = "warehouse.meta_ads_campaign";
pub const WAREHOUSE_ENTITIES: &str = "warehouse.meta_ads_campaign_entities";

pub async fn create_warehouse_tables(client: &impl GenericClient) {
    client
        .batch_execute(
            "CREATE SCHEMA IF NOT EXISTS warehouse;
             CREATE TABLE IF NOT EXISTS warehouse.meta_ads_campaign (
                 tenant_id uuid NOT NULL, sync_id uuid NOT NULL, account_id text NOT NULL,
                 date date NOT NULL, campaign_id text NOT NULL, spend numeric,
                 currency text NOT NULL, time_zone text NOT NULL, job_id uuid NOT NULL,
                 synced_at timestamptz NOT NULL,
                 PRIMARY KEY (sync_id, account_id, date, campaign_id));
             CREATE UNLOGGED TABLE IF NOT EXISTS warehouse.meta_ads_campaign__staging (
                 tenant_id uuid NOT NULL, sync_id uuid NOT NULL, account_id text NOT NULL,
                 date date NOT NULL, campaign_id text NOT NULL, spend numeric,
                 currency text NOT NULL, time_zone text NOT NULL, job_id uuid NOT NULL,
                 synced_at timestamptz NOT NULL, attempt integer NOT NULL);
             CREATE TABLE IF NOT EXISTS warehouse.meta_ads_campaign_entities (
                 tenant_id uuid NOT NULL, sync_id uuid NOT NULL, account_id text NOT NULL,
                 id text NOT NULL, name text, currency text NOT NULL, time_zone text NOT NULL,
                 job_id uuid NOT NULL, synced_at timestamptz NOT NULL,
                 PRIMARY KEY (sync_id, account_id, id));",
        )
        .await
        .expect("create warehouse tables");
}

/// One performance row of the sync for `date` (campaign `campaign`), synced at `synced_at`,
/// and one entity row for the campaign.
pub async fn insert_warehouse_row(
    client: &impl GenericClient,
    sync: &SyncDefinition,
    date: chrono::NaiveDate,
    campaign: &str,
    synced_at: DateTime<Utc>,
) {
    let job_id = JobId::new();
    client
        .execute(
            "INSERT INTO warehouse.meta_ads_campaign (tenant_id, sync_id, account_id, date,
                 campaign_id, spend, currency, time_zone, job_id, synced_at)
             VALUES ($1, $2, 'acct', $3, $4, 12.5, 'EUR', 'UTC', $5, $6)",
            &[
                &sync.tenant_id,
                &sync.id,
                &date,
                &campaign,
                &job_id,
                &synced_at,
            ],
        )
        .await
        .expect("insert warehouse row");
    client
        .execute(
            "INSERT INTO warehouse.meta_ads_campaign_entities (tenant_id, sync_id, account_id,
                 id, name, currency, time_zone, job_id, synced_at)
             VALUES ($1, $2, 'acct', $3, 'Campaign', 'EUR', 'UTC', $4, $5)
             ON CONFLICT (sync_id, account_id, id) DO NOTHING",
            &[&sync.tenant_id, &sync.id, &campaign, &job_id, &synced_at],
        )
        .await
        .expect("insert warehouse entity");
}
