//! What the fuzz targets share: fixtures (device actors and tokens, valid
//! dossier documents), the input format of the engine targets, a builder of
//! structurally valid protocol messages from fuzz bytes, and the seed
//! corpora.
//!
//! The engine targets read their input as a list of steps
//! `op:u8 len:u16le payload[len]`: a frame to feed as is, a message to build
//! from the payload, or an event (reconnect, local edit, live commit…). A
//! seed is then simply a recorded real exchange, and the fuzzer mutates it
//! from there.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use arbitrary::{Result, Unstructured};
use automerge::{ActorId, Automerge, ChangeHash};
use client_core::deadline::{PauseRule, ProcessingTime};
use client_core::dossier::{DossierDoc, NewStage};
use client_core::ids::{DocId, UnitCode};
use client_core::stage::Stage;
use client_core::sync::device::{DeviceConfig, DeviceSync};
use client_core::sync::hub::{DeviceIdentity, HubEvent, HubSession};
use client_core::sync::protocol::*;
use client_core::sync::replica::{DeviceReplica, DocMeta, MemoryStorage};
use client_core::sync::testing::{HUB_TIME, MemoryHub};
use client_core::testing::DossierFixture;

/// Step kinds of the engine targets (the op byte modulo 8).
pub mod op {
    /// Feed the payload as a frame.
    pub const FRAME: u8 = 0;
    /// Build a message from the payload, encode it, feed it.
    pub const MESSAGE: u8 = 1;
    /// The connection drops and is opened again.
    pub const RECONNECT: u8 = 2;
    /// A local edit on the device / another device's commit on the hub.
    pub const EVENT: u8 = 3;
    /// The hub's live feed overflowed.
    pub const LAGGED: u8 = 4;
    /// The driver asks the hub session for catch-up pages.
    pub const CATCHUP: u8 = 5;
    /// Like MESSAGE, then a byte of the encoding is changed.
    pub const MUTATED: u8 = 6;
}

/// Devices known to the fixture hub: token, unit, actor byte.
pub const DEVICES: [(&str, &str, u8); 3] = [
    ("tok-a", "X0101", 1),
    ("tok-b", "X0101", 2),
    ("tok-c", "X0102", 3),
];

pub struct Fixtures {
    pub actors: Vec<ActorId>,
    pub units: Vec<UnitCode>,
    pub doc_ids: Vec<DocId>,
    /// Saved documents and change chunks, all valid Automerge data.
    pub docs: Vec<Vec<u8>>,
    /// Every change hash of those documents.
    pub hashes: Vec<ChangeHash>,
    pub hub: HubId,
    /// New dossiers of device a, saved (creating one per run is slow).
    pub own_docs: Vec<Vec<u8>>,
    /// Device a's replica holding one pending dossier of its own.
    pub device_start: (BTreeMap<DocId, Vec<u8>>, Vec<DocMeta>),
}

pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(build_fixtures)
}

fn unit(code: &str) -> UnitCode {
    UnitCode::parse(code).expect("fixture unit codes are valid")
}

/// A dossier received by `actor` at `unit`, as a new document.
pub fn dossier_doc(actor: &ActorId, unit_code: &str, number: u16) -> DossierDoc {
    DossierFixture::new(unit_code, number)
        .processing(ProcessingTime::working_days(3), PauseRule::Restart)
        .due_at(HUB_TIME + 3 * 24 * 3_600_000)
        .received_by("canbo", "fuzz")
        .doc(actor)
}

pub fn next_stage(doc: &mut DossierDoc, stage: Stage, unit_code: &str) {
    // A refused transition just leaves the document as it was.
    let _ = doc.record_stage(NewStage {
        stage,
        at: HUB_TIME + 60_000,
        user: "chuyenvien".into(),
        device: "fuzz".into(),
        unit: unit(unit_code),
        note: "đã xem".into(),
    });
}

fn build_fixtures() -> Fixtures {
    let actors: Vec<ActorId> = DEVICES
        .iter()
        .map(|(_, _, byte)| ActorId::from(vec![*byte; 16]))
        .collect();
    let mut docs = Vec::new();
    let mut hashes = Vec::new();
    for (i, (_, unit_code, _)) in DEVICES.iter().enumerate() {
        let mut doc = dossier_doc(&actors[i], unit_code, 1 + i as u16);
        docs.push(doc.save());
        let before = doc.heads();
        next_stage(&mut doc, Stage::Processing, unit_code);
        // The change chunk alone (depends on the first save) and the whole.
        docs.push(doc.automerge().save_after(&before));
        docs.push(doc.save());
        hashes.extend(doc.automerge().get_changes(&[]).iter().map(|c| c.hash()));
    }
    let doc_ids: Vec<DocId> = (1..=4u8).map(|n| DocId::from_bytes([n; 16])).collect();
    let own_docs: Vec<Vec<u8>> = [7, 8]
        .iter()
        .map(|n| dossier_doc(&actors[0], "X0101", *n).save())
        .collect();
    let mut replica = DeviceReplica::open(MemoryStorage::new(), actors[0].clone())
        .expect("memory storage cannot fail");
    let own = DossierDoc::load(&own_docs[0]).expect("a saved fixture loads");
    replica
        .insert_new(doc_ids[0], &own)
        .expect("memory storage cannot fail");
    let device_start = (
        BTreeMap::from([(doc_ids[0], own_docs[0].clone())]),
        replica.metas().cloned().collect(),
    );
    Fixtures {
        actors,
        units: vec![unit("X0101"), unit("X0102"), unit("T01")],
        doc_ids,
        docs,
        hashes,
        hub: HubId([42; 16]),
        own_docs,
        device_start,
    }
}

/// Device a's replica as the engine targets start it.
pub fn device_replica() -> DeviceReplica<MemoryStorage> {
    let f = fixtures();
    let (docs, metas) = f.device_start.clone();
    DeviceReplica::open(
        MemoryStorage::restore(docs, metas, None),
        f.actors[0].clone(),
    )
    .expect("memory storage cannot fail")
}

/// A memory hub with the fixture devices enrolled.
pub fn hub() -> MemoryHub {
    let f = fixtures();
    let mut hub = MemoryHub::new();
    for (i, (token, unit_code, _)) in DEVICES.iter().enumerate() {
        hub.enrol(token, unit(unit_code), &f.actors[i]);
    }
    hub
}

pub fn identity(device: usize) -> DeviceIdentity {
    let (token, unit_code, _) = DEVICES[device % DEVICES.len()];
    DeviceIdentity {
        device_id: format!("dev-{token}"),
        unit: unit(unit_code),
        scope: BTreeSet::from([unit(unit_code)]),
        actors: BTreeSet::from([fixtures().actors[device % DEVICES.len()].clone()]),
        code_slots: vec![0],
    }
}

pub fn device_config(device: usize) -> DeviceConfig {
    let (token, _, _) = DEVICES[device % DEVICES.len()];
    DeviceConfig {
        token: token.into(),
        actors: vec![
            fixtures().actors[device % DEVICES.len()]
                .to_bytes()
                .to_vec(),
        ],
        agent: "fuzz".into(),
    }
}

/// Splits engine-target input into `(op, payload)` steps.
pub fn steps(mut data: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while let [op, a, b, rest @ ..] = data {
        let len = usize::from(u16::from_le_bytes([*a, *b])).min(rest.len());
        let (payload, tail) = rest.split_at(len);
        out.push((op % 8, payload));
        data = tail;
    }
    out
}

/// The inverse of [`steps`], for writing seeds.
pub fn encode_steps(steps: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (op, payload) in steps {
        let len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
        out.push(*op);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&payload[..usize::from(len)]);
    }
    out
}

/// A frame from a step: its payload, a built message, or a built message
/// with one byte changed.
pub fn frame_of(op: u8, payload: &[u8]) -> Vec<u8> {
    match op {
        op::MESSAGE | op::MUTATED => {
            let mut u = Unstructured::new(payload);
            let Ok(message) = message(&mut u) else {
                return payload.to_vec();
            };
            let mut frame = message.encode();
            if op == op::MUTATED && !frame.is_empty() {
                let at = u.int_in_range(0..=frame.len() - 1).unwrap_or(0);
                let with: u8 = u.arbitrary().unwrap_or(0xff);
                frame[at] ^= with.max(1);
            }
            frame
        }
        _ => payload.to_vec(),
    }
}

fn text(u: &mut Unstructured) -> Result<String> {
    let s: &str = u.arbitrary()?;
    let mut end = s.len().min(64);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Ok(s[..end].to_string())
}

fn doc_id(u: &mut Unstructured) -> Result<DocId> {
    if u.ratio(7, 8)? {
        Ok(*u.choose(&fixtures().doc_ids)?)
    } else {
        Ok(DocId::from_bytes(u.arbitrary()?))
    }
}

fn doc_bytes(u: &mut Unstructured) -> Result<Vec<u8>> {
    let f = fixtures();
    Ok(match u.int_in_range(0..=5)? {
        0 => u.arbitrary::<&[u8]>()?.to_vec(),
        1 => {
            // A valid document cut short.
            let doc = u.choose(&f.docs)?;
            let len = u.int_in_range(0..=doc.len())?;
            doc[..len].to_vec()
        }
        2 => {
            // Two chunks concatenated, as the hub sends them.
            let mut a = u.choose(&f.docs)?.clone();
            a.extend_from_slice(u.choose(&f.docs)?);
            a
        }
        _ => u.choose(&f.docs)?.clone(),
    })
}

fn hash(u: &mut Unstructured) -> Result<ChangeHash> {
    if u.ratio(3, 4)? {
        Ok(*u.choose(&fixtures().hashes)?)
    } else {
        Ok(ChangeHash(u.arbitrary()?))
    }
}

fn heads(u: &mut Unstructured) -> Result<Vec<ChangeHash>> {
    let n = u.int_in_range(0..=3)?;
    (0..n).map(|_| hash(u)).collect()
}

fn checkpoint(u: &mut Unstructured) -> Result<Option<Checkpoint>> {
    if !u.arbitrary::<bool>()? {
        return Ok(None);
    }
    let hub = if u.ratio(3, 4)? {
        fixtures().hub
    } else {
        HubId(u.arbitrary()?)
    };
    let seq = if u.ratio(3, 4)? {
        u.int_in_range(0..=16)?
    } else {
        u.arbitrary()?
    };
    Ok(Some(Checkpoint { hub, seq }))
}

fn range(u: &mut Unstructured) -> Result<Range> {
    Ok(match u.int_in_range(0..=2)? {
        0 => Range::ALL,
        _ => Range {
            lo: doc_id(u)?,
            hi: if u.arbitrary()? {
                Some(doc_id(u)?)
            } else {
                None
            },
        },
    })
}

fn fingerprint(u: &mut Unstructured) -> Result<RangeFingerprint> {
    Ok(RangeFingerprint {
        range: range(u)?,
        count: u.int_in_range(0..=8)?,
        fingerprint: u.arbitrary()?,
    })
}

fn list<T>(
    u: &mut Unstructured,
    max: usize,
    mut item: impl FnMut(&mut Unstructured) -> Result<T>,
) -> Result<Vec<T>> {
    let n = u.int_in_range(0..=max)?;
    (0..n).map(|_| item(u)).collect()
}

/// A structurally valid message within the protocol's limits (so that it
/// must survive its own encoding), with values mostly from the fixtures.
pub fn message(u: &mut Unstructured) -> Result<Message> {
    let f = fixtures();
    Ok(match u.int_in_range(0..=9)? {
        0 => Message::Hello(Hello {
            token: if u.ratio(3, 4)? {
                u.choose(&DEVICES)?.0.to_string()
            } else {
                text(u)?
            },
            since: checkpoint(u)?,
            actors: list(u, 2, |u| {
                if u.ratio(3, 4)? {
                    Ok(u.choose(&f.actors)?.to_bytes().to_vec())
                } else {
                    let len = u.int_in_range(1..=32)?;
                    u.bytes(len).map(<[u8]>::to_vec)
                }
            })?,
            agent: text(u)?,
        }),
        1 => Message::Welcome(Welcome {
            hub: if u.ratio(3, 4)? {
                f.hub
            } else {
                HubId(u.arbitrary()?)
            },
            device: text(u)?,
            unit: u.choose(&f.units)?.clone(),
            code_slots: list(u, 3, |u| u.arbitrary())?,
            resumed: u.arbitrary()?,
            hub_time: u.arbitrary()?,
            hub_depth: u.int_in_range(0..=3)?,
        }),
        2 => Message::Push(Push {
            batch: u.int_in_range(0..=6)?,
            docs: list(u, 3, |u| {
                Ok(DocChanges {
                    doc: doc_id(u)?,
                    bytes: doc_bytes(u)?,
                })
            })?,
        }),
        3 => Message::Ack(Ack {
            batch: u.int_in_range(0..=6)?,
            results: list(u, 3, |u| {
                Ok(DocResult {
                    doc: doc_id(u)?,
                    outcome: if u.ratio(2, 3)? {
                        DocOutcome::Accepted { heads: heads(u)? }
                    } else {
                        DocOutcome::Refused {
                            reason: *u.choose(&[
                                Refusal::NotFound,
                                Refusal::ForeignActor,
                                Refusal::Invalid,
                                Refusal::DuplicateCode,
                                Refusal::MissingDependencies,
                                Refusal::TooLarge,
                                Refusal::ReadOnly,
                                Refusal::Corrupt,
                            ])?,
                            message: text(u)?,
                        }
                    },
                })
            })?,
        }),
        4 => Message::Changes(Changes {
            docs: list(u, 3, |u| {
                Ok(DocChanges {
                    doc: doc_id(u)?,
                    bytes: doc_bytes(u)?,
                })
            })?,
            upto: checkpoint(u)?,
            caught_up: u.arbitrary()?,
        }),
        5 => Message::Reconcile(Reconcile {
            round: u.int_in_range(0..=4)?,
            ranges: list(u, 3, fingerprint)?,
        }),
        6 => Message::Ranges(Ranges {
            round: u.int_in_range(0..=4)?,
            replies: list(u, 3, |u| {
                Ok(if u.arbitrary()? {
                    RangeReply::Split(list(u, 4, fingerprint)?)
                } else {
                    RangeReply::Items {
                        range: range(u)?,
                        items: list(u, 4, |u| Ok((doc_id(u)?, HeadsDigest(u.arbitrary()?))))?,
                    }
                })
            })?,
        }),
        7 => Message::Repair(Repair {
            docs: list(u, 3, |u| Ok((doc_id(u)?, heads(u)?)))?,
        }),
        8 => Message::RepairHeads(RepairHeads {
            docs: list(u, 3, |u| Ok((doc_id(u)?, heads(u)?)))?,
        }),
        _ => Message::Error(ErrorMessage {
            code: *u.choose(&[
                ErrorCode::VersionMismatch,
                ErrorCode::Unauthorized,
                ErrorCode::Malformed,
                ErrorCode::TooLarge,
                ErrorCode::UnexpectedMessage,
                ErrorCode::Internal,
                ErrorCode::Revoked,
            ])?,
            message: text(u)?,
            fatal: u.arbitrary()?,
        }),
    })
}

/// A real exchange in memory: device b pushes a dossier, then device a
/// (with two dossiers of its own) syncs from scratch and edits one live.
/// Returns the frames the hub sent to device a and those device a sent.
pub fn transcript() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let f = fixtures();
    let mut hub = hub();
    let mut other = DeviceReplica::open(MemoryStorage::new(), f.actors[1].clone())
        .expect("memory storage cannot fail");
    let mut other_engine = DeviceSync::new(device_config(1));
    other
        .insert_new(f.doc_ids[2], &dossier_doc(&f.actors[1], "X0101", 2))
        .expect("memory storage cannot fail");
    exchange(
        &mut other_engine,
        &mut other,
        &mut hub,
        &mut Vec::new(),
        &mut Vec::new(),
    );

    let mut replica = DeviceReplica::open(MemoryStorage::new(), f.actors[0].clone())
        .expect("memory storage cannot fail");
    for (i, id) in f.doc_ids[..2].iter().enumerate() {
        replica
            .insert_new(*id, &dossier_doc(&f.actors[0], "X0101", 10 + i as u16))
            .expect("memory storage cannot fail");
    }
    let mut engine = DeviceSync::new(device_config(0));
    let (mut to_device, mut to_hub) = (Vec::new(), Vec::new());
    exchange(
        &mut engine,
        &mut replica,
        &mut hub,
        &mut to_device,
        &mut to_hub,
    );
    (to_device, to_hub)
}

/// Carries frames between a device and a new hub session until both are
/// quiet, recording them.
pub fn exchange(
    engine: &mut DeviceSync,
    replica: &mut DeviceReplica<MemoryStorage>,
    hub: &mut MemoryHub,
    to_device: &mut Vec<Vec<u8>>,
    to_hub: &mut Vec<Vec<u8>>,
) {
    let mut session = HubSession::new();
    if engine.start(replica).is_err() {
        return;
    }
    for _ in 0..64 {
        let mut quiet = true;
        while let Some(frame) = engine.poll_transmit() {
            quiet = false;
            to_hub.push(frame.clone());
            let _ = session.handle_frame(&frame, hub);
        }
        while session.poll_catchup(hub).unwrap_or(false) {}
        while let Some(event) = session.poll_event() {
            let _: HubEvent = event;
        }
        while let Some(frame) = session.poll_transmit() {
            quiet = false;
            to_device.push(frame.clone());
            if engine.handle_frame(&frame, replica).is_err() {
                engine.disconnected();
                return;
            }
        }
        while engine.poll_event().is_some() {}
        if quiet {
            return;
        }
    }
}

/// Seed inputs for each target, by target name.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let f = fixtures();
    let (to_device, to_hub) = transcript();
    let mut out = Vec::new();
    for (i, frame) in to_device.iter().chain(&to_hub).enumerate() {
        out.push(("decode_frame", format!("frame-{i:02}"), frame.clone()));
    }
    let as_steps = |frames: &[Vec<u8>]| -> Vec<(u8, Vec<u8>)> {
        frames.iter().map(|f| (op::FRAME, f.clone())).collect()
    };
    out.push((
        "device_engine",
        "transcript".into(),
        encode_steps(&as_steps(&to_device)),
    ));
    let mut with_events = as_steps(&to_device);
    with_events.insert(2, (op::EVENT, vec![0]));
    with_events.push((op::RECONNECT, vec![]));
    with_events.extend(as_steps(&to_device));
    out.push((
        "device_engine",
        "reconnect".into(),
        encode_steps(&with_events),
    ));
    out.push((
        "hub_session",
        "transcript".into(),
        encode_steps(&as_steps(&to_hub)),
    ));
    let mut with_events = as_steps(&to_hub);
    with_events.insert(1, (op::CATCHUP, vec![]));
    with_events.push((op::EVENT, vec![2, 0]));
    with_events.push((op::LAGGED, vec![]));
    with_events.push((op::CATCHUP, vec![]));
    out.push(("hub_session", "live".into(), encode_steps(&with_events)));
    for (i, doc) in f.docs.iter().enumerate() {
        out.push(("document_load", format!("doc-{i:02}"), doc.clone()));
    }
    out.push(("document_load", "empty".into(), Automerge::new().save()));
    out
}
