//! Google Sheets API v4 over HTTP: spreadsheets, values reads and writes in A1 notation,
//! atomic `batchUpdate`, the workbook cell limit, per-minute quotas, sharing, tokens, faults,
//! the OAuth token endpoint and the control API.

use std::time::{Duration, Instant};

use reqwest::Method;
use sandbox::google_sheets::{CellValue, GoogleSheetsConfig, NewSpreadsheet, NewTab};
use sandbox::{Connector, Fault, FaultKind, SandboxConfig};
use serde_json::{Value, json};

use crate::{Reply, TestSandbox, frozen_now, start, start_frozen};

const TOKEN: &str = "sheets-user-token";

/// Percent-encodes a path segment (a range such as `'My Sheet'!A1:B2`).
fn encode(segment: &str) -> String {
    let mut out = String::new();
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl TestSandbox {
    /// `POST /google_sheets/oauth2/token` with a form-encoded body.
    async fn token(&self, form: &[(&str, &str)]) -> Reply {
        let body = form
            .iter()
            .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let response = self
            .client
            .post(self.url("/google_sheets/oauth2/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        Reply::read(response).await
    }

    async fn sheets(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
        token: Option<&str>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, self.url(&format!("/google_sheets{path}")))
            .query(query);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Reply::read(request.send().await.unwrap()).await
    }

    async fn get_values(&self, id: &str, range: &str, query: &[(&str, &str)]) -> Reply {
        self.sheets(
            Method::GET,
            &format!("/v4/spreadsheets/{id}/values/{}", encode(range)),
            query,
            None,
            Some(TOKEN),
        )
        .await
    }

    async fn put_values(&self, id: &str, range: &str, option: &str, values: Value) -> Reply {
        self.sheets(
            Method::PUT,
            &format!("/v4/spreadsheets/{id}/values/{}", encode(range)),
            &[("valueInputOption", option)],
            Some(json!({ "values": values })),
            Some(TOKEN),
        )
        .await
    }

    async fn batch_update(&self, id: &str, requests: Value) -> Reply {
        self.sheets(
            Method::POST,
            &format!("/v4/spreadsheets/{id}:batchUpdate"),
            &[],
            Some(json!({ "requests": requests })),
            Some(TOKEN),
        )
        .await
    }
}

fn status_of(reply: &Reply) -> (u16, String) {
    (
        reply.status,
        reply.body["error"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

fn text(value: &str) -> CellValue {
    CellValue::String(value.to_owned())
}

#[tokio::test]
async fn spreadsheets_get_answers_google_shaped_properties() {
    let sandbox = start_frozen().await;
    let id = sandbox.sandbox.create_spreadsheet(
        NewSpreadsheet::titled("Reports")
            .tab("Sheet1")
            .tab("Daily Data"),
    );
    let reply = sandbox
        .sheets(
            Method::GET,
            &format!("/v4/spreadsheets/{id}"),
            &[
                ("fields", "sheets.properties"),
                ("includeGridData", "false"),
            ],
            None,
            Some(TOKEN),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["spreadsheetId"], id);
    assert_eq!(reply.body["properties"]["title"], "Reports");
    let second = &reply.body["sheets"][1]["properties"];
    assert_eq!(second["sheetId"], 1);
    assert_eq!(second["title"], "Daily Data");
    assert_eq!(second["index"], 1);
    assert_eq!(second["gridProperties"]["rowCount"], 1000);
    assert_eq!(second["gridProperties"]["columnCount"], 26);
}

#[tokio::test]
async fn raw_keeps_strings_and_user_entered_parses_them() {
    let sandbox = start_frozen().await;
    let id = sandbox
        .sandbox
        .create_spreadsheet(NewSpreadsheet::titled("t"));
    let raw = sandbox
        .put_values(&id, "Sheet1!A1:C1", "RAW", json!([["5339.5", 7, true]]))
        .await;
    assert_eq!(raw.status, 200, "{}", raw.body);
    assert_eq!(raw.body["updatedRange"], "Sheet1!A1:C1");
    assert_eq!(raw.body["updatedCells"], 3);
    let typed = sandbox
        .put_values(
            &id,
            "Sheet1!A2",
            "USER_ENTERED",
            json!([["5339.5", "'007", "TRUE"]]),
        )
        .await;
    assert_eq!(typed.body["updatedRange"], "Sheet1!A2:C2");
    let tabs = sandbox.sandbox.spreadsheet_tabs(&id);
    assert_eq!(
        tabs[0].1,
        vec![
            vec![
                text("5339.5"),
                CellValue::Number(7.0),
                CellValue::Bool(true)
            ],
            vec![
                CellValue::Number(5339.5),
                text("007"),
                CellValue::Bool(true)
            ],
        ]
    );
    let unformatted = sandbox
        .get_values(&id, "Sheet1", &[("valueRenderOption", "UNFORMATTED_VALUE")])
        .await;
    assert_eq!(unformatted.body["range"], "Sheet1!A1:Z1000");
    assert_eq!(
        unformatted.body["values"],
        json!([["5339.5", 7, true], [5339.5, "007", true]])
    );
    let formatted = sandbox.get_values(&id, "A1:B2", &[]).await;
    assert_eq!(
        formatted.body["values"],
        json!([["5339.5", "7"], ["5339.5", "007"]])
    );
    let missing_option = sandbox
        .sheets(
            Method::PUT,
            &format!("/v4/spreadsheets/{id}/values/A1"),
            &[],
            Some(json!({"values": [[1]]})),
            Some(TOKEN),
        )
        .await;
    assert_eq!(status_of(&missing_option), (400, "INVALID_ARGUMENT".into()));
}

#[tokio::test]
async fn reads_trim_trailing_empties_and_honour_major_dimension() {
    let sandbox = start_frozen().await;
    let id = sandbox.sandbox.create_spreadsheet(
        NewSpreadsheet::titled("t")
            .tab("Sheet1")
            .tab("It's My Sheet"),
    );
    let reply = sandbox
        .put_values(
            &id,
            "'It''s My Sheet'!B2",
            "RAW",
            json!([["a", null, "c", ""], [], ["d"]]),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let rows = sandbox
        .get_values(&id, "'It''s My Sheet'!A1:E10", &[])
        .await;
    assert_eq!(rows.body["range"], "'It''s My Sheet'!A1:E10");
    assert_eq!(
        rows.body["values"],
        json!([[], ["", "a", "", "c"], [], ["", "d"]])
    );
    let columns = sandbox
        .get_values(
            &id,
            "'It''s My Sheet'!B:D",
            &[("majorDimension", "COLUMNS")],
        )
        .await;
    assert_eq!(columns.body["majorDimension"], "COLUMNS");
    assert_eq!(
        columns.body["values"],
        json!([["", "a", "", "d"], [], ["", "c"]])
    );
    let whole_row = sandbox.get_values(&id, "'It''s My Sheet'!2:2", &[]).await;
    assert_eq!(whole_row.body["range"], "'It''s My Sheet'!A2:Z2");
    let empty = sandbox.get_values(&id, "'It''s My Sheet'!A5:A", &[]).await;
    assert!(empty.body.get("values").is_none(), "{}", empty.body);
    let batch = sandbox
        .sheets(
            Method::GET,
            &format!("/v4/spreadsheets/{id}/values:batchGet"),
            &[
                ("ranges", "'It''s My Sheet'!B2:B4"),
                ("ranges", "Sheet1!A1"),
                ("valueRenderOption", "UNFORMATTED_VALUE"),
            ],
            None,
            Some(TOKEN),
        )
        .await;
    assert_eq!(batch.status, 200, "{}", batch.body);
    assert_eq!(
        batch.body["valueRanges"][0]["values"],
        json!([["a"], [], ["d"]])
    );
    assert!(batch.body["valueRanges"][1].get("values").is_none());
    let bad = sandbox.get_values(&id, "Nope!A1", &[]).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.message(), "Unable to parse range: Nope!A1");
    let beyond = sandbox.get_values(&id, "Sheet1!A1001", &[]).await;
    assert_eq!(
        beyond.message(),
        "Range (Sheet1!A1001) exceeds grid limits. Max rows: 1000, max columns: 26"
    );
    // Ends beyond the grid are clamped; a first cell beyond it is refused, open-ended or not.
    let clamped = sandbox.get_values(&id, "Sheet1!A1:AB2000", &[]).await;
    assert_eq!(clamped.body["range"], "Sheet1!A1:Z1000");
    let header_only = sandbox.sandbox.create_spreadsheet(NewSpreadsheet {
        tabs: vec![NewTab::Sized {
            title: "Loans".into(),
            rows: 1,
            columns: 15,
        }],
        ..NewSpreadsheet::default()
    });
    let below = sandbox.get_values(&header_only, "Loans!A2:J", &[]).await;
    assert_eq!(
        below.message(),
        "Range (Loans!A2:J) exceeds grid limits. Max rows: 1, max columns: 15"
    );
}

#[tokio::test]
async fn values_writes_grow_the_grid_and_respect_their_range() {
    let sandbox = start_frozen().await;
    let id = sandbox.sandbox.create_spreadsheet(NewSpreadsheet {
        tabs: vec![NewTab::Sized {
            title: "Data".into(),
            rows: 2,
            columns: 2,
        }],
        ..NewSpreadsheet::default()
    });
    let grown = sandbox
        .put_values(&id, "Data!A1", "RAW", json!([[1, 2, 3], [4], [5]]))
        .await;
    assert_eq!(grown.status, 200, "{}", grown.body);
    assert_eq!(
        sandbox.sandbox.spreadsheet_grids(&id),
        vec![("Data".to_owned(), 3, 3)]
    );
    let too_many = sandbox
        .put_values(&id, "Data!A1:B1", "RAW", json!([[1, 2, 3]]))
        .await;
    assert_eq!(
        too_many.message(),
        "Requested writing within range [Data!A1:B1], but tried writing to column [C]"
    );
    let batch = sandbox
        .sheets(
            Method::POST,
            &format!("/v4/spreadsheets/{id}/values:batchUpdate"),
            &[],
            Some(json!({
                "valueInputOption": "USER_ENTERED",
                "data": [
                    {"range": "Data!A1", "values": [["x"]]},
                    {"range": "Data!C1:C2", "majorDimension": "COLUMNS", "values": [["1,234.5", "2025-06-01"]]},
                ],
            })),
            Some(TOKEN),
        )
        .await;
    assert_eq!(batch.status, 200, "{}", batch.body);
    assert_eq!(batch.body["totalUpdatedCells"], 3);
    assert_eq!(batch.body["responses"][1]["updatedRange"], "Data!C1:C2");
    let values = &sandbox.sandbox.spreadsheet_tabs(&id)[0].1;
    assert_eq!(values[0][0], text("x"));
    assert_eq!(values[0][2], CellValue::Number(1234.5));
    assert_eq!(
        values[1][2],
        CellValue::Date(chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap())
    );
    let cleared = sandbox
        .sheets(
            Method::POST,
            &format!("/v4/spreadsheets/{id}/values/{}:clear", encode("Data!A:A")),
            &[],
            Some(json!({})),
            Some(TOKEN),
        )
        .await;
    assert_eq!(cleared.body["clearedRange"], "Data!A1:A3");
    assert_eq!(
        sandbox.sandbox.spreadsheet_tabs(&id)[0].1[0][0],
        CellValue::Empty
    );
}

#[tokio::test]
async fn append_writes_after_the_table_and_insert_rows_grows_the_grid() {
    let sandbox = start_frozen().await;
    let id = sandbox.sandbox.create_spreadsheet(NewSpreadsheet {
        tabs: vec![NewTab::Sized {
            title: "Log".into(),
            rows: 3,
            columns: 3,
        }],
        ..NewSpreadsheet::default()
    });
    sandbox
        .put_values(&id, "Log!A1", "RAW", json!([["date", "n"], ["d1", 1]]))
        .await;
    let append = |option: &'static str| {
        let sandbox = &sandbox;
        let id = id.clone();
        async move {
            sandbox
                .sheets(
                    Method::POST,
                    &format!("/v4/spreadsheets/{id}/values/{}:append", encode("Log!A1")),
                    &[("valueInputOption", "RAW"), ("insertDataOption", option)],
                    Some(json!({"values": [["d2", 2], ["d3", 3]]})),
                    Some(TOKEN),
                )
                .await
        }
    };
    let first = append("INSERT_ROWS").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["tableRange"], "Log!A1:B2");
    assert_eq!(first.body["updates"]["updatedRange"], "Log!A3:B4");
    assert_eq!(first.body["updates"]["updatedRows"], 2);
    assert_eq!(sandbox.sandbox.spreadsheet_grids(&id)[0].1, 5);
    let second = append("OVERWRITE").await;
    assert_eq!(second.body["updates"]["updatedRange"], "Log!A5:B6");
    assert_eq!(sandbox.sandbox.spreadsheet_grids(&id)[0].1, 6);
    let values = &sandbox.sandbox.spreadsheet_tabs(&id)[0].1;
    assert_eq!(values.len(), 6);
    assert_eq!(values[5], vec![text("d3"), CellValue::Number(3.0)]);
}

#[tokio::test]
async fn batch_update_is_atomic_and_names_the_failing_request() {
    let sandbox = start_frozen().await;
    let id = sandbox
        .sandbox
        .create_spreadsheet(NewSpreadsheet::titled("t"));
    let refused = sandbox
        .batch_update(
            &id,
            json!([
                {"addSheet": {"properties": {"title": "Staging"}}},
                {"updateCells": {"start": {"sheetId": 0, "rowIndex": 0, "columnIndex": 0}, "rows": [{"values": [{"userEnteredValue": {"stringValue": "x"}}]}], "fields": "userEnteredValue"}},
                {"addSheet": {"properties": {"title": "staging"}}},
            ]),
        )
        .await;
    assert_eq!(status_of(&refused), (400, "INVALID_ARGUMENT".into()));
    assert_eq!(
        refused.message(),
        "Invalid requests[2].addSheet: A sheet with the name \"staging\" already exists. Please enter another name."
    );
    assert_eq!(
        sandbox.sandbox.spreadsheet_tabs(&id),
        vec![("Sheet1".to_owned(), vec![])]
    );
    let applied = sandbox
        .batch_update(
            &id,
            json!([
                {"addSheet": {"properties": {"sheetId": 42, "title": "Staging", "gridProperties": {"rowCount": 2, "columnCount": 2}}}},
                {"insertDimension": {"range": {"sheetId": 42, "dimension": "ROWS", "startIndex": 0, "endIndex": 1}, "inheritFromBefore": false}},
                {"updateCells": {"start": {"sheetId": 42, "rowIndex": 0, "columnIndex": 0}, "rows": [
                    {"values": [{"userEnteredValue": {"stringValue": "a"}}, {"userEnteredValue": {"numberValue": 1.5}}]},
                    {"values": [{"userEnteredValue": {"boolValue": false}}, {"userEnteredValue": {"formulaValue": "=A1"}}]},
                    {"values": [{}, {"userEnteredValue": {"numberValue": 3}}]},
                ], "fields": "userEnteredValue"}},
                {"updateSheetProperties": {"properties": {"sheetId": 42, "title": "Final"}, "fields": "title"}},
                {"deleteSheet": {"sheetId": 0}},
            ]),
        )
        .await;
    assert_eq!(applied.status, 200, "{}", applied.body);
    let replies = applied.body["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 5);
    assert_eq!(replies[0]["addSheet"]["properties"]["sheetId"], 42);
    assert_eq!(replies[1], json!({}));
    assert_eq!(
        sandbox.sandbox.spreadsheet_tabs(&id),
        vec![(
            "Final".to_owned(),
            vec![
                vec![text("a"), CellValue::Number(1.5)],
                vec![CellValue::Bool(false), text("=A1")],
                vec![CellValue::Empty, CellValue::Number(3.0)],
            ]
        )]
    );
    let beyond = sandbox
        .batch_update(
            &id,
            json!([{"updateCells": {"start": {"sheetId": 42, "rowIndex": 3}, "rows": [{"values": [{"userEnteredValue": {"numberValue": 1}}]}], "fields": "userEnteredValue"}}]),
        )
        .await;
    assert_eq!(
        beyond.message(),
        "Invalid requests[0].updateCells: Range (Final!A4) exceeds grid limits. Max rows: 3, max columns: 2"
    );
    assert_eq!(sandbox.sandbox.sheets_write_requests(&id), 3);
}

#[tokio::test]
async fn the_workbook_is_limited_to_ten_million_cells() {
    let sandbox = start_frozen().await;
    let id = sandbox
        .sandbox
        .create_spreadsheet(NewSpreadsheet::titled("t"));
    let too_big = sandbox
        .batch_update(
            &id,
            json!([{"addSheet": {"properties": {"title": "Big", "gridProperties": {"rowCount": 1_000_000, "columnCount": 10}}}}]),
        )
        .await;
    assert_eq!(
        too_big.message(),
        "Invalid requests[0].addSheet: This action would increase the number of cells in the workbook above the limit of 10000000 cells."
    );
    // A refused single request (here: a rename with a grid too big) changes nothing.
    let rename = sandbox
        .batch_update(
            &id,
            json!([{"updateSheetProperties": {"properties": {"sheetId": 0, "title": "Renamed", "gridProperties": {"rowCount": 400_000}}, "fields": "title,gridProperties.rowCount"}}]),
        )
        .await;
    assert_eq!(status_of(&rename), (400, "INVALID_ARGUMENT".into()));
    assert_eq!(
        sandbox.sandbox.spreadsheet_grids(&id),
        vec![("Sheet1".to_owned(), 1000, 26)]
    );
    let fits = sandbox
        .batch_update(
            &id,
            json!([{"addSheet": {"properties": {"title": "Big", "gridProperties": {"rowCount": 997_400, "columnCount": 10}}}}]),
        )
        .await;
    assert_eq!(fits.status, 200, "{}", fits.body);
    let grow = sandbox
        .put_values(&id, "Big!A997401", "RAW", json!([[1]]))
        .await;
    assert_eq!(status_of(&grow), (400, "INVALID_ARGUMENT".into()));
    assert_eq!(
        grow.message(),
        "This action would increase the number of cells in the workbook above the limit of 10000000 cells."
    );
    let append = sandbox
        .sheets(
            Method::POST,
            &format!("/v4/spreadsheets/{id}/values/{}:append", encode("Big!A1")),
            &[
                ("valueInputOption", "RAW"),
                ("insertDataOption", "INSERT_ROWS"),
            ],
            Some(json!({"values": [[1]]})),
            Some(TOKEN),
        )
        .await;
    assert_eq!(status_of(&append), (400, "INVALID_ARGUMENT".into()));
    assert_eq!(
        sandbox.sandbox.spreadsheet_grids(&id)[1],
        ("Big".to_owned(), 997_400, 10)
    );
}

#[tokio::test]
async fn a_million_cell_window_is_written_in_one_batch_update() {
    let sandbox = start_frozen().await;
    let id = sandbox
        .sandbox
        .create_spreadsheet(NewSpreadsheet::titled("big"));
    // The body is built as text: a million `serde_json::Value`s would take longer to build in a
    // debug test than the sandbox takes to serve the request.
    let mut rows = String::with_capacity(50 << 20);
    for r in 0..100_000u32 {
        if r > 0 {
            rows.push(',');
        }
        rows.push_str(&format!(
            r#"{{"values":[{{"userEnteredValue":{{"stringValue":"2025-06-{:02}"}}}}"#,
            r % 28 + 1
        ));
        for c in 0..9 {
            rows.push_str(&format!(
                r#",{{"userEnteredValue":{{"numberValue":{}}}}}"#,
                r * 10 + c
            ));
        }
        rows.push_str("]}");
    }
    let body = format!(
        r#"{{"requests":[{{"addSheet":{{"properties":{{"sheetId":7,"title":"Window","gridProperties":{{"rowCount":100000,"columnCount":10}}}}}}}},{{"updateCells":{{"start":{{"sheetId":7,"rowIndex":0,"columnIndex":0}},"rows":[{rows}],"fields":"userEnteredValue"}}}}]}}"#
    );
    let started = Instant::now();
    let response = sandbox
        .client
        .post(sandbox.url(&format!("/google_sheets/v4/spreadsheets/{id}:batchUpdate")))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let reply = Reply::read(response).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    eprintln!("one million cells written in {:?}", started.elapsed());
    let tail = sandbox
        .get_values(
            &id,
            "Window!A100000:J100000",
            &[("valueRenderOption", "UNFORMATTED_VALUE")],
        )
        .await;
    assert_eq!(tail.body["values"][0][9], json!(999_998));
    let tabs = sandbox.sandbox.spreadsheet_tabs(&id);
    assert_eq!(tabs[1].1.len(), 100_000);
    assert_eq!(sandbox.sandbox.sheets_write_requests(&id), 1);
}

#[tokio::test]
async fn write_and_read_quotas_answer_429_with_error_info() {
    let sandbox = start(SandboxConfig {
        now: Some(frozen_now()),
        google_sheets: GoogleSheetsConfig {
            write_requests_per_minute_per_user: 2,
            write_requests_per_minute_per_project: 3,
            read_requests_per_minute_per_user: 1,
            ..GoogleSheetsConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let id = sandbox
        .sandbox
        .create_spreadsheet(NewSpreadsheet::titled("t"));
    for _ in 0..2 {
        let ok = sandbox.put_values(&id, "A1", "RAW", json!([[1]])).await;
        assert_eq!(ok.status, 200, "{}", ok.body);
    }
    let refused = sandbox.put_values(&id, "A1", "RAW", json!([[1]])).await;
    assert_eq!(status_of(&refused), (429, "RESOURCE_EXHAUSTED".into()));
    let info = &refused.body["error"]["details"][0];
    assert_eq!(info["@type"], "type.googleapis.com/google.rpc.ErrorInfo");
    assert_eq!(info["reason"], "RATE_LIMIT_EXCEEDED");
    assert_eq!(
        info["metadata"]["quota_metric"],
        "sheets.googleapis.com/write_requests"
    );
    assert_eq!(
        info["metadata"]["quota_limit"],
        "WriteRequestsPerMinutePerUser"
    );
    // Another user still has room until the project's quota is full.
    let other = |n: usize| format!("other-user-{n}");
    let ok = sandbox
        .sheets(
            Method::PUT,
            &format!("/v4/spreadsheets/{id}/values/A1"),
            &[("valueInputOption", "RAW")],
            Some(json!({"values": [[2]]})),
            Some(&other(1)),
        )
        .await;
    assert_eq!(ok.status, 200);
    let project = sandbox
        .sheets(
            Method::PUT,
            &format!("/v4/spreadsheets/{id}/values/A1"),
            &[("valueInputOption", "RAW")],
            Some(json!({"values": [[3]]})),
            Some(&other(2)),
        )
        .await;
    assert_eq!(
        project.body["error"]["details"][0]["metadata"]["quota_limit"],
        "WriteRequestsPerMinutePerProject"
    );
    // Reads count separately.
    assert_eq!(sandbox.get_values(&id, "A1", &[]).await.status, 200);
    let read = sandbox.get_values(&id, "A1", &[]).await;
    assert_eq!(
        read.body["error"]["details"][0]["metadata"]["quota_limit"],
        "ReadRequestsPerMinutePerUser"
    );
    // The quota is back a minute later.
    sandbox
        .sandbox
        .set_now(Some(frozen_now() + chrono::Duration::seconds(60)));
    assert_eq!(
        sandbox
            .put_values(&id, "A1", "RAW", json!([[4]]))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn unknown_unshared_and_unauthenticated_requests_are_refused() {
    let sandbox = start_frozen().await;
    let issued = sandbox.sandbox.issue_tokens(
        Connector::GoogleSheets,
        Some(Duration::from_secs(3599)),
        true,
    );
    let refresh = issued.refresh_token.clone().unwrap();
    let id = sandbox
        .sandbox
        .create_spreadsheet(NewSpreadsheet::titled("private").shared_with([refresh.clone()]));
    let path = format!("/v4/spreadsheets/{id}");
    let get = |token: Option<String>, path: String| {
        let sandbox = &sandbox;
        async move {
            sandbox
                .sheets(Method::GET, &path, &[], None, token.as_deref())
                .await
        }
    };
    assert_eq!(
        get(Some(issued.access_token.clone()), path.clone())
            .await
            .status,
        200
    );
    let stranger = get(Some("stranger".into()), path.clone()).await;
    assert_eq!(status_of(&stranger), (403, "PERMISSION_DENIED".into()));
    assert_eq!(stranger.message(), "The caller does not have permission");
    let missing = get(Some(TOKEN.into()), "/v4/spreadsheets/nope".into()).await;
    assert_eq!(status_of(&missing), (404, "NOT_FOUND".into()));
    assert_eq!(missing.message(), "Requested entity was not found.");
    let anonymous = get(None, path.clone()).await;
    assert_eq!(status_of(&anonymous), (401, "UNAUTHENTICATED".into()));
    assert_eq!(
        anonymous.body["error"]["details"][0]["reason"],
        "CREDENTIALS_MISSING"
    );
    // A token refreshed from the shared refresh token is the same user.
    let refreshed = sandbox
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "c"),
            ("client_secret", "s"),
            ("refresh_token", refresh.as_str()),
        ])
        .await;
    assert_eq!(refreshed.body["expires_in"], 3599);
    assert_eq!(refreshed.body["token_type"], "Bearer");
    let fresh = refreshed.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(get(Some(fresh.clone()), path.clone()).await.status, 200);
    sandbox
        .sandbox
        .set_now(Some(frozen_now() + chrono::Duration::seconds(3600)));
    let expired = get(Some(fresh), path.clone()).await;
    assert_eq!(status_of(&expired), (401, "UNAUTHENTICATED".into()));
    assert_eq!(
        expired.body["error"]["details"][0]["reason"],
        "ACCESS_TOKEN_EXPIRED"
    );
}

#[tokio::test]
async fn faults_answer_in_googles_wire_format() {
    let sandbox = start_frozen().await;
    let id = sandbox
        .sandbox
        .create_spreadsheet(NewSpreadsheet::titled("t"));
    let expectations = [
        (FaultKind::Throttle, 429, "RESOURCE_EXHAUSTED"),
        (FaultKind::ServerError, 500, "INTERNAL"),
        (FaultKind::ReduceData, 503, "UNAVAILABLE"),
        (FaultKind::ExpiredToken, 401, "UNAUTHENTICATED"),
    ];
    for (kind, status, name) in expectations {
        sandbox
            .sandbox
            .add_fault(Fault::new(Connector::GoogleSheets, kind).account(id.clone()));
        let reply = sandbox.get_values(&id, "A1", &[]).await;
        assert_eq!(status_of(&reply), (status, name.to_owned()), "{kind}");
    }
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::GoogleSheets, FaultKind::Malformed));
    let malformed = sandbox.put_values(&id, "A1", "RAW", json!([[1]])).await;
    assert_eq!(malformed.status, 200);
    assert_eq!(malformed.body["updatedCells"], "#REF!");
    sandbox.sandbox.add_fault(Fault::slow(
        Connector::GoogleSheets,
        Duration::from_millis(20),
    ));
    assert_eq!(sandbox.get_values(&id, "A1", &[]).await.status, 200);
    // A revoked token is refused and its grant can no longer be refreshed.
    let issued = sandbox.sandbox.issue_tokens(
        Connector::GoogleSheets,
        Some(Duration::from_secs(3599)),
        true,
    );
    sandbox
        .sandbox
        .add_fault(Fault::new(Connector::GoogleSheets, FaultKind::RevokedToken));
    let revoked = sandbox
        .sheets(
            Method::GET,
            &format!("/v4/spreadsheets/{id}"),
            &[],
            None,
            Some(&issued.access_token),
        )
        .await;
    assert_eq!(status_of(&revoked), (401, "UNAUTHENTICATED".into()));
    let refresh = sandbox
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "c"),
            ("client_secret", "s"),
            ("refresh_token", issued.refresh_token.as_deref().unwrap()),
        ])
        .await;
    assert_eq!(refresh.status, 400);
    assert_eq!(refresh.body["error"], "invalid_grant");
    let log = sandbox.sandbox.requests_for(Connector::GoogleSheets);
    let faults: Vec<_> = log.iter().filter_map(|record| record.fault).collect();
    assert_eq!(faults.len(), 7);
    assert!(log.iter().all(|record| !record.unknown_route));
    assert_eq!(
        log[0].route.as_deref(),
        Some("/v4/spreadsheets/{spreadsheetId}/values/{range}")
    );
    assert_eq!(log[0].account_id.as_deref(), Some(id.as_str()));
    // A write answered by a fault is not one of the spreadsheet's writes; the malformed one was
    // applied.
    assert_eq!(sandbox.sandbox.sheets_write_requests(&id), 1);
}

#[tokio::test]
async fn authorization_codes_work_once() {
    let sandbox = start_frozen().await;
    let exchange = || {
        sandbox.token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "c"),
            ("client_secret", "s"),
            ("code", "4/abc"),
            ("redirect_uri", "http://localhost/cb"),
        ])
    };
    let first = exchange().await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.body["refresh_token"].as_str().is_some());
    assert_eq!(
        first.body["scope"],
        "https://www.googleapis.com/auth/spreadsheets"
    );
    let again = exchange().await;
    assert_eq!(again.body["error"], "invalid_grant");
}

#[tokio::test]
async fn the_control_api_creates_and_shows_spreadsheets() {
    let sandbox = start_frozen().await;
    let created = sandbox
        .post_json(
            "/_sandbox/google_sheets/spreadsheets",
            json!({"title": "Ctl", "shared_with": [TOKEN], "tabs": ["Sheet1", {"title": "Raw data", "rows": 10, "columns": 3}]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["spreadsheetId"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 44);
    sandbox
        .put_values(
            &id,
            "Raw data!A1:B1",
            "USER_ENTERED",
            json!([["x", "2025-06-01"]]),
        )
        .await;
    let shown = sandbox
        .get(&format!("/_sandbox/google_sheets/spreadsheets/{id}"), &[])
        .await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body["tabs"][1]["title"], "Raw data");
    assert_eq!(shown.body["tabs"][1]["rowCount"], 10);
    assert_eq!(
        shown.body["tabs"][1]["values"],
        json!([["x", {"date": "2025-06-01"}]])
    );
    let writes = sandbox
        .get(
            &format!("/_sandbox/google_sheets/spreadsheets/{id}/writes"),
            &[],
        )
        .await;
    assert_eq!(writes.body["writes"], 1);
    let bad = sandbox
        .post_json(
            "/_sandbox/google_sheets/spreadsheets",
            json!({"tabs": ["A", "a"]}),
        )
        .await;
    assert_eq!(bad.status, 400);
    let unknown = sandbox
        .sheets(
            Method::GET,
            "/v4/spreadsheets/x/nothing",
            &[],
            None,
            Some(TOKEN),
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(sandbox.sandbox.unknown_routes().len(), 1);
}

#[tokio::test]
async fn updates_can_echo_values_and_batch_clear_clears_every_range() {
    let sandbox = start_frozen().await;
    let id = sandbox
        .sandbox
        .create_spreadsheet(NewSpreadsheet::titled("t"));
    // The token may also come as the `access_token` parameter.
    let echoed = sandbox
        .sheets(
            Method::PUT,
            &format!("/v4/spreadsheets/{id}/values/{}", encode("Sheet1!B2")),
            &[
                ("valueInputOption", "USER_ENTERED"),
                ("includeValuesInResponse", "true"),
                ("responseValueRenderOption", "UNFORMATTED_VALUE"),
                ("access_token", TOKEN),
            ],
            Some(json!({"majorDimension": "COLUMNS", "values": [["1", "2"], ["x"]]})),
            None,
        )
        .await;
    assert_eq!(echoed.status, 200, "{}", echoed.body);
    assert_eq!(echoed.body["updatedRange"], "Sheet1!B2:C3");
    assert_eq!(echoed.body["updatedRows"], 2);
    assert_eq!(echoed.body["updatedColumns"], 2);
    assert_eq!(echoed.body["updatedCells"], 3);
    assert_eq!(echoed.body["updatedData"]["values"], json!([[1, "x"], [2]]));
    let log = sandbox.sandbox.requests_for(Connector::GoogleSheets);
    assert_eq!(log[0].query["access_token"], "[redacted]");
    let cleared = sandbox
        .sheets(
            Method::POST,
            &format!("/v4/spreadsheets/{id}/values:batchClear"),
            &[],
            Some(json!({"ranges": ["Sheet1!B2", "C:C"]})),
            Some(TOKEN),
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(
        cleared.body["clearedRanges"],
        json!(["Sheet1!B2", "Sheet1!C1:C1000"])
    );
    assert_eq!(
        sandbox.sandbox.spreadsheet_tabs(&id)[0].1,
        vec![
            vec![],
            vec![],
            vec![CellValue::Empty, CellValue::Number(2.0)]
        ]
    );
    let list = sandbox
        .put_values(&id, "A1", "RAW", json!([[1, [2]]]))
        .await;
    assert_eq!(list.message(), "Invalid values[0][1]: list_value");
}

#[tokio::test]
async fn grants_of_one_login_share_its_quota_and_tokeninfo_names_the_login() {
    // Arrange: one user may write twice a minute; alice consented twice (two grants), bob once.
    let sandbox = start(SandboxConfig {
        now: Some(frozen_now()),
        google_sheets: GoogleSheetsConfig {
            write_requests_per_minute_per_user: 2,
            ..GoogleSheetsConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let issue = |login: &str| {
        sandbox
            .sandbox
            .issue_tokens_for(Connector::GoogleSheets, Some(login), None, true)
    };
    let (alice_1, alice_2, bob) = (issue("alice"), issue("alice"), issue("bob"));
    let id = sandbox
        .sandbox
        .create_spreadsheet(NewSpreadsheet::titled("t"));
    let write = |token: String| {
        let (sandbox, id) = (&sandbox, &id);
        async move {
            sandbox
                .sheets(
                    Method::PUT,
                    &format!("/v4/spreadsheets/{id}/values/A1"),
                    &[("valueInputOption", "RAW")],
                    Some(json!({"values": [[1]]})),
                    Some(&token),
                )
                .await
        }
    };
    let info = |token: String| {
        let sandbox = &sandbox;
        async move {
            let response = sandbox
                .client
                .get(sandbox.url("/google_sheets/oauth2/tokeninfo"))
                .query(&[("access_token", token)])
                .send()
                .await
                .unwrap();
            Reply::read(response).await
        }
    };

    // Act: each of alice's grants writes once, then her first grant again; bob writes.
    let first = write(alice_1.access_token.clone()).await;
    let second = write(alice_2.access_token.clone()).await;
    let third = write(alice_1.access_token.clone()).await;
    let bobs = write(bob.access_token.clone()).await;

    // Assert: alice's grants drew on one quota, bob's is his own.
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(status_of(&third), (429, "RESOURCE_EXHAUSTED".into()));
    assert_eq!(bobs.status, 200);
    let (a1, a2, b) = (
        info(alice_1.access_token.clone()).await,
        info(alice_2.access_token.clone()).await,
        info(bob.access_token.clone()).await,
    );
    assert_eq!((a1.status, a2.status, b.status), (200, 200, 200));
    let sub = a1.body["sub"].as_str().unwrap();
    assert_eq!(sub.len(), 21);
    assert!(sub.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(a2.body["sub"], a1.body["sub"]);
    assert_ne!(b.body["sub"], a1.body["sub"]);
    assert_eq!(
        a1.body["scope"],
        "https://www.googleapis.com/auth/spreadsheets"
    );
    assert!(a1.body["expires_in"].is_string());
    // A revoked grant's token, and no token, are refused.
    sandbox
        .sandbox
        .revoke_token(Connector::GoogleSheets, &bob.access_token);
    let revoked = info(bob.access_token.clone()).await;
    assert_eq!(revoked.status, 400);
    assert_eq!(revoked.body["error"], "invalid_token");
    let missing = sandbox
        .client
        .get(sandbox.url("/google_sheets/oauth2/tokeninfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
}

#[tokio::test]
async fn a_serial_number_with_a_date_format_reads_back_as_a_date() {
    // Arrange
    let sandbox = start_frozen().await;
    let id = sandbox
        .sandbox
        .create_spreadsheet(NewSpreadsheet::titled("t"));

    // Act: Sheets' way to write a date: its serial number with a DATE number format.
    let written = sandbox
        .batch_update(
            &id,
            json!([{"updateCells": {
                "start": {"sheetId": 0, "rowIndex": 0, "columnIndex": 0},
                "rows": [{"values": [
                    {"userEnteredValue": {"numberValue": 46082},
                     "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}}},
                    {"userEnteredValue": {"numberValue": 46082}},
                ]}],
                "fields": "userEnteredValue,userEnteredFormat.numberFormat",
            }}]),
        )
        .await;

    // Assert: the first cell is a date (a serial number unformatted, a date formatted), the
    // second a plain number.
    assert_eq!(written.status, 200, "{}", written.body);
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    assert_eq!(
        sandbox.sandbox.spreadsheet_tabs(&id)[0].1[0],
        vec![CellValue::Date(day), CellValue::Number(46082.0)]
    );
    let unformatted = sandbox
        .get_values(&id, "A1:B1", &[("valueRenderOption", "UNFORMATTED_VALUE")])
        .await;
    assert_eq!(unformatted.body["values"], json!([[46082, 46082]]));
    let formatted = sandbox.get_values(&id, "A1:B1", &[]).await;
    assert_eq!(formatted.body["values"], json!([["2026-03-01", "46082"]]));
}
