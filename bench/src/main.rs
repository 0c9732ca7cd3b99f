//! `motcua-bench`: the benchmarks `scripts/bench` runs, ours side by side
//! with automerge-repo on the same machine, the same work, in one run.
//!
//! - [`ours`]: workloads 1–3 (and 7) on our side: a real hub and `motcua
//!   sync` devices.
//! - [`peer`]: the same on the automerge-repo sync server with automerge-repo
//!   clients.
//! - [`load`]: the load generator — hundreds of devices speaking our
//!   protocol with the client-core engine in one process — for workloads 4
//!   and 5.
//! - [`report06a`]: workload 6, report 06a over a million dossiers, through
//!   the command the reports expose.
//! - [`measure`]: wall time, peak memory, machine and load.
//! - [`results`]: the table and the JSON file.
//!
//! The benchmark reports; it does not judge. Its figures go to
//! `bench/results.md` and `bench/results.json`, never into a test.

mod load;
mod measure;
mod ours;
mod peer;
mod report06a;
mod results;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use motcua_tests::netem::{LinkShape, NetemLink};

use results::{Results, Row, Side, count, seconds, times};

#[derive(Debug, Clone, Parser, serde::Serialize)]
#[command(
    name = "motcua-bench",
    about = "Benchmarks side by side with automerge-repo"
)]
struct Options {
    /// N: dossiers the device syncs in workloads 1–3 (the peer also runs at
    /// 1,000 when N is larger, for the figure beside a stopped run).
    #[arg(long, default_value_t = 10_000)]
    dossiers: usize,
    /// Concurrent devices of workload 4.
    #[arg(long, default_value_t = 500)]
    devices: usize,
    /// Seconds workload 4 records changes for.
    #[arg(long, default_value_t = 60)]
    load_seconds: u64,
    /// Dossiers stored at the hub in workload 5.
    #[arg(long, default_value_t = 100_000)]
    hub_dossiers: usize,
    /// Devices connected to the hub in workload 5.
    #[arg(long, default_value_t = 1_000)]
    hub_devices: usize,
    /// Dossiers report 06a runs over in workload 6.
    #[arg(long, default_value_t = 1_000_000)]
    report_dossiers: usize,
    /// N for workload 7 (over the shaped link).
    #[arg(long, default_value_t = 1_000)]
    link_dossiers: usize,
    /// Run only these workloads (e.g. `--only 1,3,7`).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Small sizes (N = 1,000, 50 devices, 10,000 stored, …) for a quick look.
    #[arg(long)]
    quick: bool,
    /// Skip the peer (our figures only).
    #[arg(long)]
    no_peer: bool,
    /// The peer's device of workloads 2 and 3 has its storage written
    /// directly with every dossier even when its initial sync finishes (it
    /// always is when that sync is stopped at the time limit).
    #[arg(long)]
    peer_written_device: bool,
    /// Where results.md and results.json go.
    #[arg(long, default_value = "bench")]
    out: PathBuf,
}

impl Options {
    fn quick(mut self) -> Self {
        if self.quick {
            self.dossiers = self.dossiers.min(1_000);
            self.devices = self.devices.min(50);
            self.load_seconds = self.load_seconds.min(20);
            self.hub_dossiers = self.hub_dossiers.min(10_000);
            self.hub_devices = self.hub_devices.min(100);
            self.report_dossiers = self.report_dossiers.min(100_000);
            self.link_dossiers = self.link_dossiers.min(200);
        }
        self
    }

    fn wants(&self, workload: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|w| w == workload)
    }
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse().quick();
    // The hub and devices are the `motcua` built beside this binary, unless
    // MOTCUA_BIN says otherwise.
    if std::env::var_os("MOTCUA_BIN").is_none()
        && let Some(beside) = std::env::current_exe()?.parent().map(|d| d.join("motcua"))
    {
        // SAFETY: set before any other thread starts.
        unsafe { std::env::set_var("MOTCUA_BIN", beside) };
    }
    let started = Instant::now();
    let load_before = measure::load_average();
    let date = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    let machine = measure::Machine::here();
    eprintln!(
        "motcua-bench on {} ({}), load {:?}",
        machine.cpu,
        machine.summary(),
        load_before
    );
    let peer = !options.no_peer && peer::installed();
    if !options.no_peer && !peer {
        eprintln!("the peer is not installed (run scripts/bench, which installs it): ours only");
    }
    let mut rows = Vec::new();
    let mut run = |id: &str, f: &mut dyn FnMut() -> anyhow::Result<Vec<Row>>| {
        eprintln!(
            "==> workload {id} ({})",
            seconds(started.elapsed().as_secs_f64())
        );
        let stamp = |mut r: Vec<Row>| {
            let date = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
            let load = measure::load_average();
            for row in &mut r {
                row.date = date.clone();
                row.load = load;
            }
            r
        };
        match f().map(stamp) {
            Ok(mut r) => rows.append(&mut r),
            Err(e) => {
                eprintln!("workload {id} failed: {e:#}");
                rows.push(Row {
                    id: id.to_string(),
                    date: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                    load: measure::load_average(),
                    workload: "failed".into(),
                    ours_text: format!("failed: {e:#}")
                        .replace('\n', " ")
                        .chars()
                        .take(300)
                        .collect(),
                    peer_text: "–".into(),
                    ratio_text: "–".into(),
                    target: "–".into(),
                    met: None,
                    ours: None,
                    peer: None,
                });
            }
        }
    };

    let syncs: BTreeSet<&str> = ["1", "2", "3"]
        .into_iter()
        .filter(|w| options.wants(w))
        .collect();
    if !syncs.is_empty() {
        run("1–3", &mut || {
            sync_workloads(&options, &syncs, peer, None)
        });
    }
    if options.wants("4") {
        run("4", &mut || load::live_load(&options_load(&options)));
    }
    if options.wants("5") {
        run("5", &mut || load::hub_memory(&options_load(&options), peer));
    }
    if options.wants("6") {
        run("6", &mut || report06a::run(options.report_dossiers));
    }
    if options.wants("7") {
        run("7", &mut || shaped_link(&options, peer));
    }

    if !options.only.is_empty() {
        rows.extend(Results::earlier_rows(&options.out, &options.only));
    }
    let mut results = Results {
        date,
        machine,
        load_before,
        load_after: measure::load_average(),
        options: serde_json::to_value(&options)?,
        total_s: started.elapsed().as_secs_f64(),
        rows,
    };
    results.sort_rows();
    results.write(&options.out)?;
    println!("{}", results.markdown());
    eprintln!(
        "written to {} and {}",
        options.out.join("results.md").display(),
        options.out.join("results.json").display()
    );
    Ok(())
}

fn options_load(options: &Options) -> load::LoadOptions {
    load::LoadOptions {
        devices: options.devices,
        seconds: options.load_seconds,
        hub_dossiers: options.hub_dossiers,
        hub_devices: options.hub_devices,
    }
}

/// A headline figure: seconds, or what stopped it.
fn wall_text(side: &Side) -> String {
    match (side.wall_s, &side.note) {
        (Some(w), _) => seconds(w),
        (None, Some(note)) => note.clone(),
        (None, None) => "–".into(),
    }
}

/// How many times longer the peer took, as text and as a number. When the
/// peer was stopped at the time limit the number is only a lower bound: a
/// target above it can be neither met nor missed, so no number is given
/// (the text says "> ×…").
fn ratio(ours: &Side, peer: Option<&Side>) -> (String, Option<f64>) {
    match (ours.wall_s, peer.and_then(|p| p.wall_s)) {
        (Some(o), Some(p)) => (times(p, o), Some(p / o)),
        (Some(o), None)
            if peer
                .is_some_and(|p| p.note.as_deref().is_some_and(|n| n.starts_with("stopped"))) =>
        {
            let limit = peer::PEER_LIMIT.as_secs_f64();
            (format!("> {} (peer stopped)", times(limit, o)), None)
        }
        _ => ("–".into(), None),
    }
}

/// Workloads 1–3 at N (and, for the peer's sake, at 1,000 when N is larger).
fn sync_workloads(
    options: &Options,
    wanted: &BTreeSet<&str>,
    peer: bool,
    link: Option<&NetemLink>,
) -> anyhow::Result<Vec<Row>> {
    let mut sizes = vec![options.dossiers];
    if peer && options.dossiers > 1_000 && link.is_none() {
        sizes.push(1_000);
    }
    let mut rows = Vec::new();
    for n in sizes {
        eprintln!("  N = {}: preparing our hub", count(n as u64));
        let hub = ours::OurHub::prepare(n, link)?;
        let ours = ours::scenario(&hub)?;
        let theirs = if peer {
            Some(
                peer::scenario(&hub, &ours, link, options.peer_written_device).unwrap_or_else(
                    |e| {
                        eprintln!("    the peer failed: {e:#}");
                        peer::PeerScenario::failed(&e)
                    },
                ),
            )
        } else {
            None
        };
        drop(hub);
        let prefix = if link.is_some() { "7 (" } else { "" };
        let suffix = if link.is_some() { ")" } else { "" };
        let n_text = count(n as u64);
        let main_size = n == options.dossiers;
        if wanted.contains("1") {
            let peer_side = theirs.as_ref().map(|t| t.initial.clone());
            let (ratio_text, r) = ratio(&ours.initial, peer_side.as_ref());
            rows.push(Row {
                id: format!("{prefix}1{suffix}"),
                date: String::new(),
                load: [0.0; 3],
                workload: format!("initial sync, N = {n_text}"),
                ours_text: wall_text(&ours.initial),
                peer_text: peer_side.as_ref().map_or("–".into(), wall_text),
                ratio_text,
                target: if main_size && link.is_none() && peer_side.is_some() {
                    "≥ ×50 faster".into()
                } else {
                    "–".into()
                },
                met: if main_size && link.is_none() && peer_side.is_some() {
                    r.map(|r| r >= 50.0)
                } else {
                    None
                },
                ours: Some(ours.initial.clone()),
                peer: peer_side,
            });
        }
        if wanted.contains("2") {
            let peer_side = theirs.as_ref().map(|t| t.idle.clone());
            let (ratio_text, r) = ratio(&ours.idle, peer_side.as_ref());
            let rt = ours.idle.round_trips.unwrap_or(u64::MAX);
            let bytes = ours.idle.bytes().unwrap_or(u64::MAX);
            let small = rt < 5 && bytes < 20 * 1024;
            rows.push(Row {
                id: format!("{prefix}2{suffix}"),
                date: String::new(),
                load: [0.0; 3],
                workload: format!("idle reconnect, N = {n_text}"),
                ours_text: format!(
                    "{}, {} round trips, {}",
                    wall_text(&ours.idle),
                    rt,
                    results::bytes(bytes)
                ),
                peer_text: peer_side.as_ref().map_or("–".into(), |p| {
                    match (p.wall_s, p.messages, p.bytes()) {
                        (Some(_), Some(m), Some(b)) => format!(
                            "{}, {} messages, {}",
                            wall_text(p),
                            count(m),
                            results::bytes(b)
                        ),
                        _ => wall_text(p),
                    }
                }),
                ratio_text,
                target: if main_size && link.is_none() && peer_side.is_some() {
                    "≥ ×50 faster; < 5 round trips, < 20 KB".into()
                } else {
                    "< 5 round trips, < 20 KB".into()
                },
                met: if main_size && link.is_none() && peer_side.is_some() {
                    r.map(|r| small && r >= 50.0)
                } else {
                    Some(small)
                },
                ours: Some(ours.idle.clone()),
                peer: peer_side,
            });
        }
        if wanted.contains("3") {
            let peer_side = theirs.as_ref().map(|t| t.outage.clone());
            let (ratio_text, r) = ratio(&ours.outage, peer_side.as_ref());
            let total = ours.outage.bytes().unwrap_or(0);
            let of_floor = total as f64 / ours.floor_bytes.max(1) as f64;
            let byte_ratio = peer_side
                .as_ref()
                .and_then(Side::bytes)
                .map(|p| p as f64 / total.max(1) as f64);
            let met = main_size && link.is_none() && peer_side.is_some();
            rows.push(Row {
                id: format!("{prefix}3{suffix}"),
                date: String::new(),
                load: [0.0; 3],
                workload: format!(
                    "reconnect after an outage ({} changed at the hub, {} new on the device), N = {n_text}",
                    ours::CHANGED_AT_HUB,
                    ours::NEW_ON_DEVICE
                ),
                ours_text: format!(
                    "{}, {} ({:.2}× the floor of {}), {} round trips",
                    wall_text(&ours.outage),
                    results::bytes(total),
                    of_floor,
                    results::bytes(ours.floor_bytes),
                    ours.outage.round_trips.unwrap_or(0)
                ),
                peer_text: peer_side.as_ref().map_or("–".into(), |p| match (p.bytes(), p.messages) {
                    (Some(b), Some(m)) => format!("{}, {}, {} messages", wall_text(p), results::bytes(b), count(m)),
                    _ => wall_text(p),
                }),
                ratio_text: match byte_ratio {
                    Some(b) => format!("{ratio_text} time, ×{b:.1} bytes"),
                    None => ratio_text,
                },
                target: if met { "≥ ×10 faster, ≥ ×10 fewer bytes, ≤ 1.5× floor".into() } else { "≤ 1.5× floor".into() },
                met: if met {
                    match (r, byte_ratio) {
                        (Some(r), Some(b)) => Some(r >= 10.0 && b >= 10.0 && of_floor <= 1.5),
                        _ => None,
                    }
                } else {
                    Some(of_floor <= 1.5)
                },
                ours: Some(ours.outage.clone()),
                peer: peer_side,
            });
        }
    }
    Ok(rows)
}

/// Workload 7: workloads 1 and 3 across a link shaped like a rural uplink
/// (256 kbit/s, 300 ms round trip, 2 % loss), where namespaces are allowed.
fn shaped_link(options: &Options, peer: bool) -> anyhow::Result<Vec<Row>> {
    let shape = LinkShape {
        rate_kbit: Some(256),
        delay: std::time::Duration::from_millis(150),
        jitter: std::time::Duration::ZERO,
        loss_percent: 2.0,
    };
    let link = match NetemLink::create(&shape) {
        Ok(link) => link,
        Err(why) => {
            return Ok(vec![Row {
                id: "7".into(),
                date: String::new(),
                load: [0.0; 3],
                workload: "over a shaped link".into(),
                ours_text: why.to_string(),
                peer_text: "–".into(),
                ratio_text: "–".into(),
                target: "–".into(),
                met: None,
                ours: None,
                peer: None,
            }]);
        }
    };
    eprintln!("  link shaped by {}", link.shaping());
    let link_options = Options {
        dossiers: options.link_dossiers,
        ..options.clone()
    };
    let wanted: BTreeSet<&str> = ["1", "3"].into_iter().collect();
    let mut rows = sync_workloads(&link_options, &wanted, peer, Some(&link))?;
    for row in &mut rows {
        row.workload = format!("{} over {}", row.workload, link.shaping());
    }
    Ok(rows)
}
