//! A hub store kept in memory, with the same admission rules as the hub's
//! SQLite store: for unit tests, fuzzing and benchmarks that drive
//! [`HubSession`](super::hub::HubSession) without a database.
//!
//! Compiled for this crate's own tests and, for other crates, behind the
//! `testing` feature; it is not part of the product.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use automerge::{ActorId, Automerge, ChangeHash, ReadDoc};

use super::hub::{ChangesPage, Committed, DeviceIdentity, HubStore, admit, not_found_message};
use super::protocol::{
    DocChanges, DocOutcome, DocResult, ErrorCode, ErrorMessage, HeadsDigest, Hello, HubId, Push,
    Refusal,
};
use super::reconcile::Item;
use crate::ids::{DocId, UnitCode};

/// The hub clock of a [`MemoryHub`]: 2026-11-28T08:00:00+07:00.
pub const HUB_TIME: i64 = 1_795_831_200_000;

/// One document as the memory hub keeps it.
#[derive(Debug, Clone)]
pub struct StoredDoc {
    pub doc: Automerge,
    pub unit: UnitCode,
    /// Sequence number of the document's last committed change.
    pub last_seq: u64,
}

/// A hub database in maps. Devices are enrolled by token; every committed
/// change is kept in a log so catch-ups can be served from any point.
#[derive(Debug, Default)]
pub struct MemoryHub {
    pub hub: [u8; 16],
    pub seq: u64,
    pub docs: BTreeMap<DocId, StoredDoc>,
    pub log: Vec<Committed>,
    pub devices: BTreeMap<String, DeviceIdentity>,
    /// Refused pushes, as the real hub quarantines them.
    pub quarantine: Vec<(DocId, Refusal)>,
}

impl MemoryHub {
    pub fn new() -> Self {
        Self {
            hub: [42; 16],
            ..Self::default()
        }
    }

    /// Enrols a device whose scope is its own unit, signing with `actor`.
    pub fn enrol(&mut self, token: &str, unit: UnitCode, actor: &ActorId) {
        self.devices.insert(
            token.to_string(),
            DeviceIdentity {
                device_id: format!("dev-{token}"),
                unit: unit.clone(),
                scope: BTreeSet::from([unit]),
                actors: BTreeSet::from([actor.clone()]),
                code_slots: vec![0],
            },
        );
    }
}

impl HubStore for MemoryHub {
    type Error = String;

    fn hub_id(&self) -> HubId {
        HubId(self.hub)
    }

    fn authenticate(
        &mut self,
        hello: &Hello,
    ) -> Result<Result<DeviceIdentity, ErrorMessage>, String> {
        Ok(self.devices.get(&hello.token).cloned().ok_or(ErrorMessage {
            code: ErrorCode::Unauthorized,
            message: "unknown device token".into(),
            fatal: true,
        }))
    }

    fn changes_since(
        &mut self,
        device: &DeviceIdentity,
        since: u64,
        after: u64,
        max_bytes: usize,
    ) -> Result<ChangesPage, String> {
        let mut order: Vec<(&DocId, &StoredDoc)> = self
            .docs
            .iter()
            .filter(|(_, d)| d.last_seq > after && device.may_see(&d.unit))
            .collect();
        order.sort_by_key(|(_, d)| d.last_seq);
        let mut docs = Vec::new();
        let mut size = 0;
        let mut upto = self.seq;
        let mut done = true;
        for (i, (id, stored)) in order.iter().enumerate() {
            let bytes: Vec<u8> = self
                .log
                .iter()
                .filter(|c| c.doc == **id && c.seq > since && c.origin != device.device_id)
                .flat_map(|c| c.bytes.iter().copied())
                .collect();
            if !bytes.is_empty() {
                size += bytes.len();
                docs.push(DocChanges { doc: **id, bytes });
            }
            if size >= max_bytes && i + 1 < order.len() {
                upto = stored.last_seq;
                done = false;
                break;
            }
        }
        Ok(ChangesPage { docs, upto, done })
    }

    fn commit_push(
        &mut self,
        device: &DeviceIdentity,
        push: Push,
    ) -> Result<(Vec<DocResult>, Vec<Committed>), String> {
        let mut results = Vec::new();
        let mut committed = Vec::new();
        for change in push.docs {
            let existing = self
                .docs
                .get(&change.doc)
                .filter(|d| device.may_see(&d.unit))
                .map(|d| &d.doc);
            let outcome = match admit(existing, &change.bytes, device) {
                Err((reason, message)) => {
                    self.quarantine.push((change.doc, reason));
                    DocOutcome::Refused { reason, message }
                }
                Ok(_) if existing.is_none() && self.docs.contains_key(&change.doc) => {
                    self.quarantine.push((change.doc, Refusal::NotFound));
                    DocOutcome::Refused {
                        reason: Refusal::NotFound,
                        message: not_found_message(),
                    }
                }
                Ok(admitted) => {
                    if admitted.is_new_information() {
                        self.seq += 1;
                        let c = Committed {
                            seq: self.seq,
                            doc: change.doc,
                            unit: Some(admitted.dossier.unit.clone()),
                            origin: device.device_id.clone(),
                            bytes: Arc::from(admitted.new_changes.clone()),
                        };
                        self.log.push(c.clone());
                        committed.push(c);
                        self.docs.insert(
                            change.doc,
                            StoredDoc {
                                doc: admitted.doc.clone(),
                                unit: admitted.dossier.unit.clone(),
                                last_seq: self.seq,
                            },
                        );
                    }
                    DocOutcome::Accepted {
                        heads: admitted.doc.get_heads(),
                    }
                }
            };
            results.push(DocResult {
                doc: change.doc,
                outcome,
            });
        }
        Ok((results, committed))
    }

    fn items(&mut self, device: &DeviceIdentity) -> Result<Vec<Item>, String> {
        Ok(self
            .docs
            .iter()
            .filter(|(_, d)| device.may_see(&d.unit))
            .map(|(id, d)| (*id, HeadsDigest::of(&d.doc.get_heads())))
            .collect())
    }

    #[allow(clippy::type_complexity)]
    fn repair(
        &mut self,
        device: &DeviceIdentity,
        docs: &[(DocId, Vec<ChangeHash>)],
    ) -> Result<(Vec<DocChanges>, Vec<(DocId, Vec<ChangeHash>)>), String> {
        let mut changes = Vec::new();
        let mut heads = Vec::new();
        for (id, device_heads) in docs {
            match self.docs.get(id).filter(|d| device.may_see(&d.unit)) {
                Some(stored) => {
                    let known: Vec<ChangeHash> = device_heads
                        .iter()
                        .copied()
                        .filter(|h| stored.doc.get_change_by_hash(h).is_some())
                        .collect();
                    let bytes = stored.doc.save_after(&known);
                    if !bytes.is_empty() {
                        changes.push(DocChanges { doc: *id, bytes });
                    }
                    heads.push((*id, stored.doc.get_heads()));
                }
                None => heads.push((*id, Vec::new())),
            }
        }
        Ok((changes, heads))
    }

    fn now(&self) -> i64 {
        HUB_TIME
    }
}
