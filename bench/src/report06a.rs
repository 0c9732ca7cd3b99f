//! Workload 6: report 06a over a million dossiers, through the command the
//! reports expose for it.
//!
//! The hook: `motcua report bench-06a --dossiers N` fills a fresh hub
//! database with N realistic dossiers, computes report 06a over it, and
//! prints one JSON line with at least `seconds` (the report alone, not the
//! filling) and `dossiers`. Until the binary has that command, the workload
//! says it is not available yet.

use std::process::Command;

use motcua_tests::hub::motcua_bin;

use crate::measure;
use crate::results::{Row, Side, count, seconds};

/// Whether this `motcua` has the benchmark hook.
fn hook_available() -> bool {
    Command::new(motcua_bin())
        .args(["report", "bench-06a", "--help"])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn run(dossiers: usize) -> anyhow::Result<Vec<Row>> {
    let workload = format!("report 06a over {} dossiers", count(dossiers as u64));
    if !hook_available() {
        return Ok(vec![Row {
            id: "6".into(),
            date: String::new(),
            load: [0.0; 3],
            workload,
            ours_text: "not available yet (needs `motcua report bench-06a`)".into(),
            peer_text: "–".into(),
            ratio_text: "–".into(),
            target: "< 1 s".into(),
            met: None,
            ours: Some(Side::note(
                "not available yet: `motcua report bench-06a` is missing",
            )),
            peer: None,
        }]);
    }
    let n = dossiers.to_string();
    let run = measure::run(
        Command::new(motcua_bin()).args(["report", "bench-06a", "--dossiers", &n]),
        None,
    )?;
    let report = run.json()?;
    let report_s = report["seconds"].as_f64();
    let mut side = Side {
        wall_s: report_s,
        ..Side::default()
    };
    side.rss("motcua report", run.peak_rss_kib);
    side.set("whole command (filling included)", seconds(run.wall_s));
    for (key, value) in report.as_object().into_iter().flatten() {
        if key != "seconds" {
            side.set(key, value.clone());
        }
    }
    Ok(vec![Row {
        id: "6".into(),
        date: String::new(),
        load: [0.0; 3],
        workload,
        ours_text: report_s.map_or("–".into(), seconds),
        peer_text: "–".into(),
        ratio_text: "–".into(),
        target: "< 1 s".into(),
        met: report_s.map(|s| s < 1.0),
        ours: Some(side),
        peer: None,
    }])
}
