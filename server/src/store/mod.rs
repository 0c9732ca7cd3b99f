//! The hub's storage: one SQLite database in WAL mode.
//!
//! This module is the narrow interface the rest of the hub uses; nothing
//! else touches SQL. A province hub that outgrows one machine would replace
//! what is behind it, not its callers.
//!
//! - [`documents`]: Automerge documents (snapshot + change rows), the
//!   hub-wide change sequence, compaction, and the [`HubStore`] the sync
//!   sessions run on.
//! - [`index`]: the dossier index tables, rewritten in the same transaction
//!   as their document, and the queries the HTTP API needs.
//! - [`identity`]: units, users, sessions, devices, enrolment, actors.
//! - [`audit`]: the audit log and the quarantine of refused data.
//! - [`backup`]: consistent backups of a live hub, restore with a new epoch.
//!
//! - [`committer`]: group commit of device pushes — many pushes, one
//!   transaction, one fsync.
//!
//! Writes go through one connection behind a mutex (SQLite has one writer
//! anyway, and the change sequence must be allocated in commit order);
//! reads use a small pool of their own connections.
//!
//! [`HubStore`]: client_core::sync::hub::HubStore

pub mod audit;
pub mod backup;
pub mod committer;
pub mod documents;
mod health;
pub mod identity;
pub mod index;
#[cfg(test)]
mod migration_tests;
pub mod migrations;
#[cfg(test)]
pub(crate) mod tests;
pub mod uplink;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use automerge::ActorId;
use client_core::calendar::WorkingCalendar;
use client_core::config::{self, ConfigKind};
use client_core::sync::hub::Committed;
use client_core::sync::protocol::HubId;
use client_core::units::UnitTree;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};

use crate::random::random_bytes;

pub use committer::GroupCommits;
pub use documents::DocCache;
pub use migrations::SCHEMA_VERSION;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "motcua.sqlite";
const READERS: usize = 4;
/// How long a connection waits for another's lock before giving up.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored document {doc} cannot be loaded: {message}")]
    Corrupt { doc: String, message: String },
    /// A request the caller may correct (the HTTP handlers' own checks).
    #[error("{0}")]
    Invalid(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// A stored value that does not read back: the row was damaged, or
    /// written by something else (`motcua admin verify` names index rows).
    #[error("{0}")]
    DamagedRecord(String),
    #[error("unit {0} does not exist")]
    UnknownUnit(client_core::ids::UnitCode),
    #[error(transparent)]
    BadUnitCode(#[from] client_core::ids::ParseError),
    #[error(transparent)]
    UnknownStage(#[from] client_core::stage::UnknownStage),
    #[error(transparent)]
    BadUnitTree(#[from] client_core::units::UnitTreeError),
    #[error("a username is letters, digits, '.', '_' or '-'")]
    BadUsername,
    #[error("a password needs at least 8 characters")]
    ShortPassword,
    #[error("cannot hash password: {0}")]
    PasswordHash(String),
    #[error("{what} {id} already exists")]
    Duplicate { what: &'static str, id: String },
    #[error("a device holds at most {max} code slots")]
    TooManyCodeSlots { max: u8 },
    #[error("unit {unit} has no free dossier code slot; revoke an unused device")]
    NoFreeCodeSlot { unit: String },
    #[error("this enrolment code {0}; ask an administrator for a new one")]
    Enrolment(EnrolmentRefusal),
    #[error("actor {actor} is already bound to another device")]
    ActorTaken { actor: String },
    #[error("document {0} is not a configuration document")]
    NotConfiguration(client_core::ids::DocId),
    #[error("configuration is published by the top hub; this hub receives it from {parent}")]
    NotTopHub { parent: String },
    /// A configuration document that could not be written out.
    #[error("{0}")]
    ConfigEncoding(String),
    #[error("the push could not be processed: {0}")]
    PushFailed(String),
    #[error("the database could not commit: {0}")]
    CommitFailed(String),
    #[error("the hub's store is shutting down")]
    Stopped,
    #[error("cannot create the data directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the database has schema version {found}, newer than the {known} this motcua knows: \
         it was written by a newer release; upgrade motcua to open it"
    )]
    NewerSchema { found: u32, known: u32 },
    #[error("the database could not be upgraded to schema version {version}: {source}")]
    Migration {
        version: u32,
        source: rusqlite::Error,
    },
    #[error(
        "the database {path} is damaged ({detail}) and was not opened. Stop the hub, move the \
         damaged file aside (with any -wal and -shm files beside it) and restore the latest \
         backup with `motcua admin restore FILE --data DIR`"
    )]
    Damaged { path: PathBuf, detail: String },
    #[error(
        "the hub's disk is full ({0}): it stores no changes until space is freed; devices keep \
         their changes and send them again"
    )]
    DiskFull(String),
}

/// Why an enrolment code is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EnrolmentRefusal {
    #[error("is not valid")]
    Unknown,
    #[error("was already used")]
    Used,
    #[error("has expired")]
    Expired,
}

impl StoreError {
    /// Whether the caller can correct the request (an HTTP 400), as opposed
    /// to a missing thing or a failure of the hub itself.
    pub fn is_bad_request(&self) -> bool {
        matches!(
            self,
            StoreError::Invalid(_)
                | StoreError::DamagedRecord(_)
                | StoreError::UnknownUnit(_)
                | StoreError::BadUnitCode(_)
                | StoreError::UnknownStage(_)
                | StoreError::BadUnitTree(_)
                | StoreError::BadUsername
                | StoreError::ShortPassword
                | StoreError::PasswordHash(_)
                | StoreError::Duplicate { .. }
                | StoreError::TooManyCodeSlots { .. }
                | StoreError::NoFreeCodeSlot { .. }
                | StoreError::Enrolment(_)
                | StoreError::ActorTaken { .. }
                | StoreError::NotConfiguration(_)
                | StoreError::NotTopHub { .. }
                | StoreError::ConfigEncoding(_)
                | StoreError::PushFailed(_)
        )
    }

    /// Whether this is the disk (or the database's size limit) being full:
    /// nothing was written, and the same write succeeds once there is space.
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::DiskFull(_) => true,
            StoreError::Sqlite(e) | StoreError::Migration { source: e, .. } => sqlite_full(e),
            _ => false,
        }
    }
}

fn sqlite_full(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A handle to the hub's database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    hub_id: HubId,
    actor: ActorId,
    units: RwLock<Arc<UnitTree>>,
    calendar: RwLock<Arc<WorkingCalendar>>,
    cache: Mutex<DocCache>,
    listener: RwLock<Option<CommitListener>>,
    committer: committer::Committer,
}

type CommitListener = Box<dyn Fn(&[Committed]) + Send + Sync>;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .field("hub", &self.inner.hub_id)
            .finish()
    }
}

impl Store {
    /// Opens (creating on first use) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        Self::open_with_cache(dir, documents::CACHE_DOCS)
    }

    /// Opens the database keeping at most `cache_documents` documents loaded.
    pub fn open_with_cache(dir: &Path, cache_documents: usize) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        health::check_file(&path)?;
        let mut writer = open_connection(&path, false).map_err(|e| health::damaged_or(e, &path))?;
        health::check_pages(&writer, &path)?;
        migrations::migrate(&mut writer).map_err(|e| health::damaged_or(e, &path))?;
        let (hub_id, actor) = {
            let tx = writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let hub = meta_or_init(&tx, "hub_id", || hex::encode(random_bytes::<16>()))?;
            let actor = meta_or_init(&tx, "hub_actor", || hex::encode(random_bytes::<16>()))?;
            tx.commit()?;
            let mut hub_bytes = [0u8; 16];
            hex::decode_to_slice(&hub, &mut hub_bytes)
                .map_err(|_| StoreError::DamagedRecord("meta.hub_id is damaged".into()))?;
            let actor = ActorId::from(
                hex::decode(&actor)
                    .map_err(|_| StoreError::DamagedRecord("meta.hub_actor is damaged".into()))?,
            );
            (HubId(hub_bytes), actor)
        };
        let units = identity::load_units(&writer)?;
        let (committer, pending) = committer::Committer::new();
        let store = Store {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                hub_id,
                actor,
                units: RwLock::new(Arc::new(units)),
                calendar: RwLock::new(Arc::new(default_calendar())),
                cache: Mutex::new(DocCache::new(cache_documents.max(1))),
                listener: RwLock::new(None),
                committer,
            }),
        };
        committer::Committer::start(&store.inner, pending).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        // The published calendar, once there is one, replaces the statutory seed.
        if let Some(doc) = store.load_doc(&ConfigKind::Calendar.doc_id())?
            && let Ok((_, body, _)) = config::read(&doc)
        {
            let calendar: WorkingCalendar = serde_json::from_str(&body).map_err(|e| {
                StoreError::DamagedRecord(format!("the published calendar does not parse: {e}"))
            })?;
            store.set_calendar_in_memory(calendar);
        }
        store.upgrade_index()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The schema version of this database: [`SCHEMA_VERSION`] once open.
    pub fn schema_version(&self) -> Result<u32> {
        self.read(migrations::schema_version)
    }

    pub fn hub_id(&self) -> HubId {
        self.inner.hub_id
    }

    /// The Automerge actor this hub signs its own changes with (configuration
    /// documents it publishes).
    pub fn actor(&self) -> &ActorId {
        &self.inner.actor
    }

    pub fn units(&self) -> Arc<UnitTree> {
        self.inner
            .units
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A value of the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                    .optional()?,
            )
        })
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )?;
            Ok(())
        })
    }

    /// How many hubs sit above this one: 0 for the top hub, learnt from the
    /// parent when syncing upward.
    pub fn depth(&self) -> Result<u8> {
        self.read(|c| {
            let v: Option<String> = c
                .query_row("SELECT value FROM meta WHERE key = 'depth'", [], |r| {
                    r.get(0)
                })
                .optional()?;
            Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
        })
    }

    pub fn set_depth(&self, depth: u8) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('depth', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [depth.to_string()],
            )?;
            Ok(())
        })
    }

    /// The working calendar deadlines are computed with.
    pub fn calendar(&self) -> Arc<WorkingCalendar> {
        self.inner
            .calendar
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_calendar_in_memory(&self, calendar: WorkingCalendar) {
        *self
            .inner
            .calendar
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(calendar);
    }

    fn set_units(&self, tree: UnitTree) {
        *self.inner.units.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(tree);
    }

    /// Runs `f` on a reader connection.
    pub(in crate::store) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = {
            let mut pool = self.inner.readers.lock().unwrap_or_else(|p| p.into_inner());
            pool.pop()
        };
        let conn = match conn {
            Some(c) => c,
            None => open_connection(&self.inner.path, true)?,
        };
        let out = f(&conn);
        let mut pool = self.inner.readers.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < READERS {
            pool.push(conn);
        }
        out
    }

    /// Runs `f` in one immediate write transaction, committed if it returns Ok.
    pub(in crate::store) fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.check_space()?;
        let mut conn = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Like [`Store::write`] for transactions that add changes: once they are
    /// committed, and before the next write can start, they go to the commit
    /// listener — so listeners see changes in the order of their sequence
    /// numbers, which live connections rely on.
    pub(in crate::store) fn write_changes<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<(T, Vec<Committed>)>,
    ) -> Result<(T, Vec<Committed>)> {
        self.check_space()?;
        let mut conn = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (out, committed) = f(&tx)?;
        tx.commit()?;
        self.announce(&committed);
        drop(conn);
        Ok((out, committed))
    }

    /// Gives committed changes to the commit listener; called under the
    /// writer lock, right after the commit.
    fn announce(&self, committed: &[Committed]) {
        if !committed.is_empty()
            && let Some(listener) = self
                .inner
                .listener
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
        {
            listener(committed);
        }
    }

    /// Calls `listener` with every batch of committed changes, in order.
    pub fn set_commit_listener(&self, listener: impl Fn(&[Committed]) + Send + Sync + 'static) {
        *self
            .inner
            .listener
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(Box::new(listener));
    }

    /// Refuses to start a write when the data directory's disk is (nearly) full.
    fn check_space(&self) -> Result<()> {
        match self.inner.path.parent() {
            Some(dir) => health::check_space(dir),
            None => Ok(()),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, DocCache> {
        self.inner.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Documents held in memory right now (bounded by the cache size).
    pub fn cached_documents(&self) -> usize {
        self.cache().len()
    }
}

fn open_connection(path: &Path, read_only: bool) -> Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // FULL: an acknowledged write survives a power cut, not only a crash.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
    )?;
    Ok(conn)
}

fn meta_or_init(tx: &Transaction<'_>, key: &str, init: impl FnOnce() -> String) -> Result<String> {
    if let Some(v) = tx
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?
    {
        return Ok(v);
    }
    let value = init();
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)",
        (key, &value),
    )?;
    Ok(value)
}

/// Statutory holidays from last year to two years ahead, until an
/// administrator publishes the year's calendar.
pub fn default_calendar() -> WorkingCalendar {
    use chrono::Datelike;
    let year = chrono::Utc::now().year();
    WorkingCalendar::seeded(year - 1..=year + 2).unwrap_or_default()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
