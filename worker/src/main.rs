//! The `worker` binary: load configuration, start telemetry, run until SIGTERM.

use anyhow::Context as _;
use shared::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load(None).context("loading configuration")?;
    let _telemetry = shared::telemetry::init("adsync-worker", &config.telemetry)?;
    worker::run(config, shared::shutdown::on_signal()).await
}
