//! Whether the hub can do its work now (`GET /readyz`): its schema is
//! current and its database takes a durable write.

use std::time::Duration;

use rusqlite::TransactionBehavior;

use super::index::INDEX_VERSION;
use super::{BUSY_TIMEOUT, Store, now_ms};

/// A readiness probe answers promptly: it waits this long for the write
/// lock, not the writers' usual [`BUSY_TIMEOUT`].
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

impl Store {
    /// `Ok` when the schema is current and a write commits; otherwise what
    /// is wrong, in words an operator can act on.
    pub fn readiness(&self) -> Result<(), String> {
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
