//! The web app in a real browser (Chromium driven by Playwright), against a
//! real `motcua serve --demo` hub started by the one hub helper.
//!
//! The browser side lives in `pwa/tests/e2e.mjs`; this test starts the hub,
//! runs the script, and does what the script cannot do from inside the
//! browser: it stops the hub (the hub becomes unreachable), starts it again
//! on the same port, and checks through the hub's API that what the clerk
//! did offline arrived by itself. The script asks for these by printing
//! `@hub stop`, `@hub start` and `@check <code>=<stage>,…` and waits for
//! `ok` on its standard input.
//!
//! It needs the built web app (`pwa/dist`), `node` with `pwa/node_modules`,
//! and Chromium at /usr/bin/chromium; `scripts/test` sets all of that up and
//! runs it (`cargo nextest run -p motcua-tests --test browser --run-ignored all`).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use motcua_tests::{HubOptions, HubProcess, eventually};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

/// Checks `CODE=stage` pairs against the hub's API, as the clerk's unit
/// sees them, waiting until they arrive.
fn check_at_hub(hub: &HubProcess, spec: &str) -> anyhow::Result<()> {
    let token = hub.login("canbo.tanphong", DEMO_PASSWORD)?;
    for pair in spec.split(',').filter(|p| !p.is_empty()) {
        let (code, stage) = pair.split_once('=').context("CODE=stage")?;
        eventually(Duration::from_secs(30), || {
            let (status, body) = hub.get(&format!("/api/dossiers/{code}"), Some(&token))?;
            Ok(status == 200 && body["progress"]["current"] == stage)
        })
        .with_context(|| format!("{code} did not reach the hub at stage {stage}"))?;
    }
    Ok(())
}

/// The password of every demo user (`motcua serve --demo`).
const DEMO_PASSWORD: &str = "motcua2026";

#[test]
#[ignore = "needs the built web app, node modules and Chromium: run by scripts/test"]
fn a_clerk_works_offline_in_the_browser_and_everything_reaches_the_hub_by_itself()
-> anyhow::Result<()> {
    let root = workspace();
    let dist = root.join("pwa/dist");
    if !dist.join("index.html").exists() || !root.join("pwa/node_modules").exists() {
        bail!("build the web app first (scripts/test does: wasm, npm ci, vite build)");
    }
    let artifacts = root.join("target/browser-artifacts");
    // Only this run's screenshots, so none is mistaken for a new one.
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts)?;
    let mut hub = HubProcess::start(HubOptions {
        demo: true,
        args: vec!["--pwa".into(), dist.to_string_lossy().into()],
        ..HubOptions::default()
    })?;
    println!("hub: {}  screenshots: {}", hub.url, artifacts.display());

    let mut node = Command::new("node")
        .arg("tests/e2e.mjs")
        .current_dir(root.join("pwa"))
        .env("HUB_URL", &hub.url)
        .env("ARTIFACTS", &artifacts)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting node (is Node.js installed?)")?;
    let mut answer = node.stdin.take().context("node stdin")?;
    let lines = BufReader::new(node.stdout.take().context("node stdout")?).lines();
    let mut checked = 0;
    for line in lines {
        let line = line?;
        println!("{line}");
        let reply = match line.trim() {
            "@hub stop" => {
                hub.kill();
                "ok".to_string()
            }
            "@hub start" => {
                hub.restart()?;
                "ok".to_string()
            }
            l if l.starts_with("@check ") => match check_at_hub(&hub, &l["@check ".len()..]) {
                Ok(()) => {
                    checked += 1;
                    "ok".to_string()
                }
                Err(e) => format!("fail {e:#}"),
            },
            _ => continue,
        };
        writeln!(answer, "{reply}")?;
        answer.flush()?;
    }
    let status = node.wait()?;
    if !status.success() {
        bail!(
            "the browser test failed ({status}); screenshots in {}",
            artifacts.display()
        );
    }
    assert!(
        checked > 0,
        "the script never asked the hub to confirm anything"
    );
    Ok(())
}
