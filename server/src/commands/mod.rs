//! The `motcua` subcommands, one file each.

mod admin;
mod bench;
mod calendar;
mod choice;
mod deadline;
mod device;
mod dossier;
mod report;
mod serve;

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
    /// Run a hub: SQLite store, sync endpoint, HTTP API, web app.
    Serve(serve::Layered),
    /// Set up a hub's units, users and enrolments in its data directory.
    Admin(admin::Args),
    /// Enrol this device with a one-time code from an administrator.
    Enrol(device::EnrolArgs),
    /// Sync this device's replica with its hub (once, or with --watch).
    Sync(device::SyncArgs),
    /// Show what this device holds (documents, heads, pending changes) as JSON.
    State(device::StateArgs),
    /// Receive dossiers and record their stages on this device, offline.
    Dossier(dossier::Args),
    /// Receive dossiers and record stages in bulk on this device (demo, tests, benchmarks).
    Generate(dossier::GenerateArgs),
    /// Compute the appointment (due) date of a dossier.
    Deadline(deadline::Args),
    /// Print a year's non-working holiday dates as JSON.
    Calendar(calendar::Args),
    /// Reports from a hub's database: 06a, late dossiers, forms 06 and 07.
    Report(report::Args),
    /// Benchmarks that write their figures to a file (scripts/bench runs them).
    #[command(hide = true)]
    Bench(bench::Args),
}

impl Cli {
    /// How log lines look: `serve --log-format`, text for the rest.
    pub fn log_format(&self) -> server::logging::LogFormat {
        match &self.command {
            Command::Serve(args) => args.log_format(),
            _ => server::logging::LogFormat::default(),
        }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Admin(args) => admin::run(args),
        Command::Enrol(args) => device::enrol(args),
        Command::Sync(args) => device::sync(args),
        Command::State(args) => device::state(args),
        Command::Dossier(args) => dossier::run(args),
        Command::Generate(args) => dossier::generate_activity(args),
        Command::Deadline(args) => deadline::run(args),
        Command::Calendar(args) => calendar::run(args),
        Command::Report(args) => report::run(args),
        Command::Bench(args) => bench::run(args),
    }
}
