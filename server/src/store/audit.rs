//! The audit log and the quarantine of refused data.
//!
//! Every decision that matters (log-ins, enrolments, revocations, refused
//! pushes) leaves a row; refused bytes are kept whole so an administrator can
//! see exactly what a device sent and why it was turned away.

use rusqlite::{Transaction, params};
use serde::Serialize;

use super::{Result, Store, now_ms};

pub fn record(
    tx: &Transaction<'_>,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO audit (at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![now_ms(), actor, action, subject, detail],
    )?;
    Ok(())
}

pub fn quarantine(
    tx: &Transaction<'_>,
    device_id: &str,
    doc_id: Option<&[u8]>,
    reason: &str,
    message: &str,
    bytes: &[u8],
) -> Result<()> {
    tx.execute(
        "INSERT INTO quarantine (at, device_id, doc_id, reason, message, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![now_ms(), device_id, doc_id, reason, message, bytes],
    )?;
    record(
        tx,
        &format!("device:{device_id}"),
        "push.refused",
        &doc_id.map(hex::encode).unwrap_or_default(),
        &format!("{reason}: {message}"),
    )
}

#[derive(Debug, Clone, Serialize)]
pub struct QuarantinedItem {
    pub id: i64,
    pub at: i64,
    pub device_id: String,
    pub doc_id: Option<String>,
    pub reason: String,
    pub message: String,
    pub size: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

impl Store {
    pub fn quarantined(&self, limit: u32) -> Result<Vec<QuarantinedItem>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT id, at, device_id, doc_id, reason, message, length(bytes) FROM quarantine ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                Ok(QuarantinedItem {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    device_id: r.get(2)?,
                    doc_id: r.get::<_, Option<Vec<u8>>>(3)?.map(hex::encode),
                    reason: r.get(4)?,
                    message: r.get(5)?,
                    size: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    pub fn quarantine_count(&self) -> Result<i64> {
        self.read(|conn| Ok(conn.query_row("SELECT count(*) FROM quarantine", [], |r| r.get(0))?))
    }

    pub fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT id, at, actor, action, subject, detail FROM audit ORDER BY id DESC LIMIT ?1")?;
            let rows = stmt.query_map([limit], |r| {
                Ok(AuditEntry { id: r.get(0)?, at: r.get(1)?, actor: r.get(2)?, action: r.get(3)?, subject: r.get(4)?, detail: r.get(5)? })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Records an event from outside a write that already holds a transaction.
    pub fn audit(&self, actor: &str, action: &str, subject: &str, detail: &str) -> Result<()> {
        self.write(|tx| record(tx, actor, action, subject, detail))
    }
}
