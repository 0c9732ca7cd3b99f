//! `motcua dossier …`: what a clerk does at the counter, on the device's
//! own replica, online or not.

use std::path::PathBuf;

use anyhow::{Context, bail};
use client_core::counter::{Clerk, Counter, NewDossier};
use client_core::dossier::{
    Applicant, ChangeMeta, Channel, DocumentForm, DossierDoc, EditableField, HandedDocument,
};
use client_core::ids::DocId;
use client_core::ids::{IdNumber, PhoneNumber};
use client_core::search::SearchQuery;
use client_core::stage::Stage;
use server::activity::Activity;
use server::device::{Device, keys};

use super::choice::one_of;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Receive a new dossier: issues its code and appointment, offline.
    Receive(ReceiveArgs),
    /// Record a stage of a dossier.
    Stage {
        /// The device's data directory.
        #[arg(long)]
        data: PathBuf,
        /// The dossier code.
        code: String,
        /// The stage.
        #[arg(value_parser = one_of(&Stage::ALL, Stage::as_str))]
        stage: Stage,
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
    /// Change a field of a dossier (also how a conflict is resolved: the
    /// value written replaces every concurrent one).
    Edit {
        #[arg(long)]
        data: PathBuf,
        code: String,
        #[arg(long, value_parser = one_of(&EditableField::ALL, EditableField::path))]
        field: EditableField,
        #[arg(long)]
        value: String,
    },
    /// Write every dossier on this device as JSON lines (`{"doc_id", "dossier"}`),
    /// with all its fields and its stage log, for other tools.
    Export {
        #[arg(long)]
        data: PathBuf,
    },
    /// Show one dossier as JSON, with its stage log and conflicts.
    Show {
        #[arg(long)]
        data: PathBuf,
        code: String,
    },
}

#[derive(Debug, clap::Args)]
struct ReceiveArgs {
    /// The device's data directory.
    #[arg(long)]
    data: PathBuf,
    /// The procedure's national code, e.g. 1.001193 (see the catalogue).
    #[arg(long)]
    procedure: String,
    /// The applicant's full name.
    #[arg(long)]
    name: String,
    /// CCCD (12 digits), CMND (9 digits) or passport number.
    #[arg(long)]
    id_number: String,
    #[arg(long)]
    phone: Option<String>,
    #[arg(long, default_value = "")]
    address: String,
    #[arg(long, default_value = "direct", value_parser = one_of(Channel::ALL, Channel::as_str))]
    channel: Channel,
    #[arg(long, default_value_t = 1)]
    sets: u32,
    /// The fee was paid at the counter.
    #[arg(long)]
    fee_paid: bool,
    /// A document handed in, as "name:form:count" (form: original, copy,
    /// certified_copy); repeat for each. Default: the procedure's list.
    #[arg(long = "document")]
    documents: Vec<String>,
    /// Who receives it (default: the device's user).
    #[arg(long)]
    user: Option<String>,
    /// When it was received (RFC 3339; default: now).
    #[arg(long)]
    received_at: Option<String>,
    #[arg(long, default_value = "")]
    note: String,
}

fn receive(args: ReceiveArgs) -> anyhow::Result<()> {
    let mut device = Device::open(&args.data)?;
    let issuer = device.code_issuer()?;
    let received_at = match &args.received_at {
        Some(t) => client_core::time::parse_rfc3339(t)
            .with_context(|| format!("'{t}' is not an RFC 3339 time"))?
            .timestamp_millis(),
        None => chrono::Utc::now().timestamp_millis(),
    };
    let applicant = Applicant {
        full_name: args.name.clone(),
        id_number: IdNumber::parse(&args.id_number)?,
        phone: args
            .phone
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(PhoneNumber::parse)
            .transpose()?,
        address: args.address.clone(),
    };
    let channel = args.channel;
    let documents = if args.documents.is_empty() {
        None
    } else {
        Some(
            args.documents
                .iter()
                .map(|d| parse_document(d))
                .collect::<anyhow::Result<Vec<_>>>()?,
        )
    };
    let clerk = clerk(&device, args.user.clone())?;
    let dossier = NewDossier {
        procedure_id: args.procedure.clone(),
        applicant,
        documents,
        sets: args.sets,
        channel,
        fee_paid: args.fee_paid,
        result_delivery: None,
        note: args.note.clone(),
    };
    let now = chrono::Utc::now().timestamp_millis();
    let received = device.with(|r| {
        let mut counter =
            Counter::open(r, clerk, issuer, now).map_err(|e| anyhow::anyhow!("{e}"))?;
        counter
            .receive(r, dossier, received_at)
            .map_err(|e| anyhow::anyhow!("{e}"))
    })??;
    println!(
        "{}",
        serde_json::json!({
            "doc_id": received.doc_id.to_string(),
            "code": received.dossier.code.to_string(),
            "procedure": received.dossier.procedure.name,
            "received_at": fmt_time(received.dossier.received_at),
            "due_at": fmt_time(received.dossier.due_at),
        })
    );
    Ok(())
}

fn parse_document(spec: &str) -> anyhow::Result<HandedDocument> {
    let mut parts = spec.rsplitn(3, ':');
    let (Some(count), Some(form), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
        bail!("document '{spec}' is not name:form:count, e.g. \"Tờ khai:original:1\"");
    };
    Ok(HandedDocument {
        name: name.to_string(),
        form: DocumentForm::parse(form)
            .with_context(|| format!("form must be one of: {}", DocumentForm::CHOICES))?,
        count: count
            .parse()
            .with_context(|| format!("count '{count}' is not a number"))?,
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Receive(args) => receive(args)?,
        Command::Stage {
            data,
            code,
            stage,
            note,
            user,
            at,
        } => {
            let mut device = Device::open(&data)?;
            let at = match at {
                Some(t) => client_core::time::parse_rfc3339(&t)
                    .with_context(|| format!("'{t}' is not an RFC 3339 time"))?
                    .timestamp_millis(),
                None => chrono::Utc::now().timestamp_millis(),
            };
            let clerk = clerk(&device, user)?;
            let id = find(&mut device, &code)?;
            let entry = device
                .with(|r| clerk.record_stage(r, &id, stage, &note, at))?
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
                    .filter(|(_, d)| query.as_ref().is_none_or(|q| d.matches(q)))
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
        Command::Edit {
            data,
            code,
            field,
            value,
        } => {
            let mut device = Device::open(&data)?;
            let id = find(&mut device, &code)?;
            let meta = ChangeMeta {
                at: chrono::Utc::now().timestamp_millis(),
                message: format!("edit {}", field.path()),
            };
            device
                .with(|r| r.update(&id, |doc| doc.set_field(field, &value, &meta)))?
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{}",
                serde_json::json!({ "code": code, "field": field.path(), "value": value })
            );
        }
        Command::Export { data } => {
            use std::io::Write;
            let mut device = Device::open(&data)?;
            let lines = device.with(|r| {
                r.dossiers()
                    .map(|(id, d)| server::export::export_line(id, d))
                    .collect::<Vec<_>>()
            })?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for line in lines {
                writeln!(out, "{line}")?;
            }
            out.flush()?;
        }
        Command::Show { data, code } => {
            let mut device = Device::open(&data)?;
            let id = find(&mut device, &code)?;
            let doc: DossierDoc = device
                .with(|r| r.doc(&id))?
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let dossier = doc.read()?;
            let progress = dossier.progress();
            // What may be recorded next, for whoever drives the CLI.
            let next: Vec<&str> = progress
                .current
                .map(|s| s.next_stages().iter().map(|n| n.as_str()).collect())
                .unwrap_or_default();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "doc_id": id.to_string(),
                    "dossier": dossier,
                    "progress": progress,
                    "next_stages": next,
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

/// Who records stages from this device: `user` when given, else the
/// device's user.
fn clerk(device: &Device, user: Option<String>) -> anyhow::Result<Clerk> {
    Ok(Clerk {
        user: user
            .or(device.setting(keys::USER)?)
            .unwrap_or_else(default_user),
        device: device
            .setting(keys::DEVICE_ID)?
            .unwrap_or_else(|| "device".into()),
        unit: device.unit()?,
    })
}

pub fn default_user() -> String {
    std::env::var("USER").unwrap_or_else(|_| "clerk".into())
}

pub fn fmt_time(ms: i64) -> String {
    client_core::time::from_millis(ms)
        .map(|t| client_core::time::format_rfc3339(&t))
        .unwrap_or_default()
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// The device's data directory.
    #[arg(long)]
    data: PathBuf,
    /// New dossiers to receive.
    #[arg(long, default_value_t = 0)]
    dossiers: usize,
    /// Stages to record on random open dossiers of this device.
    #[arg(long, default_value_t = 0)]
    stages: usize,
    /// Move this many distinct open dossiers on by one stage each (after
    /// the dossiers and stages above).
    #[arg(long, default_value_t = 0)]
    advance: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Spread the receipts over this many past days (a device issues at
    /// most 99 codes a day per code slot).
    #[arg(long, default_value_t = 30)]
    days: i64,
    /// Who records them.
    #[arg(long, default_value = "canbo")]
    user: String,
}

/// `motcua generate`: receive dossiers and record stages in bulk, as a busy
/// counter would, offline (for demos, tests and benchmarks).
pub fn generate_activity(args: GenerateArgs) -> anyhow::Result<()> {
    let mut device = Device::open(&args.data)?;
    let issuer = device.code_issuer()?;
    let device_name = device
        .setting(keys::DEVICE_ID)?
        .unwrap_or_else(|| "device".into());
    let summary = device.with(|r| -> anyhow::Result<serde_json::Value> {
        let mut activity = Activity::new(r, issuer, &device_name, &args.user, args.seed)?;
        let now = chrono::Utc::now().timestamp_millis();
        for _ in 0..args.dossiers {
            // A working hour on one of the past days.
            let days_ago = activity.rng.below(args.days.max(1) as usize) as i64;
            let seconds = activity.rng.below(8 * 3600) as i64;
            activity.receive(r, now - days_ago * 86_400_000 - seconds * 1000)?;
        }
        let mut recorded = 0;
        let open = Activity::open_dossiers(r);
        for i in 0..args.stages {
            if open.is_empty() {
                break;
            }
            let id = open[activity.rng.below(open.len())];
            if activity.advance(r, &id, now + i as i64)?.is_some() {
                recorded += 1;
            }
        }
        let mut advanced = 0;
        for id in Activity::open_dossiers(r) {
            if advanced == args.advance {
                break;
            }
            if activity
                .advance(r, &id, now + (args.stages + advanced) as i64)?
                .is_some()
            {
                advanced += 1;
            }
        }
        Ok(serde_json::json!({
            "received": args.dossiers,
            "stages": recorded,
            "advanced": advanced,
            "documents": r.len(),
            "pending": r.pending_count(),
        }))
    })??;
    println!("{summary}");
    Ok(())
}
