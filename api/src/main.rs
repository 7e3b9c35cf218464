//! The `api` binary: `api` serves the HTTP API until SIGTERM; `api migrate` applies the
//! database migrations and exits; `api rotate-keys` re-seals every stored secret under the
//! active key (`crypto.active_key_id`) and exits.

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
        Some("rotate-keys") => {
            let report = api::rotate_keys(&config).await?;
            for (table, rows) in &report.resealed {
                tracing::info!(table, rows, "re-sealed under the active key");
            }
            if report.remaining > 0 {
                bail!(
                    "{} rows were busy and are still under an older key; run rotate-keys again",
                    report.remaining
                );
            }
            tracing::info!(
                resealed = report.total(),
                "every secret is sealed under the active key; older keys can be removed"
            );
            Ok(())
        }
        Some(other) => bail!(
            "unknown command {other:?}; expected `serve` (default), `migrate` or `rotate-keys`"
        ),
    }
}
