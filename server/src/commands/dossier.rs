//! `motcua dossier …`: what a clerk does at the counter, on the device's
//! own replica, online or not.

use std::path::PathBuf;

use anyhow::{Context, bail};
use client_core::dossier::{DossierDoc, NewStage};
use client_core::ids::DocId;
use client_core::search::SearchQuery;
use client_core::stage::Stage;
use server::device::{Device, keys};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Record a stage of a dossier.
    Stage {
        /// The device's data directory.
        #[arg(long)]
        data: PathBuf,
        /// The dossier code.
        code: String,
        /// The stage: received, handed_over, assigned, processing, sent_to_level,
        /// returned_from_level, reviewed, signed, awaiting_fee, supplement_requested,
        /// supplement_received, paused, resumed, done, result_returned, refused, withdrawn.
        stage: String,
        #[arg(long, default_value = "")]
        note: String,
        /// Who records it (default: the device's user).
        #[arg(long)]
        user: Option<String>,
        /// When it happened (RFC 3339; default: now).
        #[arg(long)]
        at: Option<String>,
    },
    /// List the dossiers on this device.
    List {
        #[arg(long)]
        data: PathBuf,
        /// Search by code, applicant name (diacritics optional), ID number or phone.
        #[arg(long)]
        q: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one dossier as JSON, with its stage log and conflicts.
    Show {
        #[arg(long)]
        data: PathBuf,
        code: String,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Stage {
            data,
            code,
            stage,
            note,
            user,
            at,
        } => {
            let stage: Stage = stage.parse()?;
            let mut device = Device::open(&data)?;
            let at = match at {
                Some(t) => client_core::time::parse_rfc3339(&t)
                    .with_context(|| format!("'{t}' is not an RFC 3339 time"))?
                    .timestamp_millis(),
                None => chrono::Utc::now().timestamp_millis(),
            };
            let user = user
                .or(device.setting(keys::USER)?)
                .unwrap_or_else(default_user);
            let device_name = device
                .setting(keys::DEVICE_ID)?
                .unwrap_or_else(|| "device".into());
            let unit = device.unit()?;
            let id = find(&mut device, &code)?;
            let entry = device
                .with(|r| {
                    r.update(&id, |doc| {
                        doc.record_stage(NewStage {
                            stage,
                            at,
                            user,
                            device: device_name,
                            unit,
                            note,
                        })
                    })
                })?
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{}",
                serde_json::json!({ "code": code, "stage": entry.stage, "entry": entry.id })
            );
        }
        Command::List { data, q, json } => {
            let mut device = Device::open(&data)?;
            let query = q.as_deref().map(SearchQuery::parse);
            let rows: Vec<serde_json::Value> = device.with(|r| {
                let mut rows: Vec<_> = r
                    .metas()
                    .filter_map(|m| m.dossier.as_deref().map(|d| (m, d)))
                    .filter(|(_, d)| {
                        query.as_ref().is_none_or(|q| {
                            q.matches(&d.applicant.full_name)
                                || q.matches(&d.code.to_string())
                                || q.matches(d.applicant.id_number.as_str())
                                || d.applicant
                                    .phone
                                    .as_ref()
                                    .is_some_and(|p| q.matches(p.as_str()))
                        })
                    })
                    .map(|(m, d)| {
                        let p = d.progress();
                        serde_json::json!({
                            "doc_id": m.id.to_string(),
                            "code": d.code.to_string(),
                            "applicant": d.applicant.full_name,
                            "procedure": d.procedure.name,
                            "stage": p.current,
                            "status": p.status.map(|s| s.code()),
                            "received_at": fmt_time(d.received_at),
                            "due_at": fmt_time(d.due_at),
                            "pending": m.is_pending(),
                            "refused": m.refused,
                        })
                    })
                    .collect();
                rows.sort_by(|a, b| a["code"].as_str().cmp(&b["code"].as_str()));
                rows
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for row in &rows {
                    println!(
                        "{}  {:<24} {:<28} hẹn {}{}",
                        row["code"].as_str().unwrap_or_default(),
                        row["stage"].as_str().unwrap_or_default(),
                        row["applicant"].as_str().unwrap_or_default(),
                        row["due_at"].as_str().unwrap_or_default(),
                        if row["pending"].as_bool() == Some(true) {
                            "  (chờ đồng bộ / not yet synced)"
                        } else {
                            ""
                        },
                    );
                }
                eprintln!("{} hồ sơ / dossiers", rows.len());
            }
        }
        Command::Show { data, code } => {
            let mut device = Device::open(&data)?;
            let id = find(&mut device, &code)?;
            let doc: DossierDoc = device
                .with(|r| r.doc(&id))?
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let dossier = doc.read()?;
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "doc_id": id.to_string(),
                    "dossier": dossier,
                    "progress": dossier.progress(),
                    "conflicts": doc.conflicts(),
                }))?
            );
        }
    }
    Ok(())
}

/// The document id of a dossier code on this device.
pub fn find(device: &mut Device, code: &str) -> anyhow::Result<DocId> {
    let wanted = code.trim().to_uppercase();
    let found = device.with(|r| {
        r.dossiers()
            .find(|(_, d)| d.code.to_string() == wanted)
            .map(|(id, _)| *id)
    })?;
    match found {
        Some(id) => Ok(id),
        None => bail!("no dossier {code} on this device (sync first if it was received elsewhere)"),
    }
}

pub fn default_user() -> String {
    std::env::var("USER").unwrap_or_else(|_| "clerk".into())
}

pub fn fmt_time(ms: i64) -> String {
    client_core::time::from_millis(ms)
        .map(|t| client_core::time::format_rfc3339(&t))
        .unwrap_or_default()
}
