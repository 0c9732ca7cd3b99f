//! `motcua`: the Một Cửa Sync hub and command-line tool.
//!
//! One binary, one subcommand per job. Each subcommand lives in its own file
//! under [`commands`]; the hub itself and the device client are libraries
//! those commands drive.

mod commands;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = commands::Cli::parse();
    match commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("lỗi / error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
