//! The `motcua` subcommands.

mod calendar;
mod deadline;

use clap::{Parser, Subcommand};

/// Một Cửa Sync: offline-first one-stop counter for Vietnamese communes.
#[derive(Debug, Parser)]
#[command(name = "motcua", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compute the appointment (due) date of a dossier.
    Deadline(deadline::Args),
    /// Print a year's non-working holiday dates as JSON.
    Calendar(calendar::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Deadline(args) => deadline::run(args),
        Command::Calendar(args) => calendar::run(args),
    }
}
