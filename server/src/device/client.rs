//! Syncing a native device with its hub over WebSocket (TLS when the
//! address is `https://` or `wss://`).
//!
//! [`sync_once`] connects, exchanges until the engine reports the replicas
//! are in sync, and closes. [`watch`] stays connected, pushes local changes
//! as they are made (by this or another `motcua` process) and reconnects
//! with exponential back-off and jitter when the link drops.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use client_core::sync::device::{DeviceConfig, DeviceEvent, DeviceSync, Millis, SyncStats, Timers};
use client_core::sync::protocol::limits;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{Device, keys};

/// Where to sync, and how to trust the hub's certificate.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: url::Url,
    /// A PEM certificate to trust (the hub's self-signed one); without it,
    /// the system's trusted roots.
    pub ca_cert: Option<std::path::PathBuf>,
    /// How long to wait for an expected answer before giving up on the
    /// connection and starting again (answers lost on a broken link).
    pub stall_after: Duration,
    /// On a connection that stays up, how often to check again that both
    /// ends hold the same heads (repairs what a faulty link lost).
    pub verify_every: Duration,
}

/// The engine's defaults ([`Timers`] says why), as the flags' defaults.
pub const STALL_AFTER: Duration = Duration::from_millis(Timers::DEFAULT.stall_after);
pub const VERIFY_EVERY: Duration = Duration::from_millis(Timers::DEFAULT.verify_every);

impl Endpoint {
    /// Accepts `http(s)://host:port` or `ws(s)://host:port[/sync]`.
    pub fn parse(server: &str, ca_cert: Option<&Path>) -> anyhow::Result<Endpoint> {
        let mut url = url::Url::parse(server)
            .with_context(|| format!("'{server}' is not a URL such as https://hub.example:8443"))?;
        let scheme = match url.scheme() {
            "http" | "ws" => "ws",
            "https" | "wss" => "wss",
            other => bail!("unsupported scheme '{other}': use https:// (or http:// on loopback)"),
        };
        url.set_scheme(scheme)
            .map_err(|_| anyhow::anyhow!("cannot use scheme {scheme}"))?;
        if !url.path().ends_with("/sync") {
            url.set_path("/sync");
        }
        Ok(Endpoint {
            url,
            ca_cert: ca_cert.map(Path::to_path_buf),
            stall_after: STALL_AFTER,
            verify_every: VERIFY_EVERY,
        })
    }
}

impl Endpoint {
    /// The engine's timers as set for this endpoint.
    pub fn timers(&self) -> Timers {
        Timers {
            stall_after: self.stall_after.as_millis() as Millis,
            verify_every: self.verify_every.as_millis() as Millis,
        }
    }
}

/// A driver's clock for the engine: milliseconds since it started.
pub struct Clock(std::time::Instant);

impl Clock {
    pub fn start() -> Self {
        Self(std::time::Instant::now())
    }

    pub fn now(&self) -> Millis {
        self.0.elapsed().as_millis() as Millis
    }

    /// Sleeps until the engine's deadline; forever when it has none.
    pub async fn sleep_until(&self, deadline: Option<Millis>) {
        match deadline {
            Some(at) => tokio::time::sleep_until((self.0 + Duration::from_millis(at)).into()).await,
            None => std::future::pending().await,
        }
    }
}

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

/// In watch mode: how often an idle link is pinged, and after how long
/// without a word from the hub it is given up.
pub const PING_EVERY: Duration = Duration::from_secs(15);
pub const LINK_DEAD_AFTER: Duration = Duration::from_secs(45);

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(endpoint: &Endpoint) -> anyhow::Result<Socket> {
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(limits::MAX_FRAME_BYTES + 1024 * 1024);
    config.max_frame_size = Some(limits::MAX_FRAME_BYTES + 1024 * 1024);
    let connector = if endpoint.url.scheme() == "wss" {
        Some(tokio_tungstenite::Connector::Rustls(Arc::new(
            tls_client_config(endpoint.ca_cert.as_deref())?,
        )))
    } else {
        None
    };
    let (socket, _) = tokio::time::timeout(
        Duration::from_secs(30),
        tokio_tungstenite::connect_async_tls_with_config(
            endpoint.url.as_str(),
            Some(config),
            true,
            connector,
        ),
    )
    .await
    .context("timed out connecting to the hub")?
    .with_context(|| format!("cannot connect to {}", endpoint.url))?;
    Ok(socket)
}

pub fn tls_client_config(ca_cert: Option<&Path>) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_cert {
        Some(path) => {
            let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&pem) {
                let cert: rustls_pki_types::CertificateDer<'static> =
                    cert.with_context(|| format!("{} is not a PEM certificate", path.display()))?;
                roots.add(cert)?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    Ok(rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A small HTTP/1.1 JSON POST over the same TLS setup the sync uses.
pub async fn post_json<T: serde::de::DeserializeOwned>(
    url: &url::Url,
    body: &serde_json::Value,
    ca_cert: Option<&std::path::Path>,
) -> anyhow::Result<T> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = url.host_str().context("the URL has no host")?.to_string();
    let port = url.port_or_known_default().context("the URL has no port")?;
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .with_context(|| format!("cannot reach {host}:{port}"))?;
    let payload = body.to_string();
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        url.path(),
        payload.len()
    );
    let mut response = Vec::new();
    if url.scheme() == "https" {
        let config = std::sync::Arc::new(tls_client_config(ca_cert)?);
        let name = rustls_pki_types::ServerName::try_from(host.clone())?;
        let mut tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .context("TLS handshake with the hub failed")?;
        tls.write_all(request.as_bytes()).await?;
        tls.read_to_end(&mut response).await?;
    } else {
        let mut tcp = tcp;
        tcp.write_all(request.as_bytes()).await?;
        tcp.read_to_end(&mut response).await?;
    }
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("the hub sent no HTTP response")?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("the hub sent a malformed HTTP response")?;
    if !(200..300).contains(&status) {
        let message = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| body.to_string());
        anyhow::bail!("the hub answered {status}: {message}");
    }
    serde_json::from_str(body).context("the hub's answer is not the expected JSON")
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

async fn send_all(socket: &mut Socket, engine: &mut DeviceSync) -> anyhow::Result<()> {
    while let Some(frame) = engine.poll_transmit() {
        socket.send(WsMessage::Binary(frame.into())).await?;
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
        if let Err(e) = send_all(&mut socket, &mut engine).await {
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
    match incoming {
        None => bail!("the hub closed the connection"),
        Some(Err(e)) => Err(e).context("the connection to the hub failed"),
        Some(Ok(WsMessage::Binary(frame))) => {
            device
                .with(|r| engine.handle_frame(&frame, r))?
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if engine.welcome().is_some() && device.setting(keys::UNIT)?.is_none() {
                remember_welcome(device, engine)?;
            }
            Ok(())
        }
        Some(Ok(WsMessage::Close(frame))) => bail!(
            "the hub closed the connection{}",
            frame.map(|f| format!(": {}", f.reason)).unwrap_or_default()
        ),
        Some(Ok(_)) => Ok(()),
    }
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

/// Exponential back-off with full jitter: a random wait up to a ceiling that
/// doubles after each failure (0.5 s … 60 s), so that many devices coming
/// back at once do not reconnect in step.
pub struct Backoff {
    ceiling: Duration,
    max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(60);

    pub fn new() -> Self {
        Self::with_max(Self::MAX)
    }

    /// Back-off whose ceiling stops growing at `max`.
    pub fn with_max(max: Duration) -> Self {
        Self {
            ceiling: Self::FIRST.min(max),
            max,
        }
    }

    pub fn next_wait(&mut self) -> Duration {
        let [a, b, c, d] = crate::store::random_bytes::<4>();
        let fraction = f64::from(u32::from_le_bytes([a, b, c, d])) / f64::from(u32::MAX);
        let wait = self.ceiling.mul_f64(0.1 + 0.9 * fraction);
        self.ceiling = (self.ceiling * 2).min(self.max);
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_map_to_the_sync_path_and_websocket_schemes() {
        assert_eq!(
            Endpoint::parse("https://hub.example:8443", None)
                .unwrap()
                .url
                .as_str(),
            "wss://hub.example:8443/sync"
        );
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:9000/", None)
                .unwrap()
                .url
                .as_str(),
            "ws://127.0.0.1:9000/sync"
        );
        assert!(Endpoint::parse("ftp://x", None).is_err());
    }

    #[test]
    fn backoff_grows_to_a_ceiling_and_stays_jittered() {
        let mut b = Backoff::new();
        let waits: Vec<Duration> = (0..12).map(|_| b.next_wait()).collect();
        assert!(waits.iter().all(|w| *w <= Backoff::MAX));
        assert!(waits[0] <= Backoff::FIRST);
        assert!(waits[11] >= Backoff::MAX.mul_f64(0.1));
    }
}
