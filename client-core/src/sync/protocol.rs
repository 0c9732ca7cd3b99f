//! The sync protocol's messages and their binary encoding.
//!
//! One WebSocket binary message carries one frame:
//!
//! ```text
//! frame := "MC" version:u8 kind:u8 body
//! ```
//!
//! A body of [`COMPRESS_FROM`] bytes or more travels deflated, with the
//! kind's top bit ([`DEFLATED`]) set, when that makes it smaller: dossiers
//! share their field names, actors and procedure texts, so many documents
//! in one frame compress several times better than each one alone. The
//! inflated body is held to the same limit as a frame.
//!
//! Bodies use unsigned LEB128 integers, length-prefixed byte strings and
//! fixed-size ids. The decoder checks every length against the bytes that are
//! actually left before it allocates, and every count against the limits in
//! [`limits`], so a hostile frame costs at most its own size.
//!
//! A peer that receives a frame of another protocol version answers with an
//! [`Message::Error`] of code [`ErrorCode::VersionMismatch`]; the error frame's
//! layout is the same in every version so that the message can be read.
//!
//! The exchange, device (D) and hub (H):
//!
//! ```text
//! D: Hello{token, since}        D: Push{batch, docs}…      (pipelined)
//! H: Welcome{hub, unit, slots}  H: Changes{docs, upto}…  Changes{caught_up}
//! H: Ack{batch, results}…                               (after the SQLite commit)
//! D: Reconcile{ranges}          H: Ranges{…}           (anti-entropy, ≥ 1 round)
//! D: Repair{doc heads}          H: Changes{…} RepairHeads{…}   (only if they differ)
//! …then live: Push/Ack from D, Changes from H as others write.
//! ```

use automerge::ChangeHash;

use crate::ids::{DocId, UnitCode};

/// The protocol version this build speaks (2: bodies may be deflated).
pub const PROTOCOL_VERSION: u8 = 2;
/// Bodies at least this long are deflated when that makes them smaller; a
/// live change of a few hundred bytes goes as it is.
pub const COMPRESS_FROM: usize = 1024;
/// Set in the kind byte of a frame whose body is deflated.
pub const DEFLATED: u8 = 0x80;
const MAGIC: [u8; 2] = *b"MC";

/// Sizes that bound what one peer can make the other hold.
pub mod limits {
    /// Largest frame either side accepts.
    pub const MAX_FRAME_BYTES: usize = 8 * 1024 * 1024;
    /// Largest encoded document (all its changes) a device may push.
    pub const MAX_DOC_BYTES: usize = 2 * 1024 * 1024;
    /// Frames are filled up to this size before a new one starts.
    pub const TARGET_FRAME_BYTES: usize = 1024 * 1024;
    pub const MAX_ITEMS_PER_FRAME: usize = 100_000;
    pub const MAX_HEADS: usize = 64;
    pub const MAX_TEXT: usize = 4096;
}

/// A hub's identity. A checkpoint from another hub (or from a hub whose
/// database was replaced) is ignored and the device catches up in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HubId(pub [u8; 16]);

impl std::fmt::Display for HubId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// How far a replica has received a hub's changes: every change in its scope
/// with a sequence number up to `seq` is stored on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    pub hub: HubId,
    pub seq: u64,
}

/// Changes for one document: Automerge change chunks or a saved document,
/// concatenated (both load with `load_incremental`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocChanges {
    pub doc: DocId,
    pub bytes: Vec<u8>,
}

/// A 16-byte digest of a document's heads, compared during anti-entropy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct HeadsDigest(pub [u8; 16]);

impl HeadsDigest {
    pub fn of(heads: &[ChangeHash]) -> Self {
        use sha2::Digest;
        let mut sorted: Vec<&ChangeHash> = heads.iter().collect();
        sorted.sort();
        let mut hasher = sha2::Sha256::new();
        for h in sorted {
            hasher.update(h.0);
        }
        let mut out = [0u8; 16];
        out.copy_from_slice(&hasher.finalize()[..16]);
        Self(out)
    }
}

/// Device → hub: who I am and what I already have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub token: String,
    pub since: Option<Checkpoint>,
    /// Automerge actors this device signs with; bound to it on first use.
    pub actors: Vec<Vec<u8>>,
    /// Software name and version, for the hub's log.
    pub agent: String,
}

/// Hub → device: accepted; here is what you are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Welcome {
    pub hub: HubId,
    pub device: String,
    pub unit: UnitCode,
    /// The dossier code slots this device issues numbers from.
    pub code_slots: Vec<u8>,
    /// Whether the device's checkpoint was accepted (else a full catch-up).
    pub resumed: bool,
    pub hub_time: i64,
    /// How many hubs sit above this one (0 for the top hub). A hub syncing
    /// upward takes one more; dossier code slots are partitioned by depth.
    pub hub_depth: u8,
}

/// Device → hub: changes the hub has not acknowledged yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// Chosen by the device; echoed in the [`Ack`].
    pub batch: u64,
    pub docs: Vec<DocChanges>,
}

/// Why the hub refused a document's changes. The device keeps them and shows
/// the reason; the hub keeps a copy in quarantine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// Outside the device's scope, or unknown: the two look the same.
    NotFound = 1,
    /// Signed by an Automerge actor that is not bound to this device.
    ForeignActor = 2,
    /// The document does not validate; the message names the field.
    Invalid = 3,
    /// Another dossier already has this code.
    DuplicateCode = 4,
    /// The changes depend on changes the hub does not have: push from the start.
    MissingDependencies = 5,
    TooLarge = 6,
    /// Configuration documents are published by the top hub only.
    ReadOnly = 7,
    /// The bytes are not Automerge data.
    Corrupt = 8,
}

impl Refusal {
    fn from_code(code: u64) -> Option<Self> {
        Some(match code {
            1 => Refusal::NotFound,
            2 => Refusal::ForeignActor,
            3 => Refusal::Invalid,
            4 => Refusal::DuplicateCode,
            5 => Refusal::MissingDependencies,
            6 => Refusal::TooLarge,
            7 => Refusal::ReadOnly,
            8 => Refusal::Corrupt,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::NotFound => "not_found",
            Refusal::ForeignActor => "foreign_actor",
            Refusal::Invalid => "invalid",
            Refusal::DuplicateCode => "duplicate_code",
            Refusal::MissingDependencies => "missing_dependencies",
            Refusal::TooLarge => "too_large",
            Refusal::ReadOnly => "read_only",
            Refusal::Corrupt => "corrupt",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocOutcome {
    /// Durable at the hub, which now has these heads for the document.
    Accepted {
        heads: Vec<ChangeHash>,
    },
    Refused {
        reason: Refusal,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocResult {
    pub doc: DocId,
    pub outcome: DocOutcome,
}

/// Hub → device, sent only after the push is committed to the hub's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub batch: u64,
    pub results: Vec<DocResult>,
}

/// Hub → device: changes made elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    pub docs: Vec<DocChanges>,
    /// Once these are stored, the device's checkpoint may move here.
    pub upto: Option<Checkpoint>,
    /// The catch-up is complete; what follows is live.
    pub caught_up: bool,
}

/// A half-open range `[lo, hi)` of document ids; `hi = None` is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub lo: DocId,
    pub hi: Option<DocId>,
}

impl Range {
    pub const ALL: Range = Range {
        lo: DocId::MIN,
        hi: None,
    };

    pub fn contains(&self, id: &DocId) -> bool {
        *id >= self.lo && self.hi.is_none_or(|hi| *id < hi)
    }
}

/// A summary of the documents in a range: how many, and a fingerprint of
/// their ids and heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeFingerprint {
    pub range: Range,
    pub count: u64,
    pub fingerprint: [u8; 16],
}

/// Device → hub: "here is what I have in these ranges".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconcile {
    pub round: u32,
    pub ranges: Vec<RangeFingerprint>,
}

/// One range's answer from the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeReply {
    /// The hub's summaries of sub-ranges, to compare further.
    Split(Vec<RangeFingerprint>),
    /// Few enough documents to list: the hub's ids and digests in the range.
    Items {
        range: Range,
        items: Vec<(DocId, HeadsDigest)>,
    },
}

/// Hub → device: the answer to a [`Reconcile`] round. Ranges that matched
/// are left out; an empty reply means the replicas agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranges {
    pub round: u32,
    pub replies: Vec<RangeReply>,
}

/// Device → hub: documents that differ, with the device's heads (empty when
/// the device does not have the document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    pub docs: Vec<(DocId, Vec<ChangeHash>)>,
}

/// Hub → device: the hub's heads for repaired documents, after the changes
/// the device lacked were sent in a [`Changes`]. Documents the hub does not
/// have (or does not show this device) come back with no heads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairHeads {
    pub docs: Vec<(DocId, Vec<ChangeHash>)>,
}

/// Error codes; the text says what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    VersionMismatch = 1,
    Unauthorized = 2,
    Malformed = 3,
    TooLarge = 4,
    UnexpectedMessage = 5,
    Internal = 6,
    Revoked = 7,
}

impl ErrorCode {
    fn from_code(code: u64) -> Self {
        match code {
            1 => ErrorCode::VersionMismatch,
            2 => ErrorCode::Unauthorized,
            3 => ErrorCode::Malformed,
            4 => ErrorCode::TooLarge,
            5 => ErrorCode::UnexpectedMessage,
            7 => ErrorCode::Revoked,
            _ => ErrorCode::Internal,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorMessage {
    pub code: ErrorCode,
    pub message: String,
    /// The sender closes the connection after a fatal error.
    pub fatal: bool,
}

/// Every message of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Hello(Hello),
    Welcome(Welcome),
    Push(Push),
    Ack(Ack),
    Changes(Changes),
    Reconcile(Reconcile),
    Ranges(Ranges),
    Repair(Repair),
    RepairHeads(RepairHeads),
    Error(ErrorMessage),
}

mod kind {
    pub const ERROR: u8 = 0;
    pub const HELLO: u8 = 1;
    pub const WELCOME: u8 = 2;
    pub const PUSH: u8 = 3;
    pub const ACK: u8 = 4;
    pub const CHANGES: u8 = 5;
    pub const RECONCILE: u8 = 6;
    pub const RANGES: u8 = 7;
    pub const REPAIR: u8 = 8;
    pub const REPAIR_HEADS: u8 = 9;
}

/// A whole frame, its body deflated when it is long and that makes it
/// smaller. Error frames stay plain: every version must read them.
fn deflate_body(frame: Vec<u8>) -> Vec<u8> {
    use std::io::Write;
    let body = &frame[4..];
    if body.len() < COMPRESS_FROM || frame[3] == kind::ERROR {
        return frame;
    }
    let mut out = Vec::with_capacity(body.len() / 3 + 4);
    out.extend_from_slice(&frame[..3]);
    out.push(frame[3] | DEFLATED);
    let mut encoder = flate2::write::DeflateEncoder::new(out, flate2::Compression::default());
    // Writing into a Vec cannot fail.
    match encoder.write_all(body).and_then(|()| encoder.finish()) {
        Ok(out) if out.len() < frame.len() => out,
        _ => frame,
    }
}

/// Inflates a deflated body, never beyond the frame limit: a small frame
/// that would inflate to gigabytes is refused once it passes the limit.
fn inflate_body(deflated: &[u8]) -> Result<Vec<u8>, DecodeError> {
    use std::io::Read;
    let limit = limits::MAX_FRAME_BYTES;
    let mut body = Vec::with_capacity((deflated.len() * 4).min(limit));
    flate2::read::DeflateDecoder::new(deflated)
        .take(limit as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| DecodeError::BadCompression(e.to_string()))?;
    if body.len() > limit {
        return Err(DecodeError::TooLarge {
            size: body.len(),
            limit,
        });
    }
    Ok(body)
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not a Một Cửa Sync frame (bad magic bytes)")]
    BadMagic,
    #[error(
        "the peer speaks protocol version {theirs}, this software speaks {ours}; update the older side"
    )]
    VersionMismatch { theirs: u8, ours: u8 },
    #[error("unknown message kind {0}")]
    UnknownKind(u8),
    #[error("frame of {size} bytes is larger than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("frame is truncated: {0}")]
    Truncated(&'static str),
    #[error("frame's deflated body does not inflate: {0}")]
    BadCompression(String),
    #[error("frame is malformed: {0}")]
    Malformed(&'static str),
    #[error("frame has {0} bytes left over after the message")]
    TrailingBytes(usize),
}

impl Message {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.buf.extend_from_slice(&MAGIC);
        w.buf.push(PROTOCOL_VERSION);
        match self {
            Message::Error(m) => {
                w.buf.push(kind::ERROR);
                w.uint(m.code as u64);
                w.str(&m.message);
                w.bool(m.fatal);
            }
            Message::Hello(m) => {
                w.buf.push(kind::HELLO);
                w.str(&m.token);
                w.checkpoint(m.since);
                w.uint(m.actors.len() as u64);
                for a in &m.actors {
                    w.bytes(a);
                }
                w.str(&m.agent);
            }
            Message::Welcome(m) => {
                w.buf.push(kind::WELCOME);
                w.buf.extend_from_slice(&m.hub.0);
                w.str(&m.device);
                w.str(m.unit.as_str());
                w.bytes(&m.code_slots);
                w.bool(m.resumed);
                w.int(m.hub_time);
                w.buf.push(m.hub_depth);
            }
            Message::Push(m) => {
                w.buf.push(kind::PUSH);
                w.uint(m.batch);
                w.doc_changes(&m.docs);
            }
            Message::Ack(m) => {
                w.buf.push(kind::ACK);
                w.uint(m.batch);
                w.uint(m.results.len() as u64);
                for r in &m.results {
                    w.doc_id(&r.doc);
                    match &r.outcome {
                        DocOutcome::Accepted { heads } => {
                            w.uint(0);
                            w.heads(heads);
                        }
                        DocOutcome::Refused { reason, message } => {
                            w.uint(*reason as u64);
                            w.str(message);
                        }
                    }
                }
            }
            Message::Changes(m) => {
                w.buf.push(kind::CHANGES);
                w.doc_changes(&m.docs);
                w.checkpoint(m.upto);
                w.bool(m.caught_up);
            }
            Message::Reconcile(m) => {
                w.buf.push(kind::RECONCILE);
                w.uint(u64::from(m.round));
                w.uint(m.ranges.len() as u64);
                for r in &m.ranges {
                    w.fingerprint(r);
                }
            }
            Message::Ranges(m) => {
                w.buf.push(kind::RANGES);
                w.uint(u64::from(m.round));
                w.uint(m.replies.len() as u64);
                for reply in &m.replies {
                    match reply {
                        RangeReply::Split(parts) => {
                            w.uint(0);
                            w.uint(parts.len() as u64);
                            for p in parts {
                                w.fingerprint(p);
                            }
                        }
                        RangeReply::Items { range, items } => {
                            w.uint(1);
                            w.range(range);
                            w.uint(items.len() as u64);
                            for (id, digest) in items {
                                w.doc_id(id);
                                w.buf.extend_from_slice(&digest.0);
                            }
                        }
                    }
                }
            }
            Message::Repair(m) => {
                w.buf.push(kind::REPAIR);
                w.doc_heads(&m.docs);
            }
            Message::RepairHeads(m) => {
                w.buf.push(kind::REPAIR_HEADS);
                w.doc_heads(&m.docs);
            }
        }
        deflate_body(w.buf)
    }

    pub fn decode(frame: &[u8]) -> Result<Message, DecodeError> {
        if frame.len() > limits::MAX_FRAME_BYTES {
            return Err(DecodeError::TooLarge {
                size: frame.len(),
                limit: limits::MAX_FRAME_BYTES,
            });
        }
        if frame.len() < 4 {
            return Err(DecodeError::Truncated("header"));
        }
        if frame[..2] != MAGIC {
            return Err(DecodeError::BadMagic);
        }
        let (version, kind) = (frame[2], frame[3]);
        let inflated;
        let (kind, body) = if kind & DEFLATED != 0 && version == PROTOCOL_VERSION {
            inflated = inflate_body(&frame[4..])?;
            (kind & !DEFLATED, &inflated[..])
        } else {
            (kind, &frame[4..])
        };
        let mut r = Reader { buf: body };
        // Error frames read the same in every version, so a version mismatch
        // can still be explained to the older side.
        if kind == kind::ERROR {
            let code = ErrorCode::from_code(r.uint()?);
            let message = r.str()?;
            let fatal = r.bool()?;
            r.finish()?;
            return Ok(Message::Error(ErrorMessage {
                code,
                message,
                fatal,
            }));
        }
        if version != PROTOCOL_VERSION {
            return Err(DecodeError::VersionMismatch {
                theirs: version,
                ours: PROTOCOL_VERSION,
            });
        }
        let message = match kind {
            kind::HELLO => Message::Hello(Hello {
                token: r.str()?,
                since: r.checkpoint()?,
                actors: {
                    // Each actor takes at least two bytes (a length and one
                    // byte); a larger bound refused hellos with short actors.
                    let n = r.count(2)?;
                    let mut actors = Vec::with_capacity(n);
                    for _ in 0..n {
                        let actor = r.bytes()?;
                        if actor.is_empty() || actor.len() > 32 {
                            return Err(DecodeError::Malformed("actor id must be 1 to 32 bytes"));
                        }
                        actors.push(actor.to_vec());
                    }
                    actors
                },
                agent: r.str()?,
            }),
            kind::WELCOME => Message::Welcome(Welcome {
                hub: HubId(r.array()?),
                device: r.str()?,
                unit: UnitCode::parse(&r.str()?)
                    .map_err(|_| DecodeError::Malformed("unit code"))?,
                code_slots: r.bytes()?.to_vec(),
                resumed: r.bool()?,
                hub_time: r.int()?,
                hub_depth: r.take(1, "hub depth")?[0],
            }),
            kind::PUSH => Message::Push(Push {
                batch: r.uint()?,
                docs: r.doc_changes()?,
            }),
            kind::ACK => {
                let batch = r.uint()?;
                let n = r.count(17)?;
                let mut results = Vec::with_capacity(n);
                for _ in 0..n {
                    let doc = r.doc_id()?;
                    let outcome = match r.uint()? {
                        0 => DocOutcome::Accepted { heads: r.heads()? },
                        code => DocOutcome::Refused {
                            reason: Refusal::from_code(code)
                                .ok_or(DecodeError::Malformed("refusal code"))?,
                            message: r.str()?,
                        },
                    };
                    results.push(DocResult { doc, outcome });
                }
                Message::Ack(Ack { batch, results })
            }
            kind::CHANGES => Message::Changes(Changes {
                docs: r.doc_changes()?,
                upto: r.checkpoint()?,
                caught_up: r.bool()?,
            }),
            kind::RECONCILE => {
                let round = r.u32()?;
                let n = r.count(34)?;
                let mut ranges = Vec::with_capacity(n);
                for _ in 0..n {
                    ranges.push(r.fingerprint()?);
                }
                Message::Reconcile(Reconcile { round, ranges })
            }
            kind::RANGES => {
                let round = r.u32()?;
                let n = r.count(2)?;
                let mut replies = Vec::with_capacity(n);
                for _ in 0..n {
                    replies.push(match r.uint()? {
                        0 => {
                            let m = r.count(34)?;
                            let mut parts = Vec::with_capacity(m);
                            for _ in 0..m {
                                parts.push(r.fingerprint()?);
                            }
                            RangeReply::Split(parts)
                        }
                        1 => {
                            let range = r.range()?;
                            let m = r.count(32)?;
                            let mut items = Vec::with_capacity(m);
                            for _ in 0..m {
                                items.push((r.doc_id()?, HeadsDigest(r.array()?)));
                            }
                            RangeReply::Items { range, items }
                        }
                        _ => return Err(DecodeError::Malformed("range reply kind")),
                    });
                }
                Message::Ranges(Ranges { round, replies })
            }
            kind::REPAIR => Message::Repair(Repair {
                docs: r.doc_heads()?,
            }),
            kind::REPAIR_HEADS => Message::RepairHeads(RepairHeads {
                docs: r.doc_heads()?,
            }),
            other => return Err(DecodeError::UnknownKind(other)),
        };
        r.finish()?;
        Ok(message)
    }

    /// A short name for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Message::Hello(_) => "hello",
            Message::Welcome(_) => "welcome",
            Message::Push(_) => "push",
            Message::Ack(_) => "ack",
            Message::Changes(_) => "changes",
            Message::Reconcile(_) => "reconcile",
            Message::Ranges(_) => "ranges",
            Message::Repair(_) => "repair",
            Message::RepairHeads(_) => "repair_heads",
            Message::Error(_) => "error",
        }
    }
}

#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn uint(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(byte);
                return;
            }
            self.buf.push(byte | 0x80);
        }
    }

    fn int(&mut self, v: i64) {
        // Zig-zag, so small negative numbers stay small.
        self.uint(((v << 1) ^ (v >> 63)) as u64);
    }

    fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    fn bytes(&mut self, v: &[u8]) {
        self.uint(v.len() as u64);
        self.buf.extend_from_slice(v);
    }

    fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }

    fn doc_id(&mut self, id: &DocId) {
        self.buf.extend_from_slice(id.as_bytes());
    }

    fn checkpoint(&mut self, c: Option<Checkpoint>) {
        match c {
            None => self.bool(false),
            Some(c) => {
                self.bool(true);
                self.buf.extend_from_slice(&c.hub.0);
                self.uint(c.seq);
            }
        }
    }

    fn heads(&mut self, heads: &[ChangeHash]) {
        self.uint(heads.len() as u64);
        for h in heads {
            self.buf.extend_from_slice(&h.0);
        }
    }

    fn doc_changes(&mut self, docs: &[DocChanges]) {
        self.uint(docs.len() as u64);
        for d in docs {
            self.doc_id(&d.doc);
            self.bytes(&d.bytes);
        }
    }

    fn doc_heads(&mut self, docs: &[(DocId, Vec<ChangeHash>)]) {
        self.uint(docs.len() as u64);
        for (id, heads) in docs {
            self.doc_id(id);
            self.heads(heads);
        }
    }

    fn range(&mut self, r: &Range) {
        self.doc_id(&r.lo);
        match &r.hi {
            None => self.bool(false),
            Some(hi) => {
                self.bool(true);
                self.doc_id(hi);
            }
        }
    }

    fn fingerprint(&mut self, f: &RangeFingerprint) {
        self.range(&f.range);
        self.uint(f.count);
        self.buf.extend_from_slice(&f.fingerprint);
    }
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated(what));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn uint(&mut self) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1, "integer")?[0];
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(DecodeError::Malformed("integer overflows 64 bits"));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::Malformed("integer longer than 10 bytes"))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.uint()?).map_err(|_| DecodeError::Malformed("number too large"))
    }

    fn int(&mut self) -> Result<i64, DecodeError> {
        let v = self.uint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.take(1, "flag")?[0] {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::Malformed("flag must be 0 or 1")),
        }
    }

    /// A count of items that each take at least `min_item_bytes`: refused
    /// before allocating when the frame cannot possibly hold them.
    fn count(&mut self, min_item_bytes: usize) -> Result<usize, DecodeError> {
        let n = self.uint()?;
        let n = usize::try_from(n).map_err(|_| DecodeError::Malformed("count too large"))?;
        if n > limits::MAX_ITEMS_PER_FRAME || n.saturating_mul(min_item_bytes) > self.buf.len() {
            return Err(DecodeError::Malformed("count exceeds what the frame holds"));
        }
        Ok(n)
    }

    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = usize::try_from(self.uint()?)
            .map_err(|_| DecodeError::Malformed("length too large"))?;
        self.take(n, "byte string")
    }

    fn str(&mut self) -> Result<String, DecodeError> {
        let bytes = self.bytes()?;
        if bytes.len() > limits::MAX_TEXT {
            return Err(DecodeError::Malformed("text longer than the limit"));
        }
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| DecodeError::Malformed("text is not UTF-8"))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, "fixed-size field")?);
        Ok(out)
    }

    fn doc_id(&mut self) -> Result<DocId, DecodeError> {
        Ok(DocId::from_bytes(self.array()?))
    }

    fn checkpoint(&mut self) -> Result<Option<Checkpoint>, DecodeError> {
        if !self.bool()? {
            return Ok(None);
        }
        Ok(Some(Checkpoint {
            hub: HubId(self.array()?),
            seq: self.uint()?,
        }))
    }

    fn heads(&mut self) -> Result<Vec<ChangeHash>, DecodeError> {
        let n = self.count(32)?;
        if n > limits::MAX_HEADS {
            return Err(DecodeError::Malformed("too many heads"));
        }
        (0..n).map(|_| Ok(ChangeHash(self.array()?))).collect()
    }

    fn doc_changes(&mut self) -> Result<Vec<DocChanges>, DecodeError> {
        let n = self.count(17)?;
        let mut docs = Vec::with_capacity(n);
        for _ in 0..n {
            let doc = self.doc_id()?;
            let bytes = self.bytes()?.to_vec();
            docs.push(DocChanges { doc, bytes });
        }
        Ok(docs)
    }

    fn doc_heads(&mut self) -> Result<Vec<(DocId, Vec<ChangeHash>)>, DecodeError> {
        let n = self.count(17)?;
        let mut docs = Vec::with_capacity(n);
        for _ in 0..n {
            docs.push((self.doc_id()?, self.heads()?));
        }
        Ok(docs)
    }

    fn range(&mut self) -> Result<Range, DecodeError> {
        let lo = self.doc_id()?;
        let hi = if self.bool()? {
            Some(self.doc_id()?)
        } else {
            None
        };
        Ok(Range { lo, hi })
    }

    fn fingerprint(&mut self) -> Result<RangeFingerprint, DecodeError> {
        Ok(RangeFingerprint {
            range: self.range()?,
            count: self.uint()?,
            fingerprint: self.array()?,
        })
    }

    fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes(self.buf.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn id(n: u8) -> DocId {
        DocId::from_bytes([n; 16])
    }

    fn samples() -> Vec<Message> {
        let hub = HubId([7; 16]);
        vec![
            Message::Hello(Hello {
                token: "tok".into(),
                since: Some(Checkpoint { hub, seq: 12345 }),
                actors: vec![vec![1; 16]],
                agent: "motcua/0.1".into(),
            }),
            Message::Welcome(Welcome {
                hub,
                device: "tablet-1".into(),
                unit: UnitCode::parse("26734").unwrap(),
                code_slots: vec![0, 5],
                resumed: true,
                hub_time: -5,
                hub_depth: 1,
            }),
            Message::Push(Push {
                batch: 3,
                docs: vec![DocChanges {
                    doc: id(1),
                    bytes: vec![1, 2, 3],
                }],
            }),
            Message::Ack(Ack {
                batch: 3,
                results: vec![
                    DocResult {
                        doc: id(1),
                        outcome: DocOutcome::Accepted {
                            heads: vec![ChangeHash([9; 32])],
                        },
                    },
                    DocResult {
                        doc: id(2),
                        outcome: DocOutcome::Refused {
                            reason: Refusal::Invalid,
                            message: "field 'sets' …".into(),
                        },
                    },
                ],
            }),
            Message::Changes(Changes {
                docs: vec![],
                upto: None,
                caught_up: true,
            }),
            Message::Reconcile(Reconcile {
                round: 1,
                ranges: vec![RangeFingerprint {
                    range: Range::ALL,
                    count: 10,
                    fingerprint: [3; 16],
                }],
            }),
            Message::Ranges(Ranges {
                round: 1,
                replies: vec![
                    RangeReply::Split(vec![RangeFingerprint {
                        range: Range {
                            lo: id(0),
                            hi: Some(id(9)),
                        },
                        count: 2,
                        fingerprint: [1; 16],
                    }]),
                    RangeReply::Items {
                        range: Range {
                            lo: id(9),
                            hi: None,
                        },
                        items: vec![(id(10), HeadsDigest([4; 16]))],
                    },
                ],
            }),
            Message::Repair(Repair {
                docs: vec![(id(1), vec![]), (id(2), vec![ChangeHash([1; 32])])],
            }),
            Message::RepairHeads(RepairHeads {
                docs: vec![(id(1), vec![ChangeHash([2; 32])])],
            }),
            Message::Error(ErrorMessage {
                code: ErrorCode::Unauthorized,
                message: "bad token".into(),
                fatal: true,
            }),
        ]
    }

    #[test]
    fn every_message_round_trips() {
        for m in samples() {
            assert_eq!(Message::decode(&m.encode()).unwrap(), m, "{}", m.name());
        }
    }

    #[test]
    fn another_version_is_refused_but_its_errors_can_be_read() {
        let mut frame = samples()[0].encode();
        frame[2] = PROTOCOL_VERSION + 1;
        assert_eq!(
            Message::decode(&frame).unwrap_err(),
            DecodeError::VersionMismatch {
                theirs: PROTOCOL_VERSION + 1,
                ours: PROTOCOL_VERSION
            }
        );
        let mut error = samples().pop().unwrap().encode();
        error[2] = PROTOCOL_VERSION + 1;
        assert!(matches!(
            Message::decode(&error).unwrap(),
            Message::Error(_)
        ));
    }

    #[test]
    fn garbage_and_lies_about_lengths_are_errors() {
        assert_eq!(
            Message::decode(b"GET / HTTP/1.1").unwrap_err(),
            DecodeError::BadMagic
        );
        assert!(matches!(
            Message::decode(b"MC").unwrap_err(),
            DecodeError::Truncated(_)
        ));
        // A push that claims a billion documents in a few bytes.
        let mut frame = vec![b'M', b'C', PROTOCOL_VERSION, kind::PUSH, 1];
        frame.extend_from_slice(&[0x80, 0x94, 0xeb, 0xdc, 0x03]);
        assert!(matches!(
            Message::decode(&frame).unwrap_err(),
            DecodeError::Malformed(_)
        ));
        let mut ok = samples()[2].encode();
        ok.push(0);
        assert_eq!(
            Message::decode(&ok).unwrap_err(),
            DecodeError::TrailingBytes(1)
        );
        let huge = vec![0u8; limits::MAX_FRAME_BYTES + 1];
        assert!(matches!(
            Message::decode(&huge).unwrap_err(),
            DecodeError::TooLarge { .. }
        ));
    }

    /// A push of `n` documents whose bytes repeat from one to the next, as
    /// real dossiers' field names and texts do.
    fn alike_documents(n: u8) -> Message {
        let text = b"applicant full_name id_number phone address procedure received_at due_at";
        Message::Push(Push {
            batch: 1,
            docs: (0..n)
                .map(|i| DocChanges {
                    doc: id(i),
                    bytes: text.iter().copied().chain([i]).collect(),
                })
                .collect(),
        })
    }

    #[test]
    fn a_long_body_travels_deflated_and_a_short_one_as_it_is() {
        let long = alike_documents(100);
        let frame = long.encode();
        assert_ne!(frame[3] & DEFLATED, 0);
        // Well under a third of the documents' own bytes.
        assert!(frame.len() * 3 < 100 * 74, "{} bytes", frame.len());
        assert_eq!(Message::decode(&frame).unwrap(), long);

        let short = samples()[2].encode();
        assert_eq!(short[3], kind::PUSH);
        // Error frames stay readable by every version, however long.
        let error = Message::Error(ErrorMessage {
            code: ErrorCode::Malformed,
            message: "x".repeat(3000),
            fatal: false,
        })
        .encode();
        assert_eq!(error[3], kind::ERROR);
    }

    #[test]
    fn a_deflated_body_that_is_corrupt_or_inflates_past_the_limit_is_refused() {
        use std::io::Write;
        let deflate = |body: &[u8]| {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(body).unwrap();
            e.finish().unwrap()
        };
        let header = [b'M', b'C', PROTOCOL_VERSION, kind::PUSH | DEFLATED];
        // Nine megabytes of zeros in a few kilobytes.
        let bomb: Vec<u8> = header
            .iter()
            .copied()
            .chain(deflate(&vec![0; limits::MAX_FRAME_BYTES + 1024 * 1024]))
            .collect();
        assert!(bomb.len() < 64 * 1024);
        assert_eq!(
            Message::decode(&bomb).unwrap_err(),
            DecodeError::TooLarge {
                size: limits::MAX_FRAME_BYTES + 1,
                limit: limits::MAX_FRAME_BYTES
            }
        );
        let mut corrupt = alike_documents(100).encode();
        let middle = corrupt.len() / 2;
        corrupt.truncate(middle);
        assert!(matches!(
            Message::decode(&corrupt).unwrap_err(),
            DecodeError::BadCompression(_) | DecodeError::Truncated(_) | DecodeError::Malformed(_)
        ));
        let garbage: Vec<u8> = header.iter().copied().chain([0xff; 64]).collect();
        assert!(matches!(
            Message::decode(&garbage).unwrap_err(),
            DecodeError::BadCompression(_)
        ));
    }

    #[test]
    fn a_hello_with_a_short_actor_round_trips() {
        // Found by fuzzing: a 12-byte actor and empty texts leave fewer than
        // 17 bytes per actor, which the decoder used to refuse.
        let hello = Message::Hello(Hello {
            token: String::new(),
            since: Some(Checkpoint {
                hub: HubId([235; 16]),
                seq: 16_999_940_616_948_018_155,
            }),
            actors: vec![vec![235; 12]],
            agent: String::new(),
        });
        assert_eq!(Message::decode(&hello.encode()), Ok(hello));
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Message::decode(&bytes);
            let mut framed = vec![b'M', b'C', PROTOCOL_VERSION];
            framed.extend_from_slice(&bytes);
            let _ = Message::decode(&framed);
        }

        #[test]
        fn integers_round_trip(v in any::<u64>(), s in any::<i64>()) {
            let mut w = Writer::default();
            w.uint(v);
            w.int(s);
            let mut r = Reader { buf: &w.buf };
            prop_assert_eq!(r.uint().unwrap(), v);
            prop_assert_eq!(r.int().unwrap(), s);
        }
    }
}
