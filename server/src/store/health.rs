//! A database that cannot be trusted is not opened; a disk that is full
//! refuses writes before SQLite meets it half-way through one; and whether
//! the hub can do its work now (`GET /readyz`): its schema is current and
//! its database takes a durable write.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use super::index::INDEX_VERSION;
use super::migrations::SCHEMA_VERSION;
use super::{BUSY_TIMEOUT, Result, Store, StoreError, now_ms};

/// Free space below which the hub stores nothing new. More than one group
/// commit can write (16 MiB of pushes and their index rows), so a write
/// that starts always has room to finish, and the WAL's checkpoints too.
pub const DISK_RESERVE_BYTES: u64 = 64 * 1024 * 1024;

const HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Checks what can be checked of the file before SQLite reads it: that it
/// is an SQLite database, and as long as its header says.
pub(super) fn check_file(path: &Path) -> Result<()> {
    let damaged = |detail: String| StoreError::Damaged {
        path: path.to_path_buf(),
        detail,
    };
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok(()); // not there yet: created on opening
    };
    let len = file
        .metadata()
        .map_err(|e| damaged(format!("cannot read it: {e}")))?
        .len();
    if len == 0 {
        return Ok(()); // created but never written
    }
    let mut header = [0u8; 100];
    if len < header.len() as u64 {
        return Err(damaged(format!("only {len} bytes, shorter than a header")));
    }
    file.read_exact(&mut header)
        .map_err(|e| damaged(format!("cannot read it: {e}")))?;
    if &header[..16] != HEADER {
        return Err(damaged("it does not start like an SQLite database".into()));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536,
        n => u64::from(n),
    };
    // The page count in the header is valid when its change counter matches
    // (file format, "in-header database size"). With a WAL beside the file,
    // newer pages may still be only there.
    let counted = header[24..28] == header[92..96];
    let pages = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    let wal = path.with_extension("sqlite-wal");
    let wal_empty = std::fs::metadata(&wal)
        .map(|m| m.len() == 0)
        .unwrap_or(true);
    if counted && wal_empty && pages > 0 && len < pages * page_size {
        return Err(damaged(format!(
            "truncated: {len} bytes where its header counts {pages} pages of {page_size}"
        )));
    }
    Ok(())
}

/// `PRAGMA quick_check`: every page and every b-tree readable and well
/// formed (it does not compare indexes with their tables, which would take
/// minutes on a province's database).
pub(super) fn check_pages(conn: &Connection, path: &Path) -> Result<()> {
    let mut stmt = conn
        .prepare("PRAGMA quick_check(5)")
        .map_err(|e| damaged_or(e.into(), path))?;
    let problems: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| damaged_or(e.into(), path))?;
    if problems != ["ok"] {
        return Err(StoreError::Damaged {
            path: path.to_path_buf(),
            detail: problems.join("; "),
        });
    }
    Ok(())
}

/// SQLite's own word that the file is damaged or not a database, as
/// [`StoreError::Damaged`]; other errors as they are.
pub(super) fn damaged_or(e: StoreError, path: &Path) -> StoreError {
    let code = match &e {
        StoreError::Sqlite(s) | StoreError::Migration { source: s, .. } => s.sqlite_error_code(),
        _ => None,
    };
    match code {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Damaged {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
        _ => e,
    }
}

/// Refuses a write when the disk holding the database has less than
/// [`DISK_RESERVE_BYTES`] free.
pub(super) fn check_space(dir: &Path) -> Result<()> {
    match free_bytes(dir) {
        Some(free) if free < DISK_RESERVE_BYTES => Err(StoreError::DiskFull(format!(
            "{} MiB free on the data directory's disk, {} MiB needed",
            free / (1024 * 1024),
            DISK_RESERVE_BYTES / (1024 * 1024)
        ))),
        _ => Ok(()),
    }
}

#[cfg(unix)]
fn free_bytes(dir: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    // f_bavail: what an unprivileged writer may still use.
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(not(unix))]
fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}

/// A readiness probe answers promptly: it waits this long for the write
/// lock, not the writers' usual [`BUSY_TIMEOUT`].
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

impl Store {
    /// `Ok` when the schema is current and a write commits; otherwise what
    /// is wrong, in words an operator can act on.
    pub fn readiness(&self) -> std::result::Result<(), String> {
        let schema = self
            .schema_version()
            .map_err(|e| format!("the database cannot be read: {e}"))?;
        if schema != SCHEMA_VERSION {
            return Err(format!(
                "the database schema is at version {schema}, this hub needs {SCHEMA_VERSION}"
            ));
        }
        let index: u32 = self
            .meta("index_version")
            .map_err(|e| format!("the database cannot be read: {e}"))?
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        if index < INDEX_VERSION {
            return Err(format!(
                "the database schema is not up to date (index version {index}, this hub needs {INDEX_VERSION})"
            ));
        }
        // A committed write, not one rolled back: a rollback never reaches
        // the disk, so it would not notice a full or read-only one.
        let mut conn = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.busy_timeout(PROBE_TIMEOUT)
            .map_err(|e| format!("the database does not answer: {e}"))?;
        let probe = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('ready_probe', ?1) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [now_ms().to_string()],
            )?;
            tx.commit()
        })();
        let restored = conn.busy_timeout(BUSY_TIMEOUT);
        probe.map_err(|e| format!("the database does not take writes: {e}"))?;
        restored.map_err(|e| format!("the database does not answer: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_is_ready_only_with_its_schema_current_and_its_writes_committing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.readiness(), Ok(()));

        // An index left at an older version: not ready, and says so.
        store.set_meta("index_version", "1").unwrap();
        let reason = store.readiness().unwrap_err();
        assert!(reason.contains("schema is not up to date"), "{reason}");
        store
            .set_meta("index_version", &INDEX_VERSION.to_string())
            .unwrap();

        // Another connection holds the write lock: not ready, promptly.
        let other = rusqlite::Connection::open(store.path()).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let reason = store.readiness().unwrap_err();
        assert!(reason.contains("does not take writes"), "{reason}");
        other.execute_batch("ROLLBACK").unwrap();
        assert_eq!(store.readiness(), Ok(()));
    }
}
