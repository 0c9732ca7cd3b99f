//! Workload 6: report 06a over a million dossiers at the hub.
//!
//! Runs `motcua bench report06a`, which generates a province (a hundred
//! communes, a year of activity) into a hub database once, keeps it for
//! later runs, and times the hub's report path as the API runs it. The
//! figure is the median of its runs for the whole year at province level;
//! a month's report and one commune's year go in the JSON beside it.

use std::process::Command;

use anyhow::Context;
use motcua_tests::hub::{TempDir, motcua_bin};

use crate::measure;
use crate::results::{Row, Side, count, seconds};

pub fn run(dossiers: usize) -> anyhow::Result<Vec<Row>> {
    let workload = format!("report 06a over {} dossiers", count(dossiers as u64));
    let out = TempDir::new("report06a");
    let json_path = out.path().join("report06a.json");
    let n = dossiers.to_string();
    let run = measure::run(
        Command::new(motcua_bin()).args([
            "bench",
            "report06a",
            "--dossiers",
            &n,
            "--json",
            &json_path.to_string_lossy(),
        ]),
        None,
    )?;
    let figures: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&json_path).with_context(|| format!("reading {}", json_path.display()))?,
    )?;
    let year = figures["year"]["median_seconds"].as_f64();
    let mut side = Side {
        wall_s: year,
        ..Side::default()
    };
    side.rss("motcua bench report06a", run.peak_rss_kib);
    side.set("whole command (filling included)", seconds(run.wall_s));
    for key in ["build", "threads", "communes", "generate_seconds"] {
        side.set(key, figures[key].clone());
    }
    // Each timed report: its median, what it read and what it counted.
    for part in ["year", "month", "commune_year"] {
        let timed = &figures[part];
        side.set(
            part,
            format!(
                "{} (median of {}; read {}, compute {}; {} of {} facts counted)",
                timed["median_seconds"].as_f64().map_or("–".into(), seconds),
                timed["runs"].as_array().map_or(0, Vec::len),
                timed["median_read_seconds"]
                    .as_f64()
                    .map_or("–".into(), seconds),
                timed["median_compute_seconds"]
                    .as_f64()
                    .map_or("–".into(), seconds),
                timed["counted"],
                timed["facts_read"],
            ),
        );
    }
    Ok(vec![Row {
        id: "6".into(),
        date: String::new(),
        load: [0.0; 3],
        workload,
        ours_text: year.map_or("–".into(), seconds),
        peer_text: "–".into(),
        ratio_text: "–".into(),
        target: "< 1 s".into(),
        met: year.map(|s| s < 1.0),
        ours: Some(side),
        peer: None,
    }])
}
