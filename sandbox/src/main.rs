//! The `sandbox` binary: serves the platform imitations on one address until SIGTERM or Ctrl-C.
//!
//! Usage: `sandbox [--listen <addr>] [--now <RFC 3339 time>]`. The address defaults to
//! `$SANDBOX_LISTEN`, then `127.0.0.1:9100`. Logs go to stderr, filtered by `RUST_LOG`.

use std::io::IsTerminal as _;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use sandbox::{Sandbox, SandboxConfig};
use tracing_subscriber::EnvFilter;

const DEFAULT_LISTEN: &str = "127.0.0.1:9100";

const USAGE: &str = "usage: sandbox [--listen <addr>] [--now <RFC 3339 time>]

  --listen <addr>   address to listen on (default: $SANDBOX_LISTEN, else 127.0.0.1:9100)
  --now <time>      freeze the sandbox clock at this time, e.g. 2025-06-30T12:00:00Z
  --help            print this help";

#[derive(Debug, PartialEq, Eq)]
struct Args {
    listen: String,
    now: Option<DateTime<Utc>>,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Run(Args),
    Help,
}

fn parse_args(
    args: impl IntoIterator<Item = String>,
    env_listen: Option<String>,
) -> anyhow::Result<Command> {
    let mut listen = None;
    let mut now = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> anyhow::Result<String> {
            match inline.clone().or_else(|| args.next()) {
                Some(value) => Ok(value),
                None => bail!("{name} needs a value\n\n{USAGE}"),
            }
        };
        match flag.as_str() {
            "--listen" => listen = Some(value("--listen")?),
            "--now" => {
                let text = value("--now")?;
                let time = DateTime::parse_from_rfc3339(&text)
                    .with_context(|| format!("--now must be an RFC 3339 time, got '{text}'"))?;
                now = Some(time.with_timezone(&Utc));
            }
            "--help" | "-h" => return Ok(Command::Help),
            other => bail!("unknown argument '{other}'\n\n{USAGE}"),
        }
    }
    Ok(Command::Run(Args {
        listen: listen
            .or(env_listen.filter(|value| !value.is_empty()))
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
        now,
    }))
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "could not listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = parse_args(
        std::env::args().skip(1),
        std::env::var("SANDBOX_LISTEN").ok(),
    )?;
    let args = match command {
        Command::Help => {
            println!("{USAGE}");
            return Ok(());
        }
        Command::Run(args) => args,
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("could not listen on {}", args.listen))?;
    let address = listener
        .local_addr()
        .context("could not read the bound address")?;
    let sandbox = Sandbox::new(SandboxConfig {
        now: args.now,
        ..SandboxConfig::default()
    });
    tracing::info!(%address, frozen_now = ?args.now, "sandbox listening");
    sandbox::serve(listener, sandbox, shutdown_signal())
        .await
        .context("the sandbox server failed")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: Option<&str>) -> anyhow::Result<Command> {
        parse_args(args.iter().map(|a| (*a).to_owned()), env.map(str::to_owned))
    }

    #[test]
    fn flags_override_the_environment_which_overrides_the_default() {
        let run = |listen: &str| {
            Command::Run(Args {
                listen: listen.to_owned(),
                now: None,
            })
        };
        assert_eq!(parse(&[], None).unwrap(), run(DEFAULT_LISTEN));
        assert_eq!(parse(&[], Some("0.0.0.0:1")).unwrap(), run("0.0.0.0:1"));
        assert_eq!(
            parse(&["--listen", "127.0.0.1:5"], Some("0.0.0.0:1")).unwrap(),
            run("127.0.0.1:5")
        );
        assert_eq!(
            parse(&["--listen=127.0.0.1:6"], None).unwrap(),
            run("127.0.0.1:6")
        );
    }

    #[test]
    fn now_freezes_the_clock() {
        let Command::Run(args) = parse(&["--now", "2025-06-30T12:00:00+02:00"], None).unwrap()
        else {
            panic!("expected run");
        };
        assert_eq!(args.now, Some("2025-06-30T10:00:00Z".parse().unwrap()));
    }

    #[test]
    fn bad_arguments_are_explained() {
        let error = parse(&["--port", "1"], None).unwrap_err().to_string();
        assert!(error.contains("unknown argument '--port'"), "{error}");
        assert!(
            parse(&["--now", "yesterday"], None)
                .unwrap_err()
                .to_string()
                .contains("--now")
        );
        assert!(
            parse(&["--listen"], None)
                .unwrap_err()
                .to_string()
                .contains("needs a value")
        );
    }
}
