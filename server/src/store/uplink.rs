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
use client_core::sync::protocol::{Checkpoint, DocChanges, HeadsDigest, HubId, Refusal};
use client_core::sync::reconcile::Item;
use client_core::sync::replica::{self, ItemRow, RefusedChange, ReplicaRows, SyncReplica};
use client_core::units::{Unit, UnitTree};
use rusqlite::{OptionalExtension, params};

use super::documents::{DocKind, UPLINK_ORIGIN, decode_heads, doc_row, encode_heads};
use super::{Result, Store, StoreError, audit, index};

/// Documents whose bytes from the parent could not be read, with why.
type Unreadable = Vec<(DocId, String)>;

/// The store seen as a replica of the parent hub. Changes stored from the
/// parent reach this hub's own connections through the store's commit
/// listener.
pub struct UplinkReplica {
    store: Store,
    /// The document the replica's rules last asked for.
    loaded: Option<Automerge>,
}

impl UplinkReplica {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            loaded: None,
        }
    }
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

/// The uplink's rows are columns of `documents`: `uplink_acked`,
/// `uplink_dirty` (set by every change made here) and `uplink_refused`.
/// Only dossiers go up; configuration is published by the top hub.
impl ReplicaRows for UplinkReplica {
    type Error = StoreError;

    fn unacknowledged(&mut self) -> Result<Vec<(DocId, Vec<ChangeHash>)>> {
        let rows: Vec<(Vec<u8>, Option<Vec<u8>>)> = self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT doc_id, uplink_acked FROM documents WHERE uplink_dirty = 1 AND uplink_refused IS NULL AND kind = 'dossier' ORDER BY last_seq",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, acked)| {
                let id = <[u8; 16]>::try_from(id.as_slice())
                    .map(DocId::from_bytes)
                    .ok()?;
                Some((id, decode_heads(&acked.unwrap_or_default())))
            })
            .collect())
    }

    fn document(&mut self, doc: &DocId) -> Result<Option<&Automerge>> {
        self.loaded = self.store.load_doc(doc)?;
        Ok(self.loaded.as_ref())
    }

    fn set_acknowledged(
        &mut self,
        doc: &DocId,
        acked: Vec<ChangeHash>,
        pending: bool,
    ) -> Result<()> {
        self.store.write(|tx| {
            tx.execute(
                "UPDATE documents SET uplink_acked = ?2, uplink_dirty = ?3 WHERE doc_id = ?1",
                params![doc.as_bytes(), encode_heads(&acked), pending],
            )?;
            Ok(())
        })
    }

    fn set_refused(&mut self, doc: &DocId, refusal: RefusedChange) -> Result<()> {
        let why = format!("{}: {}", refusal.reason, refusal.message);
        self.store.write(|tx| {
            tx.execute(
                "UPDATE documents SET uplink_refused = ?2 WHERE doc_id = ?1",
                params![doc.as_bytes(), why],
            )?;
            audit::record(tx, "hub", "uplink.refused", &doc.to_string(), &why)
        })
    }

    fn item_rows(&mut self) -> Result<Vec<ItemRow>> {
        self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT doc_id, digest, uplink_refused IS NOT NULL, uplink_acked FROM documents",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, Option<Vec<u8>>>(3)?,
                ))
            })?;
            let mut items = Vec::new();
            for row in rows {
                let (id, digest, refused, acked) = row?;
                let Ok(id) = <[u8; 16]>::try_from(id.as_slice()).map(DocId::from_bytes) else {
                    continue;
                };
                let digest = <[u8; 16]>::try_from(digest.as_slice())
                    .map(HeadsDigest)
                    .map_err(|_| StoreError::Invalid("stored digest is damaged".into()))?;
                items.push(ItemRow {
                    id,
                    digest,
                    refused,
                    acked: decode_heads(&acked.unwrap_or_default()),
                });
            }
            Ok(items)
        })
    }
}

impl SyncReplica for UplinkReplica {
    type Error = StoreError;

    fn checkpoint(&mut self) -> Result<Option<Checkpoint>> {
        self.store.uplink_checkpoint()
    }

    fn pending(&mut self, skip: &BTreeSet<DocId>, max_bytes: usize) -> Result<Vec<DocChanges>> {
        replica::push_pending(self, skip, max_bytes)
    }

    fn apply_from_hub(
        &mut self,
        docs: &[DocChanges],
        upto: Option<Checkpoint>,
    ) -> Result<Vec<(DocId, String)>> {
        self.store.apply_from_parent(docs, upto)
    }

    fn acknowledged(&mut self, doc: &DocId, hub_heads: &[ChangeHash]) -> Result<()> {
        replica::acknowledge(self, doc, hub_heads)
    }

    fn refused(&mut self, doc: &DocId, reason: Refusal, message: &str) -> Result<()> {
        self.set_refused(doc, RefusedChange::new(reason, message))
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
        replica::compared_items(self)
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

#[cfg(test)]
mod tests {
    use automerge::{ActorId, Automerge};
    use client_core::ids::DocId;
    use client_core::sync::replica::SyncReplica;

    use super::UplinkReplica;
    use crate::store::tests::{device, dossier_numbered, province_with, push};

    /// The parent restored from a backup taken before a dossier was made
    /// answers a repair with empty heads: this hub pushes the whole dossier
    /// again rather than only what followed the old acknowledgement.
    #[test]
    fn a_dossier_the_restored_parent_lacks_is_pushed_again_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = province_with(dir.path(), &["X0101"]);
        let actor = ActorId::from(vec![1u8; 16]);
        let id = DocId::random();
        let doc = dossier_numbered(&actor, 1);
        push(&store, &device(&actor), id, doc.automerge().save());
        let mut replica = UplinkReplica::new(store.clone());
        let pushed = replica.pending(&Default::default(), usize::MAX).unwrap();
        assert_eq!(pushed.len(), 1);
        let heads = doc.automerge().get_heads();
        replica.acknowledged(&id, &heads).unwrap();
        assert!(
            replica
                .pending(&Default::default(), usize::MAX)
                .unwrap()
                .is_empty()
        );

        replica.acknowledged(&id, &[]).unwrap();

        let again = replica.pending(&Default::default(), usize::MAX).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].doc, id);
        let alone = Automerge::load(&again[0].bytes).unwrap();
        assert_eq!(alone.get_heads(), heads);
        assert_eq!(store.uplink_pending_count().unwrap(), 1);
    }
}
