//! Sync between real devices and a real hub: processes, loopback sockets,
//! SQLite files.

use std::time::Duration;

use anyhow::Context;
use motcua_tests::{Device, HubOptions, HubProcess, eventually};
use serde_json::Value;

fn demo_hub() -> HubProcess {
    HubProcess::start(HubOptions {
        demo: true,
        ..HubOptions::default()
    })
    .expect("hub starts")
}

fn codes(device: &Device) -> Vec<String> {
    let mut codes: Vec<String> = device
        .list()
        .expect("list")
        .iter()
        .map(|d| d["code"].as_str().unwrap_or_default().to_string())
        .collect();
    codes.sort();
    codes
}

/// The full state of a dossier as a device sees it, without replica-local
/// fields.
fn state(device: &Device, code: &str) -> Value {
    let mut v = device.show(code).expect("show");
    v.as_object_mut().map(|o| o.remove("doc_id"));
    v
}

#[test]
fn two_devices_offline_record_dossiers_and_stages_then_converge() -> anyhow::Result<()> {
    let hub = demo_hub();
    let a = hub.enrol_device("X0101")?;
    let b = hub.enrol_device("X0101")?;

    // Offline: each receives dossiers and moves them along.
    let a1 = a.receive("1.004873", "Nguyễn Văn An")?;
    let a2 = a.receive("1.001193", "Lê Thị Cúc")?;
    a.stage(&a1, "processing")?;
    let b1 = b.receive("2.000815", "Trần Thị Bình")?;
    b.stage(&b1, "done")?;

    a.sync()?;
    b.sync()?;
    a.sync()?;
    assert_eq!(codes(&a), codes(&b));
    assert_eq!(codes(&a).len(), 3);

    // Both work on the same dossier offline, concurrently.
    a.stage(&b1, "result_returned")?;
    b.stage(&a1, "supplement_requested")?;
    a.stage(&a2, "processing")?;
    b.sync()?;
    a.sync()?;
    b.sync()?;
    for code in [&a1, &a2, &b1] {
        assert_eq!(state(&a, code), state(&b, code), "dossier {code} differs");
    }
    assert_eq!(state(&a, &b1)["progress"]["current"], "result_returned");
    assert_eq!(
        state(&a, &a1)["progress"]["current"],
        "supplement_requested"
    );
    let report = a.sync()?;
    assert_eq!(report["pending"], 0);
    assert_eq!(report["in_sync"], true);
    Ok(())
}

#[test]
fn a_change_reaches_the_other_connected_device_without_polling_the_hub() -> anyhow::Result<()> {
    let hub = demo_hub();
    let a = hub.enrol_device("X0101")?;
    let b = hub.enrol_device("X0101")?;
    a.sync()?;
    b.sync()?;
    let _wa = a.watch()?;
    let _wb = b.watch()?;
    let code = a.receive("1.001193", "Phạm Minh Đức")?;
    eventually(Duration::from_secs(20), || Ok(codes(&b).contains(&code)))?;
    b.stage(&code, "processing")?;
    eventually(Duration::from_secs(20), || {
        Ok(state(&a, &code)["progress"]["current"] == "processing")
    })?;
    Ok(())
}

#[test]
fn a_device_never_receives_another_communes_dossier_and_cannot_write_one() -> anyhow::Result<()> {
    let hub = demo_hub();
    let tan_phong = hub.enrol_device("X0101")?;
    let dong_hoa = hub.enrol_device("X0102")?;
    let secret = tan_phong.receive("1.001193", "Vũ Thị Hoa")?;
    tan_phong.sync()?;
    dong_hoa.sync()?;
    assert!(!codes(&dong_hoa).contains(&secret));
    assert!(codes(&dong_hoa).is_empty());

    // A tampered Đông Hòa tablet pretends to belong to Tân Phong.
    set_device_setting(&dong_hoa, "unit", "X0101")?;
    let forged = dong_hoa.receive("1.001193", "Giả Mạo")?;
    let report = dong_hoa.sync()?;
    let refused = report["refused"].as_array().context("refused list")?;
    assert_eq!(refused.len(), 1, "{report}");
    assert!(
        refused[0]
            .as_str()
            .unwrap_or_default()
            .contains("not_found"),
        "{report}"
    );
    // Kept on the device, marked, and quarantined at the hub with the reason.
    let listed = dong_hoa.list()?;
    let row = listed
        .iter()
        .find(|d| d["code"] == forged.as_str())
        .context("forged dossier kept")?;
    assert!(row["refused"].is_object());
    let quarantine = hub.admin(&["quarantine"])?;
    assert!(
        quarantine
            .as_array()
            .is_some_and(|q| q.iter().any(|i| i["reason"] == "not_found")),
        "{quarantine}"
    );
    // Tân Phong never sees it.
    tan_phong.sync()?;
    assert!(!codes(&tan_phong).contains(&forged));
    Ok(())
}

#[test]
fn a_hub_seeded_with_dossiers_gives_each_new_device_exactly_its_communes() -> anyhow::Result<()> {
    let hub = demo_hub();
    let export = hub.data.path().join("seeded.jsonl");
    let export_path = export.to_string_lossy().to_string();
    let seeded = hub.admin(&[
        "seed-dossiers",
        "--count",
        "40",
        "--unit",
        "X0101",
        "--unit",
        "X0102",
        "--export",
        &export_path,
    ])?;
    assert_eq!(seeded["dossiers"], 40, "{seeded}");
    let verify = hub.admin(&["verify"])?;
    assert_eq!(verify["problems"], serde_json::json!([]), "{verify}");
    let mut exported: Vec<(String, String)> = std::fs::read_to_string(&export)?
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("an export line");
            (
                v["dossier"]["unit"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                v["dossier"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    exported.sort();
    let of = |unit: &str| -> Vec<String> {
        exported
            .iter()
            .filter(|(u, _)| u == unit)
            .map(|(_, c)| c.clone())
            .collect()
    };
    assert_eq!(of("X0101").len(), 20);

    // A device enrolled afterwards receives its commune's, and only those.
    let dong_hoa = hub.enrol_device("X0102")?;
    let report = dong_hoa.sync()?;
    assert_eq!(report["in_sync"], true, "{report}");
    assert_eq!(codes(&dong_hoa), of("X0102"));
    Ok(())
}

#[test]
fn a_change_signed_by_an_actor_of_another_device_is_refused_and_quarantined() -> anyhow::Result<()>
{
    let hub = demo_hub();
    let a = hub.enrol_device("X0101")?;
    let b = hub.enrol_device("X0101")?;
    a.sync()?;
    b.sync()?;
    let code = a.receive("1.001193", "Đỗ Văn Giang")?;
    a.sync()?;
    b.sync()?;

    // Device a records a stage under device b's actor, then connects as itself.
    let own = device_setting(&a, "actor")?;
    let foreign = device_setting(&b, "actor")?;
    set_device_setting(&a, "actor", &foreign)?;
    a.stage(&code, "processing")?;
    set_device_setting(&a, "actor", &own)?;
    let report = a.sync()?;
    let refused = report["refused"].as_array().context("refused list")?;
    assert!(
        refused
            .iter()
            .any(|r| r.as_str().unwrap_or_default().contains("foreign_actor")),
        "{report}"
    );
    let quarantine = hub.admin(&["quarantine"])?;
    assert!(
        quarantine
            .as_array()
            .is_some_and(|q| q.iter().any(|i| i["reason"] == "foreign_actor")),
        "{quarantine}"
    );
    b.sync()?;
    assert_eq!(state(&b, &code)["progress"]["current"], "received");

    // Claiming another device's actor outright is refused at the door.
    set_device_setting(&a, "actor", &foreign)?;
    let err = a
        .sync()
        .expect_err("a device may not claim another device's actor");
    assert!(
        err.to_string().contains("belongs to another device"),
        "{err}"
    );
    Ok(())
}

/// Kills the hub with SIGKILL, restarts it, and checks that it still has
/// every one of `codes` (dossiers of X0101).
fn every_dossier_survives_sigkill(hub: &mut HubProcess, codes: &[String]) -> anyhow::Result<()> {
    hub.kill();
    hub.restart()?;
    let token = hub.login("canbo.tanphong", "motcua2026")?;
    for code in codes {
        let (status, body) = hub.get(&format!("/api/dossiers/{code}"), Some(&token))?;
        assert_eq!(status, 200, "{code} lost after SIGKILL: {body}");
    }
    Ok(())
}

#[test]
fn acknowledged_data_survives_sigkill_of_the_hub() -> anyhow::Result<()> {
    let mut hub = demo_hub();
    let a = hub.enrol_device("X0101")?;
    let mut received = Vec::new();
    for i in 0..5 {
        received.push(a.receive("1.001193", &format!("Hoàng Thị Em {i}"))?);
    }
    let report = a.sync()?;
    assert_eq!(report["acknowledged"], 5);
    every_dossier_survives_sigkill(&mut hub, &received)?;
    let fresh = hub.enrol_device("X0101")?;
    fresh.sync()?;
    assert_eq!(codes(&fresh), {
        let mut r = received.clone();
        r.sort();
        r
    });
    Ok(())
}

#[test]
fn many_devices_pushing_at_once_are_all_acknowledged_and_survive_sigkill() -> anyhow::Result<()> {
    let mut hub = demo_hub();
    let devices = (0..16)
        .map(|_| hub.enrol_device("X0101"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut received = Vec::new();
    for (i, device) in devices.iter().enumerate() {
        for j in 0..3 {
            received.push(device.receive("1.001193", &format!("Trần Văn Bình {i}-{j}"))?);
        }
    }
    // Every device connects and pushes at the same moment; the hub commits
    // their pushes together, and each is acknowledged only once committed.
    let start = std::sync::Barrier::new(devices.len());
    let reports = std::thread::scope(|scope| {
        let handles: Vec<_> = devices
            .iter()
            .map(|device| {
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    device.sync()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("sync thread"))
            .collect::<anyhow::Result<Vec<Value>>>()
    })?;
    for report in &reports {
        assert_eq!(report["acknowledged"], 3, "{report}");
        assert_eq!(report["in_sync"], true, "{report}");
    }

    every_dossier_survives_sigkill(&mut hub, &received)?;
    let fresh = hub.enrol_device("X0101")?;
    fresh.sync()?;
    received.sort();
    assert_eq!(codes(&fresh), received);
    Ok(())
}

#[test]
fn malformed_and_oversized_frames_get_an_error_and_others_keep_syncing() -> anyhow::Result<()> {
    use client_core::sync::protocol::{ErrorCode, Message, limits};
    let hub = demo_hub();
    let ws_url = hub.url.replace("http://", "ws://") + "/sync";
    let read_error = |socket: &mut tungstenite::WebSocket<
        tungstenite::stream::MaybeTlsStream<std::net::TcpStream>,
    >|
     -> Option<ErrorCode> {
        match socket.read() {
            Ok(tungstenite::Message::Binary(frame)) => match Message::decode(&frame) {
                Ok(Message::Error(e)) => Some(e.code),
                _ => None,
            },
            _ => None,
        }
    };

    let (mut garbage, _) = tungstenite::connect(&ws_url)?;
    garbage.send(tungstenite::Message::Binary(
        b"definitely not a frame".to_vec().into(),
    ))?;
    assert_eq!(read_error(&mut garbage), Some(ErrorCode::Malformed));

    let (mut oversized, _) = tungstenite::connect(&ws_url)?;
    let mut big = vec![b'M', b'C', client_core::sync::protocol::PROTOCOL_VERSION, 1];
    big.resize(limits::MAX_FRAME_BYTES + 1000, 0);
    oversized.send(tungstenite::Message::Binary(big.into()))?;
    assert_eq!(read_error(&mut oversized), Some(ErrorCode::TooLarge));

    let (mut newer, _) = tungstenite::connect(&ws_url)?;
    newer.send(tungstenite::Message::Binary(
        vec![b'M', b'C', 99, 1, 0].into(),
    ))?;
    assert_eq!(read_error(&mut newer), Some(ErrorCode::VersionMismatch));

    let (mut text, _) = tungstenite::connect(&ws_url)?;
    text.send(tungstenite::Message::Text("hello".into()))?;
    assert_eq!(read_error(&mut text), Some(ErrorCode::Malformed));

    // The hub still serves everyone else.
    let a = hub.enrol_device("X0101")?;
    a.receive("1.001193", "Bùi Văn Khánh")?;
    let report = a.sync()?;
    assert_eq!(report["acknowledged"], 1);
    let metrics = hub_metrics(&hub)?;
    assert!(
        metrics.contains("motcua_sync_bad_frames_total 4"),
        "{metrics}"
    );
    Ok(())
}

#[test]
fn a_wrong_or_revoked_token_is_refused_with_a_clear_message() -> anyhow::Result<()> {
    let hub = demo_hub();
    let device = Device::new();
    let err = device
        .sync_with(&hub.url, "mcd_not_a_token", None)
        .expect_err("wrong token");
    assert!(err.to_string().contains("unknown device token"), "{err}");

    let a = hub.enrol_device("X0101")?;
    a.sync()?;
    let id = device_setting(&a, "device_id")?;
    hub.admin(&["revoke", &id])?;
    let err = a.sync().expect_err("revoked");
    assert!(err.to_string().contains("revoked"), "{err}");
    Ok(())
}

#[test]
fn a_tls_connection_with_the_self_signed_certificate_works_end_to_end() -> anyhow::Result<()> {
    let hub = HubProcess::start(HubOptions {
        demo: true,
        tls_self_signed: true,
        ..HubOptions::default()
    })?;
    assert!(hub.url.starts_with("https://"), "{}", hub.url);
    let a = hub.enrol_device("X0101")?;
    let b = hub.enrol_device("X0101")?;
    let code = a.receive("1.001193", "Ngô Thị Lan")?;
    a.sync()?;
    b.sync()?;
    assert_eq!(codes(&b), vec![code]);
    // Without trusting the certificate, the connection is refused.
    let stranger = Device::new();
    let token = hub.demo_tokens("X0102").pop().context("demo token")?;
    assert!(stranger.sync_with(&hub.url, &token, None).is_err());
    // Nor is an enrolment request sent to a hub whose certificate is not trusted.
    let code = hub.enrolment_code("X0101")?;
    let untrusted = Device::new();
    let data = untrusted.data();
    let refused = motcua_tests::motcua_json(&[
        "enrol", "--server", &hub.url, "--code", &code, "--data", &data,
    ])
    .expect_err("an untrusted certificate is refused");
    assert!(
        format!("{refused:#}").contains("certificate"),
        "{refused:#}"
    );
    Ok(())
}

#[test]
fn plain_http_is_refused_off_loopback_unless_insecure() -> anyhow::Result<()> {
    let data = motcua_tests::hub::TempDir::new("insecure");
    let dir = data.path().to_string_lossy().to_string();
    let err = motcua_tests::motcua(&["serve", "--data", &dir, "--listen", "0.0.0.0:0"])
        .expect_err("refused");
    assert!(
        err.to_string().contains("refusing to serve plain HTTP"),
        "{err}"
    );
    let hub = HubProcess::start(HubOptions {
        listen: Some("0.0.0.0:0".into()),
        args: vec!["--insecure".into()],
        ..HubOptions::default()
    })?;
    assert!(hub.url.starts_with("http://0.0.0.0:"), "{}", hub.url);
    Ok(())
}

fn hub_metrics(hub: &HubProcess) -> anyhow::Result<String> {
    let (status, body) = hub.get("/metrics", None)?;
    assert_eq!(status, 200);
    Ok(body.as_str().unwrap_or_default().to_string())
}

fn device_db(device: &Device) -> anyhow::Result<rusqlite::Connection> {
    Ok(rusqlite::Connection::open(
        std::path::Path::new(&device.data()).join("device.sqlite"),
    )?)
}

fn device_setting(device: &Device, key: &str) -> anyhow::Result<String> {
    Ok(
        device_db(device)?.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })?,
    )
}

fn set_device_setting(device: &Device, key: &str, value: &str) -> anyhow::Result<()> {
    device_db(device)?.execute(
        "UPDATE settings SET value = ?2 WHERE key = ?1",
        [key, value],
    )?;
    Ok(())
}
