//! The peer: the published automerge-repo sync server, run with Node from
//! `bench/peer/node_modules`, and automerge-repo clients (`bench/peer/peer.mjs`)
//! holding the same dossiers as Automerge documents.
//!
//! The server's storage is filled offline with the dossiers ours generated
//! (`peer.mjs build`), as if devices had pushed them; then devices sync with
//! it over WebSocket exactly as automerge-repo does. A peer command that has
//! not finished after [`PEER_LIMIT`] is stopped, and that is its result.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use motcua_tests::hub::TempDir;
use motcua_tests::netem::{NetemLink, Side as LinkSide};

use crate::measure::{self, Run};
use crate::ours::{self, Scenario};
use crate::results::Side;

/// How long the peer may take over one workload.
pub const PEER_LIMIT: Duration = Duration::from_secs(600);

/// A peer process that grows past this is stopped (the machine is shared).
pub const PEER_MEMORY_CAP_KIB: u64 = 12 * 1024 * 1024;

/// Node's heap may grow this far, so that the peer is not cut short by
/// Node's default limit before our cap.
const NODE_HEAP_MIB: &str = "--max-old-space-size=12288";

pub fn peer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peer")
}

/// Whether `scripts/bench` installed the peer.
pub fn installed() -> bool {
    peer_dir()
        .join("node_modules/@automerge/automerge-repo-sync-server/src/index.js")
        .exists()
}

fn node(wrapper: &[String]) -> Command {
    let mut command = match wrapper.split_first() {
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg("node");
            c
        }
        None => Command::new("node"),
    };
    command.arg(NODE_HEAP_MIB).current_dir(peer_dir());
    // automerge-repo's file storage writes many documents at once: give
    // Node as many open files as the system allows, not the default 1,024.
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(|| {
            let mut limit: libc::rlimit = std::mem::zeroed();
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
                // Root may raise the ceiling too; others get theirs.
                let raised = libc::rlimit {
                    rlim_cur: 1 << 20,
                    rlim_max: limit.rlim_max.max(1 << 20),
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 {
                    limit.rlim_cur = limit.rlim_max;
                    libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
                }
            }
            Ok(())
        });
    }
    command
}

/// `node peer.mjs <args>`.
pub fn peer(wrapper: &[String], args: &[&str]) -> Command {
    let mut command = node(wrapper);
    command.arg("peer.mjs").args(args);
    command
}

fn path(p: &Path) -> String {
    p.to_string_lossy().to_string()
}

/// The automerge-repo sync server, running; stopped when dropped.
pub struct PeerServer {
    child: Child,
    pub url: String,
}

impl PeerServer {
    pub fn start(data: &Path, wrapper: &[String], host: &str) -> anyhow::Result<PeerServer> {
        let port = free_port()?;
        let mut child = node(wrapper)
            .arg("node_modules/@automerge/automerge-repo-sync-server/src/index.js")
            .env("PORT", port.to_string())
            .env("DATA_DIR", data)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the automerge-repo sync server")?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut reader = BufReader::new(stdout);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                bail!("the automerge-repo sync server exited before listening");
            }
            if line.contains("Listening on port") {
                break;
            }
            if Instant::now() > deadline {
                bail!("the automerge-repo sync server did not start listening in time");
            }
        }
        std::thread::spawn(move || for _ in reader.lines() {});
        Ok(PeerServer {
            child,
            url: format!("ws://{host}:{port}"),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for PeerServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on now (on loopback; inside a fresh namespace every
/// port is free).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Runs a peer command with the time limit and the memory guard.
pub fn run_limited(mut command: Command) -> anyhow::Result<Run> {
    measure::run(&mut command, Some(PEER_LIMIT))
}

/// Fills a server storage directory with the dossiers of `export` (JSON
/// lines) as Automerge documents, writing their URLs to `manifest`.
fn build_server(export: &Path, server_dir: &Path, manifest: &str) -> anyhow::Result<()> {
    eprintln!("    peer: building the dossiers as Automerge documents");
    measure::run(
        &mut peer(
            &[],
            &[
                "build",
                "--storage",
                &path(server_dir),
                "--dossiers",
                &path(export),
                "--manifest",
                manifest,
            ],
        ),
        None,
    )?;
    Ok(())
}

/// The figures of one `peer.mjs sync`.
fn side_of(run: &Run, what: &str) -> anyhow::Result<Side> {
    let mut side = Side::default();
    side.rss("device", run.peak_rss_kib);
    if run.timed_out {
        let reached = run
            .progress
            .map(|(done, total)| format!(" ({done} of {total} documents in sync)"))
            .unwrap_or_default();
        side.note = Some(format!(
            "stopped after {} s without finishing {what}{reached}",
            PEER_LIMIT.as_secs()
        ));
        return Ok(side);
    }
    let report = run.json()?;
    side.wall_s = Some(run.wall_s);
    side.bytes_sent = report["bytes_sent"].as_u64();
    side.bytes_received = report["bytes_received"].as_u64();
    side.messages = Some(
        report["messages_sent"].as_u64().unwrap_or(0)
            + report["messages_received"].as_u64().unwrap_or(0),
    );
    side.set("documents", report["docs"].clone());
    Ok(side)
}

/// The peer's figures for workloads 1, 2 and 3 at one N.
pub struct PeerScenario {
    pub initial: Side,
    pub idle: Side,
    pub outage: Side,
}

impl PeerScenario {
    /// The peer could not be run at all: say why on every row.
    pub fn failed(error: &anyhow::Error) -> PeerScenario {
        let side = || Side::note(format!("failed: {}", last_line(error)));
        PeerScenario {
            initial: side(),
            idle: side(),
            outage: side(),
        }
    }
}

/// Workloads 1–3 on the peer, with the dossiers and outage data ours used.
///
/// Workloads 2 and 3 need a device that holds every dossier. When the
/// initial sync of (1) does not finish in time (at N = 10,000 it does not),
/// or when `written_device` asks for it, that device is a copy of the
/// server's storage made before the server started: the same documents as
/// files automerge-repo's file storage reads, under a storage id of its own
/// and without saved sync states (a device that synced through the server
/// behaves the same against a server that has just started: the same
/// messages and bytes, measured at 300 dossiers).
pub fn scenario(
    ours: &ours::OurHub,
    outage: &Scenario,
    link: Option<&NetemLink>,
    written_device: bool,
) -> anyhow::Result<PeerScenario> {
    let work = TempDir::new("peer");
    let (near, far, host) = match link {
        Some(link) => (
            link.wrapper(LinkSide::A),
            link.wrapper(LinkSide::B),
            link.addr(LinkSide::A).to_string(),
        ),
        None => (Vec::new(), Vec::new(), "127.0.0.1".to_string()),
    };
    let server_dir = work.path().join("server");
    let manifest = path(&work.path().join("manifest.json"));
    build_server(&ours.dossiers, &server_dir, &manifest)?;
    let written = path(&work.path().join("device-written"));
    measure::run(
        &mut peer(
            &[],
            &["clone", "--from", &path(&server_dir), "--to", &written],
        ),
        None,
    )?;
    let server = PeerServer::start(&server_dir, &near, &host)?;
    let guard = measure::memory_guard(server.pid(), PEER_MEMORY_CAP_KIB);
    let synced = path(&work.path().join("device"));
    let measured_sync =
        |device: &str, expect: Option<&str>, what: &str| -> anyhow::Result<(Side, bool)> {
            measure::reset_peak(server.pid());
            let mut args = vec![
                "sync",
                "--server",
                &server.url,
                "--storage",
                device,
                "--manifest",
                &manifest,
                "--unit",
                ours::UNIT,
            ];
            if let Some(expect) = expect {
                args.extend(["--expect", expect]);
            }
            let run = run_limited(peer(&far, &args))?;
            let mut side = side_of(&run, what)?;
            if let Ok(peak) = measure::peak_rss_kib(server.pid()) {
                side.rss("server", peak);
            }
            if guard.load(std::sync::atomic::Ordering::SeqCst) {
                side.note = Some(format!(
                    "the server was stopped past {} of memory",
                    crate::results::mib(PEER_MEMORY_CAP_KIB)
                ));
            }
            Ok((side, !run.timed_out))
        };
    eprintln!("    peer: initial sync");
    let (initial, finished) = measured_sync(&synced, None, "the initial sync")?;
    // A device whose storage was written syncs well the first time and may
    // then leave a document or two never reported in sync (automerge-repo
    // 1.2): the idle reconnect and the outage each get a copy of their own,
    // synced once.
    let (idle_device, device, written_note) = if finished && !written_device {
        (synced.clone(), synced, None)
    } else {
        eprintln!("    peer: a device whose storage was written with every dossier");
        let why = if finished {
            "asked for"
        } else {
            "the initial sync of (1) did not finish"
        };
        let outage_device = path(&work.path().join("device-outage"));
        measure::run(
            &mut peer(&[], &["clone", "--from", &written, "--to", &outage_device]),
            None,
        )?;
        (
            written,
            outage_device,
            Some(format!(
                "device storage written directly with every dossier ({why})"
            )),
        )
    };
    let noted = |mut side: Side| {
        if let Some(note) = &written_note {
            side.set("device storage", note.clone());
        }
        side
    };
    // Over the shaped link only workloads 1 and 3 are asked for.
    let idle = if link.is_some() {
        Side::note("not run over the link")
    } else {
        eprintln!("    peer: idle reconnect");
        noted(measured_sync(&idle_device, None, "the idle reconnect")?.0)
    };

    eprintln!("    peer: the outage's changes");
    let other = path(&work.path().join("other"));
    let other_heads = path(&work.path().join("other-heads.json"));
    measure::run(
        &mut peer(&[], &["clone", "--from", &device, "--to", &other]),
        None,
    )?;
    let changed = run_limited(peer(
        &near,
        &[
            "change",
            "--server",
            &server.url,
            "--storage",
            &other,
            "--manifest",
            &manifest,
            "--dossiers",
            &path(&outage.changed),
            "--heads",
            &other_heads,
        ],
    ))?;
    if changed.timed_out {
        return Ok(PeerScenario {
            initial,
            idle,
            outage: Side::note("not run: the other device could not sync its changes in time"),
        });
    }
    measure::run(
        &mut peer(
            &[],
            &[
                "receive",
                "--storage",
                &device,
                "--manifest",
                &manifest,
                "--dossiers",
                &path(&outage.new),
                "--heads",
                &path(&work.path().join("device-heads.json")),
            ],
        ),
        None,
    )?;
    eprintln!("    peer: reconnect after the outage");
    let (outage_side, _) = measured_sync(&device, Some(&other_heads), "the reconnect")?;
    let mut outage_side = noted(outage_side);
    if let Some(total) = outage_side.bytes() {
        outage_side.set(
            "bytes / floor",
            format!("{:.2}", total as f64 / outage.floor_bytes as f64),
        );
    }
    Ok(PeerScenario {
        initial,
        idle,
        outage: outage_side,
    })
}

/// Workload 5 on the peer: the server stores every dossier of `export`
/// (one unit per device), then `devices` clients, spread over a few Node
/// processes, each sync their unit and stay connected a while; the server's
/// peak memory over all of it.
pub fn hub_memory(export: &Path, devices: usize) -> anyhow::Result<Side> {
    let work = TempDir::new("peer-load");
    let server_dir = work.path().join("server");
    let manifest = path(&work.path().join("manifest.json"));
    build_server(export, &server_dir, &manifest)?;
    let units: Vec<String> = {
        let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&manifest)?)?;
        m["indexes"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let server = PeerServer::start(&server_dir, &[], "127.0.0.1")?;
    let guard = measure::memory_guard(server.pid(), PEER_MEMORY_CAP_KIB);
    let processes = devices.clamp(1, 4);
    let per = units.len().div_ceil(processes).max(1);
    eprintln!(
        "    peer: {} clients in {processes} Node processes",
        units.len()
    );
    let started = Instant::now();
    let runs: Vec<anyhow::Result<Run>> = std::thread::scope(|scope| {
        let handles: Vec<_> = units
            .chunks(per)
            .map(|chunk| {
                let list = chunk.join(",");
                let (url, manifest) = (server.url.clone(), manifest.clone());
                scope.spawn(move || {
                    run_limited(peer(
                        &[],
                        &[
                            "devices",
                            "--server",
                            &url,
                            "--manifest",
                            &manifest,
                            "--units",
                            &list,
                            "--hold",
                            "10",
                        ],
                    ))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a client thread panicked")))
            })
            .collect()
    });
    let mut side = Side {
        wall_s: Some(started.elapsed().as_secs_f64()),
        ..Side::default()
    };
    if let Ok(peak) = measure::peak_rss_kib(server.pid()) {
        side.rss("server", peak);
    }
    let mut clients_peak = 0;
    let mut stopped = 0;
    for run in &runs {
        match run {
            Ok(run) => {
                clients_peak = clients_peak.max(run.peak_rss_kib);
                if run.timed_out {
                    stopped += 1;
                }
            }
            Err(e) => side.note = Some(format!("a client process failed: {}", last_line(e))),
        }
    }
    side.rss("largest client process", clients_peak);
    if stopped > 0 {
        side.wall_s = None;
        side.note = Some(format!(
            "stopped after {} s: {stopped} of {} client processes had not finished syncing",
            PEER_LIMIT.as_secs(),
            runs.len()
        ));
    }
    if guard.load(std::sync::atomic::Ordering::SeqCst) {
        side.note = Some(format!(
            "the server was stopped past {} of memory",
            crate::results::mib(PEER_MEMORY_CAP_KIB)
        ));
    }
    Ok(side)
}

/// The last line of an error's text (the reason; the rest is the command).
fn last_line(error: &anyhow::Error) -> String {
    let text = format!("{error:#}");
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_string()
}
