//! Private PostgreSQL and RabbitMQ instances for fault tests: a server of a test's own (own
//! state directory, own free ports) that it may stop, crash and start again without disturbing
//! the shared instances every other test uses.
//!
//! ```text
//! let broker = PrivateService::start(ServiceKind::RabbitMq).await; // ~5 s
//! let url = broker.amqp_url();
//! broker.stop().await;        // clean stop, data kept (~6 s for RabbitMQ)
//! broker.start_again().await; // same ports, same data
//! broker.kill().await;        // crash stop (SIGKILL / immediate shutdown), data kept
//! // dropped: killed and its directory deleted, even when the test panics
//! ```
//!
//! [`PrivateCluster`] is the same for `scripts/services.sh --cluster`: three clustered RabbitMQ
//! nodes and a PostgreSQL primary with a streaming standby, for failover tests.
//!
//! Each instance is `scripts/services.sh <command> <kind>` run with `ADSYNC_SERVICES_DIR`
//! pointing at `/tmp/adsync-svc-<pid>-<id>` and the port variables set; see that script for what
//! runs where. Instances whose test process died without dropping them (killed by a timeout)
//! are cleaned up by the next [`PrivateService::start`] of any test.

use std::collections::HashSet;
use std::net::TcpListener;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// Where the instances' state directories go. Not `std::env::temp_dir()`: PostgreSQL runs as
/// the `postgres` user, which must be able to enter every parent directory, and its unix socket
/// path must stay under ~100 bytes.
const STATE_ROOT: &str = "/tmp";
const DIR_PREFIX: &str = "adsync-svc-";

/// How often `start` tries fresh ports when another process took one first.
const START_ATTEMPTS: usize = 3;

/// Ports handed to instances of this process that are still alive, so two instances of one
/// test never pick the same ones (other processes are caught by the script's port check).
static PORTS_IN_USE: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// Which server a [`PrivateService`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKind {
    Postgres,
    RabbitMq,
}

impl ServiceKind {
    /// The service's name on the `scripts/services.sh` command line.
    fn arg(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::RabbitMq => "rabbitmq",
        }
    }
}

/// The ports of one instance. PostgreSQL uses only `main`.
#[derive(Debug, Clone, Copy)]
struct Ports {
    /// PostgreSQL's or RabbitMQ's AMQP port.
    main: u16,
    management: u16,
    dist: u16,
    /// rabbitmqctl also uses the 10 ports above it.
    epmd: u16,
}

impl Ports {
    fn all(&self, kind: ServiceKind) -> Vec<u16> {
        match kind {
            ServiceKind::Postgres => vec![self.main],
            ServiceKind::RabbitMq => {
                let mut ports = vec![self.main, self.management, self.dist];
                ports.extend(self.epmd..=self.epmd + 10);
                ports
            }
        }
    }
}

/// A PostgreSQL or RabbitMQ server of one test's own, on 127.0.0.1. Dropping it kills the
/// server and deletes its data.
pub struct PrivateService {
    kind: ServiceKind,
    dir: PathBuf,
    ports: Ports,
}

impl PrivateService {
    /// Starts a fresh instance in a new directory on free ports, and waits until it answers
    /// (PostgreSQL: database `adsync` exists; RabbitMQ: the node has booted). Panics with the
    /// script's output if it cannot.
    pub async fn start(kind: ServiceKind) -> Self {
        tokio::task::spawn_blocking(sweep_orphans)
            .await
            .expect("sweeping orphaned instances");
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir =
            Path::new(STATE_ROOT).join(format!("{DIR_PREFIX}{}-{}", std::process::id(), &id[..12]));
        std::fs::DirBuilder::new()
            .mode(0o755)
            .create(&dir)
            .unwrap_or_else(|error| panic!("creating {}: {error}", dir.display()));
        let mut service = Self {
            kind,
            dir,
            ports: pick_ports(kind),
        };
        for attempt in 1..=START_ATTEMPTS {
            let output = service.run(&["up", kind.arg()]).await;
            if output.status.success() {
                return service;
            }
            let stderr = String::from_utf8_lossy(&output.stderr);
            let port_taken = ["already in use", "Address already in use", "eaddrinuse"]
                .iter()
                .any(|sign| stderr.contains(sign));
            if !port_taken || attempt == START_ATTEMPTS {
                service.fail("up", &output);
            }
            // Another process took a port between our probe and the server's bind: nothing was
            // started (or it was stopped again); try other ports.
            release_ports(&service.ports.all(kind));
            service.ports = pick_ports(kind);
        }
        unreachable!("the last attempt returns or panics")
    }

    pub fn kind(&self) -> ServiceKind {
        self.kind
    }

    /// The state directory (data, logs, pid files), for looking at logs after a failure.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// PostgreSQL's port, or RabbitMQ's AMQP port.
    pub fn port(&self) -> u16 {
        self.ports.main
    }

    /// `postgres://postgres@127.0.0.1:<port>/adsync` (user `postgres`, no password).
    pub fn database_url(&self) -> String {
        self.expect_kind(ServiceKind::Postgres, "database_url");
        format!("postgres://postgres@127.0.0.1:{}/adsync", self.ports.main)
    }

    /// `amqp://guest:guest@127.0.0.1:<port>/%2f`.
    pub fn amqp_url(&self) -> String {
        self.expect_kind(ServiceKind::RabbitMq, "amqp_url");
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.ports.main)
    }

    /// The management HTTP API, `http://127.0.0.1:<port>` (user guest, password guest).
    pub fn management_url(&self) -> String {
        self.expect_kind(ServiceKind::RabbitMq, "management_url");
        format!("http://127.0.0.1:{}", self.ports.management)
    }

    /// Stops the server cleanly (PostgreSQL: fast shutdown; RabbitMQ: SIGTERM, ~6 s); its data
    /// is kept. Clients see their connections closed, then connection refused.
    pub async fn stop(&self) {
        self.script(&["down", self.kind.arg()]).await;
    }

    /// Crashes the server (RabbitMQ: SIGKILL; PostgreSQL: immediate shutdown, no checkpoint);
    /// what it had confirmed or committed survives. Takes well under a second.
    pub async fn kill(&self) {
        self.script(&["down", self.kind.arg(), "--kill"]).await;
    }

    /// Starts the server again after [`stop`](Self::stop) or [`kill`](Self::kill): same ports,
    /// same data. Returns once it answers. Does nothing if it is running.
    pub async fn start_again(&self) {
        self.script(&["up", self.kind.arg()]).await;
    }

    /// [`stop`](Self::stop), then [`start_again`](Self::start_again).
    pub async fn restart(&self) {
        self.stop().await;
        self.start_again().await;
    }

    fn expect_kind(&self, kind: ServiceKind, what: &str) {
        assert_eq!(self.kind, kind, "{what}() of a private {:?}", self.kind);
    }

    /// Runs the script and panics with its output if it fails.
    async fn script(&self, args: &[&str]) {
        let output = self.run(args).await;
        if !output.status.success() {
            self.fail(args[0], &output);
        }
    }

    async fn run(&self, args: &[&str]) -> Output {
        let started = Instant::now();
        let output = tokio::process::Command::from(self.command(args))
            .output()
            .await
            .unwrap_or_else(|error| panic!("running {}: {error}", script().display()));
        // Shown with the test's output when it fails.
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        eprintln!(
            "private {:?} ({}): services.sh {} took {:.2?}",
            self.kind,
            self.dir.display(),
            args.join(" "),
            started.elapsed()
        );
        output
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = script_command(&self.dir, args);
        match self.kind {
            ServiceKind::Postgres => {
                command.env("ADSYNC_PG_PORT", self.ports.main.to_string());
            }
            ServiceKind::RabbitMq => {
                command
                    .env("ADSYNC_AMQP_PORT", self.ports.main.to_string())
                    .env("ADSYNC_AMQP_MGMT_PORT", self.ports.management.to_string())
                    .env("ADSYNC_AMQP_DIST_PORT", self.ports.dist.to_string())
                    .env("ADSYNC_EPMD_PORT", self.ports.epmd.to_string());
            }
        }
        command
    }

    fn fail(&self, command: &str, output: &Output) -> ! {
        panic!(
            "scripts/services.sh {command} {} failed ({}) for the private instance in {}:\n{}{}",
            self.kind.arg(),
            output.status,
            self.dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
}

impl Drop for PrivateService {
    fn drop(&mut self) {
        // Blocking is fine here: a crash stop takes well under a second.
        let result = self
            .command(&["down", self.kind.arg(), "--purge", "--kill"])
            .output();
        match result {
            Ok(output) if output.status.success() => {}
            Ok(output) => eprintln!(
                "tearing down the private {:?} in {} failed ({}); the next PrivateService::start \
                 retries:\n{}",
                self.kind,
                self.dir.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(error) => eprintln!("running {}: {error}", script().display()),
        }
        // On success the script has deleted the directory. On failure it stays, so that the
        // next `start` (of any test process) retries the teardown: deleting it now could leave
        // a server running that nothing would find again.
        release_ports(&self.ports.all(self.kind));
    }
}

/// `scripts/services.sh <args>` on the state directory `dir`, without inherited port settings
/// (`eval "$(scripts/services.sh env)"` exports some).
fn script_command(dir: &Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(script());
    command
        .args(args)
        .env("ADSYNC_SERVICES_DIR", dir)
        .stdin(std::process::Stdio::null());
    for name in [
        "ADSYNC_CLUSTER_AMQP_PORT",
        "ADSYNC_CLUSTER_PG_PORT",
        "ADSYNC_PG_PORT",
        "ADSYNC_AMQP_PORT",
        "ADSYNC_AMQP_MGMT_PORT",
        "ADSYNC_AMQP_DIST_PORT",
        "ADSYNC_EPMD_PORT",
    ] {
        command.env_remove(name);
    }
    command
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit lives in the workspace")
        .join("scripts/services.sh")
}

/// Chooses ports that are free now and not handed to another instance of this process.
///
/// They come from below the kernel's ephemeral range: a port in that range can be taken at any
/// moment as the local end of some outgoing connection, for example while a test has its server
/// stopped, and the restart would then fail.
fn pick_ports(kind: ServiceKind) -> Ports {
    match kind {
        ServiceKind::Postgres => Ports {
            main: reserve_block(1),
            management: 0,
            dist: 0,
            epmd: 0,
        },
        ServiceKind::RabbitMq => Ports {
            main: reserve_block(1),
            management: reserve_block(1),
            dist: reserve_block(1),
            epmd: reserve_block(11),
        },
    }
}

/// Reserves `count` consecutive ports that are free now and not handed to another instance of
/// this process; returns the first.
fn reserve_block(count: u16) -> u16 {
    let (low, high) = candidate_range();
    let mut guard = PORTS_IN_USE.lock().unwrap_or_else(PoisonError::into_inner);
    let taken = guard.get_or_insert_with(HashSet::new);
    let mut free = |count: u16| -> u16 {
        for _ in 0..10_000 {
            let span = u32::from(high - low - count);
            let offset = (uuid::Uuid::new_v4().as_u128() % u128::from(span)) as u16;
            let first = low + offset;
            let candidates: Vec<u16> = (first..first + count).collect();
            if candidates
                .iter()
                .all(|port| !taken.contains(port) && is_free(*port))
            {
                taken.extend(candidates);
                return first;
            }
        }
        panic!("found no {count} free consecutive ports in {low}..{high}");
    };
    free(count)
}

fn release_ports(ports: &[u16]) {
    let mut guard = PORTS_IN_USE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(taken) = guard.as_mut() {
        for port in ports {
            taken.remove(port);
        }
    }
}

/// 20000 up to the start of the ephemeral range (usually 32768).
fn candidate_range() -> (u16, u16) {
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    if ephemeral_start > 21_000 {
        (20_000, ephemeral_start)
    } else {
        (ephemeral_start.max(1024), 20_000)
    }
}

fn is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Tears down instances whose test process is gone (killed before it could drop them). A
/// directory whose teardown fails is left, and tried again next time.
fn sweep_orphans() {
    let Ok(entries) = std::fs::read_dir(STATE_ROOT) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(DIR_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let dir = entry.path();
        eprintln!(
            "tearing down {}, left by process {pid} which is gone",
            dir.display()
        );
        if dir.join("cluster").exists() {
            match script_command(&dir, &["down", "--cluster", "--purge", "--kill"]).output() {
                Ok(output) if output.status.success() => {}
                Ok(output) => eprintln!(
                    "tearing down the cluster in {} failed ({}):\n{}",
                    dir.display(),
                    output.status,
                    String::from_utf8_lossy(&output.stderr)
                ),
                Err(error) => eprintln!("running {}: {error}", script().display()),
            }
            if !dir.exists() {
                continue;
            }
        }
        match script_command(&dir, &["down", "--purge", "--kill"]).output() {
            Ok(output) if output.status.success() => {}
            Ok(output) => eprintln!(
                "tearing down {} failed ({}):\n{}",
                dir.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(error) => eprintln!("running {}: {error}", script().display()),
        }
    }
}

/// Ports a [`PrivateCluster`] takes from its RabbitMQ base port: three nodes of three ports,
/// the shared epmd, and rabbitmqctl's ten (see `scripts/services.sh help`).
const CLUSTER_RABBITMQ_PORTS: u16 = 20;

/// Three clustered RabbitMQ nodes and a PostgreSQL primary with a synchronous streaming
/// standby, of one test's own, on 127.0.0.1 (`scripts/services.sh up --cluster` in a private
/// state directory on free ports). Dropping it kills everything and deletes its data.
///
/// Nodes are numbered 1 to 3; the PostgreSQL members 1 and 2, member 1 the primary at first.
pub struct PrivateCluster {
    dir: PathBuf,
    amqp_base: u16,
    pg_base: u16,
}

impl PrivateCluster {
    /// Starts the cluster and waits until every member answers, the nodes have joined and the
    /// standby streams (about a minute on a busy machine). Panics with the script's output if
    /// it cannot.
    pub async fn start() -> Self {
        tokio::task::spawn_blocking(sweep_orphans)
            .await
            .expect("sweeping orphaned instances");
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir =
            Path::new(STATE_ROOT).join(format!("{DIR_PREFIX}{}-{}", std::process::id(), &id[..12]));
        std::fs::DirBuilder::new()
            .mode(0o755)
            .create(&dir)
            .unwrap_or_else(|error| panic!("creating {}: {error}", dir.display()));
        let mut cluster = Self {
            dir,
            amqp_base: reserve_block(CLUSTER_RABBITMQ_PORTS),
            pg_base: reserve_block(2),
        };
        for attempt in 1..=START_ATTEMPTS {
            let output = cluster.run(&["up", "--cluster"]).await;
            if output.status.success() {
                return cluster;
            }
            let stderr = String::from_utf8_lossy(&output.stderr);
            let port_taken = ["already in use", "Address already in use", "eaddrinuse"]
                .iter()
                .any(|sign| stderr.contains(sign));
            if !port_taken || attempt == START_ATTEMPTS {
                cluster.fail("up --cluster", &output);
            }
            // Another process took a port first: stop what started, and try other ports.
            cluster
                .run(&["down", "--cluster", "--purge", "--kill"])
                .await;
            std::fs::DirBuilder::new()
                .mode(0o755)
                .create(&cluster.dir)
                .ok();
            release_ports(&cluster.ports());
            cluster.amqp_base = reserve_block(CLUSTER_RABBITMQ_PORTS);
            cluster.pg_base = reserve_block(2);
        }
        unreachable!("the last attempt returns or panics")
    }

    /// The state directory (data, logs, pid files), for looking at logs after a failure.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The AMQP port of node `node` (1..=3).
    pub fn amqp_port(&self, node: u16) -> u16 {
        assert!((1..=3).contains(&node), "RabbitMQ node {node} of 1..=3");
        self.amqp_base + 3 * (node - 1)
    }

    /// `amqp://guest:guest@127.0.0.1:<port>/%2f` of every node, separated by commas: the value
    /// of `rabbitmq.url` for a cluster.
    pub fn amqp_urls(&self) -> String {
        (1..=3)
            .map(|node| format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.amqp_port(node)))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Node `node`'s management HTTP API (user guest, password guest).
    pub fn management_url(&self, node: u16) -> String {
        format!("http://127.0.0.1:{}", self.amqp_port(node) + 1)
    }

    /// Node `node`'s Erlang node name, as the management API reports queue leaders.
    pub fn node_name(&self, node: u16) -> String {
        format!("adsync-{}@localhost", self.amqp_port(node))
    }

    /// The node (1..=3) named `name`, if it is one of ours.
    pub fn node_numbered(&self, name: &str) -> Option<u16> {
        (1..=3).find(|node| self.node_name(*node) == name)
    }

    /// A connection string for `database` listing both PostgreSQL members, with
    /// `target_session_attrs=read-write`: it reaches whichever is the primary.
    pub fn database_url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/{database}?target_session_attrs=read-write",
            self.pg_base,
            self.pg_base + 1
        )
    }

    /// SIGKILL of RabbitMQ node `node`; its data is kept.
    pub async fn kill_rabbitmq(&self, node: u16) {
        assert!((1..=3).contains(&node), "RabbitMQ node {node} of 1..=3");
        self.script(&["down", "--cluster", &format!("rabbitmq-{node}"), "--kill"])
            .await;
    }

    /// Crashes the PostgreSQL primary (immediate shutdown: no checkpoint, connections cut).
    pub async fn kill_postgres_primary(&self) {
        self.script(&["down", "--cluster", "postgres-primary", "--kill"])
            .await;
    }

    /// Promotes the standby once the primary is down (`pg_ctl promote`).
    pub async fn promote_standby(&self) {
        self.script(&["promote", "--cluster"]).await;
    }

    /// Starts whatever member is down (`up --cluster`); a former primary comes back as a
    /// standby of the promoted one.
    pub async fn start_again(&self) {
        self.script(&["up", "--cluster"]).await;
    }

    fn ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> =
            (self.amqp_base..self.amqp_base + CLUSTER_RABBITMQ_PORTS).collect();
        ports.extend([self.pg_base, self.pg_base + 1]);
        ports
    }

    async fn script(&self, args: &[&str]) {
        let output = self.run(args).await;
        if !output.status.success() {
            self.fail(&args.join(" "), &output);
        }
    }

    async fn run(&self, args: &[&str]) -> Output {
        let started = Instant::now();
        let output = tokio::process::Command::from(self.command(args))
            .output()
            .await
            .unwrap_or_else(|error| panic!("running {}: {error}", script().display()));
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        eprintln!(
            "private cluster ({}): services.sh {} took {:.2?}",
            self.dir.display(),
            args.join(" "),
            started.elapsed()
        );
        output
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = script_command(&self.dir, args);
        command
            .env("ADSYNC_CLUSTER_AMQP_PORT", self.amqp_base.to_string())
            .env("ADSYNC_CLUSTER_PG_PORT", self.pg_base.to_string());
        command
    }

    fn fail(&self, command: &str, output: &Output) -> ! {
        panic!(
            "scripts/services.sh {command} failed ({}) for the private cluster in {}:\n{}{}",
            output.status,
            self.dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let result = self
            .command(&["down", "--cluster", "--purge", "--kill"])
            .output();
        match result {
            Ok(output) if output.status.success() => {}
            Ok(output) => eprintln!(
                "tearing down the private cluster in {} failed ({}); the next start retries:\n{}",
                self.dir.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(error) => eprintln!("running {}: {error}", script().display()),
        }
        release_ports(&self.ports());
    }
}
