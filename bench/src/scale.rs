//! `scale`: one scheduler day of 1,000,000 daily syncs, spread over every hour of the day in 24
//! time zones (several of them half or three-quarter hours from UTC), compressed by the
//! scheduler's injectable clock into minutes. The real `scheduler` code runs as a process of
//! its own (this binary, `bench __scheduler`, so its CPU time is its own) and a worker with a
//! no-op executor runs in this process, so every job goes the whole way: created, published,
//! claimed, succeeded.
//!
//! Reported: the lag between each sync's due time and its job being queued (published), in
//! real time — the scheduler's clock shows the due time at a known real instant; syncs due in
//! the day that got no job (missed); the scheduler process's CPU time per 1,000 syncs; and the
//! database's size after the day.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};
use serde_json::json;
use shared::domain::Schedule;
use tokio_util::sync::CancellationToken;

use crate::setup::BenchEnv;
use crate::throughput::Noop;

/// The time zones the syncs are spread over: whole, half and three-quarter hours from UTC,
/// both hemispheres' daylight saving rules.
pub(crate) const ZONES: [&str; 24] = [
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "America/St_Johns",
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Athens",
    "Europe/Moscow",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Adelaide",
    "Australia/Sydney",
    "Pacific/Auckland",
];

/// Syncs per tenant (each sync has an ad account of its own).
const SYNCS_PER_TENANT: usize = 1000;

/// The published-jobs counter the scheduler process serves on `/metrics`.
const PUBLISHED: &str = "adsync_scheduler_jobs_published_total";

pub(crate) struct Options {
    pub(crate) syncs: usize,
    /// Real seconds the scheduler's day takes.
    pub(crate) day_seconds: u64,
}

pub(crate) async fn run(options: Options) -> anyhow::Result<serde_json::Value> {
    if options.syncs == 0 || options.day_seconds == 0 {
        bail!("--syncs and --day-seconds must be at least 1");
    }
    let scheduler_port = free_port()?;
    let overrides = [
        ("ADSYNC__WORKER__CONCURRENCY", "1000".to_string()),
        ("ADSYNC__WORKER__BATCH_SIZE", "500".to_string()),
        ("ADSYNC__RABBITMQ__PREFETCH", "1000".to_string()),
        // Nothing here loses messages; keep the rescuer from republishing a backlog.
        ("ADSYNC__JOBS__QUEUED_TIMEOUT_SECS", "86400".to_string()),
        (
            "ADSYNC__SCHEDULER__LISTEN",
            format!("127.0.0.1:{scheduler_port}"),
        ),
    ];
    let env = BenchEnv::create("scale", &overrides).await?;
    let fixture = env.fixture(1000).await?;
    let client = env.pool.get().await?;

    // The day starts on an hour at least 25 hours ago, so it ends before the real time at
    // which the compressed clock starts (its anchor, set once the syncs exist): the clock never
    // shows a time the database's clock has not reached (see `scheduler::Clock`).
    let speed = 86_400.0 / options.day_seconds as f64;
    let day_start = (Utc::now() - TimeDelta::hours(25))
        .duration_trunc(TimeDelta::hours(1))
        .context("truncating to the hour")?;
    let day_end = day_start + TimeDelta::days(1);

    eprintln!("scale: creating {} syncs", options.syncs);
    create_syncs(&client, fixture.sync, options.syncs, day_start).await?;
    let due: i64 = client
        .query_one(
            "SELECT count(*) FROM scale_due WHERE due_at <= $1",
            &[&day_end],
        )
        .await?
        .get(0);
    for statement in [
        "VACUUM ANALYZE syncs",
        "VACUUM ANALYZE accounts",
        "CHECKPOINT",
    ] {
        client.batch_execute(statement).await?;
    }
    let anchor = Utc::now() + TimeDelta::seconds(3);
    let clock = scheduler::Clock::compressed(day_start, anchor, speed)?;

    let shutdown = CancellationToken::new();
    let worker = tokio::spawn(worker::run_with(
        env.config.clone(),
        env.pool.clone(),
        Noop,
        shutdown.clone(),
    ));
    let mut scheduler = SchedulerProcess::spawn(&env, &clock)?;
    eprintln!(
        "scale: {due} syncs due in a day of {} s (the clock runs {speed:.0}× real time)",
        options.day_seconds
    );
    tokio::time::sleep((anchor - Utc::now()).to_std().unwrap_or_default()).await;
    let cpu_at_anchor = scheduler.cpu_seconds()?;

    let http = reqwest::Client::new();
    let metrics_url = format!("http://127.0.0.1:{scheduler_port}/metrics");
    let day_over = anchor + TimeDelta::milliseconds((options.day_seconds * 1000) as i64);
    let mut last = (0, Utc::now());
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let published = scrape(&http, &metrics_url, PUBLISHED).await.unwrap_or(0);
        let succeeded =
            crate::progress::counter("adsync_worker_jobs_total", Some(("outcome", "succeeded")));
        let now = Utc::now();
        if published != last.0 {
            last = (published, now);
        }
        if published >= due as u64 && succeeded >= due as u64 {
            break;
        }
        if now > day_over && now - last.1 > TimeDelta::seconds(30) {
            eprintln!(
                "scale: nothing published for 30 s after the day ended ({published} of {due})"
            );
            break;
        }
        if now > day_over + TimeDelta::seconds(900) {
            bail!("the day ended 15 minutes ago and {published} of {due} jobs are published");
        }
    }
    let scheduler_cpu = scheduler.cpu_seconds()? - cpu_at_anchor;
    scheduler.stop()?;
    shutdown.cancel();
    worker.await??;

    eprintln!("scale: measuring");
    let real_due = "($1::timestamptz + (d.due_at - $2::timestamptz) / $3::float8)";
    let lag = client
        .query_one(
            &format!(
                "WITH lags AS (
                     SELECT extract(epoch FROM e.at - {real_due})::float8 * 1000 AS queued_ms,
                            extract(epoch FROM j.created_at - {real_due})::float8 * 1000 AS created_ms
                     FROM scale_due d
                     -- The sync's first job: the run keeps the clock going until every due
                     -- sync is published, so a few syncs fall due again the next day.
                     JOIN LATERAL (SELECT id, created_at FROM jobs WHERE sync_id = d.sync_id
                                   ORDER BY created_at LIMIT 1) j ON true
                     JOIN job_events e ON e.job_id = j.id AND e.to_state = 'queued'
                     WHERE d.due_at <= $4
                 )
                 SELECT count(*) AS n,
                        percentile_cont(0.5) WITHIN GROUP (ORDER BY queued_ms) AS p50,
                        percentile_cont(0.99) WITHIN GROUP (ORDER BY queued_ms) AS p99,
                        max(queued_ms) AS max,
                        percentile_cont(0.99) WITHIN GROUP (ORDER BY created_ms) AS created_p99
                 FROM lags"
            ),
            &[&anchor, &day_start, &speed, &day_end],
        )
        .await?;
    let missed: i64 = client
        .query_one(
            "SELECT count(*) FROM scale_due d WHERE d.due_at <= $1
               AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.sync_id = d.sync_id)",
            &[&day_end],
        )
        .await?
        .get(0);
    let jobs: i64 = client
        .query_one("SELECT count(*) FROM jobs", &[])
        .await?
        .get(0);
    let size = client
        .query_one(
            "SELECT pg_database_size(current_database()) - pg_total_relation_size('scale_due'),
                    pg_total_relation_size('jobs'), pg_total_relation_size('job_events'),
                    pg_total_relation_size('syncs'), pg_total_relation_size('accounts')",
            &[],
        )
        .await?;
    let mb = |i: usize| -> f64 { (size.get::<_, i64>(i) as f64 / 1_048_576.0).round() };
    let ms = |name: &str| -> f64 {
        (lag.get::<_, Option<f64>>(name).unwrap_or(f64::NAN) * 10.0).round() / 10.0
    };
    let result = json!({
        "scenario": "scale",
        "syncs": options.syncs,
        "time_zones": ZONES.len(),
        "day_seconds": options.day_seconds,
        "clock_speed": speed.round(),
        "due": due,
        "jobs": jobs,
        "queued": lag.get::<_, i64>("n"),
        "missed": missed,
        "lag_p50_ms": ms("p50"),
        "lag_p99_ms": ms("p99"),
        "lag_max_ms": ms("max"),
        "created_lag_p99_ms": ms("created_p99"),
        "scheduler_cpu_s": (scheduler_cpu * 100.0).round() / 100.0,
        "scheduler_cpu_ms_per_1000_syncs":
            (scheduler_cpu * 1000.0 / (due.max(1) as f64 / 1000.0) * 10.0).round() / 10.0,
        "database_mb": mb(0),
        "jobs_mb": mb(1),
        "job_events_mb": mb(2),
        "syncs_mb": mb(3),
        "accounts_mb": mb(4),
    });
    drop(client);
    env.drop_database().await?;
    if missed > 0 {
        bail!("{missed} syncs due in the day got no job: {result}");
    }
    Ok(result)
}

/// Creates `count` syncs (one ad account each, 1,000 per tenant) from the fixture's sync:
/// sync `n` runs daily at hour `(n / 24) % 24` in zone `n % 24`, due first at its schedule's
/// next time after `day_start`. `scale_due` remembers each one's due time.
async fn create_syncs(
    client: &tokio_postgres::Client,
    template: shared::domain::SyncId,
    count: usize,
    day_start: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut slots = Vec::new();
    let mut crons = Vec::new();
    let mut zones = Vec::new();
    let mut firsts = Vec::new();
    for hour in 0..24 {
        for zone in ZONES {
            let cron = format!("0 {hour} * * *");
            let first = Schedule::parse(&cron, zone)?
                .next_after(day_start)
                .with_context(|| format!("{cron} in {zone} has no next time"))?;
            slots.push((slots.len()) as i32);
            crons.push(cron);
            zones.push(zone.to_string());
            firsts.push(first);
        }
    }
    let tenants = count.div_ceil(SYNCS_PER_TENANT) as i32;
    client
        .batch_execute(
            "CREATE TABLE scale_tenants (n int PRIMARY KEY, tenant_id uuid, connection_id uuid,
                 destination_id uuid);
             CREATE TABLE scale_syncs (n int PRIMARY KEY, t int, account_id uuid, sync_id uuid);
             CREATE TABLE scale_slots (slot int PRIMARY KEY, cron text, time_zone text,
                 first_run timestamptz);",
        )
        .await?;
    client
        .execute(
            "INSERT INTO scale_slots SELECT * FROM unnest($1::int[], $2::text[], $3::text[],
                 $4::timestamptz[])",
            &[&slots, &crons, &zones, &firsts],
        )
        .await?;
    client
        .execute(
            "INSERT INTO scale_tenants
             SELECT n, gen_random_uuid(), gen_random_uuid(), gen_random_uuid()
             FROM generate_series(0, $1::int - 1) n",
            &[&tenants],
        )
        .await?;
    client
        .execute(
            "INSERT INTO scale_syncs
             SELECT n, n / $2::int, gen_random_uuid(), gen_random_uuid()
             FROM generate_series(0, $1::int - 1) n",
            &[&(count as i32), &(SYNCS_PER_TENANT as i32)],
        )
        .await?;
    // Every row copies the fixture's (sealed tokens included: the no-op executor never opens
    // them), under new ids.
    client
        .execute(
            "WITH template AS (
                 SELECT s.tenant_id, a.connection_id, s.destination_id FROM syncs s
                 JOIN accounts a ON a.id = s.account_id WHERE s.id = $1
             )
             INSERT INTO tenants (id, name, plan, max_running_jobs)
             SELECT st.tenant_id, 'scale ' || st.n, t.plan, t.max_running_jobs
             FROM scale_tenants st, tenants t, template WHERE t.id = template.tenant_id",
            &[&template],
        )
        .await?;
    client
        .execute(
            "WITH template AS (
                 SELECT a.connection_id FROM syncs s JOIN accounts a ON a.id = s.account_id
                 WHERE s.id = $1
             )
             INSERT INTO connections (id, tenant_id, connector, name, status, key_id,
                 token_nonce, token_ciphertext, settings)
             SELECT st.connection_id, st.tenant_id, c.connector, c.name, c.status, c.key_id,
                 c.token_nonce, c.token_ciphertext, c.settings
             FROM scale_tenants st, connections c, template WHERE c.id = template.connection_id",
            &[&template],
        )
        .await?;
    client
        .execute(
            "INSERT INTO destinations (id, tenant_id, kind, name, settings)
             SELECT st.destination_id, st.tenant_id, d.kind, d.name, d.settings
             FROM scale_tenants st, destinations d, syncs s
             WHERE s.id = $1 AND d.id = s.destination_id",
            &[&template],
        )
        .await?;
    client
        .execute(
            "INSERT INTO accounts (id, tenant_id, connection_id, connector, external_id, name,
                 time_zone, currency)
             SELECT ss.account_id, st.tenant_id, st.connection_id, s.connector, ss.n::text,
                 'scale ' || ss.n, sl.time_zone, 'USD'
             FROM scale_syncs ss
             JOIN scale_tenants st ON st.n = ss.t
             JOIN scale_slots sl ON sl.slot = ss.n % 576
             CROSS JOIN (SELECT connector FROM syncs WHERE id = $1) s",
            &[&template],
        )
        .await?;
    client
        .execute(
            "INSERT INTO syncs (id, tenant_id, account_id, destination_id, connector, report,
                 cron, time_zone, fresh_days, lookback_days, enabled, next_run_at)
             SELECT ss.sync_id, st.tenant_id, ss.account_id, st.destination_id, s.connector,
                 s.report, sl.cron, sl.time_zone, s.fresh_days, s.lookback_days, true,
                 sl.first_run
             FROM scale_syncs ss
             JOIN scale_tenants st ON st.n = ss.t
             JOIN scale_slots sl ON sl.slot = ss.n % 576
             CROSS JOIN (SELECT * FROM syncs WHERE id = $1) s",
            &[&template],
        )
        .await?;
    client
        .batch_execute(
            "CREATE TABLE scale_due AS SELECT id AS sync_id, next_run_at AS due_at FROM syncs
                 WHERE enabled;
             CREATE INDEX ON scale_due (sync_id);
             DROP TABLE scale_tenants, scale_syncs, scale_slots;",
        )
        .await?;
    Ok(())
}

/// A loopback port free right now (for the scheduler process's metrics).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The value of the counter `name` in a Prometheus text exposition served at `url`.
async fn scrape(http: &reqwest::Client, url: &str, name: &str) -> Option<u64> {
    let text = http.get(url).send().await.ok()?.text().await.ok()?;
    text.lines()
        .filter_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .find_map(|value| value.trim().parse::<f64>().ok())
        .map(|value| value as u64)
}

/// The real scheduler code in a process of its own: this binary's hidden `__scheduler`
/// command, on the compressed clock.
struct SchedulerProcess {
    child: Child,
}

impl SchedulerProcess {
    fn spawn(env: &BenchEnv, clock: &scheduler::Clock) -> anyhow::Result<Self> {
        let scheduler::Clock::Compressed {
            start,
            anchor,
            speed,
        } = *clock
        else {
            bail!("the scale scenario runs on a compressed clock");
        };
        let child = Command::new(std::env::current_exe()?)
            .args([
                "__scheduler".to_string(),
                start.to_rfc3339(),
                anchor.to_rfc3339(),
                speed.to_string(),
            ])
            .envs(env.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("starting the scheduler process")?;
        Ok(Self { child })
    }

    /// User and system CPU time the process has used (`/proc/<pid>/stat`, in clock ticks of
    /// 1/100 s, Linux's `USER_HZ`).
    fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // Fields after the command name (which is in parentheses and may hold spaces).
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .context("unreadable /proc/<pid>/stat")?
            .1
            .split_whitespace()
            .collect();
        let ticks = |i: usize| -> anyhow::Result<f64> {
            Ok(fields.get(i).context("short /proc/<pid>/stat")?.parse()?)
        };
        // utime and stime are the 14th and 15th fields; the slice starts at the 3rd.
        Ok((ticks(11)? + ticks(12)?) / 100.0)
    }

    fn stop(&mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        let status = self.child.wait()?;
        if !status.success() {
            bail!("the scheduler process exited with {status}");
        }
        Ok(())
    }
}

impl Drop for SchedulerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}

/// `bench __scheduler <start> <anchor> <speed>`: the scheduler on a compressed clock, until
/// SIGTERM (started by [`run`]).
pub(crate) async fn scheduler_process(args: &[String]) -> anyhow::Result<serde_json::Value> {
    let [start, anchor, speed] = args else {
        bail!("__scheduler needs <start> <anchor> <speed>");
    };
    let clock = scheduler::Clock::compressed(
        start.parse().context("start")?,
        anchor.parse().context("anchor")?,
        speed.parse().context("speed")?,
    )?;
    let config = shared::Config::load(None).context("loading configuration")?;
    scheduler::run_with_clock(config, clock, shared::shutdown::on_signal()).await?;
    Ok(serde_json::Value::Null)
}
