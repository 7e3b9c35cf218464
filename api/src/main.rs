//! The `api` binary: `api` serves the HTTP API until SIGTERM; `api migrate` applies the
//! database migrations and exits.

use anyhow::{Context as _, bail};
use shared::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = std::env::args().nth(1);
    let config = Config::load(None).context("loading configuration")?;
    let _telemetry = shared::telemetry::init("adsync-api", &config.telemetry)?;
    match command.as_deref() {
        None | Some("serve") => api::run(config, shared::shutdown::on_signal()).await,
        Some("migrate") => {
            api::migrate(&config).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}; expected `serve` (default) or `migrate`"),
    }
}
