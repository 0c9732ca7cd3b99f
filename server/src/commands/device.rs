//! `motcua enrol` and `motcua sync`: a native device joins a hub and syncs
//! its replica with it.

use std::path::PathBuf;

use anyhow::Context;
use serde::Deserialize;
use server::device::client;
use server::device::{Device, keys};
use server::link::{self, Endpoint};

#[derive(Debug, clap::Args)]
pub struct EnrolArgs {
    /// The hub, e.g. https://hub.example:8443
    #[arg(long)]
    server: String,
    /// The one-time enrolment code an administrator created.
    #[arg(long)]
    code: String,
    /// The device's data directory.
    #[arg(long)]
    data: PathBuf,
    /// Trust this PEM certificate (the hub's self-signed one).
    #[arg(long)]
    ca_cert: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Enrolled {
    device_id: String,
    unit: String,
    token: String,
    code_slots: Vec<u8>,
}

pub fn enrol(args: EnrolArgs) -> anyhow::Result<()> {
    let mut device = Device::open(&args.data)?;
    let mut url =
        url::Url::parse(&args.server).with_context(|| format!("'{}' is not a URL", args.server))?;
    url.set_path("/api/enrol");
    let body = serde_json::json!({ "code": args.code, "actors": [device.actor().to_hex_string()] });
    let runtime = tokio::runtime::Runtime::new()?;
    let enrolled: Enrolled =
        runtime.block_on(link::post_json(&url, &body, args.ca_cert.as_deref()))?;
    device.set_setting(keys::TOKEN, &enrolled.token)?;
    device.set_setting(keys::SERVER, &args.server)?;
    if let Some(ca) = &args.ca_cert {
        device.set_setting(keys::CA_CERT, &ca.canonicalize()?.to_string_lossy())?;
    }
    device.set_setting(keys::DEVICE_ID, &enrolled.device_id)?;
    device.set_setting(keys::UNIT, &enrolled.unit)?;
    device.set_setting(
        keys::CODE_SLOTS,
        &serde_json::to_string(&enrolled.code_slots)?,
    )?;
    println!(
        "{}",
        serde_json::json!({ "device_id": enrolled.device_id, "unit": enrolled.unit, "token": enrolled.token, "code_slots": enrolled.code_slots })
    );
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// The hub (default: the one given at enrolment).
    #[arg(long)]
    server: Option<String>,
    /// The device token (default: the one received at enrolment).
    #[arg(long)]
    token: Option<String>,
    /// The device's data directory.
    #[arg(long)]
    data: PathBuf,
    /// Keep syncing, reconnecting with back-off when the link drops.
    #[arg(long)]
    watch: bool,
    /// Trust this PEM certificate (the hub's self-signed one).
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// Seconds to wait for an expected answer before starting the
    /// connection again.
    #[arg(long, default_value_t = link::STALL_AFTER.as_secs())]
    stall_after: u64,
    /// With --watch: seconds between checks that the device and the hub
    /// still hold the same documents.
    #[arg(long, default_value_t = link::VERIFY_EVERY.as_secs())]
    verify_every: u64,
}

pub fn sync(args: SyncArgs) -> anyhow::Result<()> {
    let mut device = Device::open(&args.data)?;
    let server = match args.server {
        Some(s) => s,
        None => device
            .setting(keys::SERVER)?
            .context("--server is required (this device was not enrolled with one)")?,
    };
    let token = match args.token {
        Some(t) => {
            device.set_setting(keys::TOKEN, &t)?;
            t
        }
        None => device
            .setting(keys::TOKEN)?
            .context("--token is required (this device has none saved)")?,
    };
    let ca_cert = args.ca_cert.or_else(|| {
        device
            .setting(keys::CA_CERT)
            .ok()
            .flatten()
            .map(PathBuf::from)
    });
    if device.setting(keys::SERVER)?.is_none() {
        device.set_setting(keys::SERVER, &server)?;
    }
    let mut endpoint = Endpoint::parse(&server, ca_cert.as_deref())?;
    endpoint.stall_after = std::time::Duration::from_secs(args.stall_after.max(1));
    endpoint.verify_every = std::time::Duration::from_secs(args.verify_every.max(1));
    let runtime = tokio::runtime::Runtime::new()?;
    if args.watch {
        runtime.block_on(client::watch(&mut device, &endpoint, &token))
    } else {
        let report = runtime.block_on(client::sync_once(&mut device, &endpoint, &token))?;
        println!("{}", serde_json::to_string(&report)?);
        Ok(())
    }
}

#[derive(Debug, clap::Args)]
pub struct StateArgs {
    /// The device's data directory.
    #[arg(long)]
    data: PathBuf,
}

/// `motcua state`: what this device holds — every document with its heads,
/// what waits for the hub, and the checkpoint — as JSON.
pub fn state(args: StateArgs) -> anyhow::Result<()> {
    let mut device = Device::open(&args.data)?;
    let out = device.with(|r| {
        let documents: serde_json::Map<String, serde_json::Value> = r
            .metas()
            .map(|m| {
                let mut heads: Vec<String> = m.heads.iter().map(|h| hex::encode(h.0)).collect();
                heads.sort();
                let value = serde_json::json!({
                    "code": m.dossier.as_ref().map(|d| d.code.to_string()),
                    "unit": m.dossier.as_ref().map(|d| d.unit.to_string()),
                    "heads": heads,
                    "pending": m.is_pending(),
                    "refused": m.refused,
                });
                (m.id.to_string(), value)
            })
            .collect();
        serde_json::json!({ "documents": documents, "pending": r.pending_count() })
    })?;
    println!("{out}");
    Ok(())
}
