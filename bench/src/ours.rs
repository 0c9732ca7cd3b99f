//! Our side of workloads 1–3 (and 7, the same over a shaped link): a real
//! hub (`motcua serve`) holding N realistic dossiers, and native devices
//! syncing with it through `motcua sync`, each a process of its own.
//!
//! The dossiers are made by `motcua generate` on a counter device and pushed
//! to the hub; `motcua dossier export` writes them out so that the peer
//! builds the very same dossiers.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use motcua_tests::hub::{TempDir, motcua_bin};
use motcua_tests::netem::{NetemLink, Side as LinkSide};
use motcua_tests::{HubOptions, HubProcess};

use crate::measure::{self, Run};
use crate::results::Side;

/// The unit every dossier of these workloads belongs to.
pub const UNIT: &str = "X0101";

/// Changed at the hub during the outage of workload 3.
pub const CHANGED_AT_HUB: usize = 200;
/// Received on the device during the outage of workload 3.
pub const NEW_ON_DEVICE: usize = 50;

/// A hub with N dossiers and the files that describe them.
pub struct OurHub {
    pub hub: HubProcess,
    /// Where devices run: beside the hub, or across the link.
    near: Vec<String>,
    far: Vec<String>,
    pub work: TempDir,
    /// Every dossier, as `motcua dossier export` wrote it.
    pub dossiers: PathBuf,
    pub n: usize,
}

/// A device replica of ours, in its own directory.
pub struct OurDevice {
    pub dir: PathBuf,
    wrapper: Vec<String>,
}

fn motcua(wrapper: &[String], args: &[&str]) -> Command {
    let bin = motcua_bin();
    let mut command = match wrapper.split_first() {
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    command.args(args).env("MOTCUA_LOG", "error");
    command
}

fn path(p: &Path) -> String {
    p.to_string_lossy().to_string()
}

impl OurDevice {
    pub fn run(&self, args: &[&str]) -> anyhow::Result<Run> {
        let data = path(&self.dir);
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--data", &data]);
        measure::run(&mut motcua(&self.wrapper, &all), None)
    }

    /// One `motcua sync`, measured.
    pub fn sync(&self) -> anyhow::Result<(Run, serde_json::Value)> {
        let run = self.run(&["sync"])?;
        let report = run.json()?;
        anyhow::ensure!(
            report["in_sync"] == true,
            "the sync did not finish: {report}"
        );
        Ok((run, report))
    }

    pub fn setting(&self, key: &str) -> anyhow::Result<String> {
        server::device::storage::SqliteStorage::open(&self.dir)?
            .setting(key)?
            .with_context(|| format!("the device has no setting {key}"))
    }

    /// Every dossier on the device, as JSON lines.
    pub fn export(&self, to: &Path) -> anyhow::Result<()> {
        let run = self.run(&["dossier", "export"])?;
        std::fs::write(to, run.stdout)?;
        Ok(())
    }
}

impl OurHub {
    /// Starts a hub (across `link`, when given: the hub on side A) and fills
    /// it with `n` dossiers of about five stages each.
    pub fn prepare(n: usize, link: Option<&NetemLink>) -> anyhow::Result<OurHub> {
        let (near, far, options) = match link {
            Some(link) => (
                link.wrapper(LinkSide::A),
                link.wrapper(LinkSide::B),
                HubOptions {
                    demo: true,
                    listen: Some(format!("{}:0", link.addr(LinkSide::A))),
                    args: vec!["--insecure".into()],
                    wrapper: link.wrapper(LinkSide::A),
                    ..HubOptions::default()
                },
            ),
            None => (
                Vec::new(),
                Vec::new(),
                HubOptions {
                    demo: true,
                    ..HubOptions::default()
                },
            ),
        };
        let hub = HubProcess::start(options)?;
        let work = TempDir::new("bench");
        let dossiers = work.path().join("dossiers.jsonl");
        let ours = OurHub {
            hub,
            near,
            far,
            work,
            dossiers,
            n,
        };
        let counter = ours.enrol(false, "counter")?;
        let (n_s, stages) = (n.to_string(), (4 * n).to_string());
        // About 33 a day at most: well inside one code slot's 99.
        let days = (n / 33).max(30).to_string();
        counter.run(&[
            "generate",
            "--dossiers",
            &n_s,
            "--stages",
            &stages,
            "--days",
            &days,
            "--seed",
            "1",
        ])?;
        counter.sync()?;
        counter.export(&ours.dossiers)?;
        Ok(ours)
    }

    /// A new device of the unit, beside the hub or across the link.
    pub fn enrol(&self, far: bool, name: &str) -> anyhow::Result<OurDevice> {
        let dir = self.work.path().join(name);
        let code = self.hub.enrolment_code(UNIT)?;
        let wrapper = if far {
            self.far.clone()
        } else {
            self.near.clone()
        };
        let device = OurDevice { dir, wrapper };
        let data = path(&device.dir);
        measure::run(
            &mut motcua(
                &device.wrapper,
                &[
                    "enrol",
                    "--server",
                    &self.hub.url,
                    "--code",
                    &code,
                    "--data",
                    &data,
                ],
            ),
            None,
        )?;
        Ok(device)
    }

    fn hub_pid(&self) -> anyhow::Result<u32> {
        self.hub.pid().context("the hub is not running")
    }

    /// Runs a measured sync of `device` and records it, with the hub's peak
    /// memory during it.
    fn measured_sync(&self, device: &OurDevice) -> anyhow::Result<(Side, serde_json::Value)> {
        let pid = self.hub_pid()?;
        measure::reset_peak(pid);
        let (run, report) = device.sync()?;
        let mut side = side_of(&run, &report);
        side.rss("hub", measure::peak_rss_kib(pid)?);
        Ok((side, report))
    }
}

/// The figures of one `motcua sync`.
pub fn side_of(run: &Run, report: &serde_json::Value) -> Side {
    let mut side = Side {
        wall_s: Some(run.wall_s),
        bytes_sent: report["bytes_sent"].as_u64(),
        bytes_received: report["bytes_received"].as_u64(),
        round_trips: report["round_trips"].as_u64(),
        messages: Some(
            report["frames_sent"].as_u64().unwrap_or(0)
                + report["frames_received"].as_u64().unwrap_or(0),
        ),
        ..Side::default()
    };
    side.rss("device", run.peak_rss_kib);
    side.set("documents", report["documents"].clone());
    side
}

/// Our figures for workloads 1, 2 and 3 at one N.
pub struct Scenario {
    pub initial: Side,
    pub idle: Side,
    pub outage: Side,
    /// The outage's data, for the peer to do the same: the dossiers changed
    /// at the hub (as they are after the change) and those new on the device.
    pub changed: PathBuf,
    pub new: PathBuf,
    pub floor_bytes: u64,
}

/// Runs workloads 1, 2 and 3 in order on one hub (each needs the one
/// before: the device of 2 is the one 1 filled).
pub fn scenario(ours: &OurHub) -> anyhow::Result<Scenario> {
    let device = ours.enrol(true, "device")?;
    eprintln!("    ours: initial sync of {} dossiers", ours.n);
    let (initial, report) = ours.measured_sync(&device)?;
    anyhow::ensure!(
        report["received"].as_u64().unwrap_or(0) >= ours.n as u64,
        "the device received fewer documents than the hub holds: {report}"
    );
    eprintln!("    ours: idle reconnect");
    let (idle, _) = ours.measured_sync(&device)?;

    // The outage: another device of the unit moves 200 dossiers on and
    // syncs; this one receives 50 new dossiers offline.
    let other = ours.enrol(false, "other")?;
    other.sync()?;
    let advance = CHANGED_AT_HUB.to_string();
    let advanced = other
        .run(&["generate", "--advance", &advance, "--seed", "3"])?
        .json()?;
    anyhow::ensure!(
        advanced["advanced"].as_u64() == Some(CHANGED_AT_HUB as u64),
        "could not move {CHANGED_AT_HUB} dossiers on: {advanced}"
    );
    other.sync()?;
    let new = NEW_ON_DEVICE.to_string();
    device.run(&["generate", "--dossiers", &new, "--days", "1", "--seed", "4"])?;
    let work = ours.work.path();
    let (changed, new) = (work.join("changed.jsonl"), work.join("new.jsonl"));
    let before: std::collections::HashMap<String, usize> = read_lines(&ours.dossiers)?
        .into_iter()
        .map(|(id, d)| (id, stages(&d)))
        .collect();
    let other_now = work.join("other.jsonl");
    other.export(&other_now)?;
    write_lines(
        &changed,
        read_lines(&other_now)?
            .into_iter()
            .filter(|(id, d)| before.get(id).is_some_and(|n| *n < stages(d))),
    )?;
    let device_now = work.join("device.jsonl");
    device.export(&device_now)?;
    write_lines(
        &new,
        read_lines(&device_now)?
            .into_iter()
            .filter(|(id, _)| !before.contains_key(id)),
    )?;

    let checkpoint: i64 = device.setting("checkpoint_seq")?.parse()?;
    let device_id = device.setting("device_id")?;
    eprintln!("    ours: reconnect after the outage");
    let (mut outage, report) = ours.measured_sync(&device)?;
    anyhow::ensure!(
        report["acknowledged"].as_u64() == Some(NEW_ON_DEVICE as u64),
        "the hub did not take the new dossiers: {report}"
    );
    let floor_bytes = floor(&ours.hub, checkpoint, &device_id)?;
    outage.set("floor", crate::results::bytes(floor_bytes));
    if let Some(total) = outage.bytes() {
        outage.set(
            "bytes / floor",
            format!("{:.2}", total as f64 / floor_bytes as f64),
        );
    }
    Ok(Scenario {
        initial,
        idle,
        outage,
        changed,
        new,
        floor_bytes,
    })
}

/// The least an outage's reconnect can carry: the changes made at the hub
/// while the device was away (Automerge change chunks, compressed, as the
/// hub stored them) and the new documents it pushes (each saved whole, in
/// Automerge's compressed document format).
fn floor(hub: &HubProcess, checkpoint: i64, device_id: &str) -> anyhow::Result<u64> {
    let store = server::store::Store::open(hub.data.path())?;
    let received = store.change_bytes_after(u64::try_from(checkpoint)?, device_id)?;
    let mut new_docs: std::collections::BTreeMap<_, Vec<u8>> = Default::default();
    for (doc, bytes) in store.changes_from(device_id)? {
        new_docs.entry(doc).or_default().extend_from_slice(&bytes);
    }
    let mut sent = 0;
    for bytes in new_docs.values() {
        sent += automerge::Automerge::load(bytes)
            .context("a new document at the hub does not load")?
            .save()
            .len();
    }
    Ok(received + sent as u64)
}

type Line = (String, serde_json::Value);

pub fn read_lines(file: &Path) -> anyhow::Result<Vec<Line>> {
    std::fs::read_to_string(file)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l)?;
            Ok((v["doc_id"].as_str().unwrap_or_default().to_string(), v))
        })
        .collect()
}

fn write_lines(file: &Path, lines: impl Iterator<Item = Line>) -> anyhow::Result<()> {
    let text: String = lines.map(|(_, v)| v.to_string() + "\n").collect();
    std::fs::write(file, text)?;
    Ok(())
}

fn stages(line: &serde_json::Value) -> usize {
    line["dossier"]["stages"].as_array().map_or(0, Vec::len)
}
