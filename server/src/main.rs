//! `motcua`: the Một Cửa Sync hub and command-line tool.
//!
//! One binary, one subcommand per job; each lives in its own file under
//! [`commands`] and drives the `server` library (hub, store, device).

mod commands;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = commands::Cli::parse();
    server::logging::init(cli.log_format());
    match commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("lỗi / error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
