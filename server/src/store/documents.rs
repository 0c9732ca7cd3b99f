//! Automerge documents in SQLite, and the [`HubStore`] sync sessions use.
//!
//! A document is an optional snapshot plus the change rows after it. Every
//! accepted change gets the next number of the hub-wide sequence (the
//! `changes.seq` column); a device's checkpoint is such a number, so "what
//! changed since my checkpoint" is an index range scan, whatever the number
//! of documents. Once a document has many change rows they are folded into a
//! new snapshot in the same transaction; devices whose checkpoint is older
//! than that snapshot receive it whole, which is still correct.
//!
//! Documents are loaded only to admit a push or repair a divergence, and stay
//! in a bounded cache; catch-ups copy stored bytes without loading anything.

use std::collections::BTreeMap;
use std::sync::Arc;

use automerge::{Automerge, ChangeHash};
use client_core::calendar::WorkingCalendar;
use client_core::ids::{DocId, UnitCode};
use client_core::sync::hub::{
    ChangesPage, Committed, DeviceIdentity, HubStore, admit, not_found_message,
};
use client_core::sync::protocol::{
    DocChanges, DocOutcome, DocResult, ErrorMessage, HeadsDigest, Hello, HubId, Push, Refusal,
};
use client_core::sync::reconcile::Item;
use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};

use super::{Result, Store, StoreError, audit, index, now_ms};

/// Documents kept loaded in memory.
pub const CACHE_DOCS: usize = 1024;
/// Change rows after which a document is folded into a new snapshot.
pub const COMPACT_AFTER_ROWS: i64 = 64;
/// A document's id, unit (none for configuration) and sorted heads in hex.
pub type DocumentHeads = (DocId, Option<String>, Vec<String>);

/// The origin recorded for changes that came down from the parent hub.
pub const UPLINK_ORIGIN: &str = "uplink";
/// What one push did inside a batch.
#[derive(Debug, Default)]
pub(super) struct AdmittedPush {
    /// One result per pushed document, in the push's order.
    pub results: Vec<DocResult>,
    pub committed: Vec<Committed>,
    /// The documents this push changed, as they now are.
    pub docs: BTreeMap<DocId, Automerge>,
}

/// Documents read per catch-up query.
const PAGE_DOCS: usize = 512;

/// A least-recently-used cache of loaded documents.
#[derive(Debug)]
pub struct DocCache {
    capacity: usize,
    clock: u64,
    docs: BTreeMap<DocId, (Automerge, u64)>,
}

impl DocCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            clock: 0,
            docs: BTreeMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    fn get(&mut self, id: &DocId) -> Option<Automerge> {
        self.clock += 1;
        let clock = self.clock;
        self.docs.get_mut(id).map(|(doc, used)| {
            *used = clock;
            doc.clone()
        })
    }

    pub(super) fn put(&mut self, id: DocId, doc: Automerge) {
        self.clock += 1;
        self.docs.insert(id, (doc, self.clock));
        while self.docs.len() > self.capacity {
            let Some(oldest) = self
                .docs
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(id, _)| *id)
            else {
                break;
            };
            self.docs.remove(&oldest);
        }
    }

    fn remove(&mut self, id: &DocId) {
        self.docs.remove(id);
    }
}

/// What kind of document a row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Dossier,
    Config,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Dossier => "dossier",
            DocKind::Config => "config",
        }
    }

    pub fn parse(s: &str) -> Option<DocKind> {
        [DocKind::Dossier, DocKind::Config]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone)]
pub(super) struct DocRow {
    pub kind: DocKind,
    pub unit: Option<String>,
    pub change_rows: i64,
}

pub(super) fn doc_row(conn: &Connection, id: &DocId) -> Result<Option<DocRow>> {
    let row: Option<(String, Option<String>, i64)> = conn
        .query_row(
            "SELECT kind, unit, change_rows FROM documents WHERE doc_id = ?1",
            [id.as_bytes()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    row.map(|(kind, unit, change_rows)| {
        Ok(DocRow {
            kind: DocKind::parse(&kind).ok_or_else(|| {
                StoreError::DamagedRecord(format!("document {id} is of unknown kind '{kind}'"))
            })?,
            unit,
            change_rows,
        })
    })
    .transpose()
}

fn visible(row: &DocRow, device: &DeviceIdentity) -> bool {
    match &row.unit {
        None => true,
        Some(unit) => UnitCode::parse(unit).is_ok_and(|u| device.may_see(&u)),
    }
}

pub(super) fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

pub fn decode_heads(bytes: &[u8]) -> Vec<ChangeHash> {
    bytes
        .chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            ChangeHash(h)
        })
        .collect()
}

/// Reads a stored document from the database.
fn load_from_db(conn: &Connection, id: &DocId) -> Result<Option<Automerge>> {
    let snapshot: Option<(Option<Vec<u8>>, i64)> = conn
        .query_row(
            "SELECT snapshot, snapshot_seq FROM documents WHERE doc_id = ?1",
            [id.as_bytes()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((snapshot, snapshot_seq)) = snapshot else {
        return Ok(None);
    };
    let corrupt = |e: automerge::AutomergeError| StoreError::Corrupt {
        doc: id.to_string(),
        message: e.to_string(),
    };
    let mut doc = match snapshot {
        Some(bytes) => Automerge::load(&bytes).map_err(corrupt)?,
        None => Automerge::new(),
    };
    // Rows up to the snapshot are in it (a new document's first row is kept).
    let mut stmt = conn
        .prepare_cached("SELECT bytes FROM changes WHERE doc_id = ?1 AND seq > ?2 ORDER BY seq")?;
    let rows = stmt.query_map(params![id.as_bytes(), snapshot_seq], |r| {
        r.get::<_, Vec<u8>>(0)
    })?;
    for bytes in rows {
        doc.load_incremental(&bytes?).map_err(corrupt)?;
    }
    Ok(Some(doc))
}

/// The SQL condition and parameters restricting documents to a scope.
fn scope_filter(store: &Store, device: &DeviceIdentity) -> (String, Vec<String>) {
    let all = store.units().len();
    if device.scope.len() >= all {
        return ("1 = 1".to_string(), Vec::new());
    }
    let marks = vec!["?"; device.scope.len()].join(", ");
    (
        format!("(unit IS NULL OR unit IN ({marks}))"),
        device.scope.iter().map(|u| u.to_string()).collect(),
    )
}

impl Store {
    /// A document as the hub has it, through the cache.
    pub fn load_doc(&self, id: &DocId) -> Result<Option<Automerge>> {
        if let Some(doc) = self.cache().get(id) {
            return Ok(Some(doc));
        }
        let doc = self.read(|conn| load_from_db(conn, id))?;
        if let Some(doc) = &doc {
            self.cache().put(*id, doc.clone());
        }
        Ok(doc)
    }

    pub(super) fn load_doc_tx(
        &self,
        tx: &Transaction<'_>,
        id: &DocId,
    ) -> Result<Option<Automerge>> {
        if let Some(doc) = self.cache().get(id) {
            return Ok(Some(doc));
        }
        load_from_db(tx, id)
    }

    /// The newest number of the change sequence.
    pub fn current_seq(&self) -> Result<u64> {
        self.read(current_seq)
    }

    /// Every document's id, unit and sorted heads (hex).
    pub fn document_heads(&self) -> Result<Vec<DocumentHeads>> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT doc_id, unit, heads FROM documents ORDER BY doc_id")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, unit, heads) = row?;
                let Ok(id) = <[u8; 16]>::try_from(id.as_slice()).map(DocId::from_bytes) else {
                    continue;
                };
                let mut heads: Vec<String> = decode_heads(&heads)
                    .iter()
                    .map(|h| hex::encode(h.0))
                    .collect();
                heads.sort();
                out.push((id, unit, heads));
            }
            Ok(out)
        })
    }

    /// Who each stored change row of a document came from, in sequence
    /// order (a device id, `hub`, or [`UPLINK_ORIGIN`]).
    pub fn change_origins(&self, id: &DocId) -> Result<Vec<String>> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT origin FROM changes WHERE doc_id = ?1 ORDER BY seq")?;
            let rows = stmt.query_map([id.as_bytes()], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The bytes of the change rows stored after `seq` that did not come
    /// from `origin`: what a device of that id checkpointed at `seq` has
    /// still to receive, at least.
    pub fn change_bytes_after(&self, seq: u64, excluding_origin: &str) -> Result<u64> {
        self.read(|c| {
            let bytes: i64 = c.query_row(
                "SELECT COALESCE(SUM(length(bytes)), 0) FROM changes WHERE seq > ?1 AND origin != ?2",
                params![seq as i64, excluding_origin],
                |r| r.get(0),
            )?;
            Ok(bytes as u64)
        })
    }

    /// The stored change rows that came from `origin`, in sequence order.
    pub fn changes_from(&self, origin: &str) -> Result<Vec<(DocId, Vec<u8>)>> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT doc_id, bytes FROM changes WHERE origin = ?1 ORDER BY seq")?;
            let rows = stmt.query_map([origin], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, bytes) = row?;
                let id = <[u8; 16]>::try_from(id.as_slice()).map_err(|_| {
                    StoreError::DamagedRecord("stored document id is damaged".into())
                })?;
                out.push((DocId::from_bytes(id), bytes));
            }
            Ok(out)
        })
    }

    pub fn document_count(&self) -> Result<i64> {
        self.read(|conn| Ok(conn.query_row("SELECT count(*) FROM documents", [], |r| r.get(0))?))
    }

    /// Stores one document's new changes: change row, document row, index,
    /// compaction. Returns the committed change.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn store_changes(
        &self,
        tx: &Transaction<'_>,
        id: &DocId,
        kind: DocKind,
        unit: Option<&UnitCode>,
        doc: &Automerge,
        new_changes: Vec<u8>,
        origin: &str,
        previous_rows: Option<i64>,
    ) -> Result<Committed> {
        tx.execute(
            "INSERT INTO changes (doc_id, origin, bytes) VALUES (?1, ?2, ?3)",
            params![id.as_bytes(), origin, new_changes],
        )?;
        let seq = tx.last_insert_rowid() as u64;
        let heads = doc.get_heads();
        let digest = HeadsDigest::of(&heads);
        let rows = previous_rows.unwrap_or(0) + 1;
        // Changes from the parent hub are, by definition, at the parent: a
        // document with nothing else pending stays clean for the uplink.
        let from_parent = origin == UPLINK_ORIGIN;
        tx.execute(
            "INSERT INTO documents (doc_id, kind, unit, snapshot, snapshot_seq, last_seq, heads, digest, change_rows, bytes, uplink_acked, uplink_dirty)
             VALUES (?1, ?2, ?3, NULL, 0, ?4, ?5, ?6, 1, ?7, CASE WHEN ?8 THEN ?5 END, NOT ?8)
             ON CONFLICT(doc_id) DO UPDATE SET last_seq = excluded.last_seq, heads = excluded.heads,
               digest = excluded.digest, change_rows = documents.change_rows + 1, bytes = documents.bytes + excluded.bytes,
               uplink_acked = CASE WHEN ?8 AND documents.uplink_dirty = 0 THEN excluded.heads ELSE documents.uplink_acked END,
               uplink_dirty = CASE WHEN ?8 THEN documents.uplink_dirty ELSE 1 END",
            params![
                id.as_bytes(),
                kind.as_str(),
                unit.map(|u| u.as_str()),
                seq as i64,
                encode_heads(&heads),
                digest.0.to_vec(),
                new_changes.len() as i64,
                from_parent
            ],
        )?;
        if rows >= COMPACT_AFTER_ROWS {
            // Fold the rows into a snapshot; the document is unchanged.
            let snapshot = doc.save();
            tx.execute(
                "UPDATE documents SET snapshot = ?2, snapshot_seq = last_seq, change_rows = 0, bytes = ?3 WHERE doc_id = ?1",
                params![id.as_bytes(), snapshot, snapshot.len() as i64],
            )?;
            tx.execute("DELETE FROM changes WHERE doc_id = ?1", [id.as_bytes()])?;
        } else if previous_rows.is_none() {
            // A new document is kept whole as well, in Automerge's compressed
            // document form: a device that has none of it (a first sync)
            // receives that, about half the size of its change rows. The row
            // stays, for devices that check-pointed past it.
            let snapshot = doc.save();
            tx.execute(
                "UPDATE documents SET snapshot = ?2, snapshot_seq = last_seq, change_rows = 0 WHERE doc_id = ?1",
                params![id.as_bytes(), snapshot],
            )?;
        }
        Ok(Committed {
            seq,
            doc: *id,
            unit: unit.cloned(),
            origin: origin.to_string(),
            bytes: Arc::from(new_changes),
        })
    }

    /// Admits and durably commits a device's push. Pushes from every
    /// connection are committed together by the [`committer`]; this returns
    /// once the transaction holding this one has committed.
    ///
    /// [`committer`]: super::committer
    pub fn commit_push(
        &self,
        device: &DeviceIdentity,
        push: Push,
    ) -> Result<(Vec<DocResult>, Vec<Committed>)> {
        let pushed = self.inner.committer.submit(device.clone(), push)?;
        Ok((pushed.results, pushed.committed))
    }

    /// Admits one device's push inside a batch's transaction: accepted
    /// changes are written with their index rows, refusals are quarantined.
    /// `batch` holds the documents as earlier pushes of the same transaction
    /// left them (the cache does not have them until the commit).
    pub(super) fn admit_push(
        &self,
        tx: &Transaction<'_>,
        batch: &BTreeMap<DocId, Automerge>,
        calendar: &WorkingCalendar,
        device: &DeviceIdentity,
        push: &Push,
    ) -> Result<AdmittedPush> {
        let mut out = AdmittedPush::default();
        for change in &push.docs {
            let row = doc_row(tx, &change.doc)?;
            let refuse =
                |tx: &Transaction<'_>, reason: Refusal, message: String| -> Result<DocOutcome> {
                    audit::quarantine(
                        tx,
                        &device.device_id,
                        Some(change.doc.as_bytes()),
                        reason.as_str(),
                        &message,
                        &change.bytes,
                    )?;
                    Ok(DocOutcome::Refused { reason, message })
                };
            let outcome = match &row {
                Some(r) if r.kind == DocKind::Config => refuse(
                    tx,
                    Refusal::ReadOnly,
                    "configuration is published by the hub; devices cannot change it".into(),
                )?,
                _ => {
                    let is_visible = row.as_ref().is_some_and(|r| visible(r, device));
                    let existing = if !is_visible {
                        None
                    } else if let Some(doc) =
                        out.docs.get(&change.doc).or_else(|| batch.get(&change.doc))
                    {
                        Some(doc.clone())
                    } else {
                        self.load_doc_tx(tx, &change.doc)?
                    };
                    match admit(existing.as_ref(), &change.bytes, device) {
                        Err((reason, message)) => refuse(tx, reason, message)?,
                        // The id is taken by a document this device may not see.
                        Ok(_) if row.is_some() && !is_visible => {
                            refuse(tx, Refusal::NotFound, not_found_message())?
                        }
                        Ok(admitted) if !admitted.is_new_information() => DocOutcome::Accepted {
                            heads: admitted.doc.get_heads(),
                        },
                        Ok(admitted) => {
                            let code = admitted.dossier.code.to_string();
                            let clash: Option<Vec<u8>> = tx
                                .query_row(
                                    "SELECT doc_id FROM dossiers WHERE code = ?1 AND doc_id != ?2",
                                    params![code, change.doc.as_bytes()],
                                    |r| r.get(0),
                                )
                                .optional()?;
                            if clash.is_some() {
                                refuse(
                                    tx,
                                    Refusal::DuplicateCode,
                                    format!(
                                        "dossier code {code} is already used by another dossier"
                                    ),
                                )?
                            } else {
                                let c = self.store_changes(
                                    tx,
                                    &change.doc,
                                    DocKind::Dossier,
                                    Some(&admitted.dossier.unit),
                                    &admitted.doc,
                                    admitted.new_changes,
                                    &device.device_id,
                                    row.as_ref().map(|r| r.change_rows),
                                )?;
                                index::write_dossier(
                                    tx,
                                    &change.doc,
                                    &admitted.dossier,
                                    c.seq,
                                    calendar,
                                )?;
                                out.committed.push(c);
                                let heads = admitted.doc.get_heads();
                                out.docs.insert(change.doc, admitted.doc);
                                DocOutcome::Accepted { heads }
                            }
                        }
                    }
                }
            };
            out.results.push(DocResult {
                doc: change.doc,
                outcome,
            });
        }
        Ok(out)
    }

    /// Writes the hub's own change to a configuration document (every device
    /// receives it read-only).
    pub fn publish_config(
        &self,
        id: DocId,
        edit: impl FnOnce(&mut Automerge) -> Result<()>,
    ) -> Result<Option<Committed>> {
        let mut result = None;
        let out = self.write_changes(|tx| {
            let row = doc_row(tx, &id)?;
            if row.as_ref().is_some_and(|r| r.kind != DocKind::Config) {
                return Err(StoreError::NotConfiguration(id));
            }
            let mut doc = self
                .load_doc_tx(tx, &id)?
                .unwrap_or_default()
                .with_actor(self.actor().clone());
            let before = doc.get_heads();
            edit(&mut doc)?;
            if doc.get_heads() == before {
                return Ok((None, Vec::new()));
            }
            let bytes = doc.save_after(&before);
            let c = self.store_changes(
                tx,
                &id,
                DocKind::Config,
                None,
                &doc,
                bytes,
                "hub",
                row.map(|r| r.change_rows),
            )?;
            audit::record(tx, "hub", "config.publish", &id.to_string(), "")?;
            result = Some(doc);
            Ok((Some(c.clone()), vec![c]))
        });
        if let (Ok(_), Some(doc)) = (&out, result) {
            self.cache().put(id, doc);
        } else {
            self.cache().remove(&id);
        }
        out.map(|(c, _)| c)
    }
}

fn current_seq(conn: &Connection) -> Result<u64> {
    let seq: Option<i64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'changes'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(seq.unwrap_or(0) as u64)
}

impl HubStore for Store {
    type Error = StoreError;

    fn hub_id(&self) -> HubId {
        Store::hub_id(self)
    }

    fn authenticate(
        &mut self,
        hello: &Hello,
    ) -> Result<std::result::Result<DeviceIdentity, ErrorMessage>> {
        Store::authenticate(self, hello)
    }

    fn changes_since(
        &mut self,
        device: &DeviceIdentity,
        since: u64,
        after: u64,
        max_bytes: usize,
    ) -> Result<ChangesPage> {
        let (filter, scope) = scope_filter(self, device);
        self.read(|conn| {
            // One read transaction: the page and the newest seq agree.
            let tx = conn.unchecked_transaction()?;
            let sql = format!(
                "SELECT doc_id, last_seq, snapshot_seq, snapshot FROM documents WHERE last_seq > ? AND {filter} ORDER BY last_seq LIMIT {PAGE_DOCS}"
            );
            let mut stmt = tx.prepare(&sql)?;
            let mut params: Vec<rusqlite::types::Value> = vec![(after as i64).into()];
            params.extend(scope.iter().map(|s| rusqlite::types::Value::from(s.clone())));
            let rows = stmt
                .query_map(params_from_iter(params), |r| {
                    Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<Vec<u8>>>(3)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let full_page = rows.len() == PAGE_DOCS;
            let mut changes_stmt = tx.prepare_cached("SELECT seq, origin, bytes FROM changes WHERE doc_id = ?1 AND seq > ?2 ORDER BY seq")?;
            let mut origin_stmt = tx.prepare_cached("SELECT origin FROM changes WHERE doc_id = ?1 AND seq = ?2")?;
            let mut docs = Vec::new();
            let mut size = 0usize;
            let mut upto = after;
            let mut stopped_early = false;
            for (i, (id_bytes, last_seq, snapshot_seq, snapshot)) in rows.iter().enumerate() {
                let id = DocId::from_bytes(id_bytes.as_slice().try_into().map_err(|_| StoreError::DamagedRecord("stored document id is damaged".into()))?);
                // A device behind the snapshot gets the whole document,
                // unless the snapshot is the document as this device pushed
                // it new (its change row, kept, says so): it has that.
                let whole = (*snapshot_seq as u64) > since
                    && origin_stmt
                        .query_row(params![id_bytes, snapshot_seq], |r| r.get::<_, String>(0))
                        .optional()?
                        .is_none_or(|origin| origin != device.device_id);
                let from = if whole { *snapshot_seq } else { since as i64 };
                let mut bytes = if whole { snapshot.clone().unwrap_or_default() } else { Vec::new() };
                let chunks = changes_stmt.query_map(params![id_bytes, from], |r| Ok((r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?)))?;
                for chunk in chunks {
                    let (origin, chunk) = chunk?;
                    // The device already has what it pushed itself.
                    if whole || origin != device.device_id {
                        bytes.extend_from_slice(&chunk);
                    }
                }
                upto = *last_seq as u64;
                if !bytes.is_empty() {
                    size += bytes.len();
                    docs.push(DocChanges { doc: id, bytes });
                }
                if size >= max_bytes && i + 1 < rows.len() {
                    stopped_early = true;
                    break;
                }
            }
            let done = !stopped_early && !full_page;
            if done {
                upto = upto.max(current_seq(&tx)?);
            }
            Ok(ChangesPage { docs, upto, done })
        })
    }

    fn commit_push(
        &mut self,
        device: &DeviceIdentity,
        push: Push,
    ) -> Result<(Vec<DocResult>, Vec<Committed>)> {
        Store::commit_push(self, device, push)
    }

    fn items(&mut self, device: &DeviceIdentity) -> Result<Vec<Item>> {
        let (filter, scope) = scope_filter(self, device);
        self.read(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT doc_id, digest FROM documents WHERE {filter}"
            ))?;
            let rows = stmt.query_map(params_from_iter(scope.iter()), |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?;
            let mut items = Vec::new();
            for row in rows {
                let (id, digest) = row?;
                let (Ok(id), Ok(digest)) = (
                    <[u8; 16]>::try_from(id.as_slice()),
                    <[u8; 16]>::try_from(digest.as_slice()),
                ) else {
                    return Err(StoreError::DamagedRecord(
                        "stored document id or digest is damaged".into(),
                    ));
                };
                items.push((DocId::from_bytes(id), HeadsDigest(digest)));
            }
            Ok(items)
        })
    }

    fn repair(
        &mut self,
        device: &DeviceIdentity,
        docs: &[(DocId, Vec<ChangeHash>)],
    ) -> Result<(Vec<DocChanges>, Vec<(DocId, Vec<ChangeHash>)>)> {
        let mut changes = Vec::new();
        let mut heads = Vec::new();
        for (id, device_heads) in docs
            .iter()
            .take(client_core::sync::protocol::limits::MAX_ITEMS_PER_FRAME)
        {
            let row = self.read(|conn| doc_row(conn, id))?;
            let doc = match row {
                Some(r) if visible(&r, device) => self.load_doc(id)?,
                _ => None,
            };
            match doc {
                Some(doc) => {
                    let known: Vec<ChangeHash> = device_heads
                        .iter()
                        .copied()
                        .filter(|h| doc.get_change_meta_by_hash(h).is_some())
                        .collect();
                    let bytes = doc.save_after(&known);
                    if !bytes.is_empty() {
                        changes.push(DocChanges { doc: *id, bytes });
                    }
                    heads.push((*id, doc.get_heads()));
                }
                None => heads.push((*id, Vec::new())),
            }
        }
        Ok((changes, heads))
    }

    fn now(&self) -> i64 {
        now_ms()
    }

    fn depth(&self) -> u8 {
        Store::depth(self).unwrap_or(0)
    }
}
