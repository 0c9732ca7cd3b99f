//! Backup and restore of a hub: real hub processes, real devices through the
//! CLI, real backup files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use motcua_tests::hub::TempDir;
use motcua_tests::{Device, HubOptions, HubProcess, eventually, motcua, motcua_json};
use serde_json::Value;

fn demo_hub(args: &[&str]) -> HubProcess {
    HubProcess::start(HubOptions {
        demo: true,
        args: args.iter().map(|a| a.to_string()).collect(),
        ..HubOptions::default()
    })
    .expect("hub starts")
}

fn backup(hub: &HubProcess, to: &Path) -> anyhow::Result<Value> {
    hub.admin(&["backup", "--to", &to.to_string_lossy()])
}

/// `motcua admin restore`; Err carries its stderr.
fn restore(file: &Path, data: &Path, force: bool) -> anyhow::Result<Value> {
    restore_with(file, data, force, &[])
}

fn restore_with(file: &Path, data: &Path, force: bool, extra: &[&str]) -> anyhow::Result<Value> {
    let file = file.to_string_lossy().to_string();
    let data = data.to_string_lossy().to_string();
    let mut args = vec!["admin", "--data", &data, "restore", &file];
    if force {
        args.push("--force");
    }
    args.extend_from_slice(extra);
    motcua_json(&args)
}

/// Every dossier a device holds, as it shows it (without replica-local
/// fields), by code.
fn dossiers(device: &Device) -> anyhow::Result<std::collections::BTreeMap<String, Value>> {
    let mut out = std::collections::BTreeMap::new();
    for d in device.list()? {
        let code = d["code"].as_str().context("code")?.to_string();
        let mut shown = device.show(&code)?;
        shown.as_object_mut().map(|o| o.remove("doc_id"));
        out.insert(code, shown);
    }
    Ok(out)
}

fn error_of(result: anyhow::Result<Value>) -> String {
    match result {
        Ok(v) => panic!("expected a refusal, got {v}"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn a_hub_restored_from_a_backup_of_it_running_gets_back_everything_devices_synced_after()
-> anyhow::Result<()> {
    let mut hub = demo_hub(&[]);
    let a = hub.enrol_device("X0101")?;
    let b = hub.enrol_device("X0101")?;
    let c = hub.enrol_device("X0101")?;
    let a1 = a.receive("1.004873", "Nguyễn Văn An")?;
    let b1 = b.receive("2.000815", "Trần Thị Bình")?;
    a.sync()?;
    b.sync()?;
    assert_eq!(a.sync()?["resumed"], true, "a later sync resumes");

    // The backup is taken while the hub serves a device that keeps pushing.
    let files = TempDir::new("backups");
    let file = files.path().join("hub.tar");
    let writer = std::thread::spawn(move || -> anyhow::Result<Device> {
        for n in 0..3 {
            c.receive("1.001193", &format!("Lê Thị Cúc {n}"))?;
            c.sync()?;
        }
        Ok(c)
    });
    let manifest = backup(&hub, &file)?;
    let c = writer.join().expect("writer thread")?;
    assert_eq!(manifest["product"], "motcua");
    assert!(manifest["documents"].as_u64().context("documents")? >= 2);
    assert_eq!(
        manifest["database"]["sha256"].as_str().map(str::len),
        Some(64)
    );

    // Work goes on after the backup: new dossiers, and edits by one device
    // on top of the other's, all synced to the hub.
    let a2 = a.receive("1.001193", "Phạm Văn Dũng")?;
    a.stage(&b1, "processing")?;
    a.sync()?;
    b.sync()?;
    b.stage(&a2, "processing")?;
    b.stage(&a1, "processing")?;
    let b2 = b.receive("2.000815", "Hoàng Thị Em")?;
    b.sync()?;
    a.sync()?;
    c.sync()?;
    let before = hub.heads(None)?;
    let everything = dossiers(&a)?;
    assert_eq!(everything.len(), 7);
    assert_eq!(dossiers(&b)?, everything);
    for code in [&a1, &a2, &b1, &b2] {
        assert!(everything.contains_key(code));
    }

    // The hub is stopped and its database replaced by the backup.
    hub.kill();
    let restored = restore(&file, hub.data.path(), true)?;
    let new_hub_id = restored["hub_id"].as_str().context("hub_id")?.to_string();
    assert_ne!(Value::String(new_hub_id), manifest["hub_id"]);
    assert!(
        restored["replaced"].is_string(),
        "the old database was kept"
    );
    hub.restart()?;
    assert_ne!(hub.heads(None)?, before, "the backup lacks the later work");

    // Each device finds a hub of another epoch: it catches up in full,
    // reconciles, and pushes what the hub lost, its own changes and those
    // it had received from the others.
    let report = a.sync()?;
    assert_eq!(report["resumed"], false, "{report}");
    assert!(
        report["repaired"].as_u64().context("repaired")? > 0,
        "{report}"
    );
    assert_eq!(report["refused"], serde_json::json!([]), "{report}");
    assert_eq!(report["in_sync"], true, "{report}");
    for device in [&b, &c] {
        let report = device.sync()?;
        assert_eq!(report["resumed"], false, "{report}");
        assert_eq!(report["refused"], serde_json::json!([]), "{report}");
    }
    let again = a.sync()?;
    assert_eq!(
        again["resumed"], true,
        "the new epoch's checkpoint is trusted"
    );
    assert_eq!(again["repaired"], 0);

    // Nothing is lost on either side.
    assert_eq!(hub.heads(None)?, before);
    for device in [&a, &b, &c] {
        assert_eq!(device.heads(None)?, before);
        assert_eq!(dossiers(device)?, everything);
    }
    assert_eq!(hub.admin(&["quarantine"])?, serde_json::json!([]));
    Ok(())
}

#[test]
fn once_the_recovery_window_is_over_a_device_may_push_only_its_own_changes() -> anyhow::Result<()> {
    let mut hub = demo_hub(&[]);
    let a = hub.enrol_device("X0101")?;
    let b = hub.enrol_device("X0101")?;
    let a1 = a.receive("1.004873", "Nguyễn Văn An")?;
    a.sync()?;
    b.sync()?;
    let files = TempDir::new("backups");
    let file = files.path().join("hub.tar");
    backup(&hub, &file)?;
    // After the backup, b's edit reaches a through the hub.
    b.stage(&a1, "processing")?;
    b.sync()?;
    a.sync()?;
    let before = hub.heads(None)?;

    hub.kill();
    restore_with(&file, hub.data.path(), true, &["--recovery-days", "0"])?;
    hub.restart()?;
    // a holds b's change, but may not sign for b: refused, kept on a.
    let report = a.sync()?;
    assert_eq!(report["resumed"], false);
    let refused = report["refused"].as_array().context("refused")?;
    assert_eq!(refused.len(), 1, "{report}");
    assert!(
        refused[0]
            .as_str()
            .is_some_and(|r| r.contains("foreign_actor")),
        "{report}"
    );
    assert_ne!(hub.heads(None)?, before);
    // b brings its own change back.
    let report = b.sync()?;
    assert_eq!(report["refused"], serde_json::json!([]), "{report}");
    assert_eq!(hub.heads(None)?, before);
    Ok(())
}

/// A backup of a demo hub with one dossier, and the hub (still running).
fn hub_with_backup(files: &TempDir) -> anyhow::Result<(HubProcess, PathBuf)> {
    let hub = demo_hub(&[]);
    let a = hub.enrol_device("X0101")?;
    a.receive("1.004873", "Nguyễn Văn An")?;
    a.sync()?;
    let file = files.path().join("hub.tar");
    backup(&hub, &file)?;
    Ok((hub, file))
}

fn db_in(dir: &Path) -> PathBuf {
    dir.join("motcua.sqlite")
}

#[test]
fn a_backup_with_a_damaged_byte_is_refused_and_nothing_is_written() -> anyhow::Result<()> {
    let files = TempDir::new("backups");
    let (_hub, file) = hub_with_backup(&files)?;
    let mut bytes = std::fs::read(&file)?;
    // Past the manifest, inside the database.
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    let damaged = files.path().join("damaged.tar");
    std::fs::write(&damaged, &bytes)?;
    let target = TempDir::new("restore");
    let message = error_of(restore(&damaged, target.path(), false));
    assert!(message.contains("checksum"), "{message}");
    assert!(message.contains("restore another backup"), "{message}");
    assert!(!db_in(target.path()).exists());
    assert!(
        std::fs::read_dir(target.path())?.next().is_none(),
        "nothing left behind"
    );
    Ok(())
}

#[test]
fn a_backup_cut_short_is_refused_and_nothing_is_written() -> anyhow::Result<()> {
    let files = TempDir::new("backups");
    let (_hub, file) = hub_with_backup(&files)?;
    let bytes = std::fs::read(&file)?;
    let cut = files.path().join("cut.tar");
    for keep in [bytes.len() * 2 / 3, 700, 100] {
        std::fs::write(&cut, &bytes[..keep])?;
        let target = TempDir::new("restore");
        let message = error_of(restore(&cut, target.path(), false));
        assert!(
            message.contains("cut short or damaged"),
            "{keep} bytes: {message}"
        );
        assert!(!db_in(target.path()).exists());
    }
    Ok(())
}

#[test]
fn a_backup_from_a_newer_schema_is_refused_naming_the_version_to_use() -> anyhow::Result<()> {
    let files = TempDir::new("backups");
    let (_hub, file) = hub_with_backup(&files)?;
    let mut bytes = std::fs::read(&file)?;
    // The manifest is the first entry, as text: give it a newer schema of
    // the same length (the manifest's own tar header does not cover it).
    let key = b"\"schema_version\": ";
    let at = bytes
        .windows(key.len())
        .position(|w| w == key)
        .context("schema_version in the manifest")?
        + key.len();
    let digits = bytes[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let version: u64 = std::str::from_utf8(&bytes[at..at + digits])?.parse()?;
    let newer = "9".repeat(digits);
    assert!(newer.parse::<u64>()? > version);
    bytes[at..at + digits].copy_from_slice(newer.as_bytes());
    let key = b"\"product_version\": \"";
    let at = bytes
        .windows(key.len())
        .position(|w| w == key)
        .context("product_version")?
        + key.len();
    bytes[at] = b'9';
    let newer_file = files.path().join("newer.tar");
    std::fs::write(&newer_file, &bytes)?;
    let target = TempDir::new("restore");
    let message = error_of(restore(&newer_file, target.path(), false));
    assert!(message.contains(&format!("schema {newer}")), "{message}");
    assert!(message.contains("or later"), "{message}");
    assert!(!db_in(target.path()).exists());
    Ok(())
}

#[test]
fn a_restore_onto_a_hubs_data_needs_force_and_the_hub_stopped_and_keeps_the_old_database()
-> anyhow::Result<()> {
    let files = TempDir::new("backups");
    let (mut hub, file) = hub_with_backup(&files)?;
    let a = hub.enrol_device("X0101")?;
    a.receive("1.001193", "Lê Thị Cúc")?;
    a.sync()?;
    let current = hub.heads(None)?;

    let message = error_of(restore(&file, hub.data.path(), false));
    assert!(message.contains("--force"), "{message}");
    let message = error_of(restore(&file, hub.data.path(), true));
    assert!(message.contains("stop the hub"), "{message}");
    assert_eq!(
        hub.heads(None)?,
        current,
        "the running hub's data is untouched"
    );

    hub.kill();
    let restored = restore(&file, hub.data.path(), true)?;
    let aside = PathBuf::from(restored["replaced"].as_str().context("replaced")?);
    assert!(db_in(&aside).exists());
    hub.restart()?;
    assert_ne!(hub.heads(None)?, current);
    // The database moved aside is the one the hub had.
    let data = aside.to_string_lossy().to_string();
    let documents = motcua_json(&["admin", "--data", &data, "documents"])?;
    let old_heads: std::collections::BTreeMap<String, Value> = documents
        .as_object()
        .context("documents")?
        .iter()
        .map(|(id, d)| (id.clone(), d["heads"].clone()))
        .collect();
    assert_eq!(old_heads, current);
    Ok(())
}

#[test]
fn a_hub_backs_itself_up_on_schedule_and_keeps_only_the_newest() -> anyhow::Result<()> {
    let dir = TempDir::new("scheduled");
    let backups = dir.path().to_string_lossy().to_string();
    // Something else in the directory is never pruned.
    std::fs::write(dir.path().join("notes.txt"), "kept")?;
    let hub = demo_hub(&[
        "--backup-dir",
        &backups,
        "--backup-every",
        "1s",
        "--backup-keep",
        "2",
    ]);
    let a = hub.enrol_device("X0101")?;
    a.receive("1.004873", "Nguyễn Văn An")?;
    a.sync()?;
    let list = || -> anyhow::Result<Vec<PathBuf>> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir.path())?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "tar"))
            .collect();
        names.sort();
        Ok(names)
    };
    // Backups made from now on hold the dossier; some are made and the
    // oldest deleted.
    let initial = list()?;
    let mut seen = std::collections::BTreeSet::new();
    eventually(Duration::from_secs(60), || {
        let names = list()?;
        // A new backup is in place a moment before the oldest is deleted.
        assert!(names.len() <= 3, "pruned to two: {names:?}");
        seen.extend(names.iter().cloned());
        Ok(names.len() == 2 && names.iter().all(|n| !initial.contains(n)) && seen.len() > 2)
    })?;
    assert!(dir.path().join("notes.txt").exists());
    // A copy, since the hub goes on pruning.
    let newest = files_copy(&list()?.pop().context("a backup")?)?;
    let target = TempDir::new("restore");
    let restored = restore(&newest.path().join("newest.tar"), target.path(), false)?;
    assert!(
        restored["manifest"]["documents"]
            .as_u64()
            .context("documents")?
            >= 1
    );
    let data = target.path().to_string_lossy().to_string();
    let documents = motcua_json(&["admin", "--data", &data, "documents"])?;
    assert_eq!(documents, hub.admin(&["documents"])?);
    let _ = motcua(&["admin", "--data", &data, "verify"])?;
    Ok(())
}

fn files_copy(file: &Path) -> anyhow::Result<TempDir> {
    let dir = TempDir::new("copy");
    std::fs::copy(file, dir.path().join("newest.tar"))?;
    Ok(dir)
}
