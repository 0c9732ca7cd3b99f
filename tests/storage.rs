//! The hub's database on real disks: a full one, and one from the first release.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use motcua_tests::hub::TempDir;
use motcua_tests::{HubOptions, HubProcess};

/// A small tmpfs mounted on a directory for the test's life.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Writes into `path` until the disk refuses.
fn fill(path: &Path) -> anyhow::Result<u64> {
    let mut file = std::fs::File::create(path)?;
    let chunk = vec![0x5Au8; 1 << 20];
    let mut written = 0;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => return Err(e.into()),
        }
    }
    let _ = file.sync_all();
    Ok(written)
}

fn codes(page: &serde_json::Value) -> Vec<String> {
    page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|d| d["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_full_disk_refuses_pushes_keeps_serving_reads_and_loses_nothing_acknowledged()
-> anyhow::Result<()> {
    let data = TempDir::new("full-disk");
    let _tmpfs = match Tmpfs::mount(data.path(), "160m") {
        Ok(t) => t,
        // As root (as the tests run in CI) the mount must work: its failure
        // is this test's failure, not a skip.
        Err(why) if is_root() => anyhow::bail!("cannot mount a tmpfs as root: {why}"),
        Err(why) => {
            // Straight to the process's stderr, past the harness's capture.
            let _ = writeln!(
                std::io::stderr().lock(),
                "skipped: a full disk is tested on a small tmpfs, which needs root to mount: {why}"
            );
            return Ok(());
        }
    };
    let mut hub = HubProcess::start_in(
        data,
        HubOptions {
            demo: true,
            ..HubOptions::default()
        },
    )?;
    let tablet = hub.enrol_device("X0101")?;
    let reader = hub.enrol_device("X0101")?;
    let clerk = hub.login("canbo.tanphong", "motcua2026")?;
    let first = tablet.receive("1.001193", "Nguyễn Văn An")?;
    tablet.sync()?;

    let filler = Path::new(&hub.data_dir()).join("filler");
    fill(&filler)?;
    let second = tablet.receive("1.001193", "Trần Thị Bình")?;
    let refused = tablet.sync().expect_err("a push to a full disk is refused");
    let refused = format!("{refused:#}");
    assert!(refused.contains("disk is full"), "{refused}");
    assert!(hub.is_running(), "the hub keeps running");

    // Reads go on: lists, the citizen's look-up, a device's catch-up.
    let (status, page) = hub.get("/api/dossiers", Some(&clerk))?;
    assert_eq!(status, 200, "{page}");
    assert!(codes(&page).contains(&first), "{page}");
    let (status, _) = hub.get(&format!("/api/public/dossiers/{first}"), None)?;
    assert_eq!(status, 200);
    let (status, _) = hub.get(&format!("/api/public/dossiers/{second}"), None)?;
    assert_eq!(status, 404, "the refused push was not stored");
    reader.sync().context("a catch-up on a full disk")?;
    let listed: Vec<String> = reader
        .list()?
        .iter()
        .filter_map(|d| d["code"].as_str().map(str::to_owned))
        .collect();
    assert!(listed.contains(&first), "{listed:?}");

    // Space comes back: the device's kept changes go up.
    std::fs::remove_file(&filler)?;
    let report = tablet.sync()?;
    assert_eq!(report["acknowledged"], 1, "{report}");
    hub.restart()?;
    for code in [&first, &second] {
        let (status, body) = hub.get(&format!("/api/public/dossiers/{code}"), None)?;
        assert_eq!(status, 200, "{code} after a restart: {body}");
    }
    reader.sync()?;
    assert_eq!(reader.list()?.len(), 2);
    Ok(())
}

#[test]
fn a_hub_serves_a_database_of_the_first_released_schema() -> anyhow::Result<()> {
    let data = TempDir::new("first-release");
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src/store/fixtures/schema-1.sqlite");
    std::fs::copy(&fixture, data.path().join("motcua.sqlite"))?;
    let hub = HubProcess::start_in(data, HubOptions::default())?;
    for code in ["X0101-261128-0001", "X0101-261128-0003"] {
        let (status, body) = hub.get(&format!("/api/public/dossiers/{code}"), None)?;
        assert_eq!(status, 200, "{code}: {body}");
        assert_eq!(body["code"], code, "{body}");
    }
    let token = hub.login("an.nv", "mat-khau-1")?;
    let (status, page) = hub.get("/api/dossiers", Some(&token))?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(codes(&page).len(), 3, "{page}");
    Ok(())
}

#[test]
fn a_hub_refuses_to_start_on_a_damaged_database_and_says_how_to_restore() -> anyhow::Result<()> {
    let data = TempDir::new("damaged");
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src/store/fixtures/schema-1.sqlite");
    let mut bytes = std::fs::read(fixture)?;
    bytes.truncate(bytes.len() / 3);
    let db = data.path().join("motcua.sqlite");
    std::fs::write(&db, &bytes)?;
    let dir = data.path().to_string_lossy().to_string();
    let out = Command::new(motcua_tests::hub::motcua_bin())
        .args(["serve", "--data", &dir, "--listen", "127.0.0.1:0"])
        .env("MOTCUA_LOG", "warn")
        .output()?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("damaged"), "{stderr}");
    assert!(stderr.contains("motcua admin restore"), "{stderr}");
    assert_eq!(
        std::fs::read(&db)?,
        bytes,
        "the damaged file is left as it was"
    );
    Ok(())
}
