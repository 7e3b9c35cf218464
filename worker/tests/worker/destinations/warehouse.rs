//! The warehouse destination: a schema in adsync's own database (windows copied straight in at
//! commit, and windows larger than the buffer going through the staging table), and a remote
//! warehouse (another PostgreSQL database) reached by the URL sealed in the destination's
//! credentials.

use connectors::rows::Row;
use shared::db::destinations::{self, Credentials, Destination, NewDestination};
use shared::domain::{ConnectorKind, DestinationId, DestinationKind, ReportSpec, SyncId};
use testkit::fixtures::SyncFixture;
use testkit::{TestDatabase, TestWorld};
use tokio_postgres::NoTls;

use super::DestinationUnderTest;
use testkit::warehouse;

/// The schema both cases write into.
const SCHEMA: &str = "marketing";

/// Inserts a warehouse destination writing into [`SCHEMA`], with `credentials` sealed.
async fn insert(
    world: &TestWorld,
    fixture: &SyncFixture,
    credentials: Option<Credentials>,
) -> Destination {
    let id = DestinationId::new();
    let tenant_id = fixture.tenant.id;
    let sealed = credentials.map(|credentials| {
        destinations::seal_credentials(&world.keys, tenant_id, id, &credentials).unwrap()
    });
    let client = world.pool.get().await.unwrap();
    destinations::insert(
        &client,
        NewDestination {
            id,
            tenant_id,
            kind: DestinationKind::Warehouse,
            name: "Warehouse",
            settings: &serde_json::json!({ "schema": SCHEMA }),
            sealed: sealed.as_ref(),
            access_token_expires_at: None,
        },
    )
    .await
    .unwrap()
}

pub(crate) struct OwnDatabase;

impl DestinationUnderTest for OwnDatabase {
    async fn create(
        world: &TestWorld,
        fixture: &SyncFixture,
    ) -> (Destination, Option<TestDatabase>) {
        (insert(world, fixture, None).await, None)
    }

    async fn read(
        world: &TestWorld,
        _destination: &Destination,
        sync: SyncId,
        report: &ReportSpec,
    ) -> Vec<Row> {
        let client = world.pool.get().await.unwrap();
        warehouse::rows(&client, SCHEMA, ConnectorKind::MetaAds, sync, report).await
    }
}

/// adsync's own database, every page through the staging table (a window larger than the
/// worker's buffer).
pub(crate) struct OwnDatabaseStaged;

impl DestinationUnderTest for OwnDatabaseStaged {
    async fn create(
        world: &TestWorld,
        fixture: &SyncFixture,
    ) -> (Destination, Option<TestDatabase>) {
        OwnDatabase::create(world, fixture).await
    }

    fn warehouse_buffer() -> Option<usize> {
        Some(0)
    }

    async fn read(
        world: &TestWorld,
        destination: &Destination,
        sync: SyncId,
        report: &ReportSpec,
    ) -> Vec<Row> {
        OwnDatabase::read(world, destination, sync, report).await
    }
}

/// adsync's own database with a buffer of 1,000 bytes: a window's first page is buffered, the
/// next ones make it spill to the staging table midway.
pub(crate) struct OwnDatabaseSmallBuffer;

impl DestinationUnderTest for OwnDatabaseSmallBuffer {
    async fn create(
        world: &TestWorld,
        fixture: &SyncFixture,
    ) -> (Destination, Option<TestDatabase>) {
        OwnDatabase::create(world, fixture).await
    }

    fn warehouse_buffer() -> Option<usize> {
        Some(1000)
    }

    async fn read(
        world: &TestWorld,
        destination: &Destination,
        sync: SyncId,
        report: &ReportSpec,
    ) -> Vec<Row> {
        OwnDatabase::read(world, destination, sync, report).await
    }
}

#[tokio::test]
async fn a_window_that_outgrows_the_buffer_midway_is_staged_whole() {
    super::the_same_job_written_twice_leaves_the_same_rows::<OwnDatabaseSmallBuffer>().await;
    super::a_failure_midway_leaves_the_previous_rows_intact::<OwnDatabaseSmallBuffer>().await;
}

pub(crate) struct RemoteDatabase;

impl DestinationUnderTest for RemoteDatabase {
    async fn create(
        world: &TestWorld,
        fixture: &SyncFixture,
    ) -> (Destination, Option<TestDatabase>) {
        let remote = TestDatabase::create().await;
        let credentials = Credentials::DatabaseUrl(remote.url().to_owned());
        (
            insert(world, fixture, Some(credentials)).await,
            Some(remote),
        )
    }

    /// Reads through the URL sealed in the destination, so the credentials round-trip too.
    async fn read(
        world: &TestWorld,
        destination: &Destination,
        sync: SyncId,
        report: &ReportSpec,
    ) -> Vec<Row> {
        let client = world.pool.get().await.unwrap();
        let (credentials, _) = destinations::read_credentials(
            &client,
            &world.keys,
            destination.tenant_id,
            destination.id,
            false,
        )
        .await
        .unwrap();
        let Credentials::DatabaseUrl(url) = credentials else {
            panic!("a remote warehouse holds a URL");
        };
        let (remote, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
        tokio::spawn(connection);
        let own = warehouse::rows(&client, SCHEMA, ConnectorKind::MetaAds, sync, report).await;
        assert!(own.is_empty(), "rows landed in adsync's own database");
        warehouse::rows(&remote, SCHEMA, ConnectorKind::MetaAds, sync, report).await
    }
}

mod own_database {
    crate::destination_suite!(super::OwnDatabase);
}

mod own_database_staged {
    crate::destination_suite!(super::OwnDatabaseStaged);
}

mod remote_database {
    crate::destination_suite!(super::RemoteDatabase);
}
