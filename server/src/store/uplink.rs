//! This hub as a replica of its parent hub.
//!
//! A commune node (or a district hub) syncs its whole scope upward with the
//! same protocol a device speaks; [`UplinkReplica`] is the [`SyncReplica`]
//! the device engine drives for that. Every document row remembers the heads
//! the parent acknowledged (`uplink_acked`) and whether it changed since
//! (`uplink_dirty`); the parent's change sequence number this hub has
//! everything up to is kept in `meta`.
//!
//! Changes that come down are stored as this hub's own new changes (origin
//! `uplink`), so they reach this hub's devices like any other change, and
//! configuration from above (units, catalogue, calendar) takes effect here.

use std::collections::BTreeSet;

use automerge::{Automerge, ChangeHash};
use client_core::calendar::WorkingCalendar;
use client_core::config::{self, ConfigKind};
use client_core::dossier::DossierDoc;
use client_core::ids::DocId;
use client_core::sync::protocol::{Checkpoint, DocChanges, HeadsDigest, HubId, Refusal, limits};
use client_core::sync::reconcile::Item;
use client_core::sync::replica::SyncReplica;
use client_core::units::{Unit, UnitTree};
use rusqlite::{OptionalExtension, params};

use super::documents::{DocKind, UPLINK_ORIGIN, decode_heads, doc_row};
use super::{Result, Store, StoreError, audit, index};

/// Documents whose bytes from the parent could not be read, with why.
type Unreadable = Vec<(DocId, String)>;

/// The store seen as a replica of the parent hub. Changes stored from the
/// parent reach this hub's own connections through the store's commit
/// listener.
pub struct UplinkReplica {
    store: Store,
}

impl UplinkReplica {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

fn known(doc: &Automerge, heads: &[ChangeHash]) -> Vec<ChangeHash> {
    heads
        .iter()
        .copied()
        .filter(|h| doc.get_change_meta_by_hash(h).is_some())
        .collect()
}

impl Store {
    /// Every actor this hub's devices sign with (and its own): a hub syncing
    /// upward relays them, and the parent accepts changes signed by them.
    pub fn relay_actors(&self) -> Result<Vec<Vec<u8>>> {
        let mut actors: BTreeSet<Vec<u8>> = self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT DISTINCT a.actor FROM device_actors a JOIN devices d ON d.device_id = a.device_id WHERE d.revoked_at IS NULL",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
            Ok(rows.collect::<rusqlite::Result<BTreeSet<_>>>()?)
        })?;
        actors.insert(self.actor().to_bytes().to_vec());
        Ok(actors.into_iter().collect())
    }

    /// Makes documents the parent refused for `reason` pending again.
    pub fn retry_uplink_refusals(&self, reason: &str) -> Result<usize> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE documents SET uplink_refused = NULL, uplink_dirty = 1 WHERE uplink_refused LIKE ?1",
                [format!("{reason}:%")],
            )?)
        })
    }

    /// The parent hub this one syncs with, once configured.
    pub fn uplink(&self) -> Result<Option<String>> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT value FROM meta WHERE key = 'uplink'", [], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
    }

    pub fn set_uplink(&self, url: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('uplink', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [url],
            )?;
            Ok(())
        })
    }

    fn uplink_checkpoint(&self) -> Result<Option<Checkpoint>> {
        self.read(|c| {
            let value: Option<String> = c
                .query_row(
                    "SELECT value FROM meta WHERE key = 'uplink_checkpoint'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(value.and_then(|v| {
                let (hub, seq) = v.split_once(':')?;
                let mut bytes = [0u8; 16];
                hex::decode_to_slice(hub, &mut bytes).ok()?;
                Some(Checkpoint {
                    hub: HubId(bytes),
                    seq: seq.parse().ok()?,
                })
            }))
        })
    }

    /// Documents changed here that the parent has not acknowledged.
    pub fn uplink_pending_count(&self) -> Result<i64> {
        self.read(|c| Ok(c.query_row("SELECT count(*) FROM documents WHERE uplink_dirty = 1 AND uplink_refused IS NULL AND kind = 'dossier'", [], |r| r.get(0))?))
    }

    /// Stores what came down from the parent, and the checkpoint, in one
    /// transaction.
    fn apply_from_parent(
        &self,
        docs: &[DocChanges],
        upto: Option<Checkpoint>,
    ) -> Result<Unreadable> {
        let calendar = self.calendar();
        let mut unreadable = Vec::new();
        let mut updated = Vec::new();
        let mut new_units: Option<UnitTree> = None;
        let mut new_calendar: Option<WorkingCalendar> = None;
        self.write_changes(|tx| {
            let mut committed = Vec::new();
            for change in docs {
                let row = doc_row(tx, &change.doc)?;
                let mut doc = self.load_doc_tx(tx, &change.doc)?.unwrap_or_default();
                let before = doc.get_heads();
                if let Err(e) = doc.load_incremental(&change.bytes) {
                    unreadable.push((change.doc, e.to_string()));
                    continue;
                }
                if doc.get_heads() == before {
                    continue;
                }
                let bytes = doc.save_after(&before);
                let previous_rows = row.as_ref().map(|r| r.change_rows);
                if let Ok((kind, body, _)) = config::read(&doc) {
                    match kind {
                        ConfigKind::Units => new_units = serde_json::from_str::<Vec<Unit>>(&body).ok().and_then(|u| UnitTree::new(u).ok()),
                        ConfigKind::Calendar => new_calendar = serde_json::from_str(&body).ok(),
                        ConfigKind::Catalogue => {}
                    }
                    committed.push(self.store_changes(tx, &change.doc, DocKind::Config, None, &doc, bytes, UPLINK_ORIGIN, previous_rows)?);
                } else {
                    match DossierDoc::read_from(&doc) {
                        Ok(dossier) => {
                            let c = self.store_changes(tx, &change.doc, DocKind::Dossier, Some(&dossier.unit), &doc, bytes, UPLINK_ORIGIN, previous_rows)?;
                            index::write_dossier(tx, &change.doc, &dossier, c.seq, &calendar)?;
                            committed.push(c);
                        }
                        Err(e) => {
                            // Keep our copy as it was; anti-entropy will bring
                            // it again once this hub's software reads it.
                            unreadable.push((change.doc, e.to_string()));
                            continue;
                        }
                    }
                }
                updated.push((change.doc, doc));
            }
            if let Some(c) = upto {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('uplink_checkpoint', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [format!("{}:{}", c.hub, c.seq)],
                )?;
            }
            Ok(((), committed))
        })?;
        {
            let mut cache = self.cache();
            for (id, doc) in updated {
                cache.put(id, doc);
            }
        }
        if let Some(tree) = new_units {
            self.upsert_units(&tree.units().cloned().collect::<Vec<_>>())?;
        }
        if let Some(calendar) = new_calendar {
            self.set_calendar_in_memory(calendar);
        }
        Ok(unreadable)
    }
}

impl SyncReplica for UplinkReplica {
    type Error = StoreError;

    fn checkpoint(&mut self) -> Result<Option<Checkpoint>> {
        self.store.uplink_checkpoint()
    }

    fn pending(&mut self, skip: &BTreeSet<DocId>, max_bytes: usize) -> Result<Vec<DocChanges>> {
        let rows: Vec<(Vec<u8>, Option<Vec<u8>>)> = self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT doc_id, uplink_acked FROM documents WHERE uplink_dirty = 1 AND uplink_refused IS NULL AND kind = 'dossier' ORDER BY last_seq",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        let mut out = Vec::new();
        let mut total = 0;
        for (id, acked) in rows {
            let Ok(id) = <[u8; 16]>::try_from(id.as_slice()).map(DocId::from_bytes) else {
                continue;
            };
            if skip.contains(&id) {
                continue;
            }
            let Some(doc) = self.store.load_doc(&id)? else {
                continue;
            };
            let acked = known(&doc, &decode_heads(&acked.unwrap_or_default()));
            let bytes = if acked.is_empty() {
                doc.save()
            } else {
                doc.save_after(&acked)
            };
            if bytes.is_empty() {
                // Nothing the parent lacks after all.
                self.store.write(|tx| {
                    tx.execute(
                        "UPDATE documents SET uplink_dirty = 0 WHERE doc_id = ?1",
                        [id.as_bytes()],
                    )?;
                    Ok(())
                })?;
                continue;
            }
            if bytes.len() > limits::MAX_DOC_BYTES {
                self.refused(
                    &id,
                    Refusal::TooLarge,
                    &format!("{} bytes exceed the document limit", bytes.len()),
                )?;
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

    fn apply_from_hub(
        &mut self,
        docs: &[DocChanges],
        upto: Option<Checkpoint>,
    ) -> Result<Vec<(DocId, String)>> {
        self.store.apply_from_parent(docs, upto)
    }

    fn acknowledged(&mut self, doc: &DocId, hub_heads: &[ChangeHash]) -> Result<()> {
        let Some(current) = self.store.load_doc(doc)? else {
            return Ok(());
        };
        let acked = known(&current, hub_heads);
        if acked.len() != hub_heads.len() {
            // The parent has more than we do; it will come down.
            return Ok(());
        }
        let mut heads = current.get_heads();
        heads.sort();
        let mut sorted = acked.clone();
        sorted.sort();
        let clean = heads == sorted;
        self.store.write(|tx| {
            tx.execute(
                "UPDATE documents SET uplink_acked = ?2, uplink_dirty = ?3 WHERE doc_id = ?1",
                params![
                    doc.as_bytes(),
                    acked.iter().flat_map(|h| h.0).collect::<Vec<u8>>(),
                    !clean
                ],
            )?;
            Ok(())
        })
    }

    fn refused(&mut self, doc: &DocId, reason: Refusal, message: &str) -> Result<()> {
        self.store.write(|tx| {
            tx.execute(
                "UPDATE documents SET uplink_refused = ?2 WHERE doc_id = ?1",
                params![doc.as_bytes(), format!("{}: {message}", reason.as_str())],
            )?;
            audit::record(
                tx,
                "hub",
                "uplink.refused",
                &doc.to_string(),
                &format!("{}: {message}", reason.as_str()),
            )
        })
    }

    fn forget_acknowledgement(&mut self, doc: &DocId) -> Result<()> {
        self.store.write(|tx| {
            tx.execute(
                "UPDATE documents SET uplink_acked = NULL, uplink_dirty = 1 WHERE doc_id = ?1",
                [doc.as_bytes()],
            )?;
            Ok(())
        })
    }

    fn items(&mut self) -> Result<Vec<Item>> {
        self.store.read(|c| {
            let mut stmt =
                c.prepare("SELECT doc_id, digest, uplink_refused, uplink_acked FROM documents")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<Vec<u8>>>(3)?,
                ))
            })?;
            let mut items = Vec::new();
            for row in rows {
                let (id, digest, refused, acked) = row?;
                let Ok(id) = <[u8; 16]>::try_from(id.as_slice()).map(DocId::from_bytes) else {
                    continue;
                };
                // A document the parent refused is compared as the parent
                // last accepted it.
                let digest = match (refused, acked) {
                    (None, _) => <[u8; 16]>::try_from(digest.as_slice())
                        .map(HeadsDigest)
                        .map_err(|_| StoreError::Invalid("stored digest is damaged".into()))?,
                    (Some(_), Some(acked)) if !acked.is_empty() => {
                        HeadsDigest::of(&decode_heads(&acked))
                    }
                    (Some(_), _) => continue,
                };
                items.push((id, digest));
            }
            Ok(items)
        })
    }

    fn heads(&mut self, doc: &DocId) -> Result<Vec<ChangeHash>> {
        self.store.read(|c| {
            let heads: Option<Vec<u8>> = c
                .query_row(
                    "SELECT heads FROM documents WHERE doc_id = ?1",
                    [doc.as_bytes()],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(heads.map(|h| decode_heads(&h)).unwrap_or_default())
        })
    }
}
