//! What an operator's tools see of a real hub: JSON log lines that name the
//! request they belong to, `/readyz`, and `/metrics` read by an OpenMetrics
//! parser.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use motcua_tests::hub::{TempDir, http_raw, motcua_bin};
use motcua_tests::{Device, HubOptions, HubProcess, eventually};
use openmetrics_parser::{MetricsExposition, OpenMetricsType, OpenMetricsValue};
use serde_json::{Value, json};

/// One request with its own headers: (status, x-request-id, body).
fn request(
    hub: &HubProcess,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<&Value>,
) -> anyhow::Result<(u16, String, Value)> {
    let mut all = vec![("Content-Type", "application/json".to_string())];
    all.extend(headers.iter().cloned());
    let payload = body.map(Value::to_string).unwrap_or_default();
    let (status, head, body) = http_raw(&hub.url, method, path, &all, payload.as_bytes())?;
    let id = head
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id:"))
        .map(|v| v.trim().to_string())
        .with_context(|| format!("{method} {path}: no x-request-id in\n{head}"))?;
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok((status, id, body))
}

/// Syncs a device once with its log at `info`; returns the request id the
/// hub answered the WebSocket upgrade with, as the device logged it.
fn sync_logging_request_id(device: &Device) -> anyhow::Result<String> {
    let out = Command::new(motcua_bin())
        .args(["sync", "--data", &device.data()])
        .env("MOTCUA_LOG", "info")
        .output()?;
    let log = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("motcua sync failed: {log}");
    }
    log.lines()
        .filter(|l| l.contains("connected to"))
        .find_map(|l| l.split("request_id=").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .with_context(|| format!("the device logged no request id:\n{log}"))
}

/// The hub's log lines, each parsed as JSON (a line that is not JSON fails).
fn json_lines(log: &Path) -> anyhow::Result<Vec<Value>> {
    std::fs::read_to_string(log)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("not a JSON log line: {l}")))
        .collect()
}

fn line_id(line: &Value) -> Option<&str> {
    line["span"]["request_id"].as_str()
}

fn message(line: &Value) -> &str {
    line["fields"]["message"].as_str().unwrap_or_default()
}

#[test]
fn every_request_and_sync_log_line_carries_the_id_its_response_returned() -> anyhow::Result<()> {
    let logs = TempDir::new("logs");
    let log = logs.path().join("hub.log");
    let hub = HubProcess::start(HubOptions {
        demo: true,
        args: vec!["--log-format".into(), "json".into()],
        env: vec![("MOTCUA_LOG".into(), "info".into())],
        stderr: Some(log.clone()),
        ..HubOptions::default()
    })?;

    // An id the caller chose is kept and echoed; otherwise the hub makes one.
    let (status, chosen, body) = request(
        &hub,
        "POST",
        "/api/login",
        &[("x-request-id", "counter-7-login".into())],
        Some(&json!({ "username": "canbo.tanphong", "password": "motcua2026" })),
    )?;
    assert_eq!((status, chosen.as_str()), (200, "counter-7-login"));
    let token = body["token"].as_str().context("no token")?.to_string();
    let bearer = [("Authorization", format!("Bearer {token}"))];
    let (status, listed, _) = request(&hub, "GET", "/api/dossiers", &bearer, None)?;
    assert_eq!(status, 200);
    let (status, missing, _) = request(&hub, "GET", "/api/dossiers/NO-SUCH", &bearer, None)?;
    assert_eq!(status, 404);
    let (_, health, _) = request(&hub, "GET", "/healthz", &[], None)?;
    let http_ids = [
        (chosen, "/api/login", 200),
        (listed, "/api/dossiers", 200),
        (missing, "/api/dossiers/NO-SUCH", 404),
        (health, "/healthz", 200),
    ];
    assert_eq!(
        http_ids
            .iter()
            .map(|(id, ..)| id)
            .collect::<BTreeSet<_>>()
            .len(),
        http_ids.len(),
        "every request has its own id"
    );

    // A device pushes a dossier and catches up.
    let device = hub.enrol_device("X0101")?;
    device.receive("1.004873", "Nguyễn Văn An")?;
    let sync_id = sync_logging_request_id(&device)?;
    // The session's last line comes once the hub has seen the socket close.
    eventually(Duration::from_secs(30), || {
        Ok(json_lines(&log)?
            .iter()
            .any(|l| line_id(l) == Some(&sync_id) && message(l) == "sync connection closed"))
    })?;

    let lines = json_lines(&log)?;
    // No line about a request or a sync session lacks its id.
    for line in &lines {
        let target = line["target"].as_str().unwrap_or_default();
        if target.starts_with("server::hub::requests") || target.starts_with("server::hub::sync") {
            assert!(
                line_id(line).is_some_and(|id| !id.is_empty()),
                "a line without a request id: {line}"
            );
        }
    }
    for (id, path, status) in &http_ids {
        let answered: Vec<&Value> = lines.iter().filter(|l| line_id(l) == Some(id)).collect();
        assert_eq!(answered.len(), 1, "one line for {path}: {answered:?}");
        assert_eq!(answered[0]["span"]["path"], *path);
        assert_eq!(answered[0]["fields"]["status"], *status);
    }
    let session: Vec<&str> = lines
        .iter()
        .filter(|l| line_id(l) == Some(&sync_id))
        .map(message)
        .collect();
    for expected in [
        "device connected",
        "caught up",
        "sync connection closed",
        "request answered",
    ] {
        assert!(
            session.contains(&expected),
            "'{expected}' missing from the session's lines {session:?}"
        );
    }
    let upgrade = lines
        .iter()
        .find(|l| line_id(l) == Some(&sync_id) && message(l) == "request answered")
        .context("no line for the upgrade")?;
    assert_eq!(
        (&upgrade["span"]["path"], &upgrade["fields"]["status"]),
        (&json!("/sync"), &json!(101))
    );
    Ok(())
}

#[test]
fn a_log_format_the_hub_does_not_know_is_refused_before_it_starts() -> anyhow::Result<()> {
    let data = TempDir::new("hub");
    let out = Command::new(motcua_bin())
        .args(["serve", "--data", &data.path().to_string_lossy()])
        .args(["--listen", "127.0.0.1:0", "--log-format", "yaml"])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("'yaml'") && err.contains("text") && err.contains("json"),
        "{err}"
    );
    assert!(!data.path().join("motcua.sqlite").exists(), "nothing ran");
    Ok(())
}

#[test]
fn readyz_answers_503_with_the_reason_while_the_database_takes_no_writes() -> anyhow::Result<()> {
    let logs = TempDir::new("logs");
    let log = logs.path().join("hub.log");
    let hub = HubProcess::start(HubOptions {
        // The format from the environment, as a service unit would set it.
        env: vec![("MOTCUA_LOG_FORMAT".into(), "json".into())],
        stderr: Some(log.clone()),
        ..HubOptions::default()
    })?;
    let (status, body) = hub.get("/readyz", None)?;
    assert_eq!((status, body), (200, json!({ "status": "ready" })));

    // Another process holds the database's write lock.
    let db = rusqlite::Connection::open(hub.data.path().join("motcua.sqlite"))?;
    db.execute_batch("BEGIN IMMEDIATE")?;
    let (status, body) = hub.get("/readyz", None)?;
    assert_eq!((status, &body["status"]), (503, &json!("not_ready")));
    let reason = body["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("does not take writes") && reason.contains("locked"),
        "{reason}"
    );
    // Alive all the same: reads still answer.
    let (status, _) = hub.get("/healthz", None)?;
    assert_eq!(status, 200);
    db.execute_batch("ROLLBACK")?;
    let (status, _) = hub.get("/readyz", None)?;
    assert_eq!(status, 200);

    let lines = json_lines(&log)?;
    assert!(
        lines
            .iter()
            .any(|l| message(l).starts_with("not ready:") && line_id(l).is_some()),
        "the refusal is logged, with its request id: {lines:?}"
    );
    Ok(())
}

/// `/metrics`, parsed as OpenMetrics text.
fn scrape(hub: &HubProcess) -> anyhow::Result<Scrape> {
    let (status, head, body) = hub.get_raw("/metrics", None)?;
    assert_eq!(status, 200);
    assert!(head.contains("application/openmetrics-text"), "{head}");
    let text = String::from_utf8(body)?;
    openmetrics_parser::openmetrics::parse_openmetrics(&text)
        .map_err(|e| anyhow::anyhow!("/metrics does not parse: {e}\n{text}"))
}

type Scrape = MetricsExposition<OpenMetricsType, OpenMetricsValue>;

/// One histogram of a family: its labels, count and sum.
type Observed = (Vec<(String, String)>, u64, f64);

/// The histograms of a family.
fn histograms(metrics: &Scrape, name: &str) -> Vec<Observed> {
    let family = metrics
        .families
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing"));
    assert_eq!(family.family_type, OpenMetricsType::Histogram, "{name}");
    family
        .iter_samples()
        .map(|s| {
            let OpenMetricsValue::Histogram(h) = &s.value else {
                panic!("{name} has a sample that is not a histogram")
            };
            let labels = s
                .get_labelset()
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let sum = h.sum.as_ref().map_or(0.0, |v| v.as_f64());
            (labels, h.count.unwrap_or(0), sum)
        })
        .collect()
}

fn counter(metrics: &Scrape, name: &str) -> f64 {
    let family = metrics
        .families
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing"));
    family
        .iter_samples()
        .map(|s| match &s.value {
            OpenMetricsValue::Counter(c) => c.value.as_f64(),
            other => panic!("{name} is not a counter: {other:?}"),
        })
        .sum()
}

#[test]
fn metrics_parse_as_openmetrics_with_histograms_of_the_traffic() -> anyhow::Result<()> {
    let hub = HubProcess::start(HubOptions {
        demo: true,
        ..HubOptions::default()
    })?;
    let device = hub.enrol_device("X0101")?;
    let code = device.receive("1.004873", "Nguyễn Văn An")?;
    device.sync()?;
    let token = hub.login("canbo.tanphong", "motcua2026")?;
    let (status, _) = hub.get(&format!("/api/dossiers/{code}"), Some(&token))?;
    assert_eq!(status, 200);
    let (status, _) = hub.get("/api/dossiers", Some(&token))?;
    assert_eq!(status, 200);
    // A scanner's invented method and random paths add no series of their own.
    let (status, ..) = http_raw(&hub.url, "BREW", "/healthz", &[], b"")?;
    assert_eq!(status, 405);
    for n in 0..3 {
        let (status, ..) = http_raw(&hub.url, "GET", &format!("/api/no/such/{n}"), &[], b"")?;
        assert_eq!(status, 404);
    }

    let metrics = scrape(&hub)?;
    for name in [
        "motcua_sync_push_seconds",
        "motcua_store_commit_seconds",
        "motcua_sync_catchup_documents",
        "motcua_sync_catchup_bytes",
    ] {
        let all = histograms(&metrics, name);
        assert_eq!(all.len(), 1, "{name}: {all:?}");
        let (labels, count, _) = &all[0];
        assert!(labels.is_empty(), "{name}: {labels:?}");
        assert!(*count >= 1, "{name} counted nothing");
    }
    // The catch-up brought the hub's configuration (units, catalogue, calendar).
    let (_, _, documents) = &histograms(&metrics, "motcua_sync_catchup_documents")[0];
    assert!(*documents >= 3.0, "{documents}");

    let http = histograms(&metrics, "motcua_http_request_seconds");
    let names: BTreeSet<&str> = http
        .iter()
        .flat_map(|(labels, ..)| labels.iter().map(|(k, _)| k.as_str()))
        .collect();
    assert_eq!(names, BTreeSet::from(["method", "route", "status"]));
    let count = |route: &str, status: &str| -> u64 {
        http.iter()
            .filter(|(labels, ..)| {
                labels.contains(&("route".into(), route.into()))
                    && labels.contains(&("status".into(), status.into()))
            })
            .map(|(_, count, _)| count)
            .sum()
    };
    // The route template, never the path with the dossier's code in it.
    assert!(count("/api/dossiers/{code}", "200") >= 1);
    assert!(count("/api/dossiers", "200") >= 1);
    assert!(count("/api/enrol", "201") >= 1);
    assert!(count("/sync", "101") >= 1);
    assert_eq!(count("fallback", "404"), 3);
    assert!(http.iter().any(|(labels, ..)| {
        labels.contains(&("method".into(), "other".into()))
            && labels.contains(&("route".into(), "/healthz".into()))
    }));
    assert!(
        http.iter()
            .all(|(labels, ..)| labels.iter().all(|(_, v)| !v.contains(&code))),
        "a raw path became a label: {http:?}"
    );

    // The counters kept their names.
    assert!(counter(&metrics, "motcua_http_requests") >= 4.0);
    assert!(counter(&metrics, "motcua_sync_connections_accepted") >= 1.0);
    assert!(counter(&metrics, "motcua_sync_documents_accepted") >= 1.0);
    assert!(counter(&metrics, "motcua_store_pushes_committed") >= 1.0);
    assert!(metrics.families.contains_key("motcua_sync_lag_changes"));
    assert!(metrics.families.contains_key("motcua_documents"));
    Ok(())
}
