//! A device replica's storage in SQLite (`<data>/device.sqlite`).
//!
//! Implements client-core's [`Storage`]: document bytes (a snapshot and the
//! chunks appended after it), per-document sync metadata, the checkpoint —
//! and the device's own settings (token, actor, code slots, hub address).
//! Each [`WriteBatch`] is one transaction.

use std::collections::BTreeMap;
use std::path::Path;

use client_core::ids::DocId;
use client_core::sync::protocol::{Checkpoint, HubId};
use client_core::sync::replica::{DocMeta, DocWrite, Storage, WriteBatch};
use rusqlite::{Connection, OptionalExtension, params};

pub const DEVICE_DB: &str = "device.sqlite";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS docs (id BLOB PRIMARY KEY, snapshot BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS doc_chunks (id BLOB NOT NULL, n INTEGER NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (id, n));
CREATE TABLE IF NOT EXISTS doc_meta (id BLOB PRIMARY KEY, meta TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("device database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("device database is damaged: {0}")]
    Damaged(String),
}

#[derive(Debug)]
pub struct SqliteStorage {
    conn: Connection,
}

impl SqliteStorage {
    pub fn open(dir: &Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageError::Damaged(format!("cannot create {}: {e}", dir.display())))?;
        let conn = Connection::open(dir.join(DEVICE_DB))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StorageError> {
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Changes whenever another connection commits (SQLite's data_version).
    pub fn data_version(&self) -> Result<i64, StorageError> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }
}

fn doc_id(bytes: &[u8]) -> Result<DocId, StorageError> {
    <[u8; 16]>::try_from(bytes)
        .map(DocId::from_bytes)
        .map_err(|_| StorageError::Damaged("document id".into()))
}

impl Storage for SqliteStorage {
    type Error = StorageError;

    fn load_state(&mut self) -> Result<(Vec<DocMeta>, Option<Checkpoint>), StorageError> {
        let mut stmt = self.conn.prepare("SELECT id, meta FROM doc_meta")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut metas = Vec::new();
        for row in rows {
            let (id, json) = row?;
            let meta: DocMeta = serde_json::from_str(&json).map_err(|e| {
                StorageError::Damaged(format!(
                    "metadata of {}: {e}",
                    doc_id(&id).map(|d| d.to_string()).unwrap_or_default()
                ))
            })?;
            metas.push(meta);
        }
        let checkpoint = match (
            self.setting("checkpoint_hub")?,
            self.setting("checkpoint_seq")?,
        ) {
            (Some(hub), Some(seq)) => {
                let mut bytes = [0u8; 16];
                hex::decode_to_slice(&hub, &mut bytes)
                    .map_err(|_| StorageError::Damaged("checkpoint".into()))?;
                Some(Checkpoint {
                    hub: HubId(bytes),
                    seq: seq
                        .parse()
                        .map_err(|_| StorageError::Damaged("checkpoint".into()))?,
                })
            }
            _ => None,
        };
        Ok((metas, checkpoint))
    }

    fn load_doc(&mut self, id: &DocId) -> Result<Option<Vec<u8>>, StorageError> {
        let snapshot: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT snapshot FROM docs WHERE id = ?1",
                [id.as_bytes()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(mut bytes) = snapshot else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT bytes FROM doc_chunks WHERE id = ?1 ORDER BY n")?;
        for chunk in stmt.query_map([id.as_bytes()], |r| r.get::<_, Vec<u8>>(0))? {
            bytes.extend_from_slice(&chunk?);
        }
        Ok(Some(bytes))
    }

    fn commit(&mut self, batch: WriteBatch) -> Result<(), StorageError> {
        let tx = self.conn.transaction()?;
        for (id, write) in &batch.docs {
            match write {
                DocWrite::Snapshot(bytes) => {
                    tx.execute(
                        "INSERT OR REPLACE INTO docs (id, snapshot) VALUES (?1, ?2)",
                        params![id.as_bytes(), bytes],
                    )?;
                    tx.execute("DELETE FROM doc_chunks WHERE id = ?1", [id.as_bytes()])?;
                }
                DocWrite::Append(bytes) => {
                    tx.execute(
                        "INSERT OR IGNORE INTO docs (id, snapshot) VALUES (?1, x'')",
                        [id.as_bytes()],
                    )?;
                    tx.execute(
                        "INSERT INTO doc_chunks (id, n, bytes) VALUES (?1, (SELECT COALESCE(MAX(n), 0) + 1 FROM doc_chunks WHERE id = ?1), ?2)",
                        params![id.as_bytes(), bytes],
                    )?;
                }
            }
        }
        for meta in &batch.metas {
            let json =
                serde_json::to_string(meta).map_err(|e| StorageError::Damaged(e.to_string()))?;
            tx.execute(
                "INSERT OR REPLACE INTO doc_meta (id, meta) VALUES (?1, ?2)",
                params![meta.id.as_bytes(), json],
            )?;
        }
        if let Some(c) = batch.checkpoint {
            for (k, v) in [
                ("checkpoint_hub", c.hub.to_string()),
                ("checkpoint_seq", c.seq.to_string()),
            ] {
                tx.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    params![k, v],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// Every setting, for `motcua device show`.
pub fn settings(storage: &SqliteStorage) -> Result<BTreeMap<String, String>, StorageError> {
    let mut stmt = storage
        .conn
        .prepare("SELECT key, value FROM settings ORDER BY key")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
