//! The hub-process helper: a real `motcua serve --demo` that a device syncs
//! with, killed with SIGKILL and started again on the same data.

use std::process::Command;
use std::time::Duration;

use motcua_tests::process::{Hub, HubOptions, motcua_bin};
use motcua_tests::proxy::{Direction, Faults, Proxy};

fn run_sync(server: &str, token: &str, device: &std::path::Path) -> std::process::Output {
    Command::new(motcua_bin().unwrap())
        .args(["sync", "--server", server, "--token", token, "--data"])
        .arg(device)
        .output()
        .unwrap()
}

/// Runs `motcua sync` once and returns its JSON report.
fn sync(server: &str, token: &str, device: &std::path::Path) -> serde_json::Value {
    let out = run_sync(server, token, device);
    assert!(
        out.status.success(),
        "motcua sync failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not a sync report ({e}): {stdout}"))
}

#[test]
fn a_demo_hub_serves_a_device_survives_sigkill_and_keeps_its_data() {
    let mut hub = Hub::start(HubOptions::demo()).unwrap();
    let devices = hub.device_tokens();
    assert_eq!(devices.len(), 4, "demo devices: {devices:?}");
    assert!(devices.iter().all(|d| d.token.starts_with("mcd_")));
    let tablet = tempfile::tempdir().unwrap();
    let first = sync(&hub.url(), &devices[0].token, tablet.path());
    assert_eq!(first["in_sync"], true, "{first}");
    let documents = first["documents"].as_u64().unwrap();
    assert!(documents > 0, "{first}");
    assert_eq!(first["received"], documents);

    hub.kill();
    assert!(!hub.is_running());
    hub.restart().unwrap();
    // Same data directory: the same enrolled devices, nothing new to send.
    assert_eq!(hub.device_tokens(), devices);
    let again = sync(&hub.url(), &devices[0].token, tablet.path());
    assert_eq!(again["in_sync"], true, "{again}");
    assert_eq!(again["received"], 0, "{again}");
    assert_eq!(again["documents"], documents);
}

#[test]
fn a_device_syncs_through_a_slow_stalling_link_and_resumes_after_a_cut() {
    let hub = Hub::start(HubOptions::demo()).unwrap();
    let devices = hub.device_tokens();
    assert_eq!(devices[0].unit, devices[1].unit);
    let proxy = Proxy::start(hub.addr()).unwrap();
    proxy.set(Faults {
        delay: Duration::from_millis(5),
        jitter: Duration::from_millis(10),
        stall: 0.1,
        stall_for: Duration::from_millis(50),
        bytes_per_second: Some(512 * 1024),
        ..Faults::default()
    });
    let first = tempfile::tempdir().unwrap();
    let report = sync(&proxy.url(), &devices[0].token, first.path());
    assert_eq!(report["in_sync"], true, "{report}");
    assert!(report["documents"].as_u64().unwrap_or(0) > 0, "{report}");

    // The link dies 2000 bytes into the hub's answer: inside the catch-up.
    proxy.set_direction(Direction::ToClient, Faults::cut_at_byte(2000));
    let second = tempfile::tempdir().unwrap();
    let cut = run_sync(&proxy.url(), &devices[1].token, second.path());
    assert!(!cut.status.success(), "a sync cut mid-way cannot succeed");
    assert_eq!(proxy.stats().to_client.cuts, 1);
    proxy.heal();
    let resumed = sync(&proxy.url(), &devices[1].token, second.path());
    assert_eq!(resumed["in_sync"], true, "{resumed}");
    assert_eq!(resumed["documents"], report["documents"], "{resumed}");
}
