//! The load generator: many devices in one process, each a real WebSocket
//! connection to a real hub speaking our protocol through client-core's
//! device engine, with its replica in memory. Hundreds fit on two cores
//! because a device is a small tokio task that sleeps between changes and
//! keeps only a few documents loaded.
//!
//! - Workload 4, [`live_load`]: devices in communes of ten record a change
//!   every few seconds; a leader's device at the province receives them all.
//!   It reports the changes per second the hub acknowledged and how long a
//!   change took from the counter to the leader's device (p50, p99).
//! - Workload 5, [`hub_memory`]: a hub filled with a hundred thousand
//!   dossiers (`seed-dossiers`), a thousand devices, one a commune, each
//!   syncing its commune's and staying connected, then all reconnecting at
//!   once; the hub's peak memory over all of it. The peer's server holds the
//!   same dossiers and its clients do the same.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use automerge::{ActorId, ChangeHash};
use client_core::calendar::WorkingCalendar;
use client_core::catalogue::Catalogue;
use client_core::codes::{CodeIssuer, CodeSlot};
use client_core::ids::{DocId, UnitCode};
use client_core::sync::device::{DeviceConfig, DeviceEvent, DeviceSync};
use client_core::sync::replica::{DeviceReplica, MemoryStorage, SyncReplica};
use client_core::units::{Unit, UnitLevel};
use futures_util::StreamExt;
use motcua_tests::hub::TempDir;
use motcua_tests::{HubOptions, HubProcess};
use server::activity::{Activity, catalogue_and_calendar};
use server::hub::seed::{SeedPlan, seed_dossiers};
use server::link::{self, Endpoint};
use server::store::Store;
use server::store::identity::DeviceKind;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::measure;
use crate::results::{Row, Side, count, mib, seconds};

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub devices: usize,
    pub seconds: u64,
    pub hub_dossiers: usize,
    pub hub_devices: usize,
}

/// The province above every commune of the load.
const PROVINCE: &str = "T01";

/// A device as the hub enrolled it.
struct Enrolled {
    token: String,
    unit: UnitCode,
    slots: Vec<u8>,
}

/// A hub data directory with a province of `communes` communes and the
/// given devices (commune index, or `None` for the province), enrolled.
fn prepare_hub(
    communes: usize,
    devices: &[Option<usize>],
) -> anyhow::Result<(TempDir, Vec<Enrolled>)> {
    let dir = TempDir::new("load-hub");
    let store = Store::open(dir.path())?;
    let province = UnitCode::parse(PROVINCE)?;
    let mut units = vec![Unit {
        code: province.clone(),
        name: "Tỉnh Sơn Lâm".into(),
        level: UnitLevel::Province,
        parent: None,
        effective_from: None,
        effective_to: None,
    }];
    for i in 0..communes {
        units.push(Unit {
            code: commune(i),
            name: format!("Xã số {}", i + 1),
            level: UnitLevel::Commune,
            parent: Some(province.clone()),
            effective_from: None,
            effective_to: None,
        });
    }
    store.upsert_units(&units)?;
    server::hub::publish::publish_all(&store)?;
    let mut enrolled = Vec::new();
    for (i, at) in devices.iter().enumerate() {
        let unit = at.map_or_else(|| province.clone(), commune);
        let code = store.create_enrolment(
            &unit,
            &format!("thiết bị {i}"),
            1,
            DeviceKind::Device,
            "bench",
        )?;
        let device = store.enrol(&code.code, &[])?;
        enrolled.push(Enrolled {
            token: device.token,
            unit: device.unit,
            slots: device.code_slots,
        });
    }
    Ok((dir, enrolled))
}

fn commune(i: usize) -> UnitCode {
    UnitCode::parse(&format!("X{:04}", i + 1)).expect("commune codes are valid")
}

/// What every device shares with the orchestrator.
#[derive(Default)]
struct Shared {
    /// Devices in sync in the current phase.
    in_sync: AtomicU64,
    failed: AtomicU64,
    changes: AtomicU64,
    acknowledged: AtomicU64,
    bytes: AtomicU64,
    frames: AtomicU64,
    /// Counting acknowledgements and latencies only inside the window.
    measuring: std::sync::atomic::AtomicBool,
    /// Local changes not yet seen at the leader's device: document → (head,
    /// when it was made), oldest first.
    unseen: std::sync::Mutex<HashMap<DocId, VecDeque<(ChangeHash, Instant)>>>,
    latencies: std::sync::Mutex<Vec<Duration>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Records a change every few seconds.
    Writer,
    /// The leader's device: receives everything, measures latency.
    Leader,
    /// Connected, doing nothing of its own.
    Idle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Phase {
    generation: u64,
    stop: bool,
}

struct SimDevice {
    token: String,
    replica: DeviceReplica<MemoryStorage>,
    activity: Activity,
    rng: server::activity::Rng,
    role: Role,
    /// This device's own dossiers that may still move.
    own: Vec<DocId>,
}

impl SimDevice {
    fn new(enrolled: Enrolled, role: Role, seed: u64) -> anyhow::Result<SimDevice> {
        // Every device works with the same built-in catalogue and calendar,
        // made once.
        static KNOWLEDGE: std::sync::OnceLock<(Catalogue, WorkingCalendar)> =
            std::sync::OnceLock::new();
        let mut replica = DeviceReplica::open(MemoryStorage::new(), ActorId::random())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if KNOWLEDGE.get().is_none() {
            let _ = KNOWLEDGE.set(catalogue_and_calendar(&mut replica)?);
        }
        let (catalogue, calendar) = KNOWLEDGE.get().cloned().context("catalogue")?;
        replica.set_cache_limit(if role == Role::Leader { 1024 } else { 4 });
        let slots = enrolled
            .slots
            .iter()
            .map(|s| CodeSlot::new(*s))
            .collect::<Result<Vec<_>, _>>()?;
        let issuer = CodeIssuer::new(enrolled.unit.clone(), slots)?;
        let activity = Activity::using(
            catalogue, calendar, &replica, issuer, "bench", "canbo", seed,
        );
        Ok(SimDevice {
            token: enrolled.token,
            replica,
            activity,
            rng: server::activity::Rng::new(seed ^ 0x5eed),
            role,
            own: Vec::new(),
        })
    }

    /// Receives `n` dossiers offline, each moved on by 0–8 stages (about
    /// five stages a dossier in all).
    fn receive_offline(&mut self, n: usize, now: i64) -> anyhow::Result<()> {
        for i in 0..n {
            let at = now - (self.rng.below(60) as i64) * 86_400_000 - i as i64 * 1000;
            let stages = self.rng.below(9);
            let id = self
                .activity
                .receive_worked(&mut self.replica, at, stages)?;
            self.own.push(id);
        }
        Ok(())
    }

    /// One change at the counter: usually a stage on one of its open
    /// dossiers, sometimes a new dossier. Returns the document changed.
    fn change(&mut self) -> anyhow::Result<DocId> {
        let now = chrono::Utc::now().timestamp_millis();
        while !self.own.is_empty() && self.rng.below(5) != 0 {
            let i = self.rng.below(self.own.len());
            let id = self.own[i];
            if self
                .activity
                .advance(&mut self.replica, &id, now)?
                .is_some()
            {
                return Ok(id);
            }
            self.own.swap_remove(i);
        }
        let id = self.activity.receive(&mut self.replica, now)?;
        self.own.push(id);
        Ok(id)
    }
}

/// Connects, syncs, and runs the device's role until the phase says stop;
/// a new phase generation makes it disconnect and reconnect.
async fn run_device(
    endpoint: Endpoint,
    mut device: SimDevice,
    shared: Arc<Shared>,
    mut phase: watch::Receiver<Phase>,
    interval: Duration,
) -> anyhow::Result<SimDevice> {
    let mut generation = phase.borrow().generation;
    loop {
        let mut socket = link::connect(&endpoint).await?;
        let mut engine = DeviceSync::new(DeviceConfig {
            token: device.token.clone(),
            actors: vec![device.replica.actor().to_bytes().to_vec()],
            agent: "motcua-bench".into(),
        });
        engine
            .start(&mut device.replica)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut counted = false;
        let jitter = |rng: &mut server::activity::Rng| {
            interval.mul_f64(0.5 + rng.below(1000) as f64 / 1000.0)
        };
        let mut next_change = tokio::time::Instant::now() + jitter(&mut device.rng);
        let reconnect = loop {
            link::send_frames(&mut socket, &mut engine).await?;
            while let Some(event) = engine.poll_event() {
                match event {
                    DeviceEvent::Acknowledged(docs) if shared.measuring.load(Ordering::Relaxed) => {
                        shared
                            .acknowledged
                            .fetch_add(docs.len() as u64, Ordering::Relaxed);
                    }
                    DeviceEvent::Received(docs) if device.role == Role::Leader => {
                        seen_at_leader(&shared, &mut device.replica, &docs)?;
                    }
                    DeviceEvent::Refused { doc, message, .. } => {
                        anyhow::bail!("the hub refused {doc}: {message}")
                    }
                    _ => {}
                }
            }
            if engine.is_in_sync() && !counted {
                counted = true;
                shared.in_sync.fetch_add(1, Ordering::SeqCst);
            }
            let writing = device.role == Role::Writer && engine.is_in_sync();
            tokio::select! {
                incoming = socket.next() => match incoming {
                    Some(Ok(WsMessage::Binary(frame))) => {
                        engine.handle_frame(&frame, &mut device.replica).map_err(|e| anyhow::anyhow!("{e}"))?;
                    }
                    Some(Ok(WsMessage::Close(_))) | None => anyhow::bail!("the hub closed the connection"),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e).context("the connection failed"),
                },
                _ = tokio::time::sleep_until(next_change), if writing => {
                    let doc = device.change()?;
                    let heads = device.replica.heads(&doc).map_err(|e| anyhow::anyhow!("{e}"))?;
                    if shared.measuring.load(Ordering::Relaxed) {
                        shared.changes.fetch_add(1, Ordering::Relaxed);
                        let mut unseen = shared.unseen.lock().unwrap_or_else(|p| p.into_inner());
                        let queue = unseen.entry(doc).or_default();
                        for head in heads {
                            queue.push_back((head, Instant::now()));
                        }
                    }
                    engine.local_changes(&mut device.replica).map_err(|e| anyhow::anyhow!("{e}"))?;
                    next_change = tokio::time::Instant::now() + jitter(&mut device.rng);
                },
                changed = phase.changed() => {
                    let now = *phase.borrow();
                    if changed.is_err() || now.stop {
                        break false;
                    }
                    if now.generation != generation {
                        generation = now.generation;
                        break true;
                    }
                }
            }
        };
        let stats = engine.stats();
        shared
            .bytes
            .fetch_add(stats.bytes_sent + stats.bytes_received, Ordering::Relaxed);
        shared
            .frames
            .fetch_add(stats.frames_sent + stats.frames_received, Ordering::Relaxed);
        let _ = socket.close(None).await;
        engine.disconnected();
        if !reconnect {
            return Ok(device);
        }
    }
}

/// The leader's device stored changes: each local change now among its
/// heads (and every earlier one of that document) has arrived.
fn seen_at_leader(
    shared: &Shared,
    replica: &mut DeviceReplica<MemoryStorage>,
    docs: &[DocId],
) -> anyhow::Result<()> {
    let now = Instant::now();
    let mut unseen = shared.unseen.lock().unwrap_or_else(|p| p.into_inner());
    let mut latencies = shared.latencies.lock().unwrap_or_else(|p| p.into_inner());
    for doc in docs {
        let Some(queue) = unseen.get_mut(doc) else {
            continue;
        };
        let heads = replica.heads(doc).map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(last) = queue.iter().rposition(|(h, _)| heads.contains(h)) {
            for (_, made) in queue.drain(..=last) {
                latencies.push(now - made);
            }
        }
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Some(sorted[i.min(sorted.len() - 1)])
}

/// A running load: the hub, the devices' tasks, and what they share.
struct Load {
    hub: HubProcess,
    runtime: tokio::runtime::Runtime,
    shared: Arc<Shared>,
    phase: watch::Sender<Phase>,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<SimDevice>>>,
}

impl Load {
    fn start(dir: TempDir, devices: Vec<SimDevice>, interval: Duration) -> anyhow::Result<Load> {
        let hub = HubProcess::start_in(dir, HubOptions::default())?;
        let endpoint = Endpoint::parse(&hub.url, None)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let shared = Arc::new(Shared::default());
        let (phase, watcher) = watch::channel(Phase {
            generation: 0,
            stop: false,
        });
        let tasks = devices
            .into_iter()
            .enumerate()
            .map(|(i, device)| {
                let (endpoint, shared, watcher) =
                    (endpoint.clone(), shared.clone(), watcher.clone());
                runtime.spawn(async move {
                    // Devices come online over a few seconds, not in one instant.
                    tokio::time::sleep(Duration::from_millis((i as u64 * 7) % 5000)).await;
                    let result =
                        run_device(endpoint, device, shared.clone(), watcher, interval).await;
                    if let Err(e) = &result
                        && shared.failed.fetch_add(1, Ordering::SeqCst) < 3
                    {
                        eprintln!("    a device failed: {e:#}");
                    }
                    result
                })
            })
            .collect();
        Ok(Load {
            hub,
            runtime,
            shared,
            phase,
            tasks,
        })
    }

    /// Waits until every device is in sync (or failed), up to `limit`.
    fn wait_in_sync(&self, limit: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let total = self.tasks.len() as u64;
        loop {
            let done = self.shared.in_sync.load(Ordering::SeqCst)
                + self.shared.failed.load(Ordering::SeqCst);
            if done >= total {
                return Ok(started.elapsed());
            }
            if started.elapsed() > limit {
                anyhow::bail!(
                    "only {done} of {total} devices got in sync in {}",
                    seconds(limit.as_secs_f64())
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn hub_pid(&self) -> anyhow::Result<u32> {
        self.hub.pid().context("the hub is not running")
    }

    fn reconnect_all(&self) {
        self.shared.in_sync.store(0, Ordering::SeqCst);
        self.phase.send_modify(|p| p.generation += 1);
    }

    fn stop(self) -> anyhow::Result<(HubProcess, Vec<SimDevice>)> {
        self.phase.send_modify(|p| p.stop = true);
        let mut devices = Vec::new();
        for task in self.tasks {
            if let Ok(Ok(device)) = self.runtime.block_on(task) {
                devices.push(device);
            }
        }
        self.runtime.shutdown_timeout(Duration::from_secs(5));
        Ok((self.hub, devices))
    }
}

/// CPU seconds a process has used (user + system).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ") ".
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or(Vec::new(), |(_, f)| f.split(' ').collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 (11 and 12 after the name).
    (ticks(11) + ticks(12)) / 100.0
}

/// Workload 4.
pub fn live_load(options: &LoadOptions) -> anyhow::Result<Vec<Row>> {
    let writers = options.devices.max(1);
    let communes = writers.div_ceil(10);
    let mut placement: Vec<Option<usize>> = (0..writers).map(|i| Some(i % communes)).collect();
    placement.push(None);
    let (dir, enrolled) = prepare_hub(communes, &placement)?;
    let now = chrono::Utc::now().timestamp_millis();
    let mut devices = Vec::new();
    for (i, e) in enrolled.into_iter().enumerate() {
        let role = if i == writers {
            Role::Leader
        } else {
            Role::Writer
        };
        let mut device = SimDevice::new(e, role, i as u64 + 1)?;
        if role == Role::Writer {
            device.receive_offline(3, now)?;
        }
        devices.push(device);
    }
    eprintln!(
        "    {writers} devices in {communes} communes and a leader's device; a change every 2.5–7.5 s each"
    );
    let load = Load::start(dir, devices, Duration::from_secs(5))?;
    let connected_in = load.wait_in_sync(Duration::from_secs(300))?;
    let pid = load.hub_pid()?;
    measure::reset_peak(pid);
    let cpu_before = cpu_seconds(pid);
    load.shared.measuring.store(true, Ordering::SeqCst);
    let window = Duration::from_secs(options.seconds.max(5));
    std::thread::sleep(window);
    load.shared.measuring.store(false, Ordering::SeqCst);
    // Changes still on their way get a moment to arrive.
    std::thread::sleep(Duration::from_secs(2));
    let hub_cpu = cpu_seconds(pid) - cpu_before;
    let hub_peak = measure::peak_rss_kib(pid)?;
    let shared = load.shared.clone();
    let (_hub, _devices) = load.stop()?;
    let generator_peak = measure::peak_rss_kib(std::process::id())?;

    let acknowledged = shared.acknowledged.load(Ordering::SeqCst);
    let changes = shared.changes.load(Ordering::SeqCst);
    let per_second = acknowledged as f64 / window.as_secs_f64();
    let mut latencies = shared
        .latencies
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    latencies.sort();
    let unseen: usize = shared
        .unseen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .map(VecDeque::len)
        .sum();
    let p50 = percentile(&latencies, 0.5);
    let p99 = percentile(&latencies, 0.99);
    let ms = |d: Option<Duration>| {
        d.map_or("–".into(), |d| {
            format!("{:.0} ms", d.as_secs_f64() * 1000.0)
        })
    };
    let mut side = Side {
        wall_s: Some(window.as_secs_f64()),
        bytes_sent: None,
        bytes_received: None,
        messages: Some(shared.frames.load(Ordering::SeqCst)),
        ..Side::default()
    };
    side.rss("hub", hub_peak);
    side.rss("load generator (all devices)", generator_peak);
    side.set("changes made", changes);
    side.set("changes acknowledged", acknowledged);
    side.set("changes/s acknowledged", format!("{per_second:.1}"));
    side.set("p50 to the leader", ms(p50));
    side.set("p99 to the leader", ms(p99));
    side.set("changes measured at the leader", latencies.len() as u64);
    side.set("not yet at the leader when stopped", unseen as u64);
    side.set(
        "hub CPU",
        format!("{:.0} %", hub_cpu / window.as_secs_f64() * 100.0),
    );
    side.set(
        "all devices in sync after",
        seconds(connected_in.as_secs_f64()),
    );
    side.set("devices failed", shared.failed.load(Ordering::SeqCst));
    side.set(
        "all sync traffic",
        crate::results::bytes(shared.bytes.load(Ordering::SeqCst)),
    );
    Ok(vec![Row {
        id: "4".into(),
        date: String::new(),
        load: [0.0; 3],
        workload: format!(
            "live load, {} devices over loopback, a change every ~5 s each",
            count(writers as u64)
        ),
        ours_text: format!(
            "{per_second:.1} changes/s acknowledged; to the leader p50 {}, p99 {}",
            ms(p50),
            ms(p99)
        ),
        peer_text: "not measured (ours only)".into(),
        ratio_text: "–".into(),
        target: "–".into(),
        met: None,
        ours: Some(side),
        peer: None,
    }])
}

/// Workload 5.
pub fn hub_memory(options: &LoadOptions, peer: bool) -> anyhow::Result<Vec<Row>> {
    let mut rows = vec![hub_memory_at(
        options.hub_dossiers,
        options.hub_devices,
        peer,
        true,
    )?];
    if peer && options.hub_dossiers > 1_000 {
        // The peer's figure at N = 1,000, beside a run it may not finish.
        let devices = (options.hub_devices * 1_000 / options.hub_dossiers).max(1);
        rows.push(hub_memory_at(1_000, devices, peer, false)?);
    }
    Ok(rows)
}

fn hub_memory_at(dossiers: usize, devices: usize, peer: bool, main: bool) -> anyhow::Result<Row> {
    let devices = devices.max(1);
    let placement: Vec<Option<usize>> = (0..devices).map(Some).collect();
    eprintln!(
        "    {} dossiers in {} communes, a device in each",
        count(dossiers as u64),
        count(devices as u64),
    );
    let (dir, enrolled) = prepare_hub(devices, &placement)?;
    // The hub is filled through its own commit path, as the communes'
    // counters would have pushed their dossiers over the past year: far
    // sooner than a thousand devices pushing a hundred thousand dossiers.
    let export = dir.path().join("dossiers.jsonl");
    let made = Instant::now();
    {
        let store = Store::open(dir.path())?;
        let plan = SeedPlan::new(dossiers, (0..devices).map(commune).collect());
        let mut file = std::io::BufWriter::new(std::fs::File::create(&export)?);
        seed_dossiers(&store, &plan, Some(&mut file))?;
        std::io::Write::flush(&mut file)?;
    }
    let seeded_in = made.elapsed();
    eprintln!(
        "    hub filled in {}; every device connects and syncs its commune",
        seconds(seeded_in.as_secs_f64())
    );
    let sims = enrolled
        .into_iter()
        .enumerate()
        .map(|(i, e)| SimDevice::new(e, Role::Idle, 1_000 + i as u64))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let load = Load::start(dir, sims, Duration::from_secs(3600))?;
    let synced_in = load.wait_in_sync(Duration::from_secs(1800))?;
    let pid = load.hub_pid()?;
    std::thread::sleep(Duration::from_secs(5));
    let connected_rss = measure::rss_kib(pid)?;
    eprintln!(
        "    all in sync in {}; every device reconnects at once",
        seconds(synced_in.as_secs_f64())
    );
    load.reconnect_all();
    let reconnected_in = load.wait_in_sync(Duration::from_secs(600))?;
    std::thread::sleep(Duration::from_secs(2));
    let hub_peak = measure::peak_rss_kib(pid)?;
    let stored = Store::open(load.hub.data.path())?.dossier_count()?;
    let failed = load.shared.failed.load(Ordering::SeqCst);
    let (hub, sims) = load.stop()?;
    let received: usize = sims.iter().map(|d| d.replica.dossiers().count()).sum();
    drop(sims);

    let mut side = Side::default();
    side.rss("hub", hub_peak);
    side.set("dossiers stored", stored);
    side.set("hub memory with every device connected", mib(connected_rss));
    side.set(
        "hub filled (seed-dossiers) in",
        seconds(seeded_in.as_secs_f64()),
    );
    side.set(
        "every device's first sync done in",
        seconds(synced_in.as_secs_f64()),
    );
    side.set("dossiers the devices received", received as u64);
    side.set("all reconnected in", seconds(reconnected_in.as_secs_f64()));
    side.set("devices failed", failed);
    let theirs = if peer {
        Some(
            crate::peer::hub_memory(&export, devices).unwrap_or_else(|e| {
                eprintln!("    the peer failed: {e:#}");
                Side::note(
                    format!("failed: {e:#}")
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .to_string(),
                )
            }),
        )
    } else {
        None
    };
    drop(hub);
    let peer_text = theirs.as_ref().map_or("–".into(), |p| {
        match p.peak_rss_kib.iter().find(|(n, _)| n == "server") {
            Some((_, kib)) => match &p.note {
                Some(note) => format!("{} ({note})", mib(*kib)),
                None => mib(*kib),
            },
            None => p.note.clone().unwrap_or_else(|| "–".into()),
        }
    });
    let ratio_text = theirs
        .as_ref()
        .and_then(|p| p.peak_rss_kib.iter().find(|(n, _)| n == "server"))
        .map_or("–".into(), |(_, kib)| {
            crate::results::times(*kib as f64, hub_peak as f64)
        });
    Ok(Row {
        id: "5".into(),
        date: String::new(),
        load: [0.0; 3],
        workload: format!(
            "hub peak memory, {} dossiers stored, {} devices connected",
            count(stored as u64),
            count(devices as u64)
        ),
        ours_text: format!("{} peak", mib(hub_peak)),
        peer_text,
        ratio_text,
        target: if main { "< 1 GiB".into() } else { "–".into() },
        met: main.then_some(hub_peak < 1024 * 1024),
        ours: Some(side),
        peer: theirs,
    })
}
