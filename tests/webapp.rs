//! What the hub does for the web app, against a real hub process: a
//! logged-in user's browser enrols itself, the administrator's catalogue
//! and calendar edits reach devices, and the built app is served with its
//! caching rules, gzipped copies and a fallback for the app's own addresses.

use motcua_tests::hub::{TempDir, http_raw, http_with_head};
use motcua_tests::{HubOptions, HubProcess};
use serde_json::json;

fn demo_hub(args: Vec<String>) -> HubProcess {
    HubProcess::start(HubOptions {
        demo: true,
        args,
        ..HubOptions::default()
    })
    .expect("hub starts")
}

const ACTOR: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn a_logged_in_users_browser_enrols_itself_in_the_users_unit() -> anyhow::Result<()> {
    let hub = demo_hub(vec![]);
    let body = json!({ "name": "Máy tính bảng – Nguyễn Thị Hoa", "actors": [ACTOR] });
    let (status, _) = hub.post("/api/devices/browser", None, &body)?;
    assert_eq!(status, 401, "no session, no device");

    let clerk = hub.login("canbo.tanphong", "motcua2026")?;
    let (status, device) = hub.post("/api/devices/browser", Some(&clerk), &body)?;
    assert_eq!(status, 201, "{device}");
    assert_eq!(device["unit"], "X0101");
    assert_eq!(device["code_slots"].as_array().map(Vec::len), Some(1));
    assert!(
        device["token"]
            .as_str()
            .is_some_and(|t| t.starts_with("mcd_"))
    );

    // Another browser may not claim the same actor.
    let (status, _) = hub.post("/api/devices/browser", Some(&clerk), &body)?;
    assert_eq!(status, 400);

    // A leader's phone issues no dossier codes.
    let leader = hub.login("lanhdao.tanphong", "motcua2026")?;
    let (status, phone) = hub.post(
        "/api/devices/browser",
        Some(&leader),
        &json!({ "name": "Điện thoại", "actors": ["ffeeddccbbaa99887766554433221100"] }),
    )?;
    assert_eq!(status, 201, "{phone}");
    assert_eq!(phone["code_slots"], json!([]));

    let admin = hub.login("admin", "motcua2026")?;
    let (status, _) = hub.post("/api/devices/browser", Some(&admin), &body)?;
    assert_eq!(status, 403, "administrators hold no replica");

    let (_, audit) = hub.get("/api/admin/audit?limit=50", Some(&admin))?;
    let by_clerk = audit
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["actor"] == "user:canbo.tanphong" && e["action"] == "enrolment.create")
        .count();
    assert_eq!(by_clerk, 2, "{audit}");
    Ok(())
}

#[test]
fn catalogue_and_calendar_edits_are_republished_to_devices() -> anyhow::Result<()> {
    let hub = demo_hub(vec![]);
    let admin = hub.login("admin", "motcua2026")?;
    let clerk = hub.login("canbo.tanphong", "motcua2026")?;
    let edit = json!({ "fee_vnd": 15000, "processing_days": 3 });
    let (status, _) = hub.put(
        "/api/admin/catalogue/procedures/1.001193",
        Some(&clerk),
        &edit,
    )?;
    assert_eq!(status, 403);
    let (status, saved) = hub.put(
        "/api/admin/catalogue/procedures/1.001193",
        Some(&admin),
        &edit,
    )?;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["fee"]["amount_vnd"], 15000);
    let (_, found) = hub.get("/api/admin/catalogue?q=khai%20sinh", Some(&admin))?;
    assert!(
        found["procedures"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["id"] == "1.001193"))
    );

    let (status, year) = hub.post(
        "/api/admin/calendar/days",
        Some(&admin),
        &json!({ "date": "2026-12-04", "kind": "holiday", "name": "Nghỉ theo quyết định của tỉnh" }),
    )?;
    assert_eq!(status, 200, "{year}");
    let (status, _) = hub.post(
        "/api/admin/calendar/days",
        Some(&admin),
        &json!({ "date": "2026-12-05", "kind": "holiday", "name": "" }),
    )?;
    assert_eq!(status, 400, "a day off needs a name");

    // A tablet that syncs now works with both.
    let tablet = hub.enrol_device("X0101")?;
    tablet.sync()?;
    let data = tablet.data();
    let received = motcua_tests::motcua_json(&[
        "dossier",
        "receive",
        "--data",
        &data,
        "--procedure",
        "1.001193",
        "--name",
        "Lê Văn Cường",
        "--id-number",
        "001203001234",
        "--received-at",
        "2026-12-03T09:00:00+07:00",
    ])?;
    let shown = tablet.show(received["code"].as_str().unwrap_or_default())?;
    assert_eq!(shown["dossier"]["fee"]["amount_vnd"], 15000);
    // Thursday + 3 working days, skipping Friday 4 December (the new day off)
    // and the weekend: Wednesday 9 December.
    assert!(
        received["due_at"]
            .as_str()
            .is_some_and(|d| d.starts_with("2026-12-09")),
        "{received}"
    );
    Ok(())
}

#[test]
fn the_built_app_is_served_with_caching_rules_and_a_fallback_for_its_screens() -> anyhow::Result<()>
{
    let dist = TempDir::new("dist");
    std::fs::create_dir_all(dist.path().join("assets"))?;
    std::fs::create_dir_all(dist.path().join("tra-cuu"))?;
    std::fs::write(dist.path().join("index.html"), "<title>app</title>")?;
    std::fs::write(
        dist.path().join("tra-cuu/index.html"),
        "<title>lookup</title>",
    )?;
    std::fs::write(dist.path().join("sw.js"), "// worker")?;
    std::fs::write(dist.path().join("assets/app-1234.js"), "export {}")?;
    let hub = demo_hub(vec!["--pwa".into(), dist.path().to_string_lossy().into()]);

    let (status, head, _) = http_with_head(&hub.url, "GET", "/assets/app-1234.js", None, None)?;
    assert_eq!(status, 200);
    assert!(
        head.contains("cache-control: public, max-age=31536000, immutable"),
        "{head}"
    );
    let (status, head, body) = http_with_head(&hub.url, "GET", "/sw.js", None, None)?;
    assert_eq!((status, body.as_str()), (200, Some("// worker")));
    assert!(head.contains("cache-control: no-cache"), "{head}");
    let (status, head, body) = http_with_head(&hub.url, "GET", "/ho-so/abc", None, None)?;
    assert_eq!((status, body.as_str()), (200, Some("<title>app</title>")));
    assert!(head.contains("cache-control: no-cache"), "{head}");
    let (status, _, body) = http_with_head(&hub.url, "GET", "/tra-cuu/", None, None)?;
    assert_eq!(
        (status, body.as_str()),
        (200, Some("<title>lookup</title>"))
    );
    let (status, _, body) = http_with_head(&hub.url, "GET", "/api/no-such-thing", None, None)?;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    Ok(())
}

#[test]
fn browsers_that_accept_gzip_get_the_gzipped_copy_of_a_file() -> anyhow::Result<()> {
    use std::io::Write;
    let dist = TempDir::new("dist");
    std::fs::create_dir_all(dist.path().join("assets"))?;
    std::fs::write(dist.path().join("index.html"), "<title>app</title>")?;
    let wasm: Vec<u8> = (0..100_000u32).map(|i| (i % 7) as u8).collect();
    std::fs::write(dist.path().join("assets/core-1234.wasm"), &wasm)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&wasm)?;
    let gzipped = gz.finish()?;
    std::fs::write(dist.path().join("assets/core-1234.wasm.gz"), &gzipped)?;
    let hub = demo_hub(vec!["--pwa".into(), dist.path().to_string_lossy().into()]);

    let path = "/assets/core-1234.wasm";
    let gzip = [("Accept-Encoding", "gzip, br".to_string())];
    let (status, head, body) = http_raw(&hub.url, "GET", path, &gzip, b"")?;
    assert_eq!(status, 200);
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(head.contains("content-type: application/wasm"), "{head}");
    assert_eq!(body, gzipped);
    // Without gzip the file itself.
    let (status, head, body) = http_raw(&hub.url, "GET", path, &[], b"")?;
    assert_eq!(status, 200);
    assert!(!head.contains("content-encoding"), "{head}");
    assert_eq!(body, wasm);
    Ok(())
}
