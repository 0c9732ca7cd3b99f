//! `motcua dossier …`: what a clerk does at the counter, on the device's
//! own replica, online or not.

use std::path::PathBuf;

use anyhow::{Context, bail};
use client_core::calendar::WorkingCalendar;
use client_core::catalogue::Catalogue;
use client_core::config::ConfigKind;
use client_core::dossier::{
    Applicant, ChangeMeta, Channel, DocumentForm, DossierDoc, EditableField, HandedDocument,
    NewStage,
};
use client_core::ids::DocId;
use client_core::ids::{IdNumber, PhoneNumber};
use client_core::intake::{self, Reception};
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
    /// Receive a new dossier: issues its code and appointment, offline.
    Receive(ReceiveArgs),
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
    /// Change a field of a dossier (also how a conflict is resolved: the
    /// value written replaces every concurrent one).
    Edit {
        #[arg(long)]
        data: PathBuf,
        code: String,
        /// applicant.full_name, applicant.id_number, applicant.phone,
        /// applicant.address, channel, sets, fee.amount_vnd, fee.paid,
        /// result_delivery.method, result_delivery.place
        #[arg(long)]
        field: String,
        #[arg(long)]
        value: String,
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
    /// direct, postal or online
    #[arg(long, default_value = "direct")]
    channel: String,
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
    let channel = Channel::parse(&args.channel)
        .with_context(|| format!("channel must be one of: {}", Channel::CHOICES))?;
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
    let user = args
        .user
        .clone()
        .or(device.setting(keys::USER)?)
        .unwrap_or_else(default_user);
    let device_name = device
        .setting(keys::DEVICE_ID)?
        .unwrap_or_else(|| "device".into());
    let actor = device.actor().clone();
    let reception = Reception {
        procedure_id: args.procedure.clone(),
        applicant,
        documents,
        sets: args.sets,
        channel,
        fee_paid: args.fee_paid,
        result_delivery: None,
        received_at,
        user,
        device: device_name,
        note: args.note.clone(),
    };
    let received = device.with(|r| {
        // The published catalogue and calendar once synced; the built-in
        // ones before the first sync.
        let (catalogue, calendar) = working_config(r)?;
        let codes: Vec<_> = r.dossiers().map(|(_, d)| d.code.clone()).collect();
        let received = intake::receive(
            &catalogue,
            &calendar,
            &issuer,
            codes.iter(),
            actor,
            reception,
        )?;
        r.insert_new(received.doc_id, &received.doc)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok::<_, anyhow::Error>(received)
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
            let Some(field) = EditableField::from_path(&field) else {
                let known: Vec<String> = EditableField::ALL.iter().map(|f| f.path()).collect();
                bail!(
                    "'{field}' cannot be edited; editable fields: {}",
                    known.join(", ")
                );
            };
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

/// The catalogue and calendar this device works with (the published ones
/// once synced).
fn working_config(r: &mut server::device::Replica) -> anyhow::Result<(Catalogue, WorkingCalendar)> {
    use chrono::Datelike;
    let catalogue =
        client_core::config::catalogue_or_seed(r.config_body(ConfigKind::Catalogue).as_deref());
    let calendar = client_core::config::calendar_or_seeded(
        r.config_body(ConfigKind::Calendar).as_deref(),
        chrono::Utc::now().year(),
    )?;
    Ok((catalogue, calendar))
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

/// A small seeded generator of realistic counter activity, for demos,
/// tests and benchmarks.
pub mod generate {
    use super::*;

    const FAMILY: &[&str] = &[
        "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
        "Hồ", "Ngô", "Dương", "Lý",
    ];
    const MIDDLE: &[&str] = &[
        "Văn", "Thị", "Minh", "Ngọc", "Thanh", "Quốc", "Thu", "Đức", "Hữu", "Xuân",
    ];
    const GIVEN: &[&str] = &[
        "An", "Bình", "Cường", "Dung", "Giang", "Hà", "Hải", "Hoa", "Hùng", "Khánh", "Lan", "Linh",
        "Mai", "Nam", "Nga", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Tuấn", "Vy", "Yến",
    ];

    /// xorshift64*: reproducible from the seed, no dependency.
    pub struct Rng(u64);

    impl Rng {
        pub fn new(seed: u64) -> Self {
            Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }

        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        pub fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }

        pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len())]
        }
    }

    pub fn applicant(rng: &mut Rng) -> Applicant {
        let name = format!(
            "{} {} {}",
            rng.pick(FAMILY),
            rng.pick(MIDDLE),
            rng.pick(GIVEN)
        );
        let id = format!(
            "0{:02}{}{:08}",
            1 + rng.below(96),
            rng.below(4),
            rng.next() % 100_000_000
        );
        let phone = format!("09{:08}", rng.next() % 100_000_000);
        Applicant {
            full_name: name,
            id_number: IdNumber::parse(&id).expect("generated ID numbers are valid"),
            phone: PhoneNumber::parse(&phone).ok(),
            address: format!("Thôn {}, xã Tân Phong", 1 + rng.below(12)),
        }
    }
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
    use generate::Rng;
    let mut device = Device::open(&args.data)?;
    let issuer = device.code_issuer()?;
    let device_name = device
        .setting(keys::DEVICE_ID)?
        .unwrap_or_else(|| "device".into());
    let unit = device.unit()?;
    let actor = device.actor().clone();
    let mut rng = Rng::new(args.seed);
    let summary = device.with(|r| -> anyhow::Result<serde_json::Value> {
        let (catalogue, calendar) = working_config(r)?;
        let procedures: Vec<String> = catalogue.current().iter().map(|p| p.id.clone()).collect();
        let now = chrono::Utc::now().timestamp_millis();
        let mut codes: Vec<client_core::ids::DossierCode> = r.dossiers().map(|(_, d)| d.code.clone()).collect();
        let mut received = 0;
        for _ in 0..args.dossiers {
            let reception = Reception {
                procedure_id: rng.pick(&procedures).clone(),
                applicant: generate::applicant(&mut rng),
                documents: None,
                sets: 1,
                channel: if rng.below(5) == 0 { Channel::Online } else { Channel::Direct },
                fee_paid: true,
                result_delivery: None,
                // A working hour on one of the past days.
                received_at: now - rng.below(args.days.max(1) as usize) as i64 * 86_400_000 - rng.below(8 * 3600) as i64 * 1000,
                user: args.user.clone(),
                device: device_name.clone(),
                note: String::new(),
            };
            let done = intake::receive(&catalogue, &calendar, &issuer, codes.iter(), actor.clone(), reception)?;
            r.insert_new(done.doc_id, &done.doc).map_err(|e| anyhow::anyhow!("{e}"))?;
            codes.push(done.dossier.code.clone());
            received += 1;
        }
        let mut recorded = 0;
        let open: Vec<DocId> = r.dossiers().filter(|(_, d)| !d.progress().is_closed()).map(|(id, _)| *id).collect();
        for i in 0..args.stages {
            if open.is_empty() {
                break;
            }
            let id = open[rng.below(open.len())];
            let current = r.meta(&id).and_then(|m| m.dossier.as_ref()).and_then(|d| d.progress().current);
            let Some(current) = current else { continue };
            // Keep dossiers moving rather than closing most of them.
            let choices: Vec<Stage> = current.next_stages().iter().copied().filter(|s| !s.is_final() || rng.below(4) == 0).collect();
            if choices.is_empty() {
                continue;
            }
            let stage = *rng.pick(&choices);
            let at = now + i as i64;
            let entry = NewStage { stage, at, user: args.user.clone(), device: device_name.clone(), unit: unit.clone(), note: String::new() };
            r.update(&id, |doc| doc.record_stage(entry)).map_err(|e| anyhow::anyhow!("{e}"))?;
            recorded += 1;
        }
        Ok(serde_json::json!({ "received": received, "stages": recorded, "documents": r.len(), "pending": r.pending_count() }))
    })??;
    println!("{summary}");
    Ok(())
}
