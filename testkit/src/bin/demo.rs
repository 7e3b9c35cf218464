//! `demo`: the driver `scripts/demo.sh` runs against a locally started adsync. It creates a
//! tenant with several Meta accounts (facts read from the sandbox) and one warehouse sync each,
//! runs every sync now, waits for the jobs and prints what happened, comparing the warehouse
//! with the sandbox's truth for the same window.
//!
//! It talks to adsync only over HTTP (the API and the sandbox's control API); PostgreSQL is read
//! only to count the warehouse rows. Exit status: 0 when every job succeeded and every account
//! matches, 1 when not, 2 when the demo could not be run (see the error).

use std::fmt::Display;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::NaiveDate;
use reqwest::{Client, RequestBuilder};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const USAGE: &str = "usage: demo [options]

Creates the tenant 'Demo Agency' with one Meta account and warehouse sync per account id, runs
every sync now and compares the warehouse with the sandbox.

  --api-url <url>       adsync API     (default: $ADSYNC_DEMO_API_URL, else http://127.0.0.1:8080)
  --sandbox-url <url>   the sandbox    (default: $ADSYNC_DEMO_SANDBOX_URL, else http://127.0.0.1:9100)
  --operator-key <key>  operator key   (default: $ADSYNC__API__OPERATOR_KEY; required)
  --database-url <url>  PostgreSQL     (default: $ADSYNC__DATABASE__URL; required)
  --accounts <ids>      comma-separated Meta account ids (default: 1013,1087,1100,1079)
  --tenant-file <path>  write the tenant id and API key there (mode 600) as shell variables
                        ADSYNC_DEMO_TENANT_ID and ADSYNC_DEMO_API_KEY instead of printing the key
  --timeout <secs>      how long to wait for the jobs (default: 120)
  --help                print this help

Exit status: 0 all jobs succeeded and match the sandbox, 1 they did not, 2 error.";

/// Sandbox accounts with four different time zones and currencies (New York/USD, Berlin/EUR,
/// Tokyo/JPY, Sydney/AUD; the sandbox derives them from the id).
const DEFAULT_ACCOUNTS: &str = "1013,1087,1100,1079";
const DEFAULT_API_URL: &str = "http://127.0.0.1:8080";
const DEFAULT_SANDBOX_URL: &str = "http://127.0.0.1:9100";
const DEFAULT_TIMEOUT_SECS: u64 = 120;

const TENANT_NAME: &str = "Demo Agency";
const LEVEL: &str = "campaign";
const METRICS: [&str; 4] = ["impressions", "clicks", "spend", "reach"];
const LOOKBACK_DAYS: i32 = 14;
/// The scheduler keeps syncing every ten minutes while the demo runs.
const CRON: &str = "*/10 * * * *";
const POLL_EVERY: Duration = Duration::from_millis(250);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, PartialEq, Eq)]
struct Args {
    api_url: String,
    sandbox_url: String,
    operator_key: String,
    database_url: String,
    accounts: Vec<String>,
    tenant_file: Option<PathBuf>,
    timeout: Duration,
}

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Run(Args),
    Help,
}

#[tokio::main]
async fn main() -> ExitCode {
    let command = parse_args(std::env::args().skip(1), |name| std::env::var(name).ok());
    let result = match command {
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run(args)) => run(&args).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("demo: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------

fn parse_args(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<Command> {
    let env = |name: &str| env(name).filter(|value| !value.is_empty());
    let mut api_url = env("ADSYNC_DEMO_API_URL");
    let mut sandbox_url = env("ADSYNC_DEMO_SANDBOX_URL");
    let mut operator_key = env("ADSYNC__API__OPERATOR_KEY");
    let mut database_url = env("ADSYNC__DATABASE__URL");
    let mut accounts = DEFAULT_ACCOUNTS.to_owned();
    let mut tenant_file = None;
    let mut timeout_secs = DEFAULT_TIMEOUT_SECS;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.into())),
            _ => (arg, None),
        };
        let mut value = || match inline.clone().or_else(|| args.next()) {
            Some(value) => Ok(value),
            None => Err(anyhow::anyhow!("{flag} needs a value\n\n{USAGE}")),
        };
        match flag.as_str() {
            "--api-url" => api_url = Some(value()?),
            "--sandbox-url" => sandbox_url = Some(value()?),
            "--operator-key" => operator_key = Some(value()?),
            "--database-url" => database_url = Some(value()?),
            "--accounts" => accounts = value()?,
            "--tenant-file" => tenant_file = Some(PathBuf::from(value()?)),
            "--timeout" => {
                let text = value()?;
                timeout_secs = text
                    .parse()
                    .with_context(|| format!("--timeout must be whole seconds, got '{text}'"))?;
            }
            "--help" | "-h" => return Ok(Command::Help),
            other => bail!("unknown argument '{other}'\n\n{USAGE}"),
        }
    }
    Ok(Command::Run(Args {
        api_url: trim_url(api_url.as_deref().unwrap_or(DEFAULT_API_URL)),
        sandbox_url: trim_url(sandbox_url.as_deref().unwrap_or(DEFAULT_SANDBOX_URL)),
        operator_key: operator_key.context(
            "the operator key is missing: pass --operator-key or set ADSYNC__API__OPERATOR_KEY",
        )?,
        database_url: database_url.context(
            "the database URL is missing: pass --database-url or set ADSYNC__DATABASE__URL",
        )?,
        accounts: parse_accounts(&accounts)?,
        tenant_file,
        timeout: Duration::from_secs(timeout_secs),
    }))
}

fn trim_url(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

/// Account ids as digits, accepting an `act_` prefix.
fn parse_accounts(list: &str) -> anyhow::Result<Vec<String>> {
    let ids: Vec<String> = list
        .split(',')
        .map(|id| id.trim().trim_start_matches("act_").to_owned())
        .filter(|id| !id.is_empty())
        .collect();
    if ids.is_empty() {
        bail!("--accounts names no account");
    }
    if let Some(bad) = ids
        .iter()
        .find(|id| !id.bytes().all(|b| b.is_ascii_digit()))
    {
        bail!("--accounts: '{bad}' is not a Meta ad account id (digits, optionally after act_)");
    }
    Ok(ids)
}

// ---------------------------------------------------------------------------------------------
// Wire types: only the fields the demo reads
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct CreatedTenant {
    tenant: Created,
    api_key: CreatedKey,
}

#[derive(Debug, Deserialize)]
struct CreatedKey {
    key: String,
}

#[derive(Debug, Deserialize)]
struct Created {
    id: String,
}

/// `GET /_sandbox/meta_ads/accounts/{id}`.
#[derive(Debug, Clone, Deserialize)]
struct AccountFacts {
    id: String,
    name: String,
    time_zone: String,
    currency: String,
}

#[derive(Debug, Deserialize)]
struct RunAnswer {
    job: Job,
}

#[derive(Debug, Clone, Deserialize)]
struct Job {
    id: String,
    state: String,
    state_reason: String,
    window: Window,
    rows_written: Option<i64>,
    api_calls: Option<i32>,
    error: Option<JobError>,
}

impl Job {
    fn is_finished(&self) -> bool {
        matches!(self.state.as_str(), "succeeded" | "failed" | "cancelled")
    }

    fn succeeded(&self) -> bool {
        self.state == "succeeded"
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
struct Window {
    start: NaiveDate,
    end: NaiveDate,
}

impl Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

#[derive(Debug, Clone, Deserialize)]
struct JobError {
    class: String,
    message: String,
}

/// One row of `GET /_sandbox/meta_ads/accounts/{id}/truth`.
#[derive(Debug, Deserialize)]
struct TruthRow {
    /// Rendered like the Meta API does, in the account's currency (`"5339.5"`).
    #[serde(with = "rust_decimal::serde::str")]
    spend: Decimal,
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

/// Sends `request` and decodes a 2xx JSON answer; anything else is an error naming `what`.
async fn fetch<T: DeserializeOwned>(request: RequestBuilder, what: &str) -> anyhow::Result<T> {
    let response = request
        .send()
        .await
        .with_context(|| format!("{what}: no answer"))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .with_context(|| format!("{what}: reading the answer"))?;
    if !status.is_success() {
        bail!("{what}: HTTP {status}: {}", body.trim());
    }
    serde_json::from_str(&body).with_context(|| format!("{what}: unexpected answer {body}"))
}

/// The adsync API with one bearer key.
struct Api {
    client: Client,
    base: String,
    key: String,
}

impl Api {
    async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let request = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        fetch(request, &format!("GET {path}")).await
    }

    async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> anyhow::Result<T> {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .json(body);
        fetch(request, &format!("POST {path}")).await
    }
}

/// The sandbox's control API for Meta.
struct SandboxApi {
    client: Client,
    base: String,
}

impl SandboxApi {
    async fn account(&self, id: &str) -> anyhow::Result<AccountFacts> {
        let url = format!("{}/_sandbox/meta_ads/accounts/{id}", self.base);
        fetch(self.client.get(&url), &format!("GET {url}")).await
    }

    async fn truth(&self, id: &str, window: Window) -> anyhow::Result<Vec<TruthRow>> {
        let url = format!("{}/_sandbox/meta_ads/accounts/{id}/truth", self.base);
        let request = self.client.get(&url).query(&[
            ("level", LEVEL.to_owned()),
            ("since", window.start.to_string()),
            ("until", window.end.to_string()),
        ]);
        fetch(request, &format!("GET {url}")).await
    }
}

// ---------------------------------------------------------------------------------------------
// The demo
// ---------------------------------------------------------------------------------------------

/// One account of the demo tenant and its sync.
struct DemoAccount {
    facts: AccountFacts,
    sync_id: String,
}

/// The warehouse next to the sandbox for one account's job window.
struct Comparison {
    warehouse_rows: i64,
    warehouse_spend: Decimal,
    sandbox_rows: usize,
    sandbox_spend: Decimal,
}

impl Comparison {
    fn matches(&self) -> bool {
        usize::try_from(self.warehouse_rows).ok() == Some(self.sandbox_rows)
            && self.warehouse_spend == self.sandbox_spend
    }
}

async fn run(args: &Args) -> anyhow::Result<bool> {
    shared::telemetry::install_tls_provider();
    let client = Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .context("building the HTTP client")?;
    let sandbox = SandboxApi {
        client: client.clone(),
        base: args.sandbox_url.clone(),
    };
    let mut facts = Vec::with_capacity(args.accounts.len());
    for id in &args.accounts {
        facts.push(sandbox.account(id).await?);
    }
    let tenant = create_tenant(client, args).await?;
    let accounts = set_up(&tenant, facts).await?;
    let jobs = run_syncs(&tenant, &accounts, args.timeout).await?;
    print_jobs(&accounts, &jobs);

    let database = connect_database(&args.database_url).await?;
    let mut comparisons = Vec::with_capacity(accounts.len());
    for (account, job) in accounts.iter().zip(&jobs) {
        comparisons.push(compare(&sandbox, &database, account, job).await?);
    }
    print_comparisons(&accounts, &jobs, &comparisons);
    Ok(summarize(&jobs, &comparisons))
}

/// Creates the demo tenant with the operator key; returns the API as that tenant.
async fn create_tenant(client: Client, args: &Args) -> anyhow::Result<Api> {
    let operator = Api {
        client,
        base: args.api_url.clone(),
        key: args.operator_key.clone(),
    };
    let created: CreatedTenant = operator
        .post("/v1/tenants", &json!({ "name": TENANT_NAME }))
        .await
        .context("creating the demo tenant with the operator key")?;
    announce_tenant(&created, args.tenant_file.as_deref())?;
    Ok(Api {
        key: created.api_key.key,
        ..operator
    })
}

/// Runs every account's sync now and waits for the jobs (at most `timeout`).
async fn run_syncs(
    api: &Api,
    accounts: &[DemoAccount],
    timeout: Duration,
) -> anyhow::Result<Vec<Job>> {
    let started = Instant::now();
    let mut jobs = Vec::with_capacity(accounts.len());
    for account in accounts {
        jobs.push(start_run(api, account).await?);
    }
    println!(
        "Started {} sync runs; waiting up to {} s for the jobs (worker → sandbox → warehouse)…",
        jobs.len(),
        timeout.as_secs()
    );
    let jobs = wait_for_jobs(api, jobs, timeout).await?;
    let waited = started.elapsed().as_secs_f64();
    if jobs.iter().all(Job::is_finished) {
        println!("Every job finished after {waited:.1} s.\n");
    } else {
        println!("Not every job finished within {waited:.1} s; showing where they are.\n");
    }
    Ok(jobs)
}

/// Writes the tenant's key where the script reads it, or prints it.
fn announce_tenant(created: &CreatedTenant, file: Option<&Path>) -> anyhow::Result<()> {
    println!("Created tenant '{TENANT_NAME}' ({}).", created.tenant.id);
    match file {
        Some(path) => {
            write_tenant_file(path, &created.tenant.id, &created.api_key.key)?;
            println!("Its API key is in {}.", path.display());
        }
        None => println!("Its API key: {}", created.api_key.key),
    }
    Ok(())
}

fn write_tenant_file(path: &Path, tenant_id: &str, key: &str) -> anyhow::Result<()> {
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        // The key is base64url and the id a UUID: both safe inside single quotes.
        writeln!(file, "ADSYNC_DEMO_TENANT_ID='{tenant_id}'")?;
        writeln!(file, "ADSYNC_DEMO_API_KEY='{key}'")?;
        Ok(())
    };
    write().with_context(|| format!("writing {}", path.display()))
}

/// Creates the connection, the destination, and per account the account and its sync.
async fn set_up(api: &Api, facts: Vec<AccountFacts>) -> anyhow::Result<Vec<DemoAccount>> {
    let connection: Created = api
        .post(
            "/v1/connections",
            &json!({
                "connector": "meta_ads",
                "name": "Demo Agency Business Manager",
                "access_token": "demo-sandbox-access-token",
            }),
        )
        .await
        .context("creating the Meta connection")?;
    let destination: Created = api
        .post(
            "/v1/destinations",
            &json!({ "kind": "warehouse", "name": "Demo warehouse", "settings": { "schema": "warehouse" } }),
        )
        .await
        .context("creating the warehouse destination")?;
    let mut accounts = Vec::with_capacity(facts.len());
    for facts in facts {
        let sync_id = create_account_and_sync(api, &connection.id, &destination.id, &facts)
            .await
            .with_context(|| format!("setting up account act_{}", facts.id))?;
        accounts.push(DemoAccount { facts, sync_id });
    }
    println!(
        "Created a Meta connection, a warehouse destination and {} accounts, each with a sync \
         ({LEVEL} level, last {LOOKBACK_DAYS} days, cron '{CRON}').",
        accounts.len()
    );
    Ok(accounts)
}

async fn create_account_and_sync(
    api: &Api,
    connection_id: &str,
    destination_id: &str,
    facts: &AccountFacts,
) -> anyhow::Result<String> {
    let account: Created = api
        .post(
            "/v1/accounts",
            &json!({
                "connection_id": connection_id,
                "external_id": format!("act_{}", facts.id),
                "name": facts.name,
                "time_zone": facts.time_zone,
                "currency": facts.currency,
            }),
        )
        .await?;
    let sync: Created = api
        .post(
            "/v1/syncs",
            &json!({
                "account_id": account.id,
                "destination_id": destination_id,
                "report": { "level": LEVEL, "metrics": METRICS },
                "schedule": { "cron": CRON },
                "lookback_days": LOOKBACK_DAYS,
            }),
        )
        .await?;
    Ok(sync.id)
}

/// Starts a run now (or joins the one the scheduler already started) and returns its job.
async fn start_run(api: &Api, account: &DemoAccount) -> anyhow::Result<Job> {
    let answer: RunAnswer = api
        .post(&format!("/v1/syncs/{}/run", account.sync_id), &json!({}))
        .await
        .with_context(|| format!("starting a run of act_{}", account.facts.id))?;
    Ok(answer.job)
}

/// Polls every job until all are finished or `timeout` passes; returns their last states.
async fn wait_for_jobs(
    api: &Api,
    mut jobs: Vec<Job>,
    timeout: Duration,
) -> anyhow::Result<Vec<Job>> {
    let deadline = Instant::now() + timeout;
    loop {
        for job in jobs.iter_mut().filter(|job| !job.is_finished()) {
            *job = api.get(&format!("/v1/jobs/{}", job.id)).await?;
        }
        if jobs.iter().all(Job::is_finished) {
            return Ok(jobs);
        }
        if Instant::now() >= deadline {
            return Ok(jobs);
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

async fn connect_database(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .context("connecting to PostgreSQL (ADSYNC__DATABASE__URL) to count warehouse rows")?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            eprintln!("demo: PostgreSQL connection error: {error}");
        }
    });
    Ok(client)
}

/// Counts and sums the warehouse rows the sync holds for the job's window, and the sandbox's.
async fn compare(
    sandbox: &SandboxApi,
    database: &tokio_postgres::Client,
    account: &DemoAccount,
    job: &Job,
) -> anyhow::Result<Option<Comparison>> {
    if !job.succeeded() {
        return Ok(None);
    }
    let sync_id = uuid::Uuid::parse_str(&account.sync_id).with_context(|| {
        format!(
            "the API returned a sync id that is not a UUID: {}",
            account.sync_id
        )
    })?;
    let row = database
        .query_one(
            "SELECT count(*), coalesce(sum(spend), 0)
             FROM warehouse.meta_ads_campaign
             WHERE sync_id = $1 AND date BETWEEN $2 AND $3",
            &[&sync_id, &job.window.start, &job.window.end],
        )
        .await
        .with_context(|| format!("counting the warehouse rows of act_{}", account.facts.id))?;
    let truth = sandbox.truth(&account.facts.id, job.window).await?;
    Ok(Some(Comparison {
        warehouse_rows: row.try_get(0).context("reading count(*)")?,
        warehouse_spend: row.try_get(1).context("reading sum(spend)")?,
        sandbox_rows: truth.len(),
        sandbox_spend: truth.iter().map(|row| row.spend).sum(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

fn optional<T: Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| value.to_string())
}

fn print_jobs(accounts: &[DemoAccount], jobs: &[Job]) {
    let rows: Vec<Vec<String>> = accounts
        .iter()
        .zip(jobs)
        .map(|(account, job)| {
            vec![
                format!("act_{}", account.facts.id),
                account.facts.name.clone(),
                account.facts.time_zone.clone(),
                account.facts.currency.clone(),
                job.state.clone(),
                job.window.to_string(),
                optional(job.rows_written),
                optional(job.api_calls),
            ]
        })
        .collect();
    print_table(
        &[
            ("ACCOUNT", Align::Left),
            ("NAME", Align::Left),
            ("TIME ZONE", Align::Left),
            ("CUR", Align::Left),
            ("JOB", Align::Left),
            ("WINDOW", Align::Left),
            ("ROWS WRITTEN", Align::Right),
            ("API CALLS", Align::Right),
        ],
        &rows,
    );
    for (account, job) in accounts.iter().zip(jobs) {
        if !job.succeeded() {
            let detail = job.error.as_ref().map_or_else(
                || job.state_reason.clone(),
                |error| format!("{}: {}", error.class, error.message),
            );
            println!(
                "  act_{} job {}: {} ({detail})",
                account.facts.id, job.id, job.state
            );
        }
    }
    println!();
}

fn print_comparisons(accounts: &[DemoAccount], jobs: &[Job], comparisons: &[Option<Comparison>]) {
    println!(
        "Warehouse (warehouse.meta_ads_campaign) against the sandbox's truth for each job's window:"
    );
    let rows: Vec<Vec<String>> = accounts
        .iter()
        .zip(jobs)
        .zip(comparisons)
        .map(|((account, job), comparison)| {
            let currency = &account.facts.currency;
            match comparison {
                Some(c) => vec![
                    format!("act_{}", account.facts.id),
                    c.warehouse_rows.to_string(),
                    c.sandbox_rows.to_string(),
                    format!("{} {currency}", c.warehouse_spend.normalize()),
                    format!("{} {currency}", c.sandbox_spend.normalize()),
                    if c.matches() { "match" } else { "MISMATCH" }.to_owned(),
                ],
                None => vec![
                    format!("act_{}", account.facts.id),
                    "-".to_owned(),
                    "-".to_owned(),
                    "-".to_owned(),
                    "-".to_owned(),
                    format!("not compared (job {})", job.state),
                ],
            }
        })
        .collect();
    print_table(
        &[
            ("ACCOUNT", Align::Left),
            ("WAREHOUSE ROWS", Align::Right),
            ("SANDBOX ROWS", Align::Right),
            ("WAREHOUSE SPEND", Align::Right),
            ("SANDBOX SPEND", Align::Right),
            ("RESULT", Align::Left),
        ],
        &rows,
    );
    println!();
}

/// Prints the verdict; true when every job succeeded and every account matches.
fn summarize(jobs: &[Job], comparisons: &[Option<Comparison>]) -> bool {
    let succeeded = jobs.iter().filter(|job| job.succeeded()).count();
    let matching = comparisons
        .iter()
        .flatten()
        .filter(|comparison| comparison.matches())
        .count();
    let ok = succeeded == jobs.len() && matching == jobs.len();
    if ok {
        println!(
            "OK: all {} jobs succeeded and the warehouse matches the sandbox for every account.",
            jobs.len()
        );
    } else {
        println!(
            "PROBLEM: {succeeded} of {} jobs succeeded, {matching} of {} accounts match the sandbox.",
            jobs.len(),
            jobs.len()
        );
    }
    ok
}

#[derive(Clone, Copy)]
enum Align {
    Left,
    Right,
}

/// Prints `rows` under `headers` in columns two spaces apart.
fn print_table(headers: &[(&str, Align)], rows: &[Vec<String>]) {
    for line in table_lines(headers, rows) {
        println!("{}", line.trim_end());
    }
}

fn table_lines(headers: &[(&str, Align)], rows: &[Vec<String>]) -> Vec<String> {
    let header_row: Vec<String> = headers.iter().map(|(name, _)| (*name).to_owned()).collect();
    let widths: Vec<usize> = (0..headers.len())
        .map(|column| {
            std::iter::once(&header_row)
                .chain(rows)
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    std::iter::once(&header_row)
        .chain(rows)
        .map(|row| {
            row.iter()
                .zip(headers.iter().zip(&widths))
                .map(|(cell, ((_, align), width))| match align {
                    Align::Left => format!("{cell:<width$}"),
                    Align::Right => format!("{cell:>width$}"),
                })
                .collect::<Vec<_>>()
                .join("  ")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "ADSYNC__API__OPERATOR_KEY" => Some("op".to_owned()),
            "ADSYNC__DATABASE__URL" => Some("postgres://db".to_owned()),
            "ADSYNC_DEMO_API_URL" => Some("http://api:1/".to_owned()),
            _ => None,
        }
    }

    fn parse(args: &[&str]) -> anyhow::Result<Command> {
        parse_args(args.iter().map(|a| (*a).to_owned()), env)
    }

    #[test]
    fn flags_override_the_environment_which_overrides_the_defaults() {
        let Command::Run(args) =
            parse(&["--sandbox-url=http://s:2", "--accounts", "act_7, 8"]).unwrap()
        else {
            panic!("expected run");
        };
        assert_eq!(args.api_url, "http://api:1");
        assert_eq!(args.sandbox_url, "http://s:2");
        assert_eq!(args.operator_key, "op");
        assert_eq!(args.accounts, ["7", "8"]);
        assert_eq!(args.timeout, Duration::from_secs(DEFAULT_TIMEOUT_SECS));
    }

    #[test]
    fn bad_arguments_are_explained() {
        for (args, expected) in [
            (&["--port", "1"][..], "unknown argument '--port'"),
            (&["--timeout", "soon"][..], "--timeout"),
            (&["--accounts", "act_x"][..], "not a Meta ad account id"),
            (&["--tenant-file"][..], "needs a value"),
        ] {
            let error = format!("{:#}", parse(args).unwrap_err());
            assert!(error.contains(expected), "{args:?}: {error}");
        }
        let error = parse_args(Vec::new(), |_| None).unwrap_err().to_string();
        assert!(error.contains("operator key"), "{error}");
    }

    #[test]
    fn tables_align_columns() {
        let lines = table_lines(
            &[("A", Align::Left), ("N", Align::Right)],
            &[
                vec!["long".to_owned(), "1".to_owned()],
                vec!["x".to_owned(), "22".to_owned()],
            ],
        );
        assert_eq!(lines, ["A      N", "long   1", "x     22"]);
    }
}
