//! A device syncs with a hub across a shaped link (256 kbit/s, 300 ms round
//! trip, 3 % loss each way) between two network namespaces. On a kernel
//! without netem the link keeps the rate and the loss but not the delay;
//! where namespaces are not available the test is skipped, saying why.

use motcua_tests::hub::motcua_bin;
use motcua_tests::netem::{LinkShape, Side, link_or_skip};
use motcua_tests::{HubOptions, HubProcess};

fn sync_report(output: std::process::Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "motcua sync failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not a sync report ({e}): {stdout}"))
}

#[test]
fn a_device_syncs_with_its_hub_over_a_slow_lossy_link() {
    // Declared first so that it is dropped last, after the hub process.
    let Some(link) = link_or_skip(&LinkShape::rural()) else {
        return;
    };
    let hub = HubProcess::start(HubOptions {
        demo: true,
        listen: Some(format!("{}:0", link.addr(Side::A))),
        // Plain HTTP on an address other than loopback: this is a test link.
        args: vec!["--insecure".into()],
        wrapper: link.wrapper(Side::A),
        ..HubOptions::default()
    })
    .expect("hub starts in its namespace");
    let tokens = hub.demo_tokens("X0101");
    assert!(tokens.len() >= 2, "two demo devices of one unit");
    let bin = motcua_bin();
    let sync = |side: Side, token: &str, dir: &std::path::Path| {
        sync_report(
            link.command(side, &bin)
                .args(["sync", "--server", &hub.url, "--token", token])
                .arg("--data")
                .arg(dir)
                .output()
                .unwrap(),
        )
    };
    // The reference: a device of the same unit on the hub's own side.
    let near = tempfile::tempdir().unwrap();
    let reference = sync(Side::A, &tokens[1], near.path());
    let far = tempfile::tempdir().unwrap();
    let report = sync(Side::B, &tokens[0], far.path());
    assert_eq!(report["in_sync"], true, "{report}");
    let documents = report["documents"].as_u64().unwrap_or(0);
    assert!(documents > 0, "the device received nothing: {report}");
    assert_eq!(report["received"], documents, "{report}");
    assert_eq!(
        report["documents"], reference["documents"],
        "{report} vs {reference}"
    );
}
