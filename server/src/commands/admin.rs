//! `motcua admin`: set up a hub's units, users and device enrolments
//! directly in its data directory (the HTTP API does the same remotely).

use std::path::PathBuf;

use anyhow::Context;
use client_core::ids::UnitCode;
use client_core::units::{Unit, UnitLevel};
use server::hub::seed::{SeedPlan, seed_dossiers};
use server::store::identity::{DeviceKind, Role};
use server::store::{Store, backup};

use super::choice::one_of;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The hub's data directory.
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Add or update an administrative unit.
    Unit {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = one_of(&UnitLevel::ALL, UnitLevel::as_str))]
        level: UnitLevel,
        #[arg(long)]
        parent: Option<String>,
    },
    /// Add a user.
    User {
        #[arg(long)]
        username: String,
        #[arg(long)]
        full_name: String,
        #[arg(long, value_parser = one_of(&Role::ALL, Role::as_str))]
        role: Role,
        #[arg(long)]
        unit: String,
        #[arg(long, env = "MOTCUA_PASSWORD")]
        password: String,
    },
    /// Create a one-time enrolment code for a device of a unit.
    Enrolment {
        #[arg(long)]
        unit: String,
        #[arg(long)]
        name: String,
        /// Dossier code slots (99 numbers a day each).
        #[arg(long, default_value_t = 1)]
        slots: u8,
        /// The code is for a hub below (a commune node or district hub) that
        /// will sync up to this one with --uplink.
        #[arg(long)]
        hub: bool,
    },
    /// Revoke a device.
    Revoke { device_id: String },
    /// List devices as JSON.
    Devices,
    /// List quarantined (refused) data as JSON.
    Quarantine,
    /// Every document with its unit and heads, as JSON.
    Documents,
    /// Check that every dossier's index row matches its document.
    Verify,
    /// Write a consistent backup of the hub's database to a file (a tar
    /// with a manifest); the hub may keep running meanwhile.
    Backup {
        /// The backup file to write.
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup into the data directory (stop the hub first).
    /// Devices then catch up in full and bring back what they synced after
    /// the backup.
    Restore {
        /// The backup file (from `motcua admin backup` or `serve --backup-dir`).
        file: PathBuf,
        /// Replace a database already in the data directory (it is moved
        /// aside into `before-restore-<time>/`, not deleted).
        #[arg(long)]
        force: bool,
        /// Days during which a device may push back changes of other
        /// devices of this hub that it received before the restore (after
        /// that, only its own, as always).
        #[arg(long, default_value_t = backup::RECOVERY_DAYS)]
        recovery_days: u32,
    },
    /// Fill the hub with realistic dossiers through its own commit path
    /// (benchmarks, trials at scale).
    #[command(hide = true)]
    SeedDossiers {
        #[arg(long)]
        count: usize,
        /// Units that receive them, evenly (repeatable; default: every commune).
        #[arg(long)]
        unit: Vec<String>,
        /// Received over this many past days.
        #[arg(long, default_value_t = 365)]
        days: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also write every dossier as `motcua dossier export` does, to this file.
        #[arg(long)]
        export: Option<PathBuf>,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let Some(data) = args.data else {
        anyhow::bail!("--data <DIR> (the hub's data directory) is required")
    };
    // Neither opens the store: a backup reads a live hub's database, a
    // restore writes one that must not be open.
    match &args.command {
        Command::Backup { to } => {
            let manifest = backup::backup(&data, to)
                .with_context(|| format!("backing up the hub in {}", data.display()))?;
            println!("{}", serde_json::to_string(&manifest)?);
            return Ok(());
        }
        Command::Restore {
            file,
            force,
            recovery_days,
        } => {
            let restored = backup::restore(file, &data, *force, *recovery_days)
                .with_context(|| format!("restoring {}", file.display()))?;
            println!("{}", serde_json::to_string(&restored)?);
            return Ok(());
        }
        _ => {}
    }
    let store = Store::open(&data)?;
    match args.command {
        Command::Unit {
            code,
            name,
            level,
            parent,
        } => {
            let unit = Unit {
                code: UnitCode::parse(&code)?,
                name,
                level,
                parent: parent.map(|p| UnitCode::parse(&p)).transpose()?,
                effective_from: None,
                effective_to: None,
            };
            store.upsert_units(&[unit])?;
            server::hub::publish::publish_units(&store)?;
            println!("{}", serde_json::json!({ "unit": code }));
        }
        Command::User {
            username,
            full_name,
            role,
            unit,
            password,
        } => {
            let user = store.create_user(
                &username,
                &full_name,
                &password,
                role,
                &UnitCode::parse(&unit)?,
            )?;
            println!("{}", serde_json::to_string(&user)?);
        }
        Command::Enrolment {
            unit,
            name,
            slots,
            hub,
        } => {
            let kind = if hub {
                DeviceKind::Hub
            } else {
                DeviceKind::Device
            };
            let enrolment = store.create_enrolment(
                &UnitCode::parse(&unit)?,
                &name,
                slots,
                kind,
                "admin-cli",
            )?;
            println!("{}", serde_json::to_string(&enrolment)?);
        }
        Command::Revoke { device_id } => {
            store.revoke_device(&device_id, "admin-cli")?;
            println!("{}", serde_json::json!({ "revoked": device_id }));
        }
        Command::Devices => println!("{}", serde_json::to_string_pretty(&store.devices()?)?),
        Command::Quarantine => println!(
            "{}",
            serde_json::to_string_pretty(&store.quarantined(1000)?)?
        ),
        Command::Documents => {
            let docs: serde_json::Map<String, serde_json::Value> = store
                .document_heads()?
                .into_iter()
                .map(|(id, unit, heads)| {
                    (
                        id.to_string(),
                        serde_json::json!({ "unit": unit, "heads": heads }),
                    )
                })
                .collect();
            println!("{}", serde_json::Value::Object(docs));
        }
        Command::SeedDossiers {
            count,
            unit,
            days,
            seed,
            export,
        } => {
            let units = if unit.is_empty() {
                store.units().commune_codes()
            } else {
                unit.iter()
                    .map(|u| UnitCode::parse(u))
                    .collect::<Result<Vec<_>, _>>()?
            };
            let plan = SeedPlan {
                days,
                seed,
                ..SeedPlan::new(count, units)
            };
            let mut file = match &export {
                Some(path) => Some(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("cannot write {}", path.display()))?,
                )),
                None => None,
            };
            let seeded = seed_dossiers(
                &store,
                &plan,
                file.as_mut().map(|f| f as &mut dyn std::io::Write),
            )?;
            if let Some(mut file) = file {
                std::io::Write::flush(&mut file)?;
            }
            println!("{}", serde_json::to_string(&seeded)?);
        }
        Command::Verify => {
            let problems = store.verify_index()?;
            println!("{}", serde_json::json!({ "problems": problems }));
            if !problems.is_empty() {
                anyhow::bail!("{} index rows do not match their documents", problems.len());
            }
        }
        Command::Backup { .. } | Command::Restore { .. } => unreachable!("handled above"),
    }
    Ok(())
}
