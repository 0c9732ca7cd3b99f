//! Backups of a hub's database, and restoring one.
//!
//! A backup is one tar file: `manifest.json` first, then `motcua.sqlite`.
//! A tar keeps the manifest and the database together in a single file that
//! an operator can copy, list (`tar tf`) and unpack with standard tools, and
//! the manifest can be read before the (large) database is. The manifest
//! names the build and schema that wrote the database, when, how many
//! documents it holds, and the SHA-256 of the database file, so a restore
//! can refuse a damaged, cut or too-new file before anything is replaced.
//!
//! The copy is made with `VACUUM INTO` on a read-only connection: one read
//! transaction, so it is a consistent snapshot of a live hub (which keeps
//! writing in WAL mode meanwhile); copying the files of a WAL database could
//! miss committed pages or tear a transaction.
//!
//! A restored database gets a new hub id (the store's epoch): devices and
//! hubs below hold checkpoints of the old one, which may be ahead of what
//! the backup holds, so they are not resumed and every device catches up in
//! full and reconciles ([`crate::store::Store::hub_id`]).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::{DB_FILE, Store, now_ms, random_bytes};

/// The layout of the backup file itself (tar with a manifest and a database).
pub const FORMAT: u32 = 1;
const PRODUCT: &str = "motcua";
const MANIFEST: &str = "manifest.json";
/// File names of scheduled backups: `motcua-backup-<UTC time>.tar`.
const SCHEDULED_PREFIX: &str = "motcua-backup-";
/// Meta key: until when (ms) a restored hub accepts changes that other
/// devices of this hub signed ([`Store::in_recovery`]).
pub const RECOVERY_UNTIL: &str = "recovery_until";
/// How long after a restore devices may bring back one another's changes,
/// unless the restore says otherwise: long enough for a tablet that was off
/// for a holiday to come back.
pub const RECOVERY_DAYS: u32 = 30;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Refused(String),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] super::StoreError),
}

type Result<T> = std::result::Result<T, BackupError>;

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> BackupError + 'a {
    move |source| BackupError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// What a backup says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub product: String,
    /// The `motcua` version that made the backup.
    pub product_version: String,
    /// `PRAGMA user_version` of the database (the store's schema version).
    pub schema_version: u32,
    /// `meta.index_version` of the database (the index tables' layout).
    pub index_version: u32,
    /// The hub (epoch) the database belonged to when it was copied.
    pub hub_id: String,
    /// When the copy was taken: RFC 3339, UTC.
    pub created_at: String,
    pub documents: u64,
    /// The hub's change sequence number at the time of the copy.
    pub last_seq: u64,
    pub database: DatabaseEntry,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseEntry {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Writes a consistent copy of the hub database in `data_dir` to `to`
/// (a tar file), while the hub may keep serving. The file appears only
/// once complete: it is written beside `to` and renamed.
pub fn backup(data_dir: &Path, to: &Path) -> Result<Manifest> {
    let source = data_dir.join(DB_FILE);
    if !source.exists() {
        return Err(BackupError::Refused(format!(
            "there is no hub database in {} (expected {DB_FILE})",
            data_dir.display()
        )));
    }
    let dir = to
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "backup".into());
    let copy = dir.join(format!(".{name}.sqlite.partial"));
    let partial = dir.join(format!(".{name}.partial"));
    let _ = std::fs::remove_file(&copy);
    let result = (|| {
        let taken_at = chrono::Utc::now();
        {
            let conn = Connection::open_with_flags(
                &source,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(Duration::from_secs(30))?;
            conn.execute("VACUUM INTO ?1", [copy.to_string_lossy()])?;
        }
        sync_file(&copy)?;
        let manifest = describe(&copy, taken_at)?;
        let file = std::fs::File::create(&partial).map_err(io("cannot write", &partial))?;
        let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
        let json = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
        let mut header = tar::Header::new_gnu();
        header.set_size(json.len() as u64);
        header.set_mode(0o600);
        header.set_mtime((now_ms() / 1000) as u64);
        header.set_cksum();
        tar.append_data(&mut header, MANIFEST, json.as_slice())
            .map_err(io("cannot write", &partial))?;
        tar.append_path_with_name(&copy, DB_FILE)
            .map_err(io("cannot write", &partial))?;
        let file = tar
            .into_inner()
            .map_err(io("cannot write", &partial))?
            .into_inner()
            .map_err(|e| BackupError::Io {
                what: "cannot write",
                path: partial.clone(),
                source: e.into_error(),
            })?;
        file.sync_all().map_err(io("cannot write", &partial))?;
        drop(file);
        std::fs::rename(&partial, to).map_err(io("cannot write", to))?;
        sync_dir(dir);
        Ok(manifest)
    })();
    let _ = std::fs::remove_file(&copy);
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// The manifest of a database copy, read from the copy itself.
fn describe(copy: &Path, taken_at: chrono::DateTime<chrono::Utc>) -> Result<Manifest> {
    let (schema_version, index_version, hub_id, documents, last_seq) = {
        let conn = Connection::open_with_flags(copy, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let meta = |key: &str| -> rusqlite::Result<Option<String>> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
        };
        let seq: Option<i64> = conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'changes'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        (
            conn.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))?,
            meta("index_version")?
                .and_then(|v| v.parse().ok())
                .unwrap_or(1),
            meta("hub_id")?.unwrap_or_default(),
            conn.query_row("SELECT COUNT(*) FROM documents", [], |r| r.get::<_, i64>(0))? as u64,
            seq.unwrap_or(0) as u64,
        )
    };
    let (bytes, sha256) = hash_file(copy)?;
    Ok(Manifest {
        format: FORMAT,
        product: PRODUCT.into(),
        product_version: env!("CARGO_PKG_VERSION").into(),
        schema_version,
        index_version,
        hub_id,
        created_at: taken_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        documents,
        last_seq,
        database: DatabaseEntry {
            file: DB_FILE.into(),
            bytes,
            sha256,
        },
    })
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub manifest: Manifest,
    /// The new hub id (epoch) of the restored store.
    pub hub_id: String,
    /// Where the database that was replaced went (with `force`).
    pub replaced: Option<PathBuf>,
}

/// Restores the backup `file` into `data_dir`. Refuses a damaged, cut or
/// too-new file, and a data directory that already holds a database unless
/// `force` (the old database is then moved aside, never deleted). The hub
/// must not be running on `data_dir`. For `recovery_days` devices may push
/// changes of other devices of the hub ([`Store::in_recovery`]).
pub fn restore(file: &Path, data_dir: &Path, force: bool, recovery_days: u32) -> Result<Restored> {
    let existing: Vec<PathBuf> = db_files(data_dir)
        .into_iter()
        .filter(|p| p.exists())
        .collect();
    if !existing.is_empty() && !force {
        return Err(BackupError::Refused(format!(
            "{} already holds a hub database; stop the hub and run the restore again with --force \
             to replace it (the current database is moved aside, not deleted)",
            data_dir.display()
        )));
    }
    if !existing.is_empty() {
        ensure_not_in_use(&data_dir.join(DB_FILE))?;
    }
    std::fs::create_dir_all(data_dir).map_err(io("cannot create", data_dir))?;
    let staged = data_dir.join(format!("{DB_FILE}.restoring"));
    let _ = std::fs::remove_file(&staged);
    let result = (|| {
        let manifest = unpack(file, &staged)?;
        let hub_id = check_and_new_epoch(&staged, &manifest, recovery_days)?;
        let replaced = if existing.is_empty() {
            None
        } else {
            let aside = data_dir.join(format!(
                "before-restore-{}",
                chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
            ));
            std::fs::create_dir_all(&aside).map_err(io("cannot create", &aside))?;
            // Listed again: closing the check's connection may have
            // checkpointed the WAL into the database and removed it.
            for path in db_files(data_dir).iter().filter(|p| p.exists()) {
                let to = aside.join(path.file_name().expect("a database file has a name"));
                std::fs::rename(path, &to).map_err(io("cannot move aside", path))?;
            }
            Some(aside)
        };
        std::fs::rename(&staged, data_dir.join(DB_FILE)).map_err(io("cannot move", &staged))?;
        sync_dir(data_dir);
        Ok(Restored {
            manifest,
            hub_id,
            replaced,
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    result
}

/// Reads the manifest and writes the database to `to`, checking its length
/// and checksum against the manifest.
fn unpack(file: &Path, to: &Path) -> Result<Manifest> {
    let damaged = |what: String| {
        BackupError::Refused(format!(
            "{} is not a complete motcua backup ({what}); it was cut short or damaged: \
             restore another backup",
            file.display()
        ))
    };
    let reader = std::fs::File::open(file).map_err(io("cannot open", file))?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(reader));
    let mut entries = archive
        .entries()
        .map_err(|e| damaged(format!("unreadable: {e}")))?;
    let mut json = Vec::new();
    next_entry(&mut entries, MANIFEST, &damaged)?
        .take(1024 * 1024)
        .read_to_end(&mut json)
        .map_err(|e| damaged(format!("the manifest is unreadable: {e}")))?;
    let manifest: Manifest = serde_json::from_slice(&json)
        .map_err(|e| damaged(format!("the manifest does not parse: {e}")))?;
    check_versions(&manifest)?;
    let mut entry = next_entry(&mut entries, DB_FILE, &damaged)?;
    let out = std::fs::File::create(to).map_err(io("cannot write", to))?;
    let mut out = HashingWriter::new(std::io::BufWriter::new(out));
    std::io::copy(&mut entry, &mut out).map_err(|e| damaged(format!("the database: {e}")))?;
    let (bytes, sha256, out) = out.finish();
    let out = out.into_inner().map_err(|e| BackupError::Io {
        what: "cannot write",
        path: to.to_path_buf(),
        source: e.into_error(),
    })?;
    out.sync_all().map_err(io("cannot write", to))?;
    if bytes != manifest.database.bytes {
        return Err(damaged(format!(
            "the database has {bytes} bytes, the manifest says {}",
            manifest.database.bytes
        )));
    }
    if sha256 != manifest.database.sha256 {
        return Err(damaged(
            "the database's SHA-256 checksum does not match the manifest".into(),
        ));
    }
    Ok(manifest)
}

/// The next entry of a backup, which must be `want`.
fn next_entry<'a, R: Read>(
    entries: &mut tar::Entries<'a, R>,
    want: &str,
    damaged: &dyn Fn(String) -> BackupError,
) -> Result<tar::Entry<'a, R>> {
    let entry = entries
        .next()
        .ok_or_else(|| damaged(format!("{want} is missing")))?
        .map_err(|e| damaged(format!("unreadable: {e}")))?;
    let path = entry
        .path()
        .map_err(|e| damaged(format!("unreadable: {e}")))?
        .to_string_lossy()
        .to_string();
    if path != want {
        return Err(damaged(format!("found {path} where {want} belongs")));
    }
    Ok(entry)
}

/// Refuses a backup this build cannot open: another product, a newer file
/// format, or a database schema newer than this build's.
fn check_versions(manifest: &Manifest) -> Result<()> {
    if manifest.product != PRODUCT {
        return Err(BackupError::Refused(format!(
            "this is a backup of '{}', not of a motcua hub",
            manifest.product
        )));
    }
    let (schema, index) = supported_versions()?;
    if manifest.format > FORMAT
        || manifest.schema_version > schema
        || manifest.index_version > index
    {
        return Err(BackupError::Refused(format!(
            "this backup was made by motcua {} (backup format {}, schema {}, index {}); this motcua \
             {} reads up to format {FORMAT}, schema {schema}, index {index}: restore it with \
             motcua {} or later",
            manifest.product_version,
            manifest.format,
            manifest.schema_version,
            manifest.index_version,
            env!("CARGO_PKG_VERSION"),
            manifest.product_version,
        )));
    }
    Ok(())
}

/// The schema and index versions this build writes.
fn supported_versions() -> Result<(u32, u32)> {
    Ok((
        super::migrations::SCHEMA_VERSION,
        super::index::INDEX_VERSION,
    ))
}

/// Checks the unpacked database and gives it a new epoch: a new hub id, a
/// new actor for the hub's own changes (the old one may have signed changes
/// after the backup that devices hold; reusing its sequence numbers would
/// make two different changes with one identity), and a recovery window.
fn check_and_new_epoch(db: &Path, manifest: &Manifest, recovery_days: u32) -> Result<String> {
    let refuse = |what: String| {
        BackupError::Refused(format!(
            "the database in the backup is damaged ({what}): restore another backup"
        ))
    };
    let conn = Connection::open(db).map_err(|e| refuse(e.to_string()))?;
    let check: String = conn
        .query_row("PRAGMA integrity_check(1)", [], |r| r.get(0))
        .map_err(|e| refuse(e.to_string()))?;
    if check != "ok" {
        return Err(refuse(check));
    }
    let documents = conn
        .query_row("SELECT COUNT(*) FROM documents", [], |r| r.get::<_, i64>(0))
        .map_err(|e| refuse(e.to_string()))? as u64;
    if documents != manifest.documents {
        return Err(refuse(format!(
            "{documents} documents, the manifest says {}",
            manifest.documents
        )));
    }
    let hub_id = hex::encode(random_bytes::<16>());
    let tx = conn.unchecked_transaction()?;
    for (key, value) in [
        ("hub_id", hub_id.clone()),
        ("hub_actor", hex::encode(random_bytes::<16>())),
        ("restored_from_hub", manifest.hub_id.clone()),
        ("restored_backup_at", manifest.created_at.clone()),
        ("restored_at", now_ms().to_string()),
        (
            RECOVERY_UNTIL,
            (now_ms() + i64::from(recovery_days) * 86_400_000).to_string(),
        ),
    ] {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )?;
    }
    tx.commit()?;
    drop(conn);
    sync_file(db)?;
    Ok(hub_id)
}

/// Refuses to replace a database that a running hub has open.
fn ensure_not_in_use(db: &Path) -> Result<()> {
    if !db.exists() {
        return Ok(());
    }
    // A damaged database that does not even open is not in use either.
    let Ok(conn) = Connection::open(db) else {
        return Ok(());
    };
    let locked = conn
        .execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;")
        .err()
        .is_some_and(|e| {
            matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            )
        });
    if locked {
        return Err(BackupError::Refused(format!(
            "{} is in use (is the hub still running?): stop the hub before restoring",
            db.display()
        )));
    }
    Ok(())
}

/// The database and its WAL files: a WAL left beside another database
/// would be replayed into it.
fn db_files(data_dir: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| data_dir.join(format!("{DB_FILE}{suffix}")))
        .collect()
}

/// Backs up the hub in `data_dir` into `dir` every `every`, keeping the
/// newest `keep` scheduled backups there; runs on its own thread for the
/// life of the process. A failed backup is logged and tried again at the
/// next interval.
pub fn schedule(
    data_dir: PathBuf,
    dir: PathBuf,
    every: Duration,
    keep: usize,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("motcua-backup".into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                match scheduled_backup(&data_dir, &dir, keep) {
                    Ok((path, manifest)) => tracing::info!(
                        "backup {} written ({} documents)",
                        path.display(),
                        manifest.documents
                    ),
                    Err(e) => {
                        tracing::error!("scheduled backup into {} failed: {e}", dir.display())
                    }
                }
            }
        })?;
    Ok(())
}

/// One scheduled backup, then the pruning of the oldest beyond `keep`.
pub fn scheduled_backup(data_dir: &Path, dir: &Path, keep: usize) -> Result<(PathBuf, Manifest)> {
    let name = format!(
        "{SCHEDULED_PREFIX}{}.tar",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
    );
    let path = dir.join(name);
    let manifest = backup(data_dir, &path)?;
    prune(dir, keep.max(1))?;
    Ok((path, manifest))
}

/// Deletes the oldest scheduled backups in `dir` beyond the newest `keep`
/// (only files named as scheduled backups; anything else is left alone).
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>> {
    let mut backups: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io("cannot read", dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(SCHEDULED_PREFIX) && n.ends_with(".tar"))
        })
        .collect();
    // The UTC time in the name sorts as the time does.
    backups.sort();
    let old = backups.len().saturating_sub(keep);
    let removed: Vec<PathBuf> = backups.into_iter().take(old).collect();
    for path in &removed {
        std::fs::remove_file(path).map_err(io("cannot delete", path))?;
    }
    Ok(removed)
}

impl Store {
    /// Whether this hub was restored from a backup recently enough that
    /// devices may still be bringing back changes it had accepted before the
    /// restore (including other devices' changes they received from it).
    pub fn in_recovery(&self) -> super::Result<bool> {
        Ok(self
            .meta(RECOVERY_UNTIL)?
            .and_then(|v| v.parse::<i64>().ok())
            .is_some_and(|until| now_ms() < until))
    }
    /// The actors a device may bring changes of while the hub is in
    /// recovery: every actor bound to a device of this hub, since the hub
    /// may have accepted their changes before the restore and sent them to
    /// other devices. Outside recovery, none: only a device's own actors
    /// may sign what it pushes.
    pub(super) fn recovery_actors(&self) -> super::Result<Vec<automerge::ActorId>> {
        if !self.in_recovery()? {
            return Ok(Vec::new());
        }
        self.read(|c| {
            let mut stmt = c.prepare("SELECT DISTINCT actor FROM device_actors")?;
            let actors = stmt
                .query_map([], |r| r.get::<_, Vec<u8>>(0))?
                .map(|a| a.map(automerge::ActorId::from))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(actors)
        })
    }
}

fn hash_file(path: &Path) -> Result<(u64, String)> {
    let mut file = std::fs::File::open(path).map_err(io("cannot read", path))?;
    let mut hasher = HashingWriter::new(std::io::sink());
    std::io::copy(&mut file, &mut hasher).map_err(io("cannot read", path))?;
    let (bytes, sha256, _) = hasher.finish();
    Ok((bytes, sha256))
}

struct HashingWriter<W> {
    inner: W,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: sha2::Sha256::new(),
            bytes: 0,
        }
    }

    fn finish(self) -> (u64, String, W) {
        (self.bytes, hex::encode(self.hasher.finalize()), self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io("cannot write", path))
}

fn sync_dir(dir: &Path) {
    // Makes the rename durable; not every platform can open a directory.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
