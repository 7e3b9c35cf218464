//! A real worker process started by a benchmark, and its memory figures from `/proc`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::{Context as _, bail};

use crate::setup::BenchEnv;

/// A binary built next to this one (`cargo build --release --bins`, or `cargo build --bins`
/// for a debug `bench`).
pub(crate) fn sibling_binary(name: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::current_exe()?
        .parent()
        .context("the bench binary has no directory")?
        .join(name);
    if !path.is_file() {
        bail!(
            "{} is missing: build the binaries with `cargo build --bins` (add --release for figures)",
            path.display()
        );
    }
    Ok(path)
}

pub(crate) struct WorkerProcess {
    child: Child,
}

impl WorkerProcess {
    pub(crate) fn spawn(binary: &PathBuf, env: &BenchEnv) -> anyhow::Result<Self> {
        let child = Command::new(binary)
            .envs(env.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Self { child })
    }

    fn status_field_mb(&self, field: &str) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kb: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.split_whitespace().next())
            .context("no memory figure in /proc/<pid>/status")?
            .parse()?;
        Ok((kb / 1024.0 * 10.0).round() / 10.0)
    }

    pub(crate) fn rss_mb(&self) -> anyhow::Result<f64> {
        self.status_field_mb("VmRSS:")
    }

    pub(crate) fn peak_rss_mb(&self) -> anyhow::Result<f64> {
        self.status_field_mb("VmHWM:")
    }

    pub(crate) fn stop(&mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        let status = self.child.wait()?;
        if !status.success() {
            bail!("the worker exited with {status}");
        }
        Ok(())
    }
}
