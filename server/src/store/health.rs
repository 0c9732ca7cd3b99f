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
