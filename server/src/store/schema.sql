-- The hub's database as of today's schema version, in one place to read.
-- Databases are made and upgraded by migrations/ (migrations.rs), never from
-- this file: a test checks that the migrations end at exactly this schema.
-- One file, WAL mode; every write is one transaction.

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The administrative unit tree (any depth).
CREATE TABLE IF NOT EXISTS units (
    code           TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    level          TEXT NOT NULL,
    parent         TEXT REFERENCES units(code),
    effective_from TEXT,
    effective_to   TEXT
);

-- One row per Automerge document: an optional snapshot plus the change rows
-- after it (table `changes`) make the whole document.
CREATE TABLE IF NOT EXISTS documents (
    doc_id       BLOB PRIMARY KEY,          -- 16 bytes
    kind         TEXT NOT NULL,             -- 'dossier' | 'config'
    unit         TEXT,                      -- receiving unit; NULL = every device
    snapshot     BLOB,
    snapshot_seq INTEGER NOT NULL DEFAULT 0,
    last_seq     INTEGER NOT NULL,
    heads        BLOB NOT NULL,             -- concatenated 32-byte change hashes
    digest       BLOB NOT NULL,             -- 16-byte digest of the heads
    change_rows  INTEGER NOT NULL DEFAULT 0,
    bytes        INTEGER NOT NULL DEFAULT 0,
    -- Sync with the parent hub, when this hub has an uplink:
    uplink_acked   BLOB,                    -- heads the parent has acknowledged
    uplink_dirty   INTEGER NOT NULL DEFAULT 1,
    uplink_refused TEXT                     -- why the parent refused it
);
CREATE INDEX IF NOT EXISTS documents_uplink_dirty ON documents(uplink_dirty);
CREATE INDEX IF NOT EXISTS documents_by_seq ON documents(last_seq);
CREATE INDEX IF NOT EXISTS documents_by_unit ON documents(unit, last_seq);

-- Every accepted change, numbered hub-wide: the sequence devices check-point on.
CREATE TABLE IF NOT EXISTS changes (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id BLOB NOT NULL,
    origin TEXT NOT NULL,                   -- device id that pushed it, or 'hub'
    bytes  BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_doc ON changes(doc_id, seq);

-- Index of dossiers, rewritten in the same transaction as their document.
CREATE TABLE IF NOT EXISTS dossiers (
    doc_id           BLOB PRIMARY KEY REFERENCES documents(doc_id),
    code             TEXT NOT NULL UNIQUE,
    unit             TEXT NOT NULL,
    field            TEXT NOT NULL,
    procedure_id     TEXT NOT NULL,
    procedure_name   TEXT NOT NULL,
    channel          TEXT NOT NULL,
    stage            TEXT,
    status           INTEGER,
    applicant_name   TEXT NOT NULL,
    applicant_folded TEXT NOT NULL,
    id_number        TEXT NOT NULL,
    phone            TEXT NOT NULL,
    received_by      TEXT NOT NULL,
    received_at      INTEGER NOT NULL,
    due_at           INTEGER NOT NULL,
    effective_due_at INTEGER NOT NULL,
    clock_stopped    INTEGER NOT NULL,
    finished_at      INTEGER,
    outcome          TEXT NOT NULL,
    updated_seq      INTEGER NOT NULL,
    -- For the register (schema 3):
    applicant_address TEXT NOT NULL DEFAULT '',
    sets              INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS dossiers_by_unit_status ON dossiers(unit, status);
CREATE INDEX IF NOT EXISTS dossiers_by_unit_due ON dossiers(unit, effective_due_at);
CREATE INDEX IF NOT EXISTS dossiers_by_received ON dossiers(received_at);
CREATE INDEX IF NOT EXISTS dossiers_by_name ON dossiers(applicant_folded);
CREATE INDEX IF NOT EXISTS dossiers_by_id_number ON dossiers(id_number);
CREATE INDEX IF NOT EXISTS dossiers_by_phone ON dossiers(phone);

-- What reports read of every dossier (report 06a, the late report, the
-- register), narrow so that a province's million rows scan in a fraction of
-- a second; rewritten with the dossier's row.
CREATE TABLE IF NOT EXISTS dossier_facts (
    id            INTEGER PRIMARY KEY,  -- scan order; parallel parts split on it
    doc_id        BLOB NOT NULL UNIQUE REFERENCES documents(doc_id),
    unit          TEXT NOT NULL,        -- receiving unit
    field         TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    open          INTEGER NOT NULL,     -- 1 while open (as of now)
    last_stage_at INTEGER NOT NULL,     -- the latest stage's time
    facts         BLOB NOT NULL         -- the rest of the facts, in one record (index.rs)
);
CREATE INDEX IF NOT EXISTS dossier_facts_by_unit ON dossier_facts(unit, received_at);

-- Stage log entries, for reports that need every stage (index, rebuilt with the dossier).
CREATE TABLE IF NOT EXISTS dossier_stages (
    doc_id   BLOB NOT NULL,
    entry_id TEXT NOT NULL,
    stage    TEXT NOT NULL,
    at       INTEGER NOT NULL,
    user     TEXT NOT NULL,
    unit     TEXT NOT NULL,
    PRIMARY KEY (doc_id, entry_id)
);
CREATE INDEX IF NOT EXISTS dossier_stages_by_at ON dossier_stages(at);

CREATE TABLE IF NOT EXISTS users (
    username      TEXT PRIMARY KEY,
    full_name     TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,            -- clerk | specialist | leader | admin
    unit          TEXT NOT NULL REFERENCES units(code),
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS sessions (
    token_hash BLOB PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES users(username),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS devices (
    device_id      TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL DEFAULT 'device',  -- 'device' | 'hub' (a node below, relaying its devices)
    unit           TEXT NOT NULL REFERENCES units(code),
    token_hash     BLOB NOT NULL UNIQUE,
    code_slots     TEXT NOT NULL,           -- JSON array of slot numbers
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    last_seen_at   INTEGER,
    checkpoint_seq INTEGER NOT NULL DEFAULT 0
);

-- Actors allowed to sign changes on a device's connection. A device's own
-- actors are bound to it alone; a hub below also relays its devices' actors.
CREATE TABLE IF NOT EXISTS device_actors (
    actor     BLOB NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices(device_id),
    relayed   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (actor, device_id)
);

CREATE TABLE IF NOT EXISTS enrolments (
    code_hash  BLOB PRIMARY KEY,
    unit       TEXT NOT NULL REFERENCES units(code),
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL DEFAULT 'device',
    slots      INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    device_id  TEXT
);

CREATE TABLE IF NOT EXISTS audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,                  -- 'user:…', 'device:…' or 'hub'
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  TEXT NOT NULL
);

-- Data the hub refused, kept for audit, never silently dropped.
CREATE TABLE IF NOT EXISTS quarantine (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    doc_id    BLOB,
    reason    TEXT NOT NULL,
    message   TEXT NOT NULL,
    bytes     BLOB NOT NULL
);
