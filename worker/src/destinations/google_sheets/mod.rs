//! The google_sheets destination: one tab per sync, a header row that follows the sync's
//! columns, rows ordered by date.
//!
//! A job's rows are collected while the platform is read; at commit the writer takes the
//! spreadsheet's turn (an advisory lock: writes to one spreadsheet are serialised across
//! workers), reads the tab's header and date column, and replaces exactly the block of rows in
//! the job's window with one `spreadsheets.batchUpdate` — delete the old block, insert room for
//! the new one, write it — which Google applies atomically: a failure leaves the previous rows,
//! a retry or redelivery writes the same block again, a window that shrank leaves no stale rows.
//! When the tab's header differs from the sync's columns (a field was added) or its rows are out
//! of order, the whole tab is rewritten in the same single request, existing rows carried over
//! by column name. The tab is created on first use. Dates are written as dates — Sheets' serial
//! number with a `DATE` number format — so charts and filters treat them as dates; a tab whose
//! dates are text is rewritten once. Every request takes its turn in the shared rate budgets
//! for Google's per-user and per-project quotas, reads and writes apart; the per-user quota is
//! the Google login's (learned from Google's token information on first use and kept on the
//! destination), shared by every destination on that account. The cell limit is checked
//! before writing. The write goes out only if the attempt still holds the
//! job's lease, checked in the spreadsheet's turn (see `warehouse` on fencing).

mod wire;

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use shared::config::SheetsConfig;
use shared::crypto::KeyRing;
use shared::db::jobs;
use shared::db::rate_budgets::Bucket;
use shared::db::{DbError, Pool};
use shared::domain::DestinationId;
use shared::domain::destination::SheetsSettings;
use shared::error::{Classify, ErrorClass};

use super::{RowError, WriteTarget, check_rows};
use connectors::budget::{BudgetError, Budgets};
use connectors::oauth::{TokenEndpoint, refresh_grant};
use connectors::rows::{Layout, Row};
use connectors::tokens::{RefreshFn, TokenError, TokenSource};
use wire::{BatchGet, BatchUpdateReply, ErrorEnvelope, Request, RowsToWrite, SheetProperties};

/// Refresh a destination's Google access token (one hour) when it expires within this.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Google refills its quotas every minute.
const QUOTA_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

#[derive(Debug, thiserror::Error)]
pub enum SheetsError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Budget(#[from] BudgetError),
    #[error("google_sheets: request failed: {0}")]
    Transport(#[source] reqwest::Error),
    #[error(transparent)]
    Row(#[from] RowError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(
        "google_sheets: spreadsheet {spreadsheet} is not shared with the destination's Google account (HTTP 403: {message})"
    )]
    NotShared {
        spreadsheet: String,
        message: String,
    },
    #[error("google_sheets: spreadsheet {spreadsheet} does not exist (HTTP 404)")]
    NotFound { spreadsheet: String },
    #[error("google_sheets: Google refused the destination's credentials (HTTP 401: {message})")]
    Unauthorized { message: String },
    #[error("google_sheets: the {quota} quota is used up until {until}")]
    Throttled { quota: String, until: DateTime<Utc> },
    #[error("google_sheets: spreadsheet {spreadsheet} answered HTTP {status} {code}: {message}")]
    Api {
        spreadsheet: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error(
        "google_sheets: writing would make spreadsheet {spreadsheet} {cells} cells, above its limit of {limit}"
    )]
    CellLimit {
        spreadsheet: String,
        cells: u64,
        limit: u64,
    },
    #[error("google_sheets: the answer to {what} is malformed: {detail}")]
    Malformed { what: &'static str, detail: String },
    /// The attempt no longer holds the job: writing could overwrite a newer attempt's rows.
    #[error(
        "google_sheets: attempt {attempt} lost the job's lease before writing; nothing was written"
    )]
    LeaseLost { attempt: i32 },
}

impl Classify for SheetsError {
    fn class(&self) -> ErrorClass {
        match self {
            SheetsError::Token(error) => error.class(),
            SheetsError::Budget(BudgetError::Exhausted { key, until }) => ErrorClass::Throttled {
                until: *until,
                scope: key.clone(),
            },
            SheetsError::Budget(BudgetError::Db(_))
            | SheetsError::Transport(_)
            | SheetsError::Db(_)
            | SheetsError::LeaseLost { .. } => ErrorClass::Transient { retry_after: None },
            SheetsError::Throttled { quota, until } => ErrorClass::Throttled {
                until: *until,
                scope: quota.clone(),
            },
            SheetsError::Unauthorized { .. } => ErrorClass::Auth,
            SheetsError::Api { status, .. } => shared::error::class_of_http_status(*status, None),
            SheetsError::Row(_)
            | SheetsError::NotShared { .. }
            | SheetsError::NotFound { .. }
            | SheetsError::CellLimit { .. }
            | SheetsError::Malformed { .. } => ErrorClass::Permanent,
        }
    }
}

impl SheetsError {
    /// Whether the destination's own credentials failed (not the platform's).
    pub fn is_credentials(&self) -> bool {
        matches!(
            self,
            SheetsError::Unauthorized { .. } | SheetsError::Token(_)
        ) && self.class() == ErrorClass::Auth
    }
}

/// What every Sheets write of a worker shares.
#[derive(Clone)]
pub struct SheetsContext {
    pub client: reqwest::Client,
    pub config: SheetsConfig,
    pub budgets: Budgets,
}

/// Reads and writes count against separate quotas.
#[derive(Debug, Clone, Copy)]
enum Quota {
    Read,
    Write,
}

impl Quota {
    fn name(self) -> &'static str {
        match self {
            Quota::Read => "read",
            Quota::Write => "write",
        }
    }
}

/// A rolling quota of `per_minute` requests as a token bucket that can never exceed it: half
/// the quota as a burst, refilled at half the quota per minute.
fn quota_bucket(key: String, per_minute: u32) -> Bucket {
    let per_minute = f64::from(per_minute.max(1));
    Bucket {
        key,
        capacity: (per_minute / 2.0).max(1.0),
        refill_per_sec: per_minute / 2.0 / 60.0,
    }
}

/// One job's write to its tab.
pub struct SheetsWriter {
    context: SheetsContext,
    pool: Pool,
    settings: SheetsSettings,
    tokens: TokenSource,
    /// The destination's Google login (Google's `sub`): its per-user quota is this login's,
    /// shared with every destination on the same Google account.
    login: String,
    layout: Layout,
    target: WriteTarget,
    rows: Vec<Row>,
}

impl SheetsWriter {
    pub async fn open(
        context: SheetsContext,
        pool: &Pool,
        keys: &KeyRing,
        destination: DestinationId,
        google_subject: Option<String>,
        settings: SheetsSettings,
        target: WriteTarget,
    ) -> Result<Self, SheetsError> {
        let tokens = TokenSource::open(
            pool.clone(),
            keys.clone(),
            target.tenant_id,
            destination,
            "google_sheets",
            google_refresher(&context),
            REFRESH_MARGIN,
        )
        .await?;
        let login = match google_subject {
            Some(login) => login,
            None => {
                let login = google_login(&context, &tokens).await?;
                let client = pool.get().await.map_err(DbError::from)?;
                shared::db::destinations::set_google_subject(
                    &client,
                    target.tenant_id,
                    destination,
                    &login,
                )
                .await?;
                login
            }
        };
        Ok(Self {
            layout: Layout::stored(&target.report),
            context,
            pool: pool.clone(),
            settings,
            tokens,
            login,
            target,
            rows: Vec::new(),
        })
    }

    /// Collects one page of rows.
    pub fn write(&mut self, rows: &[Row]) -> Result<(), SheetsError> {
        check_rows(&self.layout, self.target.window, rows)?;
        self.rows.extend_from_slice(rows);
        Ok(())
    }

    /// Replaces the window's rows in the tab with the collected ones, in one atomic request.
    pub async fn commit(mut self) -> Result<u64, SheetsError> {
        self.rows
            .sort_by(|a, b| (a.date, &a.texts).cmp(&(b.date, &b.texts)));
        let mut client = self.pool.get().await.map_err(DbError::from)?;
        let turn = client.transaction().await.map_err(DbError::from)?;
        turn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            &[&format!("google_sheets:{}", self.settings.spreadsheet_id)],
        )
        .await
        .map_err(DbError::from)?;

        let tabs = self.tabs().await?;
        let tab = match tabs.iter().find(|tab| tab.title == self.settings.tab) {
            Some(tab) => tab.clone(),
            None => self.add_tab().await?,
        };
        let other_cells: u64 = tabs
            .iter()
            .filter(|other| other.sheet_id != tab.sheet_id)
            .map(|other| other.grid_properties.row_count * other.grid_properties.column_count)
            .sum();
        let header = self.header();
        let (existing_header, first_column) = self.read_header_and_first_column(&tab).await?;
        let plan = match self.block(&existing_header, &first_column, &header) {
            Some((start, end)) => Plan::Block { start, end },
            None => Plan::Rewrite {
                kept: self.carried_over(&tab, &header).await?,
                old_rows: u64::try_from(first_column.len()).unwrap_or(u64::MAX),
            },
        };
        let written = u64::try_from(self.rows.len()).unwrap_or(u64::MAX);
        let columns = tab
            .grid_properties
            .column_count
            .max(u64::try_from(header.len()).unwrap_or(u64::MAX));
        let rows_after = match &plan {
            Plan::Block { start, end } => {
                tab.grid_properties
                    .row_count
                    .max(1)
                    .saturating_sub(end - start)
                    + written
            }
            Plan::Rewrite { kept, old_rows } => {
                tab.grid_properties
                    .row_count
                    .max(1)
                    .saturating_sub(*old_rows)
                    + u64::try_from(kept.len()).unwrap_or(u64::MAX)
                    + written
            }
        };
        let cells = other_cells + rows_after * columns;
        if cells > self.context.config.max_cells {
            return Err(SheetsError::CellLimit {
                spreadsheet: self.settings.spreadsheet_id.clone(),
                cells,
                limit: self.context.config.max_cells,
            });
        }

        let sheet_id = tab.sheet_id;
        let mut requests = Vec::new();
        if tab.grid_properties.column_count < columns {
            requests.push(Request::SetColumnCount { sheet_id, columns });
        }
        let all_rows;
        match plan {
            Plan::Block { start, end } => {
                requests.push(Request::UpdateCells {
                    sheet_id,
                    start: 0,
                    rows: RowsToWrite {
                        header: Some(&header),
                        rows: &[],
                    },
                });
                if end > start {
                    requests.push(Request::DeleteRows {
                        sheet_id,
                        start: 1 + start,
                        end: 1 + end,
                    });
                }
                if written > 0 {
                    requests.push(Request::InsertRows {
                        sheet_id,
                        start: 1 + start,
                        end: 1 + start + written,
                    });
                    requests.push(Request::UpdateCells {
                        sheet_id,
                        start: 1 + start,
                        rows: RowsToWrite {
                            header: None,
                            rows: &self.rows,
                        },
                    });
                }
            }
            Plan::Rewrite { kept, old_rows } => {
                let mut rows = kept;
                rows.append(&mut self.rows);
                rows.sort_by(|a, b| (a.date, &a.texts).cmp(&(b.date, &b.texts)));
                all_rows = rows;
                if old_rows > 0 {
                    requests.push(Request::DeleteRows {
                        sheet_id,
                        start: 1,
                        end: 1 + old_rows,
                    });
                }
                if !all_rows.is_empty() {
                    requests.push(Request::InsertRows {
                        sheet_id,
                        start: 1,
                        end: 1 + u64::try_from(all_rows.len()).unwrap_or(u64::MAX),
                    });
                }
                requests.push(Request::UpdateCells {
                    sheet_id,
                    start: 0,
                    rows: RowsToWrite {
                        header: Some(&header),
                        rows: &all_rows,
                    },
                });
            }
        }
        let body = wire::batch_update(&requests).map_err(|error| SheetsError::Malformed {
            what: "the request",
            detail: error.to_string(),
        })?;
        drop(requests);
        // The fence: write only if this attempt still holds the job. Every writer of this
        // spreadsheet holds its turn while it checks and writes, so a newer attempt writes
        // after us, and we fail the check if it wrote first.
        if !jobs::holds(&turn, &self.target.lease).await? {
            return Err(SheetsError::LeaseLost {
                attempt: self.target.lease.attempt,
            });
        }
        self.call(
            Quota::Write,
            reqwest::Method::POST,
            &self.spreadsheet_url(":batchUpdate"),
            &[],
            Some(body),
        )
        .await?;
        turn.commit().await.map_err(DbError::from)?;
        Ok(written)
    }

    /// Nothing was written before commit.
    pub fn abort(self) {}

    fn header(&self) -> Vec<String> {
        self.layout
            .dated
            .then(|| "date".to_string())
            .into_iter()
            .chain(self.layout.texts.iter().map(|name| name.to_string()))
            .chain(self.layout.numbers.iter().map(|name| name.to_string()))
            .collect()
    }

    /// Where the window's rows are among the tab's data rows (0-based, end exclusive), when
    /// the tab can be edited in place: same header, dates in order. Entity tabs are replaced
    /// whole.
    fn block(
        &self,
        existing_header: &[String],
        first_column: &[serde_json::Value],
        header: &[String],
    ) -> Option<(u64, u64)> {
        let len = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        if first_column.is_empty() {
            return Some((0, 0));
        }
        if existing_header != header {
            return None;
        }
        if !self.layout.dated {
            return Some((0, len(first_column.len())));
        }
        // Dates written as text (by adsync before it wrote dates as dates): rewrite the tab,
        // so every row's date becomes a date.
        if first_column.iter().any(serde_json::Value::is_string) {
            return None;
        }
        let dates: Option<Vec<NaiveDate>> = first_column.iter().map(cell_date).collect();
        let dates = dates?;
        if !dates.is_sorted() {
            return None;
        }
        let window = self.target.window;
        let start = dates.partition_point(|date| *date < window.start());
        let end = dates.partition_point(|date| *date <= window.end());
        Some((len(start), len(end)))
    }

    /// For a rewrite: the tab's rows outside the window (all of them are replaced for
    /// entities), carried into the sync's columns by name.
    async fn carried_over(
        &self,
        tab: &SheetProperties,
        header: &[String],
    ) -> Result<Vec<Row>, SheetsError> {
        let ranges = [wire::quoted(&tab.title)];
        let mut values = self.batch_get(&ranges).await?;
        let rows = values.pop().unwrap_or_default();
        let Some((old_header, data)) = rows.split_first() else {
            return Ok(Vec::new());
        };
        if !self.layout.dated {
            return Ok(Vec::new());
        }
        let old_header: Vec<String> = old_header.iter().map(cell_text).collect();
        let column = |name: &str| old_header.iter().position(|old| old == name);
        let positions: Vec<Option<usize>> = header.iter().map(|name| column(name)).collect();
        let texts = self.layout.texts.len();
        let window = self.target.window;
        Ok(data
            .iter()
            .filter_map(|cells| {
                let cell = |i: usize| positions[i].and_then(|p| cells.get(p));
                let date = cell(0).and_then(cell_date)?;
                if window.contains(date) {
                    return None;
                }
                Some(Row {
                    date: Some(date),
                    texts: (1..=texts)
                        .map(|i| cell(i).map(cell_text).filter(|text| !text.is_empty()))
                        .collect(),
                    numbers: (1 + texts..header.len())
                        .map(|i| cell(i).and_then(cell_number))
                        .collect(),
                })
            })
            .collect())
    }

    async fn tabs(&self) -> Result<Vec<SheetProperties>, SheetsError> {
        let body = self
            .call(
                Quota::Read,
                reqwest::Method::GET,
                &self.spreadsheet_url(""),
                &[("fields", "sheets.properties")],
                None,
            )
            .await?;
        let spreadsheet: wire::Spreadsheet = parse(&body, "spreadsheets.get")?;
        Ok(spreadsheet
            .sheets
            .into_iter()
            .map(|sheet| sheet.properties)
            .collect())
    }

    async fn add_tab(&self) -> Result<SheetProperties, SheetsError> {
        let columns = self.header().len();
        let body = serde_json::to_vec(&serde_json::json!({
            "requests": [{"addSheet": {"properties": {
                "title": self.settings.tab,
                "gridProperties": {"rowCount": 1, "columnCount": columns},
            }}}]
        }))
        .map_err(|error| SheetsError::Malformed {
            what: "the request",
            detail: error.to_string(),
        })?;
        let answer = self
            .call(
                Quota::Write,
                reqwest::Method::POST,
                &self.spreadsheet_url(":batchUpdate"),
                &[],
                Some(body),
            )
            .await?;
        let reply: BatchUpdateReply = parse(&answer, "addSheet")?;
        reply
            .replies
            .into_iter()
            .find_map(|reply| reply.add_sheet)
            .map(|sheet| sheet.properties)
            .ok_or_else(|| SheetsError::Malformed {
                what: "addSheet",
                detail: "replies[0].addSheet is missing".into(),
            })
    }

    /// The tab's first row, and its first column below that row.
    async fn read_header_and_first_column(
        &self,
        tab: &SheetProperties,
    ) -> Result<(Vec<String>, Vec<serde_json::Value>), SheetsError> {
        let title = wire::quoted(&tab.title);
        // `A2:A` would be refused on a tab with only a header row ("exceeds grid limits"):
        // read the whole column and skip the header's cell.
        let ranges = [format!("{title}!1:1"), format!("{title}!A:A")];
        let mut values = self.batch_get(&ranges).await?.into_iter();
        let header = values
            .next()
            .and_then(|rows| rows.into_iter().next())
            .unwrap_or_default()
            .iter()
            .map(cell_text)
            .collect();
        let column = values
            .next()
            .unwrap_or_default()
            .into_iter()
            .skip(1)
            .map(|mut row| {
                if row.is_empty() {
                    serde_json::Value::Null
                } else {
                    row.swap_remove(0)
                }
            })
            .collect();
        Ok((header, column))
    }

    /// `values:batchGet` of `ranges`, unformatted: each range's rows of cells.
    async fn batch_get(
        &self,
        ranges: &[String],
    ) -> Result<Vec<Vec<Vec<serde_json::Value>>>, SheetsError> {
        let mut query: Vec<(&str, &str)> = ranges
            .iter()
            .map(|range| ("ranges", range.as_str()))
            .collect();
        query.push(("valueRenderOption", "UNFORMATTED_VALUE"));
        query.push(("majorDimension", "ROWS"));
        let body = self
            .call(
                Quota::Read,
                reqwest::Method::GET,
                &self.spreadsheet_url("/values:batchGet"),
                &query,
                None,
            )
            .await?;
        let answer: BatchGet = parse(&body, "values.batchGet")?;
        Ok(answer
            .value_ranges
            .into_iter()
            .map(|range| range.values)
            .collect())
    }

    fn spreadsheet_url(&self, suffix: &str) -> String {
        let config = &self.context.config;
        format!(
            "{}/{}/spreadsheets/{}{suffix}",
            config.base_url.trim_end_matches('/'),
            config.api_version,
            self.settings.spreadsheet_id
        )
    }

    fn buckets(&self, quota: Quota) -> [Bucket; 2] {
        let config = &self.context.config;
        [
            quota_bucket(
                format!("google_sheets:{}:project", quota.name()),
                config.requests_per_minute_per_project,
            ),
            quota_bucket(
                format!("google_sheets:{}:user:{}", quota.name(), self.login),
                config.requests_per_minute_per_user,
            ),
        ]
    }

    /// One request within the quotas, with the destination's token (refreshed once if Google
    /// refuses it); the answer's body on success.
    async fn call(
        &self,
        quota: Quota,
        method: reqwest::Method,
        url: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, SheetsError> {
        let buckets = self.buckets(quota);
        let token = self.tokens.access_token().await?;
        match self
            .send(&buckets, &method, url, query, body.clone(), &token)
            .await
        {
            Err(SheetsError::Unauthorized { .. }) => {
                let token = self.tokens.refresh_rejected(&token).await?;
                self.send(&buckets, &method, url, query, body, &token).await
            }
            answer => answer,
        }
    }

    async fn send(
        &self,
        buckets: &[Bucket],
        method: &reqwest::Method,
        url: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
        token: &str,
    ) -> Result<Vec<u8>, SheetsError> {
        self.context.budgets.acquire(buckets).await?;
        let mut request = self
            .context
            .client
            .request(method.clone(), url)
            .query(query)
            .bearer_auth(token)
            .timeout(Duration::from_millis(self.context.config.timeout_ms));
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|error| SheetsError::Transport(error.without_url()))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| SheetsError::Transport(error.without_url()))?;
        if status == 200 {
            return Ok(bytes.to_vec());
        }
        let error = serde_json::from_slice::<ErrorEnvelope>(&bytes)
            .map(|envelope| envelope.error)
            .unwrap_or_else(|_| wire::ApiError {
                message: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
                status: String::new(),
            });
        let spreadsheet = self.settings.spreadsheet_id.clone();
        Err(match status {
            401 => SheetsError::Unauthorized {
                message: error.message,
            },
            403 => SheetsError::NotShared {
                spreadsheet,
                message: error.message,
            },
            404 => SheetsError::NotFound { spreadsheet },
            429 => {
                // The quota is back a minute later; every worker writing for this user waits.
                let until = Utc::now() + QUOTA_WINDOW;
                let user = &buckets[1];
                if let Err(error) = self.context.budgets.block(user, until).await {
                    tracing::warn!(%error, key = %user.key, "recording a throttle failed");
                }
                SheetsError::Throttled {
                    quota: user.key.clone(),
                    until,
                }
            }
            _ => SheetsError::Api {
                spreadsheet,
                status,
                code: error.status,
                message: error.message,
            },
        })
    }
}

/// How a commit rewrites the tab.
enum Plan {
    /// Replace data rows `start..end` with the job's rows.
    Block { start: u64, end: u64 },
    /// Replace every data row (`old_rows` of them) with `kept` and the job's rows, sorted.
    Rewrite { kept: Vec<Row>, old_rows: u64 },
}

fn parse<T: serde::de::DeserializeOwned>(
    body: &[u8],
    what: &'static str,
) -> Result<T, SheetsError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|error| SheetsError::Malformed {
        what,
        detail: format!("{}: {}", error.path(), error.inner()),
    })
}

fn cell_text(cell: &serde_json::Value) -> String {
    match cell {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A date cell read unformatted: Sheets' serial number (how adsync writes dates), or the text
/// `YYYY-MM-DD` of a tab written before dates were written as dates.
fn cell_date(cell: &serde_json::Value) -> Option<NaiveDate> {
    match cell {
        serde_json::Value::Number(serial) => wire::date_of_serial(serial.as_f64()?),
        serde_json::Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

/// Which Google login the destination's tokens belong to: the `sub` of Google's token
/// information (the access token refreshed once if Google refuses it).
async fn google_login(
    context: &SheetsContext,
    tokens: &TokenSource,
) -> Result<String, SheetsError> {
    #[derive(serde::Deserialize)]
    struct TokenInfo {
        sub: String,
    }
    let ask = |token: String| async move {
        let response = context
            .client
            .post(&context.config.tokeninfo_url)
            .form(&[("access_token", token.as_str())])
            .timeout(Duration::from_millis(context.config.timeout_ms))
            .send()
            .await
            .map_err(|error| SheetsError::Transport(error.without_url()))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|error| SheetsError::Transport(error.without_url()))?;
        match status {
            200 => Ok(parse::<TokenInfo>(&body, "tokeninfo")?.sub),
            // Google answers an expired or revoked token 400 `invalid_token`.
            400 | 401 => Err(SheetsError::Unauthorized {
                message: String::from_utf8_lossy(&body).chars().take(200).collect(),
            }),
            _ => Err(SheetsError::Api {
                spreadsheet: String::new(),
                status,
                code: "tokeninfo".into(),
                message: String::from_utf8_lossy(&body).chars().take(200).collect(),
            }),
        }
    };
    let token = tokens.access_token().await?;
    match ask(token.clone()).await {
        Err(SheetsError::Unauthorized { .. }) => {
            let token = tokens.refresh_rejected(&token).await?;
            ask(token).await
        }
        answer => answer,
    }
}

fn cell_number(cell: &serde_json::Value) -> Option<Decimal> {
    match cell {
        serde_json::Value::Number(number) => number.to_string().parse().ok(),
        serde_json::Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

/// Refreshes a destination's Google token with a `refresh_token` grant (the connectors' OAuth
/// helper, as Google Ads' connections are refreshed).
fn google_refresher(context: &SheetsContext) -> Option<RefreshFn> {
    let config = context.config.clone();
    if config.token_url.is_empty() {
        return None;
    }
    let client = context.client.clone();
    Some(Box::new(move |tokens| {
        let (client, config) = (client.clone(), config.clone());
        Box::pin(async move {
            let endpoint = TokenEndpoint {
                url: &config.token_url,
                client_id: &config.client_id,
                client_secret: config.client_secret.expose(),
                timeout: Duration::from_millis(config.timeout_ms),
            };
            refresh_grant(&client, endpoint, tokens).await
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_buckets_never_allow_more_than_the_quota_in_a_minute() {
        let bucket = quota_bucket("k".into(), 60);
        assert!(bucket.capacity + bucket.refill_per_sec * 60.0 <= 60.0);
        let tiny = quota_bucket("k".into(), 1);
        assert!(tiny.capacity >= 1.0);
    }

    #[test]
    fn cells_are_read_back_as_text_dates_and_numbers() {
        use serde_json::json;
        assert_eq!(cell_date(&json!("2026-03-01")), "2026-03-01".parse().ok());
        assert_eq!(cell_date(&json!(46082)), "2026-03-01".parse().ok());
        assert_eq!(cell_date(&json!(46082.25)), None);
        assert_eq!(cell_date(&json!(true)), None);
        assert_eq!(cell_number(&json!(1.5)), "1.5".parse().ok());
        assert_eq!(
            cell_number(&json!("12345678901234567.89")),
            "12345678901234567.89".parse().ok()
        );
        assert_eq!(cell_text(&json!(12)), "12");
    }
}
