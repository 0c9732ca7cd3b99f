//! What the sync engine needs from a replica, and the replica every device
//! uses.
//!
//! [`SyncReplica`] is the engine's whole view of storage: checkpoint, pending
//! changes, applying the hub's changes, acknowledgements, and the items for
//! anti-entropy. A device's [`DeviceReplica`] implements it over any
//! [`Storage`] (SQLite for the native client, IndexedDB through
//! [`MemoryStorage`] in the browser); a commune node implements it over its
//! own hub database to sync with its parent.
//!
//! The replica's rules — which documents are pending and what of them to
//! push, what an acknowledgement changes, how a document is compared in
//! anti-entropy — are written once here ([`push_pending`], [`acknowledge`],
//! [`compared_items`]) over [`ReplicaRows`], the per-document bookkeeping a
//! replica stores. Both replicas supply only those rows.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ActorId, Automerge, ChangeHash};
use serde::{Deserialize, Serialize};

use super::protocol::{Checkpoint, DocChanges, HeadsDigest, Refusal, limits};
use super::reconcile::Item;
use crate::dossier::{Dossier, DossierDoc};
use crate::ids::DocId;

/// The storage view the sync engine works through.
pub trait SyncReplica {
    type Error: std::fmt::Display;

    /// How far this replica has received the hub's changes.
    fn checkpoint(&mut self) -> Result<Option<Checkpoint>, Self::Error>;

    /// Documents with changes the hub has not acknowledged, each with the
    /// changes the hub lacks, leaving out `skip` (already in flight), about
    /// `max_bytes` in all (always at least one document when any is pending).
    fn pending(
        &mut self,
        skip: &BTreeSet<DocId>,
        max_bytes: usize,
    ) -> Result<Vec<DocChanges>, Self::Error>;

    /// Stores the hub's changes and, in the same durable step, the checkpoint.
    /// Returns the documents whose bytes could not be read (kept unchanged;
    /// anti-entropy repairs them).
    fn apply_from_hub(
        &mut self,
        docs: &[DocChanges],
        upto: Option<Checkpoint>,
    ) -> Result<Vec<(DocId, String)>, Self::Error>;

    /// The hub has durably stored these heads of a document.
    fn acknowledged(&mut self, doc: &DocId, hub_heads: &[ChangeHash]) -> Result<(), Self::Error>;

    /// The hub refused a document's changes; they stay here, marked.
    fn refused(&mut self, doc: &DocId, reason: Refusal, message: &str) -> Result<(), Self::Error>;

    /// Forget what the hub was thought to have of a document, so that all of
    /// it is pushed again.
    fn forget_acknowledgement(&mut self, doc: &DocId) -> Result<(), Self::Error>;

    /// Every document's id and heads digest, for anti-entropy.
    fn items(&mut self) -> Result<Vec<Item>, Self::Error>;

    /// A document's current heads (empty when this replica lacks it).
    fn heads(&mut self, doc: &DocId) -> Result<Vec<ChangeHash>, Self::Error>;
}

/// The sync bookkeeping a replica stores for each document, as the replica's
/// rules below read and write it.
pub trait ReplicaRows {
    type Error: std::fmt::Display;

    /// Documents that may have changes the hub lacks and that the hub has not
    /// refused, in the order to push them, each with the heads the hub
    /// acknowledged (a superset of the pending documents is fine).
    fn unacknowledged(&mut self) -> Result<Vec<(DocId, Vec<ChangeHash>)>, Self::Error>;

    /// A document as this replica holds it (none when it lacks it).
    fn document(&mut self, doc: &DocId) -> Result<Option<&Automerge>, Self::Error>;

    /// Records the heads the hub has durably stored of a document and
    /// whether the document has changes beyond them.
    fn set_acknowledged(
        &mut self,
        doc: &DocId,
        acked: Vec<ChangeHash>,
        pending: bool,
    ) -> Result<(), Self::Error>;

    /// Marks a document's changes refused; they stay, and are not pushed.
    fn set_refused(&mut self, doc: &DocId, refusal: RefusedChange) -> Result<(), Self::Error>;

    /// Every document, as anti-entropy compares it.
    fn item_rows(&mut self) -> Result<Vec<ItemRow>, Self::Error>;
}

/// One document as anti-entropy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    pub id: DocId,
    /// Digest of the document's current heads.
    pub digest: HeadsDigest,
    pub refused: bool,
    /// Heads the hub acknowledged.
    pub acked: Vec<ChangeHash>,
}

/// The heads of `heads` that `doc` holds.
fn known_heads(doc: &Automerge, heads: &[ChangeHash]) -> Vec<ChangeHash> {
    heads
        .iter()
        .copied()
        .filter(|h| doc.get_change_meta_by_hash(h).is_some())
        .collect()
}

/// The changes to push: each pending document (leaving out `skip`, already
/// in flight) with what the hub lacks of it, about `max_bytes` in all (always
/// at least one document when any is pending). A document over the protocol's
/// limit is marked refused instead; one with nothing the hub lacks after all
/// is marked clean.
pub fn push_pending<R: ReplicaRows>(
    rows: &mut R,
    skip: &BTreeSet<DocId>,
    max_bytes: usize,
) -> Result<Vec<DocChanges>, R::Error> {
    let mut out = Vec::new();
    let mut total = 0;
    for (id, acked) in rows.unacknowledged()? {
        if skip.contains(&id) {
            continue;
        }
        let Some(doc) = rows.document(&id)? else {
            continue;
        };
        let acked = known_heads(doc, &acked);
        // A document the hub has nothing of travels as a compressed
        // snapshot; an existing one as the changes the hub lacks.
        let bytes = if acked.is_empty() {
            doc.save()
        } else {
            doc.save_after(&acked)
        };
        if bytes.is_empty() {
            let heads = doc.get_heads();
            rows.set_acknowledged(&id, heads, false)?;
            continue;
        }
        if bytes.len() > limits::MAX_DOC_BYTES {
            let message = format!(
                "{} bytes of changes exceed the limit of {}",
                bytes.len(),
                limits::MAX_DOC_BYTES
            );
            rows.set_refused(&id, RefusedChange::new(Refusal::TooLarge, &message))?;
            continue;
        }
        total += bytes.len();
        out.push(DocChanges { doc: id, bytes });
        if total >= max_bytes {
            break;
        }
    }
    Ok(out)
}

/// The hub durably stored these heads of a document.
///
/// Heads this replica does not hold mean the hub has more than it: nothing
/// changes here, what the hub has comes down. Empty heads mean the hub has
/// nothing of the document — a hub restored from a backup taken before it
/// was made, or one that lost it — so nothing is acknowledged any more and
/// the whole document is pushed again. Keeping the old acknowledgement
/// instead would leave the replica believing the hub holds changes it does
/// not, and only the changes after them would be pushed: the hub would refuse
/// them for missing dependencies, or anti-entropy would find the document
/// different on every pass. (The device's replica said so explicitly; the
/// hub's uplink reached the same result through its length check.)
pub fn acknowledge<R: ReplicaRows>(
    rows: &mut R,
    doc: &DocId,
    hub_heads: &[ChangeHash],
) -> Result<(), R::Error> {
    let Some(current) = rows.document(doc)? else {
        return Ok(());
    };
    let acked = known_heads(current, hub_heads);
    if acked.len() != hub_heads.len() {
        return Ok(());
    }
    let pending = sorted(&current.get_heads()) != sorted(&acked);
    rows.set_acknowledged(doc, acked, pending)
}

/// Every document's id and heads digest, for anti-entropy. A refused document
/// is compared as the hub last accepted it, so that changes the hub will not
/// take do not count as divergence; one the hub never accepted is left out.
pub fn compared_items<R: ReplicaRows>(rows: &mut R) -> Result<Vec<Item>, R::Error> {
    Ok(rows
        .item_rows()?
        .into_iter()
        .filter_map(|row| match row.refused {
            false => Some((row.id, row.digest)),
            true if row.acked.is_empty() => None,
            true => Some((row.id, HeadsDigest::of(&row.acked))),
        })
        .collect())
}

/// What a replica keeps about each document besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocMeta {
    pub id: DocId,
    /// Current heads of the local copy.
    #[serde(with = "hashes")]
    pub heads: Vec<ChangeHash>,
    /// Heads the hub has acknowledged (a subset of what the hub has).
    #[serde(with = "hashes")]
    pub acked: Vec<ChangeHash>,
    /// Set when the hub refused this document's changes.
    pub refused: Option<RefusedChange>,
    /// The dossier as last read, when it validates.
    pub dossier: Option<Box<Dossier>>,
}

impl DocMeta {
    /// Has changes the hub has not acknowledged.
    pub fn is_pending(&self) -> bool {
        self.refused.is_none() && sorted(&self.heads) != sorted(&self.acked)
    }
}

fn sorted(hashes: &[ChangeHash]) -> Vec<ChangeHash> {
    let mut v = hashes.to_vec();
    v.sort();
    v
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedChange {
    pub reason: String,
    pub message: String,
}

impl RefusedChange {
    pub fn new(reason: Refusal, message: &str) -> Self {
        Self {
            reason: reason.as_str().to_string(),
            message: message.to_string(),
        }
    }
}

/// A document write: replace all stored bytes, or append a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocWrite {
    Snapshot(Vec<u8>),
    Append(Vec<u8>),
}

/// Everything one step changes, written atomically by the storage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    pub docs: Vec<(DocId, DocWrite)>,
    pub metas: Vec<DocMeta>,
    pub checkpoint: Option<Checkpoint>,
}

impl WriteBatch {
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty() && self.metas.is_empty() && self.checkpoint.is_none()
    }
}

/// Durable storage under a [`DeviceReplica`].
pub trait Storage {
    type Error: std::fmt::Display;
    /// All document metas and the checkpoint, read once at start.
    fn load_state(&mut self) -> Result<(Vec<DocMeta>, Option<Checkpoint>), Self::Error>;
    /// A document's stored bytes (a snapshot followed by appended chunks).
    fn load_doc(&mut self, id: &DocId) -> Result<Option<Vec<u8>>, Self::Error>;
    /// Writes a batch atomically: all of it or nothing.
    fn commit(&mut self, batch: WriteBatch) -> Result<(), Self::Error>;
}

#[derive(Debug, thiserror::Error)]
pub enum ReplicaError<E: std::fmt::Display> {
    #[error("storage: {0}")]
    Storage(E),
    #[error("document {doc} is damaged: {message}")]
    Corrupt { doc: DocId, message: String },
    #[error("document {0} is not in this replica")]
    Unknown(DocId),
    #[error(transparent)]
    Document(Box<crate::dossier::DocumentError>),
}

impl<E: std::fmt::Display> From<crate::dossier::DocumentError> for ReplicaError<E> {
    fn from(e: crate::dossier::DocumentError) -> Self {
        ReplicaError::Document(Box::new(e))
    }
}

/// Appended chunks after which a document is rewritten as one snapshot.
const COMPACT_AFTER_APPENDS: u32 = 32;
/// Loaded Automerge documents kept in memory.
const CACHE_DOCS: usize = 256;

/// A device's replica: every document of its scope, the sync bookkeeping, and
/// a cache of loaded documents.
#[derive(Debug)]
pub struct DeviceReplica<S: Storage> {
    storage: S,
    actor: ActorId,
    metas: BTreeMap<DocId, DocMeta>,
    checkpoint: Option<Checkpoint>,
    cache: BTreeMap<DocId, (Automerge, u64)>,
    cache_limit: usize,
    appends: BTreeMap<DocId, u32>,
    clock: u64,
}

type ReplicaResult<T, E> = std::result::Result<T, ReplicaError<E>>;

impl<S: Storage> DeviceReplica<S> {
    pub fn open(mut storage: S, actor: ActorId) -> ReplicaResult<Self, S::Error> {
        let (metas, checkpoint) = storage.load_state().map_err(ReplicaError::Storage)?;
        Ok(Self {
            storage,
            actor,
            metas: metas.into_iter().map(|m| (m.id, m)).collect(),
            checkpoint,
            cache: BTreeMap::new(),
            cache_limit: CACHE_DOCS,
            appends: BTreeMap::new(),
            clock: 0,
        })
    }

    /// Keeps at most `docs` loaded documents in memory (at least one); the
    /// others load from storage when needed. Many replicas in one process
    /// (a load generator) keep memory bounded this way.
    pub fn set_cache_limit(&mut self, docs: usize) {
        self.cache_limit = docs.max(1);
        self.evict();
    }

    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    pub fn storage(&self) -> &S {
        &self.storage
    }

    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.storage
    }

    pub fn metas(&self) -> impl Iterator<Item = &DocMeta> {
        self.metas.values()
    }

    pub fn meta(&self, id: &DocId) -> Option<&DocMeta> {
        self.metas.get(id)
    }

    pub fn len(&self) -> usize {
        self.metas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }

    /// How many documents have changes waiting for the hub.
    pub fn pending_count(&self) -> usize {
        self.metas.values().filter(|m| m.is_pending()).count()
    }

    /// The dossiers that validate, with their document ids.
    pub fn dossiers(&self) -> impl Iterator<Item = (&DocId, &Dossier)> {
        self.metas
            .values()
            .filter_map(|m| m.dossier.as_deref().map(|d| (&m.id, d)))
    }

    /// Loads a document for reading or editing.
    pub fn doc(&mut self, id: &DocId) -> ReplicaResult<DossierDoc, S::Error> {
        Ok(DossierDoc::from_automerge(self.load(id)?.clone()))
    }

    /// The JSON body of a configuration document, once synced.
    pub fn config_body(&mut self, kind: crate::config::ConfigKind) -> Option<String> {
        let id = kind.doc_id();
        if !self.metas.contains_key(&id) {
            return None;
        }
        let doc = self.load(&id).ok()?;
        crate::config::read(doc)
            .ok()
            .filter(|(k, _, _)| *k == kind)
            .map(|(_, body, _)| body)
    }

    /// Stores a dossier created on this device.
    pub fn insert_new(&mut self, id: DocId, doc: &DossierDoc) -> ReplicaResult<(), S::Error> {
        let mut am = doc.automerge().clone();
        am.set_actor(self.actor.clone());
        let bytes = am.save();
        let meta = self.meta_for(id, &am, Vec::new(), None);
        self.storage
            .commit(WriteBatch {
                docs: vec![(id, DocWrite::Snapshot(bytes))],
                metas: vec![meta.clone()],
                checkpoint: None,
            })
            .map_err(ReplicaError::Storage)?;
        self.metas.insert(id, meta);
        self.remember(id, am);
        Ok(())
    }

    /// Applies a local edit to a document and stores it.
    pub fn update<T>(
        &mut self,
        id: &DocId,
        edit: impl FnOnce(&mut DossierDoc) -> std::result::Result<T, crate::dossier::DocumentError>,
    ) -> ReplicaResult<T, S::Error> {
        let mut doc = self.doc(id)?;
        doc.set_actor(self.actor.clone());
        let before = doc.heads();
        let out = edit(&mut doc)?;
        let am = doc.into_automerge();
        self.store_changes(*id, am, &before, None)?;
        Ok(out)
    }

    /// Discards local changes the hub refused, keeping only what the hub
    /// acknowledged; the next sync brings the hub's version.
    pub fn discard_refused(&mut self, id: &DocId) -> ReplicaResult<(), S::Error> {
        let meta = self
            .metas
            .get(id)
            .ok_or(ReplicaError::Unknown(*id))?
            .clone();
        let am = self.load(id)?.clone();
        let kept = if meta.acked.is_empty() {
            Automerge::new()
        } else {
            am.fork_at(&meta.acked).map_err(|e| ReplicaError::Corrupt {
                doc: *id,
                message: e.to_string(),
            })?
        };
        let mut kept = kept.with_actor(self.actor.clone());
        let bytes = kept.save();
        let mut new_meta = self.meta_for(*id, &kept, meta.acked.clone(), None);
        if meta.acked.is_empty() {
            new_meta.dossier = None;
        }
        self.storage
            .commit(WriteBatch {
                docs: vec![(*id, DocWrite::Snapshot(bytes))],
                metas: vec![new_meta.clone()],
                checkpoint: None,
            })
            .map_err(ReplicaError::Storage)?;
        self.metas.insert(*id, new_meta);
        kept.set_actor(self.actor.clone());
        self.remember(*id, kept);
        Ok(())
    }

    fn load(&mut self, id: &DocId) -> ReplicaResult<&mut Automerge, S::Error> {
        self.clock += 1;
        let clock = self.clock;
        if !self.cache.contains_key(id) {
            let bytes = self
                .storage
                .load_doc(id)
                .map_err(ReplicaError::Storage)?
                .ok_or(ReplicaError::Unknown(*id))?;
            let am = Automerge::load(&bytes)
                .map_err(|e| ReplicaError::Corrupt {
                    doc: *id,
                    message: e.to_string(),
                })?
                .with_actor(self.actor.clone());
            self.remember(*id, am);
        }
        let entry = self.cache.get_mut(id).ok_or(ReplicaError::Unknown(*id))?;
        entry.1 = clock;
        Ok(&mut entry.0)
    }

    fn remember(&mut self, id: DocId, am: Automerge) {
        self.clock += 1;
        self.cache.insert(id, (am, self.clock));
        self.evict();
    }

    /// Evicts the least recently used documents past the limit; they reload
    /// on demand.
    fn evict(&mut self) {
        while self.cache.len() > self.cache_limit {
            let Some(oldest) = self
                .cache
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(id, _)| *id)
            else {
                break;
            };
            self.cache.remove(&oldest);
        }
    }

    fn meta_for(
        &self,
        id: DocId,
        am: &Automerge,
        acked: Vec<ChangeHash>,
        refused: Option<RefusedChange>,
    ) -> DocMeta {
        let dossier = DossierDoc::read_from(am).ok().map(Box::new);
        DocMeta {
            id,
            heads: am.get_heads(),
            acked,
            refused,
            dossier,
        }
    }

    /// Writes the changes of `am` since `before` (or a snapshot when the
    /// document has grown by many appends) with its new meta.
    fn store_changes(
        &mut self,
        id: DocId,
        am: Automerge,
        before: &[ChangeHash],
        checkpoint: Option<Checkpoint>,
    ) -> ReplicaResult<(), S::Error> {
        let old = self.metas.get(&id).cloned();
        let (acked, refused) = old.map(|m| (m.acked, m.refused)).unwrap_or_default();
        let meta = self.meta_for(id, &am, acked, refused);
        let appends = self.appends.entry(id).or_insert(0);
        *appends += 1;
        let write = if *appends >= COMPACT_AFTER_APPENDS || before.is_empty() {
            *appends = 0;
            DocWrite::Snapshot(am.save())
        } else {
            DocWrite::Append(am.save_after(before))
        };
        self.storage
            .commit(WriteBatch {
                docs: vec![(id, write)],
                metas: vec![meta.clone()],
                checkpoint,
            })
            .map_err(ReplicaError::Storage)?;
        self.metas.insert(id, meta);
        self.remember(id, am);
        Ok(())
    }
}

impl<S: Storage> DeviceReplica<S> {
    /// Writes a document's new meta.
    fn commit_meta(&mut self, meta: DocMeta) -> ReplicaResult<(), S::Error> {
        self.storage
            .commit(WriteBatch {
                metas: vec![meta.clone()],
                ..WriteBatch::default()
            })
            .map_err(ReplicaError::Storage)?;
        self.metas.insert(meta.id, meta);
        Ok(())
    }
}

/// A device's rows are its metas; a document is pending while its heads
/// differ from what the hub acknowledged.
impl<S: Storage> ReplicaRows for DeviceReplica<S> {
    type Error = ReplicaError<S::Error>;

    fn unacknowledged(&mut self) -> ReplicaResult<Vec<(DocId, Vec<ChangeHash>)>, S::Error> {
        Ok(self
            .metas
            .values()
            .filter(|m| m.is_pending())
            .map(|m| (m.id, m.acked.clone()))
            .collect())
    }

    fn document(&mut self, doc: &DocId) -> ReplicaResult<Option<&Automerge>, S::Error> {
        if !self.metas.contains_key(doc) {
            return Ok(None);
        }
        Ok(Some(&*self.load(doc)?))
    }

    fn set_acknowledged(
        &mut self,
        doc: &DocId,
        acked: Vec<ChangeHash>,
        _pending: bool,
    ) -> ReplicaResult<(), S::Error> {
        let Some(mut meta) = self.metas.get(doc).cloned() else {
            return Ok(());
        };
        meta.acked = acked;
        self.commit_meta(meta)
    }

    fn set_refused(&mut self, doc: &DocId, refusal: RefusedChange) -> ReplicaResult<(), S::Error> {
        let Some(mut meta) = self.metas.get(doc).cloned() else {
            return Ok(());
        };
        meta.refused = Some(refusal);
        self.commit_meta(meta)
    }

    fn item_rows(&mut self) -> ReplicaResult<Vec<ItemRow>, S::Error> {
        Ok(self
            .metas
            .values()
            .map(|m| ItemRow {
                id: m.id,
                digest: HeadsDigest::of(&m.heads),
                refused: m.refused.is_some(),
                acked: m.acked.clone(),
            })
            .collect())
    }
}

impl<S: Storage> SyncReplica for DeviceReplica<S> {
    type Error = ReplicaError<S::Error>;

    fn checkpoint(&mut self) -> ReplicaResult<Option<Checkpoint>, S::Error> {
        Ok(self.checkpoint)
    }

    fn pending(
        &mut self,
        skip: &BTreeSet<DocId>,
        max_bytes: usize,
    ) -> ReplicaResult<Vec<DocChanges>, S::Error> {
        push_pending(self, skip, max_bytes)
    }

    fn apply_from_hub(
        &mut self,
        docs: &[DocChanges],
        upto: Option<Checkpoint>,
    ) -> ReplicaResult<Vec<(DocId, String)>, S::Error> {
        let mut batch = WriteBatch {
            checkpoint: upto,
            ..WriteBatch::default()
        };
        let mut loaded = Vec::new();
        let mut unreadable = Vec::new();
        for change in docs {
            let known = self.metas.contains_key(&change.doc);
            let mut am = if known {
                self.load(&change.doc)?.clone()
            } else {
                Automerge::new().with_actor(self.actor.clone())
            };
            let before = am.get_heads();
            if let Err(e) = am.load_incremental(&change.bytes) {
                // Keep what we have; anti-entropy repairs this document.
                unreadable.push((change.doc, e.to_string()));
                continue;
            }
            if am.get_heads() == before && known {
                continue;
            }
            let old = self.metas.get(&change.doc).cloned();
            // Everything that came from the hub, the hub has. When this
            // replica had nothing pending, its new heads are all at the hub.
            let acked = match &old {
                Some(m) if m.is_pending() => m.acked.clone(),
                _ => am.get_heads(),
            };
            let refused = old.and_then(|m| m.refused);
            let meta = self.meta_for(change.doc, &am, acked, refused);
            let write = if before.is_empty() {
                // What came is a whole document already, and it loads: keep
                // it as it came rather than encoding it again (compressing a
                // document costs more than reading it).
                DocWrite::Snapshot(change.bytes.clone())
            } else {
                DocWrite::Append(am.save_after(&before))
            };
            batch.docs.push((change.doc, write));
            batch.metas.push(meta);
            loaded.push((change.doc, am));
        }
        if batch.is_empty() {
            return Ok(unreadable);
        }
        self.storage
            .commit(batch.clone())
            .map_err(ReplicaError::Storage)?;
        if upto.is_some() {
            self.checkpoint = upto;
        }
        for meta in batch.metas {
            self.metas.insert(meta.id, meta);
        }
        for (id, am) in loaded {
            self.remember(id, am);
        }
        Ok(unreadable)
    }

    fn acknowledged(
        &mut self,
        doc: &DocId,
        hub_heads: &[ChangeHash],
    ) -> ReplicaResult<(), S::Error> {
        acknowledge(self, doc, hub_heads)
    }

    fn refused(
        &mut self,
        doc: &DocId,
        reason: Refusal,
        message: &str,
    ) -> ReplicaResult<(), S::Error> {
        self.set_refused(doc, RefusedChange::new(reason, message))
    }

    fn forget_acknowledgement(&mut self, doc: &DocId) -> ReplicaResult<(), S::Error> {
        let Some(mut meta) = self.metas.get(doc).cloned() else {
            return Ok(());
        };
        meta.acked = Vec::new();
        self.commit_meta(meta)
    }

    fn items(&mut self) -> ReplicaResult<Vec<Item>, S::Error> {
        compared_items(self)
    }

    fn heads(&mut self, doc: &DocId) -> ReplicaResult<Vec<ChangeHash>, S::Error> {
        Ok(self
            .metas
            .get(doc)
            .map(|m| m.heads.clone())
            .unwrap_or_default())
    }
}

/// Storage in memory. In the browser, the JavaScript side drains
/// [`MemoryStorage::take_committed`] after each step and writes the batches to
/// IndexedDB in order, one transaction each.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    docs: BTreeMap<DocId, Vec<u8>>,
    metas: BTreeMap<DocId, DocMeta>,
    checkpoint: Option<Checkpoint>,
    committed: Vec<WriteBatch>,
    keep_committed: bool,
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts from previously persisted state; keeps committed batches for
    /// [`MemoryStorage::take_committed`].
    pub fn restore(
        docs: BTreeMap<DocId, Vec<u8>>,
        metas: Vec<DocMeta>,
        checkpoint: Option<Checkpoint>,
    ) -> Self {
        Self {
            docs,
            metas: metas.into_iter().map(|m| (m.id, m)).collect(),
            checkpoint,
            committed: Vec::new(),
            keep_committed: true,
        }
    }

    pub fn take_committed(&mut self) -> Vec<WriteBatch> {
        std::mem::take(&mut self.committed)
    }
}

impl Storage for MemoryStorage {
    type Error = std::convert::Infallible;

    fn load_state(
        &mut self,
    ) -> std::result::Result<(Vec<DocMeta>, Option<Checkpoint>), Self::Error> {
        Ok((self.metas.values().cloned().collect(), self.checkpoint))
    }

    fn load_doc(&mut self, id: &DocId) -> std::result::Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.docs.get(id).cloned())
    }

    fn commit(&mut self, batch: WriteBatch) -> std::result::Result<(), Self::Error> {
        for (id, write) in &batch.docs {
            match write {
                DocWrite::Snapshot(bytes) => {
                    self.docs.insert(*id, bytes.clone());
                }
                DocWrite::Append(bytes) => {
                    self.docs.entry(*id).or_default().extend_from_slice(bytes)
                }
            }
        }
        for meta in &batch.metas {
            self.metas.insert(meta.id, meta.clone());
        }
        if batch.checkpoint.is_some() {
            self.checkpoint = batch.checkpoint;
        }
        if self.keep_committed {
            self.committed.push(batch);
        }
        Ok(())
    }
}

/// Serialises change hashes as hex strings.
mod hashes {
    use automerge::ChangeHash;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hashes: &[ChangeHash], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(hashes.iter().map(|h| hex::encode(h.0)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ChangeHash>, D::Error> {
        let strings = Vec::<String>::deserialize(d)?;
        strings
            .iter()
            .map(|s| {
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(s, &mut bytes).map_err(serde::de::Error::custom)?;
                Ok(ChangeHash(bytes))
            })
            .collect()
    }
}
