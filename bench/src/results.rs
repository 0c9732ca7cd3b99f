//! The figures of one run: one row per workload, each with what we measured
//! on our side and on the peer's, written as `bench/results.md` (a table a
//! person reads) and `bench/results.json` (everything, for tools).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::measure::Machine;

/// What one side did in one workload.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Side {
    pub wall_s: Option<f64>,
    pub bytes_sent: Option<u64>,
    pub bytes_received: Option<u64>,
    /// Our protocol: times the device spoke after hearing from the hub.
    pub round_trips: Option<u64>,
    /// WebSocket messages, both ways.
    pub messages: Option<u64>,
    /// Peak resident memory of each process, in KiB.
    pub peak_rss_kib: Vec<(String, u64)>,
    /// Why the figures are incomplete (stopped at the time limit, not
    /// available, …).
    pub note: Option<String>,
    /// Figures particular to the workload (floor, latencies, …).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Side {
    pub fn bytes(&self) -> Option<u64> {
        Some(self.bytes_sent? + self.bytes_received?)
    }

    pub fn note(note: impl Into<String>) -> Side {
        Side {
            note: Some(note.into()),
            ..Side::default()
        }
    }

    pub fn rss(&mut self, process: &str, kib: u64) {
        self.peak_rss_kib.push((process.to_string(), kib));
    }

    pub fn set(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.extra.insert(key.to_string(), value.into());
    }
}

/// One line of the table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    pub id: String,
    /// When it was measured, and the machine's load average then (1, 5, 15
    /// min): rows of an earlier run kept by `--only` keep theirs.
    pub date: String,
    pub load: [f64; 3],
    pub workload: String,
    /// The headline figures, as the table shows them.
    pub ours_text: String,
    pub peer_text: String,
    pub ratio_text: String,
    pub target: String,
    /// Whether the target is met (`None`: no target, or not measurable).
    pub met: Option<bool>,
    pub ours: Option<Side>,
    pub peer: Option<Side>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub date: String,
    pub machine: Machine,
    pub load_before: [f64; 3],
    pub load_after: [f64; 3],
    pub options: serde_json::Value,
    pub total_s: f64,
    pub rows: Vec<Row>,
}

/// The workload a row belongs to: the leading number of its id.
fn workload_number(id: &str) -> u32 {
    id.chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(u32::MAX)
}

pub fn seconds(s: f64) -> String {
    if s >= 100.0 {
        format!("{s:.0} s")
    } else if s >= 1.0 {
        format!("{s:.1} s")
    } else {
        format!("{:.0} ms", s * 1000.0)
    }
}

pub fn bytes(b: u64) -> String {
    let b = b as f64;
    if b >= 1024.0 * 1024.0 {
        format!("{:.1} MB", b / 1024.0 / 1024.0)
    } else if b >= 1024.0 {
        format!("{:.1} KB", b / 1024.0)
    } else {
        format!("{b:.0} B")
    }
}

pub fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// "×12.3" for how many times larger `peer` is than `ours`.
pub fn times(peer: f64, ours: f64) -> String {
    if ours <= 0.0 {
        return "–".into();
    }
    let r = peer / ours;
    if r >= 100.0 {
        format!("×{r:.0}")
    } else {
        format!("×{r:.1}")
    }
}

/// Thousands separated by commas, as the issue writes N.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Side {
    /// Wall time, bytes both ways, round trips or messages, peak memory: the
    /// details line of the markdown table.
    fn details(&self) -> String {
        let mut parts = Vec::new();
        if let Some(w) = self.wall_s {
            parts.push(seconds(w));
        }
        if let (Some(s), Some(r)) = (self.bytes_sent, self.bytes_received) {
            parts.push(format!("sent {} / received {}", bytes(s), bytes(r)));
        }
        if let Some(rt) = self.round_trips {
            parts.push(format!("{rt} round trips"));
        }
        if let Some(m) = self.messages {
            parts.push(format!("{} WebSocket messages", count(m)));
        }
        for (process, kib) in &self.peak_rss_kib {
            parts.push(format!("{process} {}", mib(*kib)));
        }
        for (key, value) in &self.extra {
            let value = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            parts.push(format!("{key}: {value}"));
        }
        if let Some(note) = &self.note {
            parts.push(note.clone());
        }
        parts.join("; ")
    }
}

impl Results {
    pub fn markdown(&self) -> String {
        let machine = self.machine.summary();
        let mut out = String::new();
        out.push_str(
            "| Workload | Ours | Peer (automerge-repo) | Ratio | Target | Machine | Date |\n",
        );
        out.push_str("|---|---|---|---|---|---|---|\n");
        for row in &self.rows {
            let target = match row.met {
                Some(true) => format!("{} — met", row.target),
                Some(false) => format!("{} — **missed**", row.target),
                None => row.target.clone(),
            };
            let day = row.date.get(..10).unwrap_or(&row.date);
            out.push_str(&format!(
                "| {} {} | {} | {} | {} | {} | {machine} | {day}, load {:.1} |\n",
                row.id,
                row.workload,
                row.ours_text,
                row.peer_text,
                row.ratio_text,
                target,
                row.load[0]
            ));
        }
        out.push_str(&format!(
            "\nMachine: {} ({} cores, {} GiB, Linux {}). Load average before the run {:.2} / {:.2} / {:.2}, after {:.2} / {:.2} / {:.2} (1 / 5 / 15 min); the machine is shared, so figures vary between runs. Whole run: {}.\n",
            self.machine.cpu,
            self.machine.cores,
            self.machine.memory_gib,
            self.machine.kernel,
            self.load_before[0],
            self.load_before[1],
            self.load_before[2],
            self.load_after[0],
            self.load_after[1],
            self.load_after[2],
            seconds(self.total_s),
        ));
        out.push_str("\nDetails (wall time; bytes each way as seen by the device; round trips or WebSocket messages; peak resident memory of each process):\n\n");
        out.push_str("| Workload | Side | Measured |\n|---|---|---|\n");
        for row in &self.rows {
            for (side, figures) in [("ours", &row.ours), ("peer", &row.peer)] {
                if let Some(figures) = figures {
                    out.push_str(&format!(
                        "| {} {} | {side} | {} |\n",
                        row.id,
                        row.workload,
                        figures.details()
                    ));
                }
            }
        }
        out
    }

    /// The rows of an earlier run in `dir` for workloads not run this time
    /// (so that `--only 4` refreshes row 4 and keeps the others).
    pub fn earlier_rows(dir: &Path, rerun: &[String]) -> Vec<Row> {
        let Ok(text) = std::fs::read_to_string(dir.join("results.json")) else {
            return Vec::new();
        };
        let Ok(earlier) = serde_json::from_str::<Results>(&text) else {
            return Vec::new();
        };
        earlier
            .rows
            .into_iter()
            .filter(|r| {
                !rerun
                    .iter()
                    .any(|w| workload_number(&r.id) == workload_number(w))
            })
            .collect()
    }

    /// Rows in workload order (1, 2, 3, …, 7 (1), 7 (3)), stable.
    pub fn sort_rows(&mut self) {
        self.rows.sort_by_key(|r| workload_number(&r.id));
    }

    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut md = String::from(
            "# Benchmark results\n\nWritten by `scripts/bench`; see README.md (Performance) for how to reproduce them.\n\n",
        );
        md.push_str(&self.markdown());
        std::fs::write(dir.join("results.md"), md)?;
        std::fs::write(
            dir.join("results.json"),
            serde_json::to_string_pretty(self)? + "\n",
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_the_way_people_write_them() {
        assert_eq!(count(10_000), "10,000");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000_000), "1,000,000");
        assert_eq!(seconds(0.0123), "12 ms");
        assert_eq!(seconds(35.04), "35.0 s");
        assert_eq!(seconds(612.0), "612 s");
        assert_eq!(bytes(700 * 1024), "700.0 KB");
        assert_eq!(times(35.0, 0.5), "×70.0");
        assert_eq!(times(1.0, 0.0), "–");
    }

    #[test]
    fn rows_sort_by_workload_whatever_their_suffix() {
        assert_eq!(workload_number("7 (3)"), 7);
        assert_eq!(workload_number("1–3"), 1);
        assert_eq!(workload_number("12"), 12);
        assert_eq!(workload_number("x"), u32::MAX);
    }

    #[test]
    fn the_table_marks_missed_targets_and_names_the_machine() {
        let results = Results {
            date: "2026-05-01T10:00:00+07:00".into(),
            machine: Machine {
                cpu: "Test CPU".into(),
                cores: 2,
                memory_gib: 24.0,
                kernel: "6.1".into(),
            },
            load_before: [1.0, 1.0, 1.0],
            load_after: [2.0, 2.0, 2.0],
            options: serde_json::json!({}),
            total_s: 10.0,
            rows: vec![Row {
                id: "1".into(),
                date: "2026-05-01T10:00:00+07:00".into(),
                load: [1.5, 1.0, 1.0],
                workload: "initial sync".into(),
                ours_text: "1.0 s".into(),
                peer_text: "35 s".into(),
                ratio_text: "×35".into(),
                target: "≥ ×50".into(),
                met: Some(false),
                ours: Some(Side {
                    wall_s: Some(1.0),
                    round_trips: Some(3),
                    ..Side::default()
                }),
                peer: None,
            }],
        };
        let md = results.markdown();
        assert!(md.contains("| 1 initial sync | 1.0 s | 35 s | ×35 | ≥ ×50 — **missed** | 2 cores, 24 GiB | 2026-05-01, load 1.5 |"), "{md}");
        assert!(md.contains("3 round trips"), "{md}");
        assert!(md.contains("Test CPU"), "{md}");
    }
}
