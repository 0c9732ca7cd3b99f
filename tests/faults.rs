//! Sync through a faulty link: a proxy that delays, stalls, throttles and
//! cuts the connection between a device and a real hub.

use std::time::Duration;

use motcua_tests::proxy::{Direction, Faults, Proxy};
use motcua_tests::{Device, HubOptions, HubProcess};

#[test]
fn a_device_syncs_through_a_slow_stalling_link_and_resumes_after_a_cut() -> anyhow::Result<()> {
    let hub = HubProcess::start(HubOptions {
        demo: true,
        ..HubOptions::default()
    })?;
    let tokens = hub.demo_tokens("X0101");
    let proxy = Proxy::start(hub.addr())?;
    proxy.set(Faults {
        delay: Duration::from_millis(5),
        jitter: Duration::from_millis(10),
        stall: 0.1,
        stall_for: Duration::from_millis(50),
        bytes_per_second: Some(512 * 1024),
        ..Faults::default()
    });
    let first = Device::new();
    let report = first.sync_with(&proxy.url(), &tokens[0], None)?;
    assert_eq!(report["in_sync"], true, "{report}");
    assert!(report["documents"].as_u64().unwrap_or(0) > 0, "{report}");

    // The link dies 2000 bytes into the hub's answer: inside the catch-up.
    proxy.set_direction(Direction::ToClient, Faults::cut_at_byte(2000));
    let second = Device::new();
    assert!(
        second.sync_with(&proxy.url(), &tokens[1], None).is_err(),
        "a sync cut mid-way cannot succeed"
    );
    assert_eq!(proxy.stats().to_client.cuts, 1);
    proxy.heal();
    let resumed = second.sync_with(&proxy.url(), &tokens[1], None)?;
    assert_eq!(resumed["in_sync"], true, "{resumed}");
    assert_eq!(resumed["documents"], report["documents"], "{resumed}");
    Ok(())
}

#[test]
fn a_push_cut_at_many_byte_offsets_is_never_lost_or_doubled() -> anyhow::Result<()> {
    let hub = HubProcess::start(HubOptions {
        demo: true,
        ..HubOptions::default()
    })?;
    let proxy = Proxy::with_seed(hub.addr(), 7)?;
    let device = hub.enrol_device("X0101")?;
    device.sync()?;
    let mut codes = Vec::new();
    for i in 0..3 {
        codes.push(device.receive("1.001193", &format!("Đinh Văn Lực {i}"))?);
    }
    let token = motcua_tests::hub::device_setting(&device, "token")?;
    // Cut the upload at growing offsets; each attempt gets a little further.
    for cut in [60, 300, 900, 1800, 3000] {
        proxy.set_direction(Direction::ToServer, Faults::cut_at_byte(cut));
        let _ = device.sync_with(&proxy.url(), &token, None);
    }
    proxy.heal();
    let report = device.sync_with(&proxy.url(), &token, None)?;
    assert_eq!(report["pending"], 0, "{report}");
    let other = hub.enrol_device("X0101")?;
    other.sync()?;
    let mut got: Vec<String> = other
        .list()?
        .iter()
        .filter_map(|d| d["code"].as_str().map(str::to_owned))
        .collect();
    got.sort();
    codes.sort();
    assert_eq!(got, codes);
    assert!(
        hub.admin(&["verify"])?["problems"]
            .as_array()
            .is_some_and(|p| p.is_empty())
    );
    Ok(())
}

#[test]
fn duplicated_messages_in_both_directions_change_nothing() -> anyhow::Result<()> {
    let hub = HubProcess::start(HubOptions {
        demo: true,
        ..HubOptions::default()
    })?;
    let proxy = Proxy::with_seed(hub.addr(), 11)?;
    let a = hub.enrol_device("X0101")?;
    let b = hub.enrol_device("X0101")?;
    let token_a = motcua_tests::hub::device_setting(&a, "token")?;
    let token_b = motcua_tests::hub::device_setting(&b, "token")?;
    proxy.set(Faults {
        duplicate: 0.5,
        ..Faults::default()
    });
    a.sync_with(&proxy.url(), &token_a, None)?;
    let code = a.receive("1.004873", "Mạc Thị Ngân")?;
    a.stage(&code, "processing")?;
    let report = a.sync_with(&proxy.url(), &token_a, None)?;
    assert_eq!(
        (report["pending"].as_u64(), report["in_sync"].as_bool()),
        (Some(0), Some(true)),
        "{report}"
    );
    let report = b.sync_with(&proxy.url(), &token_b, None)?;
    assert_eq!(report["in_sync"], true, "{report}");
    assert!(proxy.stats().to_client.duplicated + proxy.stats().to_server.duplicated > 0);
    assert_eq!(a.heads(Some("X0101"))?, b.heads(Some("X0101"))?);
    assert_eq!(b.show(&code)?["progress"]["current"], "processing");
    Ok(())
}
