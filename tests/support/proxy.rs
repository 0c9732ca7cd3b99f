//! A TCP proxy that puts a bad network link between two nodes (a device and
//! its hub, a commune node and the province hub).
//!
//! The proxy passes the HTTP upgrade through untouched, then reads the
//! WebSocket frames on each direction (client → server frames are masked,
//! server → client frames are not; both are forwarded byte for byte) and
//! applies [`Faults`] to whole messages: a fragmented message travels, is
//! dropped, duplicated or held back as one unit, so what reaches a peer is
//! always well-formed WebSocket. Control frames (ping, pong, close) are never
//! dropped or duplicated; a close frame first releases any message held back.
//! Connections that are not a WebSocket upgrade are passed through as raw
//! bytes, where only the byte-level faults (delay, stall, cut, throttle)
//! apply.
//!
//! Every random decision comes from a seeded generator, one stream per
//! connection and direction, so a run can be replayed: the seed is printed
//! when the proxy starts, and `MOTCUA_PROXY_SEED` sets it.
//!
//! The proxy runs on its own thread and runtime, so it serves synchronous and
//! asynchronous tests alike, and keeps going while a test blocks.
//!
//! ```no_run
//! use motcua_tests::proxy::{Direction, Faults, Proxy};
//! # fn hub_addr() -> std::net::SocketAddr { unimplemented!() }
//! let proxy = Proxy::start(hub_addr()).unwrap();
//! // point the device at proxy.url() instead of the hub, then:
//! proxy.set(Faults { drop: 0.05, duplicate: 0.05, ..Faults::default() });
//! proxy.set_direction(Direction::ToClient, Faults::throttled(32 * 1024));
//! proxy.partition(true); // the link is dead
//! proxy.heal(); // and back, without faults
//! println!("{:?}", proxy.stats());
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

/// A WebSocket message larger than this is not reassembled: the connection
/// falls back to raw forwarding (only byte-level faults apply from there).
const MAX_MESSAGE_BYTES: u64 = 64 * 1024 * 1024;
/// An HTTP head longer than this is not HTTP: the rest is forwarded raw.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// A message held back for reordering goes out after the next message, or
/// after this long if none comes (a request that waits for its answer must
/// not hang forever).
const MAX_HOLD: Duration = Duration::from_millis(500);
/// Writes are split in chunks of at most this many bytes, so that throttling
/// and stalls act inside large messages too.
const CHUNK: usize = 16 * 1024;

/// Which way bytes travel through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the node that connected (device, commune node) to the upstream
    /// (hub). WebSocket frames this way are masked.
    ToServer,
    /// From the upstream back to the node that connected.
    ToClient,
}

impl Direction {
    fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }
}

/// What goes wrong on one direction of the link. Chances are per WebSocket
/// message, between 0.0 (never) and 1.0 (always). The default is a perfect
/// link.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Faults {
    /// Chance that a message (all its fragments) is dropped.
    pub drop: f64,
    /// Chance that a message is sent twice.
    pub duplicate: f64,
    /// Chance that a message is held back and sent after the next one.
    pub reorder: f64,
    /// Latency added to everything sent this way.
    pub delay: Duration,
    /// Further latency, uniform between zero and this; order is kept.
    pub jitter: Duration,
    /// Chance that, before a message, this direction stops forwarding for
    /// `stall_for` (the connection stays open; bytes queue up).
    pub stall: f64,
    pub stall_for: Duration,
    /// Chance that the connection is cut at a random byte inside a message
    /// (mid-frame): the bytes before it arrive, then both sides see the
    /// connection close.
    pub cut: f64,
    /// Cut every connection once exactly this many bytes went this way,
    /// counted from the connection's first byte (the HTTP upgrade included).
    pub cut_at_byte: Option<u64>,
    /// Bandwidth in bytes per second.
    pub bytes_per_second: Option<u64>,
}

impl Faults {
    /// A perfect link.
    pub fn none() -> Self {
        Self::default()
    }

    /// A link limited to this many bytes per second.
    pub fn throttled(bytes_per_second: u64) -> Self {
        Self {
            bytes_per_second: Some(bytes_per_second),
            ..Self::default()
        }
    }

    /// A link that cuts every connection after this many bytes.
    pub fn cut_at_byte(offset: u64) -> Self {
        Self {
            cut_at_byte: Some(offset),
            ..Self::default()
        }
    }
}

/// What went through one direction, over all connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// Bytes written to the far side (duplicates included).
    pub bytes: u64,
    /// WebSocket frames written to the far side: fragments and control frames
    /// included, duplicates counted twice.
    pub frames: u64,
    /// Complete WebSocket data messages written to the far side.
    pub messages: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub stalls: u64,
    /// Connections cut by this direction's faults.
    pub cuts: u64,
}

/// Counters of the whole proxy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    pub to_server: DirectionStats,
    pub to_client: DirectionStats,
    /// Connections accepted and forwarded.
    pub connections: u64,
    /// Connections refused because the link was partitioned.
    pub refused: u64,
    /// Connections open right now.
    pub open: u64,
}

impl ProxyStats {
    pub fn direction(&self, direction: Direction) -> DirectionStats {
        match direction {
            Direction::ToServer => self.to_server,
            Direction::ToClient => self.to_client,
        }
    }
}

#[derive(Default)]
struct Counters {
    bytes: AtomicU64,
    frames: AtomicU64,
    messages: AtomicU64,
    dropped: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
    stalls: AtomicU64,
    cuts: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> DirectionStats {
        DirectionStats {
            bytes: self.bytes.load(Ordering::Relaxed),
            frames: self.frames.load(Ordering::Relaxed),
            messages: self.messages.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            duplicated: self.duplicated.load(Ordering::Relaxed),
            reordered: self.reordered.load(Ordering::Relaxed),
            stalls: self.stalls.load(Ordering::Relaxed),
            cuts: self.cuts.load(Ordering::Relaxed),
        }
    }
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

struct Shared {
    seed: u64,
    upstream: Mutex<SocketAddr>,
    faults: Mutex<[Faults; 2]>,
    partitioned: AtomicBool,
    /// Until when every direction holds its bytes (a stall asked by hand).
    stalled_until: Mutex<Option<Instant>>,
    counters: [Counters; 2],
    connections: AtomicU64,
    refused: AtomicU64,
    open: AtomicU64,
    /// Bumped to close every open connection.
    kill: watch::Sender<u64>,
}

/// A poisoned lock only means a test thread panicked while holding it; the
/// data (fault settings) is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn faults(&self, direction: Direction) -> Faults {
        lock(&self.faults)[direction.index()].clone()
    }

    fn counters(&self, direction: Direction) -> &Counters {
        &self.counters[direction.index()]
    }
}

/// Controls a running [`Proxy`]; cheap to clone and usable from any thread.
#[derive(Clone)]
pub struct ProxyHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl ProxyHandle {
    /// The address nodes connect to instead of the upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, for `motcua sync --server`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The seed of this proxy's random decisions.
    pub fn seed(&self) -> u64 {
        self.shared.seed
    }

    /// Applies the same faults to both directions, from the next message on.
    pub fn set(&self, faults: Faults) {
        *lock(&self.shared.faults) = [faults.clone(), faults];
    }

    /// Applies faults to one direction, from the next message on.
    pub fn set_direction(&self, direction: Direction, faults: Faults) {
        lock(&self.shared.faults)[direction.index()] = faults;
    }

    pub fn faults(&self, direction: Direction) -> Faults {
        self.shared.faults(direction)
    }

    /// Closes every open connection now; new ones are accepted.
    pub fn cut_all(&self) {
        self.shared.kill.send_modify(|generation| *generation += 1);
    }

    /// `true`: the link is dead — open connections are closed and new ones
    /// are reset as soon as they arrive. `false`: connections go through
    /// again.
    pub fn partition(&self, dead: bool) {
        self.shared.partitioned.store(dead, Ordering::SeqCst);
        if dead {
            self.cut_all();
        }
    }

    /// Stops forwarding in both directions for this long, without closing
    /// anything; what arrives meanwhile is delivered afterwards.
    pub fn stall(&self, duration: Duration) {
        *lock(&self.shared.stalled_until) = Some(Instant::now() + duration);
    }

    /// A perfect link again: no faults, no partition, no stall.
    pub fn heal(&self) {
        self.set(Faults::none());
        *lock(&self.shared.stalled_until) = None;
        self.shared.partitioned.store(false, Ordering::SeqCst);
    }

    /// Sends new connections to another upstream (a hub restarted on a new
    /// port); open connections keep theirs.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *lock(&self.shared.upstream) = upstream;
    }

    pub fn stats(&self) -> ProxyStats {
        ProxyStats {
            to_server: self.shared.counters(Direction::ToServer).snapshot(),
            to_client: self.shared.counters(Direction::ToClient).snapshot(),
            connections: self.shared.connections.load(Ordering::Relaxed),
            refused: self.shared.refused.load(Ordering::Relaxed),
            open: self.shared.open.load(Ordering::Relaxed),
        }
    }
}

/// A running fault-injection proxy on 127.0.0.1. Dropping it closes the
/// listener and every connection.
pub struct Proxy {
    handle: ProxyHandle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::ops::Deref for Proxy {
    type Target = ProxyHandle;

    fn deref(&self) -> &ProxyHandle {
        &self.handle
    }
}

impl Proxy {
    /// Starts a proxy to `upstream`, seeded from `MOTCUA_PROXY_SEED` or at
    /// random.
    pub fn start(upstream: SocketAddr) -> io::Result<Proxy> {
        let seed = match std::env::var("MOTCUA_PROXY_SEED") {
            Ok(text) => text.trim().parse().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("MOTCUA_PROXY_SEED={text} is not a number"),
                )
            })?,
            Err(_) => random_seed(),
        };
        Self::with_seed(upstream, seed)
    }

    /// Starts a proxy to `upstream` whose random decisions follow `seed`.
    pub fn with_seed(upstream: SocketAddr, seed: u64) -> io::Result<Proxy> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            seed,
            upstream: Mutex::new(upstream),
            faults: Mutex::new([Faults::none(), Faults::none()]),
            partitioned: AtomicBool::new(false),
            stalled_until: Mutex::new(None),
            counters: [Counters::default(), Counters::default()],
            connections: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            open: AtomicU64::new(0),
            kill: watch::channel(0).0,
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = oneshot::channel();
        let accepting = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("fault-proxy-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(accept_loop(accepting, listener, stopped));
                // Dropping the runtime cancels every connection task, which
                // closes their sockets.
            })?;
        eprintln!(
            "fault proxy {addr} -> {upstream}: seed {seed} (MOTCUA_PROXY_SEED={seed} replays it)"
        );
        Ok(Proxy {
            handle: ProxyHandle { shared, addr },
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// A handle to control the proxy from elsewhere (another thread or task).
    pub fn handle(&self) -> ProxyHandle {
        self.handle.clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// SplitMix64: small, fast, and the same sequence on every platform and
/// version, which is what replaying a seed needs.
struct Rng(u64);

impl Rng {
    fn for_stream(seed: u64, connection: u64, direction: Direction) -> Self {
        let mut rng = Rng(seed ^ connection.wrapping_mul(0xA076_1D64_78BD_642F));
        rng.0 ^= rng.next() ^ direction.index() as u64;
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

async fn accept_loop(
    shared: Arc<Shared>,
    listener: std::net::TcpListener,
    mut stopped: oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fault proxy: cannot listen: {e}");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                if shared.partitioned.load(Ordering::SeqCst) {
                    bump(&shared.refused, 1);
                    // A reset, as from a link that is gone.
                    let _ = client.set_zero_linger();
                    drop(client);
                    continue;
                }
                let number = shared.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(connection(shared.clone(), client, number));
            }
        }
    }
}

async fn connection(shared: Arc<Shared>, client: TcpStream, number: u64) {
    let mut killed = shared.kill.subscribe();
    let upstream = *lock(&shared.upstream);
    let server = tokio::select! {
        connected = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(upstream)) => match connected {
            Ok(Ok(server)) => server,
            // The client sees its connection close, as when the far end is down.
            _ => return,
        },
        _ = killed.changed() => return,
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    bump(&shared.open, 1);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let (cut, mut cut_asked) = watch::channel(false);
    let to_server = forward(
        shared.clone(),
        Direction::ToServer,
        client_read,
        server_write,
        Rng::for_stream(shared.seed, number, Direction::ToServer),
        cut.clone(),
    );
    let to_client = forward(
        shared.clone(),
        Direction::ToClient,
        server_read,
        client_write,
        Rng::for_stream(shared.seed, number, Direction::ToClient),
        cut,
    );
    tokio::select! {
        _ = async { tokio::join!(to_server, to_client) } => {}
        _ = cut_asked.wait_for(|cut| *cut) => {}
        _ = killed.changed() => {}
    }
    // Leaving drops all four socket halves: both peers see the close.
    shared.open.fetch_sub(1, Ordering::Relaxed);
}

/// What the reader hands the writer of one direction.
struct Unit {
    bytes: BytesMut,
    /// WebSocket frames and complete data messages in `bytes`.
    frames: u64,
    messages: u64,
    copies: u8,
    /// Not before this instant (delay and jitter).
    due: Instant,
    stall: Option<Duration>,
    /// Cut the connection after this many bytes of the unit.
    cut_inside: Option<usize>,
}

/// One direction: a reader that parses and decides, a writer that paces and
/// delivers, joined by a queue so that delays do not slow the reading.
async fn forward(
    shared: Arc<Shared>,
    direction: Direction,
    from: OwnedReadHalf,
    to: OwnedWriteHalf,
    rng: Rng,
    cut: watch::Sender<bool>,
) {
    let (queue, units) = mpsc::unbounded_channel();
    tokio::join!(
        read_side(shared.clone(), direction, from, queue, rng),
        write_side(shared, direction, to, units, cut),
    );
}

enum Piece {
    /// HTTP, or bytes of a connection that is not a WebSocket.
    Raw(BytesMut),
    Control {
        bytes: BytesMut,
        close: bool,
    },
    Message {
        bytes: BytesMut,
        frames: u64,
    },
}

async fn read_side(
    shared: Arc<Shared>,
    direction: Direction,
    mut from: OwnedReadHalf,
    queue: mpsc::UnboundedSender<Unit>,
    mut rng: Rng,
) {
    let counters = shared.counters(direction);
    let mut parser = Parser::new(direction);
    let mut buf = vec![0u8; 64 * 1024];
    let mut held: Option<(Unit, Instant)> = None;
    let mut last_due = Instant::now();
    let send = |unit: Unit| queue.send(unit).is_ok();
    loop {
        let release_at = held.as_ref().map(|(_, at)| *at);
        let read = tokio::select! {
            read = from.read(&mut buf) => read,
            _ = sleep_until_some(release_at) => {
                if let Some((unit, _)) = held.take()
                    && !send(unit)
                {
                    return;
                }
                continue;
            }
        };
        let n = match read {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        parser.push(&buf[..n]);
        while let Some(piece) = parser.next_piece() {
            let faults = shared.faults(direction);
            let now = Instant::now();
            let mut due = now + faults.delay;
            if !faults.jitter.is_zero() {
                due += faults.jitter.mul_f64(rng.unit());
            }
            // Latency never reorders; only the reorder fault does.
            due = due.max(last_due);
            last_due = due;
            let mut unit = Unit {
                bytes: BytesMut::new(),
                frames: 0,
                messages: 0,
                copies: 1,
                due,
                stall: None,
                cut_inside: None,
            };
            match piece {
                Piece::Raw(bytes) => {
                    unit.bytes = bytes;
                    if !send(unit) {
                        return;
                    }
                }
                Piece::Control { bytes, close } => {
                    // Nothing may follow a close frame: release what is held.
                    if close
                        && let Some((held_unit, _)) = held.take()
                        && !send(held_unit)
                    {
                        return;
                    }
                    unit.bytes = bytes;
                    unit.frames = 1;
                    if !send(unit) {
                        return;
                    }
                }
                Piece::Message { bytes, frames } => {
                    if rng.chance(faults.drop) {
                        bump(&counters.dropped, 1);
                        continue;
                    }
                    if rng.chance(faults.duplicate) {
                        bump(&counters.duplicated, 1);
                        unit.copies = 2;
                    }
                    if rng.chance(faults.stall) {
                        unit.stall = Some(faults.stall_for);
                    }
                    if rng.chance(faults.cut) {
                        unit.cut_inside = Some(rng.below(bytes.len() as u64) as usize);
                    }
                    unit.bytes = bytes;
                    unit.frames = frames;
                    unit.messages = 1;
                    if held.is_none() && rng.chance(faults.reorder) {
                        bump(&counters.reordered, 1);
                        held = Some((unit, now + MAX_HOLD));
                        continue;
                    }
                    if !send(unit) {
                        return;
                    }
                    if let Some((held_unit, _)) = held.take() {
                        // Sent after the message that overtook it.
                        let mut held_unit = held_unit;
                        held_unit.due = held_unit.due.max(last_due);
                        if !send(held_unit) {
                            return;
                        }
                    }
                }
            }
        }
    }
    // The sender closed its side: deliver what is left, then the writer
    // half-closes the far side.
    if let Some((unit, _)) = held.take() {
        send(unit);
    }
    let rest = parser.rest();
    if !rest.is_empty() {
        send(Unit {
            bytes: rest,
            frames: 0,
            messages: 0,
            copies: 1,
            due: last_due,
            stall: None,
            cut_inside: None,
        });
    }
}

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn write_side(
    shared: Arc<Shared>,
    direction: Direction,
    mut to: OwnedWriteHalf,
    mut units: mpsc::UnboundedReceiver<Unit>,
    cut: watch::Sender<bool>,
) {
    let counters = shared.counters(direction);
    let mut written: u64 = 0;
    let mut pace = Instant::now();
    if shared.faults(direction).cut_at_byte == Some(0) {
        bump(&counters.cuts, 1);
        let _ = cut.send(true);
        return;
    }
    while let Some(unit) = units.recv().await {
        tokio::time::sleep_until(unit.due).await;
        if let Some(stall) = unit.stall {
            bump(&counters.stalls, 1);
            tokio::time::sleep(stall).await;
        }
        for copy in 0..unit.copies {
            let fixed = shared
                .faults(direction)
                .cut_at_byte
                .map(|at| usize::try_from(at.saturating_sub(written)).unwrap_or(usize::MAX));
            let random = if copy == 0 { unit.cut_inside } else { None };
            let limit = match (fixed, random) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let (bytes, cut_here) = match limit {
                Some(limit) if limit <= unit.bytes.len() => (&unit.bytes[..limit], true),
                _ => (&unit.bytes[..], false),
            };
            // Counted before writing, so that a peer that has the bytes
            // always finds them counted.
            if !cut_here {
                bump(&counters.frames, unit.frames);
                bump(&counters.messages, unit.messages);
            }
            if write_paced(&shared, direction, &mut to, bytes, &mut pace)
                .await
                .is_err()
            {
                return;
            }
            written += bytes.len() as u64;
            if cut_here {
                bump(&counters.cuts, 1);
                let _ = cut.send(true);
                return;
            }
        }
    }
    let _ = to.shutdown().await;
}

/// Writes in chunks, honouring a stall asked by hand and the bandwidth
/// limit (read again for every chunk, so changes apply at once).
async fn write_paced(
    shared: &Shared,
    direction: Direction,
    to: &mut OwnedWriteHalf,
    mut bytes: &[u8],
    pace: &mut Instant,
) -> io::Result<()> {
    let counters = shared.counters(direction);
    while !bytes.is_empty() {
        loop {
            let until = *lock(&shared.stalled_until);
            match until {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => break,
            }
        }
        let rate = shared.faults(direction).bytes_per_second;
        let chunk = match rate {
            // About twenty writes a second, so a slow link trickles.
            Some(rate) => usize::try_from(rate / 20).unwrap_or(CHUNK).clamp(1, CHUNK),
            None => CHUNK,
        }
        .min(bytes.len());
        if let Some(rate) = rate {
            tokio::time::sleep_until(*pace).await;
            let cost = Duration::from_secs_f64(chunk as f64 / rate.max(1) as f64);
            *pace = (*pace).max(Instant::now()) + cost;
        }
        bump(&counters.bytes, chunk as u64);
        to.write_all(&bytes[..chunk]).await?;
        bytes = &bytes[chunk..];
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Before and during the HTTP head.
    Head,
    /// After a WebSocket upgrade.
    Frames,
    /// Anything else: forwarded as it comes.
    Raw,
}

/// Splits one direction's bytes into HTTP head, control frames and complete
/// data messages.
struct Parser {
    direction: Direction,
    mode: Mode,
    buf: BytesMut,
    /// A fragmented data message being reassembled, and its frame count.
    message: Option<(BytesMut, u64)>,
}

impl Parser {
    fn new(direction: Direction) -> Self {
        Self {
            direction,
            mode: Mode::Head,
            buf: BytesMut::new(),
            message: None,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Whatever was not a whole piece when the stream ended.
    fn rest(&mut self) -> BytesMut {
        let mut rest = self.message.take().map(|(m, _)| m).unwrap_or_default();
        rest.extend_from_slice(&self.buf.split());
        rest
    }

    fn next_piece(&mut self) -> Option<Piece> {
        loop {
            match self.mode {
                Mode::Raw => {
                    return (!self.buf.is_empty()).then(|| Piece::Raw(self.buf.split()));
                }
                Mode::Head => {
                    if !self.looks_like_http() {
                        self.mode = Mode::Raw;
                        continue;
                    }
                    let Some(end) = find(&self.buf, b"\r\n\r\n") else {
                        if self.buf.len() > MAX_HEAD_BYTES {
                            self.mode = Mode::Raw;
                            continue;
                        }
                        return None;
                    };
                    let head = self.buf.split_to(end + 4);
                    self.mode = if self.is_websocket(&head) {
                        Mode::Frames
                    } else {
                        Mode::Raw
                    };
                    return Some(Piece::Raw(head));
                }
                Mode::Frames => return self.next_frame_piece(),
            }
        }
    }

    /// False as soon as the first bytes cannot start an HTTP request
    /// (`GET /…`) or response (`HTTP/1.1 …`).
    fn looks_like_http(&self) -> bool {
        let start = &self.buf[..self.buf.len().min(8)];
        match self.direction {
            Direction::ToClient => {
                let n = start.len().min(5);
                start[..n] == b"HTTP/"[..n]
            }
            Direction::ToServer => {
                // A method: upper-case letters, then a space.
                match start.iter().position(|b| !b.is_ascii_uppercase()) {
                    None => true,
                    Some(i) => i > 0 && start[i] == b' ',
                }
            }
        }
    }

    fn is_websocket(&self, head: &[u8]) -> bool {
        let text = String::from_utf8_lossy(head).to_ascii_lowercase();
        match self.direction {
            Direction::ToServer => text.contains("upgrade: websocket"),
            Direction::ToClient => text.starts_with("http/1.1 101"),
        }
    }

    fn next_frame_piece(&mut self) -> Option<Piece> {
        loop {
            let (len, fin, opcode) = match frame_length(&self.buf) {
                FrameLength::Incomplete => return None,
                FrameLength::TooLarge => {
                    // Cannot hold it whole: forward everything raw from here.
                    self.mode = Mode::Raw;
                    let rest = self.rest();
                    return (!rest.is_empty()).then_some(Piece::Raw(rest));
                }
                FrameLength::Frame { len, fin, opcode } => (len, fin, opcode),
            };
            if self.buf.len() < len {
                return None;
            }
            let frame = self.buf.split_to(len);
            if opcode >= 8 {
                return Some(Piece::Control {
                    bytes: frame,
                    close: opcode == 8,
                });
            }
            let (mut message, frames) = match (opcode, self.message.take()) {
                // A continuation adds to the message being reassembled.
                (0, Some((mut message, frames))) => {
                    message.extend_from_slice(&frame);
                    (message, frames + 1)
                }
                // A new message (or a stray continuation, forwarded as is).
                (_, previous) => {
                    if let Some((previous, _)) = previous {
                        // The peer broke framing; keep the bytes in order.
                        let mut joined = previous;
                        joined.extend_from_slice(&frame);
                        (joined, 1)
                    } else {
                        (frame, 1)
                    }
                }
            };
            if fin {
                return Some(Piece::Message {
                    bytes: message.split(),
                    frames,
                });
            }
            if message.len() as u64 > MAX_MESSAGE_BYTES {
                self.mode = Mode::Raw;
                return Some(Piece::Raw(message));
            }
            self.message = Some((message, frames));
        }
    }
}

enum FrameLength {
    Incomplete,
    TooLarge,
    /// The whole frame's length, header included.
    Frame {
        len: usize,
        fin: bool,
        opcode: u8,
    },
}

/// Reads a WebSocket frame header (RFC 6455 §5.2).
fn frame_length(buf: &[u8]) -> FrameLength {
    if buf.len() < 2 {
        return FrameLength::Incomplete;
    }
    let fin = buf[0] & 0x80 != 0;
    let opcode = buf[0] & 0x0f;
    let masked = buf[1] & 0x80 != 0;
    let (payload, header) = match buf[1] & 0x7f {
        126 => {
            if buf.len() < 4 {
                return FrameLength::Incomplete;
            }
            (u64::from(u16::from_be_bytes([buf[2], buf[3]])), 4)
        }
        127 => {
            if buf.len() < 10 {
                return FrameLength::Incomplete;
            }
            let mut len = [0u8; 8];
            len.copy_from_slice(&buf[2..10]);
            (u64::from_be_bytes(len), 10)
        }
        n => (u64::from(n), 2),
    };
    let header = header + if masked { 4 } else { 0 };
    if payload > MAX_MESSAGE_BYTES {
        return FrameLength::TooLarge;
    }
    FrameLength::Frame {
        len: header + payload as usize,
        fin,
        opcode,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(opcode: u8, fin: bool, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        let mut out = vec![(if fin { 0x80 } else { 0 }) | opcode];
        let mask_bit = if mask.is_some() { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => out.push(mask_bit | n as u8),
            n if n <= 0xffff => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        match mask {
            Some(key) => {
                out.extend_from_slice(&key);
                out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
            }
            None => out.extend_from_slice(payload),
        }
        out
    }

    fn pieces(parser: &mut Parser) -> Vec<Piece> {
        std::iter::from_fn(|| parser.next_piece()).collect()
    }

    #[test]
    fn the_upgrade_passes_whole_then_fragmented_messages_come_out_whole() {
        let mut p = Parser::new(Direction::ToServer);
        let head =
            b"GET /sync HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        let key = Some([1, 2, 3, 4]);
        let first = frame(2, false, b"hello ", key);
        let ping = frame(9, true, b"", key);
        let last = frame(0, true, b"world", key);
        let mut stream = head.to_vec();
        stream.extend_from_slice(&first);
        stream.extend_from_slice(&ping);
        stream.extend_from_slice(&last);
        // Byte by byte: every split point must work.
        let mut out = Vec::new();
        for b in &stream {
            p.push(&[*b]);
            out.extend(pieces(&mut p));
        }
        assert_eq!(out.len(), 3);
        assert!(matches!(&out[0], Piece::Raw(h) if &h[..] == head));
        assert!(matches!(&out[1], Piece::Control { close: false, bytes } if bytes[..] == ping[..]));
        match &out[2] {
            Piece::Message { bytes, frames } => {
                assert_eq!(*frames, 2);
                assert_eq!(bytes.len(), first.len() + last.len());
            }
            _ => panic!("expected a message"),
        }
        assert!(p.rest().is_empty());
    }

    #[test]
    fn long_lengths_and_a_refused_upgrade_are_handled() {
        let mut p = Parser::new(Direction::ToClient);
        p.push(b"HTTP/1.1 101 Switching Protocols\r\n\r\n");
        let big = frame(2, true, &vec![7u8; 70_000], None);
        p.push(&big);
        let out = pieces(&mut p);
        assert!(matches!(&out[1], Piece::Message { bytes, frames: 1 } if bytes.len() == big.len()));

        let mut refused = Parser::new(Direction::ToClient);
        refused.push(b"HTTP/1.1 401 Unauthorized\r\n\r\n\x82\x01x");
        let out = pieces(&mut refused);
        assert!(out.iter().all(|p| matches!(p, Piece::Raw(_))));
    }

    #[test]
    fn bytes_that_are_not_http_are_raw_at_once() {
        let mut p = Parser::new(Direction::ToServer);
        p.push(b"\x00\x01binary");
        assert!(matches!(pieces(&mut p).as_slice(), [Piece::Raw(b)] if b.len() == 8));
    }

    #[test]
    fn the_generator_replays_and_spreads() {
        let mut a = Rng::for_stream(7, 3, Direction::ToClient);
        let mut b = Rng::for_stream(7, 3, Direction::ToClient);
        let mut c = Rng::for_stream(7, 3, Direction::ToServer);
        let xs: Vec<u64> = (0..8).map(|_| a.next()).collect();
        assert_eq!(xs, (0..8).map(|_| b.next()).collect::<Vec<_>>());
        assert_ne!(xs, (0..8).map(|_| c.next()).collect::<Vec<_>>());
        let hits = (0..10_000).filter(|_| a.chance(0.25)).count();
        assert!((2_000..3_000).contains(&hits), "{hits}");
        assert!((0..100).all(|_| a.chance(1.0)) && !(0..100).any(|_| a.chance(0.0)));
    }
}
