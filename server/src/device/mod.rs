//! The native device: a replica in `<data>/device.sqlite`, the operations
//! a clerk performs on it offline, and the connection that syncs it.
//!
//! - [`storage`]: client-core's replica storage on SQLite.
//! - [`client`]: the WebSocket driver around the sans-IO device engine,
//!   once or continuously with back-off.
//!
//! Several `motcua` processes may use one data directory at once (a
//! `sync --watch` in the background while a clerk runs `dossier receive`):
//! every operation holds an exclusive lock on `<data>/device.lock` and
//! reloads the replica when another process has written since.

pub mod client;
pub mod storage;

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use automerge::ActorId;
use client_core::codes::CodeIssuer;
use client_core::ids::UnitCode;
use client_core::sync::replica::DeviceReplica;
use storage::SqliteStorage;

pub type Replica = DeviceReplica<SqliteStorage>;

/// Settings a device keeps about itself.
pub mod keys {
    pub const ACTOR: &str = "actor";
    pub const TOKEN: &str = "token";
    pub const SERVER: &str = "server";
    pub const CA_CERT: &str = "ca_cert";
    pub const DEVICE_ID: &str = "device_id";
    pub const UNIT: &str = "unit";
    pub const CODE_SLOTS: &str = "code_slots";
    pub const USER: &str = "user";
}

pub struct Device {
    dir: PathBuf,
    replica: Replica,
    version: i64,
}

impl Device {
    /// Opens (creating on first use) the replica in `dir`. A new device gets
    /// a random Automerge actor, kept for good.
    pub fn open(dir: &Path) -> anyhow::Result<Device> {
        let _lock = lock(dir)?;
        let storage = SqliteStorage::open(dir)?;
        let actor = match storage.setting(keys::ACTOR)? {
            Some(hex) => {
                ActorId::from(hex::decode(&hex).context("the stored actor id is damaged")?)
            }
            None => {
                let actor = ActorId::random();
                storage.set_setting(keys::ACTOR, &actor.to_hex_string())?;
                actor
            }
        };
        let version = storage.data_version()?;
        let replica = DeviceReplica::open(storage, actor).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Device {
            dir: dir.to_path_buf(),
            replica,
            version,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `f` on the replica while holding the device lock, after
    /// reloading what other processes wrote.
    pub fn with<T>(&mut self, f: impl FnOnce(&mut Replica) -> T) -> anyhow::Result<T> {
        let _lock = lock(&self.dir)?;
        let version = self.replica.storage().data_version()?;
        if version != self.version {
            let storage = SqliteStorage::open(&self.dir)?;
            let actor = self.replica.actor().clone();
            self.replica =
                DeviceReplica::open(storage, actor).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let out = f(&mut self.replica);
        self.version = self.replica.storage().data_version()?;
        Ok(out)
    }

    /// Whether another process wrote since this one last looked.
    pub fn changed_elsewhere(&self) -> anyhow::Result<bool> {
        Ok(self.replica.storage().data_version()? != self.version)
    }

    pub fn actor(&self) -> &ActorId {
        self.replica.actor()
    }

    pub fn setting(&self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self.replica.storage().setting(key)?)
    }

    pub fn set_setting(&mut self, key: &str, value: &str) -> anyhow::Result<()> {
        self.with(|r| r.storage().set_setting(key, value))??;
        Ok(())
    }

    /// The unit this device was enrolled for.
    pub fn unit(&self) -> anyhow::Result<UnitCode> {
        let Some(unit) = self.setting(keys::UNIT)? else {
            bail!(
                "this device has not been enrolled yet: run `motcua enrol` or sync once with its token"
            );
        };
        Ok(UnitCode::parse(&unit)?)
    }

    /// Issues dossier codes from the slots the hub assigned.
    pub fn code_issuer(&self) -> anyhow::Result<CodeIssuer> {
        let unit = self.unit()?;
        let slots: Vec<u8> = serde_json::from_str(
            &self
                .setting(keys::CODE_SLOTS)?
                .unwrap_or_else(|| "[]".into()),
        )?;
        Ok(client_core::counter::code_issuer(unit, &slots)?)
    }
}

fn lock(dir: &Path) -> anyhow::Result<File> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("device.lock"))?;
    file.lock().context("locking the device replica")?;
    Ok(file)
}
