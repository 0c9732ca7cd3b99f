//! What the page keeps in IndexedDB, and how it comes back.
//!
//! The replica runs over client-core's `MemoryStorage`; after every step the
//! page takes the write batches made since the last one ([`SavedBatch`]) and
//! writes each in one IndexedDB transaction, in order: a document is a
//! snapshot followed by appended chunks, its sync metadata is JSON, and the
//! checkpoint is JSON. On the next start the page hands all of it back as
//! [`SavedState`].
//!
//! A record that does not read back (a damaged metadata row) loses nothing:
//! the metadata is rebuilt from the document itself as "never acknowledged",
//! so the next sync pushes the whole document again, which the hub takes as
//! a no-op if it already has it.

use std::collections::BTreeMap;

use automerge::Automerge;
use client_core::dossier::DossierDoc;
use client_core::ids::DocId;
use client_core::sync::protocol::{Checkpoint, HubId};
use client_core::sync::replica::{DocMeta, DocWrite, MemoryStorage, WriteBatch};
use serde::{Deserialize, Serialize};

/// One write batch, as IndexedDB stores it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SavedBatch {
    pub docs: Vec<SavedDoc>,
    /// (document id, metadata as JSON)
    pub metas: Vec<(String, String)>,
    /// The checkpoint as JSON, when this batch moves it.
    pub checkpoint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedDoc {
    pub id: String,
    /// Replace what is stored (true) or append to it (false).
    pub snapshot: bool,
    pub bytes: Vec<u8>,
}

/// A checkpoint in JSON: `{"hub": "<hex>", "seq": 123}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckpointJson {
    hub: String,
    seq: u64,
}

pub fn checkpoint_to_json(c: &Checkpoint) -> String {
    serde_json::to_string(&CheckpointJson {
        hub: hex::encode(c.hub.0),
        seq: c.seq,
    })
    .unwrap_or_default()
}

pub fn checkpoint_from_json(json: &str) -> Option<Checkpoint> {
    let c: CheckpointJson = serde_json::from_str(json).ok()?;
    let mut hub = [0u8; 16];
    hex::decode_to_slice(&c.hub, &mut hub).ok()?;
    Some(Checkpoint {
        hub: HubId(hub),
        seq: c.seq,
    })
}

impl SavedBatch {
    pub fn from_batch(batch: WriteBatch) -> Self {
        Self {
            docs: batch
                .docs
                .into_iter()
                .map(|(id, write)| match write {
                    DocWrite::Snapshot(bytes) => SavedDoc {
                        id: id.to_string(),
                        snapshot: true,
                        bytes,
                    },
                    DocWrite::Append(bytes) => SavedDoc {
                        id: id.to_string(),
                        snapshot: false,
                        bytes,
                    },
                })
                .collect(),
            metas: batch
                .metas
                .iter()
                .map(|m| {
                    (
                        m.id.to_string(),
                        serde_json::to_string(m).unwrap_or_default(),
                    )
                })
                .collect(),
            checkpoint: batch.checkpoint.as_ref().map(checkpoint_to_json),
        }
    }
}

/// Everything IndexedDB held, as the page read it back.
#[derive(Debug, Clone, Default)]
pub struct SavedState {
    pub checkpoint: Option<String>,
    /// Metadata records as JSON, in any order.
    pub metas: Vec<String>,
    /// (document id, stored bytes: snapshot and appended chunks, concatenated)
    pub docs: Vec<(String, Vec<u8>)>,
}

/// What restoring found wrong and repaired, for the page to show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    /// Documents whose metadata was rebuilt (they will be pushed again).
    pub rebuilt: Vec<String>,
    /// Records that could not be used at all (bytes that are not a document).
    pub unreadable: Vec<String>,
}

/// Turns saved state into storage for the replica, repairing what it can.
pub fn restore(state: SavedState) -> (MemoryStorage, RestoreReport) {
    let mut report = RestoreReport::default();
    let mut docs = BTreeMap::new();
    for (id, bytes) in state.docs {
        match DocId::parse(&id) {
            Ok(doc) => {
                docs.insert(doc, bytes);
            }
            Err(_) => report.unreadable.push(id),
        }
    }
    let mut metas: BTreeMap<DocId, DocMeta> = BTreeMap::new();
    for json in &state.metas {
        if let Ok(meta) = serde_json::from_str::<DocMeta>(json)
            && docs.contains_key(&meta.id)
        {
            metas.insert(meta.id, meta);
        }
    }
    // A document without usable metadata: rebuild it, never acknowledged.
    let mut unusable = Vec::new();
    for (id, bytes) in &docs {
        if metas.contains_key(id) {
            continue;
        }
        match Automerge::load(bytes) {
            Ok(am) => {
                metas.insert(
                    *id,
                    DocMeta {
                        id: *id,
                        heads: am.get_heads(),
                        acked: Vec::new(),
                        refused: None,
                        dossier: DossierDoc::read_from(&am).ok().map(Box::new),
                    },
                );
                report.rebuilt.push(id.to_string());
            }
            Err(_) => {
                report.unreadable.push(id.to_string());
                unusable.push(*id);
            }
        }
    }
    for id in unusable {
        docs.remove(&id);
    }
    let checkpoint = state.checkpoint.as_deref().and_then(checkpoint_from_json);
    (
        MemoryStorage::restore(docs, metas.into_values().collect(), checkpoint),
        report,
    )
}
