//! `motcua`: the Một Cửa Sync hub and command-line tool.
//!
//! One binary, one subcommand per job; each lives in its own file under
//! [`commands`] and drives the `server` library (hub, store, device).

mod commands;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MOTCUA_LOG")
                .unwrap_or_else(|_| "warn,server=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = commands::Cli::parse();
    match commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("lỗi / error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
