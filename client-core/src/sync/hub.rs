//! The hub side of a sync connection, as a sans-IO state machine, and the
//! checks every pushed document must pass.
//!
//! [`HubSession`] speaks the protocol with one device; it reaches the hub's
//! database only through [`HubStore`], which the server implements on SQLite
//! (and tests in memory). The driver feeds frames in, asks for catch-up
//! frames while the socket has room ([`HubSession::poll_catchup`]), forwards
//! other devices' committed changes ([`HubSession::on_committed`]) and sends
//! what [`HubSession::poll_transmit`] returns.
//!
//! [`admit`] decides whether a device's changes to one document may enter
//! the hub: only its own actors may sign new changes, the document must
//! validate, the facts fixed at receipt must not move, the stage log may only
//! grow, and the dossier must belong to the device's scope. Everything else
//! is refused with a reason, and the store quarantines it.

use std::collections::BTreeSet;
use std::sync::Arc;

use automerge::{ActorId, Automerge, ChangeHash, ReadDoc};

use super::protocol::{
    Ack, Changes, Checkpoint, DecodeError, DocChanges, DocResult, ErrorCode, ErrorMessage, Hello,
    HubId, Message, Push, Ranges, Refusal, Repair, RepairHeads, Welcome, limits,
};
use super::reconcile::{self, Item};
use crate::dossier::{Dossier, DossierDoc, validate_update};
use crate::ids::{DocId, UnitCode};

/// The connected device, as the hub knows it after authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdentity {
    pub device_id: String,
    pub unit: UnitCode,
    /// Units whose dossiers the device receives and may write: its unit's
    /// subtree.
    pub scope: BTreeSet<UnitCode>,
    /// Actors allowed to sign new changes on this connection.
    pub actors: BTreeSet<ActorId>,
    pub code_slots: Vec<u8>,
}

impl DeviceIdentity {
    pub fn may_see(&self, unit: &UnitCode) -> bool {
        self.scope.contains(unit)
    }
}

/// A change the hub committed, for live fan-out to other connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub seq: u64,
    pub doc: DocId,
    /// The dossier's unit; `None` for documents every device receives
    /// (configuration).
    pub unit: Option<UnitCode>,
    /// The device that pushed it (it already has it).
    pub origin: String,
    pub bytes: Arc<[u8]>,
}

/// One page of a catch-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangesPage {
    pub docs: Vec<DocChanges>,
    /// Every change in the device's scope up to this sequence number is in
    /// this page or was before `since`.
    pub upto: u64,
    /// No document in scope changed after `upto`.
    pub done: bool,
}

/// The hub database, as a session needs it.
pub trait HubStore {
    type Error: std::fmt::Display;

    fn hub_id(&self) -> HubId;

    /// Checks the token and binds the device's actors; `Err` inside is the
    /// refusal to send to the device.
    fn authenticate(
        &mut self,
        hello: &Hello,
    ) -> Result<Result<DeviceIdentity, ErrorMessage>, Self::Error>;

    /// One page of a catch-up: documents in the device's scope whose last
    /// change is after `after` (where the previous page ended), in the order
    /// of their last change, each with all its changes after `since` (the
    /// checkpoint the catch-up started from — a document whose last change
    /// falls on a later page may have older changes the device lacks), about
    /// `max_bytes` in all. Changes the device itself pushed are left out.
    fn changes_since(
        &mut self,
        device: &DeviceIdentity,
        since: u64,
        after: u64,
        max_bytes: usize,
    ) -> Result<ChangesPage, Self::Error>;

    /// Admits and durably commits a push (one transaction); the results are
    /// sent only after this returns.
    fn commit_push(
        &mut self,
        device: &DeviceIdentity,
        push: Push,
    ) -> Result<(Vec<DocResult>, Vec<Committed>), Self::Error>;

    /// Every document in the device's scope with its heads digest.
    fn items(&mut self, device: &DeviceIdentity) -> Result<Vec<Item>, Self::Error>;

    /// For documents that differ: the changes the device lacks (given its
    /// heads) and the hub's heads. Documents outside the scope look missing.
    #[allow(clippy::type_complexity)]
    fn repair(
        &mut self,
        device: &DeviceIdentity,
        docs: &[(DocId, Vec<ChangeHash>)],
    ) -> Result<(Vec<DocChanges>, Vec<(DocId, Vec<ChangeHash>)>), Self::Error>;

    /// The hub's clock, in milliseconds.
    fn now(&self) -> i64;

    /// How many hubs sit above this one (0 for the top hub).
    fn depth(&self) -> u8 {
        0
    }
}

/// What a session reports to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubEvent {
    Authenticated(DeviceIdentity),
    /// Committed changes to fan out to the other connections.
    Committed(Vec<Committed>),
    Refused {
        doc: DocId,
        reason: Refusal,
        message: String,
    },
    /// The device sent something unreadable or out of turn.
    BadFrame(String),
    /// A push was acknowledged (after its commit) with this many documents.
    Acknowledged {
        documents: usize,
    },
    /// A catch-up ended: the documents and change bytes it sent in all.
    CaughtUp {
        documents: usize,
        bytes: usize,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum HubSessionError<E: std::fmt::Display> {
    #[error("hub storage: {0}")]
    Store(E),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitingHello,
    CatchingUp,
    Live,
    Closed,
}

#[derive(Debug)]
pub struct HubSession {
    phase: Phase,
    device: Option<DeviceIdentity>,
    hub: Option<HubId>,
    /// Everything in scope up to here has been sent (or was on the device).
    sent_upto: u64,
    /// The checkpoint the current catch-up started from.
    catchup_from: u64,
    /// The highest relevant commit seen on the live feed during catch-up.
    live_seen: u64,
    /// Documents and bytes the current catch-up has sent so far.
    catchup_sent: (usize, usize),
    /// The hub's items for the reconciliation in progress.
    items: Option<Vec<Item>>,
    outbox: std::collections::VecDeque<Vec<u8>>,
    events: std::collections::VecDeque<HubEvent>,
}

impl Default for HubSession {
    fn default() -> Self {
        Self::new()
    }
}

impl HubSession {
    pub fn new() -> Self {
        Self {
            phase: Phase::AwaitingHello,
            device: None,
            hub: None,
            sent_upto: 0,
            catchup_from: 0,
            live_seen: 0,
            catchup_sent: (0, 0),
            items: None,
            outbox: Default::default(),
            events: Default::default(),
        }
    }

    pub fn device(&self) -> Option<&DeviceIdentity> {
        self.device.as_ref()
    }

    /// The session ended (refused or broken); the driver closes the socket
    /// once the outbox is sent.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Every change in scope up to this sequence number has been sent.
    pub fn sent_upto(&self) -> u64 {
        self.sent_upto
    }

    pub fn is_catching_up(&self) -> bool {
        self.phase == Phase::CatchingUp
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.outbox.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<HubEvent> {
        self.events.pop_front()
    }

    fn send(&mut self, message: Message) {
        self.outbox.push_back(message.encode());
    }

    fn fail(&mut self, code: ErrorCode, message: String) {
        self.events.push_back(HubEvent::BadFrame(message.clone()));
        self.send(Message::Error(ErrorMessage {
            code,
            message,
            fatal: true,
        }));
        self.phase = Phase::Closed;
    }

    fn checkpoint(&self, seq: u64) -> Option<Checkpoint> {
        self.hub.map(|hub| Checkpoint { hub, seq })
    }

    pub fn handle_frame<S: HubStore>(
        &mut self,
        frame: &[u8],
        store: &mut S,
    ) -> Result<(), HubSessionError<S::Error>> {
        if self.phase == Phase::Closed {
            return Ok(());
        }
        let message = match Message::decode(frame) {
            Ok(m) => m,
            Err(e) => {
                let code = match e {
                    DecodeError::VersionMismatch { .. } => ErrorCode::VersionMismatch,
                    DecodeError::TooLarge { .. } => ErrorCode::TooLarge,
                    _ => ErrorCode::Malformed,
                };
                self.fail(code, e.to_string());
                return Ok(());
            }
        };
        match (message, self.phase) {
            (Message::Hello(hello), Phase::AwaitingHello) => self.on_hello(hello, store)?,
            // A duplicated hello on an authenticated connection changes nothing.
            (Message::Hello(hello), Phase::CatchingUp | Phase::Live)
                if self.device.is_some()
                    && store
                        .authenticate(&hello)
                        .map_err(HubSessionError::Store)?
                        .ok()
                        .as_ref()
                        == self.device.as_ref() => {}
            (Message::Push(push), Phase::CatchingUp | Phase::Live) => self.on_push(push, store)?,
            (Message::Reconcile(request), Phase::CatchingUp | Phase::Live) => {
                let Some(device) = &self.device else {
                    return Ok(());
                };
                if request.round == 1 || self.items.is_none() {
                    let mut items = store.items(device).map_err(HubSessionError::Store)?;
                    items.sort();
                    self.items = Some(items);
                }
                let items = self.items.as_deref().unwrap_or_default();
                let reply: Ranges = reconcile::answer_round(items, &request);
                if reply.replies.is_empty() {
                    self.items = None;
                }
                self.send(Message::Ranges(reply));
            }
            (Message::Repair(Repair { docs }), Phase::CatchingUp | Phase::Live) => {
                let Some(device) = &self.device else {
                    return Ok(());
                };
                self.items = None;
                let (changes, heads) = store
                    .repair(device, &docs)
                    .map_err(HubSessionError::Store)?;
                for frame in frames_of(changes) {
                    self.send(Message::Changes(Changes {
                        docs: frame,
                        upto: None,
                        caught_up: false,
                    }));
                }
                self.send(Message::RepairHeads(RepairHeads { docs: heads }));
            }
            (Message::Error(error), _) => {
                self.events.push_back(HubEvent::BadFrame(format!(
                    "device reported: {}",
                    error.message
                )));
                if error.fatal {
                    self.phase = Phase::Closed;
                }
            }
            (message, phase) => {
                let what = match phase {
                    Phase::AwaitingHello => "before hello",
                    _ => "from a device",
                };
                self.fail(
                    ErrorCode::UnexpectedMessage,
                    format!("unexpected '{}' {what}", message.name()),
                );
            }
        }
        Ok(())
    }

    fn on_hello<S: HubStore>(
        &mut self,
        hello: Hello,
        store: &mut S,
    ) -> Result<(), HubSessionError<S::Error>> {
        let hub = store.hub_id();
        match store.authenticate(&hello).map_err(HubSessionError::Store)? {
            Err(refusal) => {
                self.events
                    .push_back(HubEvent::BadFrame(refusal.message.clone()));
                self.send(Message::Error(refusal));
                self.phase = Phase::Closed;
            }
            Ok(device) => {
                let resumed = hello.since.is_some_and(|c| c.hub == hub);
                self.sent_upto = if resumed {
                    hello.since.map_or(0, |c| c.seq)
                } else {
                    0
                };
                self.catchup_from = self.sent_upto;
                self.catchup_sent = (0, 0);
                self.hub = Some(hub);
                self.send(Message::Welcome(Welcome {
                    hub,
                    device: device.device_id.clone(),
                    unit: device.unit.clone(),
                    code_slots: device.code_slots.clone(),
                    resumed,
                    hub_time: store.now(),
                    hub_depth: store.depth(),
                }));
                self.events
                    .push_back(HubEvent::Authenticated(device.clone()));
                self.device = Some(device);
                self.phase = Phase::CatchingUp;
            }
        }
        Ok(())
    }

    fn on_push<S: HubStore>(
        &mut self,
        push: Push,
        store: &mut S,
    ) -> Result<(), HubSessionError<S::Error>> {
        let Some(device) = &self.device else {
            return Ok(());
        };
        let batch = push.batch;
        let (results, committed) = store
            .commit_push(device, push)
            .map_err(HubSessionError::Store)?;
        for r in &results {
            if let super::protocol::DocOutcome::Refused { reason, message } = &r.outcome {
                self.events.push_back(HubEvent::Refused {
                    doc: r.doc,
                    reason: *reason,
                    message: message.clone(),
                });
            }
        }
        let documents = results.len();
        self.send(Message::Ack(Ack { batch, results }));
        self.events.push_back(HubEvent::Acknowledged { documents });
        if !committed.is_empty() {
            self.events.push_back(HubEvent::Committed(committed));
        }
        Ok(())
    }

    /// Produces the next catch-up frame, if the session is catching up.
    /// Returns whether more catch-up frames will follow.
    pub fn poll_catchup<S: HubStore>(
        &mut self,
        store: &mut S,
    ) -> Result<bool, HubSessionError<S::Error>> {
        if self.phase != Phase::CatchingUp {
            return Ok(false);
        }
        let Some(device) = &self.device else {
            return Ok(false);
        };
        let page = store
            .changes_since(
                device,
                self.catchup_from,
                self.sent_upto,
                limits::TARGET_FRAME_BYTES,
            )
            .map_err(HubSessionError::Store)?;
        self.sent_upto = self.sent_upto.max(page.upto);
        // Commits seen on the live feed while this page was read may not be
        // in it: read again before going live.
        let finished = page.done && self.live_seen <= self.sent_upto;
        self.catchup_sent.0 += page.docs.len();
        self.catchup_sent.1 += page.docs.iter().map(|d| d.bytes.len()).sum::<usize>();
        if !page.docs.is_empty() || finished {
            // Until the last page, a document still to come may have changes
            // older than this page's end: the device's checkpoint stays where
            // the catch-up started, so a cut connection resumes from there.
            let checkpoint = if finished {
                self.sent_upto
            } else {
                self.catchup_from
            };
            self.send(Message::Changes(Changes {
                docs: page.docs,
                upto: self.checkpoint(checkpoint),
                caught_up: finished,
            }));
        }
        if finished {
            self.phase = Phase::Live;
            let (documents, bytes) = std::mem::take(&mut self.catchup_sent);
            self.events
                .push_back(HubEvent::CaughtUp { documents, bytes });
        }
        Ok(!finished)
    }

    /// Another connection committed changes.
    pub fn on_committed(&mut self, committed: &Committed) {
        let Some(device) = &self.device else { return };
        if committed.origin == device.device_id
            || !committed.unit.as_ref().is_none_or(|u| device.may_see(u))
        {
            // Nothing to send, but this device is no further behind for it.
            if self.phase == Phase::Live && committed.seq > self.sent_upto {
                self.sent_upto = committed.seq;
            }
            return;
        }
        match self.phase {
            Phase::CatchingUp => self.live_seen = self.live_seen.max(committed.seq),
            Phase::Live if committed.seq > self.sent_upto => {
                self.sent_upto = committed.seq;
                let docs = vec![DocChanges {
                    doc: committed.doc,
                    bytes: committed.bytes.to_vec(),
                }];
                self.send(Message::Changes(Changes {
                    docs,
                    upto: self.checkpoint(committed.seq),
                    caught_up: false,
                }));
            }
            _ => {}
        }
    }

    /// The live feed overflowed for this connection: catch up from the last
    /// change sent.
    pub fn on_lagged(&mut self) {
        if self.phase == Phase::Live {
            self.phase = Phase::CatchingUp;
            // The missed commits were durable before they were announced, so
            // the next read from the store has them; only commits announced
            // from now on may need another read. (Marking "seen" as the
            // largest sequence number kept the session catching up forever,
            // reading the store in a loop and forwarding nothing live.)
            self.live_seen = self.sent_upto;
            self.catchup_from = self.sent_upto;
            self.catchup_sent = (0, 0);
        }
    }
}

/// Splits documents' changes into frames of about the target size.
pub fn frames_of(docs: Vec<DocChanges>) -> Vec<Vec<DocChanges>> {
    let mut frames = Vec::new();
    let mut current = Vec::new();
    let mut size = 0;
    for doc in docs {
        size += doc.bytes.len() + 24;
        current.push(doc);
        if size >= limits::TARGET_FRAME_BYTES {
            frames.push(std::mem::take(&mut current));
            size = 0;
        }
    }
    if !current.is_empty() {
        frames.push(current);
    }
    frames
}

/// A document's changes that passed every check.
#[derive(Debug, Clone)]
pub struct Admitted {
    /// The document after the changes.
    pub doc: Automerge,
    pub dossier: Dossier,
    /// The changes the hub did not have, as raw change chunks.
    pub new_changes: Vec<u8>,
}

impl Admitted {
    pub fn is_new_information(&self) -> bool {
        !self.new_changes.is_empty()
    }
}

/// Checks a device's changes to one document against the hub's copy
/// (`None` when the hub does not have it or the device may not see it).
pub fn admit(
    existing: Option<&Automerge>,
    incoming: &[u8],
    device: &DeviceIdentity,
) -> Result<Admitted, (Refusal, String)> {
    if incoming.len() > limits::MAX_DOC_BYTES {
        return Err((
            Refusal::TooLarge,
            format!(
                "{} bytes exceed the document limit of {}",
                incoming.len(),
                limits::MAX_DOC_BYTES
            ),
        ));
    }
    let mut doc = existing.cloned().unwrap_or_default();
    let before_heads = doc.get_heads();
    doc.load_incremental(incoming)
        .map_err(|e| (Refusal::Corrupt, format!("not Automerge data: {e}")))?;
    let missing = doc.get_missing_deps(&[]);
    if !missing.is_empty() {
        return Err((
            Refusal::MissingDependencies,
            format!(
                "{} earlier changes are missing; push the whole document",
                missing.len()
            ),
        ));
    }
    let new_changes = doc.get_changes(&before_heads);
    if let Some(foreign) = new_changes
        .iter()
        .find(|c| !device.actors.contains(c.actor_id()))
    {
        return Err((
            Refusal::ForeignActor,
            format!(
                "change signed by actor {} which is not bound to device {}",
                foreign.actor_id(),
                device.device_id
            ),
        ));
    }
    let new_bytes = if new_changes.is_empty() {
        Vec::new()
    } else {
        doc.save_after(&before_heads)
    };
    let dossier = DossierDoc::read_from(&doc).map_err(|e| (Refusal::Invalid, e.to_string()))?;
    if !device.may_see(&dossier.unit) {
        return Err((Refusal::NotFound, not_found_message()));
    }
    if let Some(before) = existing {
        let before = DossierDoc::read_from(before).map_err(|e| {
            (
                Refusal::Invalid,
                format!("the hub's copy does not validate: {e}"),
            )
        })?;
        validate_update(&before, &dossier).map_err(|e| (Refusal::Invalid, e.to_string()))?;
    }
    Ok(Admitted {
        doc,
        dossier,
        new_changes: new_bytes,
    })
}

/// The one message for a document the device may not see and for one that
/// does not exist, so that the two cannot be told apart.
pub fn not_found_message() -> String {
    "no such document in this device's scope".to_string()
}
