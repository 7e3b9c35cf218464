//! The google_sheets destination against the sandbox's Sheets API, read back from the sandbox's
//! cells; and what only Sheets has: sharing, quotas, the cell limit, the number of writes.

use connectors::rows::{Layout, Row};
use rust_decimal::Decimal;
use sandbox::google_sheets::{CellValue, NewSpreadsheet};
use shared::db::connections::OAuthTokens;
use shared::db::destinations::{self, Credentials, Destination, NewDestination};
use shared::domain::{DestinationId, DestinationKind, ReportSpec, SyncId};
use testkit::fixtures::SyncFixture;
use testkit::{TestDatabase, TestWorld};

use super::DestinationUnderTest;
use testkit::warehouse::sorted;

/// The destination's Google login, as issued by the sandbox's token endpoint would be.
const ACCESS_TOKEN: &str = "sheets-access-token";
const REFRESH_TOKEN: &str = "sheets-refresh-token";
/// A tab title that needs quoting in A1 notation.
const TAB: &str = "Meta · campaigns 'daily'";

/// A google_sheets destination writing into a new spreadsheet shared with `shared_with`.
pub(crate) async fn sheets_destination(
    world: &TestWorld,
    fixture: &SyncFixture,
    shared_with: &[&str],
) -> (Destination, String) {
    let tokens = OAuthTokens {
        access_token: ACCESS_TOKEN.into(),
        refresh_token: Some(REFRESH_TOKEN.into()),
    };
    sheets_destination_with(world, fixture, shared_with, tokens, None).await
}

/// A google_sheets destination holding `tokens`, whose access token expires at `expires_at`.
async fn sheets_destination_with(
    world: &TestWorld,
    fixture: &SyncFixture,
    shared_with: &[&str],
    tokens: OAuthTokens,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> (Destination, String) {
    let spreadsheet = world.sandbox.create_spreadsheet(
        NewSpreadsheet::titled("Agency report").shared_with(shared_with.iter().copied()),
    );
    let id = DestinationId::new();
    let tenant_id = fixture.tenant.id;
    let credentials = Credentials::OAuth(tokens);
    let sealed = destinations::seal_credentials(&world.keys, tenant_id, id, &credentials).unwrap();
    let client = world.pool.get().await.unwrap();
    let destination = destinations::insert(
        &client,
        NewDestination {
            id,
            tenant_id,
            kind: DestinationKind::GoogleSheets,
            name: "Agency report",
            settings: &serde_json::json!({ "spreadsheet_id": spreadsheet, "tab": TAB }),
            sealed: Some(&sealed),
            access_token_expires_at: expires_at,
        },
    )
    .await
    .unwrap();
    (destination, spreadsheet)
}

/// The cells of the sync's tab, or none when the tab does not exist.
pub(crate) fn tab_cells(world: &TestWorld, destination: &Destination) -> Vec<Vec<CellValue>> {
    let spreadsheet = destination.settings["spreadsheet_id"].as_str().unwrap();
    world
        .sandbox
        .spreadsheet_tabs(spreadsheet)
        .into_iter()
        .find(|(title, _)| title == TAB)
        .map(|(_, cells)| cells)
        .unwrap_or_default()
}

pub(crate) struct GoogleSheets;

impl DestinationUnderTest for GoogleSheets {
    async fn create(
        world: &TestWorld,
        fixture: &SyncFixture,
    ) -> (Destination, Option<TestDatabase>) {
        (
            sheets_destination(world, fixture, &[ACCESS_TOKEN]).await.0,
            None,
        )
    }

    /// Reads the tab: the header names the columns; dates are date cells (a serial number with
    /// a date format), texts are text cells, numbers are number cells (or text when a double
    /// cannot carry them exactly).
    async fn read(
        world: &TestWorld,
        destination: &Destination,
        _sync: SyncId,
        report: &ReportSpec,
    ) -> Vec<Row> {
        let cells = tab_cells(world, destination);
        let Some((header, rows)) = cells.split_first() else {
            return Vec::new();
        };
        let layout = Layout::stored(report);
        let position = |name: &str| {
            header
                .iter()
                .position(|cell| *cell == CellValue::String(name.to_owned()))
        };
        let text = |row: &[CellValue], name: &str| match position(name).and_then(|i| row.get(i)) {
            None | Some(CellValue::Empty) => None,
            Some(CellValue::String(text)) => Some(text.clone()),
            Some(other) => panic!("{name} holds {other:?}, not text"),
        };
        let number = |row: &[CellValue], name: &str| match position(name).and_then(|i| row.get(i)) {
            None | Some(CellValue::Empty) => None,
            Some(CellValue::Number(value)) => Some(value.to_string().parse::<Decimal>().unwrap()),
            Some(CellValue::String(text)) => Some(text.parse::<Decimal>().unwrap()),
            Some(other) => panic!("{name} holds {other:?}, not a number"),
        };
        sorted(
            rows.iter()
                .map(|row| Row {
                    date: layout
                        .dated
                        .then(|| match position("date").and_then(|i| row.get(i)) {
                            Some(CellValue::Date(date)) => *date,
                            other => panic!("the date column holds {other:?}, not a date"),
                        }),
                    texts: layout.texts.iter().map(|name| text(row, name)).collect(),
                    numbers: layout
                        .numbers
                        .iter()
                        .map(|name| number(row, name))
                        .collect(),
                })
                .collect(),
        )
    }
}

crate::destination_suite!(GoogleSheets);

/// What only Sheets has.
mod sheets {
    use sandbox::{Connector, Fault, FaultKind};
    use shared::error::{Classify, ErrorClass};

    use super::super::{Case, report, rows, window};
    use super::*;

    fn spreadsheet(case: &Case) -> String {
        case.destination.settings["spreadsheet_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[tokio::test]
    async fn a_window_is_written_with_one_request_after_the_tab_exists() {
        // Arrange
        let case = Case::start::<GoogleSheets>(&[]).await;
        let id = spreadsheet(&case);

        // Act
        case.job(&report(), window(0, 9), &[rows(0..=4, 1), rows(5..=9, 1)])
            .await
            .unwrap();
        let first = case.world.sandbox.sheets_write_requests(&id);
        case.job(&report(), window(5, 9), &[rows(5..=9, 2)])
            .await
            .unwrap();

        // Assert: adding the tab, then one batch per job.
        let second = case.world.sandbox.sheets_write_requests(&id) - first;
        assert_eq!((first, second), (2, 1));
        let header = &tab_cells(&case.world, &case.destination)[0];
        let names: Vec<String> = header.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "date",
                "campaign_id",
                "campaign_name",
                "impressions",
                "spend",
                "clicks",
                "ctr"
            ]
        );
    }

    #[tokio::test]
    async fn a_spreadsheet_not_shared_with_the_login_fails_permanently_naming_it() {
        // Arrange
        let mut case = Case::start::<GoogleSheets>(&[]).await;
        let (destination, id) =
            sheets_destination(&case.world, &case.fixture, &["someone-else"]).await;
        case.destination = destination;

        // Act
        let error = case
            .job(&report(), window(0, 1), &[rows(0..=1, 1)])
            .await
            .unwrap_err();

        // Assert
        assert_eq!(error.class(), ErrorClass::Permanent);
        let message = error.to_string();
        assert!(
            message.contains(&id) && message.contains("not shared"),
            "{message}"
        );
        assert!(!message.contains(ACCESS_TOKEN), "{message}");
        assert_eq!(case.world.sandbox.sheets_write_requests(&id), 0);
    }

    #[tokio::test]
    async fn a_quota_answer_is_throttling_that_blocks_the_quota_for_every_worker() {
        // Arrange
        let case = Case::start::<GoogleSheets>(&[]).await;
        case.world
            .sandbox
            .add_fault(Fault::new(Connector::GoogleSheets, FaultKind::Throttle));

        // Act
        let error = case
            .job(&report(), window(0, 1), &[rows(0..=1, 1)])
            .await
            .unwrap_err();

        // Assert
        let ErrorClass::Throttled { until, scope } = error.class() else {
            panic!("{error} is not throttling");
        };
        assert!(until > chrono::Utc::now(), "{until}");
        assert!(scope.contains("google_sheets"), "{scope}");
        assert!(tab_cells(&case.world, &case.destination).is_empty());
        let blocked: i64 = case
            .world
            .pool
            .get()
            .await
            .unwrap()
            .query_one(
                "SELECT count(*) FROM rate_budgets WHERE key LIKE 'google_sheets:%' AND blocked_until > now()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(blocked, 1);
    }

    /// A destination on a spreadsheet of its own, with tokens of a new grant of `login`.
    async fn destination_of(case: &Case, login: &str) -> Destination {
        let issued =
            case.world
                .sandbox
                .issue_tokens_for(Connector::GoogleSheets, Some(login), None, true);
        let tokens = OAuthTokens {
            access_token: issued.access_token.clone(),
            refresh_token: issued.refresh_token,
        };
        let shared_with = [issued.access_token.as_str()];
        sheets_destination_with(&case.world, &case.fixture, &shared_with, tokens, None)
            .await
            .0
    }

    #[tokio::test]
    async fn destinations_on_one_google_login_share_its_per_user_quota() {
        // Arrange: 4 requests a minute per user, so one job (two reads, two writes) spends a
        // login's whole budget; alice consented twice (two destinations, two grants), bob once.
        let mut case = Case::start::<GoogleSheets>(&[(
            "ADSYNC__DESTINATIONS__GOOGLE_SHEETS__REQUESTS_PER_MINUTE_PER_USER",
            "4",
        )])
        .await;
        let alice_first = destination_of(&case, "alice@example.com").await;
        let alice_second = destination_of(&case, "alice@example.com").await;
        let bob = destination_of(&case, "bob@example.com").await;
        // Act
        let mut outcomes = Vec::new();
        for destination in [&alice_first, &alice_second, &bob] {
            case.destination = destination.clone();
            outcomes.push(case.job(&report(), window(0, 1), &[rows(0..=1, 1)]).await);
        }
        let [first, second, other]: [_; 3] = outcomes.try_into().unwrap();

        // Assert: alice's second destination waits for the budget her first one used; bob's
        // has his own. Each destination knows its login.
        first.unwrap();
        let error = second.unwrap_err();
        let ErrorClass::Throttled { scope, .. } = error.class() else {
            panic!("{error} is not throttling");
        };
        other.unwrap();
        let client = case.world.pool.get().await.unwrap();
        let subject = |destination: &Destination| {
            let (client, destination) = (&client, destination.clone());
            async move {
                destinations::get(client, destination.tenant_id, destination.id)
                    .await
                    .unwrap()
                    .unwrap()
                    .google_subject
                    .expect("the destination's Google login is known")
            }
        };
        let alice = subject(&alice_first).await;
        assert_eq!(subject(&alice_second).await, alice);
        assert_ne!(subject(&bob).await, alice);
        assert!(
            scope.ends_with(&format!(":user:{alice}")),
            "{scope} is not alice's budget"
        );
        let users: Vec<String> = client
            .query(
                "SELECT key FROM rate_budgets WHERE key LIKE 'google_sheets:write:user:%' ORDER BY key",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert_eq!(users.len(), 2, "one write budget per login: {users:?}");
    }

    #[tokio::test]
    async fn a_tab_with_dates_written_as_text_is_rewritten_with_dates() {
        // Arrange: a tab as adsync wrote it before it wrote dates as dates: the same columns,
        // every date a text.
        let case = Case::start::<GoogleSheets>(&[]).await;
        case.job(&report(), window(0, 4), &[rows(0..=4, 1)])
            .await
            .unwrap();
        let id = spreadsheet(&case);
        let text_dates: Vec<Vec<serde_json::Value>> = tab_cells(&case.world, &case.destination)
            .iter()
            .skip(1)
            .map(|row| match &row[0] {
                CellValue::Date(date) => vec![serde_json::Value::String(date.to_string())],
                other => panic!("{other:?} is not a date"),
            })
            .collect();
        let range = format!("'{}'!A2", TAB.replace('\'', "''"));
        let written = reqwest::Client::new()
            .put(format!(
                "{}/google_sheets/v4/spreadsheets/{id}/values/{range}",
                case.world.sandbox_url
            ))
            .query(&[("valueInputOption", "RAW")])
            .bearer_auth(ACCESS_TOKEN)
            .json(&serde_json::json!({ "values": text_dates }))
            .send()
            .await
            .unwrap();
        assert_eq!(written.status(), 200);
        assert!(matches!(
            tab_cells(&case.world, &case.destination)[1][0],
            CellValue::String(_)
        ));

        // Act: a job rewrites two of the five days.
        case.job(&report(), window(3, 4), &[rows(3..=4, 2)])
            .await
            .unwrap();

        // Assert: every day's date is a date now, the days outside the window kept.
        let mut expected = rows(0..=2, 1);
        expected.extend(rows(3..=4, 2));
        assert_eq!(case.read::<GoogleSheets>(&report()).await, sorted(expected));
    }

    #[tokio::test]
    async fn a_window_above_the_cell_limit_is_refused_before_any_write() {
        // Arrange: room for 50 cells; the window needs 7 columns × (1 + 10) rows.
        let case = Case::start::<GoogleSheets>(&[(
            "ADSYNC__DESTINATIONS__GOOGLE_SHEETS__MAX_CELLS",
            "50",
        )])
        .await;
        let id = spreadsheet(&case);

        // Act
        let error = case
            .job(&report(), window(0, 4), &[rows(0..=4, 1)])
            .await
            .unwrap_err();

        // Assert
        assert_eq!(error.class(), ErrorClass::Permanent);
        let message = error.to_string();
        assert!(
            message.contains(&id) && message.contains("limit of 50"),
            "{message}"
        );
        assert!(tab_cells(&case.world, &case.destination).is_empty());
    }

    /// Tokens the sandbox issued for Sheets, the access token expiring within the refresh
    /// margin, in a destination whose spreadsheet is shared with that login.
    async fn issued_login(case: &mut Case) -> OAuthTokens {
        let issued = case.world.sandbox.issue_tokens(
            Connector::GoogleSheets,
            Some(std::time::Duration::from_secs(3599)),
            true,
        );
        let tokens = OAuthTokens {
            access_token: issued.access_token.clone(),
            refresh_token: issued.refresh_token.clone(),
        };
        let expires_at = chrono::Utc::now() + chrono::TimeDelta::seconds(60);
        let (destination, _) = sheets_destination_with(
            &case.world,
            &case.fixture,
            &[issued.access_token.as_str()],
            tokens.clone(),
            Some(expires_at),
        )
        .await;
        case.destination = destination;
        tokens
    }

    #[tokio::test]
    async fn an_access_token_about_to_expire_is_refreshed_and_stored_sealed() {
        // Arrange
        let mut case = Case::start::<GoogleSheets>(&[]).await;
        let before = issued_login(&mut case).await;

        // Act
        case.job(&report(), window(0, 1), &[rows(0..=1, 1)])
            .await
            .unwrap();

        // Assert
        let client = case.world.pool.get().await.unwrap();
        let stored = destinations::read_tokens(
            &client,
            &case.world.keys,
            case.destination.tenant_id,
            case.destination.id,
            false,
        )
        .await
        .unwrap();
        assert_ne!(stored.tokens.access_token, before.access_token);
        assert!(stored.expires_at.unwrap() > chrono::Utc::now() + chrono::TimeDelta::minutes(50));
        assert_eq!(
            GoogleSheets::read(
                &case.world,
                &case.destination,
                case.fixture.sync.id,
                &report()
            )
            .await,
            sorted(rows(0..=1, 1))
        );
    }

    #[tokio::test]
    async fn a_revoked_grant_fails_the_job_as_auth_and_marks_the_destination_needs_reauth() {
        // Arrange: the sync writes to a Sheets destination whose Google grant was revoked.
        let mut case = Case::start::<GoogleSheets>(&[]).await;
        let tokens = issued_login(&mut case).await;
        case.world
            .sandbox
            .revoke_token(Connector::GoogleSheets, &tokens.access_token);
        let client = case.world.pool.get().await.unwrap();
        client
            .execute(
                "UPDATE syncs SET destination_id = $1 WHERE id = $2",
                &[&case.destination.id, &case.fixture.sync.id],
            )
            .await
            .unwrap();

        // Act
        let id = crate::enqueue(&case.world, &case.fixture).await;
        case.world
            .expect(testkit::logs::ExpectedLog::destination_needs_reauth().field("job_id", id));
        case.world
            .expect(testkit::logs::ExpectedLog::job_failed("auth").field("job_id", id));
        let outcome = case.world.worker().execute_one(id).await.unwrap();

        // Assert
        assert!(
            matches!(outcome, worker::Outcome::Failed { class: "auth" }),
            "{outcome:?}"
        );
        let destination =
            destinations::get(&client, case.destination.tenant_id, case.destination.id)
                .await
                .unwrap()
                .unwrap();
        assert_eq!(destination.status, "needs_reauth");
        let enabled: bool = client
            .query_one(
                "SELECT enabled FROM syncs WHERE id = $1",
                &[&case.fixture.sync.id],
            )
            .await
            .unwrap()
            .get(0);
        assert!(!enabled, "the sync is paused");
    }
}
