-- Schema 4: report facts move from the wide `dossiers` rows to a narrow
-- table that a province's million rows scan in a fraction of a second.

DROP INDEX dossiers_by_unit_received;
ALTER TABLE dossiers DROP COLUMN processing_amount;
ALTER TABLE dossiers DROP COLUMN processing_unit;
ALTER TABLE dossiers DROP COLUMN pause_rule;
ALTER TABLE dossiers DROP COLUMN stage_log;
ALTER TABLE dossiers DROP COLUMN last_stage_at;

CREATE TABLE dossier_facts (
    id            INTEGER PRIMARY KEY,  -- scan order; parallel parts split on it
    doc_id        BLOB NOT NULL UNIQUE REFERENCES documents(doc_id),
    unit          TEXT NOT NULL,        -- receiving unit
    field         TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    open          INTEGER NOT NULL,     -- 1 while open (as of now)
    last_stage_at INTEGER NOT NULL,     -- the latest stage's time
    facts         BLOB NOT NULL         -- the rest of the facts, in one record (index.rs)
);
CREATE INDEX dossier_facts_by_unit ON dossier_facts(unit, received_at);

-- Filled from the documents when the store opens (index.rs, `upgrade_index`).
DELETE FROM meta WHERE key = 'index_version';
