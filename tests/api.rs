//! The hub's HTTP API against a real hub process.

use anyhow::Context;
use motcua_tests::{HubOptions, HubProcess};
use serde_json::json;

fn demo_hub() -> HubProcess {
    HubProcess::start(HubOptions {
        demo: true,
        ..HubOptions::default()
    })
    .expect("hub starts")
}

#[test]
fn health_and_metrics_answer() -> anyhow::Result<()> {
    let hub = demo_hub();
    let (status, body) = hub.get("/healthz", None)?;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = hub.get("/metrics", None)?;
    assert_eq!(status, 200);
    let text = body.as_str().unwrap_or_default();
    for metric in [
        "motcua_sync_connections",
        "motcua_sync_lag_changes",
        "motcua_sync_bytes_received_total",
        "motcua_documents",
        "motcua_quarantined_items",
    ] {
        assert!(text.contains(metric), "{metric} missing");
    }
    Ok(())
}

#[test]
fn login_takes_the_right_password_only() -> anyhow::Result<()> {
    let hub = demo_hub();
    let (status, body) = hub.post(
        "/api/login",
        None,
        &json!({ "username": "canbo.tanphong", "password": "wrong-password" }),
    )?;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "bad_credentials");
    let (status, _) = hub.post(
        "/api/login",
        None,
        &json!({ "username": "nobody", "password": "motcua2026" }),
    )?;
    assert_eq!(status, 401);
    let token = hub.login("canbo.tanphong", "motcua2026")?;
    let (status, me) = hub.get("/api/me", Some(&token))?;
    assert_eq!(status, 200);
    assert_eq!(me["user"]["role"], "clerk");
    assert_eq!(me["user"]["unit"], "X0101");
    let (status, _) = hub.get("/api/me", Some("mcs_forged"))?;
    assert_eq!(status, 401);
    Ok(())
}

/// Every route for staff, with a body that would not even parse: the session
/// is checked first, so none of them reveals or does anything without one.
const STAFF_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/me"),
    ("GET", "/api/units"),
    ("GET", "/api/dossiers"),
    ("GET", "/api/dossiers/X0101-260101-0001"),
    ("POST", "/api/admin/enrolments"),
    ("GET", "/api/admin/devices"),
    ("POST", "/api/admin/devices/dev-0/revoke"),
    ("GET", "/api/admin/users"),
    ("POST", "/api/admin/users"),
    ("GET", "/api/admin/quarantine"),
    ("GET", "/api/admin/audit"),
    ("POST", "/api/admin/units"),
    ("GET", "/api/admin/catalogue"),
    ("PUT", "/api/admin/catalogue/procedures/1.001193"),
    ("GET", "/api/admin/calendar"),
    ("POST", "/api/admin/calendar/days"),
    ("POST", "/api/admin/calendar/seed"),
    ("POST", "/api/devices/browser"),
    ("GET", "/api/reports/06a?from=2026-01-01&to=2026-01-31"),
    (
        "GET",
        "/api/reports/06a/dossiers?from=2026-01-01&to=2026-01-31",
    ),
    ("GET", "/api/reports/late?from=2026-01-01&to=2026-01-31"),
    ("GET", "/api/reports/form06/X0101-260101-0001"),
    ("GET", "/api/reports/form07?from=2026-01-01&to=2026-01-31"),
];

#[test]
fn every_staff_route_answers_401_without_a_live_session() -> anyhow::Result<()> {
    let hub = demo_hub();
    let token = hub.login("admin.ngocson", "motcua2026")?;
    let (status, _) = hub.get("/api/me", Some(&token))?;
    assert_eq!(status, 200);
    let (status, _) = hub.post("/api/logout", Some(&token), &json!({}))?;
    assert_eq!(status, 204);
    for session in [None, Some("mcs_forged"), Some(token.as_str())] {
        for (method, path) in STAFF_ROUTES {
            let body = (*method != "GET").then(|| json!({ "unexpected": true }));
            let (status, answer) =
                motcua_tests::hub::http(&hub.url, method, path, session, body.as_ref())?;
            assert_eq!(status, 401, "{method} {path} with {session:?}: {answer}");
            assert_eq!(answer["error"]["code"], "unauthorized", "{method} {path}");
            assert!(
                answer["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("Bearer")),
                "{method} {path}: {answer}"
            );
        }
    }
    Ok(())
}

#[test]
fn dossier_lists_are_limited_to_the_callers_subtree() -> anyhow::Result<()> {
    let hub = demo_hub();
    let tan_phong = hub.enrol_device("X0101")?;
    let dong_hoa = hub.enrol_device("X0102")?;
    let mine = tan_phong.receive("1.001193", "Nguyễn Văn An")?;
    let theirs = dong_hoa.receive("1.001193", "Nguyễn Văn Ba")?;
    tan_phong.sync()?;
    dong_hoa.sync()?;

    let clerk = hub.login("canbo.tanphong", "motcua2026")?;
    let (_, page) = hub.get("/api/dossiers?q=nguyen%20van", Some(&clerk))?;
    let listed: Vec<&str> = page["items"]
        .as_array()
        .context("items")?
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert_eq!(listed, vec![mine.as_str()]);
    // Another commune's dossier looks exactly like a missing one.
    let (status_other, other) = hub.get(&format!("/api/dossiers/{theirs}"), Some(&clerk))?;
    let (status_missing, missing) = hub.get("/api/dossiers/X0101-991231-0001", Some(&clerk))?;
    assert_eq!((status_other, &other), (status_missing, &missing));
    assert_eq!(status_other, 404);

    let province = hub.login("lanhdao.tinh", "motcua2026")?;
    let (_, page) = hub.get("/api/dossiers", Some(&province))?;
    assert_eq!(page["total"], 2);
    let (_, page) = hub.get("/api/dossiers?unit=X0102", Some(&province))?;
    assert_eq!(page["total"], 1);
    // Diacritics in the query must match exactly.
    let (_, page) = hub.get(
        &format!("/api/dossiers?q={}", "Nguy%E1%BB%85n"),
        Some(&province),
    )?;
    assert_eq!(page["total"], 2);
    let (_, page) = hub.get(
        &format!("/api/dossiers?q={}", "Nguy%C3%AAn"),
        Some(&province),
    )?;
    assert_eq!(page["total"], 0);
    Ok(())
}

#[test]
fn the_public_look_up_shows_no_personal_data_and_is_rate_limited() -> anyhow::Result<()> {
    let hub = demo_hub();
    let device = hub.enrol_device("X0101")?;
    let code = device.receive("1.004873", "Trần Thị Bình")?;
    device.sync()?;
    let (status, body) = hub.get(&format!("/api/public/dossiers/{code}"), None)?;
    assert_eq!(status, 200);
    let keys: Vec<&String> = body.as_object().context("object")?.keys().collect();
    assert_eq!(
        keys,
        vec![
            "appointment",
            "code",
            "procedure",
            "status",
            "status_name",
            "status_name_en"
        ]
    );
    assert!(!body.to_string().contains("Trần"));
    assert_eq!(body["status"], 2);
    let (status, _) = hub.get("/api/public/dossiers/X0101-991231-0009", None)?;
    assert_eq!(status, 404);
    let statuses: Vec<u16> = (0..40)
        .map(|_| {
            hub.get(&format!("/api/public/dossiers/{code}"), None)
                .map(|r| r.0)
                .unwrap_or(0)
        })
        .collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    Ok(())
}

#[test]
fn only_admins_enrol_devices_and_codes_work_once() -> anyhow::Result<()> {
    let hub = demo_hub();
    let clerk = hub.login("canbo.tanphong", "motcua2026")?;
    let (status, _) = hub.post(
        "/api/admin/enrolments",
        Some(&clerk),
        &json!({ "unit": "X0101", "name": "tablet" }),
    )?;
    assert_eq!(status, 403);
    let admin = hub.login("admin", "motcua2026")?;
    let (status, enrolment) = hub.post(
        "/api/admin/enrolments",
        Some(&admin),
        &json!({ "unit": "X0101", "name": "tablet" }),
    )?;
    assert_eq!(status, 201);
    let code = enrolment["code"].as_str().context("code")?;
    let (status, device) = hub.post(
        "/api/enrol",
        None,
        &json!({ "code": code, "actors": ["00112233445566778899aabbccddeeff"] }),
    )?;
    assert_eq!(status, 201, "{device}");
    assert!(
        device["token"]
            .as_str()
            .is_some_and(|t| t.starts_with("mcd_"))
    );
    let (status, again) = hub.post("/api/enrol", None, &json!({ "code": code }))?;
    assert_eq!(status, 400);
    assert!(
        again["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("already used")
    );
    // A district admin cannot enrol devices outside the district.
    let district = hub.login("admin.ngocson", "motcua2026")?;
    let (status, _) = hub.post(
        "/api/admin/enrolments",
        Some(&district),
        &json!({ "unit": "X0101", "name": "tablet" }),
    )?;
    assert_eq!(status, 404);
    Ok(())
}

#[test]
fn the_demo_hub_can_start_with_dossiers_in_every_commune_and_a_device_receives_its_own()
-> anyhow::Result<()> {
    let hub = HubProcess::start(HubOptions {
        demo: true,
        args: vec!["--demo-dossiers".into(), "40".into()],
        ..HubOptions::default()
    })?;
    let leader = hub.login("lanhdao.tinh", "motcua2026")?;
    let (status, report) = hub.get(
        "/api/reports/06a?from=2000-01-01&to=2100-12-31",
        Some(&leader),
    )?;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["total"]["figures"]["received"], 40, "{report}");
    let tan_phong = hub.enrol_device("X0101")?;
    let synced = tan_phong.sync()?;
    assert_eq!(synced["in_sync"], true, "{synced}");
    let codes: Vec<String> = tan_phong
        .list()?
        .iter()
        .filter_map(|d| d["code"].as_str().map(str::to_string))
        .collect();
    assert!(!codes.is_empty());
    assert!(codes.iter().all(|c| c.starts_with("X0101-")), "{codes:?}");
    Ok(())
}

/// The header of `name` in `head` (as `http_raw` gives it), if any.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(str::trim)
}

fn assert_security_headers(head: &str) {
    let csp = header(head, "content-security-policy").unwrap_or_default();
    for part in [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{part} missing in {head}");
    }
    assert!(!csp.contains("'unsafe-eval'"), "{csp}");
    assert_eq!(
        header(head, "x-content-type-options"),
        Some("nosniff"),
        "{head}"
    );
    assert_eq!(
        header(head, "referrer-policy"),
        Some("no-referrer"),
        "{head}"
    );
}

#[test]
fn every_answer_carries_the_security_headers_and_plain_http_no_hsts() -> anyhow::Result<()> {
    let hub = demo_hub();
    let token = hub.login("canbo.tanphong", "motcua2026")?;
    let bad_login = serde_json::to_vec(&json!({ "username": "x", "password": "y" }))?;
    let answers = [
        hub.get_raw("/healthz", None)?,
        hub.get_raw("/api/dossiers", Some(&token))?,
        hub.get_raw("/api/dossiers", None)?,
        hub.get_raw("/api/no-such-route", None)?,
        motcua_tests::hub::http_raw(
            &hub.url,
            "POST",
            "/api/login",
            &[("Content-Type", "application/json".to_string())],
            &bad_login,
        )?,
    ];
    for (status, head, _) in &answers {
        assert!([200, 401, 404].contains(status), "{head}");
        assert_security_headers(head);
        assert_eq!(header(head, "strict-transport-security"), None, "{head}");
    }
    Ok(())
}

#[test]
fn a_tls_hub_adds_strict_transport_security() -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let hub = HubProcess::start(HubOptions {
        demo: true,
        tls_self_signed: true,
        ..HubOptions::default()
    })?;
    let authority = hub.url.strip_prefix("https://").context("https")?;
    let pem = std::fs::read(hub.cert_path())?;
    let mut roots = rustls::RootCertStore::empty();
    use rustls_pki_types::pem::PemObject;
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert?)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let host = authority.rsplit_once(':').context("port")?.0;
    let name = rustls_pki_types::ServerName::try_from(host.to_string())?;
    let tls = rustls::ClientConnection::new(std::sync::Arc::new(config), name)?;
    let mut stream = rustls::StreamOwned::new(tls, std::net::TcpStream::connect(authority)?);
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    // The hub may close without a TLS close_notify; what was read is kept.
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    let head = motcua_tests::hub::response_head(text.split("\r\n\r\n").next().unwrap_or_default());
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_security_headers(&head);
    assert_eq!(
        header(&head, "strict-transport-security"),
        Some("max-age=31536000"),
        "{head}"
    );
    Ok(())
}

/// POSTs a log-in from `local` (any 127.x.y.z: Linux routes all of 127/8 to
/// the loopback), as a second machine would: (status, header lines, body).
fn login_from(
    hub: &HubProcess,
    local: [u8; 4],
    username: &str,
    password: &str,
) -> anyhow::Result<(u16, String, serde_json::Value)> {
    login_via(hub, local, None, username, password)
}

/// The same, with an `X-Forwarded-For` header.
fn login_via(
    hub: &HubProcess,
    local: [u8; 4],
    forwarded_for: Option<&str>,
    username: &str,
    password: &str,
) -> anyhow::Result<(u16, String, serde_json::Value)> {
    let forwarded = forwarded_for.map_or(String::new(), |f| format!("X-Forwarded-For: {f}\r\n"));
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = hub
        .url
        .strip_prefix("http://")
        .context("plain hub")?
        .to_string();
    let body = serde_json::to_vec(&json!({ "username": username, "password": password }))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let response = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind((std::net::Ipv4Addr::from(local), 0).into())?;
        let mut stream = socket.connect(authority.parse()?).await?;
        let head = format!(
            "POST /api/login HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
             {forwarded}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        anyhow::Ok(String::from_utf8(response)?)
    })?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("no HTTP response")?;
    let head = head.to_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("status")?;
    Ok((status, head, serde_json::from_str(body).unwrap_or_default()))
}

#[test]
fn password_guessing_is_throttled_per_address_and_locks_the_account() -> anyhow::Result<()> {
    let hub = demo_hub();
    let here = [127, 0, 0, 1];
    let elsewhere = [127, 0, 0, 2];
    // Ten wrong passwords are answered as such...
    for _ in 0..10 {
        let (status, _, body) = login_from(&hub, here, "canbo.tanphong", "doan-mo")?;
        assert_eq!(
            (status, &body["error"]["code"]),
            (401, &json!("bad_credentials"))
        );
    }
    // ...then the account is locked, against the right password too, and
    // says for how long.
    for password in ["doan-mo", "motcua2026"] {
        let (status, head, body) = login_from(&hub, here, "canbo.tanphong", password)?;
        assert_eq!(
            (status, &body["error"]["code"]),
            (429, &json!("account_locked")),
            "{body}"
        );
        let retry: u64 = header(&head, "retry-after")
            .context("retry-after")?
            .parse()?;
        assert!((1..=15 * 60).contains(&retry), "{retry}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("locked")
        );
    }
    // Another account from the same address still logs in...
    let (status, _, body) = login_from(&hub, here, "canbo.donghoa", "motcua2026")?;
    assert_eq!(status, 200, "{body}");
    // ...but spraying passwords over many accounts from it runs into the
    // address's quota.
    let mut limited = 0;
    let mut last = (0, String::new());
    for i in 0..30 {
        let (status, head, body) = login_from(&hub, here, &format!("nguoi.la{i}"), "123456")?;
        assert!([401, 429].contains(&status), "{status} {body}");
        if status == 429 {
            assert_eq!(body["error"]["code"], "rate_limited", "{body}");
            assert!(header(&head, "retry-after").is_some(), "{head}");
            limited += 1;
        }
        last = (status, head);
    }
    assert!(
        limited >= 15,
        "only {limited} of 30 sprayed attempts refused"
    );
    assert_eq!(last.0, 429, "{}", last.1);
    // Another address is not held back by that one, but the lock-out is
    // the account's, wherever the attempt comes from.
    let (status, _, body) = login_from(&hub, elsewhere, "canbo.donghoa", "motcua2026")?;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = login_from(&hub, elsewhere, "canbo.tanphong", "motcua2026")?;
    assert_eq!(
        (status, &body["error"]["code"]),
        (429, &json!("account_locked")),
        "{body}"
    );
    Ok(())
}

/// Sprays 30 wrong passwords over as many accounts; how many were refused
/// by the address quota.
fn spray(hub: &HubProcess, forwarded_for: Option<&str>, tag: &str) -> anyhow::Result<usize> {
    let mut limited = 0;
    for i in 0..30 {
        let user = format!("nguoi.la.{tag}{i}");
        let (status, _, body) = login_via(hub, [127, 0, 0, 1], forwarded_for, &user, "123456")?;
        if status == 429 {
            assert_eq!(body["error"]["code"], "rate_limited", "{body}");
            limited += 1;
        }
    }
    Ok(limited)
}

#[test]
fn x_forwarded_for_picks_the_throttled_address_only_when_the_operator_trusts_it()
-> anyhow::Result<()> {
    // Untrusted (the default): a made-up header per attempt does not get a
    // guesser a fresh quota.
    let hub = demo_hub();
    let mut limited = 0;
    for i in 0..30 {
        let fake = format!("198.51.100.{i}");
        let user = format!("nguoi.la{i}");
        let (status, _, _) = login_via(&hub, [127, 0, 0, 1], Some(&fake), &user, "123456")?;
        limited += usize::from(status == 429);
    }
    assert!(limited >= 5, "only {limited} refused");

    // Behind a trusted proxy, each client is throttled by its own address,
    // the last entry (the one the proxy appended).
    let hub = HubProcess::start(HubOptions {
        demo: true,
        args: vec!["--trust-forwarded-for".into()],
        ..HubOptions::default()
    })?;
    let guesser = Some("10.9.9.9, 203.0.113.7");
    assert!(spray(&hub, guesser, "a")? >= 5);
    // Another client behind the same proxy logs in; the guesser does not,
    // whatever it puts before the entry the proxy appended.
    for (forwarded, expected) in [("203.0.113.8", 200), ("203.0.113.8, 203.0.113.7", 429)] {
        let (status, _, body) = login_via(
            &hub,
            [127, 0, 0, 1],
            Some(forwarded),
            "canbo.donghoa",
            "motcua2026",
        )?;
        assert_eq!(status, expected, "{forwarded}: {body}");
    }
    Ok(())
}
