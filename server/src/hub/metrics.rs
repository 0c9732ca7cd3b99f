//! Counters and gauges exported at `GET /metrics` in the Prometheus text
//! format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::GroupCommits;

#[derive(Debug, Default)]
pub struct Metrics {
    pub connections: AtomicU64,
    pub connections_total: AtomicU64,
    pub frames_in: AtomicU64,
    pub frames_out: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub pushes_accepted: AtomicU64,
    pub pushes_refused: AtomicU64,
    pub bad_frames: AtomicU64,
    pub http_requests: AtomicU64,
    /// Per connection: the newest change sequence sent to it.
    positions: Mutex<BTreeMap<u64, u64>>,
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set_position(&self, connection: u64, seq: u64) {
        self.positions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(connection, seq);
    }

    pub fn forget_connection(&self, connection: u64) {
        self.positions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&connection);
    }

    /// How many changes the furthest-behind connected device has yet to get.
    pub fn max_lag(&self, current_seq: u64) -> u64 {
        let positions = self.positions.lock().unwrap_or_else(|p| p.into_inner());
        positions
            .values()
            .map(|p| current_seq.saturating_sub(*p))
            .max()
            .unwrap_or(0)
    }

    /// Renders every metric; `documents`, `quarantined`, `seq` and
    /// `commits` come from the store at the time of the request.
    pub fn render(
        &self,
        documents: i64,
        dossiers: i64,
        quarantined: i64,
        seq: u64,
        cached: usize,
        commits: GroupCommits,
    ) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        metric(
            "motcua_sync_connections",
            "gauge",
            "Open sync connections.",
            load(&self.connections),
        );
        metric(
            "motcua_sync_connections_total",
            "counter",
            "Sync connections accepted since start.",
            load(&self.connections_total),
        );
        metric(
            "motcua_sync_frames_received_total",
            "counter",
            "Sync frames received.",
            load(&self.frames_in),
        );
        metric(
            "motcua_sync_frames_sent_total",
            "counter",
            "Sync frames sent.",
            load(&self.frames_out),
        );
        metric(
            "motcua_sync_bytes_received_total",
            "counter",
            "Sync bytes received.",
            load(&self.bytes_in),
        );
        metric(
            "motcua_sync_bytes_sent_total",
            "counter",
            "Sync bytes sent.",
            load(&self.bytes_out),
        );
        metric(
            "motcua_sync_documents_accepted_total",
            "counter",
            "Pushed document changes accepted.",
            load(&self.pushes_accepted),
        );
        metric(
            "motcua_sync_documents_refused_total",
            "counter",
            "Pushed document changes refused.",
            load(&self.pushes_refused),
        );
        metric(
            "motcua_sync_bad_frames_total",
            "counter",
            "Malformed or unexpected frames received.",
            load(&self.bad_frames),
        );
        metric(
            "motcua_sync_lag_changes",
            "gauge",
            "Changes the furthest-behind connected device has not yet received.",
            self.max_lag(seq),
        );
        metric(
            "motcua_store_push_commits_total",
            "counter",
            "Transactions that committed device pushes (many pushes share one).",
            commits.commits,
        );
        metric(
            "motcua_store_pushes_committed_total",
            "counter",
            "Device pushes committed.",
            commits.pushes,
        );
        metric(
            "motcua_change_sequence",
            "gauge",
            "Newest number of the hub's change sequence.",
            seq,
        );
        metric(
            "motcua_documents",
            "gauge",
            "Documents stored.",
            documents.max(0) as u64,
        );
        metric(
            "motcua_dossiers",
            "gauge",
            "Dossiers stored.",
            dossiers.max(0) as u64,
        );
        metric(
            "motcua_documents_in_memory",
            "gauge",
            "Documents loaded in memory.",
            cached as u64,
        );
        metric(
            "motcua_quarantined_items",
            "gauge",
            "Refused data kept in quarantine.",
            quarantined.max(0) as u64,
        );
        metric(
            "motcua_http_requests_total",
            "counter",
            "HTTP API requests.",
            load(&self.http_requests),
        );
        out
    }
}
