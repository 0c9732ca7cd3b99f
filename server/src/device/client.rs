//! Syncing a native device with its hub over WebSocket (TLS when the
//! address is `https://` or `wss://`).
//!
//! [`sync_once`] connects, exchanges until the engine reports the replicas
//! are in sync, and closes. [`watch`] stays connected, pushes local changes
//! as they are made (by this or another `motcua` process) and reconnects
//! with exponential back-off and jitter when the link drops.

use std::time::Duration;

use client_core::sync::device::{DeviceConfig, DeviceEvent, DeviceSync, SyncStats};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::{Device, keys};
use crate::link::{
    Backoff, Clock, Endpoint, LINK_DEAD_AFTER, PING_EVERY, connect, read_frame, send_frames,
};

/// What a sync did, printed as JSON by `motcua sync`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// The hub accepted the device's checkpoint; when false (a first sync,
    /// another hub, or a hub restored from a backup) the device caught up
    /// in full.
    pub resumed: bool,
    pub received: usize,
    pub acknowledged: usize,
    pub refused: Vec<String>,
    pub repaired: usize,
    pub pending: usize,
    pub documents: usize,
    pub in_sync: bool,
    pub frames_sent: u64,
    pub frames_received: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub round_trips: u64,
}

impl SyncReport {
    fn add_stats(&mut self, s: SyncStats) {
        self.frames_sent += s.frames_sent;
        self.frames_received += s.frames_received;
        self.bytes_sent += s.bytes_sent;
        self.bytes_received += s.bytes_received;
        self.round_trips += s.round_trips;
    }
}

fn engine_for(device: &Device, token: &str) -> DeviceSync {
    DeviceSync::new(DeviceConfig {
        token: token.to_string(),
        actors: vec![device.actor().to_bytes().to_vec()],
        agent: format!("motcua/{}", env!("CARGO_PKG_VERSION")),
    })
}

/// Feeds engine events into the report; returns a fatal hub error, if any.
fn note_events(
    engine: &mut DeviceSync,
    report: &mut SyncReport,
    progress: &Option<indicatif::ProgressBar>,
) {
    while let Some(event) = engine.poll_event() {
        match event {
            DeviceEvent::Received(docs) => {
                report.received += docs.len();
                if let Some(bar) = progress {
                    bar.set_message(format!(
                        "{} tài liệu đã nhận / documents received",
                        report.received
                    ));
                }
            }
            DeviceEvent::Acknowledged(docs) => report.acknowledged += docs.len(),
            DeviceEvent::Refused {
                doc,
                reason,
                message,
            } => {
                let line = format!("{doc}: {} ({message})", reason.as_str());
                tracing::warn!("hub refused {line}");
                report.refused.push(line);
            }
            DeviceEvent::InSync { repaired } => report.repaired += repaired,
            DeviceEvent::Unreadable { doc, message } => {
                tracing::warn!("unreadable changes for {doc}: {message}")
            }
            DeviceEvent::HubError(e) => tracing::warn!("hub error: {}", e.message),
            DeviceEvent::Welcomed(welcome) => report.resumed = welcome.resumed,
            DeviceEvent::CaughtUp => {}
        }
    }
}

/// Stores what the hub said about this device (unit, code slots).
fn remember_welcome(device: &mut Device, engine: &DeviceSync) -> anyhow::Result<()> {
    if let Some(w) = engine.welcome() {
        let slots = serde_json::to_string(&w.code_slots)?;
        if device.setting(keys::UNIT)?.as_deref() != Some(w.unit.as_str()) {
            device.set_setting(keys::UNIT, w.unit.as_str())?;
        }
        if device.setting(keys::CODE_SLOTS)?.as_deref() != Some(slots.as_str()) {
            device.set_setting(keys::CODE_SLOTS, &slots)?;
        }
        if device.setting(keys::DEVICE_ID)?.as_deref() != Some(w.device.as_str()) {
            device.set_setting(keys::DEVICE_ID, &w.device)?;
        }
    }
    Ok(())
}

/// One connection: exchanges until in sync (and, when `stay`, keeps going
/// until the link drops).
async fn session(
    device: &mut Device,
    endpoint: &Endpoint,
    token: &str,
    stay: bool,
    report: &mut SyncReport,
) -> anyhow::Result<()> {
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        bar.set_message("đang đồng bộ / syncing");
        bar
    });
    let mut socket = connect(endpoint).await?;
    let clock = Clock::start();
    let mut engine = engine_for(device, token);
    engine.set_timers(endpoint.timers());
    engine.advance(clock.now());
    device
        .with(|r| engine.start(r))?
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut last_heard = std::time::Instant::now();
    let mut last_ping = std::time::Instant::now();
    let outcome = loop {
        if let Err(e) = send_frames(&mut socket, &mut engine).await {
            break Err(e);
        }
        note_events(&mut engine, report, &progress);
        if engine.is_in_sync() && !stay {
            break Ok(());
        }
        tokio::select! {
            incoming = socket.next() => {
                last_heard = std::time::Instant::now();
                engine.advance(clock.now());
                if let Err(e) = on_incoming(device, &mut engine, incoming).await {
                    break Err(e);
                }
            },
            _ = clock.sleep_until(engine.poll_timeout()) => {
                let timeout = device.with(|r| engine.handle_timeout(clock.now(), r))?;
                if let Err(e) = timeout {
                    break Err(anyhow::anyhow!("{e}; reconnecting"));
                }
            }
            _ = tick.tick(), if stay => {
                // Another process recorded something: push it now.
                if device.changed_elsewhere()? {
                    device.with(|r| engine.local_changes(r))?.map_err(|e| anyhow::anyhow!("{e}"))?;
                }
                engine.advance(clock.now());
                // A link that silently stopped carrying anything is dead:
                // ping it, and give up on it if nothing comes back.
                if last_heard.elapsed() > LINK_DEAD_AFTER {
                    break Err(anyhow::anyhow!("the hub stopped answering"));
                }
                if last_ping.elapsed() > PING_EVERY {
                    last_ping = std::time::Instant::now();
                    if let Err(e) = socket.send(WsMessage::Ping(Vec::new().into())).await {
                        break Err(e.into());
                    }
                }
            }
        }
    };
    report.add_stats(engine.stats());
    note_events(&mut engine, report, &progress);
    remember_welcome(device, &engine)?;
    report.in_sync = engine.is_in_sync();
    let _ = socket.close(None).await;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    outcome
}

async fn on_incoming(
    device: &mut Device,
    engine: &mut DeviceSync,
    incoming: Option<Result<WsMessage, tokio_tungstenite::tungstenite::Error>>,
) -> anyhow::Result<()> {
    if let Some(frame) = read_frame(incoming, "hub")? {
        device
            .with(|r| engine.handle_frame(&frame, r))?
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if engine.welcome().is_some() && device.setting(keys::UNIT)?.is_none() {
            remember_welcome(device, engine)?;
        }
    }
    Ok(())
}

/// Syncs once and returns what happened.
pub async fn sync_once(
    device: &mut Device,
    endpoint: &Endpoint,
    token: &str,
) -> anyhow::Result<SyncReport> {
    let mut report = SyncReport::default();
    session(device, endpoint, token, false, &mut report).await?;
    report.pending = device.with(|r| r.pending_count())?;
    report.documents = device.with(|r| r.len())?;
    Ok(report)
}

/// Syncs continuously until the process is stopped.
pub async fn watch(device: &mut Device, endpoint: &Endpoint, token: &str) -> anyhow::Result<()> {
    let mut backoff = Backoff::new();
    loop {
        let started = std::time::Instant::now();
        let mut report = SyncReport::default();
        match session(device, endpoint, token, true, &mut report).await {
            Ok(()) => {}
            Err(e) => {
                let fatal = e.to_string().contains("revoked")
                    || e.to_string().contains("unknown device token");
                eprintln!("mất kết nối / disconnected: {e:#}");
                if fatal {
                    return Err(e);
                }
            }
        }
        if started.elapsed() > Duration::from_secs(30) {
            backoff = Backoff::new();
        }
        let wait = backoff.next_wait();
        eprintln!(
            "thử lại sau {:.1} giây / retrying in {:.1} s",
            wait.as_secs_f64(),
            wait.as_secs_f64()
        );
        tokio::time::sleep(wait).await;
    }
}
