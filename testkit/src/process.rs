//! Our binaries as real child processes, for tests that kill them: environment from the test
//! world, JSON logs kept in a file shown when the test fails, and killed when dropped. The
//! test's log check ([`crate::logs`]) reads the file: its WARN and ERROR records, and any output
//! that is not a log record (such as a panic), count like the test process's own.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::wait::eventually;

/// A running child process.
pub struct ChildProcess {
    name: String,
    child: Child,
    log: PathBuf,
    /// Its registration with the test's log check.
    watched: u64,
}

impl ChildProcess {
    /// Starts `program` with the current environment plus `env`; its output goes to a log file.
    pub fn spawn(name: &str, program: &Path, env: &[(String, String)]) -> Self {
        let log = std::env::temp_dir().join(format!(
            "adsync-{name}-{}-{}.log",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let output = File::create(&log).expect("creating the process log");
        let errors = output.try_clone().expect("cloning the log handle");
        let child = Command::new(program)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", "info")
            .env("ADSYNC__TELEMETRY__LOG_FORMAT", "json")
            .env("RUST_LIB_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            .spawn()
            .unwrap_or_else(|error| panic!("starting {}: {error}", program.display()));
        let watched = crate::logs::register_child(name, &log);
        Self {
            name: name.to_string(),
            child,
            log,
            watched,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What the process wrote so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `kill -9`: the process dies at once, without cleaning up.
    pub fn kill(&mut self) {
        self.child.kill().expect("sending SIGKILL");
        self.child.wait().expect("reaping the killed process");
    }

    /// Sends SIGTERM (graceful shutdown).
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Sends SIGSTOP: the process freezes where it is, as in a long pause (a stalled VM, a
    /// network partition) — its connections stay open, it renews nothing — until
    /// [`ChildProcess::resume`].
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// Sends SIGCONT: a paused process carries on from where it stopped.
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.pid().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -{name} {} failed", self.pid());
    }

    /// Waits for the process to exit, at most `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let name = self.name.clone();
        let log = self.log.clone();
        let child = &mut self.child;
        eventually(
            &format!("{name} to exit (log: {})", log.display()),
            timeout,
            || {
                let exited = child.try_wait().expect("checking the child");
                async move { exited }
            },
        )
        .await
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let log = self.log();
        let findings = crate::logs::child_gone(self.watched);
        if std::thread::panicking() || findings.is_some() {
            eprintln!("--- {} log ({}) ---\n{log}", self.name, self.log.display(),);
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
        crate::logs::fail_with(findings);
    }
}
