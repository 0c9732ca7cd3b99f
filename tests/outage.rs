//! A tablet offline for a long time catches up in a few round trips, with
//! traffic that follows what changed rather than what it holds.

use anyhow::Context;
use motcua_tests::{HubOptions, HubProcess, motcua_json};

fn hub_db(hub: &HubProcess) -> anyhow::Result<rusqlite::Connection> {
    Ok(rusqlite::Connection::open(
        hub.data.path().join("motcua.sqlite"),
    )?)
}

#[test]
fn a_tablet_offline_for_a_week_catches_up_within_the_protocols_promises() -> anyhow::Result<()> {
    let hub = HubProcess::start(HubOptions {
        demo: true,
        ..HubOptions::default()
    })?;
    let tablet = hub.enrol_device("X0101")?;
    let other = hub.enrol_device("X0101")?;
    tablet.sync()?;
    other.sync()?;
    let checkpoint: u64 =
        rusqlite::Connection::open(std::path::Path::new(&tablet.data()).join("device.sqlite"))?
            .query_row(
                "SELECT value FROM settings WHERE key = 'checkpoint_seq'",
                [],
                |r| r.get::<_, String>(0),
            )?
            .parse()?;

    // The week: 500 dossiers received at the offline tablet; elsewhere in
    // its commune, hundreds of dossiers and thousands of stages.
    let offline = motcua_json(&[
        "generate",
        "--data",
        &tablet.data(),
        "--dossiers",
        "500",
        "--stages",
        "300",
        "--seed",
        "1",
        "--days",
        "7",
    ])?;
    assert_eq!(offline["received"], 500);
    let busy = motcua_json(&[
        "generate",
        "--data",
        &other.data(),
        "--dossiers",
        "300",
        "--stages",
        "3000",
        "--seed",
        "2",
        "--days",
        "7",
    ])?;
    assert!(busy["stages"].as_u64().unwrap_or(0) >= 2000, "{busy}");
    other.sync()?;

    let device_id: String =
        rusqlite::Connection::open(std::path::Path::new(&tablet.data()).join("device.sqlite"))?
            .query_row(
                "SELECT value FROM settings WHERE key = 'device_id'",
                [],
                |r| r.get(0),
            )?;
    // What the tablet must receive, at least: the changes stored since its
    // checkpoint by others.
    let floor_received: i64 = hub_db(&hub)?.query_row(
        "SELECT COALESCE(SUM(length(bytes)), 0) FROM changes WHERE seq > ?1 AND origin != ?2",
        rusqlite::params![checkpoint as i64, device_id],
        |r| r.get(0),
    )?;

    let report = tablet.sync()?;
    // What it had to send, at least: its changes as the hub stored them.
    let floor_sent: i64 = hub_db(&hub)?.query_row(
        "SELECT COALESCE(SUM(length(bytes)), 0) FROM changes WHERE origin = ?1",
        [&device_id],
        |r| r.get(0),
    )?;
    let (sent, received, round_trips) = (
        report["bytes_sent"].as_i64().context("bytes_sent")?,
        report["bytes_received"]
            .as_i64()
            .context("bytes_received")?,
        report["round_trips"].as_i64().context("round_trips")?,
    );
    println!(
        "after a week offline: {round_trips} round trips; sent {sent} B (changes {floor_sent} B, ×{:.2}); received {received} B (changes {floor_received} B, ×{:.2})",
        sent as f64 / floor_sent as f64,
        received as f64 / floor_received as f64
    );
    assert_eq!(report["acknowledged"], 500);
    assert_eq!(report["pending"], 0);
    assert_eq!(report["in_sync"], true);
    assert!(round_trips <= 5, "{report}");
    assert!(sent as f64 <= floor_sent as f64 * 1.5 + 4096.0, "{report}");
    assert!(
        received as f64 <= floor_received as f64 * 1.5 + 4096.0,
        "{report}"
    );

    other.sync()?;
    assert_eq!(tablet.heads(Some("X0101"))?, other.heads(Some("X0101"))?);
    assert_eq!(tablet.heads(Some("X0101"))?.len(), 800);
    Ok(())
}
