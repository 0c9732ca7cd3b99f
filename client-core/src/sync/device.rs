//! The device side of a sync connection, as a sans-IO state machine.
//!
//! A driver (tokio in the native client and the commune node's uplink, the
//! browser's WebSocket in the PWA) opens a connection, calls
//! [`DeviceSync::start`], feeds every received frame to
//! [`DeviceSync::handle_frame`], sends whatever [`DeviceSync::poll_transmit`]
//! returns, and reacts to [`DeviceSync::poll_event`]. Storage is reached only
//! through the [`SyncReplica`] passed in, so the same engine runs everywhere
//! and tests can drive it deterministically.
//!
//! A connection goes: hello (with the checkpoint) and the pending pushes,
//! pipelined → welcome → the hub's changes since the checkpoint → caught up →
//! once every push is acknowledged, one anti-entropy pass → repair of any
//! document that differs → in sync. After that it stays live: local changes
//! are pushed as they are made, the hub's arrive as others make them.
//!
//! The engine owns its timers but reads no clock: the driver passes its time
//! in ([`Millis`], from any epoch it likes) with [`DeviceSync::advance`]
//! before an input and with [`DeviceSync::handle_timeout`], and sleeps until
//! [`DeviceSync::poll_timeout`]. The values are [`Timers`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::protocol::{
    Changes, DecodeError, DocOutcome, ErrorCode, ErrorMessage, Hello, Message, Push, Refusal,
    Repair, RepairHeads, Welcome, limits,
};
use super::reconcile::{ReconcileError, Reconciler, Step};
use super::replica::SyncReplica;
use crate::ids::DocId;

/// At most this many push frames wait for their acknowledgement at once.
const PUSH_WINDOW: usize = 4;

/// A driver's time in milliseconds, from an epoch of the driver's choosing
/// (a monotonic clock; only differences count).
pub type Millis = u64;

/// How long the engine waits for what, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// Silence from the hub, while an answer is expected, after which the
    /// connection is given up as broken (the answer was lost) and started
    /// again. Long enough for a full frame over a 256 kbit/s link.
    pub stall_after: Millis,
    /// On a connection that stays up, how often to check again that both
    /// ends hold the same heads. An idle check costs one small round trip; a
    /// few minutes bounds how long a change a faulty link lost stays missing.
    pub verify_every: Millis,
}

impl Timers {
    pub const DEFAULT: Timers = Timers {
        stall_after: 60_000,
        verify_every: 120_000,
    };
}

impl Default for Timers {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    pub token: String,
    /// The Automerge actors this device signs with.
    pub actors: Vec<Vec<u8>>,
    pub agent: String,
}

/// What happened, for the driver and the user interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceEvent {
    Welcomed(Welcome),
    /// Changes from the hub were stored for these documents.
    Received(Vec<DocId>),
    /// The hub durably stored this device's changes to these documents.
    Acknowledged(Vec<DocId>),
    /// The hub refused a document's changes; they stay on the device.
    Refused {
        doc: DocId,
        reason: Refusal,
        message: String,
    },
    /// Bytes from the hub for a document could not be read.
    Unreadable {
        doc: DocId,
        message: String,
    },
    CaughtUp,
    /// Anti-entropy is done: the device and the hub hold the same heads for
    /// every document (`repaired` differed and were repaired).
    InSync {
        repaired: usize,
    },
    /// The hub reported an error; fatal ones close the connection.
    HubError(ErrorMessage),
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError<E: std::fmt::Display> {
    #[error("replica: {0}")]
    Replica(E),
    #[error("could not read the hub's frame: {0}")]
    Decode(#[from] DecodeError),
    #[error("the hub broke the protocol: {0}")]
    Protocol(String),
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
    #[error("the hub refused the connection: {}", .0.message)]
    Rejected(ErrorMessage),
    #[error("an answer from the hub was lost: nothing heard for {0} ms")]
    Stalled(Millis),
}

/// Counters for status displays and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncStats {
    pub frames_sent: u64,
    pub frames_received: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Times the device sent after having heard from the hub: each is the
    /// start of another round trip.
    pub round_trips: u64,
}

#[derive(Debug)]
enum Phase {
    Idle,
    AwaitingWelcome,
    CatchingUp,
    /// Caught up; reconciliation waits until every push is acknowledged.
    AwaitingAcks,
    Reconciling(Reconciler),
    Repairing,
    Live,
}

#[derive(Debug)]
pub struct DeviceSync {
    config: DeviceConfig,
    phase: Phase,
    welcome: Option<Welcome>,
    in_flight: BTreeMap<u64, Vec<DocId>>,
    next_batch: u64,
    /// Documents refused for missing dependencies already re-pushed whole in
    /// this connection, so a confused hub cannot make the device loop.
    retried: BTreeSet<DocId>,
    outbox: VecDeque<Vec<u8>>,
    events: VecDeque<DeviceEvent>,
    stats: SyncStats,
    heard_since_send: bool,
    timers: Timers,
    /// The driver's time as last given.
    now: Millis,
    /// When the hub was last heard from (or the connection started).
    last_heard: Millis,
    /// When both ends were last found to hold the same heads.
    last_verified: Millis,
    /// A wait began with no time given (a local change): it counts from
    /// the next [`DeviceSync::advance`].
    wait_untimed: bool,
}

impl DeviceSync {
    pub fn new(config: DeviceConfig) -> Self {
        Self {
            config,
            phase: Phase::Idle,
            welcome: None,
            in_flight: BTreeMap::new(),
            next_batch: 1,
            retried: BTreeSet::new(),
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            stats: SyncStats::default(),
            heard_since_send: true,
            timers: Timers::default(),
            now: 0,
            last_heard: 0,
            last_verified: 0,
            wait_untimed: false,
        }
    }

    /// Waits otherwise than [`Timers::DEFAULT`].
    pub fn set_timers(&mut self, timers: Timers) {
        self.timers = timers;
    }

    pub fn timers(&self) -> Timers {
        self.timers
    }

    /// The driver's time now; given before each input (start, a frame) so
    /// that the timers run from it, and after local changes (a push begun on
    /// a quiet connection is awaited from then). Time never goes back.
    pub fn advance(&mut self, now: Millis) {
        self.now = self.now.max(now);
        if std::mem::take(&mut self.wait_untimed) {
            self.last_heard = self.now;
        }
    }

    /// When the driver should call [`DeviceSync::handle_timeout`] next, if
    /// ever: the moment an expected answer counts as lost, or the next
    /// verification of a live connection.
    pub fn poll_timeout(&self) -> Option<Millis> {
        if self.is_waiting() {
            Some(self.last_heard.saturating_add(self.timers.stall_after))
        } else if self.is_in_sync() {
            Some(self.last_verified.saturating_add(self.timers.verify_every))
        } else {
            None
        }
    }

    /// The time of [`DeviceSync::poll_timeout`] has come (or passed): an
    /// answer heard of for too long fails the connection with
    /// [`SyncError::Stalled`] (the driver closes it and reconnects); a live
    /// connection due for it verifies again.
    pub fn handle_timeout<R: SyncReplica>(
        &mut self,
        now: Millis,
        replica: &mut R,
    ) -> Result<(), SyncError<R::Error>> {
        self.advance(now);
        let silent = self.now.saturating_sub(self.last_heard);
        if self.is_waiting() && silent >= self.timers.stall_after {
            self.disconnected();
            return Err(SyncError::Stalled(silent));
        }
        if self.is_in_sync()
            && self.now.saturating_sub(self.last_verified) >= self.timers.verify_every
        {
            self.last_verified = self.now;
            self.verify(replica)?;
        }
        Ok(())
    }

    /// The connection is open: say hello and push what is pending, without
    /// waiting for the answer.
    pub fn start<R: SyncReplica>(&mut self, replica: &mut R) -> Result<(), SyncError<R::Error>> {
        self.phase = Phase::AwaitingWelcome;
        self.last_heard = self.now;
        self.last_verified = self.now;
        self.in_flight.clear();
        self.retried.clear();
        self.welcome = None;
        let since = replica.checkpoint().map_err(SyncError::Replica)?;
        self.send(Message::Hello(Hello {
            token: self.config.token.clone(),
            since,
            actors: self.config.actors.clone(),
            agent: self.config.agent.clone(),
        }));
        self.push_pending(replica)
    }

    /// The connection closed; everything unacknowledged stays pending in the
    /// replica and is pushed again on the next [`DeviceSync::start`].
    pub fn disconnected(&mut self) {
        self.phase = Phase::Idle;
        self.in_flight.clear();
        self.outbox.clear();
        self.heard_since_send = true;
    }

    /// Local changes were made: push them now if connected.
    pub fn local_changes<R: SyncReplica>(
        &mut self,
        replica: &mut R,
    ) -> Result<(), SyncError<R::Error>> {
        if matches!(self.phase, Phase::Idle) {
            return Ok(());
        }
        self.push_pending(replica)
    }

    /// Checks again, on a live connection, that the device and the hub hold
    /// the same heads for every document: one anti-entropy pass, a single
    /// round trip when they agree. Drivers call it now and then, so that a
    /// change a faulty link lost on a connection that stayed up is repaired
    /// without waiting for a reconnect. Does nothing unless live with no
    /// push in flight.
    pub fn verify<R: SyncReplica>(&mut self, replica: &mut R) -> Result<(), SyncError<R::Error>> {
        if matches!(self.phase, Phase::Live) && self.in_flight.is_empty() {
            // The answer is awaited from now, not from the last frame heard.
            self.last_heard = self.now;
            self.phase = Phase::AwaitingAcks;
            self.maybe_reconcile(replica)?;
        }
        Ok(())
    }

    pub fn handle_frame<R: SyncReplica>(
        &mut self,
        frame: &[u8],
        replica: &mut R,
    ) -> Result<(), SyncError<R::Error>> {
        self.stats.frames_received += 1;
        self.stats.bytes_received += frame.len() as u64;
        self.heard_since_send = true;
        self.last_heard = self.now;
        self.wait_untimed = false;
        let message = Message::decode(frame)?;
        match message {
            Message::Error(error) => {
                self.events.push_back(DeviceEvent::HubError(error.clone()));
                if error.fatal {
                    self.phase = Phase::Idle;
                    return Err(SyncError::Rejected(error));
                }
            }
            Message::Welcome(welcome) if matches!(self.phase, Phase::AwaitingWelcome) => {
                self.welcome = Some(welcome.clone());
                self.events.push_back(DeviceEvent::Welcomed(welcome));
                self.phase = Phase::CatchingUp;
            }
            Message::Changes(changes) if self.welcome.is_some() => {
                self.on_changes(changes, replica)?
            }
            Message::Ack(ack) if self.welcome.is_some() => {
                // An acknowledgement that arrives twice (a duplicating link)
                // was applied the first time; results for documents that
                // were not in the batch are not believed.
                let Some(batch) = self.in_flight.remove(&ack.batch) else {
                    return Ok(());
                };
                let mut accepted = Vec::new();
                for result in ack.results.into_iter().filter(|r| batch.contains(&r.doc)) {
                    match result.outcome {
                        DocOutcome::Accepted { heads } => {
                            replica
                                .acknowledged(&result.doc, &heads)
                                .map_err(SyncError::Replica)?;
                            accepted.push(result.doc);
                        }
                        DocOutcome::Refused {
                            reason: Refusal::MissingDependencies,
                            ..
                        } if self.retried.insert(result.doc) => {
                            // The hub lacks earlier changes: send the whole document.
                            replica
                                .forget_acknowledgement(&result.doc)
                                .map_err(SyncError::Replica)?;
                        }
                        DocOutcome::Refused { reason, message } => {
                            replica
                                .refused(&result.doc, reason, &message)
                                .map_err(SyncError::Replica)?;
                            self.events.push_back(DeviceEvent::Refused {
                                doc: result.doc,
                                reason,
                                message,
                            });
                        }
                    }
                }
                if !accepted.is_empty() {
                    self.events.push_back(DeviceEvent::Acknowledged(accepted));
                }
                self.push_pending(replica)?;
                self.maybe_reconcile(replica)?;
            }
            Message::Ranges(ranges) if matches!(self.phase, Phase::Reconciling(_)) => {
                let Phase::Reconciling(reconciler) = &mut self.phase else {
                    unreachable!()
                };
                if ranges.round < reconciler.round() {
                    // A duplicate of an answer already acted on.
                    return Ok(());
                }
                match reconciler.on_reply(&ranges)? {
                    Step::Continue(next) => self.send(Message::Reconcile(next)),
                    Step::Done(differences) if differences.is_empty() => {
                        self.phase = Phase::Live;
                        self.last_verified = self.now;
                        self.events.push_back(DeviceEvent::InSync { repaired: 0 });
                    }
                    Step::Done(differences) => {
                        let docs = differences
                            .iter()
                            .map(|id| Ok((*id, replica.heads(id)?)))
                            .collect::<Result<Vec<_>, R::Error>>()
                            .map_err(SyncError::Replica)?;
                        self.send(Message::Repair(Repair { docs }));
                        self.phase = Phase::Repairing;
                    }
                }
            }
            Message::RepairHeads(RepairHeads { docs })
                if matches!(self.phase, Phase::Repairing) =>
            {
                let repaired = docs.len();
                for (doc, hub_heads) in docs {
                    // The hub's changes came just before; whatever the device
                    // has beyond the hub's heads is now pending and pushed.
                    replica
                        .acknowledged(&doc, &hub_heads)
                        .map_err(SyncError::Replica)?;
                }
                self.phase = Phase::Live;
                self.last_verified = self.now;
                self.events.push_back(DeviceEvent::InSync { repaired });
                self.push_pending(replica)?;
            }
            // Late duplicates of answers already acted on.
            Message::Welcome(_) | Message::Ranges(_) | Message::RepairHeads(_)
                if self.welcome.is_some() => {}
            message => {
                return Err(SyncError::Protocol(format!(
                    "unexpected '{}' while {}",
                    message.name(),
                    phase_name(&self.phase)
                )));
            }
        }
        Ok(())
    }

    fn on_changes<R: SyncReplica>(
        &mut self,
        changes: Changes,
        replica: &mut R,
    ) -> Result<(), SyncError<R::Error>> {
        if let (Some(upto), Some(welcome)) = (changes.upto, &self.welcome)
            && upto.hub != welcome.hub
        {
            return Err(SyncError::Protocol("checkpoint from another hub".into()));
        }
        let unreadable = replica
            .apply_from_hub(&changes.docs, changes.upto)
            .map_err(SyncError::Replica)?;
        let bad: BTreeSet<DocId> = unreadable.iter().map(|(d, _)| *d).collect();
        for (doc, message) in unreadable {
            self.events
                .push_back(DeviceEvent::Unreadable { doc, message });
        }
        let received: Vec<DocId> = changes
            .docs
            .iter()
            .map(|d| d.doc)
            .filter(|d| !bad.contains(d))
            .collect();
        if !received.is_empty() {
            self.events.push_back(DeviceEvent::Received(received));
        }
        if changes.caught_up && matches!(self.phase, Phase::CatchingUp) {
            self.events.push_back(DeviceEvent::CaughtUp);
            self.phase = Phase::AwaitingAcks;
            self.maybe_reconcile(replica)?;
        }
        Ok(())
    }

    /// Starts anti-entropy once caught up and every push is acknowledged, so
    /// that only real divergence shows up as a difference.
    fn maybe_reconcile<R: SyncReplica>(
        &mut self,
        replica: &mut R,
    ) -> Result<(), SyncError<R::Error>> {
        if matches!(self.phase, Phase::AwaitingAcks) && self.in_flight.is_empty() {
            let items = replica.items().map_err(SyncError::Replica)?;
            let (reconciler, first) = Reconciler::start(items);
            self.send(Message::Reconcile(first));
            self.phase = Phase::Reconciling(reconciler);
        }
        Ok(())
    }

    fn push_pending<R: SyncReplica>(&mut self, replica: &mut R) -> Result<(), SyncError<R::Error>> {
        if !self.is_waiting() {
            // A push on a quiet live connection: its answer is awaited from
            // the next time the driver gives.
            self.wait_untimed = true;
        }
        while self.in_flight.len() < PUSH_WINDOW {
            let skip: BTreeSet<DocId> = self.in_flight.values().flatten().copied().collect();
            let docs = replica
                .pending(&skip, limits::TARGET_FRAME_BYTES)
                .map_err(SyncError::Replica)?;
            if docs.is_empty() {
                break;
            }
            let batch = self.next_batch;
            self.next_batch += 1;
            self.in_flight
                .insert(batch, docs.iter().map(|d| d.doc).collect());
            self.send(Message::Push(Push { batch, docs }));
        }
        Ok(())
    }

    fn send(&mut self, message: Message) {
        let frame = message.encode();
        if self.heard_since_send {
            self.stats.round_trips += 1;
            self.heard_since_send = false;
        }
        self.stats.frames_sent += 1;
        self.stats.bytes_sent += frame.len() as u64;
        self.outbox.push_back(frame);
    }

    /// The next frame to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.outbox.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<DeviceEvent> {
        self.events.pop_front()
    }

    /// Caught up, every push acknowledged, and anti-entropy found nothing
    /// left to repair.
    pub fn is_in_sync(&self) -> bool {
        matches!(self.phase, Phase::Live) && self.in_flight.is_empty()
    }

    /// Waiting for the hub to answer (a welcome, the end of a catch-up, an
    /// acknowledgement, a reconciliation round). A driver that hears nothing
    /// for too long while waiting should reconnect: the answer was lost.
    pub fn is_waiting(&self) -> bool {
        !matches!(self.phase, Phase::Idle | Phase::Live) || !self.in_flight.is_empty()
    }

    pub fn is_connected(&self) -> bool {
        !matches!(self.phase, Phase::Idle)
    }

    pub fn welcome(&self) -> Option<&Welcome> {
        self.welcome.as_ref()
    }

    pub fn stats(&self) -> SyncStats {
        self.stats
    }

    /// Pushes waiting for acknowledgement.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

fn phase_name(phase: &Phase) -> &'static str {
    match phase {
        Phase::Idle => "disconnected",
        Phase::AwaitingWelcome => "waiting for the hub's welcome",
        Phase::CatchingUp => "catching up",
        Phase::AwaitingAcks => "waiting for acknowledgements",
        Phase::Reconciling(_) => "reconciling",
        Phase::Repairing => "repairing",
        Phase::Live => "live",
    }
}

/// An error frame to send to a peer that broke the protocol.
pub fn protocol_error(code: ErrorCode, message: impl Into<String>) -> Vec<u8> {
    Message::Error(ErrorMessage {
        code,
        message: message.into(),
        fatal: true,
    })
    .encode()
}
