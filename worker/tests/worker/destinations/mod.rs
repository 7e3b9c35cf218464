//! The destination conformance suite (ARCHITECTURE.md, "Testing"): the same checks for every
//! destination, on the real PostgreSQL (and the sandbox's Google Sheets), through the writer the
//! worker uses — open, write pages, commit or abort — and read back from the destination itself.
//!
//! A destination joins with a unit struct implementing [`DestinationUnderTest`] and one
//! `destination_suite!(Struct)` line.

mod google_sheets;
mod warehouse;

use chrono::NaiveDate;
use connectors::budget::Budgets;
use connectors::rows::Row;
use rust_decimal::Decimal;
use shared::db::destinations::Destination;
use shared::db::jobs::{self, ClaimSettings, Lease};
use shared::domain::{ConnectorKind, DateWindow, RawReport, ReportSpec, SyncId};
use shared::error::{Classify, ErrorClass};
use testkit::fixtures::{MetaSyncOptions, SyncFixture, meta_sync, running_job};
use testkit::{TestDatabase, TestWorld};
use worker::destinations::{self, DestinationContext, SheetsContext, WriteTarget};

use testkit::warehouse::sorted;

/// What the suite needs to know about one destination.
pub(crate) trait DestinationUnderTest {
    /// A destination of this kind for the fixture's tenant, ready to be written, and what must
    /// live as long as the test (a second database for a remote warehouse).
    async fn create(
        world: &TestWorld,
        fixture: &SyncFixture,
    ) -> (Destination, Option<TestDatabase>);
    /// The worker's warehouse buffer for this case (`None`: the default): 0 sends every page
    /// through the staging table.
    fn warehouse_buffer() -> Option<usize> {
        None
    }
    /// What the destination holds for `sync`, in the stored layout of `report`, sorted.
    async fn read(
        world: &TestWorld,
        destination: &Destination,
        sync: SyncId,
        report: &ReportSpec,
    ) -> Vec<Row>;
}

/// Writes the suite's tests for a destination, in the module that invokes it.
#[macro_export]
macro_rules! destination_suite {
    ($destination:ty) => {
        #[tokio::test]
        async fn the_same_job_written_twice_leaves_the_same_rows() {
            $crate::destinations::the_same_job_written_twice_leaves_the_same_rows::<$destination>().await;
        }
        #[tokio::test]
        async fn a_window_that_shrinks_removes_the_rows_that_left_it_and_keeps_the_rest() {
            $crate::destinations::a_window_that_shrinks_removes_the_rows_that_left_it_and_keeps_the_rest::<$destination>().await;
        }
        #[tokio::test]
        async fn a_failure_midway_leaves_the_previous_rows_intact() {
            $crate::destinations::a_failure_midway_leaves_the_previous_rows_intact::<$destination>().await;
        }
        #[tokio::test]
        async fn values_round_trip_exactly() {
            $crate::destinations::values_round_trip_exactly::<$destination>().await;
        }
        #[tokio::test]
        async fn a_new_field_adds_a_column_and_keeps_the_rows() {
            $crate::destinations::a_new_field_adds_a_column_and_keeps_the_rows::<$destination>().await;
        }
        #[tokio::test]
        async fn a_stale_attempt_cannot_commit_over_the_attempt_that_took_over() {
            $crate::destinations::a_stale_attempt_cannot_commit_over_the_attempt_that_took_over::<$destination>().await;
        }
        #[tokio::test]
        async fn entities_are_replaced_whole() {
            $crate::destinations::entities_are_replaced_whole::<$destination>().await;
        }
    };
}

/// A tenant with a sync, and a destination of the kind under test.
pub(crate) struct Case {
    pub(crate) world: TestWorld,
    pub(crate) fixture: SyncFixture,
    pub(crate) destination: Destination,
    pub(crate) context: DestinationContext,
    _remote: Option<TestDatabase>,
}

impl Case {
    pub(crate) async fn start<D: DestinationUnderTest>(overrides: &[(&str, &str)]) -> Self {
        let world = TestWorld::start_with(sandbox::SandboxConfig::default(), overrides).await;
        let fixture = meta_sync(&world.pool, &world.keys, MetaSyncOptions::default()).await;
        let (destination, remote) = D::create(&world, &fixture).await;
        let sheets = SheetsContext {
            client: reqwest::Client::new(),
            config: world.config.destinations.google_sheets.clone(),
            budgets: Budgets::new(world.pool.clone(), &world.config.connectors),
        };
        let mut context = DestinationContext::new(world.pool.clone(), world.keys.clone(), sheets);
        if let Some(bytes) = D::warehouse_buffer() {
            context = context.with_warehouse_buffer(bytes);
        }
        Self {
            world,
            fixture,
            destination,
            context,
            _remote: remote,
        }
    }

    /// A write of `window` by a new job running under a lease of its own.
    pub(crate) async fn target(&self, report: &ReportSpec, window: DateWindow) -> WriteTarget {
        let client = self.world.pool.get().await.unwrap();
        let lease = running_job(
            &client,
            (
                self.fixture.tenant.id,
                self.fixture.sync.id,
                self.fixture.account.id,
            ),
            ConnectorKind::MetaAds,
            "destination-suite",
        )
        .await;
        WriteTarget {
            tenant_id: self.fixture.tenant.id,
            sync_id: self.fixture.sync.id,
            lease,
            connector: ConnectorKind::MetaAds,
            account_id: self.fixture.account.external_id.clone(),
            currency: "EUR".into(),
            time_zone: "Europe/Berlin".into(),
            report: report.clone(),
            window,
        }
    }

    /// Another worker takes the job over from `lease`, as after the lease expired: the rescuer
    /// (or a redelivery) and a claim give it the next attempt. Returns the new lease.
    pub(crate) async fn take_over(&self, lease: &Lease) -> Lease {
        let mut client = self.world.pool.get().await.unwrap();
        client
            .execute(
                "UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1",
                &[&lease.job_id],
            )
            .await
            .unwrap();
        let transaction = client.transaction().await.unwrap();
        let settings = ClaimSettings {
            lease: std::time::Duration::from_secs(60),
            defer: std::time::Duration::from_secs(1),
        };
        let mut claims = jobs::claim_many(&transaction, &[lease.job_id], "newer", settings)
            .await
            .unwrap();
        transaction.commit().await.unwrap();
        let job = claims
            .claimed
            .pop()
            .expect("the expired job is claimed again");
        assert_eq!(job.attempt, lease.attempt + 1);
        Lease::of(&job, "newer")
    }

    /// One job: opens a write, stages `pages`, commits. Returns rows written.
    pub(crate) async fn job(
        &self,
        report: &ReportSpec,
        window: DateWindow,
        pages: &[Vec<Row>],
    ) -> Result<u64, destinations::DestinationError> {
        let mut writer = destinations::open(
            &self.context,
            &self.destination,
            self.target(report, window).await,
        )
        .await?;
        for page in pages {
            if let Err(error) = writer.write(page).await {
                writer.abort().await;
                return Err(error);
            }
        }
        writer.commit().await
    }

    pub(crate) async fn read<D: DestinationUnderTest>(&self, report: &ReportSpec) -> Vec<Row> {
        D::read(&self.world, &self.destination, self.fixture.sync.id, report).await
    }
}

pub(crate) fn report() -> ReportSpec {
    connectors::catalogue(ConnectorKind::MetaAds)
        .performance("campaign", &["impressions", "spend", "clicks", "ctr"])
        .unwrap()
}

pub(crate) fn day(offset: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap() + chrono::Days::new(offset)
}

pub(crate) fn window(first: u64, last: u64) -> DateWindow {
    DateWindow::new(day(first), day(last)).unwrap()
}

fn d(text: &str) -> Option<Decimal> {
    Some(text.parse().unwrap())
}

/// Rows for two campaigns on each day of `days`, their numbers shifted by `version` so two
/// versions of the same day differ.
pub(crate) fn rows(days: std::ops::RangeInclusive<u64>, version: u32) -> Vec<Row> {
    days.flat_map(|offset| {
        [("101", "Spring Sale"), ("102", "Brand")].map(|(id, name)| {
            let impressions = 1_000 + offset * 10 + u64::from(version);
            Row {
                date: Some(day(offset)),
                texts: vec![Some(id.into()), Some(name.into())],
                numbers: vec![
                    Some(Decimal::from(impressions)),
                    d(&format!("{}.{:02}", 12 + offset, version)),
                    Some(Decimal::from(40 + offset)),
                    d("1.5"),
                ],
            }
        })
    })
    .collect()
}

pub(crate) async fn the_same_job_written_twice_leaves_the_same_rows<D: DestinationUnderTest>() {
    // Arrange
    let case = Case::start::<D>(&[]).await;
    let report = report();
    let pages = [rows(0..=1, 1), rows(2..=4, 1)];

    // Act
    let first = case.job(&report, window(0, 4), &pages).await.unwrap();
    let once = case.read::<D>(&report).await;
    let second = case.job(&report, window(0, 4), &pages).await.unwrap();

    // Assert
    assert_eq!((first, second), (10, 10));
    assert_eq!(once, sorted(rows(0..=4, 1)));
    assert_eq!(case.read::<D>(&report).await, once);
}

pub(crate) async fn a_window_that_shrinks_removes_the_rows_that_left_it_and_keeps_the_rest<
    D: DestinationUnderTest,
>() {
    // Arrange: ten days written.
    let case = Case::start::<D>(&[]).await;
    let report = report();
    case.job(&report, window(0, 9), &[rows(0..=9, 1)])
        .await
        .unwrap();

    // Act: the platform now reports days 5..=9 with nothing for 8 and 9 and new numbers.
    case.job(&report, window(5, 9), &[rows(5..=7, 2)])
        .await
        .unwrap();

    // Assert
    let mut expected = rows(0..=4, 1);
    expected.extend(rows(5..=7, 2));
    assert_eq!(case.read::<D>(&report).await, sorted(expected));
}

pub(crate) async fn a_failure_midway_leaves_the_previous_rows_intact<D: DestinationUnderTest>() {
    // Arrange
    let case = Case::start::<D>(&[]).await;
    let report = report();
    case.job(&report, window(0, 4), &[rows(0..=4, 1)])
        .await
        .unwrap();

    // Act: the next job's second page has a row outside its window.
    let broken = case
        .job(&report, window(0, 4), &[rows(0..=2, 2), rows(3..=5, 2)])
        .await;

    // Assert
    let error = broken.unwrap_err().to_string();
    assert!(error.contains("outside the job's window"), "{error}");
    assert_eq!(case.read::<D>(&report).await, sorted(rows(0..=4, 1)));
}

pub(crate) async fn values_round_trip_exactly<D: DestinationUnderTest>() {
    // Arrange
    let case = Case::start::<D>(&[]).await;
    let report = report();
    let names = [
        "新春キャンペーン",
        "Été 2026 – «soldes»",
        "Comma, \"quote\" and 'apostrophe'",
        "=SUM(A1:A2)",
    ];
    let numbers = [
        ["0", "0.000001", "0", "0"],
        ["9007199254740993", "1234567.891234", "1", "99.999999"],
        ["1", "12345678901234567.89", "2", "0.5"],
    ];
    let written: Vec<Row> = names
        .iter()
        .enumerate()
        .map(|(i, name)| Row {
            date: Some(day(u64::try_from(i).unwrap())),
            texts: vec![Some(format!("9{i}")), Some((*name).into())],
            numbers: numbers[i % numbers.len()].iter().map(|n| d(n)).collect(),
        })
        .chain([Row {
            date: Some(day(3)),
            texts: vec![Some("99".into()), Some("No clicks".into())],
            numbers: vec![d("10"), d("1.1"), d("0"), None],
        }])
        .collect();

    // Act
    case.job(&report, window(0, 3), std::slice::from_ref(&written))
        .await
        .unwrap();

    // Assert
    assert_eq!(case.read::<D>(&report).await, sorted(written));
}

pub(crate) async fn a_new_field_adds_a_column_and_keeps_the_rows<D: DestinationUnderTest>() {
    // Arrange: five days written with the report's first fields.
    let case = Case::start::<D>(&[]).await;
    case.job(&report(), window(0, 4), &[rows(0..=4, 1)])
        .await
        .unwrap();
    let wider = connectors::catalogue(ConnectorKind::MetaAds)
        .performance(
            "campaign",
            &["impressions", "spend", "clicks", "ctr", "reach"],
        )
        .unwrap();
    let with_reach = |rows: Vec<Row>, reach: Option<Decimal>| -> Vec<Row> {
        rows.into_iter()
            .map(|mut row| {
                row.numbers.push(reach);
                row
            })
            .collect()
    };

    // Act: the sync gains `reach`; the next job rewrites the last two days.
    case.job(
        &wider,
        window(3, 4),
        &[with_reach(rows(3..=4, 2), d("750"))],
    )
    .await
    .unwrap();

    // Assert: the older days keep their numbers, without reach.
    let mut expected = with_reach(rows(0..=2, 1), None);
    expected.extend(with_reach(rows(3..=4, 2), d("750")));
    assert_eq!(case.read::<D>(&wider).await, sorted(expected));
}

pub(crate) async fn a_stale_attempt_cannot_commit_over_the_attempt_that_took_over<
    D: DestinationUnderTest,
>() {
    // Arrange: attempt 1 staged its rows, then stalled past its lease; attempt 2 took the job
    // over and committed newer numbers.
    let case = Case::start::<D>(&[]).await;
    let report = report();
    let stale_target = case.target(&report, window(0, 4)).await;
    let mut stale = destinations::open(&case.context, &case.destination, stale_target.clone())
        .await
        .unwrap();
    stale.write(&rows(0..=4, 1)).await.unwrap();
    let newer_target = WriteTarget {
        lease: case.take_over(&stale_target.lease).await,
        ..stale_target
    };
    let mut newer = destinations::open(&case.context, &case.destination, newer_target)
        .await
        .unwrap();
    newer.write(&rows(0..=4, 2)).await.unwrap();
    newer.commit().await.unwrap();

    // Act: the stale attempt resumes and commits.
    let refused = stale.commit().await.unwrap_err();

    // Assert: refused as a retryable failure (the engine then finds the lease gone), and the
    // newer attempt's rows stand.
    assert!(
        refused.to_string().contains("lost the job's lease"),
        "{refused}"
    );
    assert!(matches!(refused.class(), ErrorClass::Transient { .. }));
    assert_eq!(case.read::<D>(&report).await, sorted(rows(0..=4, 2)));
}

pub(crate) async fn entities_are_replaced_whole<D: DestinationUnderTest>() {
    // Arrange
    let case = Case::start::<D>(&[]).await;
    let report = connectors::catalogue(ConnectorKind::MetaAds)
        .parse_report(RawReport {
            stream: Some("entities"),
            level: "campaign",
            metrics: &[],
            breakdowns: &[],
        })
        .unwrap();
    let entity = |id: &str, name: &str, budget: &str| Row {
        date: None,
        texts: vec![
            Some(id.into()),
            Some(name.into()),
            None,
            None,
            Some("ACTIVE".into()),
            Some("SALES".into()),
            None,
            None,
        ],
        numbers: vec![d(budget), None],
    };
    case.job(
        &report,
        window(0, 0),
        &[vec![entity("1", "Old", "10"), entity("2", "Gone", "20")]],
    )
    .await
    .unwrap();

    // Act
    case.job(
        &report,
        window(5, 5),
        &[vec![
            entity("1", "Renamed", "12.5"),
            entity("3", "New", "7"),
        ]],
    )
    .await
    .unwrap();

    // Assert
    assert_eq!(
        case.read::<D>(&report).await,
        sorted(vec![
            entity("1", "Renamed", "12.5"),
            entity("3", "New", "7")
        ])
    );
}
